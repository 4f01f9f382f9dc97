"""Multi-fidelity scheduling: schedulers that hand out budgets, pruners that stop trials early.

A scheduler (:class:`HyperbandScheduler`, :class:`ASHAScheduler`) decides each trial's budget
(epochs) and which finished trials continue to a larger one; the sampler still decides the
configurations, so any sampler composes with any scheduler:
``Study(..., sampler=TPESampler(), scheduler=HyperbandScheduler(max_budget=81))``. The objective
reads its budget from ``trial.attrs["budget"]`` (or ``hp["tuner/epochs"]``) and, when
``trial.attrs["parent"]`` is set, continues that trial from ``trial.attrs["initial_budget"]``.

Pass a pruner to a study or a tuner (``Study(..., pruner=MedianPruner())``,
``RandomSearch(..., pruner=MedianPruner())``); an objective asks ``trial.should_prune()`` after
each ``trial.report(...)`` and raises :class:`tunewise.TrialPruned` when it says True (the Keras
tuners do this for you). The rung and median arithmetic are plain functions here, for the
schedulers (Hyperband, ASHA) built on them.
"""

from ._asha import ASHAScheduler
from ._base import (
    BUDGET_KEYS,
    WAIT,
    BudgetedHyperParameters,
    Job,
    Scheduler,
    job_of,
    total_units_trained,
    units_trained,
)
from ._hyperband import Bracket, HyperbandScheduler, hyperband_brackets
from ._planning import Plan, plan_next
from ._pruners import (
    EVIDENCE_STATES,
    MedianPruner,
    NopPruner,
    Pruner,
    SuccessiveHalvingPruner,
    best_so_far,
    is_promoted,
    n_promoted,
    objective_values,
    rung_step,
    value_at_rung,
)

__all__ = [
    "BUDGET_KEYS",
    "EVIDENCE_STATES",
    "WAIT",
    "ASHAScheduler",
    "Bracket",
    "BudgetedHyperParameters",
    "HyperbandScheduler",
    "Job",
    "MedianPruner",
    "NopPruner",
    "Plan",
    "Pruner",
    "Scheduler",
    "SuccessiveHalvingPruner",
    "best_so_far",
    "hyperband_brackets",
    "is_promoted",
    "job_of",
    "n_promoted",
    "objective_values",
    "plan_next",
    "rung_step",
    "total_units_trained",
    "units_trained",
    "value_at_rung",
]
