"""One contract for every storage backend: memory, a SQLite file, and a real PostgreSQL server."""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import traceback
import uuid

import pytest
from conftest import require_postgres
from sqlalchemy.engine import make_url

import tunewise as tw
from tunewise.storage import (
    SCHEMA_VERSION,
    ConfigurationTaken,
    InMemoryStorage,
    SchemaVersionError,
    SQLStorage,
    StorageError,
    TrialNumberTaken,
    masked_url,
    open_storage,
)
from tunewise.trial import Step, TrialState


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request, tmp_path):
    if request.param == "memory":
        yield InMemoryStorage()
        return
    if request.param == "sqlite":
        store = SQLStorage(f"sqlite:///{tmp_path / 'contract.db'}")
    else:
        store = SQLStorage(require_postgres())
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
    assert version == str(SCHEMA_VERSION) == "3"
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


def test_create_trial_refuses_beyond_max_trials_but_not_reruns(storage):
    study = storage.create_study(_name(), {})
    made = [storage.create_trial(study.id, {"i": i}, None, 1.0, "w", max_trials=3) for i in range(4)]
    assert [m.number for m in made[:3]] == [0, 1, 2] and made[3] is None
    rerun = storage.create_trial(study.id, {"i": 0}, 0, 2.0, "w", max_trials=3)
    assert rerun is not None and rerun.number == 3  # re-runs take a number, not a slot
    assert storage.create_trial(study.id, {"i": 9}, None, 3.0, "w", max_trials=4).number == 4
    assert storage.create_trial(study.id, {"i": 9}, None, 3.0, "w", max_trials=4) is None
    assert [t.number for t in storage.get_trials(study.id)] == [0, 1, 2, 3, 4]


def test_create_trial_with_an_expected_number_is_a_compare_and_swap(storage):
    """A scheduled plan is made from the trials a worker read; creating its trial with
    expect_number fails, creating nothing, once another worker has created one since."""
    study = storage.create_study(_name(), {})
    assert storage.create_trial(study.id, {"i": 0}, None, 1.0, "a", expect_number=0).number == 0
    storage.create_trial(study.id, {"i": 1}, None, 1.0, "b")  # another worker: number 1
    with pytest.raises(TrialNumberTaken, match="number 1 is taken"):
        storage.create_trial(study.id, {"i": 2}, None, 1.0, "a", max_trials=5, expect_number=1)
    assert [t.number for t in storage.get_trials(study.id)] == [0, 1]  # nothing created
    made = storage.create_trial(study.id, {"i": 2}, None, 1.0, "a", max_trials=3, expect_number=2)
    assert made.number == 2
    # full: None (as without expect_number), not a conflict
    assert storage.create_trial(study.id, {"i": 3}, None, 1.0, "a", max_trials=3,
                                expect_number=3) is None


def test_a_stale_trial_is_failed_by_exactly_one_caller(storage):
    study = storage.create_study(_name(), {})
    t = storage.create_trial(study.id, {}, None, 10.0, "lost:1:1")
    assert storage.fail_stale_trial(t.id, 10.0, "worker died", 70.0) is True
    assert storage.fail_stale_trial(t.id, 10.0, "worker died", 71.0) is False
    (trial,) = storage.get_trials(study.id)
    assert (trial.state, trial.reason, trial.finished_at) == (TrialState.FAILED, "worker died", 70.0)
    # A heartbeat after the caller looked means the worker is alive: not failed.
    alive = storage.create_trial(study.id, {}, None, 10.0, "busy:2:2")
    storage.heartbeat([alive.id], 50.0)
    assert storage.fail_stale_trial(alive.id, 10.0, "worker died", 70.0) is False
    assert storage.running_trials(study.id)[0][:2] == (alive.id, 1)


