"""The engine: studies (ask/tell and the search loop), their console output and summaries."""

from ._console import ConsoleReporter
from ._opening import HEARTBEAT_INTERVAL_S, STALE_AFTER_S
from ._results import ResultsSummary
from ._study import Study

__all__ = ["ConsoleReporter", "HEARTBEAT_INTERVAL_S", "ResultsSummary", "STALE_AFTER_S", "Study"]
