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

from . import config, errors, oracles, schedulers, tuners
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
from .oracles import Oracle, synchronized
from .samplers import AutoSampler, GPSampler, GridSampler, RandomSampler, Sampler, TPESampler
from .space import HyperParameter, HyperParameters
from .storage import InMemoryStorage, SQLStorage, Storage
from .trial import FrozenTrial, Trial, TrialState

__version__ = "0.1.0"


# Keras Tuner's module paths (``kt.engine.tuner``, ``kt.engine.oracle``...), importable as
# attributes once ``tunewise`` is (they import no framework).
from .engine import base_tuner as _base_tuner  # noqa: F401
from .engine import hypermodel as _hypermodel  # noqa: F401
from .engine import metrics_tracking as _metrics_tracking  # noqa: F401
from .engine import objective as _objective  # noqa: F401
from .engine import oracle as _oracle  # noqa: F401
from .engine import trial as _trial  # noqa: F401
from .engine import tuner as _tuner  # noqa: F401


def __getattr__(name: str):  # optional parts load on first use
    if name == "SklearnTuner":  # needs scikit-learn
        from .integrations.sklearn import SklearnTuner

        return SklearnTuner
    if name == "applications":  # needs Keras
        import importlib

        return importlib.import_module(".applications", __name__)
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
    "HyperParameter",
    "HyperParameters",
    "Hyperband",
    "InMemoryStorage",
    "MultiObjective",
    "Objective",
    "Oracle",
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
    "config",
    "errors",
    "infer_direction",
    "make_objective",
    "oracles",
    "schedulers",
    "synchronized",
    "tuners",
]
