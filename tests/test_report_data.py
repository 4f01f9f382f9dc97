"""Plot data, importance and DataFrames: computed from stored trials, checked with numbers.

No plotting library is needed here (the figures are tested in test_report_html.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _see_project import N_TRIALS, make_project

import tunewise as tw
from tunewise.diagnostics import SearchHistory
from tunewise.engine._frames import history_rows, trial_rows
from tunewise.report import (
    axis_position,
    hyperparameter_importance,
    learning_curves,
    optimization_history,
    parallel_coordinates,
    slices,
    tree_main_effects,
)
from tunewise.trial import FrozenTrial, Step, TrialState


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("see"))


@pytest.fixture(scope="module")
def history(project):
    return SearchHistory.from_study(project)


def test_optimization_history_best_so_far_is_the_running_minimum_of_completed_trials(history):
    data = optimization_history(history)
    completed = sorted(history.completed, key=lambda t: t.number)
    assert [n for n, _ in data.best_so_far] == [t.number for t in completed]
    running = np.minimum.accumulate([t.score for t in completed])
    assert [b for _, b in data.best_so_far] == pytest.approx(list(running))
    assert data.best_so_far[-1][1] == pytest.approx(history.ranked[0].score)
    states = {p.state for p in data.points}
    assert states == {"COMPLETED", "PRUNED"}  # failed trials have no score, so no point
    pruned = [p for p in data.points if p.state == "PRUNED"]
    assert all(p.score > data.best_so_far[-1][1] for p in pruned)
    assert data.objective == "val_loss" and data.direction == "min"


def test_learning_curves_mark_pruned_and_early_stopped_trials():
    trials = [
        FrozenTrial(0, TrialState.COMPLETED, {"x": 1}, (Step(0, {"loss": 3.0}), Step(1, {"loss": 2.0})),
                    score=2.0, best_step=1),
        FrozenTrial(1, TrialState.PRUNED, {"x": 2}, (Step(0, {"loss": 5.0}),), score=5.0, best_step=0),
        FrozenTrial(2, TrialState.COMPLETED, {"x": 3},
                    (Step(0, {"loss": 4.0}), Step(1, {"loss": float("nan")})), score=4.0,
                    best_step=0, attrs={"stopped_early": True, "epochs_run": [2]}),
        FrozenTrial(3, TrialState.FAILED, {"x": 4}, (Step(0, {"acc": 0.1}),)),
    ]
    history = SearchHistory("s", tw.Objective("loss", "min"), tuple(trials))
    data = learning_curves(history)
    assert [c.number for c in data.curves] == [0, 1, 2]  # trial 3 never reported the loss
    c0, c1, c2 = data.curves
    assert (c0.steps, c0.values, c0.pruned, c0.stopped_early) == ([0, 1], [3.0, 2.0], False, False)
    assert c1.pruned and not c1.stopped_early and c1.steps == [0]
    assert c2.stopped_early and c2.values == [4.0]  # the NaN step is left out
    other = learning_curves(history, metric="acc")
    assert [c.number for c in other.curves] == [3] and other.direction == "max"


def test_parallel_coordinates_place_every_value_on_its_axis(history):
    data = parallel_coordinates(history)
    names = [a.name for a in data.axes]
    assert names == ["learning_rate", "units", "activation", "val_loss"]
    lr, units, act, score = data.axes
    assert lr.kind == "log" and (lr.low, lr.high) == (1e-4, 1e-1)
    assert units.kind == "numeric" and (units.low, units.high) == (16.0, 128.0)
    assert act.kind == "categorical" and act.labels == ["relu", "tanh"]
    assert len(data.numbers) == len(history.completed)
    by_number = {t.number: t for t in history.trials}
    for number, row, s in zip(data.numbers, data.positions, data.scores):
        t = by_number[number]
        assert row[0] == pytest.approx((math.log10(t.values["learning_rate"]) + 4) / 3)
        assert row[1] == pytest.approx((t.values["units"] - 16) / 112)
        assert row[2] == (0.0 if t.values["activation"] == "relu" else 1.0)
        assert row[3] == pytest.approx((s - score.low) / (score.high - score.low))
    assert axis_position(act, None) is None and axis_position(act, "sigmoid") is None


def test_slices_pair_each_hyperparameter_with_the_scores(history):
    data = slices(history)
    assert [s.axis.name for s in data.slices] == ["learning_rate", "units", "activation"]
    by_number = {t.number: t for t in history.trials}
    for s in data.slices:
        assert len(s.values) == len(s.scores) == len(history.completed)
        for number, value, score in zip(s.numbers, s.values, s.scores):
            expected = by_number[number].values[s.axis.name]
            assert value == (str(expected) if s.axis.kind == "categorical" else expected)
            assert score == by_number[number].score


def test_one_tree_main_effects_are_exact():
    # f(x, y, z) = 2 [x > 0.5] + [y > 0.5]: Var = 1 + 0.25, main effects 1 and 0.25, z none.
    feature = [0, 1, -2, -2, 1, -2, -2]
    threshold = [0.5, 0.5, 0, 0, 0.5, 0, 0]
    left = [1, 2, -1, -1, 5, -1, -1]
    right = [4, 3, -1, -1, 6, -1, -1]
    value = [0, 0, 0, 1, 2, 2, 3]
    fractions = tree_main_effects(feature, threshold, left, right, value, 3)
    assert fractions == pytest.approx([0.8, 0.2, 0.0])
    # an interaction only (XOR): no main effect at all
    xor = [0, 0, 0, 1, 0, 1, 0]
    assert tree_main_effects(feature, threshold, left, right, xor, 3) == pytest.approx([0, 0, 0])
    # a split off-centre: f = [x > 0.2] has Var 0.16, all of it x's
    assert tree_main_effects([0, -2, -2], [0.2, 0, 0], [1, -1, -1], [2, -1, -1], [0, 0, 1], 2) == (
        pytest.approx([1.0, 0.0])
    )
    assert list(tree_main_effects([-2], [0], [-1], [-1], [4.0], 2)) == [0.0, 0.0]  # constant


def test_fanova_finds_the_hyperparameter_that_dominates():
    pytest.importorskip("sklearn")

    def objective(hp):
        x = hp.Float("x", 0.0, 1.0)
        y = hp.Float("y", 0.0, 1.0)
        lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
        kind = hp.Choice("kind", ["a", "b", "c"])
        return 10 * (x - 0.3) ** 2 + 0.1 * y + 0.01 * (kind == "b") + 0 * lr

    study = tw.Study(objective="loss", storage="memory", seed=1, verbose=0)
    study.optimize(objective, max_trials=60)
    imp = hyperparameter_importance(SearchHistory.from_study(study), n_trees=32)
    assert imp is not None and imp.names[0] == "x"
    shares = imp.as_dict()
    # x's main effect carries ~99% of the variance (x: var of 10(x-.3)^2 ~ 1.3, y: ~8e-4)
    assert shares["x"] > 0.9 and max(shares["y"], shares["lr"], shares["kind"]) < 0.05
    assert sum(imp.importances) == pytest.approx(1.0)
    assert 0.8 < imp.variance_fractions[0] <= 1.0
    assert imp.n_trials == 60 and "fANOVA" in imp.method


def test_importance_needs_a_few_completed_trials():
    pytest.importorskip("sklearn")
    study = tw.Study(objective="loss", storage="memory", seed=0, verbose=0)
    study.optimize(lambda hp: hp.Float("x", 0, 1), max_trials=3)
    assert hyperparameter_importance(SearchHistory.from_study(study)) is None


def test_trial_rows_and_dataframes_hold_hyperparameters_final_metrics_and_history(project):
    pd = pytest.importorskip("pandas")
    rows = trial_rows(project.trials, [hp.name for hp in project.space])
    assert len(rows) == N_TRIALS
    frame = project.trials_dataframe()
    assert list(frame["number"]) == list(range(N_TRIALS))
    assert {"hp_learning_rate", "hp_units", "hp_activation", "val_loss", "loss"} <= set(frame.columns)
    assert str(frame["finished_at"].dtype).startswith("datetime64")
    for t, (_, row) in zip(project.trials, frame.iterrows()):
        assert row["state"] == t.state.value and row["hp_units"] == t.values["units"]
        if t.steps:
            assert row["val_loss"] == pytest.approx(t.steps[-1].metrics["val_loss"])
            assert row["steps"] == len(t.steps)
        if t.state is TrialState.COMPLETED:
            assert row["score"] == pytest.approx(t.score)
    failed = frame[frame["state"] == "FAILED"]
    assert len(failed) == 2 and failed["score"].isna().all()
    assert failed["reason"].str.contains("units=128 with tanh").all()
    hist = project.trials_dataframe(history=True)
    assert len(hist) == sum(len(t.steps) for t in project.trials) == len(history_rows(project.trials))
    assert list(hist.columns[:4]) == ["number", "state", "step", "at"]
    pruned = hist[hist["state"] == "PRUNED"]
    assert pruned.groupby("number")["step"].max().lt(5).all()  # cut before the 6th epoch
    assert isinstance(project.history_dataframe(), pd.DataFrame)


def test_the_keras_tuner_gives_the_same_dataframe(tmp_path):
    pytest.importorskip("pandas")

    class Quadratic(tw.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            x = trial.hyperparameters.Float("x", -1.0, 1.0)
            return {"loss": x * x, "mae": abs(x)}

    tuner = Quadratic(objective="loss", max_trials=4, directory=tmp_path, project_name="q",
                      seed=0, verbose=0)
    tuner.search(verbose=0)
    frame = tuner.trials_dataframe()
    assert len(frame) == 4 and (frame["loss"] == frame["hp_x"] ** 2).all()
    assert (frame["mae"] == frame["hp_x"].abs()).all()
    assert len(tuner.trials_dataframe(history=True)) == 4  # one step per trial
