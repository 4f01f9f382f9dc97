"""Hyperband (Li et al., 2018): brackets of successive halving over a range of budgets.

With ``max_budget`` R (Keras Tuner's ``max_epochs``) and ``factor`` eta, ``s_max`` is the
largest s with ``eta**s <= R``. One iteration runs brackets ``s = s_max, ..., 0``. Bracket s
starts ``n_0 = ceil((s_max + 1) * eta**s / (s + 1))`` new configurations at budget
``ceil(R / eta**s)``; at rung i (1..s) the best ``max(1, floor(n_0 / eta**i))`` of them go on
to budget ``ceil(R / eta**(s - i))``, the last rung at R. A promoted trial continues its
parent (same values, ``initial_budget`` = the parent's budget).

Differences from Keras Tuner 1.4 on purpose: survivor counts are floored (Keras Tuner rounds
up: 34 -> 12 -> 4 -> 2 for R=81 instead of the paper's 34 -> 11 -> 3 -> 1), bracket sizes use
``s_max + 1`` (the paper's) rather than ``ceil(1 + log_eta R)``, and when the sampler has no new
configuration left (a small finite space) a bracket's rungs are sized from the configurations
it got, so the search still halves them and trains the best to R instead of stopping after the
first rung.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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

_DONE = object()


@dataclass(frozen=True)
class Bracket:
    """One bracket's plan: ``halvings`` (s), the nominal size and budget of each rung."""

    halvings: int
    sizes: tuple[int, ...]
    budgets: tuple[int, ...]

    @property
    def trials(self) -> int:
        """Trials the bracket runs (new configurations plus promotions)."""
        return sum(self.sizes)

    @property
    def units(self) -> int:
        """Budget units (epochs) the bracket trains, promotions continuing their parents."""
        previous = (0, *self.budgets[:-1])
        return sum(n * (b - p) for n, b, p in zip(self.sizes, self.budgets, previous))


