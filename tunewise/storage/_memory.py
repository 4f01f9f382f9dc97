"""In-memory storage: the reference backend for tests and throwaway searches."""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .. import trial_attrs as keys
from ..errors import TrialNotOwnedError
from ..trial import FrozenTrial, Step, TrialState
from ._base import (
    ENGINE_ATTRS,
    ConfigurationTaken,
    NewTrial,
    Storage,
    StudyRecord,
    TrialNumberTaken,
    not_owned_message,
)


@dataclass
class _TrialRow:
    trial: FrozenTrial
    worker: str
    heartbeat_at: float
    steps: list[Step] = field(default_factory=list)
    token: str | None = None
    config_key: str | None = None


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
        self._runs: dict[int, list[dict[str, Any]]] = {}

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
            self._runs.pop(study_id, None)
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

    def append_run(self, study_id: Any, record: dict[str, Any]) -> None:
        with self._lock:
            self._runs.setdefault(study_id, []).append(copy.deepcopy(record))

    def get_runs(self, study_id: Any) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._runs.get(study_id, []))

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
        with self._lock:
            if expect_number is not None and self._next_number.get(study_id, 0) != expect_number:
                raise TrialNumberTaken(
                    f"trial number {expect_number} is taken in study {study_id!r}"
                )
            slots = self._slots.get(study_id, 0)
            if retry_of is None and max_trials is not None and slots >= max_trials:
                return None
            if claim_key is not None and any(
                r.config_key == claim_key and self._study_of[tid] == study_id
                for tid, r in self._trials.items()
            ):
                raise ConfigurationTaken(claim_key)
            if retry_of is None:
                self._slots[study_id] = slots + 1
            return self._insert(
                study_id, values, retry_of, started_at, worker, TrialState.RUNNING,
                token, attrs or {}, claim_key,
            )

    def _insert(
        self,
        study_id: Any,
        values: dict[str, Any],
        retry_of: int | None,
        at: float,
        worker: str,
        state: TrialState,
        token: str | None,
        attrs: dict[str, Any],
        claim_key: str | None,
    ) -> NewTrial:
        number = self._next_number.get(study_id, 0)
        self._next_number[study_id] = number + 1
        tid = next(self._ids)
        trial = FrozenTrial(
            number=number,
            state=state,
            values=copy.deepcopy(values),
            retry_of=retry_of,
            started_at=at,
            attrs=copy.deepcopy(attrs),
            storage_id=tid,
        )
        self._trials[tid] = _TrialRow(trial, worker, at, token=token, config_key=claim_key)
        self._study_of[tid] = study_id
        return NewTrial(tid, number)

    def claim_waiting_trial(
        self, study_id: Any, worker: str, token: str, at: float
    ) -> FrozenTrial | None:
        with self._lock:
            waiting = [
                r
                for tid, r in self._trials.items()
                if self._study_of[tid] == study_id and r.trial.state is TrialState.WAITING
            ]
            if not waiting:
                return None
            row = min(waiting, key=lambda r: r.trial.number)
            row.trial = replace(row.trial, state=TrialState.RUNNING, started_at=at)
            row.worker, row.token, row.heartbeat_at = worker, token, at
            return replace(row.trial, steps=())

    def _owned(self, trial_id: Any, token: str | None) -> _TrialRow:
        row = self._trials.get(trial_id)
        if (
            row is None
            or row.trial.state is not TrialState.RUNNING
            or (token is not None and row.token != token)
        ):
            number = f"with id {trial_id!r}" if row is None else row.trial.number
            raise TrialNotOwnedError(
                not_owned_message(number, None if row is None else row.trial.state.value)
            )
        return row

    def add_step(self, trial_id: Any, step: Step, token: str | None = None) -> None:
        with self._lock:
            row = self._owned(trial_id, token)
            row.steps.append(copy.deepcopy(step))
            row.heartbeat_at = step.at

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
        with self._lock:
            row = self._owned(trial_id, token)
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
            if state is not TrialState.FAILED or rerun_cap <= 0:
                return None
            return self._rerun(trial_id, values, rerun_attrs or {}, rerun_cap, finished_at)

    def _rerun(
        self, trial_id: Any, values: dict[str, Any], attrs: dict[str, Any], cap: int, at: float
    ) -> NewTrial | None:
        failed = self._trials[trial_id].trial
        study_id = self._study_of[trial_id]
        original = failed.original_number
        attempts = sum(
            1
            for tid, r in self._trials.items()
            if self._study_of[tid] == study_id and r.trial.original_number == original
        )
        if attempts > cap:
            return None
        kept = {k: v for k, v in attrs.items() if k not in ENGINE_ATTRS}
        return self._insert(
            study_id, values, original, at, "", TrialState.WAITING, None, kept, None
        )

    def heartbeat(self, trial_ids: Sequence[Any], at: float) -> None:
        with self._lock:
            for tid in trial_ids:
                row = self._trials.get(tid)
                if row is not None and row.trial.state is TrialState.RUNNING:
                    row.heartbeat_at = at

    def running_trials(self, study_id: Any) -> list[tuple[Any, int, str, float]]:
        with self._lock:
            return [
                (tid, row.trial.number, row.worker, row.heartbeat_at)
                for tid, row in self._trials.items()
                if self._study_of[tid] == study_id and row.trial.state is TrialState.RUNNING
            ]

    def fail_stale_trial(
        self, trial_id: Any, heartbeat_seen: float, reason: str, at: float, rerun_cap: int = 0
    ) -> bool:
        with self._lock:
            row = self._trials.get(trial_id)
            if row is None or row.trial.state is not TrialState.RUNNING:
                return False
            if row.heartbeat_at > heartbeat_seen:
                return False
            created = dict(row.trial.attrs)
            row.trial = replace(
                row.trial,
                state=TrialState.FAILED,
                reason=reason,
                finished_at=at,
                attrs={**created, keys.CUT_BY_CRASH: True},
            )
            if rerun_cap > 0:
                self._rerun(trial_id, dict(row.trial.values), created, rerun_cap, at)
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
