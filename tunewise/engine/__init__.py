"""The engine: studies (ask/tell and the search loop), executors, console output, summaries."""

from ._console import ConsoleReporter
from ._executors import Executor, InProcessExecutor
from ._opening import HEARTBEAT_INTERVAL_S, STALE_AFTER_S
from ._processes import ProcessExecutor
from ._ray import RayExecutor
from ._results import ResultsSummary
from ._study import Study

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
