"""Keras trials outside the search's process: Ray tasks (``executor=``), ``n_jobs`` and
``isolate``.

``tuner.search(x, y, ..., executor=tunewise.RayExecutor(...))`` (or ``executor="ray"``) runs
each trial as a Ray task; ``n_jobs=k`` runs them in k worker processes of the engine's
:class:`~tunewise.engine.ProcessExecutor` (fresh interpreters, never forked: TensorFlow and
JAX are not fork-safe once they have run, and the tuner has already built a model here).
``isolate=True`` runs each trial in a fresh worker process that exits after it
(``ProcessExecutor(k, max_trials_per_worker=1)``, k = ``n_jobs``), so the memory a trial
leaves behind (RAM, accelerator memory) goes back to the system after every trial. It is
refused with ``executor=``: that executor chooses its processes (Ray's own ``max_calls``).

The process calling ``search`` (the driver) keeps the study: storage, sampler, best so far.
Each worker gets a copy of the tuner without its study (the hypermodel, ``fit``'s arguments
and the tuner's settings, serialised with cloudpickle), builds and fits the trial's model(s)
through the tuner's own ``run_trial`` (overrides included) with the epoch recorder, and sends
back every epoch's metrics (stored as the trial's steps), the trial's attrs and the best
epoch's weights as numpy arrays, which the driver writes where ``get_best_models()`` reads
them. A pruner judges each epoch against the study's finished trials, as in-process. Hyperband
runs in worker processes on this machine: the driver writes each trial's best weights before
the trial is stored (so before any promotion of it is asked for), and a promoted trial's worker
reads its parent's weights file from disk, as in-process. Ray workers may be on other machines
without that disk, so Hyperband refuses Ray.

Keras Tuner's hooks: ``on_trial_begin`` and the ``on_epoch_*``/``on_batch_*`` hooks run in the
worker, on its copy of the tuner (where the trial and its model are), so what they set on
``self`` does not reach the driver; ``on_trial_end`` runs in the driver, with the stored trial.
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ...engine import ConsoleReporter, ProcessExecutor
from ...trial import Trial
from ._recording import TrialRecord

if TYPE_CHECKING:
    from ...objective import MultiObjective, Objective
    from ...space import HyperParameters
    from ._tuner import Tuner

#: Tuner attributes that hold the driver's study, storage or console; never sent to tasks.
_DRIVER_ONLY = frozenset({"study", "oracle", "_study_kwargs", "_reporter", "_records", "_current"})


@contextlib.contextmanager
def trial_runner(
    tuner: Tuner, executor: Any, n_jobs: Any, isolate: Any = False
) -> Iterator[tuple[Any, Any]]:
    """``(objective, executor)`` for ``study.optimize``: the tuner's own trial code
    in-process, else a :class:`RemoteKerasTrials` for Ray or worker processes (``n_jobs``;
    ``isolate=True``: a fresh process per trial)."""
    if not isinstance(isolate, bool):
        raise TypeError(
            f"isolate={isolate!r} must be True (run each trial in a fresh process of its own, "
            "which gives its memory back when the trial ends) or False (the default)."
        )
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(
            f"n_jobs={n_jobs!r} must be a positive number of trials at once, or -1 for one per CPU."
        )
    if executor is None and n_jobs == 1 and not isolate:
        yield tuner._run_and_record, None
        return
    if executor is not None and n_jobs != 1:
        raise ValueError(
            f"Pass n_jobs={n_jobs!r} or executor={executor!r}, not both; a Ray executor sets "
            "its own concurrency (RayExecutor(max_concurrent=...))."
        )
    if executor is not None and isolate:
        raise ValueError(
            f"isolate=True starts tunewise's own worker processes, one per trial; with "
            f"executor={executor!r} the executor chooses the processes (Ray keeps a CPU task's "
            "worker for later tasks, and already ends a GPU task's worker after each task: "
            "its max_calls=1 default for num_gpus > 0). Pass isolate=True with n_jobs, or "
            "executor=tunewise.ProcessExecutor(k, max_trials_per_worker=1), not both."
        )
    where = ", ".join(
        ([f"n_jobs={n_jobs}"] if n_jobs != 1 else [])
        + (["isolate=True"] if isolate else [])
        + ([f"executor={executor!r}"] if executor is not None else [])
    )
    if executor is None:
        jobs = n_jobs if n_jobs > 0 else os.cpu_count() or 1
        executor = ProcessExecutor(jobs, max_trials_per_worker=1 if isolate else None)
        executor.check(tuner.study)
    if tuner.study.scheduler is not None and not isinstance(executor, ProcessExecutor):
        raise ValueError(
            f"{type(tuner).__name__} cannot run trials with {where}: a promoted trial continues "
            "its parent's weights, which are stored on this machine's disk, where the "
            "executor's workers may not be. Use n_jobs=k or isolate=True (worker processes on "
            "this machine), search in-process, or start this script several times on one "
            "storage (same project_name and storage=)."
        )
    if tuner._distribution_strategy is not None:
        raise ValueError(
            f"distribution_strategy cannot travel to other processes ({where}); create the "
            "strategy inside build(hp), or search in-process."
        )
    task = TaskTuner(tuner)
    problem = task.unpicklable()
    if problem is not None:
        name, exc = problem
        raise TypeError(
            f"The {name} cannot be sent to other processes ({where}): {type(exc).__name__}: "
            f"{exc}. The hypermodel, search()'s arguments and the tuner's settings travel "
            "with cloudpickle; create what cannot be pickled (locks, open files, tf.data "
            "pipelines, sessions) inside build(hp), pass arrays to search(), or search "
            "in-process."
        )
    yield RemoteKerasTrials(tuner, task), executor


class RemoteKerasTrials:
    """The objective the driver passes to ``study.optimize`` with an executor: workers run
    :class:`TaskTuner`, and :meth:`finish_in_driver` stores what they send back."""

    def __init__(self, tuner: Tuner, task: TaskTuner) -> None:
        self._tuner, self._task = tuner, task

    def __call__(self, hp: HyperParameters, trial: Trial) -> Any:
        raise RuntimeError(
            "RemoteKerasTrials runs only through an executor (study.optimize(..., executor=...))."
        )

    def task_part(self) -> TaskTuner:
        return self._task

    def finish_in_driver(self, result: Any, trial: Trial) -> None:
        """Write the best epoch's weights the task sent back; the steps are stored already."""
        if not isinstance(result, FitResult):
            raise TypeError(f"A Keras task returned {type(result).__name__}, not a FitResult.")
        self._tuner._save_best_weights(
            trial, TrialRecord(best_weights=result.best_weights, build_config=result.build_config)
        )


