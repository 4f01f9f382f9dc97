"""Keras Tuner 1.4.8 parity of its tuners and oracles (what its tuners/*_test.py rely on):
values a run_trial reads from a declared space are stored, a define-by-run grid runs each
configuration once, ``create_trial`` says IDLE while trials still run, ``populate_space`` of
the oracle's own algorithm, ``start_order``/``end_order`` from the storage, SklearnTuner's
one step per trial and its kept models, and Hyperband's "factor needs" error."""

from __future__ import annotations

import warnings

import pytest

import tunewise as kt
from tunewise.trial import TrialState


class PolynomialTuner(kt.engine.base_tuner.BaseTuner):
    """A run_trial that reads a declared space without defining anything."""

    def run_trial(self, trial):
        hp = trial.hyperparameters
        return -(hp["a"] ** 3) + hp["b"] ** 3 + hp["c"] - abs(hp["d"])


def _declared(names="abcd"):
    hps = kt.HyperParameters()
    for name in names:
        hps.Float(name, -1, 1)
    return hps


def test_values_read_from_a_declared_space_are_stored_and_modelled(tmp_path):
    tuner = PolynomialTuner(
        oracle=kt.oracles.BayesianOptimizationOracle(
            objective=kt.Objective("score", "max"), hyperparameters=_declared(),
            max_trials=40, seed=1),
        directory=tmp_path, project_name="poly", verbose=0)
    tuner.search()
    trials = tuner.study.trials
    assert len(trials) == 40
    for t in trials:  # each trial stores the values it read (before: {} for every trial)
        assert set(t.values) == set("abcd")
        v = t.values
        assert t.score == pytest.approx(-(v["a"] ** 3) + v["b"] ** 3 + v["c"] - abs(v["d"]))
    best = tuner.oracle.get_best_trials()[0]
    # the optimum is 3 at a=-1, b=1, c=1, d=0; with nothing stored the GP proposed corners
    # (best 2.0 after 50 trials)
    assert best.score > 2.8
    assert best.hyperparameters["d"] == pytest.approx(0, abs=0.15)
    # reopened from the storage: the same values come back
    again = kt.load_study(str(tmp_path / "poly" / "tunewise.db")) if hasattr(
        kt, "load_study") else None
    if again is not None:
        assert [t.values for t in again.trials] == [t.values for t in trials]


class BranchingGrid(kt.tuners.gridsearch.GridSearch):
    """Two branches without conditional scopes, as Keras Tuner's test_new_hp defines them."""

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        if hp.Boolean("bool"):
            hp.Choice("choice1", [0, 1, 2])
        else:
            hp.Choice("choice2", [3, 4, 5])
        return float(len(trial.hyperparameters.values))


def test_define_by_run_grid_runs_each_reached_configuration_once(tmp_path):
    tuner = BranchingGrid(directory=tmp_path, project_name="g", verbose=0)
    tuner.search()
    seen = sorted(tuple(sorted(t.values.items())) for t in tuner.study.trials)
    assert seen == sorted(
        [(("bool", False), ("choice2", c)) for c in (3, 4, 5)]
        + [(("bool", True), ("choice1", c)) for c in (0, 1, 2)]
    )  # before: 5 trials, (False, 3) twice and choice1 = 1, 2 never tried


def test_grid_create_trial_is_idle_while_running_trials_may_grow_the_space(tmp_path):
    oracle = kt.oracles.GridSearchOracle(objective=kt.Objective("score", "max"))
    oracle._set_project_dir(tmp_path, "idle")
    hp = oracle.get_space()
    hp.Boolean("bool")
    oracle.update_space(hp)

    def finish(trial):
        trial.hyperparameters.Boolean("bool2")  # discovered while the trial runs
        oracle.update_space(trial.hyperparameters)
        oracle.update_trial(trial.trial_id, {"score": 1.0})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)

    t1, t2 = oracle.create_trial("1"), oracle.create_trial("2")
    assert (t1.status, t2.status) == ("RUNNING", "RUNNING")
    assert oracle.create_trial("3").status == "IDLE"  # before: STOPPED, the search over
    finish(t1)
    t3 = oracle.create_trial("3")
    assert t3.status == "RUNNING" and t3.hyperparameters.values == {"bool": False, "bool2": True}
    assert oracle.create_trial("4").status == "IDLE"  # only trial 2 can tell (True, *) apart
    finish(t2)
    t4 = oracle.create_trial("4")
    assert t4.status == "RUNNING" and t4.hyperparameters.values == {"bool": True, "bool2": True}
    finish(t3)
    finish(t4)
    assert oracle.create_trial("5").status == "STOPPED"
    assert oracle.start_order == ["00", "01", "02", "03"]
    assert oracle.end_order == ["00", "01", "02", "03"]


def test_a_failed_trial_covers_only_its_exact_configuration(tmp_path):
    attempts = []

    class FailsFirst(kt.tuners.gridsearch.GridSearch):
        def run_trial(self, trial, *args, **kwargs):
            attempts.append(len(self.oracle.start_order))
            hp = trial.hyperparameters
            a = hp.Int("a", 1, 2)
            if len(attempts) == 1:  # fails before reaching "b" of its branch
                raise kt.errors.FailedTrialError("data not ready")
            return float(10 * a + hp.Int("b", 1, 2))

    tuner = FailsFirst(directory=tmp_path, project_name="f", verbose=0)
    tuner.search()
    completed = sorted(t.score for t in tuner.study.trials if t.state is TrialState.COMPLETED)
    assert completed == [11, 12, 21, 22]  # a=1 was not written off by the partial failure
    assert [t.state for t in tuner.study.trials].count(TrialState.FAILED) == 1
    assert attempts[0] == 1  # start_order holds the running trial itself


