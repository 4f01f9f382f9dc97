"""The doctor's learning-curve checks: each pathology built for real through the public API
(synthetic curves reported epoch by epoch, seeded noise), found with the right evidence; a
healthy search gives none of them; and one real Keras search stopped too early."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tunewise as tw
from tunewise.diagnostics import diagnose

CURVE_CODES = {
    "noisy-objective",
    "lucky-epoch",
    "undertrained",
    "early-stopping-premature",
    "overfitting",
}


def run(fn, max_trials, objective="val_loss", seed=0):
    study = tw.Study(objective, storage="memory", seed=seed, verbose=0)
    study.optimize(fn, max_trials=max_trials)
    return study


def fit_attrs(trial, asked, run, es=None):
    """What the Keras runner stores about a fit, so the doctor reads the same facts."""
    trial.set_attr("epochs_asked", asked)
    trial.set_attr("epochs_run", [run])
    trial.set_attr("stopped_early", run < asked)
    if es is not None:
        trial.set_attr("early_stopping", es)


def simulate_early_stopping(trial, values, patience, min_delta=0.0):
    """Report ``values`` (val_loss per epoch) until Keras' EarlyStopping rule would stop."""
    best, wait = math.inf, 0
    for epoch, v in enumerate(values):
        trial.report(epoch, {"val_loss": float(v)})
        if v < best - min_delta:
            best, wait = v, 0
        else:
            wait += 1
            if wait >= patience:
                break
    es = {"monitor": "val_loss", "patience": patience, "min_delta": min_delta,
          "restore_best_weights": False, "stopped_epochs": [epoch]}
    fit_attrs(trial, len(values), epoch + 1, es)
    return epoch + 1


@pytest.mark.parametrize("objective", ["val_loss", "val_accuracy"])
def test_a_healthy_search_gives_no_curve_finding(objective):
    """Smooth objective, 24 trials, curves that improve then flatten, no noise, no stopping."""

    def healthy(hp, trial):
        lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
        units = hp.Int("units", 8, 128, step=8)
        final = 0.2 + 0.1 * (math.log10(lr) + 2.5) ** 2 + 0.05 * ((units - 64) / 64) ** 2
        for epoch in range(15):
            decay = math.exp(-epoch / 2)
            train, val = 0.8 * final + (1.5 - 0.8 * final) * decay, final + (1.5 - final) * decay
            if objective == "val_loss":
                trial.report(epoch, {"loss": train, "val_loss": val})
            else:
                trial.report(epoch, {"accuracy": 1 - train / 2, "val_accuracy": 1 - val / 2})
        fit_attrs(trial, 15, 15)

    report = diagnose(run(healthy, 24, objective=objective))
    assert not CURVE_CODES & set(report.codes), str(report)


