"""Grid search: every combination of the space's values, in a fixed order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..space import Float, HyperParameter, iter_configurations
from ..space._configs import DEFAULT_FLOAT_POINTS
from ..trial import FrozenTrial
from ._base import Sampler, TriedConfigurations

__all__ = ["DEFAULT_FLOAT_POINTS", "GridSampler"]


class GridSampler(Sampler):
    """Enumerates every configuration, first-defined hyperparameter outermost.

    A discrete hyperparameter contributes each of its values; a ``Float`` without a step
    contributes its default and ``float_points`` (10, as Keras Tuner) points: the centres of
    equal bins of its scale (evenly spaced in the exponent on a log scale), so neither bound
    is a point unless it is the default (``min_value`` is when none is given). Keras Tuner's
    GridSearch walks the same values. Hyperparameters first seen while a trial runs take
    their default value.
    """

    name = "grid"
    multi_objective = True  # the objective plays no part in its choices

    def __init__(self, float_points: int = DEFAULT_FLOAT_POINTS) -> None:
        if int(float_points) < 1:
            raise ValueError(f"float_points={float_points!r} must be >= 1.")
        self.float_points = int(float_points)

    def suggest(
        self,
        space: Sequence[HyperParameter],
        trials: Sequence[FrozenTrial],
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        space = list(space)
        if not space:
            return {}
        tried = TriedConfigurations(trials, space)
        for config in iter_configurations(space, self.float_points):
            if not tried.covers(config):
                return config
        return None

    def new_value(self, hp: HyperParameter, rng: np.random.Generator) -> Any:
        return hp.default

    def claims(self, space: Sequence[HyperParameter]) -> bool:
        return True

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "float_points": self.float_points}

    def describe(self) -> str:
        return f"grid (continuous Floats split into {self.float_points} points and their default)"

    def continuous(self, space: Sequence[HyperParameter]) -> list[str]:
        """Names of the Floats this grid splits into ``float_points`` points."""
        return [hp.name for hp in space if isinstance(hp, Float) and hp.grid_size is None]