def test_incremental_get_trials_returns_new_and_asked_numbers(storage):
    study = storage.create_study(_name(), {})
    for i in range(5):
        t = storage.create_trial(study.id, {"i": i}, None, 1.0, "w")
        storage.add_step(t.id, Step(0, {"loss": float(i)}, 1.0))
    got = storage.get_trials(study.id, since_number=3, numbers=[1])
    assert [t.number for t in got] == [1, 3, 4]
    assert [t.steps[0].metrics["loss"] for t in got] == [1.0, 3.0, 4.0]
    assert storage.get_trials(study.id, since_number=5) == []
    assert len(storage.get_trials(study.id, since_number=0)) == 5


V1_SCHEMA = """
CREATE TABLE tunewise_meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tunewise_studies (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(512) NOT NULL
  UNIQUE, created_at FLOAT NOT NULL, settings TEXT NOT NULL, space TEXT NOT NULL);
CREATE TABLE tunewise_trials (id INTEGER PRIMARY KEY AUTOINCREMENT, study_id INTEGER NOT NULL
  REFERENCES tunewise_studies(id) ON DELETE CASCADE, number INTEGER NOT NULL, state VARCHAR(16)
  NOT NULL, params TEXT NOT NULL, score FLOAT, best_step INTEGER, reason TEXT, retry_of INTEGER,
  started_at FLOAT NOT NULL, finished_at FLOAT, heartbeat_at FLOAT NOT NULL, worker VARCHAR(256)
  NOT NULL, attrs TEXT NOT NULL DEFAULT '{}',
  CONSTRAINT uq_tunewise_trial_number UNIQUE (study_id, number));
CREATE TABLE tunewise_steps (trial_id INTEGER NOT NULL REFERENCES tunewise_trials(id) ON DELETE
  CASCADE, step INTEGER NOT NULL, at FLOAT NOT NULL, metrics TEXT NOT NULL,
  PRIMARY KEY (trial_id, step));
INSERT INTO tunewise_meta VALUES ('schema_version', '1');
INSERT INTO tunewise_studies (name, created_at, settings, space)
  VALUES ('old', 5.0, '{"seed": 7}', '[]');
INSERT INTO tunewise_trials (study_id, number, state, params, score, best_step, retry_of,
  started_at, finished_at, heartbeat_at, worker) VALUES
  (1, 0, 'COMPLETED', '{"x": 0.25}', 0.5, 0, NULL, 1.0, 2.0, 2.0, 'w'),
  (1, 1, 'FAILED', '{"x": 0.75}', NULL, NULL, NULL, 3.0, 4.0, 4.0, 'w'),
  (1, 2, 'COMPLETED', '{"x": 0.75}', 0.25, 0, 1, 5.0, 6.0, 6.0, 'w');
INSERT INTO tunewise_steps VALUES (1, 0, 1.5, '{"loss": 0.5}'), (3, 0, 5.5, '{"loss": 0.25}');
"""


def test_a_version_1_database_is_upgraded_on_opening_with_its_data_intact(tmp_path):
    path = tmp_path / "v1.db"
    con = sqlite3.connect(path)
    con.executescript(V1_SCHEMA)
    con.close()

    store = SQLStorage(f"sqlite:///{path}")
    assert store.found_schema_version == 1
    (study,) = store.list_studies()
    assert (study.name, study.settings) == ("old", {"seed": 7})
    trials = store.get_trials(study.id)
    assert [(t.number, t.state, t.values, t.score, t.retry_of) for t in trials] == [
        (0, TrialState.COMPLETED, {"x": 0.25}, 0.5, None),
        (1, TrialState.FAILED, {"x": 0.75}, None, None),
        (2, TrialState.COMPLETED, {"x": 0.75}, 0.25, 1),
    ]
    assert trials[0].steps[0].metrics == {"loss": 0.5} and trials[2].steps[0].at == 5.5
    # The counters were rebuilt from the stored trials: 3 numbers used, 2 of them slots.
    assert store.create_trial(study.id, {}, None, 9.0, "w", max_trials=3).number == 3
    assert store.create_trial(study.id, {}, None, 9.0, "w", max_trials=3) is None
    store.close()

    con = sqlite3.connect(path)
    version = con.execute("SELECT value FROM tunewise_meta WHERE key='schema_version'").fetchone()
    indexes = {r[1] for r in con.execute("PRAGMA index_list('tunewise_trials')")}
    con.close()
    assert version == (str(SCHEMA_VERSION),)
    assert "ix_tunewise_trials_study_state" in indexes
    again = SQLStorage(f"sqlite:///{path}")  # opening an upgraded file changes nothing
    assert again.found_schema_version == SCHEMA_VERSION and len(again.get_trials(1)) == 4
    again.close()


