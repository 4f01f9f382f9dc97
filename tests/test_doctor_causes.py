"""The doctor's causes: an edge optimum that is not a natural limit is a warning; a root
cause removes or demotes the findings it explains and the report opens with it; and one
closest-name rule for the live Keras check and the doctor."""

from __future__ import annotations

import json
import math
import random
import warnings

import numpy as np
import pytest

import tunewise as tw
from tunewise.diagnostics import diagnose


def memory(objective="loss", **kw):
    kw.setdefault("seed", 0)
    return tw.Study(objective, storage="memory", verbose=0, **kw)


def boundary(report, name):
    return next(f for f in report.findings
                if f.code == "boundary-optimum" and f.evidence["hyperparameter"] == name)


# ------------------------------------------------------------------ edge optimum


def test_top_trials_piled_at_a_bound_that_is_no_natural_limit_are_a_warning():
    """The issue's case: the 3 best trials at the upper bound of x in [0, 1] (rank
    correlation above 0.9) is a direct reason the best cannot improve."""
    study = memory(tw.Objective("score", "max"), seed=1)
    study.optimize(lambda hp: hp.Float("x", 0, 1) + 0.2 * hp.Float("y", 0, 1), max_trials=30)
    report = diagnose(study)
    finding = boundary(report, "x")
    assert finding.severity == "warning", str(report)
    assert finding.evidence["edge"] == "max" and finding.evidence["bound"] == 1.0
    assert finding.evidence["top_at_edge"] == 3 == len(finding.evidence["top_trials"])
    assert finding.evidence["rank_correlation_toward_edge"] > 0.9
    assert finding.evidence["natural_limit"] is None
    assert "max_value=1.5" in finding.fix
    assert report.causes[0] is finding
    assert str(report).startswith("Top cause: boundary-optimum: ")


@pytest.mark.parametrize(
    "name, objective, define, limit",
    [
        ("layers", "loss", lambda hp: float(hp.Int("layers", 1, 9)), "a count cannot go below 1"),
        ("units", tw.Objective("score", "max"),
         lambda hp: hp.Choice("units", [16, 32, 64, 128, 256]) + 0 * hp.Float("y", 0, 1),
         "the values of a Choice"),
        ("dropout", "loss", lambda hp: hp.Float("dropout", 0.0, 0.5),
         "a probability or fraction cannot go below 0"),
        ("weight_decay", "loss", lambda hp: hp.Float("weight_decay", 0.0, 5.0),
         "0 switches the penalty off"),
        ("keep_prob", tw.Objective("score", "max"), lambda hp: hp.Float("keep_prob", 0.0, 1.0),
         "a probability or fraction cannot go above 1"),
    ],
)
def test_a_pile_at_a_natural_limit_stays_info(name, objective, define, limit):
    study = memory(objective, seed=5)
    study.optimize(define, max_trials=30)
    finding = boundary(diagnose(study), name)
    assert finding.severity == "info"
    assert limit in finding.evidence["natural_limit"]


@pytest.mark.parametrize(
    "name, objective, define, edge",
    [
        ("x", "loss", lambda hp: hp.Float("x", 0.0, 1.0), "min"),  # 0 of a plain x: no limit
        ("learning_rate", tw.Objective("score", "max"),
         lambda hp: hp.Float("learning_rate", 0.0, 1.0), "max"),  # a step size, no fraction
        ("units", tw.Objective("score", "max"), lambda hp: float(hp.Int("units", 1, 9)), "max"),
    ],
)
def test_the_same_pile_at_a_bound_that_is_no_limit_is_a_warning(name, objective, define, edge):
    study = memory(objective, seed=5)
    study.optimize(define, max_trials=30)
    finding = boundary(diagnose(study), name)
    assert finding.severity == "warning" and finding.evidence["edge"] == edge
    assert finding.evidence["natural_limit"] is None


def test_a_moderate_trend_without_a_pile_at_the_edge_is_weak_evidence():
    """The best trial next to the bound and a noisy trend toward it, but most of the top
    trials off the edge: worth a note, not a warning."""
    rng = random.Random(5)
    study = memory(tw.Objective("score", "max"), seed=5)
    study.optimize(lambda hp: hp.Float("x", 0, 2) + rng.gauss(0, 0.5), max_trials=30)
    finding = boundary(diagnose(study), "x")
    assert finding.severity == "info" and "weak evidence" in finding.message
    assert 0.5 <= finding.evidence["rank_correlation_toward_edge"] < 0.8
    assert finding.evidence["top_at_edge"] == 1 and finding.evidence["natural_limit"] is None


# ------------------------------------------------------------------ causes


