"""The tuner classes users name: each is a Tuner with a sampler, nothing more."""

from __future__ import annotations

from typing import Any

from ...samplers import AutoSampler, GridSampler, RandomSampler, Sampler
from ...samplers._gp import check_bayesian_arguments
from ...samplers._grid import DEFAULT_FLOAT_POINTS
from ...schedulers import ASHAScheduler, HyperbandScheduler, Scheduler
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
                 *args: Any, float_points: int = DEFAULT_FLOAT_POINTS, **kwargs: Any) -> None:
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
        check_bayesian_arguments(num_initial_points, alpha, beta)
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
    """New configurations one Hyperband iteration samples, summed over its brackets."""
    return HyperbandScheduler(max_epochs, factor).configurations_per_iteration


class Hyperband(RandomSearch):
    """Hyperband with Keras Tuner's ``max_epochs``, ``factor`` and ``hyperband_iterations``.

    A :class:`~tunewise.schedulers.HyperbandScheduler` gives each trial a budget: the trial's
    ``fit`` gets ``epochs`` = its budget and ``initial_epoch`` = its parent's budget; a promoted
    trial starts from its parent's **best-epoch** weights (as Keras Tuner's checkpoint; the
    optimizer state starts afresh, as there), so its first epoch continues where the parent
    was. The epochs passed to ``search`` are replaced by the budgets (the largest is
    ``max_epochs``). The trial's hyperparameters show ``tuner/epochs``, ``tuner/initial_epoch``,
    ``tuner/bracket``, ``tuner/round`` and (promoted trials) ``tuner/trial_id``; they are not
    tuned or stored among its values (its attrs hold the budget).

    ``max_trials`` (default None: the whole schedule) cuts the search short. New
    configurations are drawn at random until some budget has ``d + 3`` results (``d``
    hyperparameters), then picked by a model of the results at the highest such budget
    (BOHB-style; an :class:`~tunewise.samplers.AutoSampler`: a Gaussian process, or TPE for
    large or tree-shaped searches). Keras Tuner picks every configuration at random; on the
    digits MLP of ``benchmarks/multifidelity.py`` (max_epochs 9, seeds 0-9) the model-based
    default found 3558 of 3600 correct validation predictions against 3540 at random and
    3542-3556 for Keras Tuner's Hyperband (seeds 0-19: 0.9887 against Keras Tuner's 0.9865
    mean best validation accuracy). ``sampler=tunewise.RandomSampler()`` restores
    random draws; any other sampler may be passed.
    ``asynchronous=True`` runs ASHA instead (asynchronous successive halving over the same
    budgets and brackets, for parallel workers: nobody waits for a rung to fill; each new
    configuration goes to the bracket that has trained the fewest epochs), until it has
    trained the epochs the Hyperband schedule would.
    Weights of trials that may still be promoted are kept until their bracket is done.
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
        asynchronous: bool = False,
        **kwargs: Any,
    ) -> None:
        self._scheduler = HyperbandScheduler(max_epochs, factor, hyperband_iterations)
        self.max_epochs = self._scheduler.max_budget
        self.factor = self._scheduler.factor
        self.hyperband_iterations = self._scheduler.iterations
        self.asynchronous = bool(asynchronous)
        if self.asynchronous:
            self._scheduler = ASHAScheduler(
                self.max_epochs,
                self.factor,
                max_total_budget=self._scheduler.units_per_iteration * self.hyperband_iterations,
                brackets=len(self._scheduler.brackets),
            )
        super().__init__(hypermodel, objective, max_trials, seed=seed, **kwargs)

    def _make_scheduler(self) -> Scheduler:
        return self._scheduler

    def _make_sampler(self) -> Sampler:
        return AutoSampler()

    def _tuner_settings(self) -> dict[str, Any]:
        return {"max_epochs": self.max_epochs, "factor": self.factor,
                "hyperband_iterations": self.hyperband_iterations,
                "asynchronous": self.asynchronous}

    def _announce(self) -> None:
        hb = HyperbandScheduler(self.max_epochs, self.factor, self.hyperband_iterations)
        n = self.hyperband_iterations
        if self.asynchronous:
            self._reporter.note(
                f"Hyperband (asynchronous: ASHA) with max_epochs={self.max_epochs}, "
                f"factor={self.factor}: {self._scheduler.brackets} brackets, rungs at "
                f"{list(self._scheduler.budgets)} epochs, until "
                f"{self._scheduler.max_total_budget} epochs are trained."
            )
            return
        self._reporter.note(
            f"Hyperband with max_epochs={self.max_epochs}, factor={self.factor}: "
            f"{len(hb.brackets)} brackets, {hb.configurations_per_iteration * n} configurations, "
            f"{hb.trials_per_iteration * n} trials, {hb.units_per_iteration * n} epochs "
            f"(training each configuration fully would take "
            f"{hb.configurations_per_iteration * n * self.max_epochs})."
        )

    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        epochs = fit_kwargs.get("epochs")
        if epochs is not None and int(epochs) != self.max_epochs:
            self._reporter.note(
                f"search(epochs={epochs}) is replaced by each trial's Hyperband budget (at most "
                f"max_epochs={self.max_epochs}); pass max_epochs={epochs} to the tuner to train "
                "up to that many."
            )
        fit_kwargs["epochs"] = self.max_epochs
        super().search(*fit_args, **fit_kwargs)
