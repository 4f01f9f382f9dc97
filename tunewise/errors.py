"""Exceptions users raise or catch, with Keras Tuner's names kept.

Raise :class:`FailedTrialError` inside an objective to fail that trial without a retry;
raise a :class:`FatalError` (or a subclass) to stop the whole search.
"""

from __future__ import annotations


class FailedTrialError(Exception):
    """Mark the current trial failed (no retry); the search goes on."""


class FatalError(Exception):
    """Stop the search at once; the trial is stored as failed first."""


class FatalValueError(FatalError, ValueError):
    """A fatal ValueError."""


class FatalTypeError(FatalError, TypeError):
    """A fatal TypeError."""


class FatalRuntimeError(FatalError, RuntimeError):
    """A fatal RuntimeError."""


class TooManyFailedTrialsError(RuntimeError):
    """``max_consecutive_failed_trials`` trials in a row failed; the message holds the last traceback."""


__all__ = [
    "FailedTrialError",
    "FatalError",
    "FatalRuntimeError",
    "FatalTypeError",
    "FatalValueError",
    "TooManyFailedTrialsError",
]
