"""Transient database errors survived: each storage call is retried, on a fresh connection,
with exponential backoff, for at most :data:`TRANSIENT_RETRY_S` seconds.

Transient: a connection cut by the server or the network (SQLAlchemy's
``connection_invalidated``, or the driver's words: "server closed the connection",
"terminating connection due to administrator command"...), a server refusing connections
(restarting) once the storage is open, and SQLite's "database is locked"/busy. Any other
error is raised at once, explained in one line where it is known (:func:`._errors.classify`).
Opening a storage does not wait for a server that refuses connections: it says so at once.

Never twice: each call is one transaction. An error before ``COMMIT`` was sent means the
transaction was rolled back (a cut connection ends it on the server; a busy SQLite rolls it
back), so running it again is safe. An error during ``COMMIT`` leaves the outcome unknown:
every write that is not idempotent gives an ``applied`` check, run on a fresh connection, that
reads whether the write is stored (the trial with this owner token and start time, the step
with this number and time, the finished state with this finish time, the run-log record...)
and returns the call's result instead of writing again. Idempotent writes (heartbeats, the
space and settings, deleting a study, the schema) simply run again.

One line per outage: the first call to succeed after a lost connection logs, once whatever
the threads that met it, ``Lost the connection to <url> (<why>); reconnected after 0.4 s``
(a warning of the ``tunewise.storage`` logger). Past the retry time the call raises
:class:`~._errors.StorageUnavailableError`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ._errors import StorageUnavailableError, driver_message, sqlite_code

#: Seconds a storage call keeps retrying a transient error, from the first one, before it
#: raises StorageUnavailableError (a server restart or failover takes well under this).
TRANSIENT_RETRY_S = 60.0
#: The first pause between tries; each next one doubles, up to MAX_PAUSE_S.
FIRST_PAUSE_S = 0.05
MAX_PAUSE_S = 2.0

#: What an ``applied`` check returns when the write it checks is not stored.
NOT_APPLIED: Any = object()

logger = logging.getLogger("tunewise.storage")

T = TypeVar("T")

_CUT = (
    "server closed the connection",
    "terminating connection",
    "connection reset",
    "connection is closed",
    "connection already closed",
    "consuming input failed",
    "could not receive data",
    "could not send data",
    "ssl syscall error",
    "ssl connection has been closed",
    "lost synchronization with server",
    "no connection to the server",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    "server conn crashed",
    "broken pipe",
)
_UNREACHABLE = ("connection refused", "could not connect", "connection failed", "timeout expired")
_BUSY = ("database is locked", "database table is locked", "database is busy")


def transient_kind(exc: BaseException, opened: bool) -> str | None:
    """``"cut"`` (a lost or refused connection), ``"busy"`` (SQLite locked) or None (not
    transient). A refused connection counts only once the storage is ``opened``."""
    if not isinstance(exc, sa.exc.DBAPIError) or isinstance(exc, sa.exc.IntegrityError):
        return None
    low = driver_message(exc).lower()
    if sqlite_code(exc).startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or any(
        m in low for m in _BUSY
    ):
        return "busy"
    if exc.connection_invalidated or any(m in low for m in _CUT):
        return "cut"
    if opened and any(m in low for m in _UNREACHABLE):
        return "cut"
    return None


class _Outage:
    """The connection loss under way, shared by the threads of one storage: logged once."""

    def __init__(self, location: str) -> None:
        self.location = location
        self._lock = threading.Lock()
        self._since: float | None = None
        self._why = ""

    def lost(self, why: str) -> None:
        with self._lock:
            if self._since is None:
                self._since, self._why = time.monotonic(), why

    def over(self) -> None:
        if self._since is None:  # the common case, without taking the lock
            return
        with self._lock:
            if self._since is None:
                return
            waited = time.monotonic() - self._since
            self._since = None
            logger.warning(
                "Lost the connection to %s (%s); reconnected after %.1f s",
                self.location,
                self._why,
                waited,
            )


class Transactions:
    """Runs one storage's calls as transactions that survive transient errors.

    ``explain(exc)`` raises the :class:`~._errors.StorageError` a non-transient driver error
    means (or ``exc`` itself). ``opened`` is set once the storage is open (from then on a
    refused connection is waited for).
    """

    def __init__(
        self,
        location: str,
        explain: Callable[[BaseException], NoReturn],
        budget_s: float = TRANSIENT_RETRY_S,
    ) -> None:
        self.location = location
        self.explain = explain
        self.budget_s = budget_s
        self.opened = False
        self.outage = _Outage(location)

    def run(
        self,
        engine: Engine,
        body: Callable[[Connection], T],
        applied: Callable[[Connection], Any] | None = None,
        check_engine: Engine | None = None,
    ) -> T:
        """``body(conn)`` in one transaction of ``engine``, committed; retried on transient
        errors (see the module docstring). ``applied(conn)`` (on ``check_engine``, default
        ``engine``) is asked after an error during the commit: its result, unless
        :data:`NOT_APPLIED`, is returned instead of running ``body`` again."""
        first: float | None = None
        pause = FIRST_PAUSE_S
        while True:
            committing = False
            try:
                with engine.connect() as conn, conn.begin():
                    result = body(conn)
                    committing = True
                self.outage.over()
                return result
            except sa.exc.DBAPIError as exc:
                kind = transient_kind(exc, self.opened)
                if kind is None:
                    self.explain(exc)
                now = time.monotonic()
                first = now if first is None else first
                why = driver_message(exc)
                if kind == "cut":
                    self.outage.lost(why)
                logger.debug("%s: %s (%s); trying again", self.location, kind, why)
                if now - first > self.budget_s:
                    raise self._gave_up(kind, why) from None
            time.sleep(pause)
            pause = min(2 * pause, MAX_PAUSE_S)
            if committing and applied is not None:
                found = self.run(check_engine or engine, applied)
                if found is not NOT_APPLIED:
                    return found

    def _gave_up(self, kind: str | None, why: str) -> StorageUnavailableError:
        if kind == "busy":
            return StorageUnavailableError(
                f"{self.location} stayed locked by another process for over "
                f"{self.budget_s:g} s ({why}): end the process that holds it (a stuck program "
                "or sqlite3 shell) and run again; nothing stored was lost."
            )
        return StorageUnavailableError(
            f"Lost the connection to {self.location} ({why}) and could not reconnect within "
            f"{self.budget_s:g} s: check that the database server is up and reachable; what "
            "was stored is kept (run the search again to resume it)."
        )
