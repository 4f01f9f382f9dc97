"""One contract for every storage backend: memory, a SQLite file, and a real PostgreSQL server."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import uuid

import pytest

from tunewise.storage import (
    SCHEMA_VERSION,
    InMemoryStorage,
    SchemaVersionError,
    SQLStorage,
    masked_url,
    open_storage,
)
from tunewise.trial import Step, TrialState

POSTGRES_URL = os.environ.get("TUNEWISE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_available() -> bool:
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request, tmp_path):
    if request.param == "memory":
        yield InMemoryStorage()
        return
    if request.param == "sqlite":
        store = SQLStorage(f"sqlite:///{tmp_path / 'contract.db'}")
    else:
        if not _postgres_available():
            pytest.skip(f"no PostgreSQL server at {POSTGRES_URL}")
        store = SQLStorage(POSTGRES_URL)
    yield store
    for study in store.list_studies():
        if study.name.startswith("contract-"):
            store.delete_study(study.id)
    store.close()


def _name() -> str:
    return f"contract-{uuid.uuid4().hex[:8]}"


def test_studies_are_created_listed_and_names_are_unique(storage):
    name = _name()
    record = storage.create_study(name, {"signature": {"algorithm": "random"}, "seed": 3})
    assert storage.get_study(name).settings == {"signature": {"algorithm": "random"}, "seed": 3}
    assert storage.get_study(name).id == record.id
    with pytest.raises(ValueError, match="already exists"):
        storage.create_study(name, {})
    storage.save_space(record.id, [{"class_name": "Int", "config": {"name": "u"}}])
    storage.save_settings(record.id, {"seed": 4})
    again = storage.get_study(name)
    assert again.space == [{"class_name": "Int", "config": {"name": "u"}}]
    assert again.settings == {"seed": 4}


def test_trials_get_consecutive_numbers_and_keep_every_step(storage):
    study = storage.create_study(_name(), {})
    first = storage.create_trial(study.id, {"x": 0.5, "k": "a"}, None, 100.0, "w1")
    second = storage.create_trial(study.id, {"x": 0.7}, 0, 101.0, "w1")
    assert (first.number, second.number) == (0, 1)

    storage.add_step(first.id, Step(0, {"val_loss": 0.9, "acc": 0.1}, 100.5))
    storage.add_step(first.id, Step(1, {"val_loss": math.nan, "acc": math.inf}, 100.7))
    storage.finish_trial(
        first.id, TrialState.FAILED, {"x": 0.5, "k": "a", "u": 3}, None, 1, "nan", 102.0
    )
    trials = storage.get_trials(study.id)
    assert [t.number for t in trials] == [0, 1]
    done, running = trials
    assert done.state is TrialState.FAILED and done.reason == "nan"
    assert done.values == {"x": 0.5, "k": "a", "u": 3}
    assert [s.step for s in done.steps] == [0, 1]
    assert math.isnan(done.steps[1].metrics["val_loss"])  # NaN stored as NaN, not as a score
    assert done.steps[1].metrics["acc"] == math.inf
    assert running.state is TrialState.RUNNING and running.retry_of == 0
    assert storage.running_trials(study.id) == [(second.id, 1, "w1", 101.0)]


def test_scores_and_heartbeats(storage):
    study = storage.create_study(_name(), {})
    t = storage.create_trial(study.id, {}, None, 10.0, "w")
    storage.heartbeat([t.id], 55.0)
    assert storage.running_trials(study.id)[0][3] == 55.0
    storage.add_step(t.id, Step(0, {"loss": 0.25}, 60.0))
    storage.finish_trial(t.id, TrialState.COMPLETED, {}, 0.25, 0, None, 61.0)
    (trial,) = storage.get_trials(study.id)
    assert (trial.score, trial.best_step, trial.finished_at) == (0.25, 0, 61.0)
    assert storage.running_trials(study.id) == []


def test_deleting_a_study_keeps_the_others(storage):
    keep = storage.create_study(_name(), {})
    drop = storage.create_study(_name(), {})
    for s in (keep, drop):
        t = storage.create_trial(s.id, {}, None, 1.0, "w")
        storage.add_step(t.id, Step(0, {"loss": 1.0}, 1.0))
    storage.delete_study(drop.id)
    names = {s.name for s in storage.list_studies()}
    assert keep.name in names and drop.name not in names
    assert len(storage.get_trials(keep.id)) == 1 and len(storage.get_trials(keep.id)[0].steps) == 1


def test_sqlite_file_uses_wal_and_plain_json(tmp_path):
    path = tmp_path / "p" / "tunewise.db"
    store = SQLStorage(f"sqlite:///{path}")
    study = store.create_study("s", {"seed": 1})
    t = store.create_trial(study.id, {"lr": 0.01}, None, 1.0, "w")
    store.add_step(t.id, Step(0, {"loss": 0.5}, 1.0))
    store.close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    (params,) = con.execute("SELECT params FROM tunewise_trials").fetchone()
    assert json.loads(params) == {"lr": 0.01}
    (version,) = con.execute(
        "SELECT value FROM tunewise_meta WHERE key='schema_version'"
    ).fetchone()
    assert version == str(SCHEMA_VERSION) == "2"
    con.close()


def test_a_newer_schema_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "t.db"
    SQLStorage(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)
    con.execute("UPDATE tunewise_meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(SchemaVersionError, match="version 99.*pip install -U tunewise"):
        SQLStorage(f"sqlite:///{path}")


def test_passwords_never_appear_in_the_location():
    url = "postgresql://alice:s3cret@db.example:5432/tuning"
    assert "s3cret" not in masked_url(url) and "***" in masked_url(url)


def test_open_storage_resolves_every_form(tmp_path):
    default = open_storage(None, str(tmp_path), "proj")
    assert isinstance(default, SQLStorage)
    assert default.location == str(tmp_path / "proj" / "tunewise.db")
    assert isinstance(open_storage("memory"), InMemoryStorage)
    mem = InMemoryStorage()
    assert open_storage(mem) is mem
    with pytest.raises(TypeError, match="got int"):
        open_storage(3)  # type: ignore[arg-type]