class FitResult:
    """What a task sends back besides steps and attrs: the best epoch's weights (or None)
    and the build config of their model (for models built lazily on their first fit)."""

    def __init__(
        self, best_weights: list[np.ndarray] | None, build_config: dict[str, Any] | None = None
    ) -> None:
        self.best_weights = best_weights
        self.build_config = build_config


class _TaskStudy:
    """What the tuner's trial code reads from its study, in a task. With a pruner, the
    trial's ``should_prune()`` asks the executor (a Ray actor, or the worker process's read
    of the storage), which sees the study's finished trials."""

    scheduler = None

    def __init__(
        self, seed: int, objective: Objective | MultiObjective, pruner: Any = None,
        name: str = "",
    ) -> None:
        self.seed, self.objective, self.pruner = seed, objective, pruner
        self.name = name  # the trial folders' parent (a promoted trial reads its parent's)
        self.running: dict[int, Trial] = {}  # the task's trial (its folder is created here)


def _weights_stay_in_record(trial: Trial, record: TrialRecord) -> None:
    """In a task the weights are not written: they travel back to the driver."""


class TaskTuner:
    """A picklable copy of a tuner without its study; each call runs one trial in a task."""

    def __init__(self, tuner: Tuner) -> None:
        self.tuner_class = type(tuner)
        self.state = {k: v for k, v in vars(tuner).items() if k not in _DRIVER_ONLY}
        study = tuner.study
        self.study = _TaskStudy(study.seed, study.objective, study.pruner, study.name)

    def unpicklable(self) -> tuple[str, Exception] | None:
        """The first part that cloudpickle cannot serialise (named for the user), or None.

        Arrays are skipped (they always pickle, and copying large data twice is wasteful).
        """
        import cloudpickle

        fit_args = self.state.get("_fit_args", ())
        fit_kwargs = self.state.get("_fit_kwargs", {})
        parts: list[tuple[str, Any]] = [(f"tuner class {self.tuner_class.__name__}", None)]
        parts += [
            (f"tuner attribute {k}", v)
            for k, v in self.state.items()
            if k not in ("_fit_args", "_fit_kwargs")
        ]
        parts += [(f"search() argument {i}", v) for i, v in enumerate(fit_args)]
        parts += [(f"search({k}=...) argument", v) for k, v in fit_kwargs.items()]
        for name, value in parts:
            if isinstance(value, np.ndarray):
                continue
            try:
                cloudpickle.dumps(self.tuner_class if value is None else value)
            except Exception as exc:  # noqa: BLE001 - any failure: this part cannot travel
                return name, exc
        return None

    def __call__(self, hp: HyperParameters, trial: Trial) -> FitResult:
        tuner = object.__new__(self.tuner_class)
        tuner.__dict__.update(self.state)
        tuner.study = copy.copy(self.study)
        tuner.study.running = {trial.number: trial}
        tuner._reporter = ConsoleReporter(0)
        tuner._records = {}
        tuner._save_best_weights = _weights_stay_in_record
        tuner._run_and_record(hp, trial)  # steps and attrs go on the trial; raises if pruned
        record = tuner._records.pop(trial.number)
        return FitResult(record.best_weights, record.build_config)
