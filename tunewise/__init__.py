"""tunewise: hyperparameter tuning that explains itself.

A Keras-Tuner-compatible API over a framework-agnostic ask/tell engine::

    import tunewise as tw

    def objective(hp):
        x = hp.Float("x", -5.0, 5.0)
        return (x - 1.0) ** 2

    study = tw.Study(objective="loss", storage="memory", seed=0)
    study.optimize(objective, max_trials=20)
    print(study.results_summary().best_objective)

``import tunewise`` is cheap: every public name (and every submodule, ``tw.engine``,
``tw.storage``...) is imported on first use, so the ``tunewise`` command and programs that
only need a few names do not pay for SciPy, SQLAlchemy, NumPy or a deep-learning framework.
A new public name goes in ``_LAZY`` (and ``__all__``), never as an import here: the test
``tests/test_import_time.py`` fails when ``import tunewise`` loads a heavy library.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> the module (relative to this package) that defines it.
_LAZY: dict[str, str] = {
    # the engine
    "ConsoleReporter": ".engine",
    "Executor": ".engine",
    "ProcessExecutor": ".engine",
    "RayExecutor": ".engine",
    "ResultsSummary": ".engine",
    "Study": ".engine",
    "load_study": ".engine._loading",
    "StopWhenConverged": ".diagnostics._stop_rule",
    # errors
    "FailedTrialError": ".errors",
    "FatalError": ".errors",
    "FatalRuntimeError": ".errors",
    "FatalTypeError": ".errors",
    "FatalValueError": ".errors",
    "TooManyFailedTrialsError": ".errors",
    "TrialNotOwnedError": ".errors",
    "TrialPruned": ".errors",
    # Keras Tuner's tuners
    "BayesianOptimization": ".integrations.keras",
    "GridSearch": ".integrations.keras",
    "Hyperband": ".integrations.keras",
    "HyperModel": ".integrations.keras",
    "RandomSearch": ".integrations.keras",
    "Tuner": ".integrations.keras",
    "SklearnTuner": ".integrations.sklearn",  # needs scikit-learn
    # objectives, oracles, samplers, the space, storages, trials
    "MultiObjective": ".objective",
    "Objective": ".objective",
    "ParetoObjective": ".objective",
    "infer_direction": ".objective",
    "make_objective": ".objective",
    "Oracle": ".oracles",
    "synchronized": ".oracles",
    "AutoSampler": ".samplers",
    "GPSampler": ".samplers",
    "GridSampler": ".samplers",
    "ParEGOSampler": ".samplers",
    "RandomSampler": ".samplers",
    "Sampler": ".samplers",
    "TPESampler": ".samplers",
    "HyperParameter": ".space",
    "HyperParameters": ".space",
    "InMemoryStorage": ".storage",
    "SQLStorage": ".storage",
    "Storage": ".storage",
    "FrozenTrial": ".trial",
    "Trial": ".trial",
    "TrialState": ".trial",
}

if TYPE_CHECKING:  # what static checkers and editors see: the same names, imported eagerly
    from . import applications as applications
    from . import config, errors, oracles, schedulers, tuners
    from . import engine as engine
    from .diagnostics._stop_rule import StopWhenConverged
    from .engine import (
        ConsoleReporter,
        Executor,
        ProcessExecutor,
        RayExecutor,
        ResultsSummary,
        Study,
    )
    from .engine._loading import load_study
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
    from .integrations.sklearn import SklearnTuner as SklearnTuner
    from .objective import (
        MultiObjective,
        Objective,
        ParetoObjective,
        infer_direction,
        make_objective,
    )
    from .oracles import Oracle, synchronized
    from .samplers import (
        AutoSampler,
        GPSampler,
        GridSampler,
        ParEGOSampler,
        RandomSampler,
        Sampler,
        TPESampler,
    )
    from .space import HyperParameter, HyperParameters
    from .storage import InMemoryStorage, SQLStorage, Storage
    from .trial import FrozenTrial, Trial, TrialState


def __getattr__(name: str) -> Any:
    """Import a public name, or a submodule (``tw.engine``, ``tw.storage``...), on first use.

    The value is then kept in the module, so this runs once per name. Raises AttributeError
    for a name that is neither.
    """
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name.startswith("_"):  # dunder probes (``__path__``, ``__wrapped__``...): not ours
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    else:
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # the submodule exists, a library it needs does not: say which
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_LAZY))


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
    "ParEGOSampler",
    "ParetoObjective",
    "ProcessExecutor",
    "RandomSampler",
    "RandomSearch",
    "RayExecutor",
    "ResultsSummary",
    "SQLStorage",
    "Sampler",
    "StopWhenConverged",
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
    "load_study",
    "make_objective",
    "oracles",
    "pareto",
    "schedulers",
    "synchronized",
    "tuners",
]
