"""Keras Tuner parity of the search space: live ``hp.values``, the ``hyperparameters=``
override with ``tune_new_entries``/``allow_new_entries``, and GridSearch's Float points.

Each test pins a behaviour where Keras Tuner 1.4.8 code ran under tunewise but did something
else (a silent difference).
"""

from __future__ import annotations

import copy
import json
import math
import pickle

import pytest

import tunewise as tw
from tunewise.samplers._grid import DEFAULT_FLOAT_POINTS
from tunewise.space import Float, HyperParameters, grid_values_of


def quiet(**kwargs):
    kwargs.setdefault("storage", "memory")
    kwargs.setdefault("verbose", 0)
    return kwargs


# ---------------------------------------------------------------------- 1. live hp.values


def test_assigning_into_values_changes_get_and_the_next_definition():
    hp = HyperParameters()
    assert hp.Choice("model_type", ["mlp", "cnn"]) == "mlp"
    hp.values["model_type"] = "cnn"  # Keras Tuner: hp.values is the live dict
    assert hp.get("model_type") == "cnn"
    assert hp["model_type"] == "cnn"
    assert hp.Choice("model_type", ["mlp", "cnn"]) == "cnn"
    assert hp.values == {"model_type": "cnn"}


def test_a_value_assigned_before_the_definition_is_what_the_definition_returns():
    hp = HyperParameters()
    hp.values["units"] = 64
    assert hp.values["units"] == 64
    assert hp.Int("units", 32, 128, step=32) == 64
    assert hp.values == {"units": 64}


def test_values_kept_in_a_variable_write_through_and_follow_conditions():
    hp = HyperParameters()
    hp.Choice("model", ["linear", "tree"])
    with hp.conditional_scope("model", "tree"):
        assert hp.Int("depth", 1, 5) is None
    values = hp.values
    values["model"] = "tree"
    assert values == {"model": "tree"} and hp.values == values
    with hp.conditional_scope("model", "tree"):
        assert hp.Int("depth", 1, 5) == 1  # the child is active now
    values = hp.values
    assert values == {"model": "tree", "depth": 1}
    values.update(depth=4)
    assert hp.get("depth") == 4
    hp.values["model"] = "linear"
    assert hp.values == {"model": "linear"}  # inactive values stay absent
    with pytest.raises(ValueError, match="'depth' is currently inactive"):  # Keras Tuner's
        hp.get("depth")
    del hp.values["model"]  # back to the default
    assert hp.get("model") == "linear" and "model" not in hp.values


def test_values_stay_a_plain_dict_for_json_pickle_and_copies():
    hp = HyperParameters()
    hp.Int("units", 1, 3)
    hp.values["units"] = 2
    assert isinstance(hp.values, dict)
    assert json.loads(json.dumps(hp.values)) == {"units": 2}
    for clone in (pickle.loads(pickle.dumps(hp.values)), copy.deepcopy(hp.values), hp.values.copy()):
        assert type(clone) is dict and clone == {"units": 2}
    assert hp.copy().get("units") == 2
    assert pickle.loads(pickle.dumps(hp)).get("units") == 2
    assert hp.get_config()["values"] == {"units": 2}


def test_an_assignment_in_the_objective_is_what_the_trial_stores():
    def fn(hp):
        model_type = hp.Choice("model_type", ["mlp", "cnn"])
        hp.values["model_type"] = "cnn"
        assert hp.get("model_type") == "cnn"
        with hp.conditional_scope("model_type", "cnn"):
            filters = hp.Int("filters", 8, 16, step=8)
        assert filters is not None
        return 0.0 if model_type == "mlp" else 1.0

    study = tw.Study("loss", **quiet(seed=1))
    study.optimize(fn, max_trials=4)
    assert len(study.trials) == 2  # model_type is always cnn: 2 filters values
    for t in study.trials:
        assert t.state is tw.TrialState.COMPLETED
        assert t.values["model_type"] == "cnn" and t.values["filters"] in (8, 16)


# ---------------------------------------------------------------------- 2. the override


def _override():
    over = tw.HyperParameters()
    over.Int("units", 100, 200, step=50)
    over.Fixed("lr", 0.5)
    return over


def _model(hp):
    units = hp.Int("units", 1, 4)  # the override defines units otherwise: it wins
    lr = hp.Float("lr", 0.0, 1.0)  # pinned by the override's Fixed
    depth = hp.Int("depth", 1, 3, default=2)  # undeclared
    assert units in (100, 150, 200) and lr == 0.5
    return units * lr + depth


def test_tune_new_entries_false_tunes_only_the_override_with_its_definitions():
    study = tw.Study(
        "loss", **quiet(seed=0, hyperparameters=_override(), tune_new_entries=False)
    )
    study.optimize(_model, max_trials=10)
    assert [t.state for t in study.trials] == [tw.TrialState.COMPLETED] * 3  # 3 configurations
    assert {t.values["units"] for t in study.trials} == {100, 150, 200}
    assert {t.values["lr"] for t in study.trials} == {0.5}
    assert {t.values["depth"] for t in study.trials} == {2}  # the default
    space = {hp.name: hp for hp in study.space}
    assert space["units"] == _override().space[0]  # the stored space keeps the override
    assert isinstance(space["lr"], tw.space.Fixed)


