"""Keras Tuner's oracles, as settings: which sampler, which objective, how many trials.

In Keras Tuner an oracle is the search algorithm plus its bookkeeping. Here the bookkeeping is
the :class:`~tunewise.Study`'s, so an oracle only carries what a tuner needs to open one: the
``objective``, ``max_trials``, ``seed``, the declared ``hyperparameters`` and a sampler
(``make_sampler()``). Pass one to a tuner (``tunewise.SklearnTuner(oracle=...)``,
``tunewise.Tuner(oracle=...)``) as in Keras Tuner::

    import tunewise as kt

    oracle = kt.oracles.BayesianOptimizationOracle(
        objective=kt.Objective("score", "max"), max_trials=10)

:func:`as_oracle` also accepts Keras Tuner's own oracle objects (same class names).
"""

from __future__ import annotations

from typing import Any

from .samplers import AutoSampler, GridSampler, RandomSampler, Sampler
from .samplers._gp import check_bayesian_arguments
from .samplers._grid import DEFAULT_FLOAT_POINTS
from .space import HyperParameters


class Oracle:
    """Base class: the settings every oracle shares (Keras Tuner's names and defaults)."""

    #: Name stored in the study's signature (the Keras facades use the same names).
    algorithm = "random"

    def __init__(
        self,
        objective: Any = None,
        max_trials: int | None = 10,
        hyperparameters: HyperParameters | None = None,
        allow_new_entries: bool = True,
        tune_new_entries: bool = True,
        seed: int | None = None,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
    ) -> None:
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

    def settings(self) -> dict[str, Any]:
        """The oracle's own settings, stored with the study (the doctor reads them)."""
        return {}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(objective={self.objective!r}, "
                f"max_trials={self.max_trials!r}, seed={self.seed!r})")


class RandomSearchOracle(Oracle):
    """Random search (never repeats a configuration of a finite space)."""


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


__all__ = [
    "BayesianOptimizationOracle",
    "GridSearchOracle",
    "Oracle",
    "RandomSearchOracle",
    "as_oracle",
]
