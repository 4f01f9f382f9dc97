"""Multi-fidelity scheduling: pruners that stop unpromising trials early.

Pass a pruner to a study or a tuner (``Study(..., pruner=MedianPruner())``,
``RandomSearch(..., pruner=MedianPruner())``); an objective asks ``trial.should_prune()`` after
each ``trial.report(...)`` and raises :class:`tunewise.TrialPruned` when it says True (the Keras
tuners do this for you). The rung and median arithmetic are plain functions here, for the
schedulers (Hyperband, ASHA) built on them.
"""

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
    "EVIDENCE_STATES",
    "MedianPruner",
    "NopPruner",
    "Pruner",
    "SuccessiveHalvingPruner",
    "best_so_far",
    "is_promoted",
    "n_promoted",
    "objective_values",
    "rung_step",
    "value_at_rung",
]
