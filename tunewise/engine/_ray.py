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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..trial import FrozenTrial, Step, Trial
from ._executors import Executor, Run
from ._remote import (
    Outcome,
    PruningEvidence,
    RemoteTrialError,
    replayer,
    run_remote_trial,
    split_objective,
)

if TYPE_CHECKING:
    from ._study import Study

__all__ = ["RayExecutor", "RemoteTrialError"]


class RayExecutor(Executor):
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
        self._in_flight: dict[Any, Trial] = {}
        self._limit = 1
        self._task: Any = None
        self._call_ref: Any = None
        self._finish: Any = None
        self._pruning: Any = None

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

    @property
    def capacity(self) -> int:
        return self._limit

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def start(self, study: Study, fn: Callable[..., Any], call: Run) -> None:
        ray = self._ray()
        self._task = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=0)(
            _run_trial
        )
        self._limit = self._concurrency(ray)
        task_part, self._finish = split_objective(fn, call)
        self._call_ref = ray.put(task_part)
        self._pruning = None
        if study.pruner is not None:
            finished = [t for t in study.trials if t.state.is_finished]
            self._pruning = ray.remote(num_cpus=0)(PruningEvidence).remote(study.pruner, finished)

    def submit(self, trial: Trial) -> None:
        ref = self._task.remote(
            self._call_ref,
            trial.hyperparameters,
            trial.number,
            trial._objective_name,
            trial.retry_of,
            dict(trial.attrs),
            self._pruning,
        )
        self._in_flight[ref] = trial

    def wait_one(self) -> tuple[Trial, Run]:
        import ray

        (done,), _ = ray.wait(list(self._in_flight), num_returns=1)
        trial = self._in_flight.pop(done)
        try:
            outcome = ray.get(done)
        except Exception as exc:  # noqa: BLE001 - the task's worker died, or Ray lost it
            outcome = Outcome.lost(
                f"The Ray task running trial {trial.number} was lost ({type(exc).__name__}: "
                f"{exc})."
            )
        return trial, replayer(outcome, self._finish)

    def finished(self, frozen: FrozenTrial) -> None:
        if self._pruning is not None:  # evidence for the tasks still running and the next
            import ray

            ray.get(self._pruning.add.remote(frozen))  # (waited for: no task starts before)

    def shutdown(self) -> None:
        if self._in_flight:
            import ray

            for ref in self._in_flight:
                ray.cancel(ref, force=True)
        self._in_flight = {}


class _AskService:
    """A task trial's ``ask_pruner``: one round trip to the :class:`PruningEvidence` actor."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def __call__(self, trial: Trial) -> bool:
        import ray

        return bool(ray.get(self.service.should_prune.remote(trial.number, list(trial.steps))))


def _no_store(trial: Trial, step: Step) -> None:
    """Steps of a task are kept on the trial and stored by the search loop's process."""


def _run_trial(
    call: Callable[..., Any],
    hps: Any,
    number: int,
    objective_name: str,
    retry_of: int | None,
    attrs: dict[str, Any],
    pruning: Any = None,
) -> Outcome:
    """The Ray task: run one trial; never raises (errors travel back as data). ``pruning``:
    the search's :class:`PruningEvidence` actor, or None without a pruner."""
    ask = None if pruning is None else _AskService(pruning)
    trial = Trial(number, hps, objective_name, _no_store, retry_of=retry_of, ask_pruner=ask)
    trial.attrs.update(attrs)
    return run_remote_trial(call, trial, steps_stored=False)
