"""Reading never writes: read-only opening, foreign databases named and left byte for byte,
every storage mistake one line, and readers that never block a writer."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_storage import V1_SCHEMA

import tunewise as tw
from tunewise.storage import (
    DamagedDatabaseError,
    DatabaseFullError,
    NotATunewiseDatabaseError,
    ReadOnlyStorageError,
    SchemaVersionError,
    SQLStorage,
    StorageError,
    StorageNotFoundError,
    StorageUnavailableError,
    StorageURLError,
    StudyNotFoundError,
)
from tunewise.trial import Step, TrialState


# ---------------------------------------------------------------------- helpers
def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file of ``folder``: its SHA-256 and mtime (ns). Equal before and after: nothing
    was written, no ``-wal``/``-shm``/``-journal`` file was left or created."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.iterdir())
    }


def one_line_error(info: pytest.ExceptionInfo, name: str) -> str:
    """The error's message, checked to be one line naming ``name``, with no chained cause."""
    exc = info.value
    text = str(exc)
    assert isinstance(exc, StorageError)
    assert "\n" not in text and name in text, text
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)
    return text


def make_optuna_db(path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=f"sqlite:///{path}", study_name="theirs")
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=3)
    del study


def searched_project(tmp_path: Path, trials: int = 5) -> tuple[Path, tw.Study]:
    """A closed project file (its search ended: no -wal file) and the study that wrote it."""
    study = tw.Study("loss", directory=str(tmp_path), project_name="proj", verbose=0, seed=3)
    study.optimize(lambda hp: (hp.Float("x", 0.0, 1.0) - 0.3) ** 2 + hp.Int("n", 1, 3), trials)
    study.storage.close()
    path = tmp_path / "proj" / "tunewise.db"
    assert sorted(os.listdir(path.parent)) == ["tunewise.db"]
    return path, study


