"""SQLAlchemy storage: a SQLite file by default, PostgreSQL (or any SQLAlchemy URL) for many workers.

Layout (schema version :data:`SCHEMA_VERSION`, kept in ``tunewise_meta``):

* ``tunewise_studies``: one row per study; settings and search space as JSON text.
* ``tunewise_trials``: one row per trial; hyperparameter values as JSON text.
* ``tunewise_steps``: one row per reported step; its metrics as JSON text (NaN and inf kept).

SQLite runs in WAL mode with ``synchronous=NORMAL`` (a killed process loses no committed
transaction; readers never block the writer) and a busy timeout, so several processes on one
machine can share the file. Each write is one short transaction.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from ..trial import FrozenTrial, Step, TrialState
from ._base import NewTrial, Storage, StudyRecord

SCHEMA_VERSION = 1

#: Seconds a writer waits for a SQLite lock held by another process before failing.
SQLITE_BUSY_TIMEOUT_S = 60

_metadata = sa.MetaData()

meta_table = sa.Table(
    "tunewise_meta",
    _metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

studies_table = sa.Table(
    "tunewise_studies",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(512), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("space", sa.Text, nullable=False),
)

trials_table = sa.Table(
    "tunewise_trials",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id",
        sa.Integer,
        sa.ForeignKey("tunewise_studies.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("best_step", sa.Integer, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("retry_of", sa.Integer, nullable=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
    sa.Column("worker", sa.String(256), nullable=False),
    sa.Column("attrs", sa.Text, nullable=False, server_default="{}"),
    sa.UniqueConstraint("study_id", "number", name="uq_tunewise_trial_number"),
)

steps_table = sa.Table(
    "tunewise_steps",
    _metadata,
    sa.Column(
        "trial_id",
        sa.Integer,
        sa.ForeignKey("tunewise_trials.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("step", sa.Integer, primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("metrics", sa.Text, nullable=False),
)


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
)
_NEXT_NUMBER = sa.select(sa.func.coalesce(sa.func.max(_t.number) + 1, 0)).where(
    _t.study_id == sa.bindparam("p_study_id")
)
_INSERT_STEP = steps_table.insert().values(
    trial_id=sa.bindparam("p_trial_id"),
    step=sa.bindparam("p_step"),
    at=sa.bindparam("p_at"),
    metrics=sa.bindparam("p_metrics"),
)
_BEAT_ONE = (
    trials_table.update()
    .where(_t.id == sa.bindparam("p_trial_id"))
    .values(heartbeat_at=sa.bindparam("p_at"))
)
_FINISH_TRIAL = (
    trials_table.update()
    .where(_t.id == sa.bindparam("p_trial_id"))
    .values(
        state=sa.bindparam("p_state"),
        params=sa.bindparam("p_params"),
        score=sa.bindparam("p_score"),
        best_step=sa.bindparam("p_best_step"),
        reason=sa.bindparam("p_reason"),
        finished_at=sa.bindparam("p_finished_at"),
        heartbeat_at=sa.bindparam("p_finished_at"),
        attrs=sa.bindparam("p_attrs"),
    )
)


class SchemaVersionError(RuntimeError):
    """The stored schema was written by a newer tunewise."""


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


def create_sql_engine(url: str | URL) -> Engine:
    """An engine for ``url``; SQLite files get WAL and a busy timeout, servers a small pool.

    A PostgreSQL worker holds at most 2 connections (pool_size=1, max_overflow=1): one for
    the search, one for the heartbeat thread.
    """
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        sa.event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    return sa.create_engine(url, pool_size=1, max_overflow=1, pool_pre_ping=True)


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
        with self.engine.begin() as conn:
            _metadata.create_all(conn)
            row = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).first()
            if row is None:
                conn.execute(
                    meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
                )
                return
        stored = int(row[0])
        if stored > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.location} holds tunewise schema version {stored}, newer than this "
                f"tunewise understands ({SCHEMA_VERSION}). Upgrade: pip install -U tunewise."
            )

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
        with self.engine.begin() as conn:
            exists = conn.execute(
                sa.select(studies_table.c.id).where(studies_table.c.name == name)
            ).first()
            if exists is not None:
                raise ValueError(f"A study named {name!r} already exists in {self.location}.")
            created = time.time()
            result = conn.execute(
                studies_table.insert().values(
                    name=name, created_at=created, settings=_dumps(settings), space="[]"
                )
            )
            study_id = result.inserted_primary_key[0]
        return StudyRecord(study_id, name, settings, [], created)

    def delete_study(self, study_id: Any) -> None:
        with self.engine.begin() as conn:
            trial_ids = sa.select(trials_table.c.id).where(trials_table.c.study_id == study_id)
            conn.execute(steps_table.delete().where(steps_table.c.trial_id.in_(trial_ids)))
            conn.execute(trials_table.delete().where(trials_table.c.study_id == study_id))
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

    # ------------------------------------------------------------------ trials
    def create_trial(
        self,
        study_id: Any,
        values: dict[str, Any],
        retry_of: int | None,
        started_at: float,
        worker: str,
    ) -> NewTrial:
        params = _dumps(values)
        for _attempt in range(20):
            try:
                with self.engine.begin() as conn:
                    number = conn.execute(_NEXT_NUMBER, {"p_study_id": study_id}).scalar_one()
                    result = conn.execute(
                        _INSERT_TRIAL,
                        {
                            "p_study_id": study_id,
                            "p_number": number,
                            "p_state": TrialState.RUNNING.value,
                            "p_params": params,
                            "p_retry_of": retry_of,
                            "p_started_at": started_at,
                            "p_worker": worker,
                        },
                    )
                    return NewTrial(result.inserted_primary_key[0], int(number))
            except sa.exc.IntegrityError:
                continue  # another worker took this number first; take the next one
        raise RuntimeError(f"Could not allocate a trial number in {self.location} after 20 tries.")

    def add_step(self, trial_id: Any, step: Step) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                _INSERT_STEP,
                {
                    "p_trial_id": trial_id,
                    "p_step": step.step,
                    "p_at": step.at,
                    "p_metrics": _dumps(step.metrics),
                },
            )
            conn.execute(_BEAT_ONE, {"p_trial_id": trial_id, "p_at": step.at})

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
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                _FINISH_TRIAL,
                {
                    "p_trial_id": trial_id,
                    "p_state": state.value,
                    "p_params": _dumps(values),
                    "p_score": score,
                    "p_best_step": best_step,
                    "p_reason": reason,
                    "p_finished_at": finished_at,
                    "p_attrs": _dumps(attrs or {}),
                },
            )

    def heartbeat(self, trial_ids: Sequence[Any], at: float) -> None:
        if not trial_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                trials_table.update()
                .where(trials_table.c.id.in_(list(trial_ids)))
                .where(trials_table.c.state == TrialState.RUNNING.value)
                .values(heartbeat_at=at)
            )

    def running_trials(self, study_id: Any) -> list[tuple[Any, int, str, float]]:
        t = trials_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.id, t.number, t.worker, t.heartbeat_at)
                .where(t.study_id == study_id)
                .where(t.state == TrialState.RUNNING.value)
            ).all()
        return [(r.id, r.number, r.worker, r.heartbeat_at) for r in rows]

    def get_trials(self, study_id: Any) -> list[FrozenTrial]:
        t = trials_table.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(trials_table).where(t.study_id == study_id).order_by(t.number)
            ).all()
            step_rows = conn.execute(
                sa.select(steps_table)
                .join(trials_table, steps_table.c.trial_id == t.id)
                .where(t.study_id == study_id)
                .order_by(steps_table.c.trial_id, steps_table.c.step)
            ).all()
        steps: dict[Any, list[Step]] = {}
        for s in step_rows:
            steps.setdefault(s.trial_id, []).append(Step(s.step, json.loads(s.metrics), s.at))
        return [
            FrozenTrial(
                number=r.number,
                state=TrialState(r.state),
                values=json.loads(r.params),
                steps=tuple(steps.get(r.id, ())),
                score=r.score,
                best_step=r.best_step,
                reason=r.reason,
                retry_of=r.retry_of,
                started_at=r.started_at,
                finished_at=r.finished_at,
                attrs=json.loads(r.attrs),
                storage_id=r.id,
            )
            for r in rows
        ]

    def close(self) -> None:
        self.engine.dispose()
