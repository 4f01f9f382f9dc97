"""How a study combines its scheduler (budgets) with its sampler (configurations).

:func:`plan_next` asks the scheduler for the next job; for a new configuration it asks the
sampler. A model-based sampler (GP, TPE...) sees only the trials at the highest budget that
has at least ``len(space) + 3`` completed trials (BOHB's rule), so it models results at
comparable budgets; while no budget has that many, the configuration is drawn at random (the
random phase of BOHB), and from then on the sampler's own initial design is cut to that many
trials (:meth:`~tunewise.samplers.Sampler.warmed_up`), so the model is what picks. Random and grid samplers see every trial (they only avoid repeats). A
suggestion that repeats a configuration tried at another budget is replaced by a random one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..samplers import GridSampler, RandomSampler, Sampler, tried_keys
from ..space import HyperParameter, config_key
from ..trial import FrozenTrial, TrialState
from ._base import WAIT, Job, Scheduler, job_of

#: Completed trials at a budget, beyond the number of hyperparameters, before a model-based
#: sampler is given that budget's trials (BOHB: N_min = d + 1, used once d + 3 are there).
MODEL_MIN_EXTRA = 3


@dataclass(frozen=True)
class Plan:
    """The next trial: its configuration and its job."""

    values: dict[str, Any]
    job: Job


def model_budget(trials: Sequence[FrozenTrial], n_min: int) -> int | None:
    """The highest budget with at least ``n_min`` completed, scored trials; None if none."""
    counts: dict[int, int] = {}
    for t in trials:
        job = job_of(t)
        if job is not None and t.state is TrialState.COMPLETED and t.score is not None:
            counts[job.budget] = counts.get(job.budget, 0) + 1
    eligible = [b for b, n in counts.items() if n >= n_min]
    return max(eligible) if eligible else None


def trials_at_budget(trials: Sequence[FrozenTrial], budget: int) -> list[FrozenTrial]:
    """The trials (any state) whose job had ``budget``."""
    return [t for t in trials if (job := job_of(t)) is not None and job.budget == budget]


def suggest_new(
    sampler: Sampler,
    space: Sequence[HyperParameter],
    trials: Sequence[FrozenTrial],
    rng: np.random.Generator,
) -> dict[str, Any] | None:
    """A new configuration for a scheduled study (see the module docstring)."""
    random = RandomSampler()
    if isinstance(sampler, (RandomSampler, GridSampler)):
        return sampler.suggest(space, trials, rng)
    n_min = len(space) + MODEL_MIN_EXTRA
    budget = model_budget(trials, n_min)
    if budget is None:
        return random.suggest(space, trials, rng)
    # The random phase above replaces the sampler's own start (its design would otherwise
    # re-run on every budget's few trials and the model would hardly ever be used).
    values = sampler.warmed_up(n_min).suggest(space, trials_at_budget(trials, budget), rng)
    names = {hp.name for hp in space}
    if values is None or config_key(
        {k: v for k, v in values.items() if k in names}
    ) in tried_keys(trials, space):
        return random.suggest(space, trials, rng)
    return values


def plan_next(
    scheduler: Scheduler,
    sampler: Sampler,
    space: Sequence[HyperParameter],
    trials: Sequence[FrozenTrial],
    rng: np.random.Generator,
) -> Any:
    """The next :class:`Plan`, :data:`WAIT`, or None when the schedule (or space) is done."""
    job = scheduler.next_job(trials, new_configs=True)
    if job is None or job is WAIT:
        return job
    if not job.is_new:
        return Plan(dict(job.values or {}), job)
    values = suggest_new(sampler, space, trials, rng)
    if values is not None:
        return Plan(values, job)
    job = scheduler.next_job(trials, new_configs=False)
    if job is None or job is WAIT:
        return job
    if job.is_new:
        raise RuntimeError(
            f"{scheduler.describe()} asked for a new configuration after being told the "
            "sampler has none left (next_job(new_configs=False) must hand out promotions only)."
        )
    return Plan(dict(job.values or {}), job)