def never_logged_study(max_trials=12):
    """Every trial logs val_accuracy; the search optimises val_acc: all of them fail."""
    study = memory("val_acc", max_consecutive_failed_trials=0)
    study.optimize(lambda hp: {"val_accuracy": hp.Float("x", 0, 1), "val_loss": 0.5},
                   max_trials=max_trials)
    assert all(t.state is tw.TrialState.FAILED for t in study.trials)
    return study


def test_an_objective_never_logged_is_the_top_cause_with_no_range_and_no_budget_advice():
    report = never_logged_study().diagnose()
    assert "budget-too-small" not in report.codes  # "only 0 trials completed: raise max_trials"
    for f in report.findings:  # "every x >= 0.25 failed: narrow the range" is gone
        text = (f.message + " " + f.fix).lower()
        assert "narrow the range" not in text and "max_value" not in text, f
        assert "max_trials" not in text, f
    failed = report.get("failed-trials")
    assert failed.severity == "info" and failed.explained_by == "objective-not-logged"
    assert failed.evidence["shared_values"] == []
    assert [f.code for f in report.causes] == ["objective-not-logged"]
    assert report.findings[0].code == "objective-not-logged"

    text = str(report)
    assert text.startswith("Top cause: objective-not-logged: The objective 'val_acc'")
    assert "[INFO] failed-trials (explained by objective-not-logged)" in text
    data = json.loads(report.to_json())
    assert data["causes"] == ["objective-not-logged"]
    stored = next(f for f in data["findings"] if f["code"] == "failed-trials")
    assert stored["explained_by"] == "objective-not-logged"


def test_a_range_is_blamed_only_against_trials_that_did_not_fail():
    """A failure every trial shares (here an import error) says nothing about x; a failure
    only large x meet still names the range to narrow."""
    study = memory(max_consecutive_failed_trials=0)

    def fn(hp):
        hp.Float("x", 0, 1)
        raise ModuleNotFoundError("No module named 'cudnn'")

    study.optimize(fn, max_trials=10)
    finding = study.diagnose().get("failed-trials")
    assert finding.evidence["shared_values"] == []
    assert "Narrow the range" not in finding.fix and "every x" not in finding.message
    assert finding.severity == "problem" and "tracebacks" in finding.fix

    study = memory(max_consecutive_failed_trials=0)

    def large_x_fails(hp):
        x = hp.Float("x", 0, 1)
        if x >= 0.7:
            raise MemoryError("out of memory")
        return x

    study.optimize(large_x_fails, max_trials=30)
    finding = study.diagnose().get("failed-trials")
    smallest = min(t.values["x"] for t in study.trials if t.state is tw.TrialState.FAILED)
    assert finding.evidence["shared_values"][0].startswith(f"every x >= {smallest:g} failed")
    assert f"x max_value below {smallest:g}" in finding.fix


def test_a_reloaded_finished_project_explains_its_budget(tmp_path):
    def fn(hp):
        return hp.Float("a", 0, 1) + hp.Float("b", 0, 1) + hp.Float("c", 0, 1)

    where = dict(directory=str(tmp_path), project_name="p", seed=0, verbose=0)
    tw.Study("loss", **where).optimize(fn, max_trials=3)
    again = tw.Study("loss", **where)
    again.optimize(fn, max_trials=3)
    report = again.diagnose()
    budget = report.get("budget-too-small")
    assert budget.severity == "info" and budget.explained_by == "resumed-finished-project"
    assert budget.evidence["suggested_trials"] == 15  # the numbers stay
    assert [f.code for f in report.causes] == ["resumed-finished-project"]


def test_noise_explains_a_stalled_best():
    """Three executions per trial with a spread larger than the gaps between the top trials:
    the stall is the noise, not a converged search."""
    rng = random.Random(0)

    def fn(hp):
        x = hp.Float("x", -1, 1)
        return {"score": 1 - 0.1 * x * x + rng.gauss(0, 0.3) / math.sqrt(3),
                "score__std": 0.3, "executions": 3}

    study = memory(tw.Objective("score", "max"))
    study.optimize(fn, max_trials=40)
    report = study.diagnose()
    assert report.get("noisy-objective").severity == "warning"
    stall = report.get("stagnation")
    assert stall.severity == "info" and stall.explained_by == "noisy-objective"
    assert [f.code for f in report.causes] == ["noisy-objective"]


def test_the_cause_table_is_declarative_and_acyclic():
    from tunewise.diagnostics import EXPLAINS
    from tunewise.diagnostics._causes import _topological

    order = _topological(EXPLAINS)
    for row in EXPLAINS:
        assert row.action in ("suppress", "demote") and row.why
        assert order.index(row.cause) < order.index(row.explained)
    explained = {(r.cause, r.explained) for r in EXPLAINS}
    for code in ("failed-trials", "budget-too-small", "boundary-optimum", "stagnation"):
        assert ("objective-not-logged", code) in explained
    assert ("noisy-objective", "stagnation") in explained
    assert ("resumed-finished-project", "budget-too-small") in explained