def test_a_password_never_appears_in_reprs_errors_logs_or_summaries(tmp_path, capsys, caplog):
    secret = "hunter2pw"
    with pytest.raises(StorageError) as info:
        SQLStorage(f"postgresql://bob:{secret}@127.0.0.1:1/nowhere")
    assert "bob:***@127.0.0.1:1" in str(info.value)
    assert secret not in "".join(traceback.format_exception(info.type, info.value, info.tb))

    url = make_url(require_postgres())
    with_password = url.set(password=secret).render_as_string(hide_password=False)
    caplog.set_level(logging.DEBUG)
    study = tw.Study("loss", storage=with_password, project_name=_name(), seed=0, verbose=1)
    try:
        study.optimize(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=2)
        shown = {
            "repr": repr(study.storage),
            "location": study.location,
            "summary": str(study.results_summary(print_summary=False)),
            "console": capsys.readouterr().out,
            "logs": caplog.text,
            "run log": str(study.runs),
            "settings": str(study.settings),
        }
        assert "***" in shown["location"] and url.host in shown["location"]
        assert {k for k, text in shown.items() if secret in text} == set()
    finally:
        study.storage.delete_study(study.study_id)
        study.storage.close()


V1_SCHEMA_POSTGRES = """
CREATE TABLE tunewise_meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE tunewise_studies (id SERIAL PRIMARY KEY, name VARCHAR(512) NOT NULL UNIQUE,
  created_at FLOAT NOT NULL, settings TEXT NOT NULL, space TEXT NOT NULL);
CREATE TABLE tunewise_trials (id SERIAL PRIMARY KEY, study_id INTEGER NOT NULL
  REFERENCES tunewise_studies(id) ON DELETE CASCADE, number INTEGER NOT NULL, state VARCHAR(16)
  NOT NULL, params TEXT NOT NULL, score FLOAT, best_step INTEGER, reason TEXT, retry_of INTEGER,
  started_at FLOAT NOT NULL, finished_at FLOAT, heartbeat_at FLOAT NOT NULL, worker VARCHAR(256)
  NOT NULL, attrs TEXT NOT NULL DEFAULT '{}',
  CONSTRAINT uq_tunewise_trial_number UNIQUE (study_id, number));
CREATE TABLE tunewise_steps (trial_id INTEGER NOT NULL REFERENCES tunewise_trials(id) ON DELETE
  CASCADE, step INTEGER NOT NULL, at FLOAT NOT NULL, metrics TEXT NOT NULL,
  PRIMARY KEY (trial_id, step));
INSERT INTO tunewise_meta VALUES ('schema_version', '1');
INSERT INTO tunewise_studies (name, created_at, settings, space)
  VALUES ('old', 5.0, '{"seed": 7}', '[]');
INSERT INTO tunewise_trials (study_id, number, state, params, score, best_step, retry_of,
  started_at, finished_at, heartbeat_at, worker) VALUES
  (1, 0, 'COMPLETED', '{"x": 0.25}', 0.5, 0, NULL, 1.0, 2.0, 2.0, 'w'),
  (1, 1, 'FAILED', '{"x": 0.75}', NULL, NULL, NULL, 3.0, 4.0, 4.0, 'w'),
  (1, 2, 'COMPLETED', '{"x": 0.75}', 0.25, 0, 1, 5.0, 6.0, 6.0, 'w');
INSERT INTO tunewise_steps VALUES (1, 0, 1.5, '{"loss": 0.5}'), (3, 0, 5.5, '{"loss": 0.25}');
"""


