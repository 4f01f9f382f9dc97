"""ASHA (Li et al., 2020): asynchronous successive halving, for parallel workers.

Rungs are at the budgets of Hyperband's most aggressive bracket (``ceil(R / eta**(s - i))``,
the last at R), starting at the first rung whose budget is at least ``min_budget``. Whenever a
worker asks for a job, the highest rung with a finished trial that is in the top
``floor(n / eta)`` of the ``n`` completed trials of its rung *so far* and not yet promoted gives
a promotion; otherwise a new configuration starts at the bottom rung. Nothing ever waits for a
rung to fill: a job is always handed out while the sampler has configurations (the price is
that a few promotions are made on partial evidence, as in the paper).

When the sampler has no new configuration left (a small finite space) the rule relaxes to
``max(1, floor(n / eta))`` so the best configurations still go on to R. The search ends when
``max_trials`` is reached or, with ``max_total_budget``, once the budget units handed out reach
it (the Keras facade sets it to what the equivalent Hyperband would train).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..trial import FrozenTrial, TrialState
from ._base import (
    WAIT,
    Job,
    Scheduler,
    budgets_of_bracket,
    check_int,
    max_halvings,
    ranked_at,
    scheduled_trials,
    without_budget_keys,
)


class ASHAScheduler(Scheduler):
    """Asynchronous successive halving over any sampler.

    Args:
        max_budget: the largest budget (epochs), >= 1.
        factor: eta, >= 2: the top ``1/eta`` of a rung go on, rungs ``eta`` times apart.
        min_budget: the smallest rung's budget is the first Hyperband budget >= this.
        max_total_budget: stop handing out jobs once this many budget units (summed
            ``budget - initial_budget`` of every job handed out) are reached; None: no limit
            (the study's ``max_trials`` ends the search).
    """

    name = "asha"

    def __init__(
        self,
        max_budget: int = 100,
        factor: int = 3,
        min_budget: int = 1,
        max_total_budget: int | None = None,
    ) -> None:
        super().__init__()
        self._max_budget = check_int("max_budget (max_epochs)", max_budget, 1)
        self.factor = check_int("factor", factor, 2)
        self.min_budget = check_int("min_budget", min_budget, 1)
        if self.min_budget > self._max_budget:
            raise ValueError(
                f"min_budget={min_budget!r} must be <= max_budget={max_budget!r}."
            )
        self.max_total_budget = (
            None if max_total_budget is None else check_int("max_total_budget", max_total_budget, 1)
        )
        all_budgets = budgets_of_bracket(
            self._max_budget, self.factor, max_halvings(self._max_budget, self.factor)
        )
        self.budgets: tuple[int, ...] = tuple(b for b in all_budgets if b >= self.min_budget)

    @property
    def max_budget(self) -> int:
        return self._max_budget

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "max_budget": self._max_budget,
            "factor": self.factor,
            "min_budget": self.min_budget,
            "max_total_budget": self.max_total_budget,
        }

    def _rungs(self, trials: Sequence[FrozenTrial]) -> list[list[tuple[FrozenTrial, Job]]]:
        rungs: list[list[tuple[FrozenTrial, Job]]] = [[] for _ in self.budgets]
        for t, job in scheduled_trials(trials):
            if job.bracket_index is None and 0 <= job.rung < len(rungs):
                rungs[job.rung].append((t, job))
        return rungs

    def _promotion(self, rungs: list, i: int, relaxed: bool) -> Job | None:
        ranked = ranked_at(rungs[i], self.sign)
        top = len(ranked) // self.factor
        if relaxed:
            top = max(1, top)
        promoted = {job.parent for _, job in rungs[i + 1]}
        for t in ranked[:top]:
            if t.number not in promoted:
                return Job(
                    budget=self.budgets[i + 1],
                    initial_budget=self.budgets[i],
                    rung=i + 1,
                    parent=t.number,
                    values=without_budget_keys(t.values),
                )
        return None

    def next_job(self, trials: Sequence[FrozenTrial], new_configs: bool = True) -> Any:
        rungs = self._rungs(trials)
        if self.max_total_budget is not None:
            spent = sum(job.units for group in rungs for _, job in group)
            if spent >= self.max_total_budget:
                return None
        for relaxed in (False,) if new_configs else (False, True):
            for i in range(len(self.budgets) - 2, -1, -1):
                job = self._promotion(rungs, i, relaxed)
                if job is not None:
                    return job
            if new_configs:
                return Job(budget=self.budgets[0], rung=0)
        running = any(not t.state.is_finished for group in rungs for t, _ in group)
        return WAIT if running else None

    def may_continue(self, trial: FrozenTrial, trials: Sequence[FrozenTrial]) -> bool:
        """A completed trial below the top rung that has no completed child yet."""
        if trial.state is not TrialState.COMPLETED:
            return False
        rungs = self._rungs(trials)
        for i, group in enumerate(rungs[:-1]):
            if any(t.number == trial.number for t, _ in group):
                children = [t for t, job in rungs[i + 1] if job.parent == trial.number]
                return not any(t.state is TrialState.COMPLETED for t in children)
        return False
