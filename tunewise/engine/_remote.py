"""A trial run away from the search loop (a worker process, a Ray task) and its way back.

The loop asks for a trial, an executor runs the objective somewhere, and the outcome comes
back as plain data (:class:`Outcome`): the result or the error, the steps reported, the
attrs set and the hyperparameters container as the objective left it. In the loop's process
:meth:`Outcome.replay` then plays the part of the objective, so that a remote trial is
finished by the same code, with the same rules and messages, as a local one.
"""

from __future__ import annotations

import pickle
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import FailedTrialError, FatalError, TrialNotOwnedError, TrialPruned
from ..schedulers import Pruner
from ..schedulers._pruners import verdict as pruner_verdict
from ..trial import FrozenTrial, Step, Trial


class RemoteTrialError(RuntimeError):
    """An objective raised in a worker process or a Ray task; the message is its traceback."""


class WorkerLostError(RemoteTrialError):
    """The process or Ray worker running a trial died before it answered."""


class Outcome:
    """What a remote trial sends back. ``steps_stored``: its steps are already in storage
    (a worker process stores them as they come); else the loop stores them on replay."""

    def __init__(
        self,
        result: Any,
        steps: list[Step],
        attrs: dict[str, Any],
        hps: Any,
        error: BaseException | None,
        error_text: str,
        steps_stored: bool = False,
    ) -> None:
        self.result, self.steps, self.attrs, self.hps = result, steps, attrs, hps
        self.error, self.error_text, self.steps_stored = error, error_text, steps_stored

    @classmethod
    def lost(cls, why: str) -> Outcome:
        """The outcome of a trial whose worker or task was lost before it answered."""
        return cls(None, [], {}, None, WorkerLostError(why), why)

    def replay(self, hp: Any, trial: Trial) -> Any:
        """Play the objective's part in the loop: its steps, attrs, then its return or raise."""
        if self.hps is not None:
            trial.hyperparameters = self.hps
        if self.steps_stored:
            trial.adopt_steps(self.steps)
        else:
            for step in self.steps:
                trial.report(step.step, step.metrics)
        trial.attrs.update(self.attrs)
        if self.error is None:
            return self.result
        if isinstance(
            self.error,
            (TrialPruned, FailedTrialError, FatalError, TrialNotOwnedError, RemoteTrialError),
        ):
            raise self.error
        raise RemoteTrialError(self.error_text)


def run_remote_trial(call: Callable[[Any, Trial], Any], trial: Trial, steps_stored: bool) -> Outcome:
    """Run ``call(hps, trial)`` and pack what happened; never raises for the objective's errors."""
    try:
        result = call(trial.hyperparameters, trial)
    except Exception as exc:  # noqa: BLE001 - any error of the objective travels back as data
        text = traceback.format_exc()
        try:
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001 - an exception that cannot travel: its traceback does
            exc = RemoteTrialError(text)
        return Outcome(
            None, list(trial.steps), dict(trial.attrs), trial.hyperparameters, exc, text,
            steps_stored,
        )
    return Outcome(
        result, list(trial.steps), dict(trial.attrs), trial.hyperparameters, None, "",
        steps_stored,
    )


def split_objective(fn: Any, call: Callable[..., Any]) -> tuple[Callable[..., Any], Any]:
    """What remote workers run, and what the loop does with each remote result.

    An objective may split itself: ``fn.task_part()`` returns the picklable ``(hp, trial)``
    callable each worker runs, and ``fn.finish_in_driver(result, trial)``, called in the
    loop's process with what the worker returned (after its steps and attrs are on ``trial``),
    returns the result to store. The Keras tuners use this: the worker fits, the loop's
    process keeps the weights.
    """
    task_part = getattr(fn, "task_part", None)
    if task_part is None:
        return call, None
    return task_part(), fn.finish_in_driver


def replayer(outcome: Outcome, finish: Any) -> Callable[[Any, Trial], Any]:
    """The ``(hp, trial)`` callable the loop runs for a remote trial's outcome."""
    if finish is None:
        return outcome.replay
    return lambda hp, trial: finish(outcome.replay(hp, trial), trial)


class PruningEvidence:
    """A pruner and the finished trials it judges against (the only ones pruners use)."""

    def __init__(self, pruner: Pruner, finished: Sequence[FrozenTrial] = ()) -> None:
        self.pruner = pruner
        self.finished = {t.number: t for t in finished}

    def add(self, frozen: FrozenTrial) -> None:
        """A trial just stored (only finished ones are kept)."""
        if frozen.state.is_finished:
            self.finished[frozen.number] = frozen

    def should_prune(self, number: int, steps: list[Step]) -> bool:
        """The verdict on running trial ``number`` that reported ``steps``."""
        others = [t for n, t in self.finished.items() if n != number]
        return pruner_verdict(self.pruner, steps, others)
