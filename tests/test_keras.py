"""The Keras facade: epochs recorded, objective checked, callbacks copied, executions averaged,
best-epoch weights kept, run_trial overrides on every tuner class, reload after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import tunewise as kt
from tunewise.trial import TrialState


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(192, 6)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("float32")
    return x[:128], y[:128], x[128:], y[128:]


def build(hp):
    model = keras.Sequential(
        [
            keras.Input(shape=(6,)),
            keras.layers.Dense(hp.Int("units", 4, 16, step=4), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Choice("lr", [1e-2, 3e-2])),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def tuner_kwargs(tmp_path, **kw):
    kw.setdefault("directory", str(tmp_path))
    kw.setdefault("project_name", "p")
    kw.setdefault("seed", 0)
    kw.setdefault("verbose", 0)
    return kw


def test_every_epoch_is_stored_and_the_score_is_the_best_epoch(tmp_path, data):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=2, **tuner_kwargs(tmp_path))
    tuner.search(x, y, epochs=4, validation_data=(xv, yv), verbose=0)
    for trial in tuner.study.trials:
        assert trial.state is TrialState.COMPLETED
        assert [s.step for s in trial.steps] == [0, 1, 2, 3]
        assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(trial.steps[0].metrics)
        val = [s.metrics["val_loss"] for s in trial.steps]
        assert trial.score == min(val) and trial.best_step == int(np.argmin(val))
        # Keras Tuner's MetricsTracker view of the same steps
        history = trial.metrics.get_history("val_loss")
        assert [(o.step, o.value) for o in history] == [(i, [v]) for i, v in enumerate(val)]
        assert trial.metrics["val_loss"] == val
        assert trial.metrics.get_best_value("val_loss") == min(val)
        assert trial.metrics.get_best_step("val_loss") == trial.best_step
    summary = tuner.results_summary()
    assert summary.best_objective == min(t.score for t in tuner.study.trials)
    best_hp = tuner.get_best_hyperparameters(1)[0]
    assert best_hp.values == summary.best_trial.values
    assert tuner.oracle.get_best_trials(5) == summary.ranked[:5]
    before = tuner.study.trials
    tuner.reload()  # re-read from the SQLite file
    assert tuner.study.trials == before and tuner.study is not None


@pytest.mark.parametrize(
    "objective, hint",
    [
        ("val_acc", "Did you mean objective='val_accuracy'?"),
        ("val_auc", "Add the metric to model.compile"),
    ],
)
def test_an_objective_the_model_never_logs_fails_fast_with_the_closest_name(
    tmp_path, data, objective, hint
):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(
        build, objective=kt.Objective(objective, "max"), max_trials=5, **tuner_kwargs(tmp_path)
    )
    with pytest.raises(kt.integrations.keras.ObjectiveNotLoggedError) as info:
        tuner.search(x, y, epochs=3, validation_data=(xv, yv), verbose=0)
    message = str(info.value)
    assert f"The objective {objective!r} is not in the metrics the model logs" in message
    assert "val_accuracy" in message and hint in message
    assert len(tuner.study.trials) == 1  # one trial, not five failures


def test_a_validation_objective_without_validation_data_says_so(tmp_path, data):
    x, y, _, _ = data
    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=3, **tuner_kwargs(tmp_path))
    with pytest.raises(kt.FatalError, match="No validation metric was logged at all"):
        tuner.search(x, y, epochs=2, verbose=0)


class CountingStopper(keras.callbacks.Callback):
    """Stops after 3 epochs of its own count: shared state would stop later trials at once."""

    def __init__(self):
        super().__init__()
        self.epochs_seen = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_seen += 1
        if self.epochs_seen >= 3:
            self.model.stop_training = True


def test_user_callbacks_are_copied_per_trial(tmp_path, data):
    x, y, xv, yv = data
    stopper = CountingStopper()
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=100)
    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=3, **tuner_kwargs(tmp_path))
    tuner.search(
        x, y, epochs=6, validation_data=(xv, yv), callbacks=[stopper, early], verbose=0
    )
    assert [len(t.steps) for t in tuner.study.trials] == [3, 3, 3]
    attrs = tuner.study.trials[0].attrs
    assert attrs["epochs_asked"] == 6 and attrs["epochs_run"] == [3] and attrs["stopped_early"]
    assert attrs["early_stopping"]["monitor"] == "val_loss"
    assert attrs["early_stopping"]["patience"] == 100
    assert stopper.epochs_seen == 0 and early.model is None  # the originals never ran


class TwoExecutions(kt.RandomSearch):
    def run_trial(self, trial, *args, **kwargs):
        base = trial.hyperparameters.Float("x", 0.0, 1.0)
        return [{"score": base + 1.0}, {"score": base + 3.0}]


def test_executions_are_averaged_and_their_spread_is_stored(tmp_path, data):
    tuner = TwoExecutions(objective=kt.Objective("score", "min"), max_trials=2,
                          **tuner_kwargs(tmp_path))
    tuner.search()
    for t in tuner.study.trials:
        (step,) = t.steps
        assert step.metrics["score"] == pytest.approx(t.values["x"] + 2.0)
        assert step.metrics["score__std"] == pytest.approx(1.0)

    x, y, xv, yv = data
    keras_tuner = kt.RandomSearch(
        build, objective="val_loss", max_trials=1, executions_per_trial=2,
        **tuner_kwargs(tmp_path, project_name="exec"),
    )
    keras_tuner.search(x, y, epochs=3, validation_data=(xv, yv), verbose=0)
    (trial,) = keras_tuner.study.trials
    assert [s.metrics["executions"] for s in trial.steps] == [2.0, 2.0, 2.0]
    assert all(s.metrics["val_loss__std"] > 0 for s in trial.steps)  # two different inits


class Sabotage(keras.callbacks.Callback):
    """Zeroes the weights from epoch 2 on, so the best epoch is an early one."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            self.model.set_weights([np.zeros_like(w) for w in self.model.get_weights()])


