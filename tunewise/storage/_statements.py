"""The SQL statements of the per-trial hot path, built once (SQLAlchemy then only binds
values), and the conversions between rows and records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ..trial import FrozenTrial, Step, TrialState
from ._schema import steps_table, studies_table, trials_table

# Statements of the per-trial hot path, built once: SQLAlchemy then only binds values.
_t = trials_table.c
_INSERT_TRIAL = trials_table.insert().values(
    study_id=sa.bindparam("p_study_id"),
    number=sa.bindparam("p_number"),
    state=sa.bindparam("p_state"),
    params=sa.bindparam("p_params"),
    retry_of=sa.bindparam("p_retry_of"),
    started_at=sa.bindparam("p_started_at"),
    heartbeat_at=sa.bindparam("p_started_at"),
    worker=sa.bindparam("p_worker"),
    owner_token=sa.bindparam("p_token"),
    config_key=sa.bindparam("p_config_key"),
    attrs=sa.bindparam("p_attrs"),
)
_s = studies_table.c
# Reserve a trial number (and a max_trials slot unless a re-run) on the study row: one UPDATE
# takes the row lock, so concurrent workers are serialised on it (PostgreSQL re-checks the
# WHERE after waiting for the lock; SQLite serialises writers with BEGIN IMMEDIATE).
_RESERVE_RERUN = (
    studies_table.update()
    .where(_s.id == sa.bindparam("p_study_id"))
    .values(next_number=_s.next_number + 1)
    .returning(_s.next_number)
)
_RESERVE_SLOT = (
    studies_table.update()
    .where(_s.id == sa.bindparam("p_study_id"))
    .values(next_number=_s.next_number + 1, n_slots=_s.n_slots + 1)
    .returning(_s.next_number)
)
_RESERVE_SLOT_UNDER = _RESERVE_SLOT.where(_s.n_slots < sa.bindparam("p_max_trials"))
_INSERT_STEP = steps_table.insert().values(
    trial_id=sa.bindparam("p_trial_id"),
    step=sa.bindparam("p_step"),
    at=sa.bindparam("p_at"),
    metrics=sa.bindparam("p_metrics"),
)
_RUNNING = TrialState.RUNNING.value
# A step or a result is stored only while the trial is RUNNING and owned by the caller.
_BEAT_OWNED = (
    trials_table.update()
    .where(_t.id == sa.bindparam("p_trial_id"))
    .where(_t.state == _RUNNING)
    .where(_t.owner_token == sa.bindparam("p_token"))
    .values(heartbeat_at=sa.bindparam("p_at"))
)
_BEAT_RUNNING = (
    trials_table.update()
    .where(_t.id == sa.bindparam("p_trial_id"))
    .where(_t.state == _RUNNING)
    .values(heartbeat_at=sa.bindparam("p_at"))
)
_FINISH_VALUES = {
    "state": sa.bindparam("p_state"),
    "params": sa.bindparam("p_params"),
    "score": sa.bindparam("p_score"),
    "best_step": sa.bindparam("p_best_step"),
    "reason": sa.bindparam("p_reason"),
    "finished_at": sa.bindparam("p_finished_at"),
    "heartbeat_at": sa.bindparam("p_finished_at"),
    "attrs": sa.bindparam("p_attrs"),
}
_FINISH_RUNNING = (
    trials_table.update()
    .where(_t.id == sa.bindparam("p_trial_id"))
    .where(_t.state == _RUNNING)
    .values(**_FINISH_VALUES)
)
_FINISH_OWNED = _FINISH_RUNNING.where(_t.owner_token == sa.bindparam("p_token"))


def _frozen(r: Any, steps: Sequence[Step]) -> FrozenTrial:
    return FrozenTrial(
        number=r.number,
        state=TrialState(r.state),
        values=json.loads(r.params),
        steps=tuple(steps),
        score=r.score,
        best_step=r.best_step,
        reason=r.reason,
        retry_of=r.retry_of,
        started_at=r.started_at,
        finished_at=r.finished_at,
        attrs=json.loads(r.attrs),
        storage_id=r.id,
    )


def _dumps(obj: Any) -> str:
    return json.dumps(obj, allow_nan=True, separators=(",", ":"))
