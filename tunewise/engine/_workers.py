"""Many workers on one study: seeing the others' trials, and failing the trials of dead ones.

Every worker (a process running ``Study.optimize`` or ``ask``/``tell`` on a shared storage)
keeps a cache of the study's trials. Before each suggestion it fetches only what it may not
know yet: trials numbered from the first number missing in its cache, and the other workers'
trials it last saw RUNNING (at most one per other worker), so the cost per trial stays flat.
Other workers' RUNNING trials thus reach the sampler as pending trials.

A RUNNING trial of another worker is dead when its heartbeat is older than ``stale_after``
seconds, or (same host) its process no longer exists. Any worker that notices marks it FAILED
with a conditional update that exactly one worker wins, and only the winner re-runs it
(under ``max_retries_per_trial``; a trial cut by a crash is re-run at least once).
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from ..trial import FrozenTrial, TrialState
from ._opening import worker_is_dead

if TYPE_CHECKING:
    from ._study import Study


def init_worker_state(study: Study) -> None:
    """Set the bookkeeping of :func:`refresh` from the trials loaded at open."""
    study._prefix = 0
    study._advance_prefix()
    study._watch = {t.number for t in study.trials if t.state is TrialState.RUNNING}
    study._next_stale_check = 0.0


def refresh(study: Study, extra: tuple[int, ...] = ()) -> int:
    """Fetch the trials this worker may not know yet into ``study``'s cache; returns how many."""
    numbers = sorted(study._watch.union(extra))
    fetched = study.storage.get_trials(study._study_id, study._prefix, numbers)
    for trial in fetched:
        mine = study._running.get(trial.number)
        if mine is not None and mine.storage_id == trial.storage_id:
            continue  # our own running trial: the live object is the truth
        study._put(trial)
        if trial.state is TrialState.RUNNING:
            study._watch.add(trial.number)
        else:
            study._watch.discard(trial.number)
    study._advance_prefix()
    return len(fetched)


def fail_stale_trials(study: Study, force: bool = False) -> list[str]:
    """Mark other workers' dead trials FAILED and queue their re-runs; returns notes.

    Runs at most once per heartbeat interval unless ``force``.
    """
    now = time.monotonic()
    if not force and now < study._next_stale_check:
        return []
    study._next_stale_check = now + study.heartbeat_interval
    wall = time.time()
    claimed: list[tuple[int, str]] = []
    for trial_id, number, worker, beat in study.storage.running_trials(study._study_id):
        if number in study._running:
            continue  # ours, and alive: we are running it
        if not worker_is_dead(worker, beat, wall, study.stale_after):
            continue
        silent = wall - beat
        reason = (
            f"The worker running trial {number} ({worker}) died (process killed or machine "
            f"lost): no heartbeat for {silent:.1f}s (grace period {study.stale_after:g}s) or its "
            "process is gone. Marked FAILED by worker "
            f"{study.worker}; the configuration is re-run."
        )
        if study.storage.fail_stale_trial(trial_id, beat, reason, wall):
            claimed.append((number, reason))
    if not claimed:
        return []
    refresh(study, tuple(n for n, _ in claimed))
    notes = []
    for number, reason in claimed:
        position = study._index.get(number)
        if position is None:
            continue
        trial = study.trials[position]
        if trial.state is TrialState.RUNNING:  # storage lagging; record what we stored
            trial = dataclasses.replace(
                trial, state=TrialState.FAILED, reason=reason, finished_at=wall
            )
            study._put(trial)
        notes.append(_queue_rerun(study, trial))
    return notes


def _queue_rerun(study: Study, trial: FrozenTrial) -> str:
    original = trial.number if trial.retry_of is None else trial.retry_of
    attempts = sum(
        1 for t in study.trials if (t.number if t.retry_of is None else t.retry_of) == original
    )
    rerun = attempts <= max(1, study.max_retries_per_trial)
    if rerun:
        study._reruns.append((original, dict(trial.values)))
    return f"Trial {trial.number} was left RUNNING by a run that died; marked FAILED" + (
        " and re-run now." if rerun else f" ({attempts} attempts: not re-run again)."
    )
