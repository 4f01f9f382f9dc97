"""Tests for tunewise.objective."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tunewise.objective import (
    MultiObjective,
    Objective,
    infer_direction,
    make_objective,
    objective_from_config,
)

MINIMISED = [
    "loss", "val_loss", "train_loss", "val_loss_1", "dice_loss", "mse", "val_mae", "rmse",
    "mape", "msle", "binary_crossentropy", "val_sparse_categorical_crossentropy",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "root_mean_squared_error", "error_rate", "hinge",
    "squared_hinge", "categorical_hinge", "logcosh", "log_cosh", "kl_divergence", "kld",
    "kullback_leibler_divergence", "poisson", "huber", "false_positives",
    "val_false_negatives_1", "perplexity", "wer", "cer", "regret", "time", "train_time",
    "fit_seconds", "latency", "brier_score", "VAL_LOSS",
]
MAXIMISED = [
    "accuracy", "accuracy_1", "val_binary_accuracy_3", "acc", "val_acc", "val_accuracy", "binary_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy", "balanced_accuracy",
    "weighted_val_accuracy", "val_weighted_accuracy", "auc", "val_auc", "auc_1", "roc_auc",
    "pr_auc", "precision", "val_precision_2", "recall", "f1", "f1_score", "val_f1_score",
    "fbeta_score", "f_beta", "r2", "r2_score", "val_r2_score", "r_squared", "cosine_similarity",
    "iou", "mean_iou", "val_mean_iou", "mean_io_u", "io_u", "binary_iou", "dice",
    "true_positives", "true_negatives", "precision_at_recall", "recall_at_precision",
    "sensitivity_at_specificity", "specificity_at_sensitivity", "specificity", "sensitivity",
    "map", "ndcg", "mrr", "bleu", "rouge_l", "rouge1", "score", "test_score",
    "matthews_corrcoef", "mcc", "kappa", "cohen_kappa", "explained_variance", "reward",
    "return", "neg_mean_squared_error", "neg_log_loss", "validation_AUC",
]
UNKNOWN = ["my_metric", "foo", "", "val_", "epochs", "lr"]


@pytest.mark.parametrize("name", MINIMISED)
def test_infer_min(name):
    assert infer_direction(name) == "min"


@pytest.mark.parametrize("name", MAXIMISED)
def test_infer_max(name):
    assert infer_direction(name) == "max"


@pytest.mark.parametrize("name", UNKNOWN)
def test_infer_unknown(name):
    assert infer_direction(name) is None


@pytest.mark.parametrize("name", ["my_metric", "val_foo_bar"])
def test_make_objective_unknown_string_shows_fix(name):
    with pytest.raises(ValueError) as info:
        make_objective(name)
    assert f'pass tunewise.Objective("{name}", "max") (or "min") instead of the string' \
        f' "{name}".' in str(info.value)


@pytest.mark.parametrize("name,direction", [("val_f1_score", "max"), ("val_loss", "min")])
def test_make_objective_string(name, direction):
    assert make_objective(name) == Objective(name, direction)


@pytest.mark.parametrize("alias,expected", [
    ("min", "min"), ("minimize", "min"), ("minimise", "min"), ("MIN", "min"),
    ("max", "max"), ("maximize", "max"), ("maximise", "max"),
])
def test_direction_aliases(alias, expected):
    assert Objective("m", alias).direction == expected


@pytest.mark.parametrize("bad", ["up", "", None, 1])
def test_bad_direction(bad):
    with pytest.raises(ValueError) as info:
        Objective("m", bad)
    message = str(info.value)
    assert repr(bad) in message and "'min'" in message and "'maximize'" in message


@pytest.mark.parametrize("name", ["", "   "])
def test_empty_name(name):
    with pytest.raises(ValueError):
        Objective(name, "min")


@pytest.mark.parametrize("direction,a,b,expected", [
    ("min", 0.1, 0.2, True), ("min", 0.2, 0.1, False), ("min", 0.1, 0.1, False),
    ("max", 0.2, 0.1, True), ("max", 0.1, 0.2, False), ("max", 0.1, 0.1, False),
])
def test_is_better(direction, a, b, expected):
    assert Objective("m", direction).is_better(a, b) is expected


def test_objective_basics():
    loss, acc = Objective("val_loss", "min"), Objective("val_accuracy", "max")
    assert (loss.sign, acc.sign) == (1, -1)
    assert repr(loss) == 'Objective(name="val_loss", direction="min")'
    assert loss.describe() == "val_loss (min)"
    assert acc.names == ("val_accuracy",)
    assert loss.value_from({"val_loss": 3}) == 3.0
    assert loss.value_from({"loss": 3}) is None


@pytest.fixture
def multi():
    return MultiObjective((Objective("val_loss", "min"), Objective("val_accuracy", "max")))


def test_multi_objective(multi):
    assert multi.value_from({"val_loss": 0.5, "val_accuracy": 0.8}) == pytest.approx(0.5 - 0.8)
    assert multi.value_from({"val_loss": 0.5}) is None
    assert multi.describe() == "sum of val_loss (min) - val_accuracy (max), minimised"
    assert multi.names == ("val_loss", "val_accuracy")
    assert (multi.name, multi.direction, multi.sign) == ("multi_objective", "min", 1)
    assert multi.is_better(-0.3, 0.1) and not multi.is_better(0.1, -0.3)


def test_multi_objective_describe_leading_max():
    multi = MultiObjective((Objective("acc", "max"), Objective("time", "min")))
    assert multi.describe() == "sum of -acc (max) + time (min), minimised"


@pytest.mark.parametrize("objectives,error", [
    ((), ValueError),
    ((Objective("a", "min"), Objective("a", "max")), ValueError),
    (("val_loss",), TypeError),
])
def test_multi_objective_invalid(objectives, error):
    with pytest.raises(error):
        MultiObjective(objectives)


def test_multi_objective_repeated_metric_warns_and_counts_twice():
    """Keras Tuner accepts a metric listed twice (it then weighs twice in the sum)."""
    with pytest.warns(UserWarning, match="more than once"):
        multi = MultiObjective((Objective("loss", "min"), Objective("loss", "min")))
    assert multi.value_from({"loss": 0.25}) == 0.5


@pytest.mark.parametrize("objective", [
    Objective("val_loss", "min"),
    Objective("val_accuracy", "max"),
    MultiObjective((Objective("val_loss", "min"), Objective("val_auc", "max")), name="combo"),
])
def test_config_round_trip(objective):
    config = json.loads(json.dumps(objective.get_config()))
    assert objective_from_config(config) == objective
    assert type(objective).from_config(config) == objective


def test_from_config_wrong_type():
    with pytest.raises(ValueError):
        Objective.from_config(MultiObjective((Objective("a", "min"),)).get_config())
    with pytest.raises(ValueError):
        objective_from_config({"type": "Nope"})


def test_make_objective_none():
    assert make_objective(None) == Objective("default_objective", "min")


def test_make_objective_passthrough(multi):
    single = Objective("m", "max")
    assert make_objective(single) is single
    assert make_objective(multi) is multi


def test_make_objective_list(multi):
    assert make_objective(["val_loss", Objective("val_accuracy", "max")]) == multi
    assert make_objective(("val_loss", "val_accuracy")) == multi
    assert make_objective(["val_auc"]) == Objective("val_auc", "max")


def test_make_objective_duck_typed():
    kt_like = SimpleNamespace(name="val_custom", direction="max")
    assert make_objective(kt_like) == Objective("val_custom", "max")
    assert make_objective([kt_like, "loss"]) == MultiObjective(
        (Objective("val_custom", "max"), Objective("loss", "min")))


def test_make_objective_empty_list():
    with pytest.raises(ValueError):
        make_objective([])


@pytest.mark.parametrize("spec,type_name", [
    (3, "int"), ({"name": "a", "direction": "min"}, "dict"), ([["loss"]], "list"),
    (SimpleNamespace(name="a"), "SimpleNamespace"),
])
def test_make_objective_bad_type(spec, type_name):
    with pytest.raises(TypeError, match=type_name):
        make_objective(spec)
