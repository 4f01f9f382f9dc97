"""tunewise: hyperparameter tuning that explains itself.

A Keras-Tuner-compatible API over a framework-agnostic ask/tell engine::

    import tunewise as tw

    def objective(hp):
        x = hp.Float("x", -5.0, 5.0)
        return (x - 1.0) ** 2

    study = tw.Study(objective="loss", storage="memory", seed=0)
    study.optimize(objective, max_trials=20)
    print(study.results_summary().best_objective)
"""

import logging

from . import errors, oracles, schedulers
from .engine import ConsoleReporter, Executor, ProcessExecutor, RayExecutor, ResultsSummary, Study
from .errors import (
    FailedTrialError,
    FatalError,
    FatalRuntimeError,
    FatalTypeError,
    FatalValueError,
    TooManyFailedTrialsError,
    TrialNotOwnedError,
    TrialPruned,
)
from .integrations.keras import (
    BayesianOptimization,
    GridSearch,
    Hyperband,
    HyperModel,
    RandomSearch,
    Tuner,
)
from .objective import MultiObjective, Objective, infer_direction, make_objective
from .samplers import AutoSampler, GPSampler, GridSampler, RandomSampler, Sampler, TPESampler
from .space import HyperParameters
from .storage import InMemoryStorage, SQLStorage, Storage
from .trial import FrozenTrial, Trial, TrialState

__version__ = "0.1.0"


def __getattr__(name: str):  # scikit-learn is optional: load its tuner on first use
    if name == "SklearnTuner":
        from .integrations.sklearn import SklearnTuner

        return SklearnTuner
    raise AttributeError(f"module 'tunewise' has no attribute {name!r}")


# A library logs; it does not print unless the application configures logging.
logging.getLogger("tunewise").addHandler(logging.NullHandler())

__all__ = [
    "AutoSampler",
    "BayesianOptimization",
    "ConsoleReporter",
    "Executor",
    "FailedTrialError",
    "FatalError",
    "FatalRuntimeError",
    "FatalTypeError",
    "FatalValueError",
    "FrozenTrial",
    "GPSampler",
    "GridSampler",
    "GridSearch",
    "HyperModel",
    "HyperParameters",
    "Hyperband",
    "InMemoryStorage",
    "MultiObjective",
    "Objective",
    "ProcessExecutor",
    "RandomSampler",
    "RandomSearch",
    "RayExecutor",
    "ResultsSummary",
    "SQLStorage",
    "Sampler",
    "Storage",
    "Study",
    "TPESampler",
    "TooManyFailedTrialsError",
    "Trial",
    "TrialNotOwnedError",
    "TrialPruned",
    "TrialState",
    "Tuner",
    "errors",
    "infer_direction",
    "make_objective",
    "oracles",
    "schedulers",
]
