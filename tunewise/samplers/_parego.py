"""``ParEGOSampler``: several objectives through a random scalarisation per suggestion.

ParEGO (Knowles, "ParEGO: a hybrid algorithm with on-line landscape approximation for
expensive multiobjective optimization problems", IEEE TEVC 10(1), 2006): at each suggestion

1. each objective's minimisation-signed values (:func:`tunewise.pareto.objective_values`)
   are normalised so that the current front spans [0, 1]: the ideal point (the smallest
   value of each objective) goes to 0 and the front's worst point (its nadir) to 1, over the
   scored trials (the feasible ones when there are any); an objective the front does not
   spread falls back to its range over all those trials. Knowles normalises by the range of
   every trial; on ZDT-style problems, whose dominated points lie far beyond the front, that
   squeezes the front into a corner and the weights stop spreading it
   (``benchmarks/multiobjective.py``, see benchmarks/README.md);
2. a weight vector ``lam`` is drawn uniformly from the evenly spread vectors
   ``{lam : lam_j = l_j / s, sum lam = 1}`` (``s`` = :data:`DIVISIONS`; uniform on the
   simplex beyond :data:`MAX_LATTICE_OBJECTIVES` objectives);
3. every trial gets the augmented Chebyshev value
   ``max_j(lam_j f_j) + rho * sum_j(lam_j f_j)`` (``rho`` = 0.05) as its score, and a
   single-objective sampler (a GP or TPE: any ``Sampler``) suggests the configuration that
   best improves that one score.

Each weight vector pulls the search toward another part of the front, and the augmentation
term keeps weakly dominated points from tying with the ones that dominate them. Constraints
follow Deb's rule (Deb, 2000): an infeasible trial (:func:`tunewise.pareto.feasibility`
False) scores worse than every feasible one, and among infeasible ones a smaller total
violation scores better. Trials without a point (running, failed) are left as they are: the
inner sampler treats them as it always does (the GP puts a failed configuration at the worst
score). The scalarised trials are views for the inner sampler only: nothing is stored.

It is the default for a Pareto study given a single-objective model sampler (``GPSampler``,
``TPESampler``, ``AutoSampler``), which the study wraps in it and says so.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..objective import Objective, components
from ..pareto import feasibility, nondominated, objective_values, violation
from ..space import HyperParameter
from ..trial import FrozenTrial
from ._base import Sampler

#: The augmentation weight of the augmented Chebyshev function (Knowles 2006: 0.05).
RHO = 0.05
#: ``s``: weights are multiples of ``1/s`` (Knowles 2006 uses s = 10 for 2 objectives; the
#: same is 66 vectors for 3 and 286 for 4).
DIVISIONS = 10
#: Beyond this many objectives the weight vectors are drawn uniformly on the simplex.
MAX_LATTICE_OBJECTIVES = 4

_SCALARISED = Objective("parego_scalarised", "min")


def weight_vectors(k: int, divisions: int = DIVISIONS) -> np.ndarray:
    """Every vector of ``k`` non-negative multiples of ``1/divisions`` summing to 1, (n, k)."""
    rows = [
        [c / divisions for c in combo]
        for combo in itertools.product(range(divisions + 1), repeat=k - 1)
        if sum(combo) <= divisions
    ]
    return np.array([r + [1.0 - sum(r)] for r in rows])


def augmented_chebyshev(f: np.ndarray, lam: np.ndarray, rho: float = RHO) -> np.ndarray:
    """``max_j(lam_j f_j) + rho * sum_j(lam_j f_j)`` per row of ``f`` (n, k)."""
    weighted = f * lam
    return weighted.max(axis=1) + rho * weighted.sum(axis=1)


class ParEGOSampler(Sampler):
    """Pareto search by one random augmented-Chebyshev scalarisation per suggestion.

    Args:
        base: the single-objective sampler that models each scalarisation (default
            :class:`~tunewise.AutoSampler`: a GP for small numeric searches, TPE otherwise).
        rho: the augmentation weight (0.05, as Knowles).
        divisions: weights are multiples of ``1/divisions``.
    """

    name = "parego"
    multi_objective = True

    def __init__(
        self, base: Sampler | None = None, rho: float = RHO, divisions: int = DIVISIONS
    ) -> None:
        if base is None:
            from ._auto import AutoSampler

            base = AutoSampler()
        if isinstance(base, ParEGOSampler):
            base = base.base
        if not float(rho) >= 0.0:
            raise ValueError(f"rho={rho!r} must be >= 0.")
        if int(divisions) < 1:
            raise ValueError(f"divisions={divisions!r} must be >= 1.")
        self.base = base
        self.rho = float(rho)
        self.divisions = int(divisions)
        self._objectives: tuple[Objective, ...] = ()
        self._note: str | None = None
        self._lattice: np.ndarray | None = None
        base.bind(_SCALARISED)

    def bind(self, objective: Any) -> None:
        self._objectives = components(objective)
        self._lattice = None
        self.base.bind(_SCALARISED)
        if len(self._objectives) > 1:
            self._note = (
                f"Sampler: ParEGO over {self.base.name} (a random augmented-Chebyshev "
                f"scalarisation of the {len(self._objectives)} objectives per suggestion)."
            )

    # ------------------------------------------------------------------ the scalarisation
    def draw_weights(self, rng: np.random.Generator) -> np.ndarray:
        """One weight vector (see the module docstring)."""
        k = max(1, len(self._objectives))
        if k > MAX_LATTICE_OBJECTIVES:
            return rng.dirichlet(np.ones(k))
        if self._lattice is None:
            self._lattice = weight_vectors(k, self.divisions)
        return self._lattice[int(rng.integers(len(self._lattice)))]

    def scalarised(
        self, trials: Sequence[FrozenTrial], lam: np.ndarray
    ) -> list[FrozenTrial]:
        """``trials`` with each scored trial's score replaced by its scalarised value (lower
        is better; see the module docstring); the others unchanged."""
        points, rows = [], []
        for i, t in enumerate(trials):
            point = objective_values(t, self._objectives)
            if point is not None:
                points.append(point)
                rows.append(i)
        if not rows:
            return [dataclasses.replace(t, score=None) if t.score is not None else t
                    for t in trials]
        F = np.array(points, dtype=float)
        feasible = np.array([feasibility(trials[i]) is not False for i in rows])
        basis = F[feasible] if feasible.any() else F
        low, high = basis.min(axis=0), basis.max(axis=0)
        nadir = basis[nondominated(basis)].max(axis=0)
        span = np.where(nadir - low > 0, nadir - low, np.where(high - low > 0, high - low, 1.0))
        values = augmented_chebyshev((F - low) / span, lam, self.rho)
        if not feasible.all():
            ceiling = float(values[feasible].max()) if feasible.any() else float(values.max())
            amounts = np.array([violation(trials[i]) or 0.0 for i in rows])[~feasible]
            finite = amounts[np.isfinite(amounts)]
            scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
            amounts = np.where(np.isfinite(amounts), amounts / scale, 2.0)
            values[~feasible] = ceiling + 1.0 + amounts
        out = [dataclasses.replace(t, score=None) if t.score is not None else t for t in trials]
        for i, v in zip(rows, values):
            out[i] = dataclasses.replace(trials[i], score=float(v))
        return out

    # ------------------------------------------------------------------ the interface
    def suggest(
        self,
        space: Sequence[HyperParameter],
        trials: Sequence[FrozenTrial],
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        if not self._objectives:
            raise RuntimeError(
                "ParEGOSampler is not bound to the study's objectives; pass it to a Study "
                "(Study(..., sampler=ParEGOSampler())) or call sampler.bind(objective) first."
            )
        lam = self.draw_weights(rng)
        return self.base.suggest(space, self.scalarised(trials, lam), rng)

    def new_value(self, hp: HyperParameter, rng: np.random.Generator) -> Any:
        return self.base.new_value(hp, rng)

    def warmed_up(self, n_points: int) -> Sampler:
        import copy

        view = copy.copy(self)
        view.base = self.base.warmed_up(n_points)
        return view

    def claims(self, space: Sequence[HyperParameter]) -> bool:
        return self.base.claims(space)

    def pop_note(self) -> str | None:
        note, self._note = self._note, None
        inner = self.base.pop_note()
        return " ".join(n for n in (note, inner) if n) or None

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base": self.base.get_config(),
            "rho": self.rho,
            "divisions": self.divisions,
        }

    def describe(self) -> str:
        return (
            f"parego (a random augmented-Chebyshev scalarisation per suggestion, modelled by "
            f"{self.base.describe()})"
        )