def test_best_models_carry_the_weights_of_their_scored_epoch(tmp_path, data):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(
        build, objective="val_loss", max_trials=3, keep_best_models=2, **tuner_kwargs(tmp_path)
    )
    tuner.search(x, y, epochs=4, validation_data=(xv, yv), callbacks=[Sabotage()], verbose=0)
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.best_step <= 1 and best.steps[-1].metrics["val_loss"] > best.score
    (model,) = tuner.get_best_models(1)
    val_loss = model.evaluate(xv, yv, verbose=0)[0]
    assert val_loss == pytest.approx(best.score, rel=1e-4)
    kept = sorted(os.listdir(os.path.join(tmp_path, "p", tuner.study.name)))
    assert len(kept) == 2  # keep_best_models=2: the third trial's weights were deleted
    with pytest.raises(ValueError, match="keep_best_models"):
        tuner.get_best_models(3)


@pytest.mark.parametrize(
    "tuner_class, extra",
    [
        (kt.RandomSearch, {}),
        (kt.GridSearch, {}),
        (kt.BayesianOptimization, {"num_initial_points": 2}),
        (kt.Hyperband, {"max_epochs": 3, "factor": 3}),
    ],
)
@pytest.mark.parametrize("kind", ["float", "dict", "history", "list"])
def test_run_trial_overrides_work_on_every_tuner_class(tmp_path, tuner_class, extra, kind):
    class Custom(tuner_class):
        def run_trial(self, trial, *args, **kwargs):
            x = trial.hyperparameters.Int("x", 0, 5)
            value = float((x - 3) ** 2)
            if kind == "float":
                return value
            if kind == "dict":
                return {"cost": value, "other": 1.0}
            history = keras.callbacks.History()
            history.history = {"cost": [value + 2.0, value, value + 1.0]}
            return history if kind == "history" else [history, history]

    tuner = Custom(
        objective=kt.Objective("cost", "min") if kind != "float" else None,
        max_trials=4, **extra, **tuner_kwargs(tmp_path),
    )
    tuner.search()
    summary = tuner.results_summary()
    assert summary.best_objective == min((t.values["x"] - 3) ** 2 for t in tuner.study.trials)
    assert len(tuner.study.trials) == min(4, tuner.max_trials or 4)
    if kind in ("history", "list"):
        assert len(summary.best_trial.steps) == 3 and summary.best_trial.best_step == 1


class TunedFit(kt.HyperModel):
    def build(self, hp):
        return build(hp)

    def fit(self, hp, model, *args, **kwargs):
        kwargs["epochs"] = hp.Int("epochs", 1, 3)
        return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 64]), **kwargs)


def test_a_hypermodel_fit_can_tune_batch_size_and_epochs(tmp_path, data):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(TunedFit(), objective="val_accuracy", max_trials=3,
                            **tuner_kwargs(tmp_path))
    tuner.search(x, y, validation_data=(xv, yv), verbose=0)
    for t in tuner.study.trials:
        assert len(t.steps) == t.values["epochs"] and t.values["batch_size"] in (16, 64)


def test_the_tuners_verbose_zero_silences_tunewise(tmp_path, data, capsys):
    # search(verbose=0) silences fit only (tests/test_kt_console.py); the tuner's verbose=0 all
    x, y, xv, yv = data
    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=1, directory=str(tmp_path),
                            project_name="quiet", verbose=0)
    tuner.search(x, y, epochs=1, validation_data=(xv, yv), verbose=0)
    assert capsys.readouterr().out == ""


def test_hypermodel_none_needs_a_run_trial_override(tmp_path):
    with pytest.raises(ValueError, match="override\\s+run_trial"):
        kt.RandomSearch(None, objective="val_loss", **tuner_kwargs(tmp_path))


KILLED = textwrap.dedent(
    """
    import sys, time
    import numpy as np, keras
    import tunewise as kt

    class Hang(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs = 0
        def on_epoch_end(self, epoch, logs=None):
            self.epochs += 1

    def build(hp):
        m = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(hp.Int("u", 2, 8))
                              , keras.layers.Dense(1)])
        m.compile(optimizer="adam", loss="mse")
        return m

    class Tuner(kt.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):
            if trial.number == 2 and sys.argv[2] == "hang":
                print("HANGING", flush=True)
                time.sleep(300)
            return super().run_trial(trial, *args, **kwargs)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32"); y = x.sum(axis=1)
    tuner = Tuner(build, objective="val_loss", max_trials=4, seed=0, directory=sys.argv[1],
                  project_name="k")
    tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    print("BEST", tuner.results_summary().best_objective, len(tuner.study.trials), flush=True)
    """
)


def test_a_tuner_resumes_after_its_process_is_killed(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), "hang"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        while True:
            line = proc.stdout.readline()
            lines.append(line)
            if line.strip() == "HANGING" or not line:
                break
        assert lines[-1].strip() == "HANGING", "".join(lines)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    done = subprocess.run([sys.executable, str(script), str(tmp_path), "go"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    # Named on opening (which only reads); the search (verbose=0) then fails and re-runs it.
    assert "Trial 2 was left RUNNING by a worker that is gone" in done.stdout
    best_line = [ln for ln in done.stdout.splitlines() if ln.startswith("BEST")][0]
    _, best, n_trials = best_line.split()
    assert float(best) > 0 and int(n_trials) == 5  # 4 slots + the re-run of trial 2
