"""Opening SQLite files: for a search (a writer) or for reading only (never writing anything).

Writer: the file's folders are created; WAL journal, ``synchronous=NORMAL`` and a busy timeout,
so that several processes on one machine share the file (a killed process loses no committed
transaction). A write transaction takes the write lock at ``BEGIN IMMEDIATE`` (it never fails
midway on a lock); a read transaction is a plain deferred ``BEGIN``: a WAL reader neither
blocks the writer nor waits for it. An existing file is first looked at read-only
(:func:`inspect_file`), so that a file that is not SQLite, another program's database or a
newer tunewise schema is refused before anything (the WAL switch included) is written.

Reader (:func:`reader_engine`): creates, alters and locks nothing for writing. The connection
is opened from the URI ``file:<path>?mode=ro`` (SQLite refuses any write on it), with
``PRAGMA query_only``, no journal-mode switch, no folder created, deferred ``BEGIN``. A WAL-mode
file with no ``-wal`` file beside it (its last writer closed it: every commit is in the file
itself) is opened ``immutable=1`` too: otherwise SQLite would create ``-wal`` and ``-shm`` files
beside it, and could not open it at all on a read-only filesystem. Each read transaction gets a
connection of its own (no pool), so the choice is made again when a writer starts: the reader
then goes through the writer's ``-wal``/``-shm`` and sees its commits. (A writer starting during
an immutable read writes to its new ``-wal``; the file itself changes only at a checkpoint,
after 1000 pages of writes, far longer than one read.)
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.pool import NullPool

from ._errors import (
    DamagedDatabaseError,
    NotATunewiseDatabaseError,
    ReadOnlyStorageError,
    StorageError,
    StorageNotFoundError,
    classify,
)

#: Seconds a connection waits for a SQLite lock held by another process before failing.
SQLITE_BUSY_TIMEOUT_S = 60

#: What every SQLite database file starts with.
_MAGIC = b"SQLite format 3\x00"

#: Connections one worker process holds at most: one for the search, one for the heartbeat
#: thread. With N worker processes a server sees at most ``N * POOL_SIZE_PER_WORKER``.
POOL_SIZE_PER_WORKER = 2


def sqlite_file(url: URL) -> str | None:
    """The absolute path of the file of a ``sqlite:///`` URL; None for an in-memory database
    or a ``file:`` URI (handed to SQLite as given)."""
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return os.path.abspath(db)


def check_path(path: str, *, reading: bool) -> None:
    """Refuse a path that cannot hold the database, naming the culprit: a folder of it that is
    a file, the path itself a folder, and (``reading``) a file that does not exist. A writer
    gets the missing folders created; a reader never creates anything."""
    folder = os.path.dirname(path)
    existing = folder
    while not os.path.exists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise StorageNotFoundError(
            f"{path}: {existing} is a file, not a folder, so no database can be inside it: pass "
            "a path whose folders are folders."
        )
    if os.path.isdir(path):
        raise StorageNotFoundError(
            f"{path} is a folder, not a database file: pass the database inside it (e.g. "
            f"{os.path.join(path, 'tunewise.db')}), or the folder itself to the tunewise command."
        )
    if reading and not os.path.exists(path):
        gone = f" (nor does its folder {folder})" if existing != folder else ""
        raise StorageNotFoundError(
            f"{path} does not exist{gone}: pass a database a tunewise search wrote (a "
            "project's tunewise.db) or its project directory; nothing was created."
        )
    if not reading and existing != folder:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise ReadOnlyStorageError(
                f"Cannot create the folder {folder} for {path} ({exc.strerror}): a search "
                "stores its trials there; pass a writable directory= or storage=."
            ) from None
    if not reading:
        unwritable = folder if not os.access(folder, os.W_OK) else None
        if unwritable is None and os.path.exists(path) and not os.access(path, os.W_OK):
            unwritable = path
        if unwritable is not None:  # (a search also writes -wal and -shm files in the folder)
            raise ReadOnlyStorageError(
                f"{path} cannot be written: {unwritable} is read-only (its permissions or its "
                "filesystem); a search stores its trials there, so pass a writable directory= "
                "or storage=; to read it, use tunewise.load_study() or the tunewise command."
            )


def read_header(path: str) -> bytes:
    """The first 100 bytes of ``path`` (empty for an empty file), checked to be SQLite's."""
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except OSError as exc:
        raise StorageError(
            f"{path} cannot be read ({exc.strerror}): check its permissions, or pass "
            "another database.",
            user_mistake=True,
        ) from None
    if head and not head.startswith(_MAGIC[: len(head)]):
        raise NotATunewiseDatabaseError(
            f"{path} is not a database (it does not start as SQLite files do, but with "
            f"{head[:8]!r}): pass a database a tunewise search wrote (a project's "
            "tunewise.db) or a project directory."
        )
    if head and len(head) < 100:
        raise DamagedDatabaseError(
            f"{path} is damaged (truncated to {len(head)} bytes, shorter than a SQLite "
            "header): restore it from a backup."
        )
    return head


