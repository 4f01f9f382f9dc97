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

from .. import trial_attrs as keys
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


class ConfigurationTaken(RuntimeError):
    """``create_trial(claim_key=k)`` found a trial of the study that already claimed the
    configuration ``k`` (another worker of a finite enumeration took it first). Nothing was
    created; the caller re-reads the trials and suggests again."""


def not_owned_message(number: Any, state: str | None) -> str:
    """The one line said when a worker stores a step or result for a trial it lost."""
    if state is None:
        what = "it no longer exists"
    elif state == TrialState.RUNNING.value:
        what = "another worker owns it now"
    else:
        what = f"it is {state} (another worker marked it so and re-runs it)"
    return (
        f"This worker no longer owns trial {number}: {what}; its step or result was not stored. "
        "A worker paused longer than stale_after loses its trials; raise stale_after if pauses "
        "are expected."
    )


#: Attrs the engine sets on the trial it fails; never copied to the trial's re-run.
ENGINE_ATTRS = (keys.CUT_BY_CRASH, keys.INTERRUPTED)


@dataclass(frozen=True)
class NewTrial:
    """What storage returns for a created trial: its key and its number in the study."""

    id: Any
    number: int


class Storage(abc.ABC):
    """One interface for every backend (in-memory, SQLite, PostgreSQL).

    Ownership: a RUNNING trial is owned by the worker that created or claimed it, with a
    ``token``; ``add_step`` and ``finish_trial`` with a token store nothing and raise
    :class:`~tunewise.errors.TrialNotOwnedError` unless the trial is RUNNING with that token.
    Re-runs are stored WAITING trials (``retry_of`` set) that any worker claims atomically
    with :meth:`claim_waiting_trial`; a failing call creates its re-run in the same
    transaction (``rerun_cap``), so a re-run is never only in one process's memory.
    ``rerun_cap``: re-run when the configuration's attempts, the failing one included, are at
    most this many (0: no re-run).
    """

    #: A human-readable location, with any password masked.
    location: str = "memory"

    @abc.abstractmethod
    def list_studies(self) -> list[StudyRecord]: ...

    @abc.abstractmethod
    def create_study(self, name: str, settings: dict[str, Any]) -> StudyRecord: ...

    @abc.abstractmethod
    def delete_study(self, study_id: Any) -> None:
        """Remove a study with all its trials, steps and runs."""

    @abc.abstractmethod
    def save_space(self, study_id: Any, space: list[dict[str, Any]]) -> None: ...

    def get_space(self, study_id: Any) -> list[dict[str, Any]]:
        """The study's stored search space (other workers may have added to it)."""
        for study in self.list_studies():
            if study.id == study_id:
                return study.space
        return []

    @abc.abstractmethod
    def save_settings(self, study_id: Any, settings: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def append_run(self, study_id: Any, record: dict[str, Any]) -> None:
        """Append one entry to the study's run log (never rewrites the others)."""

    @abc.abstractmethod
    def get_runs(self, study_id: Any) -> list[dict[str, Any]]:
        """The study's run log, oldest first."""

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
        *,
        token: str | None = None,
        attrs: dict[str, Any] | None = None,
        claim_key: str | None = None,
    ) -> NewTrial | None:
        """Create a RUNNING trial with the study's next number, atomically, owned by ``token``.

        A trial with ``retry_of`` None takes one of the study's ``max_trials`` slots: when
        ``max_trials`` is given and the study already has that many, nothing is created and
        None is returned. Re-runs (``retry_of`` set) never count toward ``max_trials``.
        With ``expect_number``, the trial is created only if it gets exactly that number
        (compare-and-swap: no other trial was created since the caller's last read); else
        nothing is created and :class:`TrialNumberTaken` is raised. A scheduler's plan
        (which bracket slot this trial fills) is only valid on the trials it was made from.
        With ``claim_key``, the trial claims that configuration: if a trial of the study
        already did, nothing is created and :class:`ConfigurationTaken` is raised.
        ``attrs`` are stored at once (a scheduled trial's budget, read by other workers).
        """

    @abc.abstractmethod
    def claim_waiting_trial(
        self, study_id: Any, worker: str, token: str, at: float
    ) -> FrozenTrial | None:
        """Make the study's lowest-numbered WAITING trial RUNNING, owned by ``token``;
        None when there is none. Of several workers claiming at once, each trial goes to one."""

    @abc.abstractmethod
    def add_step(self, trial_id: Any, step: Step, token: str | None = None) -> None:
        """Store a step (and refresh the heartbeat); with ``token``, only for its owner."""

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
        *,
        token: str | None = None,
        rerun_cap: int = 0,
        rerun_attrs: dict[str, Any] | None = None,
    ) -> NewTrial | None:
        """Set the final state of a RUNNING trial (with ``token``: only for its owner, else
        :class:`~tunewise.errors.TrialNotOwnedError` and nothing stored); ``values`` replaces
        the stored ones (define-by-run adds entries). ``attrs`` are plain JSON facts about the
        run (epochs asked and run, early stopping...). A FAILED trial gets a WAITING re-run
        within ``rerun_cap`` (with ``rerun_attrs``), in the same transaction: returned."""

    @abc.abstractmethod
    def heartbeat(self, trial_ids: Sequence[Any], at: float) -> None:
        """Refresh the heartbeat of those of ``trial_ids`` that are RUNNING."""

    @abc.abstractmethod
    def running_trials(self, study_id: Any) -> list[tuple[Any, int, str, float]]:
        """``(trial_id, number, worker, heartbeat_at)`` of every RUNNING trial."""

    #: Whether other processes can open this storage (False for in-memory storage).
    shared: bool = True

    @abc.abstractmethod
    def fail_stale_trial(
        self, trial_id: Any, heartbeat_seen: float, reason: str, at: float, rerun_cap: int = 0
    ) -> bool:
        """Mark a RUNNING trial FAILED (attrs ``cut_by_crash``) if its heartbeat is still
        ``<= heartbeat_seen``, with its WAITING re-run (within ``rerun_cap``; same values, the
        attrs it was created with) in the same transaction.

        True when this call did it: of several workers that found the same dead trial, exactly
        one gets True.
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
