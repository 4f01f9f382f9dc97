"""The sampler interface: which configuration to try next.

A sampler is small and pure: ``suggest`` gets the tunable part of the search space (plain
definitions), the study's trials (plain snapshots, running ones included so parallel workers
differ) and a seeded random generator, and returns the next configuration, or None when a
finite space has no untried configuration left. It holds no study and does no I/O.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..space import HyperParameter, config_key
from ..trial import FrozenTrial, TrialState


class Sampler(abc.ABC):
    #: Short name shown in messages and stored with the study.
    name: str = "sampler"
    #: Whether the sampler serves a search with several objectives (a Pareto study) as it
    #: is: it ignores the objective (random, grid) or reads each trial's point itself
    #: (:func:`tunewise.pareto.objective_values`, :func:`tunewise.pareto.feasibility`). A
    #: Pareto study wraps a sampler without it (one that models ``trial.score``) in
    #: :class:`~tunewise.samplers.ParEGOSampler`, which gives it one scalarised score per
    #: suggestion.
    multi_objective: bool = False

    @abc.abstractmethod
    def suggest(
        self,
        space: Sequence[HyperParameter],
        trials: Sequence[FrozenTrial],
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        """The next configuration (active values only), or None when the space is exhausted."""

    def bind(self, objective: Any) -> None:
        """Called once by the study with its objective (``.sign``: +1 minimise, -1 maximise).

        Model-based samplers need the direction; the default ignores it.
        """

    def new_value(self, hp: HyperParameter, rng: np.random.Generator) -> Any:
        """The value of a hyperparameter first defined while a trial runs (define-by-run)."""
        return hp.from_unit(rng.random())

    def warmed_up(self, n_points: int) -> Sampler:
        """This sampler with its own random or space-filling start cut to at most
        ``n_points`` trials. A scheduler that has already run a random phase (BOHB inside
        Hyperband: ``len(space) + 3`` results at one budget) hands its model-based sampler
        only that budget's trials, and asks for this so that the model is used from there
        on. The default (samplers without such a start) is the sampler itself."""
        return self

    def claims(self, space: Sequence[HyperParameter]) -> bool:
        """Whether each suggestion claims its configuration in the storage, so that workers
        sharing a study never run one twice (finite enumerations: a grid, random search of a
        finite space). Default False: a model's suggestions are spread by pending trials."""
        return False

    def pop_note(self) -> str | None:
        """A one-line message for the user (e.g. which model was chosen), at most once."""
        return None

    def get_config(self) -> dict[str, Any]:
        """Settings stored with the study (JSON-serialisable)."""
        return {"name": self.name}

    def describe(self) -> str:
        return self.name


def tried_keys(
    trials: Sequence[FrozenTrial], space: Sequence[HyperParameter]
) -> set[tuple[tuple[str, Any], ...]]:
    """Identity keys of every configuration already tried (any state), over ``space``'s names.

    A re-run of a trial (``retry_of``) shares its original's configuration and adds nothing.
    """
    names = {hp.name for hp in space}
    return {
        config_key({k: v for k, v in t.values.items() if k in names})
        for t in trials
        if t.retry_of is None
    }


class TriedConfigurations:
    """The configurations already tried (any state, re-runs excluded), for "is this one new?".

    A trial's stored values hold only the hyperparameters its code reached (define-by-run):
    a trial ``{"bool": True, "choice1": 0}`` of a space that also has ``choice2`` (defined on
    the other branch) covers every full configuration with ``bool=True, choice1=0``, whatever
    its ``choice2``: running any of them runs the same code with the same values. A running
    trial's values are those it was given so far, so it covers the configurations that only
    it can still tell apart. A failed trial may have stopped before reaching every
    hyperparameter of its branch, so it covers only its exact configuration. Lookup costs one
    set probe per distinct set of reached names.
    """

    def __init__(self, trials: Sequence[FrozenTrial], space: Sequence[HyperParameter]) -> None:
        names = {hp.name for hp in space}
        self._by_names: dict[frozenset[str], set[tuple[tuple[str, Any], ...]]] = {}
        self._exact: set[tuple[tuple[str, Any], ...]] = set()
        for t in trials:
            if t.retry_of is not None:
                continue
            values = {k: v for k, v in t.values.items() if k in names}
            if t.state is TrialState.FAILED:
                self._exact.add(config_key(values))
            else:
                self._by_names.setdefault(frozenset(values), set()).add(config_key(values))

    def covers(self, config: dict[str, Any]) -> bool:
        """Whether some tried trial's values are a part of ``config`` (a failed one's: all)."""
        if config_key(config) in self._exact:
            return True
        for reached, keys in self._by_names.items():
            if reached <= config.keys() and config_key(
                {k: config[k] for k in reached}
            ) in keys:
                return True
        return False

