"""Keras Tuner 1.4.8 parity of the Keras tuner: the trial/epoch/batch hooks of a Tuner subclass,
a tuner-level optimizer instance copied per trial, lazily built models restored by
get_best_models, and a GridSearch whose conditional space is defined in run_trial."""

from __future__ import annotations

import signal

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import tunewise as kt
from tunewise.trial import TrialState
from tunewise.trial_attrs import INITIAL_BUDGET, PARENT


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    return x[:32], y[:32], x[32:], y[32:]


def build(hp):
    model = keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(hp.Int("units", 2, 8, step=2), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def kwargs(tmp_path, **kw):
    return {"directory": str(tmp_path), "project_name": "p", "seed": 0, "verbose": 0, **kw}


class HookedSearch(kt.RandomSearch):
    """Logs every Keras Tuner hook call with what it was given."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.calls = []

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        # .get: before build defines them, a trial's values are not yet in .values (tunewise)
        self.calls.append(("trial_begin", trial.trial_id, trial.hyperparameters.get("units")))

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        self.calls.append(("trial_end", trial.trial_id, trial.status, trial.score))

    def on_epoch_begin(self, trial, model, epoch, logs=None):
        assert isinstance(model, keras.Model)
        self.calls.append(("epoch_begin", trial.trial_id, epoch))

    def on_epoch_end(self, trial, model, epoch, logs=None):
        assert isinstance(model, keras.Model)
        self.calls.append(("epoch_end", trial.trial_id, epoch, sorted(logs)))

    def on_batch_begin(self, trial, model, batch, logs):
        self.calls.append(("batch_begin", trial.trial_id, batch))

    def on_batch_end(self, trial, model, batch, logs):
        self.calls.append(("batch_end", trial.trial_id, batch))


def test_trial_epoch_and_batch_hooks_are_called_as_keras_tuner_does(tmp_path, data):
    x, y, xv, yv = data
    tuner = HookedSearch(build, objective="val_loss", max_trials=2, **kwargs(tmp_path))
    tuner.search(x, y, epochs=2, batch_size=16, validation_data=(xv, yv), verbose=0)
    trials = tuner.study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETED] * 2
    expected = []
    for t in trials:
        expected.append(("trial_begin", t.trial_id, t.values["units"]))
        for epoch in range(2):
            expected.append(("epoch_begin", t.trial_id, epoch))
            for batch in range(2):  # 32 samples / batch_size 16; validation has no batch hooks
                expected += [("batch_begin", t.trial_id, batch), ("batch_end", t.trial_id, batch)]
            expected.append(
                ("epoch_end", t.trial_id, epoch,
                 ["accuracy", "loss", "val_accuracy", "val_loss"])
            )
        expected.append(("trial_end", t.trial_id, "COMPLETED", t.score))
    assert tuner.calls == expected
    assert all(t.score is not None for t in trials)


def test_on_trial_end_is_called_for_a_failed_trial_too(tmp_path, data):
    x, y, _, _ = data

    def fails(hp):  # the default (2, built when the tuner is made) passes; 4, 6, 8 fail
        if hp.Int("units", 2, 8, step=2) != 2:
            raise kt.errors.FailedTrialError("only 2")
        return build(hp)

    tuner = HookedSearch(fails, objective="loss", max_trials=3,
                         max_consecutive_failed_trials=5, **kwargs(tmp_path))
    tuner.search(x, y, epochs=1, verbose=0)
    ends = [c for c in tuner.calls if c[0] == "trial_end"]
    begins = [c for c in tuner.calls if c[0] == "trial_begin"]
    assert len(ends) == len(begins) == len(tuner.study.trials)
    assert [c[2] for c in ends] == [t.status for t in tuner.study.trials]
    assert "FAILED" in {c[2] for c in ends}


def test_a_tuner_level_optimizer_instance_is_copied_for_every_trial(tmp_path, data):
    x, y, _, _ = data
    optimizer = keras.optimizers.Adam(learning_rate=3e-3)
    tuner = kt.RandomSearch(
        build, objective="loss", max_trials=3, optimizer=optimizer,
        loss="binary_crossentropy", metrics=["accuracy"], **kwargs(tmp_path),
    )
    tuner.search(x, y, epochs=1, verbose=0)
    trials = tuner.study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETED] * 3, [t.reason for t in trials]
    assert all("accuracy" in t.steps[0].metrics for t in trials)
    assert not optimizer.built  # the user's instance itself never trained a model
    model = tuner.get_best_models(1)[0]
    assert model.optimizer is not optimizer
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(3e-3)


def test_an_optimizer_override_keeps_the_metrics_compiled_in_build(tmp_path, data):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=2,
                            optimizer=keras.optimizers.SGD(0.1), **kwargs(tmp_path))
    tuner.search(x, y, epochs=1, validation_data=(xv, yv), verbose=0)
    assert [t.state for t in tuner.study.trials] == [TrialState.COMPLETED] * 2


def build_lazy(hp):
    model = keras.Sequential()  # no Input: built on the first fit
    model.add(keras.layers.Dense(hp.Int("units", 2, 8, step=2), activation="relu"))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def test_a_lazily_built_sequential_is_restored_by_get_best_models(tmp_path, data):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(build_lazy, objective="val_loss", max_trials=2, **kwargs(tmp_path))
    tuner.search(x, y, epochs=1, validation_data=(xv, yv), verbose=0)
    best = tuner.oracle.get_best_trials(1)[0]
    (model,) = tuner.get_best_models(1)
    assert model.built
    loss = model.evaluate(xv, yv, verbose=0)
    assert loss == pytest.approx(best.score, rel=1e-4, abs=1e-5)


def test_a_lazily_built_sequential_continues_its_parent_under_hyperband(tmp_path, data):
    x, y, xv, yv = data
    tuner = kt.Hyperband(build_lazy, objective="val_loss", max_epochs=3, factor=3,
                         **kwargs(tmp_path))
    tuner.search(x, y, validation_data=(xv, yv), verbose=0)
    trials = tuner.study.trials
    assert all(t.state is TrialState.COMPLETED for t in trials), [t.reason for t in trials]
    promoted = [t for t in trials if t.attrs.get(PARENT) is not None]
    assert promoted
    # Each continued from its parent's weights (a missing or unloadable parent would restart
    # it at epoch 0): its first epoch follows the parent's budget.
    assert all(t.steps[0].step == t.attrs[INITIAL_BUDGET] > 0 for t in promoted)


class ConditionalGrid(kt.GridSearch):
    """Keras Tuner style: the space is first met inside run_trial, with a conditional scope."""

    def run_trial(self, trial, *args, **kw):
        hp = trial.hyperparameters
        model = hp.Choice("model", ["a", "b"])
        with hp.conditional_scope("model", ["a"]):
            if model == "a":
                return float(hp.Choice("a_size", [1, 2, 3]))
        with hp.conditional_scope("model", ["b"]):
            return float(hp.Choice("b_size", [10, 20]))


def test_grid_over_a_conditional_space_defined_in_run_trial_runs_each_once(tmp_path):
    def too_long(signum, frame):
        raise TimeoutError("the grid search did not end: it repeats configurations")

    old = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(30)
    try:
        tuner = ConditionalGrid(objective="loss", max_trials=None, **kwargs(tmp_path))
        tuner.search()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    seen = [tuple(sorted(t.values.items())) for t in tuner.study.trials]
    assert sorted(seen) == sorted(
        [(("a_size", v), ("model", "a")) for v in (1, 2, 3)]
        + [(("b_size", v), ("model", "b")) for v in (10, 20)]
    )
    assert tuner.get_best_hyperparameters(1)[0].values == {"model": "a", "a_size": 1}
