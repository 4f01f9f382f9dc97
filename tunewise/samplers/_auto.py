"""``AutoSampler``: picks the Gaussian process or TPE from the space and the budget, and says so.

A GP is the most sample-efficient choice for small budgets over mostly numeric spaces; its cost
grows with the cube of the trials and it models many categories or conditions poorly. TPE
costs nearly the same per suggestion at any budget and handles categories and conditions
natively. The choice is re-made at every suggestion (a pure function of the space and the
number of trials), so a resumed study makes the same choices.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..space import Choice, HyperParameter
from ..trial import FrozenTrial
from ._base import Sampler
from ._tpe import TPESampler

#: Above this many trials a GP suggestion costs tens of milliseconds and more (cubic growth),
#: while TPE's stays flat and its sample-efficiency gap has mostly closed.
GP_MAX_TRIALS = 300
#: A GP's length-scales are learned per dimension; beyond this many encoded dimensions its
#: marginal likelihood has too little data per dimension at realistic budgets.
GP_MAX_DIMENSIONS = 24
#: When more than this share of the hyperparameters is conditional, TPE (which models each
#: one only where it is active) beats a GP (which sees inactive dimensions as constants).
GP_MAX_CONDITIONAL_SHARE = 0.5


def _encoded_dimensions(space: Sequence[HyperParameter]) -> int:
    dims = 0
    for hp in space:
        if hp.grid_size == 1:
            continue
        dims += hp.grid_size if isinstance(hp, Choice) and not hp.ordered else 1  # type: ignore[operator]
    return dims


def choose(space: Sequence[HyperParameter], n_trials: int) -> tuple[str, str]:
    """``("gp" | "tpe", reason)`` for this space and number of trials so far."""
    tuned = [hp for hp in space if hp.grid_size != 1]
    dims = _encoded_dimensions(tuned)
    conditional = sum(1 for hp in tuned if hp.conditions)
    if n_trials >= GP_MAX_TRIALS:
        return "tpe", f"{n_trials} trials, beyond the {GP_MAX_TRIALS} a GP handles cheaply"
    if dims > GP_MAX_DIMENSIONS:
        return "tpe", f"{dims} encoded dimensions, more than a GP models well ({GP_MAX_DIMENSIONS})"
    if tuned and conditional > GP_MAX_CONDITIONAL_SHARE * len(tuned):
        return "tpe", f"{conditional} of {len(tuned)} hyperparameters are conditional"
    return "gp", f"{len(tuned)} hyperparameters ({dims} encoded dimensions), {n_trials} trials"


class AutoSampler(Sampler):
    """Gaussian process for small, mostly numeric searches; TPE for large or tree-shaped ones."""

    name = "auto"

    def __init__(
        self,
        num_initial_points: int | None = None,
        alpha: float = 1e-4,
        beta: float = 2.6,
        seed: int | None = None,
    ) -> None:
        from ._gp import GPSampler

        self.gp = GPSampler(num_initial_points=num_initial_points, alpha=alpha, beta=beta,
                            seed=seed)
        self.tpe = TPESampler(seed=seed)
        self.current: str | None = None
        self._note: str | None = None
        self._owner: AutoSampler | None = None

    def bind(self, objective: Any) -> None:
        self.gp.bind(objective)
        self.tpe.bind(objective)

    def suggest(
        self,
        space: Sequence[HyperParameter],
        trials: Sequence[FrozenTrial],
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        which, reason = choose(space, len(trials))
        owner = self._owner or self  # a warmed-up view reports to the sampler it came from
        if which != owner.current:
            label = "Gaussian-process" if which == "gp" else "TPE"
            owner._note = f"Sampler: {label} ({reason})."
            owner.current = which
        return (self.gp if which == "gp" else self.tpe).suggest(space, trials, rng)

    def warmed_up(self, n_points: int) -> AutoSampler:
        """A view whose GP and TPE start after at most ``n_points`` trials (see
        :meth:`Sampler.warmed_up`); which model it picks is noted on this sampler."""
        view = copy.copy(self)
        view.gp, view.tpe = self.gp.warmed_up(n_points), self.tpe.warmed_up(n_points)
        view._owner = self._owner or self
        return view

    def pop_note(self) -> str | None:
        note, self._note = self._note, None
        return note

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "gp": self.gp.get_config(), "tpe": self.tpe.get_config()}

    def describe(self) -> str:
        return "auto (Gaussian process for small numeric searches, TPE otherwise)"
