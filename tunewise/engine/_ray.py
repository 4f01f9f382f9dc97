"""Trials as Ray tasks: ``study.optimize(fn, executor=RayExecutor(...))`` or ``executor="ray"``.

The driver (the process calling ``optimize``) keeps the storage: it asks for up to
``max_concurrent`` trials (each RUNNING one reaches the sampler as pending, so concurrent trials
try different configurations), sends each trial's hyperparameters and ``fn`` to a Ray task with
the trial's resources (``num_cpus``, ``num_gpus``), and when a task returns, stores the steps it
reported, its result or its error, exactly as a local trial. Heartbeats of the in-flight trials
come from the driver. The tasks need no database access and no credentials.

In a task, ``trial.report(step, metrics)`` collects steps (stored when the task returns).
With a pruner, ``trial.should_prune()`` asks a small Ray actor the driver starts (no CPU of its
own): it holds the pruner and the study's finished trials, which the driver adds to as each
trial ends, so a task's trial is judged against the same evidence as a local one. ``fn`` must
be serialisable by Ray (cloudpickle: module functions, closures over plain data).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import FailedTrialError, FatalError, TooManyFailedTrialsError, TrialPruned
from ..samplers import Sampler
from ..schedulers import Pruner
from ..schedulers._pruners import verdict as pruner_verdict
from ..trial import FrozenTrial, Step, Trial, TrialState

if TYPE_CHECKING:
    from ..space import HyperParameter, HyperParameters
    from ._study import Study


class RemoteTrialError(RuntimeError):
    """An objective raised in a Ray task; the message is the task's traceback."""


