"""SQLAlchemy storage: a SQLite file by default, PostgreSQL (or any SQLAlchemy URL) for many workers.

Layout (schema version and migrations in :mod:`._schema`, the version kept in ``tunewise_meta``):

* ``tunewise_studies``: one row per study; settings and search space as JSON text; the next
  trial number and the count of trials toward ``max_trials``, handed out under its row lock.
* ``tunewise_trials``: one row per trial; hyperparameter values as JSON text.
* ``tunewise_steps``: one row per reported step; its metrics as JSON text (NaN and inf kept).

Opening (:mod:`._open`): for a search, or ``read_only=True`` for everything that only reads
(the tunewise command, :func:`tunewise.load_study`, the dashboard): then nothing is created,
migrated or locked for writing, and every write method raises
:class:`~._errors.ReadOnlyStorageError`. Other programs' databases are refused, named, and
left untouched (:mod:`._foreign`). Every failure is one :class:`~._errors.StorageError` line.

SQLite runs in WAL mode with ``synchronous=NORMAL`` (a killed process loses no committed
transaction) and a busy timeout, so several processes on one machine can share the file. Each
write is one short transaction that takes the write lock at its start; each read a deferred
one that never takes it (a reader never blocks a writer; see :mod:`._sqlite_open`). Every call
survives transient errors (a cut connection, SQLite busy) without applying a write twice
(:mod:`._retry`).

Many workers: a trial number and a ``max_trials`` slot are reserved by one ``UPDATE`` of the
study row inside the transaction that inserts the trial, so no number is handed out twice and
a study never runs more than ``max_trials`` trials, however many processes share it. Each
worker holds at most :data:`POOL_SIZE_PER_WORKER` connections.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, make_url

from .. import trial_attrs as keys
from ..errors import TrialNotOwnedError
from ..trial import FrozenTrial, Step, TrialState
from . import _outcomes as outcome
from ._base import (
    ENGINE_ATTRS,
    ConfigurationTaken,
    NewTrial,
    Storage,
    StudyRecord,
    TrialNumberTaken,
    not_owned_message,
)
from ._errors import ReadOnlyStorageError, StorageError, classify, driver_message
from ._open import location_of, open_engines, parse_url
from ._retry import Transactions
from ._schema import runs_table, steps_table, studies_table, trials_table
from ._sqlite_open import POOL_SIZE_PER_WORKER, SQLITE_BUSY_TIMEOUT_S
from ._statements import (
    _BEAT_OWNED,
    _BEAT_RUNNING,
    _FINISH_OWNED,
    _FINISH_RUNNING,
    _INSERT_STEP,
    _INSERT_TRIAL,
    _RESERVE_RERUN,
    _RESERVE_SLOT,
    _RESERVE_SLOT_UNDER,
    _RUNNING,
    _dumps,
    _frozen,
    _s,
    _t,
)

__all__ = ["POOL_SIZE_PER_WORKER", "SQLITE_BUSY_TIMEOUT_S", "SQLStorage", "masked_url"]

T = TypeVar("T")


def masked_url(url: str | URL) -> str:
    """The URL with any password replaced by ``***`` (safe for logs and reports)."""
    return make_url(url).render_as_string(hide_password=True)


class SQLStorage(Storage):
    """Storage in any SQLAlchemy database; a search's opening creates (or migrates) its tables.

    ``read_only=True``: opens without writing anything (see the module docstring); the
    study's reads work, its writes raise :class:`~._errors.ReadOnlyStorageError`.
    """

    def __init__(self, url: str | URL, read_only: bool = False) -> None:
        self.url = parse_url(url)
        self.read_only = bool(read_only)
        self.location = location_of(self.url)
        self._tx = Transactions(self.location, self._explain)
        try:
            opened = open_engines(self.url, self.location, self.read_only, self._tx)
        except sa.exc.SQLAlchemyError as exc:
            self._explain(exc)
        self.engine, self._reads = opened.engine, opened.reads
        self._anchor = opened.anchor
        #: The schema version found on opening (an older one has just been migrated, or,
        #: read-only, is read from a migrated copy in memory).
        self.found_schema_version = opened.found_schema_version
        self._tx.opened = True

    def _explain(self, exc: BaseException) -> NoReturn:
        """Raise the one-line StorageError ``exc`` means; after opening, an error of no known
        meaning (an IntegrityError the caller handles...) is raised as is."""
        secret = str(self.url.password) if self.url.password else None
        error = classify(exc, self.location, secret)
        if error is not None:
            raise error from None
        if not self._tx.opened:
            text = driver_message(exc)
            raise StorageError(
                f"Could not open the storage {self.location}: "
                f"{text.replace(secret, '***') if secret else text}"
            ) from None
        raise exc

    def _read(self, body: Callable[[Connection], T]) -> T:
        return self._tx.run(self._reads, body)

    def _write(
        self, body: Callable[[Connection], T], applied: Callable[[Connection], Any] | None = None
    ) -> T:
        if self.read_only:
            raise ReadOnlyStorageError(
                f"{self.location} was opened read-only (by tunewise.load_study, the tunewise "
                "command or SQLStorage(read_only=True)), so it stores nothing: to search, "
                "open it with tw.Study(..., storage=...)."
            )
        return self._tx.run(self.engine, body, applied, self._reads)

    # ------------------------------------------------------------------ studies
    def _study(self, row: Any) -> StudyRecord:
        return StudyRecord(
            id=row.id,
            name=row.name,
            settings=json.loads(row.settings),
            space=json.loads(row.space),
            created_at=row.created_at,
        )

    def list_studies(self) -> list[StudyRecord]:
        rows = self._read(
            lambda conn: conn.execute(sa.select(studies_table).order_by(_s.id)).all()
        )
        return [self._study(r) for r in rows]

    def create_study(self, name: str, settings: dict[str, Any]) -> StudyRecord:
        exists = f"A study named {name!r} already exists in {self.location}."
        created = time.time()

        def body(conn: Connection) -> StudyRecord:
            if conn.execute(sa.select(_s.id).where(_s.name == name)).first():
                raise ValueError(exists)
            result = conn.execute(
                studies_table.insert().values(
                    name=name, created_at=created, settings=_dumps(settings), space="[]"
                )
            )
            return StudyRecord(result.inserted_primary_key[0], name, settings, [], created)

        try:
            return self._write(body, outcome.study_created(name, created, settings))
        except sa.exc.IntegrityError:  # another worker created it between our check and insert
            raise ValueError(exists) from None

    def delete_study(self, study_id: Any) -> None:
        def body(conn: Connection) -> None:
            trial_ids = sa.select(_t.id).where(_t.study_id == study_id)
            conn.execute(steps_table.delete().where(steps_table.c.trial_id.in_(trial_ids)))
            conn.execute(trials_table.delete().where(_t.study_id == study_id))
            conn.execute(runs_table.delete().where(runs_table.c.study_id == study_id))
            conn.execute(studies_table.delete().where(_s.id == study_id))

        self._write(body)

    def save_space(self, study_id: Any, space: list[dict[str, Any]]) -> None:
        update = studies_table.update().where(_s.id == study_id).values(space=_dumps(space))
        self._write(lambda conn: conn.execute(update))

    def save_settings(self, study_id: Any, settings: dict[str, Any]) -> None:
        update = studies_table.update().where(_s.id == study_id).values(settings=_dumps(settings))
        self._write(lambda conn: conn.execute(update))

    def get_space(self, study_id: Any) -> list[dict[str, Any]]:
        text = self._read(
            lambda conn: conn.execute(sa.select(_s.space).where(_s.id == study_id)).scalar()
        )
        return json.loads(text) if text else []

    def append_run(self, study_id: Any, record: dict[str, Any]) -> None:
        at, text = float(record.get("started_at") or time.time()), _dumps(record)
        insert = runs_table.insert().values(study_id=study_id, at=at, record=text)
        self._write(lambda conn: conn.execute(insert), outcome.run_appended(study_id, at, text))

    def get_runs(self, study_id: Any) -> list[dict[str, Any]]:
        r = runs_table.c
        query = sa.select(r.record).where(r.study_id == study_id).order_by(r.id)
        rows = self._read(lambda conn: conn.execute(query).all())
        return [json.loads(row[0]) for row in rows]

    # ------------------------------------------------------------------ trials
    def create_trial(
        self,
        study_id: Any,
        values: dict[str, Any],
        retry_of: int | None,
        started_at: float,
        worker: str,
        max_trials: int | None = None,
        expect_number: int | None = None,
        *,
        token: str | None = None,
        attrs: dict[str, Any] | None = None,
        claim_key: str | None = None,
    ) -> NewTrial | None:
        params = _dumps(values)
        if retry_of is not None:
            reserve, args = _RESERVE_RERUN, {"p_study_id": study_id}
        elif max_trials is None:
            reserve, args = _RESERVE_SLOT, {"p_study_id": study_id}
        else:
            reserve = _RESERVE_SLOT_UNDER
            args = {"p_study_id": study_id, "p_max_trials": int(max_trials)}
        if expect_number is not None:
            reserve = reserve.where(_s.next_number == sa.bindparam("p_expect"))
            args["p_expect"] = int(expect_number)

        def body(conn: Connection) -> NewTrial | None:
            # The study row's UPDATE comes first: it serialises creators (row lock), so the
            # claim check below sees every claim committed before ours.
            next_number = conn.execute(reserve, args).scalar()
            if next_number is None:
                if expect_number is not None:
                    current = conn.execute(
                        sa.select(_s.next_number).where(_s.id == study_id)
                    ).scalar()
                    if current is not None and int(current) != int(expect_number):
                        raise TrialNumberTaken(
                            f"trial number {expect_number} is taken in study {study_id!r} "
                            f"(next is {current})"
                        )
                if retry_of is None and max_trials is not None:
                    return None  # the study is full: max_trials reached
                raise KeyError(f"No study with id {study_id!r} in {self.location}.")
            if claim_key is not None and conn.execute(
                sa.select(_t.number).where(_t.study_id == study_id).where(_t.config_key == claim_key)
            ).first():
                raise ConfigurationTaken(claim_key)
            number = int(next_number) - 1
            result = conn.execute(
                _INSERT_TRIAL,
                {
                    "p_study_id": study_id,
                    "p_number": number,
                    "p_state": _RUNNING,
                    "p_params": params,
                    "p_retry_of": retry_of,
                    "p_started_at": started_at,
                    "p_worker": worker,
                    "p_token": token,
                    "p_config_key": claim_key,
                    "p_attrs": _dumps(attrs or {}),
                },
            )
            return NewTrial(result.inserted_primary_key[0], number)

        try:
            return self._write(body, outcome.trial_created(study_id, token, worker, started_at))
        except sa.exc.IntegrityError:
            if claim_key is None:
                raise
            raise ConfigurationTaken(claim_key) from None  # the unique index caught a race

    def claim_waiting_trial(
        self, study_id: Any, worker: str, token: str, at: float
    ) -> FrozenTrial | None:
        waiting = (
            sa.select(_t.id)
            .where(_t.study_id == study_id)
            .where(_t.state == TrialState.WAITING.value)
            .order_by(_t.number)
            .limit(1)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite: BEGIN IMMEDIATE
        )

        def body(conn: Connection) -> FrozenTrial | None:
            for _ in range(100):  # each lost race means another worker took one
                trial_id = conn.execute(waiting).scalar()
                if trial_id is None:
                    return None
                taken = conn.execute(
                    trials_table.update()
                    .where(_t.id == trial_id)
                    .where(_t.state == TrialState.WAITING.value)
                    .values(
                        state=_RUNNING,
                        worker=worker,
                        owner_token=token,
                        started_at=at,
                        heartbeat_at=at,
                    )
                ).rowcount
                if taken == 1:
                    row = conn.execute(sa.select(trials_table).where(_t.id == trial_id)).one()
                    return _frozen(row, ())
            return None

        return self._write(body, outcome.trial_claimed(study_id, token))

    def add_step(self, trial_id: Any, step: Step, token: str | None = None) -> None:
        beat = _BEAT_RUNNING if token is None else _BEAT_OWNED
        args = {"p_trial_id": trial_id, "p_at": step.at, "p_token": token}
        row = {
            "p_trial_id": trial_id,
            "p_step": step.step,
            "p_at": step.at,
            "p_metrics": _dumps(step.metrics),
        }

        def body(conn: Connection) -> None:
            if conn.execute(beat, args).rowcount != 1:
                raise TrialNotOwnedError(self._not_owned(conn, trial_id))
            conn.execute(_INSERT_STEP, row)

        self._write(body, outcome.step_added(trial_id, step.step, step.at))

    def _not_owned(self, conn: Any, trial_id: Any) -> str:
        row = conn.execute(sa.select(_t.number, _t.state).where(_t.id == trial_id)).first()
        if row is None:
            return not_owned_message(f"with id {trial_id!r}", None)
        return not_owned_message(row.number, row.state)

    def finish_trial(
        self,
        trial_id: Any,
        state: TrialState,
        values: dict[str, Any],
        score: float | None,
        best_step: int | None,
        reason: str | None,
        finished_at: float,
        attrs: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        rerun_cap: int = 0,
        rerun_attrs: dict[str, Any] | None = None,
    ) -> NewTrial | None:
        statement = _FINISH_RUNNING if token is None else _FINISH_OWNED
        args = {
            "p_trial_id": trial_id,
            "p_state": state.value,
            "p_params": _dumps(values),
            "p_score": score,
            "p_best_step": best_step,
            "p_reason": reason,
            "p_finished_at": finished_at,
            "p_attrs": _dumps(attrs or {}),
            "p_token": token,
        }

        def body(conn: Connection) -> NewTrial | None:
            if conn.execute(statement, args).rowcount != 1:
                raise TrialNotOwnedError(self._not_owned(conn, trial_id))
            if state is not TrialState.FAILED or rerun_cap <= 0:
                return None
            return self._create_rerun(
                conn, trial_id, values, rerun_attrs or {}, rerun_cap, finished_at
            )

        return self._write(body, outcome.trial_finished(trial_id, state, finished_at))

    def _create_rerun(
        self,
        conn: Any,
        trial_id: Any,
        values: dict[str, Any],
        attrs: dict[str, Any],
        cap: int,
        at: float,
    ) -> NewTrial | None:
        """The WAITING re-run of failed trial ``trial_id``, if its configuration's attempts
        (this one included) are at most ``cap``; in the caller's transaction."""
        row = conn.execute(
            sa.select(_t.study_id, _t.number, _t.retry_of).where(_t.id == trial_id)
        ).one()
        original = row.number if row.retry_of is None else row.retry_of
        attempts = conn.execute(
            sa.select(sa.func.count())
            .select_from(trials_table)
            .where(_t.study_id == row.study_id)
            .where(sa.or_(_t.number == original, _t.retry_of == original))
        ).scalar()
        if int(attempts) > cap:
            return None
        next_number = conn.execute(_RESERVE_RERUN, {"p_study_id": row.study_id}).scalar()
        number = int(next_number) - 1
        result = conn.execute(
            _INSERT_TRIAL,
            {
                "p_study_id": row.study_id,
                "p_number": number,
                "p_state": TrialState.WAITING.value,
                "p_params": _dumps(values),
                "p_retry_of": original,
                "p_started_at": at,
                "p_worker": "",
                "p_token": None,
                "p_config_key": None,
                "p_attrs": _dumps({k: v for k, v in attrs.items() if k not in ENGINE_ATTRS}),
            },
        )
        return NewTrial(result.inserted_primary_key[0], number)

    def heartbeat(self, trial_ids: Sequence[Any], at: float) -> None:
        if not trial_ids:
            return
        update = (
            trials_table.update()
            .where(_t.id.in_(list(trial_ids)))
            .where(_t.state == _RUNNING)
            .values(heartbeat_at=at)
        )
        self._write(lambda conn: conn.execute(update))

    def running_trials(self, study_id: Any) -> list[tuple[Any, int, str, float]]:
        query = (
            sa.select(_t.id, _t.number, _t.worker, _t.heartbeat_at)
            .where(_t.study_id == study_id)
            .where(_t.state == _RUNNING)
        )
        rows = self._read(lambda conn: conn.execute(query).all())
        return [(r.id, r.number, r.worker, r.heartbeat_at) for r in rows]

    def fail_stale_trial(
        self, trial_id: Any, heartbeat_seen: float, reason: str, at: float, rerun_cap: int = 0
    ) -> bool:
        def body(conn: Connection) -> bool:
            row = conn.execute(sa.select(_t.params, _t.attrs).where(_t.id == trial_id)).first()
            if row is None:
                return False
            created_attrs = json.loads(row.attrs)
            result = conn.execute(
                trials_table.update()
                .where(_t.id == trial_id)
                .where(_t.state == _RUNNING)
                .where(_t.heartbeat_at <= heartbeat_seen)
                .values(
                    state=TrialState.FAILED.value,
                    reason=reason,
                    finished_at=at,
                    attrs=_dumps({**created_attrs, keys.CUT_BY_CRASH: True}),
                )
            )
            if result.rowcount != 1:
                return False
            if rerun_cap > 0:
                values = json.loads(row.params)
                self._create_rerun(conn, trial_id, values, created_attrs, rerun_cap, at)
            return True

        return self._write(body, outcome.stale_trial_failed(trial_id, reason, at))

    def get_trials(
        self, study_id: Any, since_number: int = 0, numbers: Sequence[int] = ()
    ) -> list[FrozenTrial]:
        where = [_t.study_id == study_id]
        if since_number > 0:
            newer = _t.number >= since_number
            where.append(sa.or_(newer, _t.number.in_(list(numbers))) if numbers else newer)

        def body(conn: Connection) -> tuple[list[Any], list[Any]]:
            # One read transaction: the trials and their steps from the same snapshot.
            rows = conn.execute(sa.select(trials_table).where(*where).order_by(_t.number)).all()
            if not rows:
                return rows, []
            step_rows = conn.execute(
                sa.select(steps_table)
                .join(trials_table, steps_table.c.trial_id == _t.id)
                .where(*where)
                .order_by(steps_table.c.trial_id, steps_table.c.step)
            ).all()
            return rows, step_rows

        rows, step_rows = self._read(body)
        steps: dict[Any, list[Step]] = {}
        for s in step_rows:
            steps.setdefault(s.trial_id, []).append(Step(s.step, json.loads(s.metrics), s.at))
        return [_frozen(r, steps.get(r.id, ())) for r in rows]

    def __repr__(self) -> str:
        return f"SQLStorage({self.location!r}{', read_only=True' if self.read_only else ''})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its URL: a worker process opens its own connections."""
        return (SQLStorage, (self.url.render_as_string(hide_password=False), self.read_only))

    def close(self) -> None:
        self.engine.dispose()  # the read engine shares its pool
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None
