"""The study's side of a scheduler: the next planned trial, re-runs of scheduled trials.

Kept apart from ``_study.py`` so the engine's ask() only calls in here when
``Study(..., scheduler=...)`` is set. See :mod:`tunewise.schedulers` for the schedulers.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..schedulers import WAIT, Plan, plan_next, total_units_trained

if TYPE_CHECKING:
    from ..space import HyperParameters
    from ._study import Study

#: Seconds between looks at the storage while every bracket waits on other workers' trials.
WAIT_POLL_S = 0.2


def next_plan(study: Study, rng: Any) -> Plan | None:
    """The scheduler's next trial for ``study`` (called with ``study.lock`` held).

    When the scheduler must wait for running trials of *other* workers, this polls the
    storage until it can go on. When the pending trials are this process's own (ask/tell
    without tell yet), waiting could never end: None, as for a finished schedule.
    """
    while True:
        plan = plan_next(
            study.scheduler, study.sampler, study.tunable_space(), study.trials, rng
        )
        study.say(study.sampler.pop_note())
        if plan is not WAIT:
            return plan
        if study.running or not study.storage.shared:
            return None
        study.lock.release()
        try:
            time.sleep(WAIT_POLL_S)
        finally:
            study.lock.acquire()
        study.sync(force=True)


def stored_values(hps: HyperParameters) -> dict[str, Any]:
    """The values a finished trial stores: its hyperparameters without the ``tuner/...`` ones."""
    values = dict(hps.values)  # a plain dict: never linked to the trial's container
    extra = getattr(hps, "budget_values", None)
    if extra:
        values = {k: v for k, v in values.items() if k not in extra}
    return values


def schedule_complete(study: Study) -> bool:
    """Whether the scheduler has handed out its whole schedule and nothing of it still runs."""
    return not study.running and study.scheduler.next_job(study.trials, new_configs=True) is None


def complete_note(study: Study, already: bool = False) -> str:
    """What the search says when the schedule is complete (``already``: before any new trial)."""
    scheduler = study.scheduler
    done = (
        f"{len(study.trials)} trials, {total_units_trained(study.trials)} epochs (budget units) "
        "in all"
    )
    more = (
        "raise max_total_budget"
        if getattr(scheduler, "max_total_budget", None) is not None
        else "raise the iterations (hyperband_iterations=2)"
    )
    if already:
        return (
            f"Study {study.name!r} in {study.location} already ran the whole schedule of "
            f"{scheduler.describe()} ({done}): no new trial will run, so the best objective "
            f"shown is the stored one. To search further, {more}, or pass overwrite=True to "
            "start afresh."
        )
    return f"The schedule of {scheduler.describe()} is complete: {done}."
