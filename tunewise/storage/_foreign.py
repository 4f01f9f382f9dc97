"""Telling a tunewise database from another program's, by its table names alone (read only).

A tunewise database is one holding ``tunewise_meta``. Rules (what is refused, before anything
is written):

* **SQLite files** belong to one program: a file with tables but none of tunewise's (an Optuna
  storage, any other application's file) is refused for reading *and* writing, and left
  byte for byte as it was. A file with no table at all (new, empty) is refused for reading
  and made a tunewise database by a search.
* **Server databases** (PostgreSQL...) are shared namespaces: a search adds its own
  ``tunewise_*`` tables beside other programs' tables (never touching theirs), so only
  reading refuses a database without tunewise's tables (saying whose it looks like).
"""

from __future__ import annotations

from collections.abc import Collection

from ._errors import NotATunewiseDatabaseError, describe_tables

#: Tables every Optuna RDB storage has (``alembic_version``/``version_info``: its schema version).
_OPTUNA_CORE = {"studies", "trials"}
_OPTUNA_MARKS = {"version_info", "alembic_version", "trial_values", "study_directions"}


def is_tunewise(tables: Collection[str]) -> bool:
    return "tunewise_meta" in tables


def is_optuna(tables: Collection[str]) -> bool:
    names = set(tables)
    return _OPTUNA_CORE <= names and bool(names & _OPTUNA_MARKS)


def foreign_error(
    tables: Collection[str], location: str, *, reading: bool, shared_server: bool
) -> NotATunewiseDatabaseError | None:
    """The refusal for a database holding ``tables`` (see the module docstring), or None
    when it may be opened (for reading when ``reading``, else by a search)."""
    if is_tunewise(tables):
        return None
    if not reading and (shared_server or not tables):
        return None  # a search adds its tables to a server database or an empty file
    if is_optuna(tables):
        action = (
            "read it with Optuna (optuna.load_study(study_name=..., storage=...)), or pass "
            "a database a tunewise search wrote (a project's tunewise.db)"
            if reading
            else "tunewise never writes into another program's file; pass another storage= "
            "(a new file such as sqlite:///tunewise.db, or leave storage=None for the "
            "project's own)"
        )
        return NotATunewiseDatabaseError(
            f"{location} is an Optuna storage, not a tunewise one: {action}."
        )
    if not tables:
        return NotATunewiseDatabaseError(
            f"{location} holds no tunewise tables (it is an empty database): pass a database "
            "a tunewise search wrote, or a project directory."
        )
    action = (
        "pass a database a tunewise search wrote (a project's tunewise.db) or a project "
        "directory"
        if reading
        else "tunewise never writes into another program's file; pass another storage= "
        "(a new file such as sqlite:///tunewise.db)"
    )
    return NotATunewiseDatabaseError(
        f"{location} is not a tunewise database (it holds the tables {describe_tables(tables)}, "
        f"none of tunewise's): {action}."
    )
