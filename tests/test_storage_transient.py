"""Transient database errors survived: a PostgreSQL search whose connections are killed
completes, a write whose commit outcome was lost is stored exactly once, SQLite busy is
waited for, and the waiting is bounded."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import tunewise as tw
from tunewise.storage import SQLStorage, StorageUnavailableError
from tunewise.storage import _sqlite_open as sqlite_open
from tunewise.trial import Step, TrialState


# ---------------------------------------------------------------------- PostgreSQL cuts
def _objective(hp: Any, trial: Any) -> float:
    x = hp.Float("x", 0.0, 1.0)
    for epoch in range(3):
        trial.report(epoch, {"loss": (x - 0.3) ** 2 + 1.0 / (epoch + 1)})
        time.sleep(0.005)
    return (x - 0.3) ** 2


def test_a_postgresql_search_rides_over_killed_connections(postgres_url, caplog):
    app = f"tw-cut-{uuid.uuid4().hex[:8]}"  # only this test's connections are killed
    url = make_url(postgres_url).update_query_dict({"application_name": app})
    admin = sa.create_engine(postgres_url)
    kill = sa.text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
        ":db AND pid <> pg_backend_pid() AND application_name = :app"
    )
    stop, killed = threading.Event(), []

    def killer() -> None:
        while not stop.wait(0.05):
            with admin.begin() as conn:
                n = conn.execute(kill, {"db": url.database, "app": app}).scalar()
            if n:
                killed.append(n)

    caplog.set_level(logging.WARNING, logger="tunewise.storage")
    text_url = url.render_as_string(hide_password=False)
    study = tw.Study("loss", storage=text_url, project_name=app, verbose=0, seed=0)
    thread = threading.Thread(target=killer)
    thread.start()
    try:
        study.optimize(_objective, max_trials=30)
    finally:
        stop.set()
        thread.join()
    try:
        assert len(killed) >= 5, killed  # the search's connections were cut many times
        assert [t.number for t in study.trials] == list(range(30))
        assert {t.state for t in study.trials} == {TrialState.COMPLETED}
        assert study.n_slots == 30 and study.runs[-1]["trials_run"] == 30
        reader = SQLStorage(text_url, read_only=True)
        stored = reader.get_trials(study.study_id)
        reader.close()
        assert [len(t.steps) for t in stored] == [4] * 30  # 3 reports + the result, none twice
        assert [t.score for t in stored] == [t.score for t in study.trials]
        said = [r.getMessage() for r in caplog.records if r.name == "tunewise.storage"]
        assert said and all("\n" not in line for line in said)
        assert all(line.startswith(f"Lost the connection to {reader.location} (") for line in said)
        assert all(" s" in line and "; reconnected after " in line for line in said)
        assert len(said) <= len(killed)  # one line per outage at most
    finally:
        study.storage.delete_study(study.study_id)
        study.storage.close()
        admin.dispose()


# ---------------------------------------------------------------------- lost commits
class _LosesCommit:
    """A sqlite3 connection whose next ``commit()`` (``failures`` non-empty) ends with the
    connection reported lost: after committing (``"after"``: the outcome was lost in
    transit) or instead of committing (``"before"``: the write was rolled back)."""

    def __init__(self, conn: sqlite3.Connection, failures: list[str]) -> None:
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_failures", failures)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._conn, name, value)

    def commit(self) -> None:
        if not self._failures:
            return self._conn.commit()
        when = self._failures.pop()
        if when == "after":
            self._conn.commit()
        else:
            self._conn.rollback()
        raise sqlite3.OperationalError("server closed the connection unexpectedly")


def _lose_next_commit(store: SQLStorage, path: Path, when: str) -> list[str]:
    failures = [when]

    def connect() -> _LosesCommit:
        conn = sqlite3.connect(str(path), check_same_thread=False)
        return _LosesCommit(conn, failures)

    engine = sa.create_engine("sqlite://", creator=connect, poolclass=sa.pool.NullPool)
    sa.event.listen(engine, "connect", sqlite_open._on_writer_connect)
    sa.event.listen(engine, "begin", sqlite_open._on_writer_begin)
    store.engine.dispose()
    store.engine = engine
    store._reads = engine.execution_options(**{sqlite_open.READING: True})
    return failures


WRITES = [
    "create_study",
    "create_trial",
    "add_step",
    "finish_trial",
    "append_run",
    "claim_waiting_trial",
    "fail_stale_trial",
]


@pytest.mark.parametrize("when", ["after", "before"])
@pytest.mark.parametrize("write", WRITES)
def test_a_write_whose_commit_was_lost_is_stored_exactly_once(tmp_path, write, when, caplog):
    path = tmp_path / "t.db"
    store = SQLStorage(f"sqlite:///{path}")
    study = store.create_study("s", {})
    first = store.create_trial(study.id, {"x": 1}, None, 1.0, "w", token="tok")
    waiting = None
    if write == "claim_waiting_trial":
        store.finish_trial(first.id, TrialState.FAILED, {"x": 1}, None, None, "boom", 2.0,
                           token="tok", rerun_cap=2)
        waiting = store.get_trials(study.id)[1]
    failures = _lose_next_commit(store, path, when)
    caplog.set_level(logging.WARNING, logger="tunewise.storage")

    if write == "create_study":
        record = store.create_study("other", {"seed": 2})
        assert [s.name for s in store.list_studies()] == ["s", "other"]
        assert record.name == "other" and record.settings == {"seed": 2}
    elif write == "create_trial":
        new = store.create_trial(study.id, {"x": 2}, None, 3.0, "w", token="tok2")
        trials = store.get_trials(study.id)
        assert (new.number, [t.number for t in trials]) == (1, [0, 1])
        assert trials[1].values == {"x": 2}
    elif write == "add_step":
        store.add_step(first.id, Step(0, {"loss": 0.5}, 4.0), token="tok")
        assert [s.metrics for s in store.get_trials(study.id)[0].steps] == [{"loss": 0.5}]
    elif write == "finish_trial":
        rerun = store.finish_trial(first.id, TrialState.FAILED, {"x": 1}, None, None, "boom",
                                   5.0, token="tok", rerun_cap=2)
        trials = store.get_trials(study.id)
        assert rerun is not None and rerun.number == 1
        assert [(t.number, t.state, t.retry_of) for t in trials] == [
            (0, TrialState.FAILED, None), (1, TrialState.WAITING, 0)
        ]
    elif write == "append_run":
        store.append_run(study.id, {"started_at": 6.0, "trials_run": 1})
        assert store.get_runs(study.id) == [{"started_at": 6.0, "trials_run": 1}]
    elif write == "claim_waiting_trial":
        claimed = store.claim_waiting_trial(study.id, "w2", "tok3", 7.0)
        assert claimed is not None and claimed.number == waiting.number
        states = [t.state for t in store.get_trials(study.id)]
        assert states == [TrialState.FAILED, TrialState.RUNNING]
    else:
        assert store.fail_stale_trial(first.id, 1e12, "dead worker", 8.0, rerun_cap=2) is True
        trials = store.get_trials(study.id)
        assert [(t.state, t.reason) for t in trials] == [
            (TrialState.FAILED, "dead worker"), (TrialState.WAITING, None)
        ]
    assert failures == []  # the commit was lost once, and the call still returned its result
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and said[0].startswith(f"Lost the connection to {path} (server closed")
    store.close()


# ---------------------------------------------------------------------- SQLite busy
def _hold_write_lock(path: Path, seconds: float, held: threading.Event) -> None:
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    held.set()
    time.sleep(seconds)
    conn.execute("COMMIT")
    conn.close()


def _busy_at_once_storage(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[SQLStorage, Any]:
    store = SQLStorage(f"sqlite:///{path}")
    study = store.create_study("s", {})
    trial = store.create_trial(study.id, {}, None, 1.0, "w")
    monkeypatch.setattr(sqlite_open, "SQLITE_BUSY_TIMEOUT_S", 0)  # SQLite says busy at once
    store.engine.dispose()
    return store, (study, trial)


def test_sqlite_busy_is_retried_until_the_lock_is_released(tmp_path, monkeypatch):
    path = tmp_path / "t.db"
    store, (study, trial) = _busy_at_once_storage(path, monkeypatch)
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 1.0, held))
    holder.start()
    assert held.wait(5)
    started = time.monotonic()
    store.add_step(trial.id, Step(0, {"loss": 1.0}, 1.0))
    waited = time.monotonic() - started
    holder.join()
    assert 0.5 < waited < 5.0, waited  # it waited for the lock, then wrote
    assert len(store.get_trials(study.id)[0].steps) == 1
    store.close()


def test_retrying_gives_up_after_the_bounded_time_in_one_line(tmp_path, monkeypatch):
    path = tmp_path / "t.db"
    store, (_study, trial) = _busy_at_once_storage(path, monkeypatch)
    store._tx.budget_s = 0.3  # TRANSIENT_RETRY_S (60 s) in real use
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 3.0, held))
    holder.start()
    assert held.wait(5)
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError) as info:
        store.add_step(trial.id, Step(0, {"loss": 1.0}, 1.0))
    waited = time.monotonic() - started
    holder.join()
    text = str(info.value)
    assert 0.3 < waited < 2.5, waited
    assert "\n" not in text and text.startswith(f"{path} stayed locked by another process")
    assert info.value.user_mistake is False and info.value.__cause__ is None
    store.close()
