"""Every plot of a study by name: its data, and its figure.

:data:`PLOTS` lists the plot kinds in the order the report and the dashboard show them.
``plot_data(history, kind)`` computes a plot's data (no plotting library);
``draw_plot(kind, data)`` draws it with matplotlib. The ``plot_*`` helpers take a Study, a
tuner or a SearchHistory and return the figure, for notebooks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..diagnostics import SearchHistory
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

_DATA: dict[str, Callable[[SearchHistory], Any]] = {
    "history": _data.optimization_history,
    "curves": _data.learning_curves,
    "importance": hyperparameter_importance,
    "parallel": _data.parallel_coordinates,
    "slices": _data.slices,
}

_DRAW: dict[str, Callable[[Any], Any]] = {
    "history": _draw.draw_optimization_history,
    "curves": _draw.draw_learning_curves,
    "importance": _draw.draw_importance,
    "parallel": _draw.draw_parallel_coordinates,
    "slices": _draw.draw_slices,
}


def _check_kind(kind: str) -> None:
    if kind not in _DATA:
        raise ValueError(f"Unknown plot {kind!r}; expected one of {[k for k, _ in PLOTS]}.")


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
    return _DATA[kind](as_history(source))


def draw_plot(kind: str, data: Any) -> Any:
    _check_kind(kind)
    return _DRAW[kind](data)


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
