"""The scikit-learn integration: TunewiseSearchCV and SklearnTuner on offline datasets."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import load_diabetes, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, balanced_accuracy_score, make_scorer
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks

import tunewise as kt
from tunewise.diagnostics import SearchHistory, diagnose_history
from tunewise.integrations.sklearn import CV_FOLDS_ATTR
from tunewise.objective import Objective
from tunewise.schedulers import MedianPruner
from tunewise.sklearn import TunewiseSearchCV
from tunewise.space import Choice, Float, Int
from tunewise.trial import FrozenTrial, Step, TrialState
from tunewise.trial_attrs import CV_FOLDS as DOCTOR_CV_ATTR


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    keep = rng.choice(len(y), 360, replace=False)
    return X[keep] / 16.0, y[keep]


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def _log_c(hp):
    return {"C": hp.Float("C", 1e-3, 1e2, sampling="log")}


# ---------------------------------------------------------------------- classification
def test_classification_on_digits_refits_the_best_and_delegates(digits):
    X, y = digits
    search = TunewiseSearchCV(
        LogisticRegression(max_iter=300), _log_c, n_trials=5, cv=3, random_state=0
    ).fit(X, y)
    res = search.cv_results_
    assert len(res["params"]) == 5
    best = int(np.argmax(res["mean_test_score"]))
    assert search.best_index_ == best
    assert search.best_score_ == res["mean_test_score"][best]
    assert search.best_params_ == res["params"][best]
    assert res["rank_test_score"][best] == 1
    assert search.best_estimator_.C == search.best_params_["C"]
    assert search.best_score_ > 0.85
    # the fold scores are those of scikit-learn's own cross-validation
    again = cross_val_score(LogisticRegression(max_iter=300, C=search.best_params_["C"]), X, y,
                            cv=3)
    np.testing.assert_allclose([res[f"split{k}_test_score"][best] for k in range(3)], again)
    # delegation to best_estimator_
    np.testing.assert_array_equal(search.predict(X), search.best_estimator_.predict(X))
    np.testing.assert_allclose(search.predict_proba(X[:4]),
                               search.best_estimator_.predict_proba(X[:4]))
    assert search.decision_function(X[:4]).shape == (4, 10)
    assert search.score(X, y) == accuracy_score(y, search.predict(X))
    np.testing.assert_array_equal(search.classes_, np.arange(10))
    # the study behind it: the score of a trial is its mean over the folds
    assert search.study_.best_value == pytest.approx(search.best_score_)
    restored = pickle.loads(pickle.dumps(search))
    assert not hasattr(restored, "study_") and len(restored.trials_) == 5
    with pytest.raises(AttributeError, match="unpickled"):
        restored.diagnose()
    np.testing.assert_array_equal(restored.predict(X[:5]), search.predict(X[:5]))


def test_same_random_state_same_trials_and_parallel_folds_agree(wine):
    X, y = wine
    kwargs = {"n_trials": 4, "cv": 3, "random_state": 3}
    a = TunewiseSearchCV(LogisticRegression(), _log_c, **kwargs).fit(X, y)
    b = TunewiseSearchCV(LogisticRegression(), _log_c, n_jobs=2, **kwargs).fit(X, y)
    assert [p["C"] for p in a.cv_results_["params"]] == [p["C"] for p in b.cv_results_["params"]]
    np.testing.assert_allclose(a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"])


# ---------------------------------------------------------------------- cv_results_ format
@pytest.mark.parametrize(
    "scoring, refit, train",
    [(None, True, False), (["accuracy", "f1_macro"], "f1_macro", True)],
)
def test_cv_results_match_gridsearchcv(wine, scoring, refit, train):
    """Same grid, same folds: the same keys in the same order, and the same numbers."""
    X, y = wine
    grid = GridSearchCV(LogisticRegression(), {"C": [0.01, 1.0]}, cv=3, scoring=scoring,
                        refit=refit, return_train_score=train).fit(X, y)
    ours = TunewiseSearchCV(LogisticRegression(), {"C": Choice("C", [0.01, 1.0])}, n_trials=2,
                            cv=3, scoring=scoring, refit=refit, return_train_score=train,
                            sampler=kt.GridSampler()).fit(X, y)
    assert list(ours.cv_results_) == list(grid.cv_results_)
    order = [grid.cv_results_["params"].index(p) for p in ours.cv_results_["params"]]
    for key, value in grid.cv_results_.items():
        if "time" in key:
            continue
        if key == "params" or key.startswith("param_"):
            assert [value[i] for i in order] == list(ours.cv_results_[key])
        else:
            np.testing.assert_allclose(np.asarray(value)[order], ours.cv_results_[key])
    assert ours.best_params_ == grid.best_params_
    assert ours.best_score_ == pytest.approx(grid.best_score_)
    assert ours.multimetric_ is grid.multimetric_
    assert ours.score(X, y) == pytest.approx(grid.score(X, y))


def test_multimetric_optimises_the_refit_metric(wine):
    X, y = wine
    search = TunewiseSearchCV(
        DecisionTreeClassifier(random_state=0), {"max_depth": Int("max_depth", 1, 6)},
        n_trials=4, cv=3, scoring={"acc": "accuracy", "bal": "balanced_accuracy"}, refit="bal",
        random_state=1,
    ).fit(X, y)
    assert search.study_.objective.name == "bal"
    assert search.best_index_ == int(np.argmax(search.cv_results_["mean_test_bal"]))
    assert search.best_score_ == search.cv_results_["mean_test_bal"][search.best_index_]
    with pytest.raises(ValueError, match="refit must be one of their names"):
        TunewiseSearchCV(Ridge(), {"alpha": [1.0, 2.0]},
                         scoring=["r2", "neg_mean_absolute_error"]).fit(X, y)


# ---------------------------------------------------------------------- regression, pipelines
def test_pipeline_regression_on_diabetes(diabetes):
    X, y = diabetes

    def build(hp):
        return {
            "ridge__alpha": hp.Float("alpha", 1e-3, 1e2, sampling="log"),
            "scale__with_mean": hp.Boolean("center", default=True),
        }

    pipe = Pipeline([("scale", StandardScaler()), ("ridge", Ridge())])
    search = TunewiseSearchCV(pipe, build, n_trials=4, cv=3, scoring="neg_mean_squared_error",
                              random_state=0).fit(X, y)
    assert set(search.best_params_) == {"ridge__alpha", "scale__with_mean"}
    assert "param_ridge__alpha" in search.cv_results_
    assert isinstance(search.best_estimator_, Pipeline)
    assert search.best_estimator_.named_steps["ridge"].alpha == search.best_params_["ridge__alpha"]
    assert search.best_score_ == np.max(search.cv_results_["mean_test_score"]) < 0
    assert search.predict(X[:7]).shape == (7,)
    # the study stores the tunewise names; cv_results_ shows the estimator's
    assert set(search.study_.best_trial.values) == {"alpha", "center"}


def test_bad_input_names_the_value_and_the_fix(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match=r"\['alpha_typo'\].*Valid parameters"):
        TunewiseSearchCV(Ridge(), {"alpha_typo": Float("a", 0.1, 1.0)}).fit(X, y)
    with pytest.raises(ValueError, match="n_trials=0"):
        TunewiseSearchCV(Ridge(), {"alpha": [1.0]}, n_trials=0).fit(X, y)
    with pytest.raises(TypeError, match="must return a dict"):
        TunewiseSearchCV(Ridge(), lambda hp: Ridge()).fit(X, y)
    with pytest.raises(TypeError, match="not a tunewise hyperparameter"):
        TunewiseSearchCV(Ridge(), {"alpha": 1.0}).fit(X, y)
    with pytest.raises(ValueError, match="error_score='bad'"):
        TunewiseSearchCV(Ridge(), {"alpha": [1.0]}, error_score="bad").fit(X, y)


# ---------------------------------------------------------------------- pruning
def test_pruner_stops_bad_configurations_after_their_first_folds(digits):
    X, y = digits
    search = TunewiseSearchCV(
        DecisionTreeClassifier(random_state=0), {"max_depth": Int("max_depth", 1, 12)},
        n_trials=12, cv=5, pruner=MedianPruner(n_startup_trials=3), sampler=kt.RandomSampler(),
        random_state=0,
    ).fit(X, y)
    trials = search.study_.trials
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    completed = [t for t in trials if t.state is TrialState.COMPLETED]
    assert pruned and completed
    res = search.cv_results_
    for t in pruned:
        folds = len(t.steps)
        assert folds < 5 and t.attrs["pruned_at_step"] == folds
        row = trials.index(t)
        assert np.isnan(res[f"split{folds}_test_score"][row])  # that fold never ran
        assert not np.isnan(res["split0_test_score"][row])
        assert np.isnan(res["mean_test_score"][row])
        assert res["rank_test_score"][row] > len(completed)  # ranked after every completed one
        # pruned because its first folds were worse than the best completed trial's there
        best = max(completed, key=lambda c: c.score)
        assert t.steps[-1].metrics["score"] < best.steps[folds - 1].metrics["score"]
    fits = sum(len(t.steps) for t in trials)
    assert fits < 5 * len(trials)
    assert search.best_params_ == res["params"][int(np.nanargmax(res["mean_test_score"]))]


def test_parallel_folds_are_pruned_batch_by_batch(digits):
    """With n_jobs=2 the folds run two at a time and the pruner is asked after each pair."""
    X, y = digits
    search = TunewiseSearchCV(
        DecisionTreeClassifier(random_state=0), {"max_depth": Choice("max_depth", [8, 1])},
        n_trials=2, cv=4, n_jobs=2, pruner=MedianPruner(n_startup_trials=1),
        sampler=kt.GridSampler(),
    ).fit(X, y)
    deep, stump = search.study_.trials
    assert deep.state is TrialState.COMPLETED and len(deep.steps) == 4
    assert stump.state is TrialState.PRUNED and len(stump.steps) == 2
    assert search.best_params_ == {"max_depth": 8}


# ---------------------------------------------------------------------- storage and resume
def test_a_second_fit_resumes_the_stored_study(tmp_path, wine):
    X, y = wine
    url = f"sqlite:///{tmp_path / 'search.db'}"

    def search(n):
        return TunewiseSearchCV(LogisticRegression(), _log_c, n_trials=n, cv=3, storage=url,
                                study_name="wine", random_state=0)

    first = search(3).fit(X, y)
    second = search(5).fit(X, y)
    assert second.study_.resumed and second.study_.runs[-1]["trials_run"] == 2
    assert second.cv_results_["params"][:3] == first.cv_results_["params"]
    np.testing.assert_array_equal(second.cv_results_["split1_test_score"][:3],
                                  first.cv_results_["split1_test_score"])
    third = search(5).fit(X, y)
    assert third.study_.runs[-1]["trials_run"] == 0
    assert third.best_params_ == second.best_params_
    # other data: never ranked with the stored trials, a new study beside them
    other = search(2).fit(X[:120], y[:120])
    assert not other.study_.resumed and len(other.cv_results_["params"]) == 2
    # another study name: a new study too
    named = TunewiseSearchCV(LogisticRegression(), _log_c, n_trials=1, cv=3, storage=url,
                             study_name="wine-b").fit(X, y)
    assert not named.study_.resumed and named.study_.name == "wine-b"


# ---------------------------------------------------------------------- error_score
def _failing_space():
    return {"C": Choice("C", [1.0, -1.0])}  # C=-1 is rejected by LogisticRegression.fit


def test_error_score_nan_fails_the_trial_and_warns(wine):
    X, y = wine
    with pytest.warns(FitFailedWarning, match="1 fits failed out of 4"):
        search = TunewiseSearchCV(LogisticRegression(), _failing_space(), n_trials=2, cv=3,
                                  sampler=kt.GridSampler()).fit(X, y)
    res = search.cv_results_
    bad = [p["C"] for p in res["params"]].index(-1.0)
    assert np.isnan(res["split0_test_score"][bad]) and np.isnan(res["mean_test_score"][bad])
    assert res["rank_test_score"][bad] == 2 and search.best_params_ == {"C": 1.0}
    failed = search.study_.trials[bad]
    assert failed.state is TrialState.FAILED and "fold 1 of 3" in failed.reason


def test_error_score_number_scores_failed_folds(wine):
    X, y = wine
    with pytest.warns(FitFailedWarning, match="3 fits failed out of 6"):
        search = TunewiseSearchCV(LogisticRegression(), _failing_space(), n_trials=2, cv=3,
                                  sampler=kt.GridSampler(), error_score=-5.0).fit(X, y)
    res = search.cv_results_
    bad = [p["C"] for p in res["params"]].index(-1.0)
    assert [res[f"split{k}_test_score"][bad] for k in range(3)] == [-5.0] * 3
    assert res["mean_test_score"][bad] == -5.0 and res["rank_test_score"][bad] == 2


def test_error_score_raise_raises_the_original_error(wine):
    X, y = wine
    with pytest.raises(ValueError, match="C"):
        TunewiseSearchCV(LogisticRegression(), {"C": Choice("C", [-1.0])}, n_trials=1, cv=3,
                         error_score="raise").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        with pytest.raises(ValueError, match="All the 1 fits failed"):
            TunewiseSearchCV(LogisticRegression(), {"C": Choice("C", [-1.0])}, n_trials=1,
                             cv=3).fit(X, y)


# ---------------------------------------------------------------------- the doctor
def test_fold_spread_feeds_noisy_objective(diabetes):
    """All configurations score alike, so the fold-to-fold spread dwarfs the gaps."""
    X, y = diabetes
    search = TunewiseSearchCV(Ridge(), {"alpha": Float("alpha", 1e-6, 2e-6)}, n_trials=6,
                              cv=4, random_state=0).fit(X, y)
    finding = search.diagnose().get("noisy-objective")
    assert finding is not None
    assert "fold-to-fold spread" in finding.message
    assert "RepeatedStratifiedKFold" in finding.fix
    assert finding.evidence["executions"] == 4
    stds = search.cv_results_["std_test_score"]
    # the noise is the median sd of a trial's mean over 4 folds: spread / sqrt(4 - 1)
    assert finding.evidence["noise"] == pytest.approx(np.median(stds) / np.sqrt(3), rel=1e-4)
    assert finding.evidence["execution_spread"] == pytest.approx(np.median(stds), rel=1e-4)
    # tunewise.diagnostics.diagnose takes the search itself too
    assert kt.Study.diagnose(search.study).get("noisy-objective") is not None


def test_fold_steps_are_not_learning_curves():
    """Running means that rise over the folds would look undertrained if read as epochs."""
    assert CV_FOLDS_ATTR == DOCTOR_CV_ATTR
    trials = []
    for i in range(6):
        steps = tuple(Step(k + 1, {"score": 0.5 + 0.05 * k + 0.001 * i}) for k in range(6))
        trials.append(FrozenTrial(i, TrialState.COMPLETED, {"x": i}, steps=steps,
                                  score=steps[-1].metrics["score"], best_step=6))
    objective = Objective("score", "max")
    as_epochs = diagnose_history(SearchHistory("s", objective, tuple(trials)))
    assert "undertrained" in as_epochs.codes
    folds = tuple(FrozenTrial(t.number, t.state, t.values, steps=t.steps, score=t.score,
                              best_step=t.best_step, attrs={CV_FOLDS_ATTR: 6}) for t in trials)
    assert "undertrained" not in diagnose_history(SearchHistory("s", objective, folds)).codes


# ---------------------------------------------------------------------- SklearnTuner
def _build_classifier(hp):
    if hp.Choice("model_type", ["tree", "logistic"]) == "tree":
        return DecisionTreeClassifier(max_depth=hp.Int("max_depth", 1, 8), random_state=0)
    return LogisticRegression(C=hp.Float("C", 1e-2, 1e2, sampling="log"))


def test_sklearn_tuner_has_keras_tuners_interface(tmp_path, wine):
    X, y = wine
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    tuner = kt.SklearnTuner(
        oracle=kt.oracles.BayesianOptimizationOracle(
            objective=kt.Objective("score", "max"), max_trials=4, seed=0),
        hypermodel=_build_classifier,
        scoring=make_scorer(accuracy_score),
        metrics=[balanced_accuracy_score],
        cv=cv,
        directory=tmp_path,
        project_name="wine",
        verbose=0,
    )
    tuner.search(X, y)
    summary = tuner.results_summary(2)
    best_trial = tuner.oracle.get_best_trials(1)[0]
    assert summary.best_objective == best_trial.score
    assert summary.best_objective == max(t.score for t in tuner.study.trials if t.score is not None)
    best_hp = tuner.get_best_hyperparameters()[0]
    manual = cross_val_score(_build_classifier(best_hp), X, y, cv=cv, scoring="accuracy")
    assert best_trial.score == pytest.approx(manual.mean())
    assert best_trial.metrics.get_last_value("balanced_accuracy_score") > 0.5
    model = tuner.get_best_models(1)[0]
    assert model.predict(X[:3]).shape == (3,)  # fitted (on the last fold, as in Keras Tuner)
    assert tuner.study.settings["tuner"]["class"] == "SklearnTuner"
    # a second tuner on the same project resumes it and runs nothing more
    again = kt.SklearnTuner(
        oracle=kt.oracles.BayesianOptimizationOracle(
            objective=kt.Objective("score", "max"), max_trials=4, seed=0),
        hypermodel=_build_classifier, scoring=make_scorer(accuracy_score),
        metrics=[balanced_accuracy_score], cv=cv, directory=tmp_path, project_name="wine",
        verbose=0,
    )
    again.search(X, y)
    assert again.study.resumed and again.study.runs[-1]["trials_run"] == 0
    assert again.get_best_hyperparameters()[0].values == best_hp.values


def test_sklearn_tuner_prints_its_search_space_like_keras_tuner(tmp_path, capsys):
    tuner = kt.SklearnTuner(
        oracle=kt.oracles.RandomSearchOracle(max_trials=2, seed=0),
        hypermodel=lambda hp: DecisionTreeClassifier(
            max_depth=hp.Int("depth", 1, 12), criterion=hp.Choice("criterion", ["gini", "entropy"])),
        directory=tmp_path, project_name="space", verbose=0,
    )
    tuner.search_space_summary()
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["Search space summary", "Default search space size: 2",
                         "Distinct configurations: 24"]
    assert "depth (Int)" in lines and "criterion (Choice)" in lines


def test_sklearn_tuner_prunes_and_checks_its_objective(tmp_path, digits):
    X, y = digits
    tuner = kt.SklearnTuner(
        oracle=kt.oracles.RandomSearchOracle(max_trials=10, seed=0),
        hypermodel=lambda hp: DecisionTreeClassifier(max_depth=hp.Int("depth", 1, 12),
                                                     random_state=0),
        cv=StratifiedKFold(4), directory=tmp_path, project_name="p",
        pruner=MedianPruner(n_startup_trials=3), verbose=0,
    )
    tuner.search(X, y)
    states = [t.state for t in tuner.study.trials]
    assert TrialState.PRUNED in states and TrialState.COMPLETED in states
    with pytest.raises(ValueError, match="does not compute"):
        kt.SklearnTuner(oracle=kt.oracles.RandomSearchOracle(objective=kt.Objective("auc", "max")),
                        hypermodel=_build_classifier, directory=tmp_path, project_name="q")


def test_keras_tuners_own_oracles_are_converted():
    keras_tuner = pytest.importorskip("keras_tuner")
    converted = kt.oracles.as_oracle(keras_tuner.oracles.BayesianOptimizationOracle(
        objective=keras_tuner.Objective("score", "max"), max_trials=7, num_initial_points=2))
    assert isinstance(converted, kt.oracles.BayesianOptimizationOracle)
    assert converted.max_trials == 7 and converted.num_initial_points == 2
    assert kt.make_objective(converted.objective) == kt.Objective("score", "max")
    with pytest.raises(TypeError, match="not supported"):
        kt.oracles.as_oracle(object())


# ---------------------------------------------------------------------- scikit-learn's checks
# The instances of scikit-learn's own GridSearchCV checks (sklearn/utils/_test_common/
# instance_generator.py), error_score="raise" so that the checks see the estimator's errors.
# One expected failure, GridSearchCV's too: BaseSearchCV's tags do not pass on Ridge's
# multi-output support, so check_supervised_y_2d expects a DataConversionWarning for a 2-d y
# that Ridge (rightly) never raises (the check fails identically on GridSearchCV(Ridge())).
def _expected_failed(estimator):
    if isinstance(estimator.estimator, Ridge):
        return {"check_supervised_y_2d": "BaseSearchCV's tags hide multi-output (as GridSearchCV)"}
    return {}


@parametrize_with_checks(
    [
        TunewiseSearchCV(Ridge(), {"alpha": Float("alpha", 0.1, 1.0)}, n_trials=2, cv=2,
                         error_score="raise", random_state=0),
        TunewiseSearchCV(
            Pipeline([("pca", PCA()), ("logisticregression", LogisticRegression())]),
            {"logisticregression__C": Float("C", 0.1, 1.0)}, n_trials=2, cv=2,
            error_score="raise", random_state=0,
        ),
    ],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
