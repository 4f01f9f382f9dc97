"""Matplotlib renderers of the plot data (extra ``plots``).

Each ``draw_*`` takes the plain data of :mod:`tunewise.report._data` (or the importance) and
returns a :class:`matplotlib.figure.Figure` made without pyplot, so that it is safe to draw in a
server thread and never opens a window. ``figure_png`` turns a figure into PNG bytes.

Names are data, never markup: every text that carries a name or a value from the study (a
hyperparameter or objective name, a category) is drawn with mathtext and TeX off
(``parse_math=False, usetex=False`` on its own Text, tick labels included), so ``$``, ``_``,
``^``, ``\\`` or ``{`` show as typed and never raise. Only names longer than
:data:`LABEL_CHARS` characters are cut (ending in "…") to keep the figure readable; the report's
and dashboard's tables show them whole.
"""

from __future__ import annotations

import io
import math
from typing import Any

from ._data import (
    HypervolumeHistory,
    LearningCurves,
    OptimizationHistory,
    ParallelCoordinates,
    ParetoFront,
    Slices,
)
from ._importance import Importance

_COMPLETED = "#1f77b4"
_PRUNED = "#ff7f0e"
_EARLY = "#9467bd"
_BEST = "#d62728"

#: Keyword arguments of every Text that shows study data: drawn as typed, no mathtext, no TeX.
LITERAL: dict[str, Any] = {"parse_math": False, "usetex": False}

#: Longest name drawn whole in a plot (characters); a longer one is cut to this length.
LABEL_CHARS = 40

#: Longest name drawn whole as the title of a slice (its panel is 2.3 inches wide).
SLICE_TITLE_CHARS = 28


def plot_label(value: Any, limit: int = LABEL_CHARS) -> str:
    """``value`` as the text of a plot label: ``str(value)``, cut to ``limit`` characters (the
    last one "…") when longer. Draw it with :data:`LITERAL`."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Drawing plots needs matplotlib: pip install 'tunewise[plots]'."
        ) from exc
    return matplotlib, Figure


def _figure(width: float = 7.0, height: float = 3.6) -> Any:
    _, Figure = _matplotlib()
    return Figure(figsize=(width, height), layout="constrained")


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666666",
            **LITERAL)
    ax.set_xticks([])
    ax.set_yticks([])


def figure_png(fig: Any, dpi: int = 80) -> bytes:
    """The figure as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def draw_optimization_history(data: OptimizationHistory) -> Any:
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_title(f"Optimization history ({plot_label(data.objective)}, {data.direction})", **LITERAL)
    if not data.points:
        _empty(ax, "No trial has a score yet.")
        return fig
    for state, color, label in (("COMPLETED", _COMPLETED, "trial"), ("PRUNED", _PRUNED, "pruned")):
        pts = [p for p in data.points if p.state == state]
        if pts:
            ax.scatter([p.number for p in pts], [p.score for p in pts], s=18, color=color,
                       label=label, zorder=3)
    if data.best_so_far:
        xs = [n for n, _ in data.best_so_far]
        ys = [b for _, b in data.best_so_far]
        ax.step(xs, ys, where="post", color=_BEST, label="best so far", zorder=2)
    ax.set_xlabel("trial number")
    ax.set_ylabel(plot_label(data.objective), **LITERAL)
    ax.legend(loc="best", fontsize="small")
    return fig


def draw_learning_curves(data: LearningCurves) -> Any:
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_title(f"Learning curves ({plot_label(data.metric)})", **LITERAL)
    if not data.curves:
        _empty(ax, f"No trial reported {plot_label(data.metric)}.")
        return fig
    shown: set[str] = set()
    for c in data.curves:
        if c.pruned:
            color, label = _PRUNED, "pruned"
        elif c.stopped_early:
            color, label = _EARLY, "early-stopped"
        elif c.state == "COMPLETED":
            color, label = _COMPLETED, "completed"
        else:
            color, label = "#7f7f7f", c.state.lower()
        ax.plot(c.steps, c.values, color=color, alpha=0.6, linewidth=1,
                label=None if label in shown else label)
        shown.add(label)
        if c.pruned or c.stopped_early:  # mark where the trial stopped
            ax.scatter([c.steps[-1]], [c.values[-1]], marker="x", color=color, s=25, zorder=3)
    ax.set_xlabel("step (epoch)")
    ax.set_ylabel(plot_label(data.metric), **LITERAL)
    ax.legend(loc="best", fontsize="small")
    return fig