def test_a_version_1_postgresql_database_is_upgraded_with_its_data_intact(postgres_url):
    import sqlalchemy as sa

    schema = f"tw_v1_{uuid.uuid4().hex[:8]}"  # a schema of its own: the v1 tables by hand
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        conn.exec_driver_sql(f"SET LOCAL search_path TO {schema}")
        for statement in V1_SCHEMA_POSTGRES.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        store = SQLStorage(url)
        assert store.found_schema_version == 1
        (study,) = store.list_studies()
        trials = store.get_trials(study.id)
        assert [(t.number, t.state, t.values, t.score) for t in trials] == [
            (0, TrialState.COMPLETED, {"x": 0.25}, 0.5),
            (1, TrialState.FAILED, {"x": 0.75}, None),
            (2, TrialState.COMPLETED, {"x": 0.75}, 0.25),
        ]
        assert trials[2].steps[0].metrics == {"loss": 0.25}
        assert store.create_trial(study.id, {}, None, 9.0, "w", max_trials=3).number == 3
        assert store.create_trial(study.id, {}, None, 9.0, "w", max_trials=3) is None
        store.close()
        again = SQLStorage(url)
        assert again.found_schema_version == SCHEMA_VERSION
        again.close()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


# ---------------------------------------------------------------------- ownership, claims, re-runs
def test_only_the_owner_stores_steps_and_results(storage):
    study = storage.create_study(_name(), {})
    t = storage.create_trial(study.id, {"x": 1}, None, 1.0, "w", token="mine")
    with pytest.raises(tw.errors.TrialNotOwnedError, match=r"no longer owns trial 0"):
        storage.add_step(t.id, Step(0, {"loss": 1.0}, 2.0), token="stolen")
    storage.add_step(t.id, Step(0, {"loss": 0.5}, 2.0), token="mine")
    with pytest.raises(tw.errors.TrialNotOwnedError):
        storage.finish_trial(t.id, TrialState.COMPLETED, {"x": 1}, 9.0, 0, None, 3.0, token="x")
    storage.finish_trial(t.id, TrialState.COMPLETED, {"x": 1}, 0.5, 0, None, 3.0, token="mine")
    # A finished trial takes nothing more, from anyone.
    with pytest.raises(tw.errors.TrialNotOwnedError, match="it is COMPLETED"):
        storage.finish_trial(t.id, TrialState.FAILED, {}, None, None, "late", 4.0, token="mine")
    with pytest.raises(tw.errors.TrialNotOwnedError):
        storage.add_step(t.id, Step(1, {"loss": 0.1}, 4.0), token="mine")
    (stored,) = storage.get_trials(study.id)
    assert (stored.state, stored.score, [s.step for s in stored.steps]) == (
        TrialState.COMPLETED, 0.5, [0],
    )


def test_a_failed_trial_gets_one_waiting_rerun_within_its_cap_and_one_claimer(storage):
    study = storage.create_study(_name(), {})
    t = storage.create_trial(study.id, {"x": 2}, None, 1.0, "w", token="a", attrs={"budget": 3})
    rerun = storage.finish_trial(
        t.id, TrialState.FAILED, {"x": 2}, None, None, "boom", 2.0, {"budget": 3, "epochs_run": [1]},
        token="a", rerun_cap=2, rerun_attrs={"budget": 3},
    )
    assert rerun is not None and rerun.number == 1
    waiting = storage.get_trials(study.id)[1]
    assert (waiting.state, waiting.values, waiting.retry_of, waiting.attrs) == (
        TrialState.WAITING, {"x": 2}, 0, {"budget": 3},
    )
    claimed = storage.claim_waiting_trial(study.id, "w2", "b", 5.0)
    assert claimed.number == 1 and claimed.state is TrialState.RUNNING
    assert storage.claim_waiting_trial(study.id, "w3", "c", 5.0) is None  # exactly one claimer
    # The second failure is attempt 2 of cap 2: one more re-run; the third is beyond it.
    assert storage.finish_trial(
        claimed.storage_id, TrialState.FAILED, {"x": 2}, None, None, "boom", 6.0,
        token="b", rerun_cap=2,
    ) is not None
    third = storage.claim_waiting_trial(study.id, "w", "d", 7.0)
    assert third.retry_of == 0
    assert storage.finish_trial(
        third.storage_id, TrialState.FAILED, {"x": 2}, None, None, "boom", 8.0,
        token="d", rerun_cap=2,
    ) is None
    assert [t.state for t in storage.get_trials(study.id)] == [TrialState.FAILED] * 3


