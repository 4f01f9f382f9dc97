"""The trial cache: this process's copy of a study's stored trials, refreshed incrementally.

The storage is the truth; the cache is what a worker last read of it, plus its own running
trials as it created them. A refresh fetches only what may have changed: the trials numbered
from the first number missing in the cache, and the trials last seen unfinished (RUNNING or
WAITING, at most a handful), so the cost per trial stays flat however long the study is.
The cache also keeps what is asked of it on every trial: the best feasible completed trial,
the Pareto front (recomputed only after a trial completes), and the count of trials toward
``max_trials`` (every trial except re-runs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..pareto import feasibility
from ..storage import Storage
from ..trial import FrozenTrial, TrialState


class TrialCache:
    """The trials of study ``study_id`` in ``storage``, ordered by number as stored.

    ``sign`` is the objective's (+1 minimise, -1 maximise): it ranks the best trial. A Pareto
    study (``pareto``) has no best trial.
    """

    def __init__(self, storage: Storage, study_id: Any, sign: float, pareto: bool = False) -> None:
        self.storage, self.study_id, self.sign = storage, study_id, sign
        self.pareto = pareto
        self._front: tuple[tuple[Any, ...], list[FrozenTrial]] | None = None
        self.trials: list[FrozenTrial] = []
        self._index: dict[int, int] = {}  # trial number -> position in self.trials
        self._n_slots = 0
        self._best: FrozenTrial | None = None
        self._prefix = 0  # trials 0.._prefix-1 are all in the cache
        self._unfinished: set[int] = set()  # numbers last seen RUNNING or WAITING

    # ------------------------------------------------------------------ reading
    @property
    def n_slots(self) -> int:
        """Trials that count toward ``max_trials``: every trial except re-runs."""
        return self._n_slots

    @property
    def best(self) -> FrozenTrial | None:
        """The best feasible completed trial (ties: the lowest number); None in a Pareto study."""
        return self._best

    def front(self, objectives: tuple[Any, ...]) -> list[FrozenTrial]:
        """The Pareto front under ``objectives`` (:func:`tunewise.pareto.pareto_front`),
        remembered until a trial completes."""
        from ..pareto import pareto_front

        if self._front is None or self._front[0] != objectives:
            self._front = (objectives, pareto_front(self.trials, objectives))
        return list(self._front[1])

    def get(self, number: int) -> FrozenTrial | None:
        position = self._index.get(number)
        return None if position is None else self.trials[position]

    def waiting(self) -> list[FrozenTrial]:
        """Re-runs stored WAITING for a worker to claim them, as last read."""
        return [
            t
            for n in sorted(self._unfinished)
            if (t := self.get(n)) is not None and t.state is TrialState.WAITING
        ]

    def next_number_seen(self) -> int:
        """The number the next trial gets if no other worker creates one first."""
        return max((t.number for t in self.trials), default=-1) + 1

    def others_unfinished(self, own: Iterable[int]) -> bool:
        """Whether trials not in ``own`` were last seen RUNNING or WAITING."""
        return bool(self._unfinished.difference(own))

    # ------------------------------------------------------------------ writing
    def load(self) -> None:
        """Read every stored trial (on opening)."""
        for trial in self.storage.get_trials(self.study_id):
            self.put(trial)

    def refresh(
        self, extra: Iterable[int] = (), keep: Callable[[FrozenTrial], bool] | None = None
    ) -> int:
        """Fetch the trials this process may not know yet; returns how many were read.

        ``keep(trial)`` True leaves the cached copy in place (this process's own running
        trials: the live object is the truth).
        """
        numbers = sorted(self._unfinished.union(extra))
        fetched = self.storage.get_trials(self.study_id, self._prefix, numbers)
        for trial in fetched:
            if keep is not None and keep(trial):
                continue
            self.put(trial)
        return len(fetched)

    def put(self, frozen: FrozenTrial) -> None:
        """Insert or replace a trial, keeping the slot count, the best and the bookkeeping.

        A trial only moves from WAITING to RUNNING to a final state, and a COMPLETED one never
        changes, so the best can be updated one trial at a time.
        """
        position = self._index.get(frozen.number)
        if position is None:
            self._index[frozen.number] = len(self.trials)
            self.trials.append(frozen)
            self._n_slots += frozen.retry_of is None
            while self._prefix in self._index:
                self._prefix += 1
        else:
            self.trials[position] = frozen
        if frozen.state.is_finished:
            self._unfinished.discard(frozen.number)
        else:
            self._unfinished.add(frozen.number)
        if frozen.state is TrialState.COMPLETED:
            self._front = None
        if (
            frozen.state is TrialState.COMPLETED
            and frozen.score is not None
            and not self.pareto
            and feasibility(frozen) is not False
        ):
            best = self._best
            key = (self.sign * frozen.score, frozen.number)
            if best is None or key < (self.sign * best.score, best.number):  # type: ignore[operator]
                self._best = frozen
