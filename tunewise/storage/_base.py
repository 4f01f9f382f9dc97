"""The storage interface every backend implements, and the records it exchanges.

Storage holds plain values only (numbers, strings, JSON): nothing is ever unpickled.
All times are unix seconds. Trial numbers count from 0 within a study and are handed out by
the storage, so that several workers never get the same one.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..trial import FrozenTrial, Step, TrialState


@dataclass(frozen=True)
class StudyRecord:
    """A stored study: its name, its settings (objective, algorithm, seed...) and its space."""

    id: Any
    name: str
    settings: dict[str, Any]
    space: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = 0.0


class TrialNumberTaken(RuntimeError):
    """``create_trial(expect_number=n)`` found that the study's next trial number is no
    longer ``n``: another worker created a trial since the caller last read the study.
    The caller re-reads the trials and plans again (nothing was created)."""


@dataclass(frozen=True)
class NewTrial:
    """What storage returns for a created trial: its key and its number in the study."""

    id: Any
    number: int


class Storage(abc.ABC):
    """One interface for every backend (in-memory, SQLite, PostgreSQL)."""

    #: A human-readable location, with any password masked.
    location: str = "memory"

    @abc.abstractmethod
    def list_studies(self) -> list[StudyRecord]: ...

    @abc.abstractmethod
    def create_study(self, name: str, settings: dict[str, Any]) -> StudyRecord: ...

    @abc.abstractmethod
    def delete_study(self, study_id: Any) -> None:
        """Remove a study with all its trials and steps."""

    @abc.abstractmethod
    def save_space(self, study_id: Any, space: list[dict[str, Any]]) -> None: ...

    @abc.abstractmethod
    def save_settings(self, study_id: Any, settings: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def create_trial(
        self,
        study_id: Any,
        values: dict[str, Any],
        retry_of: int | None,
        started_at: float,
        worker: str,
        max_trials: int | None = None,
        expect_number: int | None = None,
    ) -> NewTrial | None:
        """Create a RUNNING trial with the study's next number, atomically.

        A trial with ``retry_of`` None takes one of the study's ``max_trials`` slots: when
        ``max_trials`` is given and the study already has that many, nothing is created and
        None is returned. Re-runs (``retry_of`` set) never count toward ``max_trials``.
        With ``expect_number``, the trial is created only if it gets exactly that number
        (compare-and-swap: no other trial was created since the caller's last read); else
        nothing is created and :class:`TrialNumberTaken` is raised. A scheduler's plan
        (which bracket slot this trial fills) is only valid on the trials it was made from.
        """

    @abc.abstractmethod
    def add_step(self, trial_id: Any, step: Step) -> None: ...

    @abc.abstractmethod
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
        """Set the final state; ``values`` replaces the stored ones (define-by-run adds entries).

        ``attrs`` are plain JSON facts about the run (epochs asked and run, early stopping...).
        """

    @abc.abstractmethod
    def heartbeat(self, trial_ids: Sequence[Any], at: float) -> None: ...

    @abc.abstractmethod
    def running_trials(self, study_id: Any) -> list[tuple[Any, int, str, float]]:
        """``(trial_id, number, worker, heartbeat_at)`` of every RUNNING trial."""

    #: Whether other processes can open this storage (False for in-memory storage).
    shared: bool = True

    @abc.abstractmethod
    def fail_stale_trial(
        self, trial_id: Any, heartbeat_seen: float, reason: str, at: float
    ) -> bool:
        """Mark a RUNNING trial FAILED if its heartbeat is still ``<= heartbeat_seen``.

        True when this call did it: of several workers that found the same dead trial, exactly
        one gets True (and re-runs it).
        """

    @abc.abstractmethod
    def get_trials(
        self, study_id: Any, since_number: int = 0, numbers: Sequence[int] = ()
    ) -> list[FrozenTrial]:
        """The study's trials with their steps, ordered by number.

        All of them by default; with ``since_number`` > 0 only those numbered
        ``>= since_number`` plus those in ``numbers`` (a worker's incremental refresh).
        """

    def get_study(self, name: str) -> StudyRecord | None:
        for study in self.list_studies():
            if study.name == name:
                return study
        return None

    def close(self) -> None:
        """Release connections; the default has none."""
