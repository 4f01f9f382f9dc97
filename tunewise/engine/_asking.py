"""``Study.ask``: the next trial, claimed in the storage so that no two workers run it twice.

In order: a stored WAITING re-run (claimed atomically: of several workers, one gets it); else
the scheduler's next planned trial (a compare-and-swap on the trial number, so a bracket slot
is filled once); else the sampler's suggestion, which for a finite enumeration (a grid, random
search of a finite space) claims its configuration (a unique key per study), so that N workers
run each configuration once. Every trial is created RUNNING and owned by this worker with a
fresh token; its steps and result are stored only with that token.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import numpy as np

from ..schedulers import BudgetedHyperParameters, Job, job_of
from ..schedulers._base import without_budget_keys
from ..space import HyperParameters, config_key
from ..storage import ConfigurationTaken, TrialNumberTaken
from ..trial import FrozenTrial, Trial, TrialState
from . import _scheduling

if TYPE_CHECKING:
    from ._study import Study

#: Times one ask() re-plans a scheduled trial because another worker created a trial first;
#: beyond it the plan is stored as it is (a slot of the schedule may then be filled twice).
MAX_PLAN_CONFLICTS = 50

#: Claims refused in a row while no other worker runs anything: the sampler keeps suggesting
#: taken configurations, so the enumeration is exhausted for this worker.
MAX_IDLE_CLAIM_CONFLICTS = 3


def new_token() -> str:
    """A fresh ownership token for one trial."""
    return uuid.uuid4().hex


def claim_key(values: dict[str, Any]) -> str:
    """The stored key of a configuration (a hash: keys are compared, never read)."""
    text = json.dumps(config_key(values), default=repr, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()


def ask(study: Study) -> Trial | None:
    """The next trial of ``study`` (see the module docstring); None when there is none."""
    with study.lock:
        study.sync()
        claimed = _claim_waiting(study)
        if claimed is not None:
            return claimed
        plan_conflicts = claim_conflicts = 0
        while True:
            rng = study.rng(len(study.cache.trials))
            job: Job | None = None
            expect = key = None
            if study.scheduler is not None:
                plan = _scheduling.next_plan(study, rng)
                if plan is None:
                    return None
                values, job = plan.values, plan.job
                # The plan fills one slot of the schedule as these trials left it: it stands
                # only if no other worker created a trial in the meantime.
                if study.storage.shared and plan_conflicts < MAX_PLAN_CONFLICTS:
                    expect = study.cache.next_number_seen()
            else:
                space = study.tunable_space()
                values = study.sampler.suggest(space, study.cache.trials, rng)
                study.say(study.sampler.pop_note())
                if values is None:
                    return None
                if study.sampler.claims(space):
                    key = claim_key(values)
            started, token = time.time(), new_token()
            try:
                created = study.storage.create_trial(
                    study.study_id,
                    values,
                    None,
                    started,
                    study.worker,
                    study.max_trials,
                    expect_number=expect,
                    token=token,
                    attrs=None if job is None else job.attrs(),
                    claim_key=key,
                )
            except TrialNumberTaken:
                plan_conflicts += 1
                study.sync(force=True)  # read the other workers' new trials and plan again
                continue
            except ConfigurationTaken:
                claim_conflicts += 1
                if not _wait_for_claims(study, claim_conflicts):
                    return None
                continue
            if created is None:  # other workers took the last of the study's max_trials
                study.full = True
                return None
            frozen = FrozenTrial(
                number=created.number,
                state=TrialState.RUNNING,
                values=dict(values),
                started_at=started,
                attrs={} if job is None else job.attrs(),
                storage_id=created.id,
            )
            return _start(study, frozen, job, rng, token)


def _claim_waiting(study: Study) -> Trial | None:
    """A stored re-run claimed for this worker, or None when none is left to claim."""
    while study.cache.waiting():
        token = new_token()
        frozen = study.storage.claim_waiting_trial(
            study.study_id, study.worker, token, time.time()
        )
        if frozen is None:  # others claimed them first: read what they did
            study.sync(force=True)
            if not study.storage.shared:
                return None
            continue
        job = job_of(frozen) if study.scheduler is not None else None
        frozen = FrozenTrial(
            number=frozen.number,
            state=TrialState.RUNNING,
            values=without_budget_keys(frozen.values),  # old databases kept them in values
            retry_of=frozen.retry_of,
            started_at=frozen.started_at,
            attrs={} if job is None else job.attrs(),
            storage_id=frozen.storage_id,
        )
        return _start(study, frozen, job, study.rng(frozen.number), token)
    return None


def _wait_for_claims(study: Study, conflicts: int) -> bool:
    """After a refused claim: read what other workers stored, the space first (a space is
    stored after the trial that met it, so a space seen implies that trial's values are seen
    too); False when no other worker runs anything and the claims keep failing."""
    study.registry.reload()
    study.sync(force=True)
    if not study.cache.others_unfinished(study.running):
        return conflicts <= MAX_IDLE_CLAIM_CONFLICTS
    if conflicts > MAX_IDLE_CLAIM_CONFLICTS:
        study.lock.release()  # another worker runs the configuration; its result tells more
        try:
            time.sleep(_scheduling.WAIT_POLL_S)
        finally:
            study.lock.acquire()
    return True


def _start(
    study: Study, frozen: FrozenTrial, job: Job | None, rng: np.random.Generator, token: str
) -> Trial:
    """The live trial for a created or claimed stored one; cached, and beaten for."""
    hook = study.registry.new_value_hook(
        study.sampler, rng, study.tune_new_entries, study.allow_new_entries
    )
    hps = HyperParameters.for_trial(study.space, frozen.values, hook)
    if job is not None:
        hps = BudgetedHyperParameters.wrap(hps, job)
    trial = Trial(
        frozen.number,
        hps,
        study.objective.name,
        study.store_step,
        retry_of=frozen.retry_of,
        storage_id=frozen.storage_id,
        ask_pruner=study.ask_pruner,
        token=token,
    )
    trial.started_at = frozen.started_at or time.time()
    parts = getattr(study.objective, "objectives", (study.objective,))
    trial.directions = {o.name: o.direction for o in parts}
    trial.attrs.update(frozen.attrs)
    study.running[trial.number] = trial
    study.cache.put(frozen)
    return trial
