"""Problems for ``benchmarks/samplers.py``: test functions with known optima and sklearn tasks.

A problem is a :class:`Problem`: ``space(hp)`` declares the hyperparameters through the
Keras-Tuner-style API shared by tunewise, keras-tuner and the Optuna adapter of
``samplers.py`` (``hp.Float(name, lo, hi, sampling=...)``, ``hp.Int``, ``hp.Choice``) and
returns ``{name: value}``; ``value(params)`` is the objective, always MINIMISED (sklearn
tasks return minus the mean 3-fold cross-validation score). ``optimum`` is the known minimum,
or None for the sklearn tasks (there the best value any method found stands in for it).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Problem:
    name: str
    kind: str  # "synthetic" | "mixed" | "sklearn"
    space: Callable[[Any], dict[str, Any]]
    value: Callable[[dict[str, Any]], float]
    optimum: Callable[[], float | None]


# ---------------------------------------------------------------- test functions
def branin(x1: float, x2: float) -> float:
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


_H3_A = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
_H3_P = 1e-4 * np.array(
    [[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]
)
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann(x: np.ndarray, a: np.ndarray, p: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(-np.sum(_H_ALPHA * np.exp(-np.sum(a * (x - p) ** 2, axis=1))))


def rosenbrock(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def ackley(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    d = len(x)
    return float(
        -20 * math.exp(-0.2 * math.sqrt(np.sum(x**2) / d))
        - math.exp(np.sum(np.cos(2 * math.pi * x)) / d)
        + 20
        + math.e
    )


def levy(x: np.ndarray) -> float:
    w = 1 + (np.asarray(x, dtype=float) - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    mid = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + mid + tail)


def styblinski_tang(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


def _floats(hp: Any, names: list[str], lo: float, hi: float) -> dict[str, Any]:
    return {n: hp.Float(n, lo, hi) for n in names}


def _vec(params: dict[str, Any], n: int) -> np.ndarray:
    return np.array([params[f"x{i}"] for i in range(n)], dtype=float)


def _names(n: int) -> list[str]:
    return [f"x{i}" for i in range(n)]


# Mixed Branin: x0 an integer in -5..10, x1 continuous, and a categorical "variant" that
# shifts x0 and adds an offset, so the best variant must be found too.
_BRANIN_VARIANTS = {"a": (0.0, 0.0), "b": (0.5, 0.1), "c": (-0.75, 0.3)}


def _branin_mixed(p: dict[str, Any]) -> float:
    shift, offset = _BRANIN_VARIANTS[p["variant"]]
    return branin(p["x0"] + shift, p["x1"]) + offset


@functools.cache
def _branin_mixed_optimum() -> float:
    # For fixed x0 Branin is a parabola in x1 (minimum at g(x0), clipped to [0, 15]).
    best = math.inf
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    for shift, offset in _BRANIN_VARIANTS.values():
        for x0 in range(-5, 11):
            x = x0 + shift
            x1 = min(15.0, max(0.0, b * x**2 - c * x + 6))
            best = min(best, branin(x, x1) + offset)
    return best


#: ``_h6_mixed_optimum()``'s result (it takes ~10-30 s, so it is not recomputed at each run).
H6_MIXED_OPTIMUM = -3.2941633504742796


# Mixed Hartmann-6: x0 and x1 integers 0..10 (the coordinate is value / 10), x2..x5 floats.
def _h6_mixed(p: dict[str, Any]) -> float:
    x = [p["x0"] / 10, p["x1"] / 10] + [p[f"x{i}"] for i in range(2, 6)]
    return hartmann(np.array(x), _H6_A, _H6_P)


@functools.cache
def _h6_mixed_optimum() -> float:
    from scipy import optimize

    best = math.inf
    rng = np.random.default_rng(0)
    for i in range(11):
        for j in range(11):
            def f(z, i=i, j=j):
                return hartmann(np.r_[i / 10, j / 10, z], _H6_A, _H6_P)

            starts = [_H6_P[k, 2:] for k in range(4)] + list(rng.random((2, 4)))
            for z0 in starts:
                r = optimize.minimize(f, z0, bounds=[(0, 1)] * 4, method="L-BFGS-B")
                best = min(best, float(r.fun))
    return best


def _synthetic() -> list[Problem]:
    def const(v: float) -> Callable[[], float]:
        return lambda: v

    return [
        Problem(
            "branin", "synthetic",
            lambda hp: {"x0": hp.Float("x0", -5.0, 10.0), "x1": hp.Float("x1", 0.0, 15.0)},
            lambda p: branin(p["x0"], p["x1"]),
            const(0.397887357729739),
        ),
        Problem(
            "hartmann3", "synthetic",
            lambda hp: _floats(hp, _names(3), 0.0, 1.0),
            lambda p: hartmann(_vec(p, 3), _H3_A, _H3_P),
            const(-3.86278214782076),
        ),
        Problem(
            "hartmann6", "synthetic",
            lambda hp: _floats(hp, _names(6), 0.0, 1.0),
            lambda p: hartmann(_vec(p, 6), _H6_A, _H6_P),
            const(-3.32236801141551),
        ),
        Problem(
            "rosenbrock4", "synthetic",
            lambda hp: _floats(hp, _names(4), -2.048, 2.048),
            lambda p: rosenbrock(_vec(p, 4)),
            const(0.0),
        ),
        Problem(
            "ackley5", "synthetic",
            lambda hp: _floats(hp, _names(5), -32.768, 32.768),
            lambda p: ackley(_vec(p, 5)),
            const(0.0),
        ),
        Problem(
            "levy4", "synthetic",
            lambda hp: _floats(hp, _names(4), -10.0, 10.0),
            lambda p: levy(_vec(p, 4)),
            const(0.0),
        ),
        Problem(
            "styblinski_tang4", "synthetic",
            lambda hp: _floats(hp, _names(4), -5.0, 5.0),
            lambda p: styblinski_tang(_vec(p, 4)),
            const(4 * -39.1661657037714),
        ),
        Problem(
            "branin_mixed", "mixed",
            lambda hp: {
                "x0": hp.Int("x0", -5, 10),
                "x1": hp.Float("x1", 0.0, 15.0),
                "variant": hp.Choice("variant", ["a", "b", "c"]),
            },
            _branin_mixed,
            _branin_mixed_optimum,
        ),
        Problem(
            "hartmann6_mixed", "mixed",
            lambda hp: {
                "x0": hp.Int("x0", 0, 10),
                "x1": hp.Int("x1", 0, 10),
                **_floats(hp, [f"x{i}" for i in range(2, 6)], 0.0, 1.0),
            },
            _h6_mixed,
            const(H6_MIXED_OPTIMUM),
        ),
    ]


# ---------------------------------------------------------------- scikit-learn tasks
@functools.cache
def _data(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    if name == "digits":
        x, y = datasets.load_digits(return_X_y=True)
        # A fixed, stratified-enough subset keeps one 3-fold SVM fit at tens of milliseconds.
        idx = np.random.default_rng(0).permutation(len(y))[:600]
        return x[idx] / 16.0, y[idx]
    loader = {
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
        "diabetes": datasets.load_diabetes,
    }[name]
    return loader(return_X_y=True)


def _cv(model: Any, dataset: str, scoring: str) -> float:
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

    x, y = _data(dataset)
    folds = (
        KFold(3, shuffle=True, random_state=0)
        if scoring == "r2"
        else StratifiedKFold(3, shuffle=True, random_state=0)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of short MLP runs
        scores = cross_val_score(model, x, y, cv=folds, scoring=scoring, n_jobs=1)
    return -float(np.mean(scores))  # minimised


def _svm(p: dict[str, Any]) -> float:
    from sklearn.svm import SVC

    return _cv(SVC(C=p["C"], gamma=p["gamma"], kernel=p["kernel"]), "digits", "accuracy")


def _forest(p: dict[str, Any]) -> float:
    from sklearn.ensemble import RandomForestClassifier

    max_features = None if p["max_features"] == "all" else p["max_features"]
    model = RandomForestClassifier(
        n_estimators=p["n_estimators"],
        max_depth=p["max_depth"],
        min_samples_leaf=p["min_samples_leaf"],
        max_features=max_features,
        random_state=0,
        n_jobs=1,
    )
    return _cv(model, "wine", "accuracy")


def _boosting(p: dict[str, Any]) -> float:
    from sklearn.ensemble import GradientBoostingClassifier

    model = GradientBoostingClassifier(
        n_estimators=p["n_estimators"],
        learning_rate=p["learning_rate"],
        max_depth=p["max_depth"],
        subsample=p["subsample"],
        random_state=0,
    )
    return _cv(model, "breast_cancer", "accuracy")


def _mlp(p: dict[str, Any]) -> float:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    net = MLPRegressor(
        hidden_layer_sizes=(p["units"],),
        alpha=p["alpha"],
        learning_rate_init=p["learning_rate_init"],
        activation=p["activation"],
        max_iter=p["max_iter"],
        random_state=0,
    )
    model = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), net), transformer=StandardScaler()
    )
    return _cv(model, "diabetes", "r2")


def _sklearn() -> list[Problem]:
    none: Callable[[], None] = lambda: None
    return [
        Problem(
            "svm_digits", "sklearn",
            lambda hp: {
                "C": hp.Float("C", 1e-2, 1e3, sampling="log"),
                "gamma": hp.Float("gamma", 1e-5, 1e0, sampling="log"),
                "kernel": hp.Choice("kernel", ["rbf", "sigmoid"]),
            },
            _svm, none,
        ),
        Problem(
            "rf_wine", "sklearn",
            lambda hp: {
                "n_estimators": hp.Int("n_estimators", 5, 50),
                "max_depth": hp.Int("max_depth", 1, 10),
                "min_samples_leaf": hp.Int("min_samples_leaf", 1, 20),
                "max_features": hp.Choice("max_features", ["sqrt", "log2", "all"]),
            },
            _forest, none,
        ),
        Problem(
            "gb_breast_cancer", "sklearn",
            lambda hp: {
                "n_estimators": hp.Int("n_estimators", 5, 50),
                "learning_rate": hp.Float("learning_rate", 1e-3, 1.0, sampling="log"),
                "max_depth": hp.Int("max_depth", 1, 4),
                "subsample": hp.Float("subsample", 0.3, 1.0),
            },
            _boosting, none,
        ),
        Problem(
            "mlp_diabetes", "sklearn",
            lambda hp: {
                "units": hp.Int("units", 4, 64),
                "alpha": hp.Float("alpha", 1e-6, 1e1, sampling="log"),
                "learning_rate_init": hp.Float("learning_rate_init", 1e-4, 1e-1, sampling="log"),
                "activation": hp.Choice("activation", ["relu", "tanh"]),
                "max_iter": hp.Int("max_iter", 20, 100),
            },
            _mlp, none,
        ),
    ]


PROBLEMS: dict[str, Problem] = {p.name: p for p in _synthetic() + _sklearn()}
