"""SQLAlchemy storage: a SQLite file by default, PostgreSQL (or any SQLAlchemy URL) for many workers.

Layout (schema version and migrations in :mod:`._schema`, the version kept in ``tunewise_meta``):

* ``tunewise_studies``: one row per study; settings and search space as JSON text; the next
  trial number and the count of trials toward ``max_trials``, handed out under its row lock.
* ``tunewise_trials``: one row per trial; hyperparameter values as JSON text.
* ``tunewise_steps``: one row per reported step; its metrics as JSON text (NaN and inf kept).

SQLite runs in WAL mode with ``synchronous=NORMAL`` (a killed process loses no committed
transaction; readers never block the writer) and a busy timeout, so several processes on one
machine can share the file. Each write is one short transaction.

Many workers: a trial number and a ``max_trials`` slot are reserved by one ``UPDATE`` of the
study row inside the transaction that inserts the trial, so no number is handed out twice and
a study never runs more than ``max_trials`` trials, however many processes share it. Each
worker holds at most :data:`POOL_SIZE_PER_WORKER` connections.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from .. import trial_attrs as keys
from ..errors import TrialNotOwnedError
from ..trial import FrozenTrial, Step, TrialState
from ._base import (
    ENGINE_ATTRS,
    ConfigurationTaken,
    NewTrial,
    Storage,
    StudyRecord,
    TrialNumberTaken,
    not_owned_message,
)
from ._schema import (
    ensure_schema,
    runs_table,
    steps_table,
    studies_table,
    trials_table,
)

#: Seconds a writer waits for a SQLite lock held by another process before failing.
SQLITE_BUSY_TIMEOUT_S = 60

# Statements of the per-trial hot path, built once: SQLAlchemy then only binds values.
_t = trials_table.c
_INSERT_TRIAL = trials_table.insert().values(
    study_id=sa.bindparam("p_study_id"),
    number=sa.bindparam("p_number"),
    state=sa.bindparam("p_state"),
    params=sa.bindparam("p_params"),
    retry_of=sa.bindparam("p_retry_of"),
    started_at=sa.bindparam("p_started_at"),
    heartbeat_at=sa.bindparam("p_started_at"),
    worker=sa.bindparam("p_worker"),
    owner_token=sa.bindparam("p_token"),
    config_key=sa.bindparam("p_config_key"),
    attrs=sa.bindparam("p_attrs"),
)
_s = studies_table.c
# Reserve a trial number (and a max_trials slot unless a re-run) on the study row: one UPDATE
# takes the row lock, so concurrent workers are serialised on it (PostgreSQL re-checks the
# WHERE after waiting for the lock; SQLite serialises writers with BEGIN IMMEDIATE).
_RESERVE_RERUN = (
    studies_table.update()
    .where(_s.id == sa.bindparam("p_study_id"))
    .values(next_number=_s.next_number + 1)
    .returning(_s.next_number)
)
_RESERVE_SLOT = (
    studies_table.update()
    .where(_s.id == sa.bindparam("p_study_id"))
    .values(next_number=_s.next_number + 1, n_slots=_s.n_slots + 1)
    .returning(_s.next_number)
)
_RESERVE_SLOT_UNDER = _RESERVE_SLOT.where(_s.n_slots < sa.bindparam("p_max_trials"))
_INSERT_STEP = steps_table.insert().values(
    trial_id=sa.bindparam("p_trial_id"),
    step=sa.bindparam("p_step"),
    at=sa.bindparam("p_at"),
    metrics=sa.bindparam("p_metrics"),
)
_RUNNING = TrialState.RUNNING.value
# A step or a result is stored only while the trial is RUNNING and owned by the caller.
_BEAT_OWNED = (
    trials_table.update()
    .where(_t.id == sa.bindparam("p_trial_id"))
    .where(_t.state == _RUNNING)
    .where(_t.owner_token == sa.bindparam("p_token"))
    .values(heartbeat_at=sa.bindparam("p_at"))
)
_BEAT_RUNNING = (
    trials_table.update()
    .where(_t.id == sa.bindparam("p_trial_id"))
    .where(_t.state == _RUNNING)
    .values(heartbeat_at=sa.bindparam("p_at"))
)
_FINISH_VALUES = {
    "state": sa.bindparam("p_state"),
    "params": sa.bindparam("p_params"),
    "score": sa.bindparam("p_score"),
    "best_step": sa.bindparam("p_best_step"),
    "reason": sa.bindparam("p_reason"),
    "finished_at": sa.bindparam("p_finished_at"),
    "heartbeat_at": sa.bindparam("p_finished_at"),
    "attrs": sa.bindparam("p_attrs"),
}
_FINISH_RUNNING = (
    trials_table.update()
    .where(_t.id == sa.bindparam("p_trial_id"))
    .where(_t.state == _RUNNING)
    .values(**_FINISH_VALUES)
)
_FINISH_OWNED = _FINISH_RUNNING.where(_t.owner_token == sa.bindparam("p_token"))


def _frozen(r: Any, steps: Sequence[Step]) -> FrozenTrial:
    return FrozenTrial(
        number=r.number,
        state=TrialState(r.state),
        values=json.loads(r.params),
        steps=tuple(steps),
        score=r.score,
        best_step=r.best_step,
        reason=r.reason,
        retry_of=r.retry_of,
        started_at=r.started_at,
        finished_at=r.finished_at,
        attrs=json.loads(r.attrs),
        storage_id=r.id,
    )


class StorageError(RuntimeError):
    """The database could not be opened or used; the message never holds a password."""


def _dumps(obj: Any) -> str:
    return json.dumps(obj, allow_nan=True, separators=(",", ":"))


def masked_url(url: str | URL) -> str:
    """The URL with any password replaced by ``***`` (safe for logs and reports)."""
    return make_url(url).render_as_string(hide_password=True)


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level; SQLAlchemy's "BEGIN" event below opens transactions,
    # so that writers take the lock at BEGIN IMMEDIATE instead of failing mid-transaction.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _on_sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


#: Connections one worker process holds at most: one for the search, one for the heartbeat
#: thread. With N worker processes a server sees at most ``N * POOL_SIZE_PER_WORKER``.
POOL_SIZE_PER_WORKER = 2


def create_sql_engine(url: str | URL) -> Engine:
    """An engine for ``url``; SQLite files get WAL and a busy timeout, servers a small pool.

    Every worker holds at most :data:`POOL_SIZE_PER_WORKER` (2) connections (pool_size=1,
    max_overflow=1): one for the search, one for the heartbeat thread.
    """
    url = make_url(url)
    pool = {"pool_size": 1, "max_overflow": POOL_SIZE_PER_WORKER - 1}
    if url.get_backend_name() == "sqlite":
        memory = not url.database or url.database == ":memory:"
        if not memory:
            os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False}, **({} if memory else pool)
        )
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        sa.event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **pool)


class SQLStorage(Storage):
    """Storage in any SQLAlchemy database; creates its tables on first use."""

    def __init__(self, url: str | URL) -> None:
        self.url = make_url(url)
        self.location = masked_url(self.url)
        if self.url.get_backend_name() == "sqlite" and self.url.database:
            self.location = self.url.database  # a file path reads better than a URL
        self.engine = create_sql_engine(self.url)
        self._ensure_schema()

    # ------------------------------------------------------------------ schema
    def _ensure_schema(self) -> None:
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
        pause = 0.01
        while True:
            try:
                # The schema version found on opening (an older one has just been migrated).
                self.found_schema_version = ensure_schema(self.engine, self.location)
                return
            except sa.exc.OperationalError as exc:
                # Processes opening a new SQLite file at once: switching it to WAL needs the
                # file to itself, and SQLite refuses at once ("database is locked") instead
                # of waiting: wait and try again, for as long as a writer would wait.
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    self._refuse(exc)
                self.engine.dispose()
                time.sleep(pause)
                pause = min(2 * pause, 0.5)
            except sa.exc.SQLAlchemyError as exc:
                self._refuse(exc)

    def _refuse(self, exc: Exception) -> NoReturn:
        # Driver messages may quote the connection string: scrub it, and drop the chain.
        text = str(exc)
        if self.url.password:
            text = text.replace(str(self.url.password), "***")
        self.engine.dispose()
        raise StorageError(f"Could not open the storage {self.location}: {text}") from None

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
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(studies_table).order_by(studies_table.c.id)).all()
        return [self._study(r) for r in rows]

    def create_study(self, name: str, settings: dict[str, Any]) -> StudyRecord:
        exists = f"A study named {name!r} already exists in {self.location}."
        try:
            with self.engine.begin() as conn:
                if conn.execute(
                    sa.select(studies_table.c.id).where(studies_table.c.name == name)
                ).first():
                    raise ValueError(exists)
                created = time.time()
                result = conn.execute(
                    studies_table.insert().values(
                        name=name, created_at=created, settings=_dumps(settings), space="[]"
                    )
                )
                study_id = result.inserted_primary_key[0]
        except sa.exc.IntegrityError:  # another worker created it between our check and insert
            raise ValueError(exists) from None
        return StudyRecord(study_id, name, settings, [], created)

    def delete_study(self, study_id: Any) -> None:
        with self.engine.begin() as conn:
            trial_ids = sa.select(trials_table.c.id).where(trials_table.c.study_id == study_id)
            conn.execute(steps_table.delete().where(steps_table.c.trial_id.in_(trial_ids)))
            conn.execute(trials_table.delete().where(trials_table.c.study_id == study_id))
            conn.execute(runs_table.delete().where(runs_table.c.study_id == study_id))
            conn.execute(studies_table.delete().where(studies_table.c.id == study_id))

    def save_space(self, study_id: Any, space: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                studies_table.update()
                .where(studies_table.c.id == study_id)
                .values(space=_dumps(space))
            )

    def save_settings(self, study_id: Any, settings: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                studies_table.update()
                .where(studies_table.c.id == study_id)
                .values(settings=_dumps(settings))
            )

    def get_space(self, study_id: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(_s.space).where(_s.id == study_id)).scalar()
        return json.loads(text) if text else []

    def append_run(self, study_id: Any, record: dict[str, Any]) -> None:
        at = float(record.get("started_at") or time.time())
        with self.engine.begin() as conn:
            conn.execute(
                runs_table.insert().values(study_id=study_id, at=at, record=_dumps(record))
            )

    def get_runs(self, study_id: Any) -> list[dict[str, Any]]:
        r = runs_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(r.record).where(r.study_id == study_id).order_by(r.id)
            ).all()
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
        try:
            with self.engine.begin() as conn:
                # The study row's UPDATE comes first: it serialises creators (row lock), so
                # the claim check below sees every claim committed before ours.
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
                    sa.select(_t.number)
                    .where(_t.study_id == study_id)
                    .where(_t.config_key == claim_key)
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
        with self.engine.begin() as conn:
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

    def add_step(self, trial_id: Any, step: Step, token: str | None = None) -> None:
        with self.engine.begin() as conn:
            beat = _BEAT_RUNNING if token is None else _BEAT_OWNED
            args = {"p_trial_id": trial_id, "p_at": step.at, "p_token": token}
            if conn.execute(beat, args).rowcount != 1:
                raise TrialNotOwnedError(self._not_owned(conn, trial_id))
            conn.execute(
                _INSERT_STEP,
                {
                    "p_trial_id": trial_id,
                    "p_step": step.step,
                    "p_at": step.at,
                    "p_metrics": _dumps(step.metrics),
                },
            )

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
        with self.engine.begin() as conn:
            statement = _FINISH_RUNNING if token is None else _FINISH_OWNED
            done = conn.execute(
                statement,
                {
                    "p_trial_id": trial_id,
                    "p_state": state.value,
                    "p_params": _dumps(values),
                    "p_score": score,
                    "p_best_step": best_step,
                    "p_reason": reason,
                    "p_finished_at": finished_at,
                    "p_attrs": _dumps(attrs or {}),
                    "p_token": token,
                },
            ).rowcount
            if done != 1:
                raise TrialNotOwnedError(self._not_owned(conn, trial_id))
            if state is not TrialState.FAILED or rerun_cap <= 0:
                return None
            return self._create_rerun(conn, trial_id, values, rerun_attrs or {}, rerun_cap, finished_at)

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
        with self.engine.begin() as conn:
            conn.execute(
                trials_table.update()
                .where(trials_table.c.id.in_(list(trial_ids)))
                .where(trials_table.c.state == _RUNNING)
                .values(heartbeat_at=at)
            )

    def running_trials(self, study_id: Any) -> list[tuple[Any, int, str, float]]:
        t = trials_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.id, t.number, t.worker, t.heartbeat_at)
                .where(t.study_id == study_id)
                .where(t.state == _RUNNING)
            ).all()
        return [(r.id, r.number, r.worker, r.heartbeat_at) for r in rows]

    def fail_stale_trial(
        self, trial_id: Any, heartbeat_seen: float, reason: str, at: float, rerun_cap: int = 0
    ) -> bool:
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(_t.params, _t.attrs).where(_t.id == trial_id)
            ).first()
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
                self._create_rerun(conn, trial_id, json.loads(row.params), created_attrs, rerun_cap, at)
            return True

    def get_trials(
        self, study_id: Any, since_number: int = 0, numbers: Sequence[int] = ()
    ) -> list[FrozenTrial]:
        where = [_t.study_id == study_id]
        if since_number > 0:
            newer = _t.number >= since_number
            where.append(sa.or_(newer, _t.number.in_(list(numbers))) if numbers else newer)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(trials_table).where(*where).order_by(_t.number)).all()
            step_rows = (
                conn.execute(
                    sa.select(steps_table)
                    .join(trials_table, steps_table.c.trial_id == _t.id)
                    .where(*where)
                    .order_by(steps_table.c.trial_id, steps_table.c.step)
                ).all()
                if rows
                else []
            )
        steps: dict[Any, list[Step]] = {}
        for s in step_rows:
            steps.setdefault(s.trial_id, []).append(Step(s.step, json.loads(s.metrics), s.at))
        return [_frozen(r, steps.get(r.id, ())) for r in rows]

    def __repr__(self) -> str:
        return f"SQLStorage({self.location!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its URL: a worker process opens its own connections."""
        return (SQLStorage, (self.url.render_as_string(hide_password=False),))

    def close(self) -> None:
        self.engine.dispose()