def test_noisy_objective_from_repeated_executions_and_epoch_jitter():
    rng = np.random.default_rng(1)

    def fn(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        true = 0.30 + 0.01 * (x - 0.5) ** 2  # configurations hardly differ...
        for epoch in range(10):
            runs = true + 0.5 * math.exp(-epoch) + rng.normal(0, 0.03, size=3)  # ...noise does
            trial.report(epoch, {"val_loss": runs.mean(), "val_loss__std": runs.std(),
                                 "executions": 3})

    study = run(fn, 20)
    finding = diagnose(study).get("noisy-objective")
    assert finding is not None and finding.severity == "warning"
    ev = finding.evidence
    ranked = sorted((t for t in study.trials), key=lambda t: t.score)
    assert ev["top_trials"] == [t.trial_id for t in ranked[:3]]
    assert ev["gap"] == pytest.approx(ranked[2].score - ranked[0].score, rel=1e-4)
    assert ev["executions"] == 3
    assert {"executions", "epoch_jitter"} <= set(ev["noise_sources"])
    assert ev["noise"] >= ev["gap"]
    # sd of a 3-run mean with sd 0.03 is ~0.017
    assert 0.008 < ev["noise_sources"]["executions"] < 0.03
    assert "executions_per_trial=6" in finding.fix  # twice the 3 already run


def test_noisy_objective_from_near_identical_configurations():
    rng = np.random.default_rng(2)

    def fn(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        return {"val_loss": 0.3 + 0.002 * x + rng.normal(0, 0.05)}

    study = run(fn, 40)
    finding = diagnose(study).get("noisy-objective")
    assert finding is not None
    ev = finding.evidence
    assert set(ev["noise_sources"]) == {"identical_configurations"}
    assert 0.02 < ev["noise"] < 0.1
    xs = {t.trial_id: t.values["x"] for t in study.trials}
    assert ev["identical_pairs"] and all(abs(xs[a] - xs[b]) <= 0.02 for a, b in ev["identical_pairs"])


def test_lucky_epoch_names_the_spike_and_the_trial_that_would_be_best():
    rng = np.random.default_rng(3)

    def fn(hp, trial):
        hp.Int("units", 8, 64, step=8)
        n = trial.number
        level = {3: 0.81, 7: 0.835}.get(n, 0.80 + 0.003 * n)
        for epoch in range(12):
            acc = level - 0.3 * math.exp(-epoch / 2) + rng.normal(0, 0.003)
            if n == 3 and epoch == 6:
                acc += 0.06  # one lucky epoch
            trial.report(epoch, {"val_accuracy": acc})

    study = run(fn, 8, objective="val_accuracy")
    finding = diagnose(study).get("lucky-epoch")
    assert finding is not None
    ev = finding.evidence
    assert (ev["trial"], ev["step"], ev["would_be_best"]) == ("03", 6, "07")
    assert ev["value"] == pytest.approx(study.best_value, rel=1e-5)
    assert ev["neighbour_steps"] == [4, 5, 7, 8]
    assert all(v < ev["value"] - 0.04 for v in ev["neighbour_values"])
    assert 'score="last"' in finding.fix


def test_undertrained_when_most_curves_still_improve_at_the_last_epoch():
    rng = np.random.default_rng(4)

    def fn(hp, trial):
        lr = hp.Float("lr", 1e-4, 1e-2, sampling="log")
        rate = 0.03 + 2.0 * lr
        for epoch in range(8):
            trial.report(epoch, {"val_loss": 1.0 - rate * epoch + rng.normal(0, 0.003)})
        fit_attrs(trial, 8, 8)

    study = run(fn, 10)
    finding = diagnose(study).get("undertrained")
    assert finding is not None
    ev = finding.evidence
    assert ev["share"] == 1.0 and ev["eligible_trials"] == 10
    assert ev["trials"] == [t.trial_id for t in study.trials]
    assert ev["epochs_run"] == 8 and "epochs=16" in finding.fix


def test_early_stopping_premature_on_noisy_improving_curves():
    rng = np.random.default_rng(5)
    runs = {}

    def fn(hp, trial):
        hp.Float("dropout", 0.0, 0.5)
        curve = 1.0 - 0.01 * np.arange(40) + rng.normal(0, 0.03, 40)
        runs[trial.trial_id] = simulate_early_stopping(trial, curve, patience=1)

    study = run(fn, 10)
    finding = diagnose(study).get("early-stopping-premature")
    assert finding is not None
    ev = finding.evidence
    assert ev["monitor"] == "val_loss" and ev["patience"] == 1
    assert ev["share"] >= 0.3 and set(ev["trials"]) <= set(runs)
    assert ev["epochs_run"] == [runs[t] for t in ev["trials"]]
    assert ev["suggested_patience"] >= 5
    assert f"patience={ev['suggested_patience']}" in finding.fix


def test_early_stopping_min_delta_above_the_improvement_per_epoch():
    rng = np.random.default_rng(8)

    def fn(hp, trial):
        hp.Float("dropout", 0.0, 0.5)
        curve = 1.0 - 0.01 * np.arange(40) + rng.normal(0, 0.002, 40)  # steady, quiet
        simulate_early_stopping(trial, curve, patience=3, min_delta=0.05)

    study = run(fn, 6)
    finding = diagnose(study).get("early-stopping-premature")
    assert finding is not None
    ev = finding.evidence
    assert ev["min_delta"] == 0.05 and ev["share"] == 1.0
    assert all("min_delta_above_improvement" in r for r in ev["reasons"].values())
    assert ev["median_improvement_per_epoch"] == pytest.approx(0.01, rel=0.3)
    assert "min_delta=0" in finding.fix


def test_patient_early_stopping_on_converged_curves_is_not_premature():
    rng = np.random.default_rng(6)

    def fn(hp, trial):
        hp.Float("dropout", 0.0, 0.5)
        epochs = np.arange(60)
        curve = 0.3 + 0.7 * np.exp(-epochs / 3) + rng.normal(0, 0.005, 60)
        simulate_early_stopping(trial, curve, patience=5)

    study = run(fn, 10)
    assert all(t.attrs["stopped_early"] for t in study.trials)
    assert "early-stopping-premature" not in diagnose(study).codes


def test_overfitting_when_training_improves_and_validation_worsens():
    rng = np.random.default_rng(7)

    def fn(hp, trial):
        dropout = hp.Float("dropout", 0.0, 0.2)
        turn = 6 + 20 * dropout
        for epoch in range(20):
            train = 0.05 + math.exp(-epoch / 5)
            val = 0.4 + 0.6 * math.exp(-epoch / 3) + 0.004 * max(0.0, epoch - turn) ** 2
            trial.report(epoch, {"loss": train, "val_loss": val + rng.normal(0, 0.003)})

    study = run(fn, 8)
    finding = diagnose(study).get("overfitting")
    assert finding is not None
    ev = finding.evidence
    assert ev["training_metric"] == "loss" and ev["share"] == 1.0
    assert ev["trials"] == [t.trial_id for t in study.trials]
    by_id = {t.trial_id: t for t in study.trials}
    for tid, step, worse in zip(ev["trials"], ev["val_best_steps"], ev["val_worsened"]):
        assert step == by_id[tid].best_step
        assert worse > 0.05
    assert "restore_best_weights=True" in finding.fix


def test_real_keras_search_stopped_by_patience_1_on_a_noisy_validation_set(tmp_path):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    w = rng.normal(size=(8, 1)).astype("float32")
    y = x @ w
    xv = rng.normal(size=(24, 8)).astype("float32")
    yv = xv @ w + rng.normal(0, 2.0, size=(24, 1)).astype("float32")  # small, noisy

    def build(hp):
        model = keras.Sequential([
            keras.Input(shape=(8,)),
            keras.layers.Dense(hp.Int("units", 8, 32, step=8), activation="relu"),
            keras.layers.Dense(1),
        ])
        model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 0.02, 0.1)), loss="mse")
        return model

    keras.utils.set_random_seed(1)
    tuner = tw.RandomSearch(build, objective="val_loss", max_trials=4, directory=str(tmp_path),
                            project_name="p", verbose=0, seed=0)
    tuner.search(x, y, epochs=30, batch_size=32, validation_data=(xv, yv), verbose=0,
                 callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=1)])
    epochs = {t.trial_id: len(t.steps) for t in tuner.study.trials}
    assert all(t.attrs["stopped_early"] for t in tuner.study.trials)
    assert max(epochs.values()) < 30
    finding = diagnose(tuner).get("early-stopping-premature")
    assert finding is not None, str(diagnose(tuner))
    ev = finding.evidence
    assert ev["patience"] == 1 and ev["monitor"] == "val_loss" and ev["epochs_asked"] == 30
    assert ev["epochs_run"] == [epochs[t] for t in ev["trials"]]
    assert "patience=1" in finding.message and "patience=5" in finding.fix
