"""Keras Tuner 1.4.8's public names and its oracle/trial surface, under tunewise.

The list of names is keras-tuner 1.4.8's public API (its generated ``__init__`` files) plus
the module paths older code imports (1.0-1.4.7: ``keras_tuner.engine.hyperparameters``,
``keras_tuner.tuners.randomsearch``...).
"""

from __future__ import annotations

import importlib
import math

import pytest

import tunewise as kt
from tunewise.trial import TrialState

PUBLIC = {
    "tunewise": ["applications", "engine", "errors", "oracles", "tuners", "HyperModel",
                 "HyperParameters", "HyperParameter", "Objective", "Oracle", "synchronized",
                 "Tuner", "BayesianOptimization", "GridSearch", "Hyperband", "RandomSearch",
                 "SklearnTuner", "config"],
    "tunewise.engine.base_tuner": ["BaseTuner"],
    "tunewise.engine.hypermodel": ["HyperModel"],
    "tunewise.engine.hyperparameters": ["deserialize", "serialize", "Boolean", "Choice", "Fixed",
                                        "Float", "Int", "HyperParameter", "HyperParameters"],
    "tunewise.engine.metrics_tracking": ["infer_metric_direction", "MetricsTracker",
                                         "MetricHistory", "MetricObservation"],
    "tunewise.engine.oracle": ["Objective", "Oracle", "synchronized"],
    "tunewise.engine.objective": ["Objective", "MultiObjective", "create_objective"],
    "tunewise.engine.trial": ["Trial", "TrialStatus"],
    "tunewise.engine.tuner": ["Tuner", "maybe_distribute"],
    "tunewise.engine.conditions": ["Parent"],
    "tunewise.errors": ["FailedTrialError", "FatalError", "FatalRuntimeError", "FatalTypeError",
                        "FatalValueError"],
    "tunewise.oracles": ["BayesianOptimizationOracle", "GridSearchOracle", "HyperbandOracle",
                         "RandomSearchOracle", "BayesianOptimization", "GridSearch", "Hyperband",
                         "RandomSearch"],
    "tunewise.tuners": ["Tuner", "BayesianOptimization", "GridSearch", "Hyperband",
                        "RandomSearch", "SklearnTuner"],
    "tunewise.tuners.randomsearch": ["RandomSearch", "RandomSearchOracle"],
    "tunewise.tuners.gridsearch": ["GridSearch", "GridSearchOracle"],
    "tunewise.tuners.bayesian": ["BayesianOptimization", "BayesianOptimizationOracle"],
    "tunewise.tuners.hyperband": ["Hyperband", "HyperbandOracle"],
    "tunewise.tuners.sklearn_tuner": ["SklearnTuner"],
    "tunewise.config": ["DEBUG"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_public_name_of_keras_tuner_resolves(module):
    mod = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(mod, name)]
    assert missing == []


def test_old_import_paths_and_aliases_are_the_same_objects():
    from tunewise.engine.hyperparameters import HyperParameters

    assert HyperParameters is kt.HyperParameters
    assert kt.engine.tuner.Tuner is kt.Tuner
    assert kt.oracles.BayesianOptimization is kt.oracles.BayesianOptimizationOracle
    assert kt.tuners.randomsearch.RandomSearch is kt.RandomSearch
    assert kt.engine.oracle.Objective is kt.Objective


def test_custom_loop_over_the_oracle_stores_every_trial(tmp_path):
    """Keras Tuner's custom loop: create_trial / update_trial / end_trial, in SQLite."""
    oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("score", "max"),
                                           max_trials=4, seed=1)
    oracle._set_project_dir(tmp_path, "loop")
    hp = kt.HyperParameters()
    hp.Float("x", -1.0, 1.0)
    oracle.update_space(hp)
    seen = []
    while True:
        trial = oracle.create_trial("tuner0")
        if trial.status == "STOPPED":
            break
        assert oracle.create_trial("tuner0") is trial  # same tuner, same running trial
        x = trial.hyperparameters.get("x")
        for step in range(3):
            assert oracle.update_trial(trial.trial_id, {"score": -(x ** 2) + step}, step) == "RUNNING"
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        seen.append(x)
    assert len(seen) == 4 and len(set(seen)) == 4
    best = oracle.get_best_trials(1)[0]
    assert best.score == pytest.approx(max(-(x ** 2) + 2 for x in seen))
    assert best.metrics.get_history("score")[-1].step == 2
    assert best.metrics.get_direction("score") == "max" or best.metrics.get_best_value("score") == best.score
    # what the oracle wrote is in its storage: a fresh oracle on the same directory sees it
    again = kt.oracles.RandomSearchOracle(objective=kt.Objective("score", "max"), max_trials=4)
    again._set_project_dir(tmp_path, "loop")
    assert sorted(again.trials) == ["00", "01", "02", "03"]
    assert again.remaining_trials == 0


