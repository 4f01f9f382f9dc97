"""Executors: what runs the trials the search loop starts (see :mod:`._loop`).

An executor takes trials (:meth:`Executor.submit`, up to :attr:`Executor.capacity` at once)
and hands back one finished trial at a time (:meth:`Executor.wait_one`) as ``(trial, run)``:
the loop then calls ``run(hp, trial)`` in its own process, which is the objective itself for
:class:`InProcessExecutor`, and the replay of what a worker sent back for the others. The
loop's process therefore stores every result and applies every rule.

* :class:`InProcessExecutor`: one trial at a time, in this process (the default).
* :class:`~._processes.ProcessExecutor` (``n_jobs=k``): k spawned worker processes.
* :class:`~._ray.RayExecutor` (``executor="ray"``): Ray tasks on a Ray cluster.
"""

from __future__ import annotations

import abc
import inspect
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..trial import FrozenTrial, Trial

if TYPE_CHECKING:
    from ._study import Study

Run = Callable[[Any, Trial], Any]


class Executor(abc.ABC):
    """Runs trials for the search loop. One executor serves one ``optimize`` call at a time:
    :meth:`start` before the first trial, :meth:`shutdown` after the last."""

    @property
    @abc.abstractmethod
    def capacity(self) -> int:
        """Trials it runs at once (valid after :meth:`start`)."""

    @property
    @abc.abstractmethod
    def in_flight(self) -> int:
        """Trials submitted and not yet handed back."""

    def check(self, study: Study) -> None:
        """Refuse, with the fix, a study this executor cannot serve (before anything runs)."""

    def start(self, study: Study, fn: Callable[..., Any], call: Run) -> None:
        """Get ready to run ``fn`` (``call`` is it as ``call(hp, trial)``) for ``study``."""

    @abc.abstractmethod
    def submit(self, trial: Trial) -> None:
        """Start ``trial`` (``in_flight < capacity``)."""

    @abc.abstractmethod
    def wait_one(self) -> tuple[Trial, Run]:
        """Block until a submitted trial is done; it and the ``run`` that finishes it."""

    def finished(self, frozen: FrozenTrial) -> None:
        """The loop stored ``frozen`` (evidence for pruners of trials still in flight)."""

    def shutdown(self) -> None:
        """Stop what is still running and release workers (called once, also on errors)."""


class InProcessExecutor(Executor):
    """Runs each trial in this process, one at a time, when the loop waits for it."""

    def __init__(self) -> None:
        self._pending: Trial | None = None
        self._call: Run | None = None

    @property
    def capacity(self) -> int:
        return 1

    @property
    def in_flight(self) -> int:
        return int(self._pending is not None)

    def start(self, study: Study, fn: Callable[..., Any], call: Run) -> None:
        self._call = call

    def submit(self, trial: Trial) -> None:
        self._pending = trial

    def wait_one(self) -> tuple[Trial, Run]:
        trial, self._pending = self._pending, None
        assert trial is not None and self._call is not None
        return trial, self._call


def resolve_executor(study: Study, n_jobs: int, executor: Any) -> Executor:
    """The executor for ``optimize(n_jobs=..., executor=...)``, checked against ``study``;
    errors name the fix."""
    chosen = _choose(n_jobs, executor)
    chosen.check(study)
    return chosen


def _choose(n_jobs: int, executor: Any) -> Executor:
    if executor is not None:
        if n_jobs != 1:
            raise ValueError(
                f"Pass n_jobs={n_jobs!r} or executor={executor!r}, not both; an executor "
                "sets its own concurrency (e.g. RayExecutor(max_concurrent=...))."
            )
        if isinstance(executor, Executor):
            return executor
        if executor == "ray":
            from ._ray import RayExecutor

            return RayExecutor()
        raise ValueError(
            f"executor={executor!r} is not known; use executor='ray', "
            "executor=tunewise.engine.RayExecutor(num_cpus=..., num_gpus=..., address=...), "
            "n_jobs=k for k worker processes, or any tunewise.engine.Executor."
        )
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(
            f"n_jobs={n_jobs!r} must be a positive number of worker processes, or -1 for one "
            "per CPU."
        )
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if n_jobs == 1:
        return InProcessExecutor()
    from ._processes import ProcessExecutor

    return ProcessExecutor(n_jobs)


def make_call(fn: Callable[..., Any]) -> Run:
    """Call ``fn(hp)`` or ``fn(hp, trial)``, by how many positional parameters it takes."""
    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
    except (TypeError, ValueError):
        params = []
    if len(params) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params):
        return _TwoArguments(fn)
    return _OneArgument(fn)


class _OneArgument:
    """``fn(hp)`` as ``call(hp, trial)``; picklable (it travels to worker processes)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, hp: Any, trial: Trial) -> Any:
        return self.fn(hp)


class _TwoArguments(_OneArgument):
    def __call__(self, hp: Any, trial: Trial) -> Any:
        return self.fn(hp, trial)
