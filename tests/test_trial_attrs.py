"""tunewise.trial_attrs: every attrs key and bookkeeping metric written in a real search is
declared there, and the declarations are distinct plain strings."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import tunewise as kt
from tunewise import trial_attrs as ta
from tunewise.trial import FrozenTrial

PACKAGE = pathlib.Path(kt.__file__).parent


def _declared_metric(name: str, user_metrics: set[str]) -> bool:
    """Whether ``name`` is a user metric or a declared bookkeeping name built on one."""
    if name in user_metrics or name in ta.METRIC_NAMES:
        return True
    for suffix in ta.METRIC_SUFFIXES:
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            base = base.removeprefix(ta.TRAIN_PREFIX) if suffix == ta.FOLD_SUFFIX else base
            return base in user_metrics
    return False


def _check_trials(trials: list[FrozenTrial], user_metrics: set[str]) -> set[str]:
    """Assert every attrs key and metric is declared; return the attrs keys seen."""
    seen: set[str] = set()
    for t in trials:
        assert set(t.attrs) <= set(ta.ALL_KEYS), set(t.attrs) - set(ta.ALL_KEYS)
        seen |= set(t.attrs)
        for s in t.steps:
            undeclared = [m for m in s.metrics if not _declared_metric(m, user_metrics)]
            assert not undeclared, undeclared
    return seen


# ---------------------------------------------------------------------- the declarations
def test_constants_are_distinct_plain_strings():
    assert len(set(ta.ALL_KEYS)) == len(ta.ALL_KEYS)
    assert all(isinstance(k, str) and k and k == k.strip() for k in ta.ALL_KEYS)
    assert set(ta.JOB_KEYS) <= set(ta.ALL_KEYS)
    metric = (*ta.METRIC_SUFFIXES, *ta.METRIC_NAMES, ta.TRAIN_PREFIX)
    assert len(set(metric)) == len(metric)
    assert not set(metric) & set(ta.ALL_KEYS)
    # every upper-case str constant of the module is in one of the declared groups
    constants = {v for k, v in vars(ta).items() if k.isupper() and isinstance(v, str)}
    assert constants == set(ta.ALL_KEYS) | set(metric)
    expected = {"epochs_asked", "epochs_run", "stopped_early", "early_stopping", "cv_folds",
                "pruned_at_step", "interrupted", "cut_by_crash", "budget", "initial_budget",
                "rung", "parent", "bracket", "bracket_index", "constraints",
                "failed_infeasible"}
    assert set(ta.ALL_KEYS) == expected
    assert (ta.SPREAD_SUFFIX, ta.EXECUTIONS) == ("__std", "executions")
    assert ta.spread_name("val_loss") == "val_loss__std"
    assert ta.fold_name("score", train=True) == "train_score__fold"


def test_trial_attrs_imports_nothing_from_tunewise():
    tree = ast.parse((PACKAGE / "trial_attrs.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.module == "__future__", node.module
        assert not isinstance(node, ast.Import)


def test_single_sources_and_the_public_re_export():
    from tunewise.integrations.keras import _recording
    from tunewise.integrations.sklearn import CV_FOLDS_ATTR

    assert CV_FOLDS_ATTR is ta.CV_FOLDS
    assert _recording.SPREAD_SUFFIX is ta.SPREAD_SUFFIX
    # the string literal lives in trial_attrs alone (outside engine/storage/schedulers/trial)
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "trial_attrs.py":
            continue
        text = path.read_text()
        assert 'CV_FOLDS_ATTR = "cv_folds"' not in text, rel
        assert 'SPREAD_SUFFIX = "__std"' not in text, rel


def test_diagnostics_do_not_import_integrations():
    for path in (PACKAGE / "diagnostics").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert "integrations" not in node.module, path.name


# ---------------------------------------------------------------------- real searches
def test_engine_writes_declared_keys_for_a_pruned_trial(tmp_path):
    def objective(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        trial.report(0, {"loss": x})
        raise kt.TrialPruned()

    study = kt.Study(objective="loss", directory=str(tmp_path), project_name="p", seed=0,
                     verbose=0)
    study.optimize(objective, max_trials=1)
    (t,) = study.trials
    assert _check_trials([t], {"loss"}) >= {ta.PRUNED_AT_STEP}
    assert t.attrs[ta.PRUNED_AT_STEP] == 0


def test_sklearn_integrations_write_declared_keys(tmp_path):
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold

    from tunewise.sklearn import TunewiseSearchCV
    from tunewise.space import Float

    X, y = load_digits(return_X_y=True)
    keep = np.random.default_rng(0).choice(len(y), 200, replace=False)
    X, y = X[keep] / 16.0, y[keep]
    search = TunewiseSearchCV(
        LogisticRegression(max_iter=200), {"C": Float("C", 1e-2, 1e1, sampling="log")},
        n_trials=2, cv=3, random_state=0, return_train_score=True,
    ).fit(X, y)
    trials = list(search.study_.trials)
    assert len(trials) == 2
    user = {"score", "fit_time", "score_time"}
    assert _check_trials(trials, user) == {ta.CV_FOLDS}
    assert all(t.attrs[ta.CV_FOLDS] == 3 for t in trials)
    last = trials[0].steps[-1].metrics
    assert last[ta.EXECUTIONS] == 3.0 and ta.spread_name("score") in last
    assert ta.fold_name("score") in last and ta.fold_name("score", train=True) in last

    tuner = kt.SklearnTuner(
        oracle=kt.oracles.RandomSearchOracle(max_trials=2, seed=0),
        hypermodel=lambda hp: LogisticRegression(C=hp.Float("C", 1e-2, 1e1, sampling="log"),
                                                 max_iter=200),
        cv=KFold(3), directory=tmp_path, project_name="digits", verbose=0,
    )
    tuner.search(X, y)
    trials = list(tuner.study.trials)
    assert len(trials) == 2
    assert _check_trials(trials, user) == {ta.CV_FOLDS}


def test_keras_tuner_writes_declared_keys(tmp_path):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")

    def build(hp):
        model = keras.Sequential([keras.Input(shape=(4,)),
                                  keras.layers.Dense(hp.Int("units", 2, 4, step=2)),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model

    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=1, executions_per_trial=2,
                            directory=str(tmp_path), project_name="k", seed=0, verbose=0)
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)
    tuner.search(x, y, epochs=1, validation_split=0.25, callbacks=[early], verbose=0)
    (t,) = tuner.study.trials
    seen = _check_trials([t], {"loss", "val_loss"})
    assert seen == {ta.EPOCHS_ASKED, ta.EPOCHS_RUN, ta.STOPPED_EARLY, ta.EARLY_STOPPING}
    assert t.attrs[ta.EPOCHS_ASKED] == 1 and t.attrs[ta.EPOCHS_RUN] == [1, 1]
    assert t.attrs[ta.STOPPED_EARLY] is False
    assert t.attrs[ta.EARLY_STOPPING]["monitor"] == "val_loss"
    (step,) = t.steps
    assert step.metrics[ta.EXECUTIONS] == 2.0 and ta.spread_name("val_loss") in step.metrics
