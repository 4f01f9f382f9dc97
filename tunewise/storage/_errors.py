"""What can go wrong with a storage, each said in one line: which file or URL, what is wrong,
what to do. Every error is a :class:`StorageError`, raised ``from None`` (no chained driver
traceback), its message free of passwords and newlines.

``user_mistake`` (the CLI exits 2 when True, 1 when False) follows one rule: True when what
the user named cannot be used as it is, so the fix is in the argument or in what it points at
(a path that does not exist or is a folder, another program's database, a file that is not a
database or is damaged, a database written by a newer tunewise, an unknown URL scheme or a
missing driver, a wrong user or database name, a server that does not answer at the address
given, a read-only place given to a search); False when what was named was usable and the
work then failed (a full disk, a connection lost mid-search past the retry time, a database
locked by another process past it). A truncated file reads as "not a database" or as
"damaged" depending on where it was cut: both are the same mistake, both exit 2.
"""

from __future__ import annotations

from typing import Any


class StorageError(RuntimeError):
    """The database could not be opened or used; the message is one line, without password."""

    #: True when the fix is in what the user passed (see the module docstring).
    user_mistake: bool = False

    def __init__(self, message: str, *, user_mistake: bool | None = None) -> None:
        super().__init__(one_line(message))
        if user_mistake is not None:
            self.user_mistake = user_mistake


class StorageNotFoundError(StorageError):
    """The file or a folder of its path does not exist, or is not what it should be."""

    user_mistake = True


class NotATunewiseDatabaseError(StorageError):
    """Another program's database (an Optuna storage...), or a file that is no database."""

    user_mistake = True


class SchemaVersionError(StorageError):
    """The stored schema was written by a newer tunewise (or, read-only, needs migrating)."""

    user_mistake = True


class StorageURLError(StorageError):
    """A URL that cannot be parsed, of an unknown scheme, or whose driver is not installed."""

    user_mistake = True


class ReadOnlyStorageError(StorageError):
    """A write to a storage opened read-only, or to a read-only file, folder or filesystem."""

    user_mistake = True


class DatabaseFullError(StorageError):
    """The disk (or the database's size limit) is full; the failed write was rolled back."""


class DamagedDatabaseError(StorageError):
    """The file is a database, but damaged (truncated, overwritten)."""

    user_mistake = True


class StorageUnavailableError(StorageError):
    """The server cannot be reached, or the connection stayed lost past the retry time.

    Not a user mistake by default (a connection lost while working); the error of a server
    that does not answer when first opened is one (see :func:`classify`)."""


class StudyNotFoundError(StorageError):
    """No stored study has the asked name (or several do and none was named)."""

    user_mistake = True


def one_line(text: str) -> str:
    """``text`` with its lines joined and runs of blanks collapsed."""
    return " ".join(str(text).split())


def driver_message(exc: BaseException) -> str:
    """The driver's own words for ``exc`` (SQLAlchemy's wrapper and SQL removed), one line."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    return one_line(text.split("\n[SQL:")[0].split("(Background on this error")[0])


def sqlite_code(exc: BaseException) -> str:
    """SQLite's result code name (``SQLITE_FULL``...) of ``exc`` or of the error it wraps."""
    orig = getattr(exc, "orig", exc)
    return str(getattr(orig, "sqlite_errorname", "") or "")


_FULL_MARKERS = ("database or disk is full", "no space left on device", "could not extend file")
_CONNECT_MARKERS = (
    "connection refused",
    "could not connect",
    "connection failed",
    "could not translate host name",
    "name or service not known",
    "timeout expired",
    "no route to host",
)
_LOGIN_MARKERS = ("password authentication failed", "no password supplied")


def classify(exc: BaseException, location: str, secret: str | None = None) -> StorageError | None:
    """The :class:`StorageError` that says what ``exc`` (a driver or OS error met while
    opening or using the storage at ``location``) means, or None when it means nothing
    known (the caller re-raises it as is). ``secret`` (a password) never appears."""
    code = sqlite_code(exc)
    text = driver_message(exc)
    if secret:
        text = text.replace(secret, "***")
    low = text.lower()
    if code == "SQLITE_FULL" or any(m in low for m in _FULL_MARKERS):
        return DatabaseFullError(
            f"Disk full while writing {location} ({text}): free space on its disk (or raise "
            "its size limit) and run again; nothing stored was lost (the failed write was "
            "rolled back)."
        )
    if code == "SQLITE_CORRUPT" or "malformed" in low:
        return DamagedDatabaseError(
            f"{location} is damaged ({text}; truncated or overwritten?): restore it from a "
            f"backup, or save what is readable with: sqlite3 {location} .recover > saved.sql"
        )
    if code == "SQLITE_NOTADB" or "file is not a database" in low:
        return NotATunewiseDatabaseError(
            f"{location} is not a database ({text}): pass a tunewise database (a project's "
            "tunewise.db) or a project directory."
        )
    if code.startswith("SQLITE_READONLY") or "readonly database" in low:
        return ReadOnlyStorageError(
            f"{location} cannot be written ({text}: a read-only file, folder or filesystem): "
            "a search stores its trials there, so pass a writable directory= or storage=; "
            "to read it, use tunewise.load_study() or the tunewise command."
        )
    if code == "SQLITE_CANTOPEN" or "unable to open database file" in low:
        return StorageNotFoundError(
            f"{location} cannot be opened ({text}): check that it exists and that its folder "
            "is readable (and writable, for a search)."
        )
    missing = "does not exist" in low and ('database "' in low or 'role "' in low)
    if missing or any(m in low for m in _LOGIN_MARKERS):
        return StorageError(
            f"{location} refused the connection ({text}): fix the user, password or database "
            "name in the URL.",
            user_mistake=True,
        )
    if any(m in low for m in _CONNECT_MARKERS):
        return StorageUnavailableError(
            f"Could not connect to {location} ({text}): start the database server or fix the "
            "host and port in the URL.",
            user_mistake=True,
        )
    return None


def describe_tables(names: Any) -> str:
    """A few table names, for saying what a foreign database holds."""
    names = sorted(names)
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")
