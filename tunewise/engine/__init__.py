"""The engine: studies (ask/tell and the search loop), their console output and summaries."""

from ._console import ConsoleReporter
from ._opening import HEARTBEAT_INTERVAL_S, STALE_AFTER_S
from ._ray import RayExecutor
from ._results import ResultsSummary
from ._study import Study

__all__ = [
    "HEARTBEAT_INTERVAL_S",
    "STALE_AFTER_S",
    "ConsoleReporter",
    "RayExecutor",
    "ResultsSummary",
    "Study",
]