def _reader_uri(path: str, head: bytes) -> str:
    wal_mode = len(head) >= 20 and head[18] == 2
    wal = path + "-wal"
    settled = not os.path.exists(wal) or os.path.getsize(wal) == 0
    query = "mode=ro&immutable=1" if wal_mode and settled else "mode=ro"
    return f"file:{urllib.parse.quote(path)}?{query}"


def connect_reader(path: str) -> sqlite3.Connection:
    """A read-only connection to the file at ``path`` (see the module docstring)."""
    head = read_header(path)
    conn = sqlite3.connect(
        _reader_uri(path, head), uri=True, check_same_thread=False, isolation_level=None
    )
    conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
    conn.execute("PRAGMA query_only = 1")
    return conn


def inspect_file(path: str) -> tuple[set[str], int | None]:
    """``(table names, tunewise schema version or None)`` of the file at ``path``, read
    without writing anything; a file that is not a database or is damaged is refused."""
    if not read_header(path):
        return set(), None  # an empty file: an empty database
    try:
        conn = connect_reader(path)
        try:
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            version = None
            if "tunewise_meta" in tables:
                row = conn.execute(
                    "SELECT value FROM tunewise_meta WHERE key = 'schema_version'"
                ).fetchone()
                if row is not None and str(row[0]).strip().isdigit():
                    version = int(row[0])
            return tables, version
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise (classify(exc, path) or StorageError(f"{path} cannot be read: {exc}")) from None


def _begin_deferred(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def reader_engine(path: str) -> Engine:
    """An engine that only reads the file at ``path``: a fresh read-only connection per
    transaction (see the module docstring)."""
    engine = sa.create_engine("sqlite://", creator=lambda: connect_reader(path), poolclass=NullPool)
    sa.event.listen(engine, "begin", _begin_deferred)
    return engine


def snapshot_engine(path: str) -> tuple[Engine, sqlite3.Connection]:
    """An engine over a copy in memory of the file at ``path`` (read only from the file), and
    the connection that keeps the copy alive: for reading an older schema once migrated in
    the copy, the file left as it is."""
    name = f"file:tunewise-snapshot-{uuid.uuid4().hex}?mode=memory&cache=shared"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(name, uri=True, check_same_thread=False, isolation_level=None)

    anchor = connect()
    source = connect_reader(path)
    try:
        source.backup(anchor)
    finally:
        source.close()
    engine = sa.create_engine("sqlite://", creator=connect, poolclass=NullPool)
    sa.event.listen(engine, "begin", _begin_deferred)
    return engine, anchor


def _on_writer_connect(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level; SQLAlchemy's "begin" event below opens transactions,
    # so that writers take the lock at BEGIN IMMEDIATE instead of failing mid-transaction.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


#: The execution option of an engine's read transactions (deferred ``BEGIN``, no write lock).
READING = "tunewise_reading"


def _on_writer_begin(conn: Any) -> None:
    reading = conn.get_execution_options().get(READING, False)
    conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def writer_engine(url: URL) -> Engine:
    """An engine for a search on the SQLite ``url`` (WAL, busy timeout, a pool of
    :data:`POOL_SIZE_PER_WORKER`); transactions run with the :data:`READING` option set
    begin deferred."""
    memory = sqlite_file(url) is None and not (url.database or "").startswith("file:")
    pool = {"pool_size": 1, "max_overflow": POOL_SIZE_PER_WORKER - 1}
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False}, **({} if memory else pool)
    )
    sa.event.listen(engine, "connect", _on_writer_connect)
    sa.event.listen(engine, "begin", _on_writer_begin)
    return engine