def test_invalid_trial_is_rerun_and_failed_is_not(tmp_path):
    oracle = kt.oracles.RandomSearchOracle(objective="val_loss", max_trials=10,
                                           max_retries_per_trial=1)
    hp = kt.HyperParameters()
    hp.Int("n", 0, 100)
    oracle.update_space(hp)
    first = oracle.create_trial("a")
    first.status, first.message = "INVALID", "boom"
    oracle.end_trial(first)
    rerun = oracle.create_trial("a")
    assert rerun.hyperparameters.get("n") == first.hyperparameters.get("n")
    rerun.status = "FAILED"
    oracle.end_trial(rerun)
    fresh = oracle.create_trial("a")
    assert fresh.trial_id not in (first.trial_id, rerun.trial_id)
    stored = oracle.trials
    assert stored[first.trial_id].status == "FAILED" and "boom" in stored[first.trial_id].message
    assert stored[rerun.trial_id].state is TrialState.FAILED


def test_nan_objective_is_stored_failed_and_never_best():
    oracle = kt.oracles.RandomSearchOracle(objective="val_loss", max_trials=5)
    hp = kt.HyperParameters()
    hp.Float("x", 0, 1)
    oracle.update_space(hp)
    for value in (0.5, float("nan"), 0.2):
        trial = oracle.create_trial("a")
        oracle.update_trial(trial.trial_id, {"val_loss": value})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    trials = oracle.trials
    assert trials["01"].status == "FAILED" and "nan" in trials["01"].reason
    assert [t.score for t in oracle.get_best_trials(3)] == [0.2, 0.5]


def test_missing_objective_in_update_trial_names_it():
    oracle = kt.oracles.RandomSearchOracle(objective="val_loss", max_trials=2)
    trial = oracle.create_trial("a")
    with pytest.raises(ValueError, match="Objective value missing.*val_loss.*found: \\['mse'\\]"):
        oracle.update_trial(trial.trial_id, {"mse": 1.0})


def test_consecutive_failures_stop_with_keras_tuners_message():
    oracle = kt.oracles.RandomSearchOracle(objective="val_loss", max_trials=10,
                                           max_consecutive_failed_trials=2)
    trial = oracle.create_trial("a")
    trial.status = "FAILED"
    oracle.end_trial(trial)
    trial = oracle.create_trial("a")
    trial.status = "FAILED"
    with pytest.raises(kt.TooManyFailedTrialsError, match="Number of consecutive failures"):
        oracle.end_trial(trial)


