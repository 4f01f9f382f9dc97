"""Keras Tuner's oracles (``kt.oracles.BayesianOptimizationOracle`` and the others).

An oracle holds the settings a tuner opens its study with (objective, ``max_trials``, seed,
sampler, Hyperband's schedule) and Keras Tuner's trial methods over that study
(``create_trial``/``update_trial``/``end_trial`` for custom loops, ``get_best_trials``,
``get_space``/``update_space``...)::

    import tunewise as kt

    oracle = kt.oracles.BayesianOptimizationOracle(
        objective=kt.Objective("score", "max"), max_trials=10)

:func:`as_oracle` also accepts Keras Tuner's own oracle objects (same class names).
"""

from ._settings import (
    BayesianOptimization,
    BayesianOptimizationOracle,
    GridSearch,
    GridSearchOracle,
    Hyperband,
    HyperbandOracle,
    Oracle,
    RandomSearch,
    RandomSearchOracle,
    as_oracle,
)
from ._surface import StoppedTrial, synchronized

__all__ = [
    "BayesianOptimization",
    "BayesianOptimizationOracle",
    "GridSearch",
    "GridSearchOracle",
    "Hyperband",
    "HyperbandOracle",
    "Oracle",
    "RandomSearch",
    "RandomSearchOracle",
    "StoppedTrial",
    "as_oracle",
    "synchronized",
]
