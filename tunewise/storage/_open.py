"""Opening a storage URL: the engines, and everything refused before anything is written.

For a search (a writer): the URL must parse and name a known dialect with its driver
installed; a SQLite file is checked read-only first (:func:`._sqlite_open.inspect_file`: not a
database, damaged, another program's, newer schema: refused, the file untouched), then its
tables are created or migrated (:func:`._schema.migrate`). A server database gets its
``tunewise_*`` tables beside any others (see :mod:`._foreign`).

Read-only: nothing is created, migrated or locked for writing. A SQLite file is opened
through :func:`._sqlite_open.reader_engine`; a server connection runs every transaction
``READ ONLY``. A database without tunewise's tables is refused and named (an Optuna storage,
another program's, an empty one); a newer schema is refused; an older one is read from a copy
migrated in memory (SQLite; the file is left as it is) or refused with how to migrate it (a
server database).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from ._errors import SchemaVersionError, StorageURLError, classify
from ._foreign import foreign_error
from ._retry import Transactions
from ._schema import SCHEMA_VERSION, migrate, newer_schema_error, read_schema_version
from ._sqlite_open import (
    POOL_SIZE_PER_WORKER,
    READING,
    check_path,
    inspect_file,
    reader_engine,
    snapshot_engine,
    sqlite_file,
    writer_engine,
)


@dataclass
class Engines:
    """An opened storage's engines: ``engine`` for its writes, ``reads`` for its read
    transactions (deferred ``BEGIN`` on SQLite), and the schema version found on opening."""

    engine: Engine
    reads: Engine
    found_schema_version: int
    anchor: sqlite3.Connection | None = None  # keeps an in-memory copy alive


def parse_url(url: str | URL) -> URL:
    try:
        return make_url(url)
    except sa.exc.ArgumentError:
        shown = str(url)
        if "@" in shown:  # never print what may be a password
            shown = shown.split("://", 1)[0] + "://***@" + shown.rsplit("@", 1)[1]
        raise StorageURLError(
            f"{shown!r} is not a database URL SQLAlchemy can read: pass e.g. "
            "'sqlite:///path/to/tunewise.db' or 'postgresql://user@host/db'."
        ) from None


def location_of(url: URL) -> str:
    """A file path for a SQLite file (it reads better than a URL), else the URL with its
    password masked."""
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database
    return url.render_as_string(hide_password=True)


def open_engines(url: URL, location: str, read_only: bool, tx: Transactions) -> Engines:
    """The engines of the storage at ``url`` (see the module docstring)."""
    path = sqlite_file(url) if url.get_backend_name() == "sqlite" else None
    if path is not None:
        check_path(path, reading=read_only)
        if read_only:
            return _read_sqlite_file(path, location, tx)
        if os.path.exists(path) and os.path.getsize(path) > 0:
            tables, version = inspect_file(path)
            refusal = foreign_error(tables, location, reading=False, shared_server=False)
            if refusal is not None:
                raise refusal
            if version is not None and version > SCHEMA_VERSION:
                raise newer_schema_error(location, version)
        engine = writer_engine(url)
    else:
        engine = _server_engine(url, location, read_only)
    reads = engine.execution_options(**{READING: True})
    if not read_only:
        found = tx.run(engine, lambda conn: migrate(conn, location))
        return Engines(engine, reads, found)
    tables = tx.run(reads, lambda conn: set(sa.inspect(conn).get_table_names()))
    refusal = foreign_error(tables, location, reading=True, shared_server=True)
    if refusal is not None:
        engine.dispose()
        raise refusal
    version = tx.run(reads, read_schema_version)
    _check_readable(version, location)
    if version is not None and version < SCHEMA_VERSION:
        engine.dispose()
        raise SchemaVersionError(
            f"{location} holds tunewise schema version {version}, older than this tunewise's "
            f"{SCHEMA_VERSION}, and was opened read-only: open it once with a search "
            "(tw.Study(..., storage=<this URL>)) to migrate it, then read it."
        )
    return Engines(engine, reads, int(version))  # type: ignore[arg-type]


def _check_readable(version: int | None, location: str) -> None:
    if version is None:
        raise SchemaVersionError(
            f"{location} has a tunewise_meta table without a schema version, so it is no "
            "tunewise database this tunewise can read: pass a database a tunewise search wrote."
        )
    if version > SCHEMA_VERSION:
        raise newer_schema_error(location, version)


def _read_sqlite_file(path: str, location: str, tx: Transactions) -> Engines:
    tables, version = inspect_file(path)
    refusal = foreign_error(tables, location, reading=True, shared_server=False)
    if refusal is not None:
        raise refusal
    _check_readable(version, location)
    if version is not None and version < SCHEMA_VERSION:
        engine, anchor = snapshot_engine(path)
        tx.run(engine, lambda conn: migrate(conn, location))
        return Engines(engine, engine, int(version), anchor)
    engine = reader_engine(path)
    return Engines(engine, engine, int(version))  # type: ignore[arg-type]


def _on_read_only_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    cur.close()
    dbapi_conn.commit()  # a session setting made in a transaction would end with it


def _server_engine(url: URL, location: str, read_only: bool) -> Engine:
    """An engine for a server (or in-memory SQLite) URL: a small pool, pinged on checkout."""
    try:
        if url.get_backend_name() == "sqlite":
            engine = writer_engine(url)
        else:
            pool = {"pool_size": 1, "max_overflow": POOL_SIZE_PER_WORKER - 1}
            engine = sa.create_engine(url, pool_pre_ping=True, **pool)
    except sa.exc.NoSuchModuleError:
        raise StorageURLError(
            f"{location}: unknown database URL scheme {url.drivername!r}: pass e.g. "
            "'sqlite:///path/to/tunewise.db' or 'postgresql://user@host/db'."
        ) from None
    except ImportError as exc:
        raise StorageURLError(
            f"{location}: the Python driver for {url.drivername!r} is not installed "
            f"({exc}): install that driver (for postgresql://: pip install 'psycopg[binary]') "
            "or pass another URL."
        ) from None
    except sa.exc.ArgumentError as exc:
        raise (
            classify(exc, location)
            or StorageURLError(f"{location} cannot be used: {exc}; fix the URL.")
        ) from None
    if read_only and engine.dialect.name == "postgresql":
        sa.event.listen(engine, "connect", _on_read_only_connect)
    return engine
