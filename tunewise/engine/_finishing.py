"""Finishing trials: ``tell``, failures with their stored re-runs, pruning, interrupts.

Every way a trial ends goes through :func:`finish`, which stores the final state only if this
worker still owns the trial (else :class:`~tunewise.errors.TrialNotOwnedError`, nothing
stored), creates a failed trial's WAITING re-run in the same transaction, then registers the
space the trial met (after its values are stored, so a worker that sees the new space also
sees the trial that met it).
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import trial_attrs as keys
from ..errors import FailedTrialError, FatalError, TrialNotOwnedError, TrialPruned
from ..trial import BadResultError, FrozenTrial, Score, Trial, TrialState, as_metrics, score_steps
from . import _scheduling
from ._liveness import crash_rerun_cap
from ._remote import WorkerLostError

if TYPE_CHECKING:
    from ._study import Study

#: Attrs of a scheduled trial's job, which its re-run repeats.
JOB_ATTRS = keys.JOB_KEYS


@dataclass(frozen=True)
class Finished:
    """How one trial ended: its snapshot, a fatal error to raise, whether a re-run follows."""

    frozen: FrozenTrial
    fatal: BaseException | None = None
    rerun: bool = False


def tell(
    study: Study, trial: Trial, result: Any = None, state: TrialState | str | None = None
) -> FrozenTrial:
    """See :meth:`Study.tell`."""
    wanted = TrialState.COMPLETED if state is None else TrialState(state)
    if wanted in (TrialState.RUNNING, TrialState.WAITING):
        raise ValueError(
            f"tell(state={wanted.value}) does not finish a trial; pass state=COMPLETED, PRUNED "
            "or FAILED (or None for the score rule's verdict)."
        )
    if result is not None:
        try:
            metrics = _result_metrics(study, result)
        except BadResultError as exc:
            return fail(study, trial, f"The objective's result is not a number: {exc}").frozen
        trial.report(trial.next_step(), metrics)
    if wanted is TrialState.PRUNED:
        return finish_pruned(study, trial, "", "study.tell(state=PRUNED)")
    if wanted is TrialState.FAILED:
        return fail(study, trial, "Marked FAILED by study.tell(state=FAILED).").frozen
    score = score_steps(trial.steps, study.objective, study.score_rule)
    if score.failure is not None or (score.value is None and not study.is_pareto):
        return finish(study, trial, TrialState.FAILED, None, score.step, score.failure).frozen
    trouble = _evaluate_constraints(study, trial, score)
    if trouble is not None:
        return fail(study, trial, trouble).frozen
    return finish(study, trial, TrialState.COMPLETED, score.value, score.step, None).frozen


def _result_metrics(study: Study, result: Any) -> dict[str, float]:
    """The objective's result as metrics. In a Pareto study a tuple or list of numbers gives
    the objectives' values in order (an Optuna objective's return); a bare number is refused
    (which objective would it be?)."""
    objective = study.objective
    if not study.is_pareto:
        return as_metrics(result, objective.name)
    names = objective.names
    if isinstance(result, (tuple, list)):
        if len(result) != len(names):
            raise BadResultError(
                f"the objective returned {len(result)} values for {len(names)} objectives "
                f"({', '.join(names)}); return one value per objective, in that order, or a "
                "dict of them."
            )
        return as_metrics(dict(zip(names, result)), objective.name)
    if not isinstance(result, Mapping):
        raise BadResultError(
            f"a search with several objectives needs a value for each of {', '.join(names)}: "
            f"return a dict {{{', '.join(repr(n) + ': ...' for n in names)}}} or a tuple in that "
            f"order, not the single value {result!r}."
        )
    return as_metrics(result, objective.name)


def _evaluate_constraints(study: Study, trial: Trial, score: Score) -> str | None:
    """Call the study's ``constraints=`` function on the trial about to complete and keep its
    values in ``trial.attrs``; the reason to fail the trial instead, if any."""
    fn = getattr(study, "constraints", None)
    if fn is None:
        return None
    draft = FrozenTrial(
        number=trial.number,
        state=TrialState.COMPLETED,
        values=_scheduling.stored_values(trial.hyperparameters),
        steps=tuple(trial.steps),
        score=score.value,
        best_step=score.step,
        retry_of=trial.retry_of,
        started_at=trial.started_at,
        finished_at=time.time(),
        attrs=dict(trial.attrs),
        storage_id=trial.storage_id,
    )
    try:
        returned = fn(draft)
    except Exception:  # noqa: BLE001 - the user's function: its error fails the trial
        return "The constraints function raised:\n" + traceback.format_exc()
    if isinstance(returned, Mapping):
        items = [(str(k), v) for k, v in returned.items()]
    elif isinstance(returned, (str, bytes)) or not isinstance(returned, Iterable):
        items = [("constraint_0", returned)]
    else:
        items = [(f"constraint_{i}", v) for i, v in enumerate(returned)]
    try:
        for name, value in items:
            trial.set_constraint(name, value)
    except (BadResultError, ValueError) as exc:
        return f"The constraints function returned a value that is not a finite number: {exc}"
    return None


def fail(
    study: Study, trial: Trial, reason: str, rerun_cap: int = 0, **facts: Any
) -> Finished:
    """Finish ``trial`` FAILED with ``reason``; a WAITING re-run within ``rerun_cap``
    attempts; ``facts`` are set as attrs (e.g. ``interrupted=True``)."""
    for key, value in facts.items():
        trial.set_attr(key, value)
    return finish(study, trial, TrialState.FAILED, None, None, reason, rerun_cap)


def fail_unfinished(study: Study, trial: Trial, reason: str, rerun_cap: int, fact: str) -> Finished:
    """Fail a trial whose objective never finished here (its worker died, Ctrl-C, the search
    stopped): it keeps the configuration it was given (the objective may not have told)."""
    trial.set_attr(fact, True)
    given = study.cache.get(trial.number)
    values = dict(given.values) if given is not None else None
    return finish(study, trial, TrialState.FAILED, None, None, reason, rerun_cap, values)


def finish_pruned(
    study: Study, trial: Trial, message: str, via: str = "the objective (TrialPruned)"
) -> FrozenTrial:
    """Finish ``trial`` as PRUNED at its last reported step.

    Its steps are kept and its score is the score rule's over them (evidence for the
    sampler); it is never the best trial (only COMPLETED trials rank). The reason is one
    line naming the step, who asked for the pruning (the pruner when ``should_prune()`` said
    so, else ``via``), and ``message`` if any.
    """
    step = trial.steps[-1].step if trial.steps else None
    trial.set_attr(keys.PRUNED_AT_STEP, step)
    objective = study.objective
    score = (
        score_steps(trial.steps, objective, study.score_rule)
        if trial.steps
        else Score(None, None, "no step was reported")
    )
    where = f"at step {step}" if step is not None else "before its first step"
    who = (
        f"by {type(study.pruner).__name__}"
        if study.pruner is not None and trial.pruning_requested
        else f"by {via}"
    )
    reason = f"Pruned {where} {who}"
    last = objective.value_from(trial.steps[-1].metrics) if trial.steps else None
    if last is not None:
        reason += f"; {objective.name}={last:.6g} there"
    if score.value is not None:
        reason += f", best {score.value:.6g} at step {score.step}"
    elif score.failure is not None:
        reason += f"; no score ({score.failure})"
    text = " ".join(str(message or "").split())
    if text:
        reason += f": {text}"
    best_step = score.step if score.failure is None else None
    return finish(study, trial, TrialState.PRUNED, score.value, best_step, reason).frozen


def finish(
    study: Study,
    trial: Trial,
    state: TrialState,
    score: float | None,
    best_step: int | None,
    reason: str | None,
    rerun_cap: int = 0,
    given: dict[str, Any] | None = None,
) -> Finished:
    """Store the end of ``trial`` (see the module docstring). ``given``: the values it was
    created with, kept where the objective's container tells fewer."""
    if (
        state is TrialState.FAILED
        and getattr(study, "failed_as_infeasible", False)
        and not trial.attrs.get(keys.INTERRUPTED)
    ):
        trial.set_attr(keys.FAILED_INFEASIBLE, True)
    with study.lock:
        hps = trial.hyperparameters
        values = _scheduling.stored_values(hps)
        if given is not None:
            values = {**given, **values}
        finished = time.time()
        job_attrs = {k: trial.attrs[k] for k in JOB_ATTRS if k in trial.attrs}  # re-run's own
        try:
            rerun = study.storage.finish_trial(
                trial.storage_id,
                state,
                values,
                score,
                best_step,
                reason,
                finished,
                trial.attrs,
                token=trial.token,
                rerun_cap=rerun_cap,
                rerun_attrs=job_attrs,
            )
        except TrialNotOwnedError:
            study.running.pop(trial.number, None)
            study.sync(force=True, extra=(trial.number,))  # what the other worker stored
            raise
        study.registry.merge(hps.space, hps.changes)
        frozen = FrozenTrial(
            number=trial.number,
            state=state,
            values=values,
            steps=tuple(trial.steps),
            score=score,
            best_step=best_step,
            reason=reason,
            retry_of=trial.retry_of,
            started_at=trial.started_at,
            finished_at=finished,
            attrs=dict(trial.attrs),
            storage_id=trial.storage_id,
        )
        study.running.pop(trial.number, None)
        study.cache.put(frozen)
        if rerun is not None:
            study.cache.put(
                FrozenTrial(
                    number=rerun.number,
                    state=TrialState.WAITING,
                    values=dict(values),
                    retry_of=frozen.original_number,
                    started_at=finished,
                    attrs=job_attrs,
                    storage_id=rerun.id,
                )
            )
        return Finished(frozen, rerun=rerun is not None)


