"""Many workers on one study: independent processes, n_jobs, a SIGKILLed worker, dead workers'
trials failed during a search, and the Ray executor.

Worker processes are forked from the test (so they start in milliseconds); each builds its own
Study on the shared storage, exactly as a script started several times would.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

import tunewise as tw
from tunewise.trial import TrialState

FORK = multiprocessing.get_context("fork")


def quadratic(hp):
    x = hp.Float("x", -5.0, 5.0)
    return (x - 1.0) ** 2


def _worker(url: str, project: str, max_trials: int, kwargs: dict) -> None:
    study = tw.Study("loss", storage=url, project_name=project, seed=0, verbose=0, **kwargs)
    study.optimize(quadratic, max_trials=max_trials)
    study.storage.close()


def _run_workers(n: int, url: str, project: str, max_trials: int, **kwargs) -> list[int]:
    procs = [
        FORK.Process(target=_worker, args=(url, project, max_trials, kwargs)) for _ in range(n)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=240)
    return [p.exitcode for p in procs]


def _workers_of(url: str, study_id) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT worker FROM tunewise_trials WHERE study_id = :s"), {"s": study_id}
        ).all()
    engine.dispose()
    return [r[0] for r in rows]


def _check_one_study_of(url: str, project: str, max_trials: int) -> None:
    study = tw.Study("loss", storage=url, project_name=project, seed=0, verbose=0)
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(max_trials))  # unique, no gap
    assert all(t.state is TrialState.COMPLETED for t in trials)
    for t in trials:  # every result stored, and it is this configuration's result
        assert t.score == pytest.approx((t.values["x"] - 1.0) ** 2)
        assert len(t.steps) == 1
    assert study.n_slots == max_trials
    assert len(set(_workers_of(url, study.study_id))) > 1  # the work was shared
    best = min(trials, key=lambda t: (t.score, t.number))
    assert study.best_trial.number == best.number
    study.storage.close()


def test_four_processes_on_one_sqlite_file_finish_200_trials_exactly(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    assert _run_workers(4, url, "shared", 200) == [0, 0, 0, 0]
    _check_one_study_of(url, "shared", 200)


def test_eight_processes_on_postgresql_finish_200_trials_exactly(postgres_url):
    project = f"workers-{uuid.uuid4().hex[:8]}"  # 8 workers race to create this study
    try:
        assert _run_workers(8, postgres_url, project, 200) == [0] * 8
        _check_one_study_of(postgres_url, project, 200)
    finally:
        store = tw.storage.open_storage(postgres_url)
        for s in store.list_studies():
            if s.name == project:
                store.delete_study(s.id)
        store.close()


def test_n_jobs_runs_worker_processes_with_one_log_per_trial(tmp_path, capfd):
    def noisy(hp, trial):
        print(f"hello from trial {trial.number}")
        trial.set_attr("pid", os.getpid())
        time.sleep(0.03)  # long enough that every worker gets trials
        return quadratic(hp)

    study = tw.Study("loss", directory=str(tmp_path), project_name="p", seed=0, verbose=1)
    study.optimize(noisy, max_trials=24, n_jobs=3)
    assert sorted(t.number for t in study.trials) == list(range(24))
    assert all(t.state is TrialState.COMPLETED for t in study.trials)
    assert len({t.values["x"] for t in study.trials}) == 24  # each worker its own stream
    pids = {t.attrs["pid"] for t in study.trials}  # the trials ran in worker processes
    assert len(pids) > 1 and os.getpid() not in pids
    logs = tmp_path / "p" / "trial_logs"
    for n in range(24):
        assert (logs / f"trial_{n:04d}.log").read_text() == f"hello from trial {n}\n"
    out = capfd.readouterr().out
    assert "hello from trial" not in out  # each trial's output went to its own file
    assert out.count("COMPLETED") >= 24  # one line per trial, from the search loop
    assert study.runs[-1]["trials_run"] == 24


def test_n_jobs_with_memory_storage_names_the_fix():
    study = tw.Study("loss", storage="memory", verbose=0)
    with pytest.raises(ValueError, match=r"n_jobs=2 .*storage='memory'.*storage=None"):
        study.optimize(quadratic, max_trials=4, n_jobs=2)
    with pytest.raises(ValueError, match="n_jobs=0"):
        study.optimize(quadratic, max_trials=4, n_jobs=0)


def _sleepy_worker(url: str, flag: str, max_trials: int) -> None:
    def objective(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        if trial.number == 2 and not os.path.exists(flag):
            with open(flag, "w") as f:
                f.write(str(os.getpid()))
            time.sleep(120)  # killed here
        time.sleep(0.05)
        return x

    study = tw.Study(
        "loss",
        storage=url,
        project_name="k",
        seed=0,
        verbose=0,
        heartbeat_interval=0.1,
        stale_after=5.0,  # the dead worker is found by its pid; no live one looks stale
        max_retries_per_trial=1,
        hyperparameters=declared_x(),  # so every trial's value is stored when it starts
    )
    study.optimize(objective, max_trials=max_trials)


def declared_x() -> tw.HyperParameters:
    hp = tw.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    return hp


def test_a_worker_killed_mid_trial_has_its_trial_failed_and_rerun_by_another(tmp_path):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    flag = str(tmp_path / "hanging.pid")
    procs = [FORK.Process(target=_sleepy_worker, args=(url, flag, 30)) for _ in range(2)]
    for p in procs:
        p.start()
    deadline = time.monotonic() + 60
    flag_file = Path(flag)
    while not (flag_file.exists() and flag_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    pid = int(flag_file.read_text())
    os.kill(pid, signal.SIGKILL)
    victim = next(p for p in procs if p.pid == pid)
    victim.join(timeout=10)  # reaped: its pid is gone, as after a real crash
    survivor = next(p for p in procs if p.pid != pid)
    survivor.join(timeout=120)
    assert (victim.exitcode, survivor.exitcode) == (-signal.SIGKILL, 0)

    con = sqlite3.connect(tmp_path / "k.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    study = tw.Study("loss", storage=url, project_name="k", seed=0, verbose=0)
    by_number = {t.number: t for t in study.trials}
    killed = by_number[2]
    assert killed.state is TrialState.FAILED and "died" in killed.reason
    (rerun,) = [t for t in study.trials if t.retry_of == 2]
    assert rerun.state is TrialState.COMPLETED and rerun.values == killed.values
    assert set(killed.values) == {"x"}
    assert study.n_slots == 30 and len(study.trials) == 31
    assert all(t.state is TrialState.COMPLETED for t in study.trials if t.number != 2)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_silent_workers_trial_is_failed_during_the_search_and_rerun(backend, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 's.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    project = f"stale-{uuid.uuid4().hex[:8]}"
    study = tw.Study(
        "loss",
        storage=url,
        project_name=project,
        seed=0,
        verbose=0,
        heartbeat_interval=0.05,
        stale_after=20.0,
    )
    store = study.storage
    planted = {}

    def objective(hp, trial):
        if trial.number == 1:  # mid-search: a machine we cannot see stops beating
            now = time.time()
            lost = store.create_trial(study.study_id, {"x": 0.125}, None, now - 100, "lost:7:1")
            live = store.create_trial(study.study_id, {"x": 0.875}, None, now, "other:8:1")
            planted.update(lost=lost.number, live=live.number)
        time.sleep(0.06)
        return hp.Float("x", 0.0, 1.0)

    try:
        study.optimize(objective, max_trials=6)
        trials = {t.number: t for t in study.trials}
        lost = trials[planted["lost"]]
        assert lost.state is TrialState.FAILED and "no heartbeat for 10" in lost.reason
        (rerun,) = [t for t in study.trials if t.retry_of == planted["lost"]]
        assert rerun.state is TrialState.COMPLETED and rerun.values == {"x": 0.125}
        assert trials[planted["live"]].state is TrialState.RUNNING  # beating: left alone
        assert study.n_slots == 6  # the two planted trials took two of the six slots
    finally:
        store.delete_study(study.study_id)
        store.close()


def test_the_ray_executor_runs_a_study_end_to_end(local_ray, tmp_path):
    def objective(hp, trial):
        kind = hp.Choice("kind", ["a", "b"])
        x = hp.Float("x", 0.0, 1.0)
        if trial.number == 1 and trial.retry_of is None:
            raise ValueError("first attempt of trial 1 fails")
        for epoch in range(2):
            trial.report(epoch, {"loss": x + epoch + (kind == "b")})
        trial.set_attr("pid", os.getpid())

    study = tw.Study(
        "loss",
        directory=str(tmp_path),
        project_name="r",
        seed=0,
        verbose=0,
        max_retries_per_trial=1,
    )
    executor = tw.engine.RayExecutor(num_cpus=1, max_concurrent=2)
    study.optimize(objective, max_trials=6, executor=executor)

    reopened = tw.Study("loss", directory=str(tmp_path), project_name="r", seed=0, verbose=0)
    trials = {t.number: t for t in reopened.trials}
    assert reopened.n_slots == 6 and len(trials) == 7
    assert trials[1].state is TrialState.FAILED
    assert "ValueError: first attempt of trial 1 fails" in trials[1].reason
    (rerun,) = [t for t in trials.values() if t.retry_of == 1]
    done = [t for t in trials.values() if t.state is TrialState.COMPLETED]
    assert len(done) == 6 and rerun in done and rerun.values == trials[1].values
    for t in done:
        assert [s.step for s in t.steps] == [0, 1]
        assert t.score == pytest.approx(t.values["x"] + (t.values["kind"] == "b"))
        assert t.attrs["pid"] != os.getpid()  # it ran in a Ray worker
    assert {"kind", "x"} <= {hp.name for hp in reopened.space}

    with pytest.raises(ValueError, match="executor='nope' is not known"):
        study.optimize(objective, max_trials=7, executor="nope")


def test_ray_tasks_are_pruned_against_the_studys_finished_trials(local_ray, tmp_path):
    """A pruner in a Ray search judges each task's trial against the study's finished trials
    (kept by an actor the driver feeds). One task at a time, every trial's fate is exactly
    the pruner's verdict on its curve given the trials finished before it."""
    from tunewise.schedulers import MedianPruner
    from tunewise.schedulers._pruners import verdict
    from tunewise.trial import Step

    def curves_with_pruning(hp, trial):  # defined here: Ray ships it by value
        x = hp.Float("x", 0.0, 1.0)
        for step in range(8):
            trial.report(step, {"loss": x + 1.0 / (step + 1)})
            if trial.should_prune():
                raise tw.TrialPruned()
        trial.set_attr("pid", os.getpid())

    study = tw.Study("loss", directory=str(tmp_path), project_name="ray", seed=4, verbose=0,
                     pruner=MedianPruner(n_startup_trials=3, n_warmup_steps=1))
    study.optimize(curves_with_pruning, max_trials=14,
                   executor=tw.engine.RayExecutor(num_cpus=1, max_concurrent=1))
    trials = sorted(study.trials, key=lambda t: t.number)
    judge = MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    judge.bind(study.objective)
    expected = []
    for t in trials:
        before = [u for u in trials if u.number < t.number]
        steps, fate = [], (TrialState.COMPLETED, 8)
        for step in range(8):
            steps.append(Step(step, {"loss": t.values["x"] + 1.0 / (step + 1)}))
            if verdict(judge, steps, before):
                fate = (TrialState.PRUNED, step + 1)
                break
        expected.append(fate)
    assert [(t.state, len(t.steps)) for t in trials] == expected
    assert sum(state is TrialState.PRUNED for state, _ in expected) >= 3  # it really acted
    done = [t for t in trials if t.state is TrialState.COMPLETED]
    assert done and all(t.attrs["pid"] != os.getpid() for t in done)  # ran in Ray workers