@pytest.mark.parametrize("seed", range(8))
def test_random_search_of_a_declared_space_with_unreached_values_fills_max_trials(seed):
    # Keras Tuner's test_restricted_space_with_custom_defaults: units_1 is declared Fixed
    # but read only when num_layers >= 2. Draws that differed only in unreached values were
    # claimed as new and refused as taken, so searches stopped "exhausted" after 1-3 of 4.
    declared = kt.HyperParameters()
    declared.Int("num_layers", 1, 3, default=2)
    declared.Choice("lr", [0.01, 0.001, 0.0001])
    declared.Fixed("units_0", 4)
    declared.Fixed("units_1", 3)

    def fn(hp):
        units = [hp.Int(f"units_{i}", 5, 9, default=6) for i in range(hp.Int("num_layers", 1, 3))]
        return float(sum(units)) * hp.Choice("lr", [0.01, 0.001, 0.0001])

    study = kt.Study("loss", storage="memory", verbose=0, seed=seed, hyperparameters=declared,
                     tune_new_entries=False)
    study.optimize(fn, max_trials=9)  # 9 reached-distinct configurations: 3 depths x 3 lr
    reached = {tuple(sorted(t.values.items())) for t in study.trials}
    assert len(study.trials) == 9 and len(reached) == 9


def test_populate_space_of_the_oracles_own_algorithm(tmp_path):
    hps = kt.HyperParameters()
    hps.Choice("a", [1, 2], default=1)
    oracle = kt.oracles.BayesianOptimizationOracle(
        objective=kt.Objective("score", "max"), max_trials=20, num_initial_points=3, seed=0)
    oracle._set_project_dir(tmp_path, "pop")
    oracle.hyperparameters = hps
    first = oracle.populate_space("0")
    assert first["status"] == "RUNNING" and first["values"]["a"] in (1, 2)
    hps.Int("b", 3, 10, default=3)  # the live HyperParameters given to the oracle grew
    second = oracle.populate_space("1")
    assert set(second["values"]) == {"a", "b"} and 3 <= second["values"]["b"] <= 10


def test_a_subclass_changes_what_super_populate_space_proposes(tmp_path):
    class AlwaysTwo(kt.oracles.RandomSearchOracle):
        def populate_space(self, trial_id):
            result = super().populate_space(trial_id)
            if "values" in result:
                result["values"]["layers"] = 2
            return result

    class Counting(kt.engine.base_tuner.BaseTuner):
        def run_trial(self, trial):
            hp = trial.hyperparameters
            return float(sum(hp.Int(f"units_{i}", 1, 4) for i in range(hp.Int("layers", 0, 2))))

    tuner = Counting(oracle=AlwaysTwo(objective=kt.Objective("score", "max"), max_trials=4,
                                      seed=0),
                     directory=tmp_path, project_name="sub", verbose=0)
    tuner.search()
    assert [t.values["layers"] for t in tuner.study.trials] == [2, 2, 2, 2]
    assert {hp.name for hp in tuner.oracle.get_space().space} == {"layers", "units_0",
                                                                   "units_1"}


def test_hyperband_factor_error_names_the_value():
    with pytest.raises(ValueError, match=r"factor needs to be an integer >= 2.*factor=1"):
        kt.tuners.hyperband.HyperbandOracle(
            objective=kt.Objective("score", "max"), max_epochs=8, factor=1)


# ---------------------------------------------------------------------- SklearnTuner
sklearn = pytest.importorskip("sklearn")


def _build_estimator(hp):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=hp.Float("C", 1e-3, 1e2, sampling="log"), max_iter=300)


def test_sklearn_tuner_stores_one_step_per_trial_and_keeps_every_model(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.metrics import accuracy_score, make_scorer
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X, y = load_iris(return_X_y=True)
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    tuner = kt.SklearnTuner(
        oracle=kt.oracles.RandomSearchOracle(objective=kt.Objective("score", "max"),
                                             max_trials=7, seed=0),
        hypermodel=_build_estimator, scoring=make_scorer(accuracy_score),
        metrics=[accuracy_score], cv=cv, directory=tmp_path, project_name="s", verbose=0)
    tuner.search(X, y)
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.best_step == 0 and [s.step for s in best.steps] == [0]  # Keras Tuner's step
    metrics = best.steps[0].metrics
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before: "'C' is already defined as Fixed(...)"
        rebuilt = _build_estimator(best.hyperparameters)
    assert rebuilt.C == best.values["C"]
    manual = cross_val_score(rebuilt, X, y, cv=cv)
    assert metrics["score"] == pytest.approx(manual.mean())
    assert metrics["score__std"] == pytest.approx(manual.std())
    assert metrics["executions"] == 4 and not any(k.endswith("__fold") for k in metrics)
    assert best.metrics.exists("accuracy_score")
    models = tuner.get_best_models(7)  # every trial keeps its model, as in Keras Tuner
    assert len(models) == 7 and all(m.predict(X[:2]).shape == (2,) for m in models)