def test_the_override_wins_when_new_entries_are_tuned_too():
    study = tw.Study("loss", **quiet(seed=0, hyperparameters=_override()))
    study.optimize(_model, max_trials=6)
    assert all(t.state is tw.TrialState.COMPLETED for t in study.trials)
    assert {t.values["units"] for t in study.trials} <= {100, 150, 200}
    assert {t.values["lr"] for t in study.trials} == {0.5}


def test_declaring_the_models_space_does_not_replace_the_override():
    # The Keras tuners build the model once and declare what it defined (Keras Tuner's
    # update_space ignores names it already has).
    study = tw.Study(
        "loss", **quiet(seed=0, hyperparameters=_override(), tune_new_entries=False)
    )
    built = HyperParameters.for_trial(study.space, {}, inherited=True)
    _model_defaults(built)
    study.declare_space(built)
    space = {hp.name: hp for hp in study.space}
    assert space["units"] == _override().space[0]
    assert space["lr"] == _override().space[1]
    study.optimize(_model, max_trials=5)
    assert {t.values["units"] for t in study.trials} == {100, 150, 200}
    assert {t.values["depth"] for t in study.trials} == {2}


def _model_defaults(hp):
    hp.Int("units", 1, 4)
    hp.Float("lr", 0.0, 1.0)
    hp.Int("depth", 1, 3, default=2)


def test_allow_new_entries_false_stops_the_search_at_an_undeclared_name():
    study = tw.Study(
        "loss", **quiet(seed=0, hyperparameters=_override(), allow_new_entries=False)
    )
    with pytest.raises(RuntimeError, match="'depth'.*allow_new_entries=False"):
        study.optimize(_model, max_trials=5)
    assert [t.state for t in study.trials] == [tw.TrialState.FAILED]


def test_allow_new_entries_false_holds_once_the_name_is_in_the_stored_space():
    # Before: the first trial failed, its definitions were stored, and the next trials got a
    # sampled value for the undeclared name and ran.
    study = tw.Study(
        "loss", **quiet(seed=0, hyperparameters=_override(), allow_new_entries=False)
    )
    built = HyperParameters.for_trial(study.space, {}, inherited=True)
    _model_defaults(built)
    study.declare_space(built)  # what the Keras tuners do before searching

    def same_definitions(hp):
        return hp.Int("units", 100, 200, step=50) + hp.Fixed("lr", 0.5) + hp.Int("depth", 1, 3)

    with pytest.raises(RuntimeError, match="allow_new_entries=False"):
        study.optimize(same_definitions, max_trials=5)
    assert not any(t.state is tw.TrialState.COMPLETED for t in study.trials)


# ---------------------------------------------------------------------- 3. Float grids


def _kt_float_values(hp: Float, n: int = 10) -> list[float]:
    """Keras Tuner's ``Float.values`` for a Float without a step: prob_to_value(i*0.1+0.05)."""
    lo, hi = hp.min_value, hp.max_value
    out = []
    for i in range(n):
        p = (i + 0.5) / n
        if hp.sampling == "linear":
            out.append(p * (hi - lo) + lo)
        elif hp.sampling == "log":
            out.append(lo * math.pow(hi / lo, p))
        else:
            out.append(hi + lo - lo * math.pow(hi / lo, 1 - p))
    return sorted(out)


def test_grid_splits_a_continuous_float_into_keras_tuners_ten_points(tmp_path):
    assert DEFAULT_FLOAT_POINTS == 10
    assert tw.GridSampler().float_points == 10
    # The Keras facade and the oracle default to it too (they once passed 5 of their own).
    tuner = tw.GridSearch(lambda hp: None, objective="val_loss", directory=str(tmp_path))
    assert tuner._make_sampler().float_points == 10
    assert tw.oracles.GridSearchOracle(objective="val_loss").make_sampler().float_points == 10


@pytest.mark.parametrize(
    "hp",
    [
        Float("x", 0.0, 1.0),
        Float("lr", 1e-4, 1e-2, sampling="log"),
        Float("m", 0.5, 0.999, sampling="reverse_log"),
        Float("d", -2.0, 3.0, default_value=0.5),
    ],
    ids=["linear", "log", "reverse_log", "default"],
)
def test_grid_float_points_are_keras_tuners_and_the_default(hp):
    grid = grid_values_of(hp, DEFAULT_FLOAT_POINTS)
    expected = sorted([hp.default, *_kt_float_values(hp)])
    assert len(grid) == 11
    for got, want in zip(grid, expected):
        assert math.isclose(got, want, rel_tol=1e-10, abs_tol=1e-12), (grid, expected)
    assert hp.max_value not in grid  # no bound is a point, except a default one
    assert (hp.min_value in grid) == (hp.default == hp.min_value)


def test_grid_search_walks_eleven_values_of_a_float():
    study = tw.Study("loss", tw.GridSampler(), **quiet())
    study.optimize(lambda hp: hp.Float("lr", 1e-4, 1e-2, sampling="log"), max_trials=50)
    lrs = sorted(t.values["lr"] for t in study.trials)
    assert len(lrs) == 11
    assert lrs[0] == 1e-4  # the default, tried as Keras Tuner's first grid trial
    for got, want in zip(lrs[1:], _kt_float_values(Float("lr", 1e-4, 1e-2, sampling="log"))):
        assert math.isclose(got, want, rel_tol=1e-10)
