"""Did this write land? Checks read after a connection was lost during ``COMMIT`` (see
:mod:`._retry`): each returns the write's result when it is stored, else ``NOT_APPLIED``, so
that a write whose commit did happen is never applied twice.

Each check matches what only this call wrote: the owner token (a fresh random one per trial)
with the start time, the step's number with its time, the finished state with its finish time
and reason, the run-log record's exact text with its time, the study's name with its creation
time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..trial import FrozenTrial, TrialState
from ._base import NewTrial, StudyRecord
from ._retry import NOT_APPLIED
from ._schema import runs_table, steps_table, studies_table, trials_table
from ._statements import _frozen

Check = Callable[[Connection], Any]
_t = trials_table.c


def study_created(name: str, created_at: float, settings: dict[str, Any]) -> Check:
    def check(conn: Connection) -> Any:
        row = conn.execute(
            sa.select(studies_table.c.id, studies_table.c.created_at).where(
                studies_table.c.name == name
            )
        ).first()
        if row is None or row.created_at != created_at:
            return NOT_APPLIED
        return StudyRecord(row.id, name, settings, [], created_at)

    return check


def trial_created(study_id: Any, token: str | None, worker: str, started_at: float) -> Check:
    def check(conn: Connection) -> Any:
        owner = _t.owner_token.is_(None) if token is None else _t.owner_token == token
        row = conn.execute(
            sa.select(_t.id, _t.number)
            .where(_t.study_id == study_id)
            .where(owner)
            .where(_t.worker == worker)
            .where(_t.started_at == started_at)
        ).first()
        return NOT_APPLIED if row is None else NewTrial(row.id, int(row.number))

    return check


def trial_claimed(study_id: Any, token: str) -> Check:
    def check(conn: Connection) -> FrozenTrial | Any:
        row = conn.execute(
            sa.select(trials_table)
            .where(_t.study_id == study_id)
            .where(_t.owner_token == token)
            .where(_t.state == TrialState.RUNNING.value)
        ).first()
        return NOT_APPLIED if row is None else _frozen(row, ())

    return check


def step_added(trial_id: Any, step: int, at: float) -> Check:
    def check(conn: Connection) -> Any:
        s = steps_table.c
        row = conn.execute(
            sa.select(s.at).where(s.trial_id == trial_id).where(s.step == step)
        ).first()
        return None if row is not None and row.at == at else NOT_APPLIED

    return check


def trial_finished(trial_id: Any, state: TrialState, finished_at: float) -> Check:
    """The finish is stored; its result is the WAITING re-run created with it, if any."""

    def check(conn: Connection) -> Any:
        row = conn.execute(
            sa.select(_t.study_id, _t.number, _t.retry_of, _t.state, _t.finished_at).where(
                _t.id == trial_id
            )
        ).first()
        if row is None or row.state != state.value or row.finished_at != finished_at:
            return NOT_APPLIED
        return _rerun_made_at(conn, row, finished_at)

    return check


def stale_trial_failed(trial_id: Any, reason: str, at: float) -> Check:
    def check(conn: Connection) -> Any:
        row = conn.execute(
            sa.select(_t.state, _t.reason, _t.finished_at).where(_t.id == trial_id)
        ).first()
        done = (
            row is not None
            and row.state == TrialState.FAILED.value
            and row.reason == reason
            and row.finished_at == at
        )
        return True if done else NOT_APPLIED

    return check


def run_appended(study_id: Any, at: float, text: str) -> Check:
    def check(conn: Connection) -> Any:
        r = runs_table.c
        row = conn.execute(
            sa.select(r.id).where(r.study_id == study_id).where(r.at == at).where(r.record == text)
        ).first()
        return NOT_APPLIED if row is None else None

    return check


def _rerun_made_at(conn: Connection, row: Any, at: float) -> NewTrial | None:
    original = row.number if row.retry_of is None else row.retry_of
    rerun = conn.execute(
        sa.select(_t.id, _t.number)
        .where(_t.study_id == row.study_id)
        .where(_t.retry_of == original)
        .where(_t.state == TrialState.WAITING.value)
        .where(_t.started_at == at)
        .order_by(_t.number.desc())
    ).first()
    return None if rerun is None else NewTrial(rerun.id, int(rerun.number))
