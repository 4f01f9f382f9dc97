"""Every plot of a study by name: its data, and its figure.

:data:`PLOTS` lists the plot kinds in the order the report and the dashboard show them.
``plot_data(history, kind)`` computes a plot's data (no plotting library);
``draw_plot(kind, data)`` draws it with matplotlib. The ``plot_*`` helpers take a Study, a
tuner or a SearchHistory and return the figure, for notebooks.

:func:`plot_kinds` says which plots a study gets: :data:`PLOTS` for one objective; those and
:data:`PARETO_PLOTS` (the front of its components) for a summed objective; for a Pareto study
(no single score) the Pareto plots first, then the optimization history per objective and the
others on its first objective (named in their titles).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..diagnostics import SearchHistory
from ..diagnostics._pareto import view
from ..objective import ParetoObjective, components
from . import _data, _draw
from ._importance import hyperparameter_importance

#: ``(kind, title)`` of every plot, in display order.
PLOTS: list[tuple[str, str]] = [
    ("history", "Optimization history"),
    ("curves", "Learning curves"),
    ("importance", "Hyperparameter importance"),
    ("parallel", "Parallel coordinates"),
    ("slices", "Slices"),
]

#: The plots of several objectives (a Pareto study, or a summed one's components).
PARETO_PLOTS: list[tuple[str, str]] = [
    ("front", "Pareto front"),
    ("hypervolume", "Hypervolume history"),
]

_DATA: dict[str, Callable[[SearchHistory], Any]] = {
    "front": _data.pareto_front_data,
    "hypervolume": _data.hypervolume_history_data,
    "history": _data.optimization_history,
    "curves": _data.learning_curves,
    "importance": hyperparameter_importance,
    "parallel": _data.parallel_coordinates,
    "slices": _data.slices,
}

_DRAW: dict[str, Callable[[Any], Any]] = {
    "front": _draw.draw_pareto_front,
    "hypervolume": _draw.draw_hypervolume_history,
    "history": _draw.draw_optimization_history,
    "curves": _draw.draw_learning_curves,
    "importance": _draw.draw_importance,
    "parallel": _draw.draw_parallel_coordinates,
    "slices": _draw.draw_slices,
}


def _check_kind(kind: str) -> None:
    if kind not in _DATA:
        raise ValueError(
            f"Unknown plot {kind!r}; expected one of {[k for k, _ in PLOTS + PARETO_PLOTS]}."
        )


def _is_pareto(history: SearchHistory) -> bool:
    return isinstance(history.objective, ParetoObjective)


def plot_kinds(source: Any) -> list[tuple[str, str]]:
    """``(kind, title)`` of the plots the study gets, in display order (see the module)."""
    history = as_history(source)
    parts = components(history.objective)
    if _is_pareto(history):
        first = parts[0].name
        return [
            *PARETO_PLOTS,
            ("history", "Optimization history per objective"),
            ("curves", f"Learning curves ({first})"),
            ("importance", f"Hyperparameter importance (for {first})"),
            ("parallel", f"Parallel coordinates (colour: {first})"),
            ("slices", f"Slices ({first})"),
        ]
    if len(parts) > 1:
        return [*PLOTS, ("front", "Pareto front of the summed objectives"),
                ("hypervolume", "Hypervolume history of the summed objectives")]
    return list(PLOTS)


def _pareto_data(history: SearchHistory, kind: str) -> Any:
    """A Pareto study's single-objective plots, per objective or on its first objective."""
    parts = components(history.objective)
    if kind == "history":
        return [_data.optimization_history(view(history, o)) for o in parts]
    if kind == "curves":
        return _data.learning_curves(history, parts[0].name)
    return _DATA[kind](view(history, parts[0]))


def as_history(source: Any) -> SearchHistory:
    """A SearchHistory from a SearchHistory, a Study, or anything with ``.study`` (a tuner)."""
    if isinstance(source, SearchHistory):
        return source
    study = getattr(source, "study", source)
    if not hasattr(study, "trials") or not hasattr(study, "objective"):
        raise TypeError(
            f"Expected a tunewise Study, a tuner or a SearchHistory. Received: {type(source).__name__}."
        )
    return SearchHistory.from_study(study)


def plot_data(source: Any, kind: str) -> Any:
    _check_kind(kind)
    history = as_history(source)
    if _is_pareto(history) and kind not in dict(PARETO_PLOTS):
        return _pareto_data(history, kind)
    return _DATA[kind](history)


def draw_plot(kind: str, data: Any) -> Any:
    _check_kind(kind)
    if kind == "history" and isinstance(data, list):  # a Pareto study: one panel per objective
        return _draw.draw_histories(data)
    return _DRAW[kind](data)


def plot_pareto_front(source: Any) -> Any:
    """Every trial by its objectives, the Pareto front highlighted (pairwise panels for 3+)."""
    return draw_plot("front", plot_data(source, "front"))


def plot_hypervolume_history(source: Any) -> Any:
    """The hypervolume of the front after each completed feasible trial."""
    return draw_plot("hypervolume", plot_data(source, "hypervolume"))


def plot_optimization_history(source: Any) -> Any:
    """The figure of the scores by trial with the best-so-far line."""
    return draw_plot("history", plot_data(source, "history"))


def plot_learning_curves(source: Any, metric: str | None = None) -> Any:
    """Each trial's curve of ``metric`` (the objective by default); pruned and early-stopped
    trials are coloured apart, with a cross where they stopped."""
    return _draw.draw_learning_curves(_data.learning_curves(as_history(source), metric))


def plot_parallel_coordinates(source: Any) -> Any:
    return draw_plot("parallel", plot_data(source, "parallel"))


def plot_slices(source: Any) -> Any:
    return draw_plot("slices", plot_data(source, "slices"))


def plot_importance(source: Any) -> Any:
    return draw_plot("importance", plot_data(source, "importance"))
