"""The search loop: one loop over an executor, for trials in this process, in worker
processes and on Ray alike.

The loop keeps up to ``executor.capacity`` trials in flight: it asks the study for a trial
(a stored re-run first), submits it, and when the executor hands back a finished one, finishes
it in this process (:func:`~._finishing.run_one`), calls the callbacks and applies the failure
policy. Limits (``max_trials`` for the study, ``timeout``), stop reasons, messages and the
failure policy are therefore the same whatever runs the trials.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import trial_attrs as keys
from ..errors import FatalError, TooManyFailedTrialsError
from ..trial import FrozenTrial, Trial, TrialState
from . import _scheduling
from ._executors import Executor, make_call, resolve_executor
from ._finishing import interrupt, run_one

if TYPE_CHECKING:
    from ._study import Study

Callback = Callable[["Study", FrozenTrial], None]


@dataclass(frozen=True)
class Limits:
    """When the loop stops starting trials: ``max_trials`` for the study (None: no limit),
    ``timeout`` seconds after ``started`` (``time.monotonic()``; None: none)."""

    max_trials: int | None
    timeout: float | None
    started: float

    def reached(self, study: Study) -> str | None:
        """``"stop_requested"``, ``"max_trials"`` or ``"timeout"`` when one stops new trials,
        else None. Stored re-runs never count toward ``max_trials``: they run while any is left."""
        if study.stop_requested:
            return "stop_requested"
        if (
            self.max_trials is not None
            and study.n_slots >= self.max_trials
            and not study.cache.waiting()
        ):
            return "max_trials"
        if self.timeout is not None and time.monotonic() - self.started >= self.timeout:
            return "timeout"
        return None


def run_search(
    study: Study, executor: Executor, limits: Limits, callbacks: Sequence[Callback]
) -> str:
    """Run trials until a limit; returns why it stopped (stored in the study's run log)."""
    failures = _FailurePolicy(study)
    stop: str | None = None
    while True:
        while stop is None and executor.in_flight < executor.capacity:
            stop = limits.reached(study)
            if stop is not None:
                break
            trial = study.ask()
            if trial is None:
                if study.full:  # other workers took the last slots
                    study.full, stop = False, "max_trials"
                elif executor.in_flight == 0:
                    stop = _why_no_trial(study)
                break  # wait for a trial in flight: its result may open new work
            _report_start(study, trial, limits)
            executor.submit(trial)
        if executor.in_flight == 0:
            if stop == "max_trials":
                study.sync(force=True)  # a last look for dead workers' trials to re-run
                if study.cache.waiting():
                    stop = None
                    continue
            if stop is None:
                continue
            _say_stop(study, stop, limits)
            return stop
        trial, run = executor.wait_one()
        done = run_one(study, run, trial)
        if done is None:  # this worker lost the trial; another re-runs it
            study.reporter.trial_lost(trial.number)
            continue
        executor.finished(done.frozen)
        _report(study, done.frozen, done.rerun, limits)
        for callback in callbacks:
            callback(study, done.frozen)
        failures.check(done.frozen, done.fatal, done.rerun)


def _report_start(study: Study, trial: Trial, limits: Limits) -> None:
    """The trial's start on the console: its place and the values chosen for it."""
    stored = study.cache.get(trial.number)
    values = stored.values if stored is not None else dict(trial.hyperparameters.values)
    study.reporter.trial_started(trial, slot_of(study, trial), limits.max_trials, values)


def _report(study: Study, frozen: FrozenTrial, rerun: bool, limits: Limits) -> None:
    """The trial's line on the console (and log)."""
    if not study.reporter.enabled:
        return
    note = ""
    if rerun:
        cut = frozen.attrs.get(keys.CUT_BY_CRASH) or frozen.attrs.get(keys.INTERRUPTED)
        original = frozen.original_number
        attempts = sum(1 for t in study.trials if t.original_number == original and t.state.is_finished)
        note = (
            " (re-run follows)"
            if cut
            else f" (re-run {attempts} of {study.max_retries_per_trial} follows)"
        )
    study.reporter.trial_finished(
        frozen, slot_of(study, frozen), limits.max_trials, study.cache.best, study.objective,
        note, done=finished_slots(study), front=_front_size(study),
    )


def _front_size(study: Study) -> int | None:
    """The size of a Pareto study's front (None for one objective or a sum)."""
    return len(study.pareto_front()) if study.is_pareto else None


def slot_of(study: Study, trial: Trial | FrozenTrial) -> int:
    """The trial's place among the study's trials counted toward ``max_trials`` (from 1): its
    first attempt's rank by number among the trials that are not re-runs."""
    first = trial.original_number
    return sum(1 for t in study.trials if t.retry_of is None and t.number <= first)


def finished_slots(study: Study) -> int:
    """The study's trials toward ``max_trials`` whose first attempt has finished."""
    return sum(1 for t in study.trials if t.retry_of is None and t.state.is_finished)


def _why_no_trial(study: Study) -> str:
    if study.scheduler is not None and _scheduling.schedule_complete(study):
        return "schedule_complete"
    return "exhausted"


def _say_stop(study: Study, stop: str, limits: Limits) -> None:
    if stop == "timeout":
        study.reporter.note(f"Timeout of {limits.timeout:g}s reached; no new trial started.")
    elif stop == "schedule_complete":
        study.reporter.note(_scheduling.complete_note(study))
    elif stop == "exhausted":
        study.reporter.note(
            "Search space exhausted after "
            f"{study.count_unique_configurations()} unique configurations: every "
            "configuration has been tried, so the search stops. Widen the space "
            "(more values, a finer step) to search further."
        )


class _FailurePolicy:
    """Consecutive failures and fatal errors: when the search must stop."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.consecutive = 0

    def check(self, frozen: FrozenTrial, fatal: BaseException | None, rerun: bool) -> None:
        if frozen.state is not TrialState.FAILED:
            self.consecutive = 0
            return
        if fatal is not None:
            raise fatal
        if rerun:
            return  # a re-run follows; the configuration has not failed yet
        self.consecutive += 1
        limit = self.study.max_consecutive_failed_trials
        if limit and self.consecutive >= limit:
            raise TooManyFailedTrialsError(
                f"Number of consecutive failures exceeded the limit of {limit}: "
                f"{self.consecutive} trials in a row failed "
                f"(max_consecutive_failed_trials={limit}); the search stops. Completed "
                f"trials are kept in {self.study.location}. The last failure:\n{frozen.reason}"
            )


def run_record(
    study: Study, run: dict[str, Any], ran: Sequence[FrozenTrial], stopped: str
) -> dict[str, Any]:
    """The run log entry of one ``optimize`` call (read by the doctor)."""
    from ..schedulers import total_units_trained

    finished = [t for t in ran if t.state.is_finished]
    return {
        **run,
        "finished_at": time.time(),
        "trials_run": len(finished),
        "trials_by_state": {
            s.value.lower(): sum(t.state is s for t in finished)
            for s in (TrialState.COMPLETED, TrialState.PRUNED, TrialState.FAILED)
        },
        "stopped_because": stopped,
        "epochs_trained": total_units_trained(finished),
    }


def optimize(
    study: Study,
    fn: Callable[..., Any],
    max_trials: int | None,
    timeout: float | None,
    callbacks: Sequence[Callback],
    n_jobs: int,
    executor: Any,
) -> Study:
    """``Study.optimize`` (see there): the checks, the loop, Ctrl-C, the run log."""
    if max_trials is not None and int(max_trials) < 1:
        raise ValueError(f"max_trials={max_trials!r} must be >= 1 (or None for no limit).")
    runner = resolve_executor(study, n_jobs, executor)
    study.sync(force=True)  # other workers may have run trials since this study opened
    limits = Limits(max_trials, timeout, time.monotonic())
    run: dict[str, Any] = {"started_at": time.time(), "max_trials": max_trials, "timeout": timeout}
    first_new = len(study.trials)
    if max_trials is not None and study.n_slots >= max_trials and not study.cache.waiting():
        study.reporter.note(
            f"Study {study.name!r} in {study.location} already has {study.n_slots} trials "
            f"(max_trials={max_trials}): no new trial will run, so the best objective "
            "shown is the stored one. To search further, raise max_trials (e.g. "
            f"max_trials={max_trials * 2}), or pass overwrite=True to start afresh."
        )
        _record_run(study, run, first_new, "already_finished")
        return study
    if study.scheduler is not None and _scheduling.schedule_complete(study):
        study.reporter.note(_scheduling.complete_note(study, already=True))
        _record_run(study, run, first_new, "already_finished")
        return study
    if study.reporter.verbose > 0 and not study.is_pareto:  # a stall of one best
        from ..diagnostics._watch import StallWatcher  # the doctor sits above the engine

        callbacks = [*callbacks, StallWatcher()]
    study.ensure_heartbeat()
    study.max_trials, study.full, study.stop_requested = max_trials, False, False
    study.reporter.search_started(max_trials, finished_slots(study), study.cache.best, timeout)
    stopped = "error"
    asked_before = set(study.running)  # ask()ed by the caller: not this search's to cut
    try:
        runner.start(study, fn, make_call(fn))
        stopped = run_search(study, runner, limits, callbacks)
    except KeyboardInterrupt:
        runner.shutdown()
        stopped = "interrupted"
        cut = interrupt(study, spare=asked_before)
        ran = [t for t in study.trials[first_new:] if t.state.is_finished and t not in cut]
        study.reporter.note(
            f"Interrupted (Ctrl-C): {len(ran)} trials finished in this run; {len(cut)} "
            "running trial(s) marked interrupted, re-run when the search resumes."
        )
    except (FatalError, TooManyFailedTrialsError) as exc:
        stopped = "fatal_error" if isinstance(exc, FatalError) else "too_many_failures"
        raise
    finally:
        runner.shutdown()
        # Trials still in flight when an error stopped the loop: re-run on resume.
        interrupt(study, f"The search stopped ({stopped})", asked_before)
        study.stop_heartbeat()
        study.max_trials = None
        _record_run(study, run, first_new, stopped)
        study.reporter.search_finished(
            [t for t in study.trials[first_new:] if t.state.is_finished],
            time.monotonic() - limits.started,
            study.cache.best,
            study.objective,
            front=_front_size(study),
            infeasible=_infeasible_count(study),
        )
    return study


def _infeasible_count(study: Study) -> int:
    """Completed trials that violate a constraint."""
    from ..pareto import feasibility

    return sum(
        1 for t in study.trials if t.state is TrialState.COMPLETED and feasibility(t) is False
    )


def _record_run(study: Study, run: dict[str, Any], first_new: int, stopped: str) -> None:
    """Append this optimize call to the study's run log (read by the doctor)."""
    record = run_record(study, run, study.trials[first_new:], stopped)
    record["events"] = list(study.events)
    study.events.clear()
    study.storage.append_run(study.study_id, record)