def test_n_jobs_reruns_the_trial_of_a_worker_that_died(tmp_path):
    flag = tmp_path / "died"

    def objective(hp, trial):
        if trial.number == 3 and not flag.exists():
            flag.write_text("x")
            os.kill(os.getpid(), signal.SIGKILL)  # this worker process dies mid-trial
        return hp.Float("x", 0.0, 1.0)

    study = tw.Study(
        "loss",
        directory=str(tmp_path),
        project_name="d",
        seed=0,
        verbose=0,
        hyperparameters=declared_x(),
    )
    study.optimize(objective, max_trials=12, n_jobs=2)
    trials = {t.number: t for t in study.trials}
    assert trials[3].state is TrialState.FAILED and "died" in trials[3].reason
    (rerun,) = [t for t in trials.values() if t.retry_of == 3]
    assert rerun.state is TrialState.COMPLETED and rerun.values == trials[3].values
    assert set(trials[3].values) == {"x"}
    assert study.n_slots == 12 and len(trials) == 13


def test_ask_and_tell_trials_send_heartbeats_without_optimize(tmp_path):
    study = tw.Study(
        "loss", directory=str(tmp_path), project_name="h", verbose=0, heartbeat_interval=0.05
    )
    trial = study.ask()
    started = trial.started_at
    time.sleep(0.4)
    ((_, number, _, beat),) = study.storage.running_trials(study.study_id)
    assert number == trial.number and beat > started + 0.1
    study.tell(trial, 1.0)
    assert study.storage.running_trials(study.study_id) == []


def test_n_jobs_a_fatal_error_in_a_worker_stops_the_search_in_the_caller(tmp_path):
    def objective(hp, trial):
        if trial.number == 2:
            raise tw.FatalError("the data are gone")
        time.sleep(0.02)
        return hp.Float("x", 0.0, 1.0)

    study = tw.Study("loss", directory=str(tmp_path), project_name="f", seed=0, verbose=0)
    with pytest.raises(tw.FatalError, match="the data are gone"):
        study.optimize(objective, max_trials=40, n_jobs=2)
    assert study.runs[-1]["stopped_because"] == "fatal_error"
    failed = [t for t in study.trials if t.state is TrialState.FAILED]
    cut = [t for t in failed if t.attrs.get("interrupted")]  # in flight when the search stopped
    failed = [t for t in failed if t not in cut]
    assert [t.number for t in failed] == [2] and "the data are gone" in failed[0].reason
    waiting = {t.retry_of for t in study.trials if t.state is TrialState.WAITING}
    assert waiting == {t.number for t in cut}  # each re-run when the search resumes
