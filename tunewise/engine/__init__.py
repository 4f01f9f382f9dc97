"""The engine: studies (ask/tell and the search loop), executors, console output, summaries."""

from ._console import ConsoleReporter
from ._executors import Executor, InProcessExecutor
from ._opening import HEARTBEAT_INTERVAL_S, STALE_AFTER_S
from ._processes import ProcessExecutor
from ._ray import RayExecutor
from ._results import ResultsSummary
from ._study import Study


def __getattr__(name: str):
    """Keras Tuner's module paths (``kt.engine.tuner``, ``kt.engine.hyperparameters``...) as
    attributes, imported on first use as ``import keras_tuner`` makes them."""
    import importlib

    if not name.startswith("_"):
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "HEARTBEAT_INTERVAL_S",
    "STALE_AFTER_S",
    "ConsoleReporter",
    "Executor",
    "InProcessExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "ResultsSummary",
    "Study",
]
