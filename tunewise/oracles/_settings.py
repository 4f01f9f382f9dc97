"""Keras Tuner's oracles: which sampler, which objective, how many trials, and its trial methods.

In Keras Tuner an oracle is the search algorithm plus its bookkeeping. Here the bookkeeping is
the :class:`~tunewise.Study`'s, so an oracle carries what a tuner needs to open one: the
``objective``, ``max_trials``, ``seed``, the declared ``hyperparameters``, a sampler
(``make_sampler()``) and, for Hyperband, a budget scheduler (``make_scheduler()``); its Keras
Tuner trial methods (``create_trial``, ``update_trial``, ``end_trial``, ``get_best_trials``...)
work on the study it is bound to (see :mod:`._surface`). Pass one to a tuner (``tunewise.SklearnTuner(oracle=...)``,
``tunewise.Tuner(oracle=...)``) as in Keras Tuner::

    import tunewise as kt

    oracle = kt.oracles.BayesianOptimizationOracle(
        objective=kt.Objective("score", "max"), max_trials=10)

:func:`as_oracle` also accepts Keras Tuner's own oracle objects (same class names).
"""

from __future__ import annotations

from typing import Any

from ..samplers import AutoSampler, GridSampler, RandomSampler, Sampler
from ..samplers._gp import check_bayesian_arguments
from ..samplers._grid import DEFAULT_FLOAT_POINTS
from ..schedulers import HyperbandScheduler, Scheduler
from ..space import HyperParameters
from ._surface import OracleSurface


def check_new_entries(hyperparameters: Any, tune_new_entries: bool,
                      allow_new_entries: bool) -> None:
    """Keras Tuner's rule: restricting new entries needs the ``hyperparameters`` to tune."""
    for name, flag in (("tune_new_entries", tune_new_entries),
                       ("allow_new_entries", allow_new_entries)):
        if not flag and hyperparameters is None:
            raise ValueError(
                f"{name}=False needs hyperparameters=: pass the HyperParameters to tune "
                f"(hp = HyperParameters(); hp.Int(...)), or drop {name}=False."
            )


class Oracle(OracleSurface):
    """Base class: the settings every oracle shares (Keras Tuner's names and defaults) and
    Keras Tuner's trial methods over the study it is bound to."""

    #: Name stored in the study's signature (the Keras facades use the same names).
    algorithm = "random"

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = None,
        hyperparameters: HyperParameters | None = None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        seed: int | None = None,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        **kwargs: Any,
    ) -> None:
        unknown = sorted(set(kwargs) - {"logger"})  # logger: Keras Tuner's, deprecated there
        if unknown:
            raise ValueError(
                f"Unrecognized arguments {unknown} for {type(self).__name__}; see "
                f"help(tunewise.oracles.{type(self).__name__})."
            )
        check_new_entries(hyperparameters, tune_new_entries, allow_new_entries)
        if max_trials is not None and int(max_trials) < 1:
            raise ValueError(f"max_trials={max_trials!r} must be >= 1 (or None for no limit).")
        self.objective = objective
        self.max_trials = None if max_trials is None else int(max_trials)
        self.hyperparameters = hyperparameters
        self.allow_new_entries = allow_new_entries
        self.tune_new_entries = tune_new_entries
        self.seed = seed
        self.max_retries_per_trial = int(max_retries_per_trial)
        self.max_consecutive_failed_trials = int(max_consecutive_failed_trials)

    def make_sampler(self) -> Sampler:
        """A fresh sampler for a study (each tuner gets its own)."""
        return RandomSampler()

    def make_scheduler(self) -> Scheduler | None:
        """The study's budget scheduler (Hyperband's), or None."""
        return None

    def settings(self) -> dict[str, Any]:
        """The oracle's own settings, stored with the study (the doctor reads them)."""
        return {}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(objective={self.objective!r}, "
                f"max_trials={self.max_trials!r}, seed={self.seed!r})")


class RandomSearchOracle(Oracle):
    """Random search (never repeats a configuration of a finite space)."""

    def __init__(self, objective: Any = None, max_trials: int | None = 10, *args: Any,
                 **kwargs: Any) -> None:
        super().__init__(objective, max_trials, *args, **kwargs)


class GridSearchOracle(Oracle):
    """Every combination of the space's values; ``max_trials=None`` runs the whole grid."""

    algorithm = "grid"

    def __init__(self, objective: Any = None, max_trials: int | None = None, *args: Any,
                 float_points: int = DEFAULT_FLOAT_POINTS, **kwargs: Any) -> None:
        super().__init__(objective, max_trials, *args, **kwargs)
        self.float_points = int(float_points)

    def make_sampler(self) -> Sampler:
        return GridSampler(float_points=self.float_points)


