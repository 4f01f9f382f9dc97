"""The Keras Hyperband facade on the Hyperband and ASHA schedulers: budgets as epochs, promoted
trials continuing their parent's weights, Keras-Tuner-style code, weights kept while needed."""

from __future__ import annotations

import os

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import tunewise as kt
from tunewise.schedulers import ASHAScheduler, HyperbandScheduler, job_of
from tunewise.trial import TrialState


@pytest.fixture(scope="module")
def classification():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(192, 6)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("float32")
    return x[:128], y[:128], x[128:], y[128:]


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(320, 4)).astype("float32")
    w = np.array([1.5, -2.0, 1.0, 0.5], dtype="float32")
    y = (x @ w + 0.01 * rng.normal(size=320)).astype("float32")
    return x[:256], y[:256], x[256:], y[256:]


def build_classifier(hp):
    model = keras.Sequential(
        [
            keras.Input(shape=(6,)),
            keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-2, 3e-2])),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def build_linear(hp):
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(hp.Choice("lr", [0.02, 0.01])), loss="mse")
    return model


def test_keras_tuner_style_hyperband_runs_the_schedule(tmp_path, classification, capsys):
    x, y, xv, yv = classification
    tuner = kt.Hyperband(
        build_classifier, objective="val_accuracy", max_epochs=3, factor=3,
        directory=str(tmp_path), project_name="kt_style", seed=0,
    )
    tuner.search(x, y, validation_data=(xv, yv), epochs=3, verbose=0)
    out = capsys.readouterr().out
    assert "2 brackets, 5 configurations, 6 trials, 11 epochs" in out
    trials = tuner.study.trials
    # bracket 1: 3 configurations x 1 epoch, the best continued to 3; bracket 0: 2 x 3 epochs
    assert [(job_of(t).budget, job_of(t).initial_budget) for t in trials] == [
        (1, 0), (1, 0), (1, 0), (3, 1), (3, 0), (3, 0)]
    assert all(t.state is TrialState.COMPLETED for t in trials)
    assert [t.attrs["epochs_run"] for t in trials] == [[1], [1], [1], [2], [3], [3]]
    assert [s.step for s in trials[3].steps] == [1, 2]
    summary = tuner.results_summary()
    assert summary.epochs_trained == 11
    # new configurations: random until a budget has d + 3 results, then a model (BOHB-style)
    assert tuner.study.settings["sampler"]["name"] == "auto"
    assert all(not k.startswith("tuner/") for t in trials for k in t.values)
    best_hp = tuner.get_best_hyperparameters(1)[0]
    # as Keras Tuner's: the tuned values plus the budget that reached the best score
    best_trial = tuner.oracle.get_best_trials(1)[0]
    assert set(best_hp.values) - {"tuner/trial_id"} == {
        "units", "learning_rate", "tuner/epochs", "tuner/initial_epoch", "tuner/bracket",
        "tuner/round"}
    assert best_hp.get("tuner/epochs") == job_of(best_trial).budget
    assert best_hp["units"] == best_trial.values["units"]
    (model,) = tuner.get_best_models(1)
    accuracy = model.evaluate(xv, yv, verbose=0)[1]
    assert accuracy == pytest.approx(summary.best_objective, abs=1e-6)


def test_a_promoted_trial_continues_from_its_parents_weights(tmp_path, regression):
    # 2 configurations: bracket 2 runs both for 1 epoch, continues the best to 3 then to 9
    # epochs (no collapse), and stops: the space has no third configuration.
    x, y, xv, yv = regression
    seen = {}

    class Watch(kt.Hyperband):
        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            seen[trial.number] = {k: hp[k] for k in ("tuner/epochs", "tuner/initial_epoch",
                                                     "tuner/round") if k in hp}
            seen[trial.number]["parent"] = hp.values.get("tuner/trial_id")
            return super().run_trial(trial, *args, **kwargs)

    tuner = Watch(build_linear, objective="val_loss", max_epochs=9, factor=3,
                  keep_best_models=0, **kwargs(tmp_path))
    tuner.search(x, y, validation_data=(xv, yv), batch_size=32, verbose=0)
    trials = tuner.study.trials
    assert [(job_of(t).budget, job_of(t).initial_budget) for t in trials] == [
        (1, 0), (1, 0), (3, 1), (9, 3)]
    parent, child = trials[2], trials[3]
    assert seen[3] == {"tuner/epochs": 9, "tuner/initial_epoch": 3, "tuner/round": 2,
                       "parent": "02"}
    assert [s.step for s in child.steps] == list(range(3, 9))
    fresh_first = trials[job_of(parent).parent].steps[0].metrics["val_loss"]
    parent_last = parent.steps[-1].metrics["val_loss"]
    child_first = child.steps[0].metrics["val_loss"]
    # The child's first epoch starts where the parent stopped: its loss is close to the
    # parent's last (one more epoch of descent), far below a fresh model's first epoch.
    assert parent_last < 0.5 * fresh_first
    assert child_first <= parent_last * 1.05
    assert child_first > 0.2 * parent_last  # one epoch of SGD does not jump to the optimum
    assert child_first < 0.25 * fresh_first
    # keep_best_models=0: the weights were kept while a promotion could need them, then removed
    assert not os.path.exists(tuner._weights_path(parent.number))
    assert not os.path.exists(tuner._weights_path(child.number))


def kwargs(tmp_path, **kw):
    kw.setdefault("directory", str(tmp_path))
    kw.setdefault("project_name", "p")
    kw.setdefault("seed", 0)
    kw.setdefault("verbose", 0)
    return kw


def test_weights_of_trials_that_may_be_promoted_are_kept_until_their_bracket_is_done(
    tmp_path, classification
):
    x, y, xv, yv = classification
    kept_during = []

    class Spy(kt.Hyperband):
        def _after_trial(self, study, frozen):
            super()._after_trial(study, frozen)
            kept_during.append(sorted(
                t.number for t in study.trials if os.path.exists(self._weights_path(t.number))))

    tuner = Spy(build_classifier, objective="val_loss", max_epochs=3, factor=3,
                keep_best_models=1, **kwargs(tmp_path))
    tuner.search(x, y, validation_data=(xv, yv), verbose=0)
    # after trial 2 the first rung of bracket 1 is complete: its three trials are all kept
    # (one of them is promoted next); once trial 3 finished bracket 1, only the best remains.
    assert kept_during[2] == [0, 1, 2]
    assert len(kept_during[3]) == 1 and len(kept_during[-1]) == 1
    best = tuner.oracle.get_best_trials(1)[0]
    assert kept_during[-1] == [best.number]


def test_asynchronous_hyperband_runs_asha_and_composes_with_tpe(tmp_path, classification):
    x, y, xv, yv = classification
    tuner = kt.Hyperband(build_classifier, objective="val_loss", max_epochs=3, factor=3,
                         asynchronous=True, sampler=kt.TPESampler(), **kwargs(tmp_path))
    assert isinstance(tuner.study.scheduler, ASHAScheduler)
    assert tuner.study.scheduler.max_total_budget == 11
    tuner.search(x, y, validation_data=(xv, yv), verbose=0)
    summary = tuner.results_summary(0)
    assert 11 <= summary.epochs_trained < 11 + 3
    assert summary.best_objective is not None
    plain = kt.Hyperband(build_classifier, objective="val_loss", max_epochs=3,
                         **kwargs(tmp_path, project_name="q"))
    assert isinstance(plain.study.scheduler, HyperbandScheduler)
