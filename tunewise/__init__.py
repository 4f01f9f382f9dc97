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

from . import errors
from .engine import ConsoleReporter, ResultsSummary, Study
from .integrations.keras import (
    BayesianOptimization,
    GridSearch,
    HyperModel,
    Hyperband,
    RandomSearch,
    Tuner,
)
from .errors import (
    FailedTrialError,
    FatalError,
    FatalRuntimeError,
    FatalTypeError,
    FatalValueError,
    TooManyFailedTrialsError,
)
from .objective import MultiObjective, Objective, infer_direction, make_objective
from .samplers import GridSampler, RandomSampler, Sampler
from .space import HyperParameters
from .storage import InMemoryStorage, SQLStorage, Storage
from .trial import FrozenTrial, Trial, TrialState

__version__ = "0.1.0"

__all__ = [
    "BayesianOptimization",
    "GridSearch",
    "HyperModel",
    "Hyperband",
    "RandomSearch",
    "Tuner",
    "ConsoleReporter",
    "FailedTrialError",
    "FatalError",
    "FatalRuntimeError",
    "FatalTypeError",
    "FatalValueError",
    "FrozenTrial",
    "GridSampler",
    "HyperParameters",
    "InMemoryStorage",
    "MultiObjective",
    "Objective",
    "RandomSampler",
    "ResultsSummary",
    "SQLStorage",
    "Sampler",
    "Storage",
    "Study",
    "TooManyFailedTrialsError",
    "Trial",
    "TrialState",
    "errors",
    "infer_direction",
    "make_objective",
]
