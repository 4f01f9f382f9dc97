"""The SQL schema, its version, and the migrations from every older version.

The version is kept in ``tunewise_meta`` (key ``schema_version``). Opening a database runs, in
one transaction under a lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock), every
migration from the stored version to :data:`SCHEMA_VERSION`, so that several workers opening
the same old database at once upgrade it exactly once. A database written by a newer tunewise
is refused with :class:`SchemaVersionError`, saying what to do.

Opened read-only (:func:`read_schema_version`), nothing is created or migrated: the version is
only read, and the caller decides (a newer one is refused; an older SQLite file is read from
an upgraded copy in memory, an older server database refused with how to migrate it).

History:

* 1: studies, trials, steps; JSON columns.
* 2: ``tunewise_studies.next_number`` and ``n_slots`` (the study row hands out trial numbers
  and counts the trials that count toward ``max_trials``, atomically, under one row lock), and
  an index on ``tunewise_trials (study_id, state)`` for the running-trial scans of many workers.
* 3: ``tunewise_trials.owner_token`` (the token of the worker that owns a RUNNING trial: steps
  and results are stored only with it) and ``config_key`` (a hash of the configuration of a
  trial of a finite enumeration, unique per study, so that N workers claim each configuration
  once); WAITING trials (stored re-runs any worker claims); the run log moved from the study's
  settings blob (``settings["runs"]``, rewritten whole by every run) to ``tunewise_runs``,
  one appended row per run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ._errors import SchemaVersionError

SCHEMA_VERSION = 3

#: Any constant works; it only has to be the same for every tunewise process.
_PG_SCHEMA_LOCK = 0x74756E65  # "tune"

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
    # v2: the next trial number, and how many trials count toward max_trials (not re-runs).
    sa.Column("next_number", sa.Integer, nullable=False, server_default="0"),
    sa.Column("n_slots", sa.Integer, nullable=False, server_default="0"),
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
    # v3: the owner's token (RUNNING trials) and the configuration's claim (enumerations).
    sa.Column("owner_token", sa.String(64), nullable=True),
    sa.Column("config_key", sa.String(64), nullable=True),
    sa.UniqueConstraint("study_id", "number", name="uq_tunewise_trial_number"),
    sa.Index("ix_tunewise_trials_study_state", "study_id", "state"),
    sa.Index("uq_tunewise_trials_config_key", "study_id", "config_key", unique=True),
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


runs_table = sa.Table(
    "tunewise_runs",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id",
        sa.Integer,
        sa.ForeignKey("tunewise_studies.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("record", sa.Text, nullable=False),
)


def newer_schema_error(location: str, stored: int) -> SchemaVersionError:
    """The refusal of a database written by a newer tunewise (schema ``stored``)."""
    return SchemaVersionError(
        f"{location} was written by a newer tunewise: it holds tunewise schema version "
        f"{stored}, newer than this tunewise understands (version {SCHEMA_VERSION}); upgrade "
        "tunewise where this runs (pip install -U tunewise) to use it, or pass another "
        "storage= (a new file or database) to start a separate study."
    )


def _v1_to_v2(conn: sa.Connection) -> None:
    for column in ("next_number", "n_slots"):
        conn.exec_driver_sql(
            f"ALTER TABLE tunewise_studies ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0"
        )
    conn.exec_driver_sql(
        "UPDATE tunewise_studies SET "
        "next_number = (SELECT COALESCE(MAX(t.number) + 1, 0) FROM tunewise_trials t "
        "WHERE t.study_id = tunewise_studies.id), "
        "n_slots = (SELECT COUNT(*) FROM tunewise_trials t "
        "WHERE t.study_id = tunewise_studies.id AND t.retry_of IS NULL)"
    )
    conn.exec_driver_sql(
        "CREATE INDEX IF NOT EXISTS ix_tunewise_trials_study_state "
        "ON tunewise_trials (study_id, state)"
    )


def _v2_to_v3(conn: sa.Connection) -> None:
    for column in ("owner_token", "config_key"):
        conn.exec_driver_sql(f"ALTER TABLE tunewise_trials ADD COLUMN {column} VARCHAR(64)")
    conn.exec_driver_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS uq_tunewise_trials_config_key "
        "ON tunewise_trials (study_id, config_key)"
    )
    runs_table.create(conn, checkfirst=True)
    rows = conn.execute(sa.select(studies_table.c.id, studies_table.c.settings)).all()
    for study_id, text in rows:
        settings = json.loads(text)
        runs = settings.pop("runs", None)
        if runs is None:
            continue
        for run in runs:
            at = run.get("started_at") or run.get("finished_at") or 0.0
            conn.execute(
                runs_table.insert().values(
                    study_id=study_id, at=float(at), record=json.dumps(run, allow_nan=True)
                )
            )
        conn.execute(
            studies_table.update()
            .where(studies_table.c.id == study_id)
            .values(settings=json.dumps(settings, allow_nan=True, separators=(",", ":")))
        )


#: ``MIGRATIONS[v]`` upgrades a database from version ``v`` to ``v + 1``.
MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {1: _v1_to_v2, 2: _v2_to_v3}


def ensure_schema(engine: sa.Engine, location: str) -> int:
    """Create the tables, or upgrade them to :data:`SCHEMA_VERSION`; returns the version found.

    Raises :class:`SchemaVersionError` for a database written by a newer tunewise.
    """
    with engine.begin() as conn:
        return migrate(conn, location)


def migrate(conn: sa.Connection, location: str) -> int:
    """:func:`ensure_schema` in the caller's transaction ``conn``."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
    stored = _stored_version(conn)
    if stored is None:
        _metadata.create_all(conn)
        conn.execute(
            meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
        )
        return SCHEMA_VERSION
    if stored > SCHEMA_VERSION:
        raise newer_schema_error(location, stored)
    for version in range(stored, SCHEMA_VERSION):
        MIGRATIONS[version](conn)
    if stored < SCHEMA_VERSION:
        conn.execute(
            meta_table.update()
            .where(meta_table.c.key == "schema_version")
            .values(value=str(SCHEMA_VERSION))
        )
    _metadata.create_all(conn)  # tables a partial or foreign database lacks
    return stored


def _stored_version(conn: sa.Connection) -> int | None:
    if not sa.inspect(conn).has_table("tunewise_meta"):
        return None
    return read_schema_version(conn)


def read_schema_version(conn: sa.Connection) -> int | None:
    """The version in ``tunewise_meta`` (which must exist), None without one; reads only."""
    row: Any = conn.execute(
        sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
    ).first()
    if row is None or not str(row[0]).strip().isdigit():
        return None
    return int(row[0])