class BayesianOptimizationOracle(Oracle):
    """Model-based search: an :class:`~tunewise.AutoSampler` (a Gaussian process for small
    numeric spaces, TPE otherwise) with Keras Tuner's ``num_initial_points``, ``alpha`` (the
    floor of the GP's noise standard deviation) and ``beta`` (its exploration weight)."""

    algorithm = "bayesian"

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = 10,
        num_initial_points: int | None = None,
        alpha: float = 1e-4,
        beta: float = 2.6,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        check_bayesian_arguments(num_initial_points, alpha, beta)
        super().__init__(objective, max_trials, seed=seed, **kwargs)
        self.num_initial_points = num_initial_points
        self.alpha = alpha
        self.beta = beta

    def make_sampler(self) -> Sampler:
        return AutoSampler(num_initial_points=self.num_initial_points, alpha=self.alpha,
                           beta=self.beta)

    def settings(self) -> dict[str, Any]:
        return {"num_initial_points": self.num_initial_points, "alpha": self.alpha,
                "beta": self.beta}


class HyperbandOracle(Oracle):
    """Hyperband's schedule with Keras Tuner's ``max_epochs``, ``factor`` and
    ``hyperband_iterations``; configurations come from an AutoSampler (model-based once some
    budget has enough results), see :class:`tunewise.Hyperband`."""

    algorithm = "hyperband"

    def __init__(
        self,
        objective: Any = None,
        max_epochs: int = 100,
        factor: int = 3,
        hyperband_iterations: int = 1,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        **kwargs: Any,
    ) -> None:
        schedule = HyperbandScheduler(max_epochs, factor, hyperband_iterations)
        super().__init__(objective, None, hyperparameters, allow_new_entries, tune_new_entries,
                         seed, max_retries_per_trial, max_consecutive_failed_trials, **kwargs)
        self.max_epochs = schedule.max_budget
        self.factor = schedule.factor
        self.hyperband_iterations = schedule.iterations

    def make_sampler(self) -> Sampler:
        return AutoSampler()

    def make_scheduler(self) -> Scheduler:
        return HyperbandScheduler(self.max_epochs, self.factor, self.hyperband_iterations)

    def settings(self) -> dict[str, Any]:
        return {"max_epochs": self.max_epochs, "factor": self.factor,
                "hyperband_iterations": self.hyperband_iterations}


_BY_NAME = {
    "RandomSearchOracle": RandomSearchOracle,
    "RandomSearch": RandomSearchOracle,
    "GridSearchOracle": GridSearchOracle,
    "GridSearch": GridSearchOracle,
    "BayesianOptimizationOracle": BayesianOptimizationOracle,
    "BayesianOptimization": BayesianOptimizationOracle,
}


def as_oracle(oracle: Any) -> Oracle:
    """A tunewise oracle from a tunewise one (as is) or a Keras Tuner one (its settings copied).

    A Keras Tuner ``HyperbandOracle`` (or any other) is an error: its schedule trains models
    by epochs, which a cross-validated or custom search does not have.
    """
    if isinstance(oracle, Oracle):
        return oracle
    cls = _BY_NAME.get(type(oracle).__name__)
    if cls is None:
        raise TypeError(
            f"oracle={type(oracle).__name__} is not supported; pass "
            "tunewise.oracles.RandomSearchOracle, GridSearchOracle or "
            "BayesianOptimizationOracle (Keras Tuner's oracles of those names are converted)."
        )
    kwargs: dict[str, Any] = {
        "objective": getattr(oracle, "objective", None),
        "max_trials": getattr(oracle, "max_trials", 10),
        "seed": getattr(oracle, "seed", None),
    }
    if cls is BayesianOptimizationOracle:
        for key in ("num_initial_points", "alpha", "beta"):
            if getattr(oracle, key, None) is not None:
                kwargs[key] = getattr(oracle, key)
    return cls(**kwargs)


def default_oracle(algorithm: str, max_trials: int | None) -> Oracle:
    """The oracle a tuner made without ``oracle=`` shows as ``tuner.oracle`` (bound to its
    study, which holds the real settings)."""
    cls = {"grid": GridSearchOracle, "bayesian": BayesianOptimizationOracle}.get(
        algorithm, RandomSearchOracle)
    oracle = cls(max_trials=max_trials)
    oracle.algorithm = algorithm
    return oracle


# Keras Tuner 1.0's names of the same oracles (``kt.oracles.BayesianOptimization``...).
BayesianOptimization = BayesianOptimizationOracle
RandomSearch = RandomSearchOracle
GridSearch = GridSearchOracle
Hyperband = HyperbandOracle
