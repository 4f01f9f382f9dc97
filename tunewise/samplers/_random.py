"""Random search: uniform in the unit cube, never repeating a configuration of a finite space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..space import HyperParameter, count_configurations, decode, iter_configurations
from ..trial import FrozenTrial
from ._base import Sampler, TriedConfigurations

#: Fresh draws tried before falling back to enumerating the untried configurations.
#: With half the space tried, 32 duplicate draws in a row happen with probability 2**-32.
MAX_DUPLICATE_DRAWS = 32

#: Largest finite space enumerated to find the untried configurations; beyond it a
#: duplicate streak of MAX_DUPLICATE_DRAWS is practically impossible until nearly all of
#: it is tried, which no realistic budget reaches.
MAX_ENUMERATED = 200_000


class RandomSampler(Sampler):
    """Independent uniform draws on each hyperparameter's scale (log scales uniform in log).

    In a finite space (every hyperparameter discrete) a configuration is never suggested
    twice; when none is left, ``suggest`` returns None.
    """

    name = "random"
    multi_objective = True  # the objective plays no part in its choices

    def suggest(
        self,
        space: Sequence[HyperParameter],
        trials: Sequence[FrozenTrial],
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        space = list(space)
        if not space:
            return {}
        draw = decode(space, rng.random(len(space)))
        size = count_configurations(space)
        by_name = {hp.name: hp for hp in space}
        if size is None and any(by_name[k].grid_size is None for k in draw):
            return draw  # a draw with a continuous value does not repeat
        # A tried trial covers the draws that differ from it only in values its code did not
        # reach (define-by-run branches): they would run the same code with the same values.
        tried = TriedConfigurations(trials, space)
        for _ in range(MAX_DUPLICATE_DRAWS):
            if not tried.covers(draw):
                return draw
            draw = decode(space, rng.random(len(space)))
        if size is None or size > MAX_ENUMERATED:
            return draw  # a finite branch of an infinite space: a duplicate is allowed here
        untried = [c for c in iter_configurations(space) if not tried.covers(c)]
        if not untried:
            return None
        return untried[int(rng.integers(len(untried)))]

    def claims(self, space: Sequence[HyperParameter]) -> bool:
        """A finite space is enumerated without repeats: each configuration is claimed."""
        return bool(space) and count_configurations(list(space)) is not None
