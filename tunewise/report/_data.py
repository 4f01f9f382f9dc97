"""The data of every plot, computed from a :class:`~tunewise.diagnostics.SearchHistory`.

Each function returns plain dataclasses (numbers, strings, lists) that the matplotlib
renderers draw and the dashboard serves as JSON; none needs a plotting library. Only trials
with a finite score are plotted (failed trials have none); pruned trials keep their partial
curves in the learning curves and are marked there.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..diagnostics import SearchHistory
from ..space import Boolean, Choice, Float, HyperParameter, Int
from ..trial import FrozenTrial, TrialState
from ..trial_attrs import STOPPED_EARLY


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class HistoryPoint:
    number: int
    score: float
    state: str


@dataclass(frozen=True)
class OptimizationHistory:
    """Each scored trial's score in trial order, and the best so far after each completed trial.

    ``points`` holds completed trials (and pruned ones that have a score, marked by ``state``;
    they never set the best). ``best_so_far`` is ``(number, best score)`` per completed trial.
    """

    objective: str
    direction: str
    points: list[HistoryPoint]
    best_so_far: list[tuple[int, float]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def optimization_history(history: SearchHistory) -> OptimizationHistory:
    points = [
        HistoryPoint(t.number, float(t.score), t.state.value)
        for t in sorted(history.trials, key=lambda t: t.number)
        if t.state in (TrialState.COMPLETED, TrialState.PRUNED) and _finite(t.score)
    ]
    return OptimizationHistory(
        objective=history.objective.name,
        direction=history.objective.direction,
        points=points,
        best_so_far=[(n, float(b)) for n, b in history.best_so_far()],
    )


@dataclass(frozen=True)
class Curve:
    """One trial's metric per step. ``pruned`` marks a trial stopped by a pruner (its last
    step is where); ``stopped_early`` one stopped by early stopping before its epoch budget;
    ``best_step`` is the step its score comes from."""

    number: int
    state: str
    steps: list[int]
    values: list[float]
    best_step: int | None
    pruned: bool
    stopped_early: bool


@dataclass(frozen=True)
class LearningCurves:
    metric: str
    direction: str
    curves: list[Curve]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def learning_curves(history: SearchHistory, metric: str | None = None) -> LearningCurves:
    """Per-trial curves of ``metric`` (the objective by default) over the steps; trials that
    reported no finite value of it are left out."""
    curves = []
    for t in sorted(history.trials, key=lambda t: t.number):
        steps, values = [], []
        for s in t.steps:
            v = history.objective.value_from(s.metrics) if metric is None else s.metrics.get(metric)
            if _finite(v):
                steps.append(s.step)
                values.append(float(v))  # type: ignore[arg-type]
        if not steps:
            continue
        curves.append(
            Curve(
                number=t.number,
                state=t.state.value,
                steps=steps,
                values=values,
                best_step=t.best_step,
                pruned=t.state is TrialState.PRUNED,
                stopped_early=bool(t.attrs.get(STOPPED_EARLY, False)),
            )
        )
    name = history.objective.name if metric is None else metric
    direction = history.objective.direction if metric is None else _direction_of(name)
    return LearningCurves(metric=name, direction=direction, curves=curves)


def _direction_of(name: str) -> str:
    from ..objective import infer_direction

    return infer_direction(name) or "min"


@dataclass(frozen=True)
class Axis:
    """One axis of the parallel-coordinates plot.

    ``kind`` is ``numeric`` (linear), ``log`` or ``categorical``; ``labels`` are the category
    names of a categorical axis (position i at ``i / (n - 1)``); ``low``/``high`` the value
    range of a numeric axis (the data's own range for the score axis).
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    labels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ParallelCoordinates:
    """Axes (the tuned hyperparameters, then the objective) and one line per completed trial:
    ``positions[i]`` is the trial's place on axis i in [0, 1], None where the hyperparameter
    was inactive. ``scores`` colour the lines."""

    axes: list[Axis]
    numbers: list[int]
    positions: list[list[float | None]]
    scores: list[float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _categories(hp: HyperParameter, seen: list[Any]) -> list[Any]:
    if isinstance(hp, Choice):
        return list(hp.values)
    if isinstance(hp, Boolean):
        return [False, True]
    out: list[Any] = []
    for v in seen:
        if v not in out:
            out.append(v)
    return sorted(out, key=str)


def _is_categorical(hp: HyperParameter | None, seen: list[Any]) -> bool:
    if isinstance(hp, (Choice, Boolean)):
        return not (isinstance(hp, Choice) and hp.ordered)
    if isinstance(hp, (Int, Float)):
        return False
    return not all(_finite(v) for v in seen)


def _axis_for(name: str, hp: HyperParameter | None, seen: list[Any]) -> Axis:
    if _is_categorical(hp, seen):
        return Axis(name, "categorical", labels=[str(c) for c in _categories(hp, seen)])  # type: ignore[arg-type]
    numbers = [float(v) for v in seen if _finite(v)]
    if isinstance(hp, (Int, Float)):
        low, high = float(hp.min_value), float(hp.max_value)
        kind = "log" if hp.sampling == "log" else "numeric"
    elif isinstance(hp, Choice):  # ordered numeric choice
        low, high, kind = float(min(hp.values)), float(max(hp.values)), "numeric"
    else:
        low, high, kind = min(numbers, default=0.0), max(numbers, default=1.0), "numeric"
    if kind == "log" and low <= 0:
        kind = "numeric"
    return Axis(name, kind, low, high)


def axis_position(axis: Axis, value: Any) -> float | None:
    """Where ``value`` sits on ``axis``, in [0, 1]; None for a missing value."""
    if value is None:
        return None
    if axis.kind == "categorical":
        n = len(axis.labels)
        if str(value) not in axis.labels:
            return None
        return axis.labels.index(str(value)) / (n - 1) if n > 1 else 0.5
    if not _finite(value):
        return None
    low, high, v = axis.low, axis.high, float(value)
    assert low is not None and high is not None
    if axis.kind == "log":
        low, high, v = math.log10(low), math.log10(high), math.log10(max(v, 1e-300))
    if high <= low:
        return 0.5
    return min(1.0, max(0.0, (v - low) / (high - low)))


def _scored(history: SearchHistory) -> list[FrozenTrial]:
    return [t for t in sorted(history.completed, key=lambda t: t.number) if _finite(t.score)]


def _tuned_names(history: SearchHistory, trials: list[FrozenTrial]) -> list[str]:
    """Tuned hyperparameters in space order, then any others the trials hold that vary."""
    names = [hp.name for hp in history.tuned_space]
    fixed = {hp.name for hp in history.space} - set(names)
    for t in trials:
        for k in t.values:
            if k not in names and k not in fixed:
                names.append(k)
    return [n for n in names if len({repr(t.values.get(n)) for t in trials}) > 1]


def parallel_coordinates(history: SearchHistory) -> ParallelCoordinates:
    trials = _scored(history)
    space = {hp.name: hp for hp in history.space}
    axes = [
        _axis_for(n, space.get(n), [t.values.get(n) for t in trials if n in t.values])
        for n in _tuned_names(history, trials)
    ]
    scores = [float(t.score) for t in trials]  # type: ignore[arg-type]
    axes.append(
        Axis(history.objective.name, "numeric", min(scores, default=0.0), max(scores, default=1.0))
    )
    positions = [
        [axis_position(a, t.values.get(a.name)) for a in axes[:-1]]
        + [axis_position(axes[-1], t.score)]
        for t in trials
    ]
    return ParallelCoordinates(axes, [t.number for t in trials], positions, scores)


@dataclass(frozen=True)
class Slice:
    """The score of each completed trial against one hyperparameter's value.

    ``values`` are numbers on a ``numeric``/``log`` axis, or category labels on a
    ``categorical`` one (``axis.labels`` gives their order)."""

    axis: Axis
    numbers: list[int]
    values: list[Any]
    scores: list[float]


@dataclass(frozen=True)
class Slices:
    objective: str
    direction: str
    slices: list[Slice]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def slices(history: SearchHistory) -> Slices:
    trials = _scored(history)
    space = {hp.name: hp for hp in history.space}
    out = []
    for name in _tuned_names(history, trials):
        having = [t for t in trials if t.values.get(name) is not None]
        axis = _axis_for(name, space.get(name), [t.values[name] for t in having])
        values = [
            str(t.values[name]) if axis.kind == "categorical" else float(t.values[name])
            for t in having
        ]
        out.append(
            Slice(axis, [t.number for t in having], values, [float(t.score) for t in having])  # type: ignore[arg-type]
        )
    return Slices(history.objective.name, history.objective.direction, out)


# ---------------------------------------------------------------------- several objectives
@dataclass(frozen=True)
class ParetoFront:
    """Every completed trial with a point, by its objectives' values (as logged, not signed):
    ``status[i]`` is ``front`` (on the Pareto front), ``dominated`` or ``infeasible`` (violates
    a constraint; never on the front). For a summed objective, the front of its components."""

    objectives: list[str]
    directions: list[str]
    numbers: list[int]
    values: list[list[float]]
    status: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pareto_front_data(history: SearchHistory) -> ParetoFront:
    from ..objective import components
    from ..pareto import feasibility, objective_values, pareto_front

    parts = components(history.objective)
    on_front = {t.number for t in pareto_front(history.trials, parts)}
    numbers, values, status = [], [], []
    for t in sorted(history.trials, key=lambda t: t.number):
        if t.state is not TrialState.COMPLETED:
            continue
        point = objective_values(t, parts)
        if point is None:
            continue
        numbers.append(t.number)
        values.append([o.sign * v for o, v in zip(parts, point)])
        status.append("front" if t.number in on_front
                      else "infeasible" if feasibility(t) is False else "dominated")
    return ParetoFront([o.name for o in parts], [o.direction for o in parts], numbers, values,
                       status)


@dataclass(frozen=True)
class HypervolumeHistory:
    """The hypervolume of the front after each completed feasible trial (objectives scaled to
    their observed range, reference point 1.1 in each: at most ``1.1 ** k``)."""

    objectives: list[str]
    numbers: list[int]
    hypervolume: list[float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def hypervolume_history_data(history: SearchHistory) -> HypervolumeHistory:
    from ..diagnostics._pareto import hypervolume_history
    from ..objective import components

    parts = components(history.objective)
    if len(parts) < 2:
        return HypervolumeHistory([o.name for o in parts], [], [])
    hv = hypervolume_history(history)  # a summed objective: the front of its components
    return HypervolumeHistory([o.name for o in parts], hv["trials"],
                              [float(v) for v in hv["hypervolume"]])
