"""The doctor's setup checks: an objective that is never logged, a direction that contradicts
the metric (or the model's own loss), and an objective that ranks trials unlike the metric the
user tracks; plus healthy searches that must raise none of them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import tunewise as tw
from tunewise.diagnostics import _checks_setup as setup
from tunewise.diagnostics import diagnose
from tunewise.diagnostics._checks_setup import closest_name
from tunewise.diagnostics._stats import spearman

SETUP_CODES = {"objective-not-logged", "direction-suspect", "metric-mismatch"}


def memory(objective, **kw):
    kw.setdefault("seed", 0)
    return tw.Study(objective, storage="memory", verbose=0, **kw)


def curve(floor, epochs=6, start=1.0, rate=0.7):
    """A learning curve decaying from ``floor + start`` toward ``floor``."""
    return [floor + start * math.exp(-rate * e) for e in range(epochs)]


def setup_codes(report):
    return set(report.codes) & SETUP_CODES


# ------------------------------------------------------------------ objective-not-logged


def test_a_misspelt_objective_names_the_logged_metric_it_probably_means():
    study = memory("val_acc", max_consecutive_failed_trials=0)

    def fn(hp, trial):
        lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
        for e, v in enumerate(curve(0.3 + abs(math.log10(lr) + 2.5) * 0.1)):
            trial.report(e, {"loss": v, "val_loss": v * 1.1, "val_accuracy": 1 - v / 3})

    study.optimize(fn, max_trials=4)
    report = diagnose(study)
    finding = report.get("objective-not-logged")
    assert finding is not None and finding.severity == "problem"
    assert finding.evidence == {
        "objective": "val_acc",
        "trials": ["00", "01", "02", "03"],
        "logged": ["loss", "val_accuracy", "val_loss"],
        "closest": "val_accuracy",
        "validation_logged": True,
    }
    assert "objective='val_accuracy'" in finding.fix
    assert "'val_acc'" in finding.message and "4 of 4 trials" in finding.message

    text = str(report)
    assert "[PROBLEM] objective-not-logged" in text and "closest=val_accuracy" in text
    data = json.loads(report.to_json())
    stored = next(f for f in data["findings"] if f["code"] == "objective-not-logged")
    assert stored["evidence"]["trials"] == ["00", "01", "02", "03"]
    assert stored["fix"] == finding.fix


def test_a_validation_objective_without_validation_data_says_so():
    study = memory("val_accuracy", max_consecutive_failed_trials=0)

    def fn(hp, trial):
        x = hp.Float("x", 0, 1)
        for e, v in enumerate(curve(x)):
            trial.report(e, {"loss": v, "accuracy": 1 - v / 3})

    study.optimize(fn, max_trials=3)
    finding = diagnose(study).get("objective-not-logged")
    assert finding.evidence["validation_logged"] is False
    assert finding.evidence["closest"] == "accuracy"
    assert finding.evidence["logged"] == ["accuracy", "loss"]
    assert "no validation data" in finding.message
    assert "validation_data=" in finding.fix and "objective='accuracy'" in finding.fix


def test_only_the_trials_of_a_branch_that_logs_another_name_are_named():
    study = memory("val_auc", max_consecutive_failed_trials=0)

    def fn(hp, trial):
        head = hp.Choice("head", ["a", "b"])
        name = "val_auc" if head == "a" else "val_auc_1"  # a second AUC metric gets a suffix
        for e, v in enumerate(curve(hp.Float("x", 0, 1))):
            trial.report(e, {"val_loss": v, name: 1 - v / 3})

    study.optimize(fn, max_trials=12)
    failed = [t.trial_id for t in study.trials if t.state is tw.TrialState.FAILED]
    assert failed and len(failed) < 12
    finding = diagnose(study).get("objective-not-logged")
    assert finding.evidence["trials"] == failed
    assert finding.evidence["closest"] == "val_auc_1"
    assert "objective='val_auc_1'" in finding.fix


def test_a_missing_component_of_a_multi_objective_is_renamed_in_the_fix():
    objective = [tw.Objective("val_loss", "min"), tw.Objective("val_acc", "max")]
    study = memory(objective, max_consecutive_failed_trials=0)

    def fn(hp, trial):
        for e, v in enumerate(curve(hp.Float("x", 0, 1))):
            trial.report(e, {"val_loss": v, "val_accuracy": 1 - v / 3})

    study.optimize(fn, max_trials=3)
    found = [f for f in diagnose(study).findings if f.code == "objective-not-logged"]
    assert [f.evidence["objective"] for f in found] == ["val_acc"]
    assert found[0].evidence["trials"] == ["00", "01", "02"]
    assert found[0].fix.startswith('Pass objective=[tunewise.Objective("val_loss", "min"), '
                                   'tunewise.Objective("val_accuracy", "max")]')


def test_a_function_that_returns_nothing_is_told_to_return_the_objective():
    study = memory("val_loss", max_consecutive_failed_trials=0)
    study.optimize(lambda hp: None if hp.Float("x", 0, 1) >= 0 else 1.0, max_trials=2)
    finding = diagnose(study).get("objective-not-logged")
    assert finding.evidence["logged"] == [] and finding.evidence["closest"] is None
    assert "reported no metric at all" in finding.message
    assert "Return the objective" in finding.fix


def test_a_trial_that_crashed_before_its_final_report_is_not_called_unlogged():
    study = memory("val_loss", max_consecutive_failed_trials=0)

    def fn(hp, trial):
        x = hp.Float("x", 0, 1)
        trial.report(0, {"loss": 1.0 + x})  # the objective only comes with the final result
        if x > 0.5:
            raise RuntimeError("out of memory")
        return {"val_loss": x}

    study.optimize(fn, max_trials=10)
    assert any(t.state is tw.TrialState.FAILED for t in study.trials)
    assert "objective-not-logged" not in diagnose(study).codes


def test_closest_name_prefers_an_extension_then_a_typo_and_never_another_metric():
    logged = ["loss", "val_accuracy", "val_loss", "val_loss__std", "executions"]
    assert closest_name("val_acc", logged) == "val_accuracy"
    assert closest_name("val_accuarcy", logged) == "val_accuracy"
    assert closest_name("val_auc", logged) is None
    assert closest_name("val_los", ["val_loss", "val_loss__std"]) == "val_loss"


def test_keras_objective_not_logged_names_the_logged_metric(tmp_path):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")

    def build(hp):
        model = keras.Sequential([
            keras.Input(shape=(4,)),
            keras.layers.Dense(hp.Int("units", 2, 4, step=2), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model

    tuner = tw.RandomSearch(build, objective="val_acc", max_trials=3, directory=str(tmp_path),
                            project_name="p", seed=0, verbose=0)
    with pytest.raises(tw.integrations.keras.ObjectiveNotLoggedError):
        tuner.search(x[:48], y[:48], epochs=1, validation_data=(x[48:], y[48:]), verbose=0)
    finding = diagnose(tuner).get("objective-not-logged")
    assert finding is not None and finding.severity == "problem"
    assert finding.evidence["objective"] == "val_acc"
    assert finding.evidence["trials"] == ["00"]
    assert finding.evidence["closest"] == "val_accuracy"
    assert {"accuracy", "loss", "val_accuracy", "val_loss"} <= set(finding.evidence["logged"])
    assert finding.evidence["validation_logged"] is True
    assert "objective='val_accuracy'" in finding.fix


# ------------------------------------------------------------------ direction-suspect


def regression_fn(hp, trial):
    """Error falls toward an optimum at lr=1e-2; every metric agrees on it."""
    lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
    floor = 0.1 + 0.2 * (math.log10(lr) + 2) ** 2
    for e, v in enumerate(curve(floor)):
        trial.report(e, {"loss": v * 0.9, "val_loss": v, "mse": v * 0.9, "val_mse": v})


@pytest.mark.parametrize("name", ["val_loss", "mse"])
def test_maximising_a_loss_is_a_problem_with_the_right_objective_spelt_out(name):
    study = memory(tw.Objective(name, "max"))
    study.optimize(regression_fn, max_trials=10)
    found = [f for f in diagnose(study).findings if f.code == "direction-suspect"]
    assert len(found) == 1 and found[0].severity == "problem"
    assert found[0].evidence == {"objective": name, "direction": "max",
                                 "expected_direction": "min"}
    assert f'tunewise.Objective("{name}", "min")' in found[0].fix
    assert "maximised" in found[0].message and "minimised" in found[0].message
    # Every other metric now disagrees with the objective; the direction is the one cause.
    assert "metric-mismatch" not in diagnose(study).codes


def test_each_component_of_a_multi_objective_is_checked():
    study = memory([tw.Objective("val_loss", "min"), tw.Objective("val_mse", "max")])
    study.optimize(regression_fn, max_trials=3)
    found = [f for f in diagnose(study).findings if f.code == "direction-suspect"]
    assert [f.evidence["objective"] for f in found] == ["val_mse"]
    assert found[0].fix == ('Pass objective=[tunewise.Objective("val_loss", "min"), '
                            'tunewise.Objective("val_mse", "min")].')


def test_an_unknown_metric_that_improves_as_the_loss_gets_worse_is_a_problem():
    # "val_gap" is an error (lower is better) the user maximises; its name says nothing.
    study = memory(tw.Objective("val_gap", "max"), seed=4)

    def fn(hp, trial):
        lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
        floor = 0.1 + 0.2 * (math.log10(lr) + 2) ** 2
        for e, v in enumerate(curve(floor)):
            trial.report(e, {"loss": v * 0.9, "val_loss": v, "val_gap": 2 * v + 0.05})

    study.optimize(fn, max_trials=12)
    finding = diagnose(study).get("direction-suspect")
    assert finding is not None and finding.severity == "problem"
    ev = finding.evidence
    assert ev["loss_metric"] == "val_loss" and ev["trials"] == 12
    assert ev["rank_correlation"] == pytest.approx(1.0)
    assert ev["rank_correlation_lowest_loss"] == pytest.approx(1.0)
    best = study.best_trial
    loss_at_best = {t.trial_id: t.steps[t.best_step].metrics["val_loss"] for t in study.trials}
    lowest = min(loss_at_best, key=loss_at_best.get)
    assert ev["best_trial"] == best.trial_id
    assert ev["best_trial_loss"] == pytest.approx(max(loss_at_best.values()))
    assert ev["lowest_loss_trial"] == lowest
    assert ev["lowest_loss"] == pytest.approx(loss_at_best[lowest])
    assert 'tunewise.Objective("val_gap", "min")' in finding.fix
    assert "direction-suspect" in str(diagnose(study))


def test_a_maximised_score_that_tracks_the_loss_is_not_suspect():
    study = memory(tw.Objective("val_gap", "min"), seed=4)

    def fn(hp, trial):
        lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
        floor = 0.1 + 0.2 * (math.log10(lr) + 2) ** 2
        for e, v in enumerate(curve(floor)):
            trial.report(e, {"val_loss": v, "val_gap": 2 * v + 0.05})

    study.optimize(fn, max_trials=12)
    assert "direction-suspect" not in diagnose(study).codes


def test_an_overconfident_classifier_is_not_mistaken_for_an_inverted_objective():
    # Bigger models reach a higher accuracy but overfit: their val_loss climbs after epoch 3,
    # so at the best-accuracy epoch the best trials do have the highest loss; their lowest
    # loss, though, is the lowest of all.
    study = memory("val_accuracy", seed=8)

    def fn(hp, trial):
        size = hp.Int("units", 8, 256, step=8) / 256
        for e in range(10):
            done = 1 - math.exp(-0.5 * e)
            trial.report(e, {"val_accuracy": 0.5 + (0.3 + 0.15 * size) * done,
                             "val_loss": 0.5 - 0.1 * size + 0.3 * (1 - done)
                             + 0.1 * size * max(0, e - 3)})

    study.optimize(fn, max_trials=12)
    trials = study.trials
    at_best = [t.steps[t.best_step].metrics["val_loss"] for t in trials]
    assert spearman([t.score for t in trials], at_best) > setup.LOSS_INVERSION_RHO
    assert "direction-suspect" not in diagnose(study).codes


# ------------------------------------------------------------------ metric-mismatch


def test_an_objective_that_ranks_trials_unlike_the_tracked_metric_is_a_warning():
    # val_loss favours small models, val_auc large ones: the best on val_loss has a poor AUC.
    study = memory("val_loss", seed=5)

    def fn(hp, trial):
        units = hp.Int("units", 8, 256, step=8)
        loss_floor = 0.2 + units / 512
        auc_ceiling = 0.6 + 0.35 * units / 256
        for e in range(6):
            done = 1 - math.exp(-0.7 * e)
            trial.report(e, {"loss": loss_floor * 0.9 + (1 - done),
                             "val_loss": loss_floor + (1 - done),
                             "val_auc": 0.5 + (auc_ceiling - 0.5) * done})

    study.optimize(fn, max_trials=15)
    report = diagnose(study)
    finding = report.get("metric-mismatch")
    assert finding is not None and finding.severity == "warning"
    ev = finding.evidence
    trials = [t for t in study.trials if t.state is tw.TrialState.COMPLETED]
    auc = {t.trial_id: max(s.metrics["val_auc"] for s in t.steps) for t in trials}
    best_auc = max(auc, key=auc.get)
    assert ev["metric"] == "val_auc" and ev["objective"] == "val_loss (min)"
    assert ev["objective_best_trial"] == study.best_trial.trial_id
    assert ev["objective_best_score"] == pytest.approx(study.best_value)
    assert ev["objective_best_metric"] == pytest.approx(auc[study.best_trial.trial_id])
    assert ev["metric_best_trial"] == best_auc
    assert ev["metric_best_value"] == pytest.approx(auc[best_auc])
    rho = spearman([-t.score for t in trials], [auc[t.trial_id] for t in trials])
    assert ev["rank_correlation"] == pytest.approx(rho) and rho < 0
    assert ev["trials"] == 15 and ev["top_k"] == 3
    assert "objective='val_auc'" in finding.fix
    assert study.best_trial.trial_id in finding.message and best_auc in finding.message
    assert "[WARNING] metric-mismatch" in str(report)
    assert json.loads(report.to_json())["findings"]
    # The loss says nothing about the direction here: both agree on val_loss being minimised.
    assert "direction-suspect" not in report.codes


def near_tie_search():
    # Accuracy saturates: most trials share a plateau where its ranks are scrambled by a hair
    # (0.002), a few fall off it; the objective-best sits on the plateau.
    study = memory("val_loss", seed=6)

    def fn(hp, trial):
        x = hp.Float("x", 0, 1)
        acc = 0.95 + 0.002 * math.sin(97 * x) if x < 0.85 else 0.6
        for e, v in enumerate(curve(0.2 + x)):
            trial.report(e, {"val_loss": v, "val_accuracy": acc})

    study.optimize(fn, max_trials=20)
    return study


def test_a_near_tie_on_the_tracked_metric_is_not_a_mismatch(monkeypatch):
    assert "metric-mismatch" not in diagnose(near_tie_search()).codes
    # Without the gap rule the scrambled plateau would be a (false) mismatch.
    monkeypatch.setattr(setup, "MISMATCH_MIN_GAP_SHARE", 0.0)
    assert "metric-mismatch" in diagnose(near_tie_search()).codes


def zigzag_search():
    # The AUC barely depends on x, but zig-zags from epoch to epoch by a per-trial amount: each
    # trial's best epoch is its zig-zag's peak, which scrambles the ranks by luck alone.
    study = memory("val_loss", seed=5)

    def fn(hp, trial):
        x = hp.Float("x", 0, 1)
        swing = 0.05 * (1 + math.sin(97 * x))
        for e, v in enumerate(curve(0.2 + x, epochs=8)):
            trial.report(e, {"val_loss": v, "val_auc": 0.9 - 0.02 * x + swing * (-1) ** e})

    study.optimize(fn, max_trials=12)
    return study


def test_a_gap_within_the_metric_epoch_noise_is_not_a_mismatch(monkeypatch):
    assert "metric-mismatch" not in diagnose(zigzag_search()).codes
    monkeypatch.setattr(setup, "MISMATCH_NOISE_FACTOR", 0.0)
    assert "metric-mismatch" in diagnose(zigzag_search()).codes


# ------------------------------------------------------------------ healthy searches


def healthy_fn(noise_seed):
    rng = np.random.default_rng(noise_seed)

    def fn(hp, trial):
        lr = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        units = hp.Int("units", 16, 256, step=16)
        floor = 0.2 + 0.3 * (math.log10(lr) + 2.5) ** 2 + 0.5 * ((units - 128) / 128) ** 2
        for e, v in enumerate(curve(floor, epochs=12, start=0.8, rate=0.6)):
            v += rng.normal(0, 0.002)
            trial.report(e, {"loss": v * 0.9, "accuracy": 1 - v * 0.27, "val_loss": v,
                             "val_accuracy": 1 - v / 3, "val_auc": 1 - v / 4})

    return fn


@pytest.mark.parametrize("objective", ["val_loss", "val_accuracy", "val_auc"])
def test_a_healthy_search_has_no_setup_finding(objective):
    study = memory(objective, seed=3)
    study.optimize(healthy_fn(3), max_trials=25)
    report = diagnose(study)
    assert setup_codes(report) == set(), str(report)
