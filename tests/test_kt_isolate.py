"""One process per trial: ``search(isolate=True)`` and ``ProcessExecutor(max_trials_per_worker=)``.

Each isolated trial runs in a fresh spawned process that exits after it, so whatever the
trial leaves behind is given back. Starting Python, tunewise and Keras costs seconds per
trial, so the 30-trial memory test runs on a plain ``Study`` with the same isolated executor
(``search(isolate=True)`` is that executor with ``max_trials_per_worker=1``), and the Keras tests
run few trials. Objectives that travel to workers are closures, shipped by value (the
workers never import this module, nor Keras for the ``Study`` tests).
"""

from __future__ import annotations

import itertools
import os
import resource
import signal

import numpy as np
import pytest

import tunewise as tw
from tunewise.engine import ProcessExecutor, _oom, _processes
from tunewise.trial import TrialState

MB = 1 << 20


def resident_bytes() -> int:
    """This process's resident set size now (Linux's /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def make_leaky_objective(leak_bytes: int):
    """An objective that leaks ``leak_bytes`` per call into its process, as user code that
    keeps a reference to each trial's data does, and records its process id."""
    leaked = []

    def objective(hp, trial):
        leaked.append(np.ones(leak_bytes // 8))  # touched pages: resident
        trial.set_attr("pid", os.getpid())
        return (hp.Float("x", -1.0, 1.0) - 0.5) ** 2

    return objective


def study_in(tmp_path, name: str, **kwargs) -> tw.Study:
    return tw.Study("loss", directory=str(tmp_path), project_name=name, seed=0, verbose=0,
                    **kwargs)


# ---------------------------------------------------------------- memory goes back


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads /proc/self/statm")
def test_isolated_trials_leave_the_searching_process_memory_flat(tmp_path):
    """The issue's acceptance test: 30 trials that each leak 8 MB. In-process the search's
    RSS grows by the leak from trial 5 to trial 30; with a fresh process per trial (two at
    a time) it stays within 10%, and every trial ran in its own process, which is gone."""
    leak, trials = 8 * MB, 30

    def run(name, **optimize_kwargs):
        rss = []
        study = study_in(tmp_path, name)
        study.optimize(make_leaky_objective(leak), max_trials=trials,
                       callbacks=[lambda s, t: rss.append(resident_bytes())], **optimize_kwargs)
        assert [t.state for t in study.trials] == [TrialState.COMPLETED] * trials
        return study, rss

    _, in_process = run("in-process")
    isolated, rss = run("isolated", executor=ProcessExecutor(2, max_trials_per_worker=1))

    grown = in_process[29] - in_process[4]
    # The leak is measurable where the trials run (not all of it: the kernel may reclaim
    # cold pages of a long-lived process, as DAMON does on these machines).
    assert grown >= 0.5 * 25 * leak, grown / MB
    assert rss[29] <= 1.10 * rss[4], (rss[4] / MB, rss[29] / MB)
    assert rss[29] - rss[4] < 0.2 * grown

    pids = [t.attrs["pid"] for t in isolated.trials]
    assert len(set(pids)) == trials and os.getpid() not in pids  # one process per trial
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # it exited: its memory went back to the system
    spans = sorted((t.started_at, t.finished_at) for t in isolated.trials)
    assert any(b[0] < a[1] for a, b in itertools.pairwise(spans))  # two at once (n_jobs=2)


# ---------------------------------------------------------------- out of memory


def test_out_of_memory_trials_are_failed_saying_so_and_the_search_goes_on(tmp_path, monkeypatch):
    """Trial 1 raises MemoryError; trial 2's process is SIGKILLed on its first attempt (as the
    OOM killer does), trial 4's too after it counts an OOM kill (a stand-in for the kernel's
    cgroup counter). Each is FAILED with how it ran out of memory; the search goes on."""
    kills = tmp_path / "oom_kills"
    kills.mkdir()
    monkeypatch.setattr(_processes, "oom_kill_count", lambda: len(os.listdir(kills)))

    def objective(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        trial.set_attr("pid", os.getpid())
        if trial.number == 1:
            raise MemoryError("could not allocate 12 GiB")
        if trial.number in (2, 4) and trial.retry_of is None:
            if trial.number == 4:
                (kills / "1").write_text("")  # the kernel counts the kill, then kills
            os.kill(os.getpid(), signal.SIGKILL)
        return x

    study = study_in(tmp_path, "oom")
    study.optimize(objective, max_trials=5, executor=ProcessExecutor(1, max_trials_per_worker=1))
    by_number = {t.number: t for t in study.trials}
    states = {n: t.state for n, t in by_number.items()}
    assert states == {0: TrialState.COMPLETED, 1: TrialState.FAILED, 2: TrialState.FAILED,
                      3: TrialState.COMPLETED, 4: TrialState.FAILED, 5: TrialState.COMPLETED,
                      6: TrialState.COMPLETED}
    raised = by_number[1].reason
    assert "Out of memory: trial 1 raised MemoryError: could not allocate 12 GiB" in raised
    assert by_number[1].retry_of is None and not any(t.retry_of == 1 for t in study.trials)

    killed = by_number[2].reason
    assert "running trial 2 died, killed by signal 9 (SIGKILL): probably out of memory" in killed
    assert "trial_logs" in killed  # where its output is
    assert (by_number[3].retry_of, by_number[3].values) == (2, by_number[2].values)  # re-run
    assert by_number[3].attrs["pid"] != by_number[2].attrs.get("pid")

    counted = by_number[4].reason
    assert "running trial 4 died, out of memory: the kernel's OOM killer killed it" in counted
    assert "oom_kill count rose from 0 to 1" in counted
    assert by_number[5].retry_of == 4
    assert study.best_trial.state is TrialState.COMPLETED


def test_a_long_lived_worker_is_replaced_after_it_ran_out_of_memory(tmp_path):
    """Without a per-worker limit one process runs trial after trial, until one runs out of
    memory: what it holds may not come back, so a fresh process takes the next trials."""

    def objective(hp, trial):
        trial.set_attr("pid", os.getpid())
        if trial.number == 1:
            raise MemoryError("out of memory in a leaky library")
        return hp.Float("x", 0.0, 1.0)

    study = study_in(tmp_path, "replaced")
    study.optimize(objective, max_trials=4, executor=ProcessExecutor(1))
    pids = [t.attrs["pid"] for t in study.trials]
    assert [t.state for t in study.trials] == [
        TrialState.COMPLETED, TrialState.FAILED, TrialState.COMPLETED, TrialState.COMPLETED]
    assert pids[0] == pids[1] != pids[2] == pids[3]
    assert "Out of memory: trial 1 raised MemoryError" in study.trials[1].reason


def test_out_of_memory_is_recognised_by_type_message_and_cause():
    class ResourceExhaustedError(RuntimeError):  # TensorFlow's name, without TensorFlow
        pass

    assert _oom.is_out_of_memory(MemoryError())
    assert _oom.is_out_of_memory(ResourceExhaustedError("OOM"))
    assert _oom.is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert _oom.is_out_of_memory(ValueError("RESOURCE_EXHAUSTED: Out of memory allocating 8GB"))
    wrapped = RuntimeError("the fit failed")
    wrapped.__cause__ = MemoryError()
    assert _oom.is_out_of_memory(wrapped)
    assert not _oom.is_out_of_memory(ValueError("units must be positive"))


def test_the_kernels_oom_kill_count_is_read_from_cgroup_v2_and_v1(tmp_path):
    proc = tmp_path / "cgroup"
    v2 = tmp_path / "fs" / "job"
    v2.mkdir(parents=True)
    (v2 / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n")
    proc.write_text("0::/job\n")
    assert _oom.oom_kill_count(str(tmp_path / "fs"), str(proc)) == 2

    v1 = tmp_path / "fs1" / "memory" / "docker" / "abc"
    v1.mkdir(parents=True)
    (v1 / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n")
    proc.write_text("4:memory:/docker/abc\n1:cpu:/\n0::/\n")
    assert _oom.oom_kill_count(str(tmp_path / "fs1"), str(proc)) == 7
    assert _oom.oom_kill_count(str(tmp_path / "nothing"), str(proc)) is None


def test_process_executor_names_bad_limits():
    with pytest.raises(ValueError, match=r"max_trials_per_worker=0 must be a positive number"):
        ProcessExecutor(2, max_trials_per_worker=0)
    with pytest.raises(ValueError, match=r"max_trials_per_worker=True must be a positive"):
        ProcessExecutor(2, max_trials_per_worker=True)
    with pytest.raises(ValueError, match=r"n_jobs=0 must be a positive number"):
        ProcessExecutor(0)


# ---------------------------------------------------------------- the Keras tuners


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float32")
    return x[:96], y[:96], x[96:], y[96:]


def make_build(keras):
    def build(hp):
        model = keras.Sequential([
            keras.Input(shape=(4,)),
            keras.layers.Dense(hp.Int("units", 2, 8, step=2), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(hp.Choice("lr", [1e-2, 3e-2])),
                      loss="binary_crossentropy", metrics=["accuracy"])
        return model

    return build


def stored(tuner):
    """What a search stored, but where each trial ran."""
    return [
        (t.number, t.state, t.values, t.retry_of, t.best_step,
         [(s.step, s.metrics) for s in t.steps],
         {k: v for k, v in t.attrs.items() if k != "pid"})
        for t in tuner.study.trials
    ]


def assert_same_results(isolated, in_process):
    assert len(isolated) == len(in_process)
    for a, b in zip(isolated, in_process):
        assert a[:5] == b[:5] and a[6] == b[6]
        assert [s for s, _ in a[5]] == [s for s, _ in b[5]]
        for (_, ma), (_, mb) in zip(a[5], b[5]):
            assert ma.keys() == mb.keys()
            assert list(ma.values()) == pytest.approx(list(mb.values()), rel=1e-5, abs=1e-6)


def test_isolated_keras_search_stores_what_the_in_process_one_stores(tmp_path, keras, data):
    """A seeded search with a pruner and an out-of-memory trial re-run: the same trials,
    steps, attrs, pruning, failures and re-runs with isolate=True as in-process, each trial
    in its own process, on_trial_end in the searching process, get_best_models working."""
    from tunewise.schedulers import Pruner
    from tunewise.schedulers._pruners import EVIDENCE_STATES

    class PruneOnceOneFinished(Pruner):  # defined here: it travels by value
        name = "once-one-finished"

        def should_prune(self, trial_steps, step, others):
            return step >= 1 and any(t.state in EVIDENCE_STATES for t in others)

    ended = []

    class Tuner(tw.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):
            trial.set_attr("pid", os.getpid())
            if trial.number == 1:  # its re-run is trial 2
                import tensorflow as tf

                raise tf.errors.ResourceExhaustedError(
                    None, None, "OOM when allocating tensor with shape[65536,65536]")
            return super().run_trial(trial, *args, **kwargs)

        def on_trial_end(self, trial):
            ended.append((trial.number, trial.status, os.getpid()))

    x, y, xv, yv = data
    results, tuners = {}, {}
    for isolate in (False, True):
        ended.clear()
        tuner = Tuner(make_build(keras), objective="val_loss", max_trials=2, seed=0, verbose=0,
                      directory=str(tmp_path), project_name=f"iso-{isolate}",
                      max_retries_per_trial=1, pruner=PruneOnceOneFinished())
        tuner.search(x, y, epochs=2, validation_data=(xv, yv), verbose=0, isolate=isolate)
        results[isolate], tuners[isolate] = (stored(tuner), list(ended)), tuner

    (isolated, ended_isolated), (in_process, ended_in_process) = results[True], results[False]
    assert_same_results(isolated, in_process)
    assert [(n, state) for n, state, *_ in in_process] == [
        (0, TrialState.COMPLETED), (1, TrialState.FAILED), (2, TrialState.PRUNED)]
    assert in_process[2][3] == 1  # trial 2 re-ran trial 1's configuration
    assert ended_isolated == ended_in_process
    assert {pid for *_, pid in ended_isolated} == {os.getpid()}  # on_trial_end ran here

    trials = tuners[True].study.trials
    pids = [t.attrs["pid"] for t in trials]
    assert len(set(pids)) == 3 and os.getpid() not in pids  # a fresh process per trial
    assert "Out of memory: trial 1 raised ResourceExhaustedError" in trials[1].reason
    assert "ResourceExhaustedError" in tuners[False].study.trials[1].reason

    (model,) = tuners[True].get_best_models(1)  # the weights came back to this process
    best = tuners[True].oracle.get_best_trials(1)[0]
    assert best.number == 0
    assert model.evaluate(xv, yv, verbose=0)[0] == pytest.approx(best.score, rel=1e-5)


def test_isolated_hyperband_continues_each_parent_from_its_weights_file(tmp_path, keras, data):
    """Hyperband with a fresh process per trial: the promoted trial's process reads its
    parent's best weights from the file the searching process wrote, so it continues the
    parent's training exactly as in-process (same epochs, same losses)."""
    x, y, xv, yv = data
    results, tuners = {}, {}
    for isolate in (False, True):
        tuner = tw.Hyperband(make_build(keras), objective="val_loss", max_epochs=2, factor=2,
                             max_trials=3, seed=0, verbose=0, directory=str(tmp_path),
                             project_name=f"hb-{isolate}")
        tuner.search(x, y, validation_data=(xv, yv), verbose=0, isolate=isolate)
        results[isolate], tuners[isolate] = stored(tuner), tuner

    assert_same_results(results[True], results[False])
    promoted = tuners[True].study.trials[2]
    assert (promoted.attrs["parent"], promoted.attrs["initial_budget"]) == (1, 1)
    assert [s.step for s in promoted.steps] == [1]  # epoch 2 only: it continued epoch 1
    (model,) = tuners[True].get_best_models(1)
    best = tuners[True].oracle.get_best_trials(1)[0]
    assert model.evaluate(xv, yv, verbose=0)[0] == pytest.approx(best.score, rel=1e-5)


def test_isolate_rejects_what_it_cannot_do(tmp_path, keras, data):
    x, y, xv, yv = data
    tuner = tw.RandomSearch(make_build(keras), objective="val_loss", max_trials=2, seed=0,
                            verbose=0, directory=str(tmp_path), project_name="bad")
    fit = {"epochs": 1, "validation_data": (xv, yv), "verbose": 0}
    with pytest.raises(TypeError, match=r"isolate='yes' must be True .* or False"):
        tuner.search(x, y, isolate="yes", **fit)
    with pytest.raises(ValueError, match=r"isolate=True .* executor='ray' the executor chooses"):
        tuner.search(x, y, isolate=True, executor="ray", **fit)
    in_memory = tw.RandomSearch(make_build(keras), objective="val_loss", max_trials=2, seed=0,
                                verbose=0, storage="memory", project_name="mem")
    with pytest.raises(ValueError, match=r"isolate=True \(n_jobs=1.*storage='memory'"):
        in_memory.search(x, y, isolate=True, **fit)
    assert tuner.study.trials == [] and in_memory.study.trials == []