def interrupt(
    study: Study, why: str = "Interrupted by the user (Ctrl-C)", spare: Iterable[int] = ()
) -> list[FrozenTrial]:
    """This worker's running trials (but those numbered in ``spare``) FAILED as interrupted,
    each with a stored re-run (Ctrl-C, or an error that stopped the search while they ran)."""
    cut = []
    spared = set(spare)
    for trial in [t for t in study.running.values() if t.number not in spared]:
        reason = f"{why} while it ran; re-run when the search resumes."
        try:
            done = fail_unfinished(study, trial, reason, sys.maxsize, keys.INTERRUPTED)
        except TrialNotOwnedError:
            continue
        cut.append(done.frozen)
    return cut


def run_one(study: Study, run: Callable[[Any, Trial], Any], trial: Trial) -> Finished | None:
    """Run ``run(hp, trial)`` (the objective, or a remote trial's replay) and finish the
    trial by what happened; None when this worker lost the trial (said in one line)."""
    try:
        try:
            result = run(trial.hyperparameters, trial)
        except TrialPruned as exc:  # before Exception: a pruned trial is no failure
            return Finished(finish_pruned(study, trial, str(exc)))
        except FailedTrialError as exc:
            return fail(study, trial, f"FailedTrialError: {exc}")
        except FatalError as exc:
            return Finished(fail(study, trial, traceback.format_exc()).frozen, fatal=exc)
        except TrialNotOwnedError:
            raise
        except WorkerLostError as exc:
            cap = crash_rerun_cap(study.max_retries_per_trial)
            return fail_unfinished(study, trial, str(exc), cap, keys.CUT_BY_CRASH)
        except Exception:  # noqa: BLE001 - any error of the objective fails its trial
            return fail(study, trial, traceback.format_exc(), study.max_retries_per_trial)
        return Finished(tell(study, trial, result))
    except TrialNotOwnedError as exc:
        study.running.pop(trial.number, None)
        study.reporter.warn(str(exc))
        return None
