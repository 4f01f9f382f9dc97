"""Keras trials outside the search's process: Ray tasks (``executor=``) and ``n_jobs``.

Ray runs on loopback with 2 CPUs, once for the module. Build functions and tuner subclasses
are defined inside the tests, so Ray ships them by value to its worker processes.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import tunewise as tw
from tunewise.trial import TrialState


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float32")
    return x[:96], y[:96], x[96:], y[96:]


def make_build():
    def build(hp):
        model = keras.Sequential(
            [
                keras.Input(shape=(4,)),
                keras.layers.Dense(hp.Int("units", 2, 8, step=2), activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Choice("lr", [1e-2, 3e-2])),
            loss="binary_crossentropy",
            metrics=["accuracy"],
        )
        return model

    return build


def random_search(tmp_path, project_name, objective="val_loss", max_trials=3, **kwargs):
    """A seeded, quiet RandomSearch of ``make_build()`` stored under ``tmp_path``."""
    return tw.RandomSearch(make_build(), objective=objective, max_trials=max_trials,
                           directory=str(tmp_path), project_name=project_name, seed=0,
                           verbose=0, **kwargs)


def test_n_jobs_runs_trials_in_worker_processes_with_run_trial_overrides(tmp_path, data):
    x, y, xv, yv = data

    class PidTuner(tw.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):
            trial.set_attr("pid", os.getpid())
            return super().run_trial(trial, *args, **kwargs)

    tuner = PidTuner(
        make_build(),
        objective="val_accuracy",
        max_trials=2,
        directory=str(tmp_path),
        project_name="jobs",
        seed=1,
        verbose=0,
    )
    ray_before = "ray" in sys.modules and sys.modules["ray"].is_initialized()
    tuner.search(x, y, epochs=2, validation_data=(xv, yv), verbose=0, n_jobs=2)
    # The engine's own worker processes, not Ray: no Ray was started for them.
    assert ("ray" in sys.modules and sys.modules["ray"].is_initialized()) == ray_before

    trials = tuner.study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETED] * 2
    for t in trials:
        assert t.attrs["pid"] != os.getpid()  # fitted in another process
        assert [s.step for s in t.steps] == [0, 1]
        assert t.score == pytest.approx(max(s.metrics["val_accuracy"] for s in t.steps))
    (model,) = tuner.get_best_models(1)
    accuracy = model.evaluate(xv, yv, verbose=0)[1]
    assert accuracy == pytest.approx(tuner.oracle.get_best_trials(1)[0].score, abs=1e-6)


def test_ray_trials_store_every_epoch_and_the_best_weights(local_ray, tmp_path, data):
    x, y, xv, yv = data
    tuner = random_search(tmp_path, "ray")
    executor = tw.RayExecutor(num_cpus=1, max_concurrent=2)
    stop = keras.callbacks.EarlyStopping("val_loss", patience=7)  # copied into each task
    tuner.search(
        x, y, epochs=2, validation_data=(xv, yv), verbose=0, callbacks=[stop], executor=executor
    )

    trials = tuner.study.trials
    assert len(trials) == 3
    for t in trials:
        assert t.state is TrialState.COMPLETED
        assert [s.step for s in t.steps] == [0, 1]  # every epoch came back and was stored
        assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(t.steps[0].metrics)
        assert t.score == pytest.approx(min(s.metrics["val_loss"] for s in t.steps))
        assert t.attrs["epochs_run"] == [2] and t.attrs["epochs_asked"] == 2
        assert t.attrs["early_stopping"]["patience"] == 7
        assert t.attrs["stopped_early"] is False
    assert len({(t.values["units"], t.values["lr"]) for t in trials}) > 1

    best = tuner.oracle.get_best_trials(1)[0]
    assert best.score == min(t.score for t in trials)
    (model,) = tuner.get_best_models(1)  # weights the task sent back, written by the driver
    val_loss = model.evaluate(xv, yv, verbose=0)[0]
    assert val_loss == pytest.approx(best.score, rel=1e-4, abs=1e-6)

    summary = tuner.results_summary(3)
    assert summary.best_objective == pytest.approx(best.score)

    reopened = random_search(tmp_path, "ray")
    assert [len(t.steps) for t in reopened.study.trials] == [2, 2, 2]  # stored, not in memory


def test_a_pruner_stops_keras_fits_in_ray_tasks(local_ray, tmp_path, data):
    """The pruning callback works in a task: it asks the executor's pruning actor, which
    holds the study's finished trials. This pruner stops any fit at its second epoch once
    another trial has finished, so with one task at a time trial 0 runs its 3 epochs and
    the others are stored PRUNED after 2."""
    from tunewise.schedulers import Pruner
    from tunewise.schedulers._pruners import EVIDENCE_STATES

    class PruneOnceOneFinished(Pruner):  # defined here: Ray ships it by value
        name = "once-one-finished"

        def should_prune(self, trial_steps, step, others):
            return step >= 1 and any(t.state in EVIDENCE_STATES for t in others)

    x, y, xv, yv = data
    tuner = random_search(tmp_path, "prune", pruner=PruneOnceOneFinished())
    tuner.search(x, y, epochs=3, validation_data=(xv, yv), verbose=0,
                 executor=tw.RayExecutor(num_cpus=1, max_concurrent=1))
    trials = sorted(tuner.study.trials, key=lambda t: t.number)
    assert [(t.state, len(t.steps)) for t in trials] == [
        (TrialState.COMPLETED, 3), (TrialState.PRUNED, 2), (TrialState.PRUNED, 2)]


def test_a_pruner_stops_keras_fits_in_n_jobs_worker_processes(tmp_path, data):
    """In a worker process the pruning callback judges each epoch against the study's
    finished trials as stored. Trials 0 and 1 start together (no trial finished yet); trial 2
    starts only after one of them finished, so it is stopped at its second epoch."""
    from tunewise.schedulers import Pruner
    from tunewise.schedulers._pruners import EVIDENCE_STATES

    class PruneOnceOneFinished(Pruner):  # defined here: it travels by value
        name = "once-one-finished"

        def should_prune(self, trial_steps, step, others):
            return step >= 1 and any(t.state in EVIDENCE_STATES for t in others)

    x, y, xv, yv = data
    tuner = random_search(tmp_path, "prune-jobs", pruner=PruneOnceOneFinished())
    tuner.search(x, y, epochs=3, validation_data=(xv, yv), verbose=0, n_jobs=2)
    trials = sorted(tuner.study.trials, key=lambda t: t.number)
    assert (trials[2].state, len(trials[2].steps)) == (TrialState.PRUNED, 2)
    assert (TrialState.COMPLETED, 3) in [(t.state, len(t.steps)) for t in trials[:2]]


def test_a_ray_trial_that_logs_no_objective_stops_the_search(local_ray, tmp_path, data):
    x, y, _, _ = data
    tuner = random_search(tmp_path, "noval", objective="val_accuracy", max_trials=2)
    with pytest.raises(tw.FatalError, match=r"No validation metric was logged"):
        tuner.search(x, y, epochs=1, verbose=0, executor="ray")  # no validation_data
    assert tuner.study.trials[0].state is TrialState.FAILED


def test_parallel_keras_searches_reject_bad_arguments_clearly(tmp_path, data, monkeypatch):
    x, y, xv, yv = data
    kwargs = {"directory": str(tmp_path), "seed": 0, "verbose": 0}
    tuner = tw.RandomSearch(
        make_build(), objective="val_loss", max_trials=2, project_name="bad", **kwargs
    )
    fit = {"epochs": 1, "validation_data": (xv, yv), "verbose": 0}
    with pytest.raises(ValueError, match=r"n_jobs=0 must be a positive number"):
        tuner.search(x, y, n_jobs=0, **fit)
    with pytest.raises(ValueError, match=r"Pass n_jobs=2 or executor='ray', not both"):
        tuner.search(x, y, n_jobs=2, executor="ray", **fit)

    hyperband = tw.Hyperband(
        make_build(), objective="val_loss", max_epochs=3, project_name="hb", **kwargs
    )
    # (n_jobs and isolate=True run Hyperband: a promoted trial reads its parent's weights file)
    with pytest.raises(ValueError, match=r"Hyperband cannot run trials with executor='ray'"):
        hyperband.search(x, y, executor="ray", **fit)

    lock = threading.Lock()

    def build_with_lock(hp):
        with lock:
            return make_build()(hp)

    locked = tw.RandomSearch(
        build_with_lock, objective="val_loss", max_trials=2, project_name="lock", **kwargs
    )
    if importlib.util.find_spec("ray") is not None:
        with pytest.raises(TypeError, match=r"hypermodel cannot be sent .*cannot pickle"):
            locked.search(x, y, executor="ray", **fit)
        assert locked.study.trials == []

    with pytest.raises(TypeError, match=r"hypermodel cannot be sent .*n_jobs=2.*cannot pickle"):
        locked.search(x, y, n_jobs=2, **fit)  # worker processes: the same check, before any fit
    assert locked.study.trials == []

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ImportError, match=r"pip install 'tunewise\[ray\]'"):
        tuner.search(x, y, executor="ray", **fit)
    assert tuner.study.trials == []  # nothing ran, nothing reached model.fit