def test_populate_space_override_chooses_every_configuration(tmp_path):
    class Ladder(kt.Oracle):
        def populate_space(self, trial_id):
            k = int(trial_id)
            if k >= 3:
                return {"status": "STOPPED"}
            return {"status": "RUNNING", "values": {"x": float(k)}}

    class MyTuner(kt.engine.base_tuner.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            return -abs(trial.hyperparameters.Float("x", 0, 10) - 1.0)

    tuner = MyTuner(oracle=Ladder(objective=kt.Objective("score", "max")),
                    directory=tmp_path, verbose=0)
    tuner.oracle.objective  # noqa: B018
    tuner.search()
    values = [t.values["x"] for t in tuner.study.trials]
    assert values == [0.0, 1.0, 2.0]
    assert tuner.oracle.get_best_trials(1)[0].values["x"] == 1.0


def test_base_tuner_save_and_load_model_through_the_trial_dir(tmp_path):
    import pickle

    class Tiny(kt.engine.base_tuner.BaseTuner):
        def run_trial(self, trial, target):
            model = {"c": trial.hyperparameters.Float("c", 0.0, 1.0)}
            self.save_model(trial.trial_id, model)
            return {"score": -abs(model["c"] - target)}

        def save_model(self, trial_id, model, step=0):
            with open(f"{self.get_trial_dir(trial_id)}/m.pkl", "wb") as f:
                pickle.dump(model, f)

        def load_model(self, trial):
            with open(f"{self.get_trial_dir(trial.trial_id)}/m.pkl", "rb") as f:
                return pickle.load(f)

    tuner = Tiny(oracle=kt.oracles.RandomSearchOracle(objective=kt.Objective("score", "max"),
                                                      max_trials=5, seed=3),
                 directory=tmp_path, verbose=0)
    tuner.search(0.3)
    models = tuner.get_best_models(2)
    assert abs(models[0]["c"] - 0.3) <= abs(models[1]["c"] - 0.3)
    assert models[0]["c"] == tuner.oracle.get_best_trials(1)[0].values["c"]
    assert tuner.remaining_trials == 0


def test_run_trial_returning_a_string_stops_the_search_naming_it(tmp_path):
    class Bad(kt.engine.base_tuner.BaseTuner):
        def run_trial(self, trial):
            trial.hyperparameters.Int("n", 0, 3)
            return "0.5"

    tuner = Bad(oracle=kt.oracles.RandomSearchOracle(objective="loss", max_trials=3),
                directory=tmp_path, verbose=0)
    with pytest.raises(kt.FatalTypeError, match="run_trial\\(\\) to be one of float.*'0.5'"):
        tuner.search()


def test_unspecified_objective_needs_a_number(tmp_path):
    class NoObjective(kt.engine.base_tuner.BaseTuner):
        def run_trial(self, trial):
            return {"val_loss": trial.hyperparameters.Float("x", 0, 1)}

    tuner = NoObjective(oracle=kt.oracles.RandomSearchOracle(max_trials=2), directory=tmp_path,
                        verbose=0)
    with pytest.raises(TypeError, match="single float when `objective` is left unspecified"):
        tuner.search()


def test_restricting_new_entries_needs_hyperparameters():
    with pytest.raises(ValueError, match="tune_new_entries=False needs hyperparameters="):
        kt.oracles.RandomSearchOracle(objective="loss", tune_new_entries=False)
    with pytest.raises(ValueError, match="Unrecognized arguments \\['bogus'\\]"):
        kt.oracles.RandomSearchOracle(objective="loss", bogus=1)


def test_metrics_tracker_matches_keras_tuners_contract():
    tracker = kt.engine.metrics_tracking.MetricsTracker()
    tracker.register("acc", "max")
    for step, value in enumerate([0.5, 0.9, 0.7]):
        tracker.update("acc", value, step=step)
    tracker.update("loss", 2.0)  # registered on first use, direction inferred
    assert tracker.get_best_value("acc") == 0.9 and tracker.get_best_step("acc") == 1
    assert tracker.get_last_value("acc") == 0.7
    assert tracker.get_direction("loss") == "min"
    stats = tracker.get_statistics("acc")
    assert stats["mean"] == pytest.approx(0.7) and stats["median"] == 0.7
    again = kt.engine.metrics_tracking.MetricsTracker.from_config(tracker.get_config())
    assert again.get_history("acc") == tracker.get_history("acc")
    with pytest.raises(ValueError, match="Unknown metric: nope"):
        tracker.get_history("nope")
    assert kt.engine.metrics_tracking.infer_metric_direction("val_ce") == "min"
    assert kt.engine.metrics_tracking.infer_metric_direction("my_metric") is None


def test_objective_keras_tuner_methods():
    obj = kt.engine.objective.create_objective(["accuracy", "loss"])
    assert obj.get_value({"accuracy": 3.0, "loss": 2.0}) == -1.0
    assert obj == kt.engine.objective.create_objective(["loss", "accuracy"])
    single = kt.engine.objective.create_objective("accuracy")
    assert single.better_than(1, 0) and not single.better_than(0, 0)
    assert str(single) == 'Objective(name="accuracy", direction="max")'
    assert math.isclose(single.get_value({"accuracy": 0.25}), 0.25)


def test_standalone_trial_record_round_trips():
    hps = kt.HyperParameters()
    hps.Int("a", 0, 10, default=3)
    trial = kt.engine.trial.Trial(hps, trial_id="7", status=kt.engine.trial.TrialStatus.COMPLETED)
    trial.metrics.update("score", 10, step=1)
    trial.score, trial.best_step = 10.0, 1
    back = kt.engine.trial.Trial.from_state(trial.get_state())
    assert (back.trial_id, back.status, back.score, back.best_step) == ("7", "COMPLETED", 10.0, 1)
    assert back.hyperparameters.get("a") == 3
    assert back.metrics.get_best_value("score") == 10.0