def draw_parallel_coordinates(data: ParallelCoordinates) -> Any:
    import matplotlib

    fig = _figure(8.0, 3.8)
    ax = fig.add_subplot()
    ax.set_title("Parallel coordinates (colour: objective)")
    if not data.numbers or len(data.axes) < 2:
        _empty(ax, "Needs completed trials and at least one varying hyperparameter.")
        return fig
    n_axes = len(data.axes)
    scores = data.scores
    low, high = min(scores), max(scores)
    cmap = matplotlib.colormaps["viridis"]
    for row, score in zip(data.positions, scores):
        points = [(i, p) for i, p in enumerate(row) if p is not None]
        shade = 0.5 if high <= low else (score - low) / (high - low)
        ax.plot([i for i, _ in points], [p for _, p in points], color=cmap(shade), alpha=0.7,
                linewidth=1)
    for i, axis in enumerate(data.axes):
        ax.axvline(i, color="#444444", linewidth=0.8)
        if axis.kind == "categorical":
            n = len(axis.labels)
            for k, category in enumerate(axis.labels):
                ax.text(i + 0.03, k / (n - 1) if n > 1 else 0.5, plot_label(category), fontsize=7,
                        va="center", **LITERAL)
        else:
            ax.text(i + 0.03, 0.0, _short(axis.low), fontsize=7, va="bottom")
            ax.text(i + 0.03, 1.0, _short(axis.high), fontsize=7, va="top")
    # about 110 characters of 8-point text fit across the figure: the names share them
    limit = min(LABEL_CHARS, max(12, 110 // n_axes))
    ax.set_xticks(range(n_axes), [plot_label(a.name, limit) for a in data.axes], fontsize=8,
                  **LITERAL)
    ax.set_yticks([])
    ax.set_xlim(-0.1, n_axes - 0.6)
    return fig


def _short(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def draw_slices(data: Slices) -> Any:
    if not data.slices:
        fig = _figure()
        _empty(fig.add_subplot(), "No varying hyperparameter among the completed trials.")
        return fig
    n = len(data.slices)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig = _figure(2.3 * cols + 0.6, 2.4 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, s in enumerate(data.slices):
        ax = axes[k // cols][k % cols]
        if s.axis.kind == "categorical":
            xs = [s.axis.labels.index(v) for v in s.values]
            ax.set_xticks(range(len(s.axis.labels)), [plot_label(c) for c in s.axis.labels],
                          fontsize=7, rotation=30, ha="right", rotation_mode="anchor", **LITERAL)
        else:
            xs = s.values
            if s.axis.kind == "log":
                ax.set_xscale("log")
        ax.scatter(xs, s.scores, s=12, c=s.numbers, cmap="Blues", edgecolors="#333333",
                   linewidths=0.3)
        ax.set_title(plot_label(s.axis.name, SLICE_TITLE_CHARS), fontsize=9, **LITERAL)
        ax.tick_params(labelsize=7)
        if k % cols == 0:
            ax.set_ylabel(plot_label(data.objective), fontsize=8, **LITERAL)
    for k in range(len(data.slices), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    fig.suptitle("Slices (colour: trial number)", fontsize=10)
    return fig


def draw_importance(data: Importance | None) -> Any:
    fig = _figure(6.0, 0.5 + 0.35 * max(3, len(data.names) if data else 3))
    ax = fig.add_subplot()
    ax.set_title("Hyperparameter importance (fANOVA)")
    if data is None:
        _empty(ax, "Needs at least 4 completed trials and a varying hyperparameter.")
        return fig
    names = list(reversed(data.names))
    values = list(reversed(data.importances))
    ax.barh(range(len(names)), values, color=_COMPLETED)
    ax.set_yticks(range(len(names)), [plot_label(n) for n in names], **LITERAL)
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.2f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("share of the explained variance")
    return fig


_DOMINATED = "#9e9e9e"
_INFEASIBLE = "#e377c2"


def _front_panel(ax: Any, data: ParetoFront, i: int, j: int) -> None:
    for status, color, marker, size, label in (
        ("dominated", _DOMINATED, "o", 14, "dominated"),
        ("infeasible", _INFEASIBLE, "x", 18, "infeasible"),
        ("front", _BEST, "o", 30, "Pareto front"),
    ):
        pts = [v for v, s in zip(data.values, data.status) if s == status]
        if pts:
            ax.scatter([p[i] for p in pts], [p[j] for p in pts], s=size, color=color,
                       marker=marker, label=label, zorder=3 if status == "front" else 2)
    front = sorted(v for v, s in zip(data.values, data.status) if s == "front")
    if len(data.objectives) == 2 and len(front) > 1:  # the front's staircase
        ax.step([p[i] for p in front], [p[j] for p in front], color=_BEST, linewidth=1,
                alpha=0.6, where="post" if data.directions[i] == "min" else "pre", zorder=2)
    ax.set_xlabel(f"{plot_label(data.objectives[i])} ({data.directions[i]})", fontsize=8,
                  **LITERAL)
    ax.set_ylabel(f"{plot_label(data.objectives[j])} ({data.directions[j]})", fontsize=8,
                  **LITERAL)
    ax.tick_params(labelsize=7)


def draw_pareto_front(data: ParetoFront) -> Any:
    """Two objectives: every trial, the front highlighted (and its staircase), dominated and
    infeasible trials apart; three or more: a panel per pair (the first four objectives)."""
    k = min(len(data.objectives), 4)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    if not data.values or not pairs:
        fig = _figure()
        _empty(fig.add_subplot(), "No completed trial reports every objective yet.")
        return fig
    if len(pairs) == 1:
        fig = _figure(6.0, 4.2)
        axes = [fig.add_subplot()]
    else:
        cols = min(3, len(pairs))
        rows = math.ceil(len(pairs) / cols)
        fig = _figure(3.2 * cols + 0.4, 3.0 * rows + 0.6)
        grid = fig.subplots(rows, cols, squeeze=False)
        axes = [grid[n // cols][n % cols] for n in range(rows * cols)]
        for ax in axes[len(pairs):]:
            ax.set_visible(False)
    for ax, (i, j) in zip(axes, pairs):
        _front_panel(ax, data, i, j)
    axes[0].legend(loc="best", fontsize="small")
    n_front = data.status.count("front")
    fig.suptitle(f"Pareto front ({n_front} of {len(data.numbers)} trials)", fontsize=10)
    return fig


def draw_hypervolume_history(data: HypervolumeHistory) -> Any:
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_title("Hypervolume of the front (objectives scaled to their observed range)")
    if not data.numbers:
        _empty(ax, "No completed feasible trial reports every objective yet.")
        return fig
    ax.step(data.numbers, data.hypervolume, where="post", color=_BEST, zorder=2)
    ax.scatter(data.numbers, data.hypervolume, s=10, color=_COMPLETED, zorder=3)
    ax.set_xlabel("trial number")
    ax.set_ylabel("hypervolume")
    return fig


def draw_histories(data: list[OptimizationHistory]) -> Any:
    """One optimization-history panel per objective (a Pareto study)."""
    n = max(1, len(data))
    fig = _figure(7.0, 2.4 * n + 0.4)
    axes = fig.subplots(n, 1, squeeze=False)
    for ax, d in zip((a[0] for a in axes), data):
        ax.set_title(f"{plot_label(d.objective)} ({d.direction})", fontsize=9, **LITERAL)
        if not d.points:
            _empty(ax, "No trial reports it yet.")
            continue
        ax.scatter([p.number for p in d.points], [p.score for p in d.points], s=14,
                   color=_COMPLETED, label="trial", zorder=3)
        if d.best_so_far:
            ax.step([b[0] for b in d.best_so_far], [b[1] for b in d.best_so_far], where="post",
                    color=_BEST, label="best so far", zorder=2)
        ax.set_ylabel(plot_label(d.objective, 20), fontsize=8, **LITERAL)
        ax.tick_params(labelsize=7)
    axes[-1][0].set_xlabel("trial number")
    fig.suptitle("Optimization history per objective", fontsize=10)
    return fig