@contextlib.contextmanager
def mounted_tmpfs(where: Path, size: str):
    """A tmpfs at ``where`` (root only); skips when mounting is not allowed here."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


# ---------------------------------------------------------------------- foreign databases
def test_an_optuna_storage_is_named_and_left_byte_for_byte_by_readers_and_writers(tmp_path):
    path = tmp_path / "optuna.db"
    make_optuna_db(path)
    before = fingerprint(tmp_path)
    url = f"sqlite:///{path}"
    for label, open_it in {
        "read-only storage": lambda: SQLStorage(url, read_only=True),
        "load_study": lambda: tw.load_study(url),
        "writer storage": lambda: SQLStorage(url),
        "a search": lambda: tw.Study("loss", storage=url, verbose=0),
    }.items():
        with pytest.raises(NotATunewiseDatabaseError) as info:
            open_it()
        text = one_line_error(info, str(path))
        assert "is an Optuna storage, not a tunewise one" in text, label
        assert info.value.user_mistake is True
        assert fingerprint(tmp_path) == before, f"{label} changed the Optuna file"
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # never switched to WAL
    assert not [n for (n,) in con.execute("SELECT name FROM sqlite_master") if "tunewise" in n]
    con.close()


def test_other_files_are_refused_with_what_they_are_and_never_changed(tmp_path):
    project, _ = searched_project(tmp_path / "src")
    data = project.read_bytes()
    other = tmp_path / "files"
    other.mkdir()
    con = sqlite3.connect(other / "app.db")
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.commit()
    con.close()
    (other / "notes.txt").write_text("not a database at all\n")
    (other / "empty.db").write_bytes(b"")
    (other / "half.db").write_bytes(data[: len(data) // 2])
    (other / "header.db").write_bytes(data[:40])
    before = fingerprint(other)
    cases = {
        "app.db": (NotATunewiseDatabaseError, "is not a tunewise database", True, True),
        "notes.txt": (NotATunewiseDatabaseError, "is not a database", True, True),
        "empty.db": (NotATunewiseDatabaseError, "holds no tunewise tables", True, False),
        "header.db": (DamagedDatabaseError, "is damaged", True, True),
        "half.db": (DamagedDatabaseError, "is damaged", True, True),
    }
    for name, (kind, words, mistake, writer_refused) in cases.items():
        url = f"sqlite:///{other / name}"
        with pytest.raises(kind) as info:  # half.db opens (page 1 is intact), reads fail
            store = SQLStorage(url, read_only=True)
            store.get_trials(store.list_studies()[0].id)
        assert words in one_line_error(info, name), name
        assert info.value.user_mistake is mistake, name
        if writer_refused:
            with pytest.raises(kind):
                store = SQLStorage(url)
                store.create_study("mine", {})
        assert fingerprint(other) == before, name


def test_a_missing_file_or_a_file_in_the_path_is_named_and_nothing_is_created(tmp_path):
    before = fingerprint(tmp_path)
    with pytest.raises(StorageNotFoundError) as info:
        SQLStorage(f"sqlite:///{tmp_path / 'missing' / 'x.db'}", read_only=True)
    text = one_line_error(info, str(tmp_path / "missing" / "x.db"))
    assert "does not exist" in text and "nothing was created" in text
    with pytest.raises(StorageNotFoundError):
        tw.load_study(str(tmp_path / "absent.db"))
    assert fingerprint(tmp_path) == before and not (tmp_path / "missing").exists()

    (tmp_path / "file.txt").write_text("x")
    for read_only in (True, False):  # was a bare NotADirectoryError for a search
        with pytest.raises(StorageNotFoundError) as info:
            SQLStorage(f"sqlite:///{tmp_path / 'file.txt' / 'sub' / 'x.db'}", read_only=read_only)
        assert f"{tmp_path / 'file.txt'} is a file, not a folder" in one_line_error(info, "x.db")
    with pytest.raises(StorageNotFoundError) as info:
        SQLStorage(f"sqlite:///{tmp_path}", read_only=True)
    assert "is a folder, not a database file" in one_line_error(info, str(tmp_path))


def test_reading_a_tunewise_file_leaves_its_bytes_mtime_and_folder_unchanged(tmp_path):
    path, study = searched_project(tmp_path, trials=6)
    before = fingerprint(path.parent)
    store = SQLStorage(f"sqlite:///{path}", read_only=True)
    (record,) = store.list_studies()
    trials = store.get_trials(record.id)
    assert [t.number for t in trials] == list(range(6))
    assert [t.score for t in trials] == [t.score for t in study.trials]
    assert store.get_runs(record.id)[0]["trials_run"] == 6
    with pytest.raises(ReadOnlyStorageError) as info:
        store.save_settings(record.id, {})
    assert "opened read-only" in one_line_error(info, str(path))
    store.close()
    assert fingerprint(path.parent) == before  # no -wal, no -shm, same bytes and mtime


def test_a_read_only_storage_refuses_every_write(tmp_path):
    path, _ = searched_project(tmp_path, trials=2)
    store = SQLStorage(f"sqlite:///{path}", read_only=True)
    (record,) = store.list_studies()
    first = store.get_trials(record.id)[0]
    writes = {
        "create_study": lambda: store.create_study("new", {}),
        "delete_study": lambda: store.delete_study(record.id),
        "save_space": lambda: store.save_space(record.id, []),
        "append_run": lambda: store.append_run(record.id, {"started_at": 1.0}),
        "create_trial": lambda: store.create_trial(record.id, {}, None, 1.0, "w"),
        "add_step": lambda: store.add_step(first.storage_id, Step(9, {"loss": 1.0}, 1.0)),
        "heartbeat": lambda: store.heartbeat([first.storage_id], 1.0),
        "fail_stale_trial": lambda: store.fail_stale_trial(first.storage_id, 1e12, "x", 1.0),
        "claim_waiting_trial": lambda: store.claim_waiting_trial(record.id, "w", "t", 1.0),
        "finish_trial": lambda: store.finish_trial(
            first.storage_id, TrialState.FAILED, {}, None, None, "x", 1.0
        ),
    }
    before = fingerprint(path.parent)
    refused = []
    for name, write in writes.items():
        with pytest.raises(ReadOnlyStorageError):
            write()
        refused.append(name)
    store.close()
    assert len(refused) == 10 and fingerprint(path.parent) == before


@pytest.mark.parametrize("how", ["read-only tmpfs", "chmod"])
def test_a_study_on_a_read_only_location_is_read_and_a_search_is_told_why_not(tmp_path, how):
    path, study = searched_project(tmp_path / "src", trials=4)
    where = tmp_path / "ro"
    with contextlib.ExitStack() as stack:
        if how == "read-only tmpfs":
            stack.enter_context(mounted_tmpfs(where, "2m"))
            shutil.copytree(path.parent, where / "proj")
            subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
            with pytest.raises(OSError):
                (where / "proj" / "probe").write_text("x")  # truly read-only, even for root
        else:
            shutil.copytree(path.parent, where / "proj")
            os.chmod(where / "proj" / "tunewise.db", 0o444)
            os.chmod(where / "proj", 0o555)
            stack.callback(os.chmod, where / "proj", 0o755)
        before = fingerprint(where / "proj")
        loaded = tw.load_study(directory=str(where), project_name="proj")
        assert [t.score for t in loaded.trials] == [t.score for t in study.trials]
        assert loaded.best_trial.number == study.best_trial.number
        assert loaded.results_summary(print_summary=False).best_objective == study.best_value
        loaded.storage.close()
        assert fingerprint(where / "proj") == before
        if how == "chmod" and os.geteuid() == 0:
            return  # root writes through permissions: the tmpfs case shows the refusal
        with pytest.raises(ReadOnlyStorageError) as info:
            tw.Study("loss", directory=str(where), project_name="proj", verbose=0)
        text = one_line_error(info, str(where / "proj"))
        assert "read-only" in text and "writable directory=" in text
        assert info.value.user_mistake is True
        assert fingerprint(where / "proj") == before


# ---------------------------------------------------------------------- schema versions
def test_a_newer_schema_is_refused_read_only_saying_upgrade(tmp_path):
    path, _ = searched_project(tmp_path, trials=1)
    con = sqlite3.connect(path)
    con.execute("UPDATE tunewise_meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    before = fingerprint(path.parent)
    for read_only in (True, False):
        with pytest.raises(SchemaVersionError) as info:
            SQLStorage(f"sqlite:///{path}", read_only=read_only)
        text = one_line_error(info, str(path))
        assert "written by a newer tunewise" in text and "upgrade tunewise" in text
        assert "version 99" in text and info.value.user_mistake is True
        assert fingerprint(path.parent) == before  # the writer refused before any WAL switch


def test_an_older_schema_is_read_as_is_and_the_file_is_not_migrated(tmp_path):
    path = tmp_path / "v1.db"
    con = sqlite3.connect(path)
    con.executescript(V1_SCHEMA)
    con.close()
    before = fingerprint(tmp_path)
    store = SQLStorage(f"sqlite:///{path}", read_only=True)
    assert store.found_schema_version == 1
    (study,) = store.list_studies()
    trials = store.get_trials(study.id)
    assert [(t.number, t.state, t.values, t.score, t.retry_of) for t in trials] == [
        (0, TrialState.COMPLETED, {"x": 0.25}, 0.5, None),
        (1, TrialState.FAILED, {"x": 0.75}, None, None),
        (2, TrialState.COMPLETED, {"x": 0.75}, 0.25, 1),
    ]
    assert store.get_runs(study.id) == []
    with pytest.raises(ReadOnlyStorageError):
        store.create_trial(study.id, {}, None, 1.0, "w")
    store.close()
    assert fingerprint(tmp_path) == before
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert con.execute("SELECT value FROM tunewise_meta").fetchone() == ("1",)
    con.close()


# ---------------------------------------------------------------------- URLs and servers
def test_each_url_mistake_is_one_line_with_its_kind(tmp_path):
    cases = [
        ("foo://x/y", StorageURLError, "unknown database URL scheme 'foo'", True),
        ("postgresql://bob:pw5ecret@127.0.0.1:1/d", StorageUnavailableError, "127.0.0.1:1", True),
        ("://nothing", StorageURLError, "is not a database URL", True),
    ]
    for url, kind, words, mistake in cases:
        for read_only in (True, False):
            started = time.monotonic()
            with pytest.raises(kind) as info:
                SQLStorage(url, read_only=read_only)
            assert words in one_line_error(info, words), url
            assert "pw5ecret" not in str(info.value)
            assert info.value.user_mistake is mistake
            assert time.monotonic() - started < 10  # a closed port is not waited for


def test_a_postgresql_database_is_read_read_only_and_foreign_ones_named(postgres_url):
    schema = f"tw_ro_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = sa.engine.make_url(postgres_url)
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    tables = f"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{schema}'"
    try:
        with pytest.raises(NotATunewiseDatabaseError) as info:
            SQLStorage(url, read_only=True)
        assert "holds no tunewise tables" in one_line_error(info, "postgresql://")
        with admin.connect() as conn:
            assert conn.exec_driver_sql(tables).scalar() == 0  # nothing created
        with admin.begin() as conn:  # Optuna's tables, by hand
            for name in ("studies", "trials", "version_info", "alembic_version"):
                conn.exec_driver_sql(f"CREATE TABLE {schema}.{name} (id INTEGER)")
        with pytest.raises(NotATunewiseDatabaseError) as info:
            SQLStorage(url, read_only=True)
        assert "is an Optuna storage" in one_line_error(info, "postgresql://")

        writer = SQLStorage(url)  # a server database is shared: tunewise adds its own tables
        study = writer.create_study("s", {"seed": 1})
        writer.create_trial(study.id, {"x": 1}, None, 1.0, "w")
        writer.close()
        reader = SQLStorage(url, read_only=True)
        assert [t.values for t in reader.get_trials(study.id)] == [{"x": 1}]
        with reader.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
        with pytest.raises(ReadOnlyStorageError):
            reader.save_settings(study.id, {})
        reader.close()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


# ---------------------------------------------------------------------- locks
@pytest.mark.parametrize("reader_kind", ["read-only storage", "a search's own reads"])
def test_a_writer_is_not_blocked_while_a_reader_holds_a_transaction(tmp_path, reader_kind):
    url = f"sqlite:///{tmp_path / 'tunewise.db'}"
    writer = SQLStorage(url)
    study = writer.create_study("s", {})
    trial = writer.create_trial(study.id, {}, None, 1.0, "w")
    if reader_kind == "read-only storage":
        reader = SQLStorage(url, read_only=True)
    else:
        reader = SQLStorage(url)
    reads = getattr(reader, "_reads", reader.engine)  # the engine of its read transactions
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with reads.connect() as conn:
            conn.execute(sa.text("SELECT count(*) FROM tunewise_steps")).scalar()  # transaction
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        took = []
        for i in range(5):
            started = time.perf_counter()
            writer.add_step(trial.id, Step(i, {"loss": float(i)}, float(i)))
            took.append(time.perf_counter() - started)
    finally:
        release.set()
        thread.join()
    assert max(took) < 0.5, took  # a reader taking the write lock made the writer wait
    assert len(writer.get_trials(study.id)[0].steps) == 5
    reader.close()
    writer.close()


# ---------------------------------------------------------------------- full disk
def test_a_full_disk_is_said_in_one_line_and_what_was_stored_is_kept(tmp_path):
    where = tmp_path / "small"
    with contextlib.ExitStack() as stack:
        limit = None
        try:
            stack.enter_context(mounted_tmpfs(where, "256k"))
        except pytest.skip.Exception:
            where.mkdir(exist_ok=True)
            limit = 40  # pages: the database's size limit (SQLITE_FULL as on a full disk)
        path = where / "tunewise.db"
        store = SQLStorage(f"sqlite:///{path}")
        if limit is not None:
            pragma = f"PRAGMA max_page_count = {limit}"
            sa.event.listen(store.engine, "connect", lambda c, _r: c.execute(pragma))
            store.engine.dispose()
        study = store.create_study("s", {})
        trial = store.create_trial(study.id, {}, None, 1.0, "w")
        stored = 0
        with pytest.raises(DatabaseFullError) as info:
            for i in range(100_000):
                store.add_step(trial.id, Step(i, {"loss": float(i), "pad": "x" * 500}, float(i)))
                stored += 1
        text = one_line_error(info, str(path))
        assert text.startswith(f"Disk full while writing {path}")
        assert "free space" in text and "nothing stored was lost" in text
        assert info.value.user_mistake is False and stored > 0
        assert len(store.get_trials(study.id)[0].steps) == stored
        store.close()
        again = SQLStorage(f"sqlite:///{path}", read_only=True)
        steps = again.get_trials(study.id)[0].steps
        assert [s.step for s in steps] == list(range(stored))
        again.close()


# ---------------------------------------------------------------------- load_study
def test_load_study_gives_the_results_of_a_search_and_writes_nothing(tmp_path):
    path, study = searched_project(tmp_path, trials=7)
    before = fingerprint(path.parent)
    forms = {
        "project": lambda: tw.load_study(directory=str(tmp_path), project_name="proj"),
        "folder": lambda: tw.load_study(str(path.parent)),
        "file and name": lambda: tw.load_study(str(path), "proj"),
        "url": lambda: tw.load_study(f"sqlite:///{path}"),
    }
    for label, load in forms.items():
        loaded = load()
        assert isinstance(loaded, tw.Study), label
        assert [(t.number, t.state, t.score) for t in loaded.trials] == [
            (t.number, t.state, t.score) for t in study.trials
        ]
        assert loaded.best_trial.number == study.best_trial.number
        assert loaded.best_value == study.best_value
        assert loaded.best_hyperparameters.values == study.best_hyperparameters.values
        summary = loaded.results_summary(num_trials=3, print_summary=False)
        assert summary.best_objective == study.best_value
        ranked = study.results_summary(print_summary=False).ranked
        assert [t.number for t in summary.ranked] == [t.number for t in ranked]
        assert loaded.runs[0]["trials_run"] == 7 and loaded.n_slots == 7
        assert loaded.trials_dataframe().shape[0] == 7
        with pytest.raises(ReadOnlyStorageError):
            loaded.optimize(lambda hp: 0.0, max_trials=1)
        with pytest.raises(ReadOnlyStorageError):
            loaded.ask()
        loaded.storage.close()
    with pytest.raises(StudyNotFoundError) as info:
        tw.load_study(str(path), "Proj")
    assert "did you mean 'proj'?" in one_line_error(info, str(path))
    assert fingerprint(path.parent) == before


def test_load_study_sees_what_a_running_search_stores_after_sync(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    study = tw.Study("loss", storage=url, project_name="live", verbose=0, seed=1)
    study.optimize(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=2)
    loaded = tw.load_study(url)  # opened while the writer's connections are open (-wal exists)
    assert len(loaded.trials) == 2
    study.optimize(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=5)
    loaded.sync()
    assert [t.number for t in loaded.trials] == list(range(5))
    assert loaded.best_value == study.best_value
    loaded.storage.close()
    study.storage.close()
