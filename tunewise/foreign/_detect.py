"""Which foreign search a path or URL holds, told read-only, and reading it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..diagnostics import SearchHistory
from ..storage._foreign import is_optuna
from ..storage._sqlite_open import inspect_file
from ._keras_tuner import KERAS_TUNER, is_keras_tuner_project, read_keras_tuner
from ._model import ForeignSourceError
from ._optuna import OPTUNA, read_optuna, tables_at


def keras_tuner_projects(path: str) -> list[str]:
    """The Keras Tuner project directories ``path`` designates: itself, or its sub-folders
    (a tuner's ``directory`` holding several ``project_name`` folders)."""
    if not os.path.isdir(path):
        return []
    if is_keras_tuner_project(path):
        return [path]
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return []
    return [os.path.join(path, n) for n in names if is_keras_tuner_project(os.path.join(path, n))]


def sqlite_url(path: str) -> str:
    return f"sqlite:///{os.path.abspath(path)}"


def detect(path: str) -> str | None:
    """``"keras_tuner"``, ``"optuna"``, or None (not a foreign search: tunewise's, or nothing
    readable), read without writing anything. A server URL holding both Optuna's and
    tunewise's tables is ``"optuna"`` (the caller reads tunewise's as well)."""
    if "://" in path:
        try:
            tables = tables_at(path)
        except Exception:  # noqa: BLE001 - the tunewise storage says what is wrong
            return None
        return OPTUNA if is_optuna(tables) else None
    if os.path.isfile(path):
        try:
            tables, _ = inspect_file(os.path.abspath(path))
        except Exception:  # noqa: BLE001 - the tunewise storage says what is wrong
            return None
        return OPTUNA if is_optuna(tables) and "tunewise_meta" not in tables else None
    if keras_tuner_projects(path):
        return KERAS_TUNER
    return None


def read_foreign(
    path: str,
    study: str | None = None,
    *,
    objective: Any = None,
    logs: Sequence[str] = (),
    algorithm: str | None = None,
) -> list[SearchHistory]:
    """The searches at ``path`` (a Keras Tuner project directory, a folder of them, an Optuna
    SQLite file or storage URL) as histories; only ``study`` (an Optuna study name, a Keras
    Tuner project name) when given. ``objective``, ``logs`` and ``algorithm`` apply to Keras
    Tuner projects (see :func:`read_keras_tuner`)."""
    kind = detect(path)
    if kind == OPTUNA:
        return read_optuna(path if "://" in path else sqlite_url(path), study)
    if kind == KERAS_TUNER:
        projects = keras_tuner_projects(path)
        if study is not None:
            chosen = [p for p in projects if os.path.basename(p) == study]
            if not chosen:
                names = ", ".join(repr(os.path.basename(p)) for p in projects)
                raise ForeignSourceError(
                    f"No Keras Tuner project named {study!r} in {path}; it holds {names}. Pass "
                    "one of them to --study, or leave --study out for all."
                )
            projects = chosen
        return [read_keras_tuner(p, objective, logs, algorithm) for p in projects]
    raise ForeignSourceError(
        f"{path} is neither a Keras Tuner project directory (with oracle.json) nor an Optuna "
        "storage: pass <directory>/<project_name> of a Keras Tuner tuner, or the storage URL "
        "of an Optuna study."
    )
