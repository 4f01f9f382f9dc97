"""Durability under a hostile operator: kill -9, SIGSTOP/SIGCONT, Ctrl-C, races and bad results.

What is tested, on the stored trials (read straight from storage, never through a Study that
could repair them first):

* a trial cut by a dead worker (kill -9) is marked FAILED (``attrs["cut_by_crash"]``, reason
  "died") with a stored WAITING re-run by the next worker that *looks* (optimize/ask): merely
  opening the study writes nothing, and a re-run found by a worker that then dies is not lost;
  cut trials are re-run whatever ``max_retries_per_trial`` (three cuts of one configuration);
* a worker paused longer than ``stale_after`` loses its trial to another worker; resumed, its
  late step and result are refused (it says "no longer owns" once) and it goes on;
* eight processes on one grid run each configuration exactly once; concurrent ``optimize``
  calls each append their entry to the run log;
* ``n_jobs`` children are spawned processes that end when their parent is killed;
* Ctrl-C (SIGINT to the process group) ends ``optimize`` cleanly: exit 0, one summary line,
  interrupted trials FAILED with stored re-runs, which the next run completes;
* an objective returning a string, a list or an array fails only its own trial;
* 30 random kill -9s of one process, and of four workers (SQLite, PostgreSQL): afterwards
  nothing RUNNING or WAITING, every configuration COMPLETED exactly once, every failed attempt
  a crash cut followed by exactly one re-run.

Workers are forked from the test (fast starts); scripts run in their own interpreter and
session where terminal behaviour matters (Ctrl-C, a killed parent). The ``procs`` fixture
kills whatever a test started and left alive, whether it passed or failed.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import multiprocessing
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tunewise as tw
from tunewise.trial import FrozenTrial, TrialState

FORK = multiprocessing.get_context("fork")

#: Random kill -9s of each kill-storm test.
KILLS = 30

FINISHED = (TrialState.COMPLETED, TrialState.PRUNED, TrialState.FAILED)
UNFINISHED = ("RUNNING", "WAITING")  # by value: WAITING is new


# ---------------------------------------------------------------- processes


class Processes:
    """Every process a test starts; :meth:`kill_all` SIGKILLs whatever is still alive."""

    def __init__(self) -> None:
        self._forked: list[multiprocessing.process.BaseProcess] = []
        self._scripts: list[subprocess.Popen] = []
        self._adopted: dict[int, str | None] = {}  # pid -> its start time, to never kill a stranger

    def fork(self, target: Callable[..., Any], *args: Any, **kwargs: Any):
        process = FORK.Process(target=target, args=args, kwargs=kwargs)
        process.start()
        self._forked.append(process)
        return process

    def script(self, path: Path, *args: Any) -> subprocess.Popen:
        """``python path args...`` in a session of its own (its process group, as a terminal's)."""
        proc = subprocess.Popen(
            [sys.executable, str(path), *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._scripts.append(proc)
        return proc

    def adopt(self, pids: Iterable[int]) -> None:
        """Processes started by our processes (e.g. n_jobs children), killed at the end too."""
        self._adopted.update((pid, _start_time(pid)) for pid in pids)

    def kill_all(self) -> None:
        for proc in self._scripts:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the script and its session's children
            except (ProcessLookupError, PermissionError):
                pass
            proc.kill()
            proc.communicate(timeout=30)
        for process in self._forked:
            if process.is_alive():
                process.kill()  # also ends a SIGSTOPped one
            process.join(timeout=30)
        for pid, started in self._adopted.items():
            if started is not None and _start_time(pid) == started:  # still that process
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        self._scripts.clear()
        self._forked.clear()
        self._adopted.clear()


@pytest.fixture
def procs():
    processes = Processes()
    try:
        yield processes
    finally:
        processes.kill_all()


def _ended(proc: Any) -> str | None:
    """How ``proc`` (a Popen or a forked Process) ended, or None while it runs."""
    code = proc.poll() if isinstance(proc, subprocess.Popen) else proc.exitcode
    return None if code is None else f"exit code {code}"


def wait_until(
    condition: Callable[[], Any], what: str, timeout: float = 60, proc: Any = None,
    interval: float = 0.05,
):
    """Poll ``condition`` until truthy (returned); fail on timeout or if ``proc`` ended."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and _ended(proc):
            pytest.fail(f"the process ended ({_ended(proc)}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ...), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rsplit(")", 1)[1].split()


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, ppid) of a process, None when it does not exist."""
    fields = _stat_fields(pid)
    return None if fields is None else (fields[0], int(fields[1]))


def _start_time(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return None if fields is None else fields[19]  # field 22 of stat: starttime


def children_of(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (a scan of /proc/*/stat)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None and stat[1] == pid and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def is_alive(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie has ended


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


# ---------------------------------------------------------------- studies and storage


def sqlite_url(tmp_path: Path, name: str = "shared.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def declared_x() -> tw.HyperParameters:
    """The space, declared: every trial's values are stored when it starts (re-runs copy them)."""
    hp = tw.HyperParameters()
    hp.Float("x", -5.0, 5.0)
    return hp


def loss_of(values: dict[str, Any]) -> float:
    return (values["x"] - 1.0) ** 2


def make_study(url: str, project: str, **kwargs: Any) -> tw.Study:
    kwargs = {"seed": 0, "verbose": 0, "hyperparameters": declared_x(), **kwargs}
    return tw.Study("loss", storage=url, project_name=project, **kwargs)


def run_study(
    url: str, project: str, fn: Callable[..., Any], max_trials: int | None, log: Path | None = None,
    **study_kwargs: Any,
) -> None:
    """The body of a worker process: its own Study on the shared storage, then optimize."""
    random.seed()  # forked workers would otherwise share the parent's random stream
    if log is not None:  # this process's stdout and stderr, Python and C level, into ``log``
        stream = open(log, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
        os.dup2(stream.fileno(), 1)
        os.dup2(stream.fileno(), 2)
        sys.stdout = sys.stderr = stream
    study = make_study(url, project, **study_kwargs)
    study.optimize(fn, max_trials=max_trials)
    study.storage.close()


@contextlib.contextmanager
def storage_at(url: str) -> Iterator[tw.storage.Storage]:
    """The storage itself, no Study: reading it repairs nothing."""
    store = tw.storage.open_storage(url)
    try:
        yield store
    finally:
        store.close()


def shared_sqlite(tmp_path: Path, name: str = "shared.db") -> str:
    """A new SQLite file, its schema created before any worker starts: two processes creating
    the schema of a new file at the same moment can fail with "database is locked", a race
    outside what this module tests that must not make it flaky."""
    url = sqlite_url(tmp_path, name)
    with storage_at(url):
        pass
    return url


def trials_in(store: tw.storage.Storage, project: str) -> list[FrozenTrial]:
    record = store.get_study(project)
    return [] if record is None else store.get_trials(record.id)


def stored_trials(url: str, project: str) -> list[FrozenTrial]:
    """The study's trials (with their steps) as storage holds them."""
    with storage_at(url) as store:
        return trials_in(store, project)


def stored_snapshot(url: str, project: str) -> tuple[Any, ...]:
    """Everything stored about the study: settings, space and trials (steps included)."""
    with storage_at(url) as store:
        record = store.get_study(project)
        return record.settings, record.space, store.get_trials(record.id)


def drop_study(url: str, project: str) -> None:
    with storage_at(url) as store:
        record = store.get_study(project)
        if record is not None:
            store.delete_study(record.id)


def assert_sqlite_intact(url: str) -> None:
    if url.startswith("sqlite:///"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            con.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def shared(request, tmp_path, procs):
    """(url, project) of a fresh study on each backend; a PostgreSQL study is deleted after
    the test's processes are killed."""
    project = f"durable-{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        yield shared_sqlite(tmp_path), project
        return
    url = request.getfixturevalue("postgres_url")
    try:
        yield url, project
    finally:
        procs.kill_all()  # no live worker may hold a lock on the rows being deleted
        drop_study(url, project)


def by_number(trials: Iterable[FrozenTrial]) -> dict[int, FrozenTrial]:
    return {t.number: t for t in trials}


def describe(trials: Iterable[FrozenTrial]) -> list[tuple[Any, ...]]:
    return [(t.number, t.state.value, t.retry_of, t.attrs) for t in trials]


def check_each_configuration_completed_once(
    trials: list[FrozenTrial],
    failed_because: str,
    max_trials: int,
    score: Callable[[dict[str, Any]], float],
) -> dict[int, list[FrozenTrial]]:
    """The invariants after any mix of failures and re-runs; returns the configurations.

    No trial RUNNING or WAITING; every FAILED trial has ``attrs[failed_because] is True``;
    per configuration (trials grouped by ``original_number``): the first attempt, then one
    re-run (``retry_of`` = the group's number, same values) after each failed attempt and the
    last attempt COMPLETED with the right score; ``max_trials`` configurations.
    """
    unfinished = [t for t in trials if t.state.value in UNFINISHED]
    assert not unfinished, f"trials left unfinished: {describe(unfinished)}"
    failed = [t for t in trials if t.state is TrialState.FAILED]
    unexplained = [t for t in failed if t.attrs.get(failed_because) is not True]
    assert not unexplained, (
        f"FAILED trials without attrs[{failed_because!r}] True: {describe(unexplained)}"
    )
    if failed_because == "cut_by_crash":
        assert all("died" in (t.reason or "") for t in failed), [t.reason for t in failed]
    groups: dict[int, list[FrozenTrial]] = collections.defaultdict(list)
    for t in sorted(trials, key=lambda t: t.number):
        groups[t.original_number].append(t)
    for number, group in groups.items():
        first, *reruns = group
        assert (first.number, first.retry_of) == (number, None), describe(group)
        assert all(t.retry_of == number for t in reruns), describe(group)
        states = [t.state for t in group]
        assert states == [TrialState.FAILED] * len(reruns) + [TrialState.COMPLETED], (
            f"configuration {number}: {describe(group)}"
        )
        assert all(t.values == first.values for t in group), [t.values for t in group]
        assert group[-1].score == pytest.approx(score(group[-1].values))
    assert len(groups) == max_trials, sorted(groups)
    return groups


# ---------------------------------------------------------------- objectives (module level:
# forked workers and spawned n_jobs children both find them)


def sleepy_loss(hp, trial):
    """A random 20-80 ms, so that kills land mid-trial."""
    x = hp.Float("x", -5.0, 5.0)
    time.sleep(random.uniform(0.02, 0.08))
    trial.set_attr("pid", os.getpid())
    return (x - 1.0) ** 2


def slow_loss(hp, trial):
    x = hp.Float("x", -5.0, 5.0)
    time.sleep(0.2)
    trial.set_attr("pid", os.getpid())
    return (x - 1.0) ** 2


def dies_in_trial_2(hp, trial):
    x = hp.Float("x", -5.0, 5.0)
    if trial.number == 2 and trial.retry_of is None:
        trial.report(0, {"loss": 99.0})
        os.kill(os.getpid(), signal.SIGKILL)
    return (x - 1.0) ** 2


def dies_at_once(hp, trial):
    os.kill(os.getpid(), signal.SIGKILL)


def cut_three_times(counter: Path, hp, trial):
    """The configuration of trial 1 is cut by a kill -9 three times, then completes."""
    x = hp.Float("x", -5.0, 5.0)
    if (trial.number if trial.retry_of is None else trial.retry_of) == 1:
        cuts = int(counter.read_text()) if counter.exists() else 0
        if cuts < 3:
            counter.write_text(str(cuts + 1))
            os.kill(os.getpid(), signal.SIGKILL)
    return (x - 1.0) ** 2


def pauses_in_first_trial(paused: Path, go: Path, hp, trial):
    """The first trial reports step 0, says so, waits for ``go`` (the test SIGSTOPs the process
    meanwhile), then reports step 1 and returns: both too late. Later trials are quick."""
    x = hp.Float("x", -5.0, 5.0)
    trial.set_attr("pid", os.getpid())
    if not paused.exists():
        trial.report(0, {"loss": (x - 1.0) ** 2 + 1.0})
        paused.write_text(str(trial.number))
        while not go.exists():
            time.sleep(0.01)
        trial.report(1, {"loss": (x - 1.0) ** 2 + 0.5})
    else:
        time.sleep(0.02)
    return (x - 1.0) ** 2


def grid_loss(hp, trial):
    a = hp.Choice("a", [0, 1, 2, 3, 4, 5, 6, 7])
    b = hp.Int("b", 0, 4)
    time.sleep(0.01)
    return 10.0 * a + b


BAD_RESULTS = {1: ("0.5", "str"), 3: ([0.5], "list"), 5: (np.array([0.5, 0.25]), "ndarray")}


def returns_bad_types(hp, trial):
    x = hp.Float("x", -5.0, 5.0)
    if trial.number in BAD_RESULTS:
        return BAD_RESULTS[trial.number][0]
    return (x - 1.0) ** 2


def ask_then_die(url: str, project: str, n: int) -> None:
    """Start ``n`` trials with ask() and die (kill -9) while they all run."""
    study = make_study(url, project)
    for _ in range(n):
        assert study.ask() is not None
    os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------- crashes


@pytest.mark.parametrize("look", ["optimize", "ask"])
def test_opening_a_study_after_a_crash_writes_nothing_and_the_next_look_reruns_the_cut_trial(
    look, tmp_path, procs
):
    url, project = shared_sqlite(tmp_path), "crash"
    victim = procs.fork(run_study, url, project, dies_in_trial_2, 6)
    victim.join(timeout=60)
    assert victim.exitcode == -signal.SIGKILL
    before = stored_snapshot(url, project)
    assert [t.state for t in before[2]] == [TrialState.COMPLETED] * 2 + [TrialState.RUNNING]

    make_study(url, project, verbose=1).storage.close()  # open and close: no optimize
    assert stored_snapshot(url, project) == before, "opening the study wrote to storage"
    assert by_number(stored_trials(url, project))[2].state is TrialState.RUNNING

    study = make_study(url, project)
    if look == "ask":  # ask() looks too: the cut trial is failed and its re-run stored
        trial = study.ask()
        cut = by_number(stored_trials(url, project))[2]
        assert cut.state is TrialState.FAILED and cut.attrs["cut_by_crash"] is True
        reruns = [t for t in stored_trials(url, project) if t.retry_of == 2]
        assert [t.state.value in ("WAITING", "RUNNING") for t in reruns] == [True]
        study.tell(trial, sleepy_loss(trial.hyperparameters, trial))
    study.optimize(sleepy_loss, max_trials=6)
    trials = stored_trials(url, project)
    cut = by_number(trials)[2]
    assert cut.state is TrialState.FAILED and "died" in cut.reason
    assert cut.attrs["cut_by_crash"] is True
    (rerun,) = [t for t in trials if t.retry_of == 2]
    assert rerun.original_number == 2 and rerun.number > 2
    assert rerun.state is TrialState.COMPLETED and rerun.values == cut.values
    check_each_configuration_completed_once(trials, "cut_by_crash", 6, loss_of)
    assert len(trials) == 7 and study.n_slots == 6


def test_a_configuration_cut_three_times_is_rerun_each_time_whatever_max_retries(
    tmp_path, procs
):
    url, project = shared_sqlite(tmp_path), "cuts"
    counter = tmp_path / "cuts"
    objective = functools.partial(cut_three_times, counter)
    exits = []
    while not exits or exits[-1] != 0:  # restart the killed worker, as an operator would
        assert len(exits) < 6, f"the worker never finished: exit codes {exits}"
        worker = procs.fork(run_study, url, project, objective, 5, max_retries_per_trial=0)
        worker.join(timeout=60)
        exits.append(worker.exitcode)
    assert counter.read_text() == "3"
    trials = stored_trials(url, project)
    groups = check_each_configuration_completed_once(trials, "cut_by_crash", 5, loss_of)
    assert len(groups[1]) == 4 and len(trials) == 8


def test_reruns_found_by_a_worker_that_then_dies_are_not_lost(shared, procs):
    """Four trials cut at once; the next worker stores their re-runs, claims one and dies
    itself; four racing workers then run every stored re-run exactly once."""
    url, project = shared
    first = procs.fork(ask_then_die, url, project, 4)
    first.join(timeout=60)
    assert first.exitcode == -signal.SIGKILL
    assert [t.state for t in stored_trials(url, project)] == [TrialState.RUNNING] * 4

    second = procs.fork(run_study, url, project, dies_at_once, 4)
    second.join(timeout=60)
    assert second.exitcode == -signal.SIGKILL  # it claimed a re-run and died running it

    racers = [procs.fork(run_study, url, project, sleepy_loss, 4) for _ in range(4)]
    for racer in racers:
        racer.join(timeout=60)
    assert [r.exitcode for r in racers] == [0] * 4
    trials = stored_trials(url, project)
    check_each_configuration_completed_once(trials, "cut_by_crash", 4, loss_of)
    assert len(trials) == 4 + 5  # 4 configurations, 5 cut attempts (4 + the claimed re-run)
    assert_sqlite_intact(url)


def test_a_paused_worker_loses_its_trial_and_its_late_result_is_refused(shared, procs, tmp_path):
    url, project = shared
    paused, go, log = tmp_path / "paused", tmp_path / "go", tmp_path / "paused-worker.log"
    beat = {"heartbeat_interval": 0.2, "stale_after": 1.5}
    objective = functools.partial(pauses_in_first_trial, paused, go)
    sleeper = procs.fork(run_study, url, project, objective, 40, log=log, verbose=1, **beat)
    number = int(wait_until(lambda: paused.exists() and paused.read_text(), "the first trial",
                            proc=sleeper))
    os.kill(sleeper.pid, signal.SIGSTOP)
    other = procs.fork(run_study, url, project, slow_loss, 40, **beat)

    def taken_over() -> FrozenTrial | None:
        trials = stored_trials(url, project)
        done = [t for t in trials if t.retry_of == number and t.state is TrialState.COMPLETED]
        return by_number(trials)[number] if done else None

    lost = wait_until(taken_over, "another worker to re-run the paused worker's trial",
                      timeout=30, proc=other)
    assert lost.state is TrialState.FAILED and [s.step for s in lost.steps] == [0]
    resumed_at = time.time()
    go.write_text("go")
    os.kill(sleeper.pid, signal.SIGCONT)
    sleeper.join(timeout=60)
    other.join(timeout=60)
    assert (sleeper.exitcode, other.exitcode) == (0, 0)

    trials = stored_trials(url, project)
    late = by_number(trials)[number]
    assert late.state is TrialState.FAILED, "the late result of a lost trial was stored"
    assert late.reason == lost.reason  # still the other worker's reason
    assert late.steps == lost.steps  # no step added after the pause
    (rerun,) = [t for t in trials if t.retry_of == number]
    assert rerun.state is TrialState.COMPLETED and rerun.values == late.values
    assert rerun.attrs["pid"] == other.pid
    output = log.read_text()
    assert len([ln for ln in output.splitlines() if "no longer owns" in ln]) == 1, output
    assert "Traceback" not in output
    went_on = [t for t in trials if t.attrs.get("pid") == sleeper.pid and t.number != number]
    assert any(t.state is TrialState.COMPLETED and t.started_at > resumed_at for t in went_on)
    assert not [t for t in trials if t.state.value in UNFINISHED]


# ---------------------------------------------------------------- races


def test_eight_processes_on_one_grid_run_each_configuration_exactly_once(shared, procs):
    url, project = shared
    workers = [
        procs.fork(run_study, url, project, grid_loss, None,
                   sampler=tw.GridSampler(), hyperparameters=None)
        for _ in range(8)
    ]
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * 8
    trials = stored_trials(url, project)
    configurations = collections.Counter((t.values["a"], t.values["b"]) for t in trials)
    assert len(trials) == 40
    assert configurations == collections.Counter((a, b) for a in range(8) for b in range(5))
    assert all(t.state is TrialState.COMPLETED for t in trials), describe(trials)
    assert all(t.score == 10 * t.values["a"] + t.values["b"] for t in trials)


def test_concurrent_optimize_calls_each_append_their_run_log_entry(tmp_path, procs):
    url, project = shared_sqlite(tmp_path), "log"
    workers = [procs.fork(run_study, url, project, sleepy_loss, 24) for _ in range(4)]
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * 4
    runs = make_study(url, project).runs
    assert len(runs) == 4, runs
    assert all({"trials_run", "stopped_because", "started_at"} <= set(run) for run in runs)


# ---------------------------------------------------------------- n_jobs and Ctrl-C

SCRIPT = textwrap.dedent(
    """
    import sys, time
    import tunewise as tw

    def objective(hp):
        x = hp.Float("x", 0.0, 1.0)
        time.sleep(0.3)
        return x

    if __name__ == "__main__":
        directory, max_trials, n_jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        declared = tw.HyperParameters()
        declared.Float("x", 0.0, 1.0)
        study = tw.Study("loss", directory=directory, project_name="p", seed=0, verbose=1,
                         hyperparameters=declared)
        study.optimize(objective, max_trials=max_trials, n_jobs=n_jobs)
        print("AFTER", flush=True)
    """
)

INTERRUPTED = re.compile(
    r"Interrupted \(Ctrl-C\): (?P<n>\d+) trials finished in this run; (?P<k>\d+) running "
    r"trial\(s\) marked interrupted, re-run when the search resumes\."
)


def write_script(tmp_path: Path) -> tuple[Path, str]:
    """The script, and the URL of the SQLite file it writes (project ``p``)."""
    script = tmp_path / "search.py"
    script.write_text(SCRIPT)
    return script, sqlite_url(tmp_path, "p/tunewise.db")


def count_state(url: str, state: TrialState) -> int:
    return sum(t.state is state for t in stored_trials(url, "p"))


def test_n_jobs_children_are_spawned_and_end_when_the_parent_is_killed(tmp_path, procs):
    script, url = write_script(tmp_path)
    parent = procs.script(script, tmp_path, 1000, 2)
    db = tmp_path / "p" / "tunewise.db"
    wait_until(lambda: db.exists() and count_state(url, TrialState.COMPLETED) >= 2,
               "two completed trials", proc=parent)
    children = children_of(parent.pid)
    procs.adopt(children)
    spawned = [c for c in children if cmdline(c) != cmdline(parent.pid)]
    assert len(spawned) >= 2, f"no 2 spawned children: {[cmdline(c) for c in children]}"

    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(map(is_alive, children)) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = {c: cmdline(c) for c in children if is_alive(c)}
    assert not survivors, f"children outlived their killed parent by 10 s: {survivors}"


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_ctrl_c_ends_the_search_cleanly_and_the_next_run_reruns_the_interrupted(
    n_jobs, tmp_path, procs
):
    script, url = write_script(tmp_path)
    db = tmp_path / "p" / "tunewise.db"
    search = procs.script(script, tmp_path, 12, n_jobs)

    def trial_just_started() -> bool:  # so that a trial is surely running at the Ctrl-C
        if not db.exists():
            return False
        trials = stored_trials(url, "p")
        done = sum(t.state is TrialState.COMPLETED for t in trials)
        now = time.time()
        return done >= 3 and any(
            t.state is TrialState.RUNNING and now - t.started_at < 0.1 for t in trials
        )

    wait_until(trial_just_started, "3 completed trials and a new one running", proc=search)
    os.killpg(search.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    out, err = search.communicate(timeout=60)
    assert search.returncode == 0, f"exit code {search.returncode}\n{out}\n{err}"
    assert "Traceback" not in out + err, out + err
    assert "AFTER" in out.splitlines()
    lines = [ln for ln in (out + err).splitlines() if ln.startswith("Interrupted (Ctrl-C):")]
    assert len(lines) == 1, out + err
    said = INTERRUPTED.fullmatch(lines[0].rstrip())
    assert said, lines[0]

    trials = stored_trials(url, "p")
    assert not [t for t in trials if t.state is TrialState.RUNNING], describe(trials)
    interrupted = [t for t in trials if t.attrs.get("interrupted") is True]
    assert interrupted and all(t.state is TrialState.FAILED for t in interrupted)
    finished = [t for t in trials if t.state in FINISHED and t.attrs.get("interrupted") is not True]
    assert (int(said["n"]), int(said["k"])) == (len(finished), len(interrupted))
    for t in interrupted:
        reruns = [u for u in trials if u.retry_of == t.original_number and u.number > t.number]
        assert [u.state for u in reruns] == [TrialState.WAITING], describe(reruns)

    again = procs.script(script, tmp_path, 12, n_jobs)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0 and "AFTER" in out.splitlines(), out + err
    assert "Traceback" not in out + err
    trials = stored_trials(url, "p")
    assert not [t for t in trials if t.state is TrialState.WAITING]
    check_each_configuration_completed_once(trials, "interrupted", 12, lambda v: v["x"])


# ---------------------------------------------------------------- bad results


@pytest.mark.parametrize(
    ("storage", "n_jobs"), [("memory", 1), ("sqlite", 1), ("sqlite", 2)], ids=str
)
def test_an_objective_returning_a_non_number_fails_only_that_trial(storage, n_jobs, tmp_path):
    where = {"storage": "memory"} if storage == "memory" else {"directory": str(tmp_path)}
    study = tw.Study("loss", project_name="bad", seed=0, verbose=0, **where)
    try:
        study.optimize(returns_bad_types, max_trials=8, n_jobs=n_jobs)
    except Exception as exc:  # noqa: BLE001 - the failure under test
        pytest.fail(f"a bad result stopped the search: {type(exc).__name__}: {exc}")
    if storage == "memory":
        trials = study.trials
    else:
        trials = stored_trials(sqlite_url(tmp_path, "bad/tunewise.db"), "bad")
    assert sorted(t.number for t in trials) == list(range(8))
    for t in trials:
        if t.number in BAD_RESULTS:
            named = re.search(rf"\b{BAD_RESULTS[t.number][1]}\b", t.reason or "")
            assert t.state is TrialState.FAILED and named, (t.number, t.state, t.reason)
        else:
            assert t.state is TrialState.COMPLETED, (t.number, t.state, t.reason)
            assert t.score == pytest.approx(loss_of(t.values))


# ---------------------------------------------------------------- kill storms


def holds_configurations(store: tw.storage.Storage, project: str, n: int, workers: list) -> bool:
    """Whether ``n`` configurations (first attempts) are stored; fails if a worker ended
    unasked (not with exit code 0)."""
    ended = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
    assert not ended, f"a worker ended by itself, exit codes {ended}"
    return sum(t.retry_of is None for t in trials_in(store, project)) >= n


def kill_storm(procs: Processes, url: str, project: str, n_workers: int, max_trials: int) -> None:
    """``n_workers`` workers; KILLS times, at a random point of the search (a random count of
    configurations started, then a random part of a trial), kill -9 a random worker and start
    a fresh one in its place; then let the last ones finish the search cleanly.

    Counting configurations, not trials, keeps one configuration from being cut more than
    the three times the engine re-runs it (a fresh worker's first trial is often a re-run)."""
    rng = random.Random(KILLS)
    moments = sorted(rng.sample(range(1, max_trials - 10), KILLS))

    def start():
        return procs.fork(run_study, url, project, sleepy_loss, max_trials,
                          heartbeat_interval=0.2, stale_after=30.0)

    workers = [start() for _ in range(n_workers)]
    with storage_at(url) as store:
        for moment in moments:
            reached = functools.partial(holds_configurations, store, project, moment, workers)
            wait_until(reached, f"{moment} configurations started", interval=0.01)
            store.close()  # no pooled connection of ours in the next fork
            time.sleep(rng.uniform(0.0, 0.08))
            k = rng.randrange(n_workers)
            if workers[k].is_alive():
                os.kill(workers[k].pid, signal.SIGKILL)
            workers[k].join(timeout=30)  # reaped: its pid is gone, as after a real crash
            workers[k] = start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * n_workers  # the final, clean run


def check_after_storm(url: str, project: str, max_trials: int) -> None:
    assert_sqlite_intact(url)
    trials = stored_trials(url, project)
    check_each_configuration_completed_once(trials, "cut_by_crash", max_trials, loss_of)
    cuts = sum(t.state is TrialState.FAILED for t in trials)
    assert KILLS // 6 <= cuts <= KILLS, f"{cuts} trials cut by {KILLS} kills (many land mid-trial)"
    study = make_study(url, project)
    assert study.n_slots == max_trials
    study.storage.close()


def test_thirty_kills_of_a_one_process_search_lose_nothing(tmp_path, procs):
    url, project = shared_sqlite(tmp_path), "storm"
    kill_storm(procs, url, project, 1, 150)
    check_after_storm(url, project, 150)


def test_thirty_kills_among_four_workers_lose_nothing(shared, procs):
    url, project = shared
    kill_storm(procs, url, project, 4, 150)
    check_after_storm(url, project, 150)
