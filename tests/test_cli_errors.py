"""Every mistake on the ``tunewise`` command line is one line on standard error.

Each case runs the real command (``main([...])``, or the installed module in a subprocess)
on real broken input — a truncated SQLite file, a copy with a newer schema version, an Optuna
database, a text file, a path under a file, a closed port, a full device — and checks the exit
status (2: a user mistake, 1: a failure), that stderr is exactly one line naming the file or
URL, that there is no traceback, and that nothing was written.
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import sqlite3
import subprocess
import sys

import pytest
from _see_project import make_project

from tunewise import cli as cli_module
from tunewise.cli import main as cli


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """A real tunewise database (study ``demo``, 20 trials), copied whole out of WAL."""
    root = tmp_path_factory.mktemp("cli_errors")
    make_project(root)
    return root / "demo" / "tunewise.db"


def _copy(source, target):
    """A consistent single-file copy of the SQLite database ``source`` (WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def _digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def run(args, capsys) -> tuple[int, str]:
    """The exit status and stderr of ``tunewise ARGS`` run in this process."""
    try:
        code = cli(list(map(str, args)))
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    return code, capsys.readouterr().err


def assert_one_line(err: str, verb: str | None, *names: str) -> None:
    """``err`` is one line, ``tunewise VERB...`` (``tunewise:`` for no verb), naming ``names``."""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(f"tunewise {verb}" if verb else "tunewise:"), err
    assert "Traceback" not in err and "Background on this error" not in err, err
    for name in names:
        assert name in err, (name, err)


def test_truncated_database_is_one_line_naming_the_file(db, tmp_path, capsys):
    broken = _copy(db, tmp_path / "truncated.db")
    size = os.path.getsize(broken)
    with open(broken, "r+b") as f:
        f.truncate(size // 3)
    before = _digest(broken)
    for verb in ("list", "trials", "doctor"):
        code, err = run([verb, broken], capsys)
        assert code == 2, err  # the file named cannot be used: fix the argument or restore it
        assert_one_line(err, verb, str(broken))
    assert _digest(broken) == before
    assert sorted(os.listdir(tmp_path)) == ["truncated.db"]  # no -wal, -shm or journal left


def test_corrupt_pages_are_one_line_naming_the_file(db, tmp_path, capsys):
    broken = _copy(db, tmp_path / "corrupt.db")
    size = os.path.getsize(broken)
    with open(broken, "r+b") as f:  # keep the header, overwrite the schema and data pages
        f.seek(100)
        f.write(b"\xa5" * (size - 100))
    code, err = run(["list", broken], capsys)
    assert code == 2, err
    assert_one_line(err, "list", str(broken))


def test_newer_schema_version_says_which_and_what_to_do(db, tmp_path, capsys):
    from tunewise.storage import SCHEMA_VERSION

    newer = _copy(db, tmp_path / "newer.db")
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE tunewise_meta SET value = ? WHERE key = 'schema_version'",
                     (str(SCHEMA_VERSION + 7),))
    before = _digest(newer)
    code, err = run(["summary", newer], capsys)
    assert code == 2, err
    assert_one_line(err, "summary", str(newer), str(SCHEMA_VERSION + 7), "pip install -U tunewise")
    assert _digest(newer) == before


def test_optuna_database_is_named_and_left_alone(tmp_path, capsys):
    optuna = pytest.importorskip("optuna")
    path = tmp_path / "theirs.db"  # (a name without "optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="theirs", storage=f"sqlite:///{path}")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    del study
    before = _digest(path)
    for verb in ("list", "trials", "export"):
        args = [verb, path] + (["--csv", tmp_path / "out.csv"] if verb == "export" else [])
        code, err = run(args, capsys)
        assert code == 2, err
        assert_one_line(err, verb, str(path))
        assert "optuna" in err.lower(), err
    assert _digest(path) == before
    assert not (tmp_path / "out.csv").exists()


def test_text_file_is_not_a_database(tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    code, err = run(["list", text], capsys)
    assert code == 2, err
    assert_one_line(err, "list", str(text))
    assert text.read_text() == "not a database\n"


@pytest.mark.parametrize("form", ["path", "url"])
def test_path_under_a_file_names_the_file(tmp_path, capsys, form):
    blocker = tmp_path / "somefile.txt"
    blocker.write_text("x")
    target = str(blocker / "x.db") if form == "path" else f"sqlite:///{blocker / 'x.db'}"
    code, err = run(["list", target], capsys)
    assert code == 2, err
    assert_one_line(err, "list", str(blocker), "is a file, not a")
    assert (target if form == "path" else str(blocker / "x.db")) in err
    assert blocker.read_text() == "x"


def test_missing_sqlite_url_creates_nothing(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'missing' / 'x.db'}"
    code, err = run(["list", url], capsys)
    assert code == 2, err
    assert_one_line(err, "list", str(tmp_path / "missing" / "x.db"), "does not exist")
    assert os.listdir(tmp_path) == []


def test_unknown_url_scheme(capsys):
    code, err = run(["list", "foo://x"], capsys)
    assert code == 2, err
    assert_one_line(err, "list", "foo://x", "unknown database URL scheme 'foo'")
    code, err = run(["list", "a b://x"], capsys)
    assert code == 2, err
    assert_one_line(err, "list", "'a b://x'", "is not a database URL")


def test_closed_postgresql_port_is_one_line_without_the_password(capsys):
    code, err = run(["list", "postgresql://postgres:hunter2@127.0.0.1:1/test"], capsys)
    assert code == 2, err  # nothing answers at the address named: fix it or start the server
    assert_one_line(err, "list", "postgresql://postgres:***@127.0.0.1:1/test")
    assert "hunter2" not in err


def test_bad_or_busy_port_is_one_line(db, capsys):
    """Out of range: refused by the argument check, before opening anything; taken: named."""
    for port in ("99999", "-1", "http"):
        code, err = run(["dashboard", db, "--port", port], capsys)
        assert code == 2, err
        assert_one_line(err, "dashboard", f"'{port}' is not a port number", "0 to 65535", "--help")
    pytest.importorskip("matplotlib")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, err = run(["dashboard", db, "--port", port], capsys)
    assert code == 2, err
    assert_one_line(err, "dashboard", f"127.0.0.1:{port}", "--port")


def test_full_disk_on_export_and_report_is_a_failure_naming_the_file(db, capsys):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    before = _digest(db)
    code, err = run(["export", db, "--csv", "/dev/full"], capsys)
    assert code == 1, err
    assert_one_line(err, "export", "'/dev/full'", "No space left on device")
    pytest.importorskip("matplotlib")
    code, err = run(["report", db, "-o", "/dev/full"], capsys)
    assert code == 1, err
    assert_one_line(err, "report", "'/dev/full'", "No space left on device")
    assert _digest(db) == before


def test_failed_write_leaves_no_half_written_file(db, tmp_path, capsys, monkeypatch):
    import csv

    def full(self, rows):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(csv.DictWriter, "writerows", full)
    target = tmp_path / "trials.csv"
    code, err = run(["export", db, "--csv", target], capsys)
    assert code == 1, err
    assert_one_line(err, "export", repr(str(target)), "No space left on device")
    assert not target.exists()


def test_unwritable_output_paths_are_user_mistakes(db, tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    (tmp_path / "adir").mkdir()
    cases = [
        (["export", db, "--csv", blocker / "x.csv"], f"{str(blocker)!r} is a file, not a folder"),
        (["export", db, "--json", tmp_path / "adir"], "Is a directory"),
        (["export", db, "--csv", tmp_path / "no" / "x.csv"], "does not exist"),
        (["report", db, "-o", blocker / "r.html"], f"{str(blocker)!r} is a file, not a folder"),
    ]
    for args, reason in cases:
        code, err = run(args, capsys)
        assert code == 2, (args, err)
        assert_one_line(err, args[0], repr(str(args[-1])), reason)
    assert blocker.read_text() == "x" and os.listdir(tmp_path / "adir") == []


def test_unknown_study_is_named_with_the_stored_ones(db, capsys):
    code, err = run(["summary", db, "--study", "nope"], capsys)
    assert code == 2, err
    assert_one_line(err, "summary", "'nope'", repr(str(db)), "it holds 'demo'", "--study")


def test_unexpected_error_is_one_failed_line_and_debug_shows_the_traceback(db, capsys,
                                                                           monkeypatch):
    def broken(args):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(cli_module, "_cmd_list", broken)
    code, err = run(["list", db], capsys)
    assert code == 1
    assert err == ("tunewise list failed: ZeroDivisionError: boom "
                   "(run with --debug for the traceback)\n")
    for args in (["--debug", "list", db], ["list", db, "--debug"]):
        code, err = run(args, capsys)
        assert code == 1
        lines = err.splitlines()
        assert lines[0] == "Traceback (most recent call last):"
        assert lines[-1] == "tunewise list failed: ZeroDivisionError: boom"


def test_debug_keeps_the_exit_status_of_a_user_mistake(capsys):
    code, err = run(["list", "foo://x", "--debug"], capsys)
    assert code == 2
    assert "Traceback" in err and err.splitlines()[-1].startswith("tunewise list: ")
    assert "foo://x" in err.splitlines()[-1]


def test_argument_errors_are_one_line(db, capsys):
    code, err = run(["trials", db, "--state", "sleeping"], capsys)
    assert code == 2
    assert_one_line(err, "trials", "sleeping", "'tunewise trials --help'")
    code, err = run(["nope"], capsys)
    assert code == 2
    assert_one_line(err, None, "invalid choice: 'nope'", "'tunewise --help'")


def test_installed_command_prints_one_line_without_traceback(db, tmp_path):
    """The same through ``python -m tunewise`` (the process the user runs)."""
    truncated = _copy(db, tmp_path / "t.db")
    with open(truncated, "r+b") as f:
        f.truncate(4096)
    for args, code in ((["list", "foo://x"], 2), (["list", str(truncated)], 2),
                       (["dashboard", str(db), "--port", "99999"], 2)):
        done = subprocess.run([sys.executable, "-m", "tunewise", *args], capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == code, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert done.stdout == ""
