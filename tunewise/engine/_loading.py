"""``tunewise.load_study``: a stored study, opened read-only, to read its results.

The study comes back as a :class:`LoadedStudy`, a :class:`~tunewise.Study` built from what is
stored (objective, score rule, space, seed, trials) without writing anything: the storage is
opened read-only (a SQLite file with the URI ``mode=ro``; see :mod:`tunewise.storage`), so the
file is left byte for byte as it was, even on a read-only filesystem. Everything that reads
works as on the study of the search (``best_trial``, ``best_value``, ``best_hyperparameters``,
``trials``, ``results_summary()``, ``trials_dataframe()``, ``runs``, ``diagnose()``...);
``sync()`` re-reads what a running search stored since. What would write (``ask``, ``tell``,
``optimize``...) raises :class:`~tunewise.storage.ReadOnlyStorageError` saying how to search.
"""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

from ..objective import objective_from_config
from ..samplers import RandomSampler
from ..storage import (
    DB_FILENAME,
    ReadOnlyStorageError,
    SQLStorage,
    Storage,
    StudyNotFoundError,
    StudyRecord,
    project_db_path,
)
from ._cache import TrialCache
from ._console import ConsoleReporter
from ._opening import HEARTBEAT_INTERVAL_S, STALE_AFTER_S, _of_project, worker_id
from ._space_registry import SpaceRegistry
from ._study import Study


def load_study(
    storage: Storage | str | None = None,
    study_name: str | None = None,
    *,
    directory: str | None = None,
    project_name: str | None = None,
) -> LoadedStudy:
    """The stored study, opened read-only (see the module docstring).

    Args:
        storage: a database URL (``sqlite:///path.db``, ``postgresql://...``), the path of a
            SQLite file or of a project directory (holding ``tunewise.db``), a
            :class:`~tunewise.storage.Storage`, or None for the project's file
            ``<directory>/<project_name>/tunewise.db`` (Keras Tuner's names).
        study_name: the study to load; by default the project's latest study (with
            ``project_name``), or the storage's only one.
        directory, project_name: where the project's file is (``directory`` defaults to ".").

    Raises :class:`~tunewise.storage.StudyNotFoundError` when no study matches (the message
    lists those stored), and another :class:`~tunewise.storage.StorageError` when the storage
    cannot be read (missing, another program's, newer schema...).
    """
    opened = _open_read_only(storage, directory, project_name)
    return LoadedStudy(opened, _pick(opened, study_name, project_name))


def _open_read_only(
    storage: Storage | str | None, directory: str | None, project_name: str | None
) -> Storage:
    if isinstance(storage, Storage):
        return storage
    if storage is None:
        if project_name is None:
            raise TypeError(
                "load_study needs storage= (a database URL or file) or project_name= (with "
                "directory=, the project's tunewise.db); got neither."
            )
        path = project_db_path(directory or ".", project_name)
        return SQLStorage(f"sqlite:///{os.path.abspath(path)}", read_only=True)
    if not isinstance(storage, str):
        raise TypeError(
            f"storage must be a URL, a path, a Storage or None; got {type(storage).__name__}."
        )
    if storage == "memory":
        raise ValueError(
            "storage='memory' is a new, empty storage: nothing to load. Pass the Storage "
            "instance the search used, or a database URL or file."
        )
    if "://" in storage:
        return SQLStorage(storage, read_only=True)
    path = os.path.join(storage, DB_FILENAME) if os.path.isdir(storage) else storage
    return SQLStorage(f"sqlite:///{os.path.abspath(path)}", read_only=True)


def _pick(storage: Storage, study_name: str | None, project_name: str | None) -> StudyRecord:
    studies = storage.list_studies()
    names = [s.name for s in studies]
    held = f"it holds {', '.join(map(repr, names))}" if names else "it holds no study"
    if study_name is not None:
        for record in studies:
            if record.name == study_name:
                return record
        close = [n for n in names if n.lower() == study_name.lower()]
        close = close or difflib.get_close_matches(study_name, names, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise StudyNotFoundError(
            f"{storage.location} holds no study named {study_name!r}: {hint}{held}."
        )
    if project_name is not None:
        mine = [s for s in studies if _of_project(s.name, project_name)]
        if mine:
            return mine[-1]  # the latest of the project's studies
        raise StudyNotFoundError(
            f"{storage.location} holds no study of project {project_name!r}: {held}; pass "
            "study_name= (or another project_name=)."
        )
    if len(studies) == 1:
        return studies[0]
    if not studies:
        raise StudyNotFoundError(
            f"{storage.location} holds no study yet: run a search on it first."
        )
    raise StudyNotFoundError(
        f"{storage.location} holds {len(studies)} studies, so load_study needs study_name=: "
        f"{held}."
    )


class LoadedStudy(Study):
    """A stored study for reading (see the module docstring); built by :func:`load_study`."""

    def __init__(self, storage: Storage, record: StudyRecord) -> None:
        # The attributes of Study.__init__, from what is stored, without its writes.
        settings = dict(record.settings)
        signature = dict(settings.get("signature", {}))
        self.objective = objective_from_config(signature["objective"])
        self.sampler = RandomSampler()  # not restored: a loaded study does not search
        self.sampler.bind(self.objective)
        self.pruner = self.scheduler = None
        self.score_rule = str(signature.get("score", "best"))
        self.max_retries_per_trial = 0
        self.max_consecutive_failed_trials = 3
        self.heartbeat_interval, self.stale_after = HEARTBEAT_INTERVAL_S, STALE_AFTER_S
        self.directory = "."
        self.project_name = record.name
        self.tune_new_entries = self.allow_new_entries = True
        self.reporter = ConsoleReporter(0)
        self.storage = storage
        self.worker = worker_id()
        self.signature = signature
        self.name, self.study_id = record.name, record.id
        self.resumed = True
        self.notes: list[str] = []
        self.events: list[dict[str, Any]] = []
        self._settings = settings
        self.seed = int(settings.get("seed", 0))
        self.lock = threading.RLock()
        self.registry = SpaceRegistry(
            storage, record.id, record.space, self.reporter.warn, self.events
        )
        self.constraints = None  # not restored: a loaded study finishes no trial
        self.failed_as_infeasible = bool(
            settings.get("constraints", {}).get("failed_as_infeasible", False)
        )
        self.cache = TrialCache(storage, record.id, self.objective.sign, pareto=self.is_pareto)
        self.cache.load()
        self.running = {}
        self.max_trials = None
        self.full = False
        self._heartbeat = None
        self._next_stale_check = 0.0

    def __repr__(self) -> str:
        return f"<LoadedStudy {self.name!r} from {self.location}: {len(self.trials)} trials>"

    def sync(self, force: bool = False, extra: Sequence[int] = ()) -> None:
        """Re-read the trials and space a running search stored since (reads only)."""
        with self.lock:
            self.cache.refresh(extra)
            self.registry.reload()

    def _refuse(self, what: str) -> NoReturn:
        raise ReadOnlyStorageError(
            f"Study {self.name!r} was loaded read-only from {self.location} "
            f"(tunewise.load_study), so it cannot {what}: to search, open it with "
            "tw.Study(objective, storage=...) (the same project resumes it)."
        )

    def ask(self) -> Any:
        self._refuse("ask for a trial")

    def tell(self, trial: Any, result: Any = None, *, state: Any = None) -> Any:
        self._refuse("store a result")

    def fail(self, trial: Any, reason: str) -> Any:
        self._refuse("store a result")

    def optimize(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self._refuse("run a search")

    def declare_space(self, hyperparameters: Any) -> None:
        self._refuse("change its space")
