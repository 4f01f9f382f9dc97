"""Exceptions users raise or catch, with Keras Tuner's names kept.

Raise :class:`FailedTrialError` inside an objective to fail that trial without a retry;
raise a :class:`FatalError` (or a subclass) to stop the whole search; raise
:class:`TrialPruned` to stop the current trial early because a pruner said so.
"""

from __future__ import annotations


class FailedTrialError(Exception):
    """Mark the current trial failed (no retry); the search goes on."""


class TrialPruned(Exception):
    """Stop the current trial early: it is stored PRUNED at its last reported step.

    Raise it after ``trial.should_prune()`` says True (``if trial.should_prune(): raise
    tunewise.TrialPruned()``); raising it without a pruner works too. A pruned trial is never
    failed, re-run or counted as a failure; its steps and score are kept as evidence for the
    sampler, but it is never the best trial. The message, if any, is added to its reason.
    """


class FatalError(Exception):
    """Stop the search at once; the trial is stored as failed first."""


class FatalValueError(FatalError, ValueError):
    """A fatal ValueError."""


class FatalTypeError(FatalError, TypeError):
    """A fatal TypeError."""


class FatalRuntimeError(FatalError, RuntimeError):
    """A fatal RuntimeError."""


class SpaceDefinitionError(FatalError, ValueError, TypeError):
    """A mistake in the search space's definition, raised where the definition is made.

    A misspelled keyword (``hp.Int("n", min_vlaue=1, ...)``, with a "did you mean"),
    ``min_value > max_value``, an unknown ``sampling``, a step <= 0, an empty ``Choice``, a
    default outside the range, a name that is not a non-empty string... Fatal: raised inside
    an objective or ``build(hp)`` it stops the search at once (every trial would fail the
    same way). A ValueError and a TypeError, the plain errors Keras Tuner raises for these.
    """


class TooManyFailedTrialsError(RuntimeError):
    """``max_consecutive_failed_trials`` trials in a row failed; the message holds the last traceback."""


class TrialNotOwnedError(RuntimeError):
    """A worker tried to store a step or a result for a trial it no longer owns.

    Another worker took the trial over (it saw no heartbeat for ``stale_after`` seconds,
    marked it FAILED and re-runs it), or the trial is already finished. Nothing was stored;
    the search loop says so in one line and goes on with new trials.
    """


__all__ = [
    "FailedTrialError",
    "FatalError",
    "FatalRuntimeError",
    "FatalTypeError",
    "FatalValueError",
    "SpaceDefinitionError",
    "TooManyFailedTrialsError",
    "TrialNotOwnedError",
    "TrialPruned",
]


class InvalidArgumentError(ValueError, TypeError):
    """An argument of the wrong kind (a ValueError, as Keras Tuner raises, and a TypeError)."""


class UnrecognizedArgumentsError(InvalidArgumentError):
    """A tuner or oracle got keyword arguments it does not know (a ValueError, as in Keras
    Tuner, and a TypeError, as Python's own unexpected-keyword error)."""
