"""The tuner classes users name: each is a Tuner with a sampler, nothing more."""

from __future__ import annotations

import math
from typing import Any

from ...samplers import AutoSampler, GridSampler, RandomSampler, Sampler
from ._tuner import Tuner


class RandomSearch(Tuner):
    """Random search (never repeats a configuration of a finite space)."""

    algorithm = "random"

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int = 10,
        seed: int | None = None,
        hyperparameters: Any = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            hypermodel=hypermodel,
            objective=objective,
            max_trials=max_trials,
            seed=seed,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            **kwargs,
        )

    def _make_sampler(self) -> Sampler:
        return RandomSampler()


class GridSearch(RandomSearch):
    """Every combination of the space's values; ``max_trials=None`` runs the whole grid."""

    algorithm = "grid"

    def __init__(self, hypermodel: Any = None, objective: Any = None, max_trials: Any = None,
                 *args: Any, float_points: int = 5, **kwargs: Any) -> None:
        self._float_points = float_points
        super().__init__(hypermodel, objective, max_trials, *args, **kwargs)

    def _make_sampler(self) -> Sampler:
        return GridSampler(float_points=self._float_points)


class BayesianOptimization(RandomSearch):
    """Model-based search with Keras Tuner's ``num_initial_points``, ``alpha`` and ``beta``.

    By default an :class:`~tunewise.samplers.AutoSampler` picks a Gaussian process (small,
    mostly numeric searches) or TPE (large budgets, many categories or conditions) and says
    which. ``num_initial_points`` is the quasi-random design before the model is used,
    ``alpha`` the floor of the GP's noise standard deviation, ``beta`` its exploration weight. Pass
    ``sampler=tunewise.GPSampler(...)`` or ``tunewise.TPESampler(...)`` to choose.
    """

    algorithm = "bayesian"

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int = 10,
        num_initial_points: int | None = None,
        alpha: float = 1e-4,
        beta: float = 2.6,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        if num_initial_points is not None and int(num_initial_points) < 1:
            raise ValueError(f"num_initial_points={num_initial_points!r} must be >= 1 or None.")
        if not alpha >= 0:
            raise ValueError(f"alpha={alpha!r} (the observation noise) must be >= 0.")
        if not beta >= 0:
            raise ValueError(f"beta={beta!r} (the exploration weight) must be >= 0.")
        self.num_initial_points = num_initial_points
        self.alpha = alpha
        self.beta = beta
        super().__init__(hypermodel, objective, max_trials, seed=seed, **kwargs)

    def _make_sampler(self) -> Sampler:
        return AutoSampler(num_initial_points=self.num_initial_points, alpha=self.alpha,
                           beta=self.beta)

    def _tuner_settings(self) -> dict[str, Any]:
        return {"num_initial_points": self.num_initial_points, "alpha": self.alpha,
                "beta": self.beta}


def hyperband_iteration_size(max_epochs: int, factor: int) -> int:
    """Configurations one Hyperband iteration samples, summed over its brackets."""
    s_max = int(math.floor(math.log(max_epochs) / math.log(factor) + 1e-9))
    return sum(
        int(math.ceil((s_max + 1) / (s + 1) * factor**s)) for s in range(s_max, -1, -1)
    )


class Hyperband(RandomSearch):
    """Hyperband with Keras Tuner's ``max_epochs``, ``factor`` and ``hyperband_iterations``.

    Until tunewise's multi-fidelity scheduler lands, this facade trains as many random
    configurations as one Hyperband iteration would sample (times ``hyperband_iterations``),
    each for the ``epochs`` given to ``search`` (at most ``max_epochs``), and says so.
    """

    algorithm = "hyperband"

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_epochs: int = 100,
        factor: int = 3,
        hyperband_iterations: int = 1,
        seed: int | None = None,
        max_trials: int | None = None,
        **kwargs: Any,
    ) -> None:
        if int(max_epochs) < 1:
            raise ValueError(f"max_epochs={max_epochs!r} must be >= 1.")
        if int(factor) < 2:
            raise ValueError(f"factor={factor!r} must be >= 2.")
        if int(hyperband_iterations) < 1:
            raise ValueError(f"hyperband_iterations={hyperband_iterations!r} must be >= 1.")
        self.max_epochs = int(max_epochs)
        self.factor = int(factor)
        self.hyperband_iterations = int(hyperband_iterations)
        if max_trials is None:
            max_trials = hyperband_iteration_size(self.max_epochs, self.factor) * (
                self.hyperband_iterations
            )
        super().__init__(hypermodel, objective, max_trials, seed=seed, **kwargs)

    def _tuner_settings(self) -> dict[str, Any]:
        return {"max_epochs": self.max_epochs, "factor": self.factor,
                "hyperband_iterations": self.hyperband_iterations}

    def _announce(self) -> None:
        self._reporter.note(
            "Hyperband: the multi-fidelity scheduler has not landed in this version; this search "
            f"trains {self.max_trials} random configurations (one Hyperband iteration's worth for "
            f"max_epochs={self.max_epochs}, factor={self.factor}) with the full epoch budget "
            "each (algorithm used: random search)."
        )

    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        fit_kwargs["epochs"] = min(int(fit_kwargs.get("epochs", self.max_epochs)), self.max_epochs)
        super().search(*fit_args, **fit_kwargs)