def rung_sizes(n0: int, factor: int, halvings: int) -> tuple[int, ...]:
    """Configurations at each rung of a bracket that starts ``n0``: ``max(1, n0 // eta**i)``."""
    return tuple(max(1, n0 // factor**i) for i in range(halvings + 1))


def hyperband_brackets(max_budget: int, factor: int) -> list[Bracket]:
    """One Hyperband iteration's brackets in the order they run (most halvings first)."""
    s_max = max_halvings(max_budget, factor)
    out = []
    for s in range(s_max, -1, -1):
        n0 = -(-(s_max + 1) * factor**s // (s + 1))
        out.append(Bracket(s, rung_sizes(n0, factor, s), budgets_of_bracket(max_budget, factor, s)))
    return out


class HyperbandScheduler(Scheduler):
    """Hyperband over any sampler: ``Study(..., sampler=..., scheduler=HyperbandScheduler(81))``.

    Args:
        max_budget: the largest budget (Keras Tuner's ``max_epochs``), >= 1.
        factor: eta, the reduction factor between rungs, >= 2.
        iterations: how many times the whole set of brackets runs (``hyperband_iterations``).

    Brackets run in order; a bracket hands out its new configurations, then promotions as
    soon as they are certain (a finished trial is promoted once even the running trials of its
    rung could not push it out of the top), so in a sequential search each rung is complete
    before the next starts (classic successive halving). When a bracket must wait for running
    trials, the next bracket starts (parallel workers never idle while work is left); only when
    every bracket waits does :meth:`next_job` say WAIT. The schedule ends (None) after the last
    bracket's last rung is handed out.
    """

    name = "hyperband"

    def __init__(self, max_budget: int = 100, factor: int = 3, iterations: int = 1) -> None:
        super().__init__()
        self._max_budget = check_int("max_budget (max_epochs)", max_budget, 1)
        self.factor = check_factor(factor)
        self.iterations = check_int("iterations (hyperband_iterations)", iterations, 1)
        self.brackets = hyperband_brackets(self._max_budget, self.factor)

    @property
    def max_budget(self) -> int:
        return self._max_budget

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "max_budget": self._max_budget,
            "factor": self.factor,
            "iterations": self.iterations,
        }

    @property
    def n_brackets(self) -> int:
        """Brackets in the whole search (all iterations)."""
        return len(self.brackets) * self.iterations

    def bracket(self, index: int) -> Bracket:
        """The plan of the search's bracket number ``index`` (0, 1, ...)."""
        return self.brackets[index % len(self.brackets)]

    @property
    def trials_per_iteration(self) -> int:
        return sum(b.trials for b in self.brackets)

    @property
    def configurations_per_iteration(self) -> int:
        return sum(b.sizes[0] for b in self.brackets)

    @property
    def units_per_iteration(self) -> int:
        return sum(b.units for b in self.brackets)

    # ------------------------------------------------------------------ the schedule
    def _members(self, trials: Sequence[FrozenTrial]) -> dict[int, dict[int, list]]:
        """``{bracket_index: {rung: [(trial, job), ...]}}`` over the trials of this schedule."""
        out: dict[int, dict[int, list]] = {}
        for t, job in scheduled_trials(trials):
            if job.bracket_index is None:
                continue
            out.setdefault(int(job.bracket_index), {}).setdefault(job.rung, []).append((t, job))
        return out

    def next_job(self, trials: Sequence[FrozenTrial], new_configs: bool = True) -> Any:
        members = self._members(trials)
        started = max(members, default=-1) + 1
        waiting = False
        for k in range(started):
            job = self._bracket_job(k, members.get(k, {}), new_configs)
            if job is WAIT:
                waiting = True
            elif job is not _DONE:
                return job
        if started < self.n_brackets and new_configs:
            bracket = self.bracket(started)
            return self._new(started, bracket)
        return WAIT if waiting else None

    def _new(self, k: int, bracket: Bracket) -> Job:
        return Job(
            budget=bracket.budgets[0], rung=0, bracket=bracket.halvings, bracket_index=k
        )

    def _bracket_job(self, k: int, rungs: dict[int, list], new_configs: bool) -> Any:
        """Bracket k's next job, WAIT, or _DONE when it has nothing more to hand out."""
        bracket = self.bracket(k)
        first = rungs.get(0, [])
        if len(first) < bracket.sizes[0] and new_configs:
            return self._new(k, bracket)
        n0 = min(len(first), bracket.sizes[0])
        if n0 == 0:
            return _DONE
        for i in range(1, bracket.halvings + 1):
            previous, current = rungs.get(i - 1, []), rungs.get(i, [])
            unfinished = sum(not t.state.is_finished for t, _ in previous)
            ranked = ranked_at(previous, self.sign)
            nominal = max(1, n0 // self.factor**i)
            target = nominal if unfinished else min(nominal, len(ranked))
            if len(current) >= target:
                continue
            promoted = {job.parent for _, job in current}
            for rank, t in enumerate(ranked):
                if rank + unfinished >= target:
                    break
                if t.number not in promoted:
                    return Job(
                        budget=bracket.budgets[i],
                        initial_budget=bracket.budgets[i - 1],
                        rung=i,
                        parent=t.number,
                        values=without_budget_keys(t.values),
                        bracket=bracket.halvings,
                        bracket_index=k,
                    )
            return WAIT
        return _DONE

    def _bracket_open(self, k: int, rungs: dict[int, list]) -> bool:
        """Whether bracket k may still promote (a rung short of its target, or running)."""
        if any(not t.state.is_finished for members in rungs.values() for t, _ in members):
            return True
        return self._bracket_job(k, rungs, new_configs=False) is not _DONE

    def may_continue(self, trial: FrozenTrial, trials: Sequence[FrozenTrial]) -> bool:
        members = self._members(trials)
        for k, rungs in members.items():
            for rung, group in rungs.items():
                if any(t.number == trial.number for t, _ in group):
                    if rung >= self.bracket(k).halvings or trial.state is not TrialState.COMPLETED:
                        return False
                    return self._bracket_open(k, rungs)
        return False

    def describe_plan(self) -> str:
        """One line per bracket: its rungs as ``size x budget``."""
        lines = []
        for b in self.brackets:
            rungs = ", ".join(f"{n}x{e}" for n, e in zip(b.sizes, b.budgets))
            lines.append(f"bracket {b.halvings}: {rungs} ({b.trials} trials, {b.units} epochs)")
        return "\n".join(lines)