def test_a_stale_trial_is_failed_with_its_rerun_in_one_step(storage):
    study = storage.create_study(_name(), {})
    t = storage.create_trial(study.id, {"x": 3}, None, 10.0, "lost:1:1", attrs={"rung": 1})
    assert storage.fail_stale_trial(t.id, 10.0, "worker died", 70.0, rerun_cap=1) is True
    assert storage.fail_stale_trial(t.id, 10.0, "worker died", 71.0, rerun_cap=1) is False
    cut, rerun = storage.get_trials(study.id)
    assert cut.state is TrialState.FAILED and cut.attrs == {"rung": 1, "cut_by_crash": True}
    assert (rerun.state, rerun.retry_of, rerun.values, rerun.attrs) == (
        TrialState.WAITING, 0, {"x": 3}, {"rung": 1},
    )


def test_a_claimed_configuration_is_created_once(storage):
    study = storage.create_study(_name(), {})
    assert storage.create_trial(study.id, {"a": 1}, None, 1.0, "w", claim_key="k1").number == 0
    with pytest.raises(ConfigurationTaken):
        storage.create_trial(study.id, {"a": 1}, None, 1.0, "v", claim_key="k1")
    # The refused claim used no number and no slot.
    assert storage.create_trial(study.id, {"a": 2}, None, 1.0, "v", claim_key="k2").number == 1
    assert storage.create_trial(study.id, {"a": 2}, 1, 1.0, "v").number == 2  # re-runs: no claim


def test_the_run_log_is_appended_never_rewritten(storage):
    study = storage.create_study(_name(), {})
    other = storage.create_study(_name(), {})
    storage.append_run(study.id, {"started_at": 1.0, "trials_run": 3})
    storage.append_run(other.id, {"started_at": 1.5, "trials_run": 9})
    storage.append_run(study.id, {"started_at": 2.0, "trials_run": 4})
    assert [r["trials_run"] for r in storage.get_runs(study.id)] == [3, 4]
    storage.delete_study(study.id)
    assert storage.get_runs(study.id) == [] and len(storage.get_runs(other.id)) == 1


def test_a_version_2_database_gets_its_run_log_moved_into_the_runs_table(tmp_path):
    path = tmp_path / "v2.db"
    store = SQLStorage(f"sqlite:///{path}")
    study = store.create_study("old", {"seed": 1})
    store.close()
    runs = [{"started_at": 5.0, "trials_run": 2, "stopped_because": "max_trials"},
            {"started_at": 9.0, "trials_run": 0, "stopped_because": "already_finished"}]
    con = sqlite3.connect(path)  # make it the version-2 layout, run log in the settings blob
    con.execute("UPDATE tunewise_meta SET value='2'")
    con.execute("DROP TABLE tunewise_runs")
    con.execute("DROP INDEX uq_tunewise_trials_config_key")
    con.execute("ALTER TABLE tunewise_trials DROP COLUMN owner_token")
    con.execute("ALTER TABLE tunewise_trials DROP COLUMN config_key")
    con.execute("UPDATE tunewise_studies SET settings=?", (json.dumps({"seed": 1, "runs": runs}),))
    con.commit()
    con.close()

    store = SQLStorage(f"sqlite:///{path}")
    assert store.found_schema_version == 2
    (record,) = store.list_studies()
    assert record.settings == {"seed": 1}
    assert store.get_runs(study.id) == runs
    store.append_run(study.id, {"started_at": 10.0, "trials_run": 1})
    assert len(store.get_runs(study.id)) == 3
    store.close()
