"""Where trials live: one interface, an in-memory backend and an SQLAlchemy backend."""

from __future__ import annotations

import os

from ._base import ConfigurationTaken, NewTrial, Storage, StudyRecord, TrialNumberTaken
from ._errors import (
    DamagedDatabaseError,
    DatabaseFullError,
    NotATunewiseDatabaseError,
    ReadOnlyStorageError,
    SchemaVersionError,
    StorageError,
    StorageNotFoundError,
    StorageUnavailableError,
    StorageURLError,
    StudyNotFoundError,
)
from ._memory import InMemoryStorage
from ._retry import TRANSIENT_RETRY_S
from ._schema import MIGRATIONS, SCHEMA_VERSION
from ._sql import POOL_SIZE_PER_WORKER, SQLStorage, masked_url

#: The SQLite file of a project: ``<directory>/<project_name>/tunewise.db``.
DB_FILENAME = "tunewise.db"


def project_db_path(directory: str, project_name: str) -> str:
    return os.path.join(directory, project_name, DB_FILENAME)


def open_storage(
    storage: Storage | str | None, directory: str = ".", project_name: str = "untitled_project"
) -> Storage:
    """Resolve the ``storage=`` argument of a study or tuner.

    * a :class:`Storage` instance is used as is;
    * ``"memory"`` is a fresh :class:`InMemoryStorage`;
    * any other string is an SQLAlchemy URL (``sqlite:///path.db``, ``postgresql://...``);
    * None is the project's SQLite file, ``<directory>/<project_name>/tunewise.db``.
    """
    if isinstance(storage, Storage):
        return storage
    if storage is None:
        path = project_db_path(directory, project_name)
        return SQLStorage(f"sqlite:///{os.path.abspath(path)}")
    if isinstance(storage, str):
        if storage == "memory":
            return InMemoryStorage()
        if "://" not in storage:
            raise ValueError(
                f"storage={storage!r} is not a database URL. Pass e.g. "
                "'sqlite:///path/to/tunewise.db', 'postgresql://user@host/db', 'memory', "
                "or None for the project's SQLite file."
            )
        return SQLStorage(storage)
    raise TypeError(
        f"storage must be a Storage, a URL string, 'memory' or None; got {type(storage).__name__}."
    )


__all__ = [
    "DB_FILENAME",
    "MIGRATIONS",
    "POOL_SIZE_PER_WORKER",
    "SCHEMA_VERSION",
    "TRANSIENT_RETRY_S",
    "ConfigurationTaken",
    "DamagedDatabaseError",
    "DatabaseFullError",
    "InMemoryStorage",
    "NewTrial",
    "NotATunewiseDatabaseError",
    "ReadOnlyStorageError",
    "SQLStorage",
    "SchemaVersionError",
    "Storage",
    "StorageError",
    "StorageNotFoundError",
    "StorageURLError",
    "StorageUnavailableError",
    "StudyNotFoundError",
    "StudyRecord",
    "TrialNumberTaken",
    "masked_url",
    "open_storage",
    "project_db_path",
]