# ------------------------------------------------------------------ one closest-name rule


@pytest.mark.parametrize(
    "name, logged, expected",
    [
        ("val_acc", ["loss", "val_accuracy", "val_loss", "val_accuracy__std", "executions"],
         "val_accuracy"),
        ("val_accuracy", ["acc", "loss", "val_acc", "val_loss"], "val_acc"),  # metrics=["acc"]
        ("val_loss", ["accuracy", "loss"], "loss"),  # no validation data
        ("val_acc", ["accuracy", "loss"], "accuracy"),
        ("val_mse", ["loss", "val_loss", "val_mean_squared_error"], "val_mean_squared_error"),
        ("val_auc", ["loss", "val_accuracy", "val_auc_1"], "val_auc_1"),
        ("val_accuarcy", ["val_accuracy", "val_loss"], "val_accuracy"),
        ("val_auc", ["loss", "val_accuracy", "val_loss"], None),  # never another metric
        ("val_loss", ["val_loss__std", "executions"], None),  # never the bookkeeping
    ],
)
def test_closest_name_rule(name, logged, expected):
    from tunewise.objective import closest_name

    assert closest_name(name, logged) == expected


def test_the_live_check_and_the_doctor_share_one_rule():
    from tunewise.diagnostics import _checks_setup
    from tunewise.integrations.keras import _recording
    from tunewise.objective import closest_name

    assert _recording.closest_name is closest_name is _checks_setup.closest_name
    message = _recording.objective_missing_message("val_accuracy", ["acc", "loss", "val_acc"])
    assert "Did you mean objective='val_acc'?" in message


@pytest.mark.parametrize("style", ["update_trial", "return"])
def test_a_run_trial_result_gets_the_closest_name(tmp_path, style):
    """Both ways a run_trial reports: Keras Tuner's oracle.update_trial (which raises when
    the objective is missing: the doctor reads that error) and a returned dict."""

    class Tuner(tw.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):
            x = trial.hyperparameters.Float("x", 0, 1)
            metrics = {"val_accuracy": x, "val_loss": 1 - x}
            if style == "return":
                return metrics
            self.oracle.update_trial(trial.trial_id, metrics)

    tuner = Tuner(objective="val_acc", max_trials=3, directory=str(tmp_path), project_name="p",
                  seed=0, verbose=0, max_consecutive_failed_trials=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # update_trial inside run_trial
        tuner.search()
    report = tuner.diagnose()
    finding = report.get("objective-not-logged")
    assert finding is not None and finding.severity == "problem"
    assert finding.evidence["closest"] == "val_accuracy"
    assert finding.evidence["logged"] == ["val_accuracy", "val_loss"]
    assert "objective='val_accuracy'" in finding.fix
    assert report.get("failed-trials").evidence["kinds"] == {"objective-missing": 3}
    assert report.causes[0] is finding


def test_keras_abbreviated_metric_gets_the_same_name_live_and_in_the_doctor(tmp_path):
    """compile(metrics=["acc"]) logs val_acc; objective="val_accuracy" gets val_acc from the
    live check's error and from the doctor alike."""
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
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc"])
        return model

    tuner = tw.RandomSearch(build, objective="val_accuracy", max_trials=3,
                            directory=str(tmp_path), project_name="p", seed=0, verbose=0)
    with pytest.raises(tw.integrations.keras.ObjectiveNotLoggedError) as info:
        tuner.search(x[:48], y[:48], epochs=1, validation_data=(x[48:], y[48:]), verbose=0)
    assert "Did you mean objective='val_acc'?" in str(info.value)
    finding = diagnose(tuner).get("objective-not-logged")
    assert finding.evidence["closest"] == "val_acc"
    assert "objective='val_acc'" in finding.fix


def test_keras_tuners_key_error_without_curves_is_the_objective_not_logged():
    """A Keras Tuner project read without TensorBoard logs: its failed trials hold only the
    traceback of ``Objective.get_value``'s KeyError, and no metric names."""

    def get_value(logs):  # as Keras Tuner 1.4's Objective.get_value: logs[self.name]
        return logs["val_acc"]

    def objective(hp):
        hp.Float("x", 0.0, 1.0)
        return get_value({})

    study = tw.Study(tw.Objective("val_acc", "max"), storage="memory", verbose=0, seed=0,
                     max_consecutive_failed_trials=4)
    with pytest.raises(tw.errors.TooManyFailedTrialsError):
        study.optimize(objective, max_trials=4)
    report = study.diagnose()
    finding = report.get("objective-not-logged")
    assert finding is not None and finding.severity == "problem"
    assert "KeyError" in finding.message and "val_acc" in finding.message
    assert report.causes and report.causes[0].code == "objective-not-logged"
    failed = report.get("failed-trials")
    assert failed is None or failed.explained_by == "objective-not-logged"
