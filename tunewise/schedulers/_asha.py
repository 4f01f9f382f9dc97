"""ASHA (Li et al., 2020): asynchronous successive halving, for parallel workers.

Rungs are at the budgets of Hyperband's most aggressive bracket (``ceil(R / eta**(s - i))``,
the last at R), starting at the first rung whose budget is at least ``min_budget``. Whenever a
worker asks for a job, the highest rung with a finished trial that is in the top
``floor(n / eta)`` of the ``n`` completed trials of its rung *so far* and not yet promoted gives
a promotion; otherwise a new configuration starts at the bottom rung. Nothing ever waits for a
rung to fill: a job is always handed out while the sampler has configurations (the price is
that a few promotions are made on partial evidence, as in the paper).

With ``brackets=k`` (asynchronous Hyperband) new configurations are spread over k brackets whose
first rungs are the k smallest budgets, each bracket taking the next configuration when it has
used the fewest budget units.

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
    check_factor,
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
        brackets: 1 (the paper's ASHA): every configuration starts at the smallest rung.
            k > 1 (asynchronous Hyperband): bracket b's configurations start at the b-th
            rung budget, and each new configuration goes to the bracket that has used the
            fewest budget units so far, so that, like Hyperband, the search hedges against
            learning curves whose early ranking misleads. At most the number of rungs.
    """

    name = "asha"

    def __init__(
        self,
        max_budget: int = 100,
        factor: int = 3,
        min_budget: int = 1,
        max_total_budget: int | None = None,
        brackets: int = 1,
    ) -> None:
        super().__init__()
        self._max_budget = check_int("max_budget (max_epochs)", max_budget, 1)
        self.factor = check_factor(factor)
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
        self.brackets = check_int("brackets", brackets, 1)
        if self.brackets > len(self.budgets):
            raise ValueError(
                f"brackets={brackets!r} is more than the {len(self.budgets)} rungs "
                f"{list(self.budgets)}; pass brackets <= {len(self.budgets)}."
            )

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
            "brackets": self.brackets,
        }

    def _rungs(self, trials: Sequence[FrozenTrial]) -> list[list[list[tuple[FrozenTrial, Job]]]]:
        """``rungs[bracket][rung]``: the (trial, job) pairs there."""
        rungs = [[[] for _ in self.budgets[b:]] for b in range(self.brackets)]
        for t, job in scheduled_trials(trials):
            b = int(job.bracket or 0)
            if job.bracket_index is None and b < self.brackets and 0 <= job.rung < len(rungs[b]):
                rungs[b][job.rung].append((t, job))
        return rungs

    def _promotion(self, rungs: list, b: int, i: int, relaxed: bool) -> Job | None:
        ranked = ranked_at(rungs[i], self.sign)
        top = len(ranked) // self.factor
        if relaxed:
            top = max(1, top)
        promoted = {job.parent for _, job in rungs[i + 1]}
        for t in ranked[:top]:
            if t.number not in promoted:
                return Job(
                    budget=self.budgets[b + i + 1],
                    initial_budget=self.budgets[b + i],
                    rung=i + 1,
                    parent=t.number,
                    values=without_budget_keys(t.values),
                    bracket=b,
                )
        return None

    def next_job(self, trials: Sequence[FrozenTrial], new_configs: bool = True) -> Any:
        rungs = self._rungs(trials)
        spent = [sum(job.units for group in bracket for _, job in group) for bracket in rungs]
        if self.max_total_budget is not None and sum(spent) >= self.max_total_budget:
            return None
        for relaxed in (False,) if new_configs else (False, True):
            # the promotion to the largest budget first, over every bracket
            order = sorted(
                ((b, i) for b in range(self.brackets) for i in range(len(rungs[b]) - 1)),
                key=lambda bi: (-(bi[0] + bi[1]), bi[0]),
            )
            for b, i in order:
                job = self._promotion(rungs[b], b, i, relaxed)
                if job is not None:
                    return job
            if new_configs:
                b = min(range(self.brackets), key=lambda k: (spent[k], k))
                return Job(budget=self.budgets[b], rung=0, bracket=b)
        running = any(
            not t.state.is_finished for bracket in rungs for group in bracket for t, _ in group
        )
        return WAIT if running else None

    def may_continue(self, trial: FrozenTrial, trials: Sequence[FrozenTrial]) -> bool:
        """A completed trial below the top rung that has no completed child yet."""
        if trial.state is not TrialState.COMPLETED:
            return False
        for bracket in self._rungs(trials):
            for i, group in enumerate(bracket[:-1]):
                if any(t.number == trial.number for t, _ in group):
                    children = [t for t, job in bracket[i + 1] if job.parent == trial.number]
                    return not any(t.state is TrialState.COMPLETED for t in children)
        return False