class RayExecutor:
    """Run trials as Ray tasks on a Ray cluster (or a local Ray started on 127.0.0.1).

    Args:
        num_cpus, num_gpus: resources of each trial's task.
        address: an existing cluster (``"auto"``, ``"ray://host:10001"``); None starts a
            local Ray bound to 127.0.0.1 without a dashboard (unless Ray is already running in
            this process, which is then used as is).
        max_concurrent: trials in flight at once; default the cluster's CPUs / ``num_cpus``.
        init_kwargs: more keyword arguments for ``ray.init``.
    """

    def __init__(
        self,
        num_cpus: float = 1,
        num_gpus: float = 0,
        address: str | None = None,
        max_concurrent: int | None = None,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if num_cpus < 0 or num_gpus < 0:
            raise ValueError(
                f"num_cpus={num_cpus!r} and num_gpus={num_gpus!r} must be >= 0 (resources of "
                "one trial's Ray task)."
            )
        if max_concurrent is not None and int(max_concurrent) < 1:
            raise ValueError(f"max_concurrent={max_concurrent!r} must be >= 1 (or None).")
        self.num_cpus, self.num_gpus = num_cpus, num_gpus
        self.address = address
        self.max_concurrent = None if max_concurrent is None else int(max_concurrent)
        self.init_kwargs = dict(init_kwargs or {})

    def __repr__(self) -> str:
        return (
            f"RayExecutor(num_cpus={self.num_cpus}, num_gpus={self.num_gpus}, "
            f"address={self.address!r}, max_concurrent={self.max_concurrent})"
        )

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError:
            raise ImportError("executor='ray' needs Ray: pip install 'tunewise[ray]'.") from None
        if not ray.is_initialized():
            kwargs = dict(self.init_kwargs)
            if self.address is None:
                kwargs.setdefault("_node_ip_address", "127.0.0.1")
                kwargs.setdefault("include_dashboard", False)
            else:
                kwargs["address"] = self.address
            kwargs.setdefault("log_to_driver", True)
            ray.init(**kwargs)
        return ray

    def _concurrency(self, ray: Any) -> int:
        if self.max_concurrent is not None:
            return self.max_concurrent
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        return max(1, int(cpus // self.num_cpus) if self.num_cpus > 0 else int(cpus))

    def run(
        self,
        study: Study,
        fn: Callable[..., Any],
        call: Callable[..., Any],
        max_trials: int | None,
        timeout: float | None,
        started: float,
        callbacks: Sequence[Callable[..., None]],
    ) -> str:
        ray = self._ray()
        task = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=0)(_run_trial)
        limit = self._concurrency(ray)
        in_flight: dict[Any, Trial] = {}
        exhausted = False
        consecutive_failures = 0
        task_part, finish = _split(fn, call)
        call_ref = ray.put(task_part)
        pruning = None
        if study.pruner is not None:
            finished = [t for t in study.trials if t.state.is_finished]
            pruning = ray.remote(num_cpus=0)(PruningService).remote(study.pruner, finished)
        try:
            while True:
                stop = None
                while len(in_flight) < limit and not exhausted:
                    stop = _limit_reached(study, max_trials, timeout, started)
                    if stop is not None:
                        break
                    trial = study.ask()
                    if trial is None:
                        if study._full:  # other workers took the last slots
                            study._full, stop = False, "max_trials"
                            break
                        exhausted = True
                        break
                    hps = trial.hyperparameters
                    hps._new_value = _NewValue(study, trial.number)
                    ref = task.remote(
                        call_ref, hps, trial.number, study.objective.name, trial.retry_of, pruning
                    )
                    in_flight[ref] = trial
                if not in_flight:
                    if exhausted:
                        study.reporter.note(
                            "Search space exhausted after "
                            f"{study.count_unique_configurations()} unique configurations: "
                            "every configuration has been tried, so the search stops."
                        )
                        return "exhausted"
                    if stop == "max_trials":
                        with study._lock:
                            study._sync(force=True)  # a last look for dead workers' trials
                        if study._reruns:
                            continue
                    if stop == "timeout":
                        study.reporter.note(
                            f"Timeout of {timeout:g}s reached; no new trial started."
                        )
                    return stop or "max_trials"
                (done,), _ = ray.wait(list(in_flight), num_returns=1)
                trial = in_flight.pop(done)
                try:
                    outcome = ray.get(done)
                except Exception as exc:  # noqa: BLE001 - the task's worker died, or Ray lost it
                    outcome = _Outcome(None, [], {}, None, exc, f"{type(exc).__name__}: {exc}")
                replay = outcome.replay if finish is None else _Finishing(outcome, finish)
                frozen, fatal = study._run_one(replay, trial, max_trials)
                if pruning is not None:  # evidence for the tasks still running and the next
                    ray.get(pruning.add.remote(frozen))  # (waited for: no task starts before)
                for callback in callbacks:
                    callback(study, frozen)
                if frozen.state is not TrialState.FAILED:
                    consecutive_failures = 0
                    continue
                if study._reruns and study._reruns[0][0] == _original(frozen):
                    continue
                consecutive_failures += 1
                if fatal is not None:
                    raise fatal
                cap = study.max_consecutive_failed_trials
                if cap and consecutive_failures >= cap:
                    raise TooManyFailedTrialsError(
                        f"{consecutive_failures} trials in a row failed "
                        f"(max_consecutive_failed_trials={cap}); the search stops. Completed "
                        f"trials are kept in {study.location}. The last failure:\n{frozen.reason}"
                    )
        finally:
            for ref, trial in in_flight.items():
                ray.cancel(ref, force=True)
                study.fail(trial, "The search stopped while this trial ran in Ray; cancelled.")


def _split(fn: Any, call: Callable[..., Any]) -> tuple[Callable[..., Any], Any]:
    """What the tasks run, and what the driver does with each task's result.

    An objective may split itself: ``fn.task_part()`` returns the picklable ``(hp, trial)``
    callable each task runs, and ``fn.finish_in_driver(result, trial)``, called in the driver
    with what a task returned (after its steps and attrs are stored on ``trial``), returns the
    result to store. The Keras tuners use this: the task fits, the driver keeps the weights.
    """
    task_part = getattr(fn, "task_part", None)
    if task_part is None:
        return call, None
    return task_part(), fn.finish_in_driver


class _Finishing:
    """A task's replay followed by the objective's driver half."""

    def __init__(self, outcome: _Outcome, finish: Callable[[Any, Trial], Any]) -> None:
        self.outcome, self.finish = outcome, finish

    def __call__(self, hp: Any, trial: Trial) -> Any:
        return self.finish(self.outcome.replay(hp, trial), trial)


def _limit_reached(
    study: Study, max_trials: int | None, timeout: float | None, started: float
) -> str | None:
    if max_trials is not None and study.n_slots >= max_trials and not study._reruns:
        return "max_trials"
    if timeout is not None and time.monotonic() - started >= timeout:
        return "timeout"
    return None


def _original(frozen: Any) -> int:
    return frozen.number if frozen.retry_of is None else frozen.retry_of


class _NewValue:
    """A picklable define-by-run hook: the value of a hyperparameter first met in a task."""

    def __init__(self, study: Study, number: int) -> None:
        self.declared = set(study._declared)
        self.allow_new = study.allow_new_entries
        self.tune_new = study.tune_new_entries
        # The base rule needs no sampler state; a sampler with its own rule travels along.
        own_rule = type(study.sampler).new_value is not Sampler.new_value
        self.sampler = study.sampler if own_rule else None
        self.rng = np.random.default_rng([study.seed, number, 0x7261])

    def __call__(self, hp: HyperParameter) -> Any:
        if self.declared and hp.name not in self.declared:
            if not self.allow_new:
                raise ValueError(
                    f"Hyperparameter {hp.name!r} is not in the declared hyperparameters and "
                    "allow_new_entries=False. Declare it, or pass allow_new_entries=True."
                )
            if not self.tune_new:
                return hp.default
        if self.sampler is not None:
            return self.sampler.new_value(hp, self.rng)
        return hp.from_unit(self.rng.random())


class _Outcome:
    """What a task sends back: its result or error, the steps it reported, its attrs."""

    def __init__(
        self,
        result: Any,
        steps: list[Step],
        attrs: dict[str, Any],
        hps: HyperParameters | None,
        error: BaseException | None,
        error_text: str,
    ) -> None:
        self.result, self.steps, self.attrs, self.hps = result, steps, attrs, hps
        self.error, self.error_text = error, error_text

    def replay(self, hp: Any, trial: Trial) -> Any:
        """Replay the task in the driver: store its steps, then return or raise as it did."""
        if self.hps is not None:
            trial.hyperparameters = self.hps
        for step in self.steps:
            trial.report(step.step, step.metrics)
        trial.attrs.update(self.attrs)
        if self.error is None:
            return self.result
        if isinstance(self.error, (TrialPruned, FailedTrialError, FatalError)):
            raise self.error
        raise RemoteTrialError(self.error_text)


def _no_store(trial: Trial, step: Step) -> None:
    """Steps of a task are kept on the trial and stored by the driver."""


class PruningService:
    """The pruner's side of a Ray search, run as an actor: the pruner and the study's finished
    trials (the only ones a pruner uses as evidence), kept up to date by the driver."""

    def __init__(self, pruner: Pruner, finished: Sequence[FrozenTrial]) -> None:
        self.pruner = pruner
        self.finished = {t.number: t for t in finished}

    def add(self, frozen: FrozenTrial) -> None:
        """A trial the driver has just stored (only finished ones are kept)."""
        if frozen.state.is_finished:
            self.finished[frozen.number] = frozen

    def should_prune(self, number: int, steps: list[Step]) -> bool:
        """The verdict on running trial ``number`` that reported ``steps``."""
        others = [t for n, t in self.finished.items() if n != number]
        return pruner_verdict(self.pruner, steps, others)


class _AskService:
    """A task trial's ``ask_pruner``: one round trip to the :class:`PruningService` actor."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def __call__(self, trial: Trial) -> bool:
        import ray

        return bool(ray.get(self.service.should_prune.remote(trial.number, list(trial.steps))))


def _run_trial(
    call: Callable[..., Any],
    hps: Any,
    number: int,
    objective_name: str,
    retry_of: int | None,
    pruning: Any = None,
) -> _Outcome:
    """The Ray task: run one trial; never raises (errors travel back as data). ``pruning``:
    the search's :class:`PruningService` actor, or None without a pruner."""
    ask = None if pruning is None else _AskService(pruning)
    trial = Trial(number, hps, objective_name, _no_store, retry_of=retry_of, ask_pruner=ask)
    try:
        result = call(hps, trial)
    except Exception as exc:  # noqa: BLE001 - any error of the objective travels back as data
        text = traceback.format_exc()
        try:
            import pickle

            pickle.dumps(exc)
        except Exception:  # noqa: BLE001 - an exception Ray cannot send: send its traceback
            exc = RemoteTrialError(text)
        return _Outcome(None, list(trial.steps), dict(trial.attrs), hps, exc, text)
    return _Outcome(result, list(trial.steps), dict(trial.attrs), hps, None, "")
