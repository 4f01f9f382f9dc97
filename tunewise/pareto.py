"""Several objectives and constraints: feasibility, a trial's point, fronts, hypervolume.

One module for every reader of several objectives (the study, the samplers, the report, the
doctor), so that each applies the same rules:

* **A trial's point** (:func:`objective_values`): the values of the objectives at the
  trial's scored step (``best_step``), each multiplied by its objective's sign so that every
  component is minimised. For a Pareto study (:class:`~tunewise.objective.ParetoObjective`)
  the scored step is the last step that reports every objective; for a summed objective
  (Keras Tuner's list) it is the step the sum's score came from; for one objective, its best
  (or last, with ``score="last"``) step. None when the trial has no such step.
* **Feasibility** (:func:`feasibility`): a trial with constraint values (``trial.attrs
  ["constraints"]``: set by ``trial.set_constraint`` and the study's ``constraints=``
  callable) is feasible when every value is <= 0. A FAILED trial of a study with
  ``failed_as_infeasible=True`` is infeasible. Anything else is unknown (None), which counts
  as feasible for the best and the front.
* **Dominance**: point ``a`` dominates ``b`` when ``a <= b`` in every component and ``a < b``
  in one. Equal points do not dominate each other: duplicates and ties are all on a front.
* **The front** (:func:`pareto_front`): the COMPLETED trials, not infeasible, with a point,
  that no other such trial dominates. Failed, pruned, running and infeasible trials are
  never on it.
* **Hypervolume** (:func:`hypervolume`): the measure of the region dominated by the points
  and bounded by a reference point (minimisation), exact in any dimension (a sweep over the
  last objective of exact lower-dimensional slices; fast for 2 and 3 objectives).

Every function here reads plain data (snapshots, arrays) and does no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import trial_attrs as keys
from .objective import Objective, components

if TYPE_CHECKING:
    from .trial import FrozenTrial

__all__ = [
    "constraint_values",
    "dominates",
    "feasibility",
    "hypervolume",
    "nondominated",
    "nondominated_sort",
    "objective_values",
    "pareto_front",
    "violation",
]


# ---------------------------------------------------------------------- constraints
def constraint_values(trial: FrozenTrial) -> dict[str, float] | None:
    """The trial's constraint values by name (each feasible when <= 0), or None if it has none."""
    stored = (trial.attrs or {}).get(keys.CONSTRAINTS)
    if not isinstance(stored, Mapping) or not stored:
        return None
    out = {}
    for name, value in stored.items():
        try:
            out[str(name)] = float(value)
        except (TypeError, ValueError):
            out[str(name)] = math.nan  # a value that is not a number never counts as met
    return out


def feasibility(trial: FrozenTrial) -> bool | None:
    """True when the trial has constraint values and all are <= 0; False when one is above 0
    (or not a number), or when it FAILED in a study with ``failed_as_infeasible=True``; None
    when nothing is known (no constraint recorded)."""
    values = constraint_values(trial)
    if values is not None:
        return all(v <= 0.0 for v in values.values())  # NaN <= 0 is False: infeasible
    if (trial.attrs or {}).get(keys.FAILED_INFEASIBLE):
        return False
    return None


def violation(trial: FrozenTrial) -> float | None:
    """The total constraint violation ``sum(max(0, c))`` (0.0 when feasible; ``inf`` for a
    value that is not a number or a failure counted as infeasible), or None when unknown."""
    values = constraint_values(trial)
    if values is None:
        return math.inf if (trial.attrs or {}).get(keys.FAILED_INFEASIBLE) else None
    total = 0.0
    for v in values.values():
        total += math.inf if math.isnan(v) else max(0.0, v)
    return total


# ---------------------------------------------------------------------- a trial's point
def _step_values(
    metrics: Mapping[str, float], objectives: Sequence[Objective]
) -> tuple[float, ...] | None:
    out = []
    for o in objectives:
        v = o.value_from(metrics)
        if v is None or not math.isfinite(v):
            return None
        out.append(o.sign * v)
    return tuple(out)


def objective_values(
    trial: FrozenTrial, objectives: Any
) -> tuple[float, ...] | None:
    """The trial's point: ``objectives``' values at its scored step, minimisation-signed
    (``sign * value``: a maximised metric is negated), or None.

    ``objectives`` is a sequence of :class:`~tunewise.objective.Objective` or any objective
    (a ``MultiObjective``'s or a ``ParetoObjective``'s components are used). Only COMPLETED
    and PRUNED trials have a point. The scored step is ``trial.best_step``; a trial without
    one (an imported trial) uses its last step that reports every objective.
    """
    from .trial import TrialState

    if trial.state not in (TrialState.COMPLETED, TrialState.PRUNED) or not trial.steps:
        return None
    parts = _objectives(objectives)
    if trial.best_step is not None:
        for s in trial.steps:
            if s.step == trial.best_step:
                return _step_values(s.metrics, parts)
        return None
    for s in reversed(trial.steps):
        found = _step_values(s.metrics, parts)
        if found is not None:
            return found
    return None


def _objectives(objectives: Any) -> tuple[Objective, ...]:
    if isinstance(objectives, (list, tuple)):
        out: list[Objective] = []
        for o in objectives:
            out.extend(components(o))
        return tuple(out)
    return components(objectives)


