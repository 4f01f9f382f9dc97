"""In-memory storage: the reference backend for tests and throwaway searches."""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..trial import FrozenTrial, Step, TrialState
from ._base import NewTrial, Storage, StudyRecord, TrialNumberTaken


@dataclass
class _TrialRow:
    trial: FrozenTrial
    worker: str
    heartbeat_at: float
    steps: list[Step] = field(default_factory=list)


class InMemoryStorage(Storage):
    """Keeps everything in this process; lost when it exits. Thread-safe."""

    location = "memory"
    shared = False

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[int, StudyRecord] = {}
        self._trials: dict[int, _TrialRow] = {}
        self._study_of: dict[int, int] = {}
        self._ids = itertools.count(1)
        self._next_number: dict[int, int] = {}
        self._slots: dict[int, int] = {}  # trials that count toward max_trials, per study

    def list_studies(self) -> list[StudyRecord]:
        with self._lock:
            return [copy.deepcopy(s) for s in self._studies.values()]

    def create_study(self, name: str, settings: dict[str, Any]) -> StudyRecord:
        with self._lock:
            if any(s.name == name for s in self._studies.values()):
                raise ValueError(f"A study named {name!r} already exists in {self.location}.")
            record = StudyRecord(next(self._ids), name, copy.deepcopy(settings), [], time.time())
            self._studies[record.id] = record
            return copy.deepcopy(record)

    def delete_study(self, study_id: Any) -> None:
        with self._lock:
            self._studies.pop(study_id, None)
            for tid in [t for t, s in self._study_of.items() if s == study_id]:
                del self._trials[tid], self._study_of[tid]

    def save_space(self, study_id: Any, space: list[dict[str, Any]]) -> None:
        with self._lock:
            self._studies[study_id] = replace(self._studies[study_id], space=copy.deepcopy(space))

    def save_settings(self, study_id: Any, settings: dict[str, Any]) -> None:
        with self._lock:
            self._studies[study_id] = replace(
                self._studies[study_id], settings=copy.deepcopy(settings)
            )

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
        with self._lock:
            if expect_number is not None and self._next_number.get(study_id, 0) != expect_number:
                raise TrialNumberTaken(
                    f"trial number {expect_number} is taken in study {study_id!r}"
                )
            slots = self._slots.get(study_id, 0)
            if retry_of is None:
                if max_trials is not None and slots >= max_trials:
                    return None
                self._slots[study_id] = slots + 1
            number = self._next_number.get(study_id, 0)
            self._next_number[study_id] = number + 1
            tid = next(self._ids)
            trial = FrozenTrial(
                number=number,
                state=TrialState.RUNNING,
                values=copy.deepcopy(values),
                retry_of=retry_of,
                started_at=started_at,
                storage_id=tid,
            )
            self._trials[tid] = _TrialRow(trial, worker, started_at)
            self._study_of[tid] = study_id
            return NewTrial(tid, number)

    def add_step(self, trial_id: Any, step: Step) -> None:
        with self._lock:
            self._trials[trial_id].steps.append(copy.deepcopy(step))

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
        with self._lock:
            row = self._trials[trial_id]
            row.trial = replace(
                row.trial,
                attrs=copy.deepcopy(attrs or {}),
                state=state,
                values=copy.deepcopy(values),
                score=score,
                best_step=best_step,
                reason=reason,
                finished_at=finished_at,
            )

    def heartbeat(self, trial_ids: Sequence[Any], at: float) -> None:
        with self._lock:
            for tid in trial_ids:
                if tid in self._trials:
                    self._trials[tid].heartbeat_at = at

    def running_trials(self, study_id: Any) -> list[tuple[Any, int, str, float]]:
        with self._lock:
            return [
                (tid, row.trial.number, row.worker, row.heartbeat_at)
                for tid, row in self._trials.items()
                if self._study_of[tid] == study_id and row.trial.state is TrialState.RUNNING
            ]

    def fail_stale_trial(
        self, trial_id: Any, heartbeat_seen: float, reason: str, at: float
    ) -> bool:
        with self._lock:
            row = self._trials.get(trial_id)
            if row is None or row.trial.state is not TrialState.RUNNING:
                return False
            if row.heartbeat_at > heartbeat_seen:
                return False
            row.trial = replace(row.trial, state=TrialState.FAILED, reason=reason, finished_at=at)
            return True

    def get_trials(
        self, study_id: Any, since_number: int = 0, numbers: Sequence[int] = ()
    ) -> list[FrozenTrial]:
        wanted = set(numbers)
        with self._lock:
            rows = [
                r
                for tid, r in self._trials.items()
                if self._study_of[tid] == study_id
                and (r.trial.number >= since_number or r.trial.number in wanted)
            ]
            trials = [replace(r.trial, steps=tuple(copy.deepcopy(r.steps))) for r in rows]
        return sorted(trials, key=lambda t: t.number)