# ---------------------------------------------------------------------- dominance
def _as_points(points: Any) -> np.ndarray:
    array = np.asarray(points, dtype=float)
    if array.size == 0:
        return array.reshape(0, array.shape[-1] if array.ndim == 2 else 0)
    if array.ndim != 2:
        raise ValueError(
            f"points must be a 2-d array (n points, k objectives), got shape {array.shape}."
        )
    if np.isnan(array).any():
        raise ValueError("points hold NaN: a point's values must be numbers.")
    return array


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether point ``a`` dominates ``b`` (minimisation): no worse anywhere, better somewhere."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(x <= y) and np.any(x < y))


def nondominated(points: Any) -> list[int]:
    """Indices (ascending) of the points no other point dominates (minimisation).

    Equal points do not dominate each other, so every copy of a non-dominated point is kept.
    Points are visited in lexicographic order, where a dominating point always comes before
    the points it dominates; each is compared with the front found so far only.
    """
    P = _as_points(points)
    if len(P) == 0:
        return []
    order = np.lexsort(P.T[::-1])
    front: list[int] = []
    for i in order:
        p = P[i]
        if front:
            F = P[front]
            if np.any(np.all(F <= p, axis=1) & np.any(F < p, axis=1)):
                continue
        front.append(int(i))
    return sorted(front)


def nondominated_sort(points: Any) -> list[list[int]]:
    """The points' successive fronts (NSGA-II's non-dominated sorting): the first front is
    :func:`nondominated`, the second the non-dominated points of the rest, and so on; each
    front's indices ascending. Every index is in exactly one front."""
    P = _as_points(points)
    remaining = np.arange(len(P))
    fronts = []
    while len(remaining):
        local = nondominated(P[remaining])
        fronts.append([int(remaining[i]) for i in local])
        remaining = np.delete(remaining, local)
    return fronts


# ---------------------------------------------------------------------- trials
def front_candidates(
    trials: Iterable[FrozenTrial], objectives: Any
) -> list[tuple[FrozenTrial, tuple[float, ...]]]:
    """The trials that may be on the front (COMPLETED, not infeasible, with a point), with
    their points."""
    from .trial import TrialState

    parts = _objectives(objectives)
    out = []
    for t in trials:
        if t.state is not TrialState.COMPLETED or feasibility(t) is False:
            continue
        point = objective_values(t, parts)
        if point is not None:
            out.append((t, point))
    return out


def pareto_front(trials: Iterable[FrozenTrial], objectives: Any) -> list[FrozenTrial]:
    """The Pareto front of ``trials`` under ``objectives`` (see the module docstring), in
    trial-number order. With one objective it is every feasible completed trial tied at the
    best value."""
    found = front_candidates(trials, objectives)
    if not found:
        return []
    keep = nondominated([p for _, p in found])
    return sorted((found[i][0] for i in keep), key=lambda t: t.number)


def pareto_ranks(trials: Iterable[FrozenTrial], objectives: Any) -> dict[int, int]:
    """Each front candidate's front (0: the Pareto front, 1: the front of the rest...), by
    trial number."""
    found = front_candidates(trials, objectives)
    ranks: dict[int, int] = {}
    if found:
        for rank, front in enumerate(nondominated_sort([p for _, p in found])):
            for i in front:
                ranks[found[i][0].number] = rank
    return ranks


# ---------------------------------------------------------------------- hypervolume
def hypervolume(points: Any, reference: Sequence[float]) -> float:
    """The exact hypervolume dominated by ``points`` and bounded by ``reference``
    (minimisation: the measure of ``{x : some p <= x <= reference}``).

    Points that do not lie strictly below the reference in every component add nothing.
    Exact for any number of objectives (slices along the last one, each a hypervolume one
    dimension down); O(n log n) for 2 objectives, O(n^2 log n) for 3.
    """
    ref = np.asarray(reference, dtype=float)
    P = _as_points(points)
    if len(P) == 0:
        return 0.0
    if P.shape[1] != ref.shape[0]:
        raise ValueError(
            f"reference has {ref.shape[0]} components, the points {P.shape[1]}."
        )
    P = P[np.all(P < ref, axis=1)]
    if len(P) == 0:
        return 0.0
    P = P[nondominated(P)]
    return float(_hv(P, ref))


def _hv(P: np.ndarray, ref: np.ndarray) -> float:
    k = P.shape[1]
    if k == 1:
        return float(ref[0] - P[:, 0].min())
    if k == 2:
        order = np.argsort(P[:, 0], kind="stable")
        total, ceiling = 0.0, ref[1]
        for x, y in P[order]:
            if y < ceiling:
                total += (ref[0] - x) * (ceiling - y)
                ceiling = y
        return total
    order = np.argsort(P[:, -1], kind="stable")
    P = P[order]
    total = 0.0
    for i in range(len(P)):
        top = P[i + 1, -1] if i + 1 < len(P) else ref[-1]
        depth = top - P[i, -1]
        if depth <= 0:
            continue
        below = P[: i + 1, :-1]
        total += _hv(below[nondominated(below)], ref[:-1]) * depth
    return total
