"""See a search: plot data, hyperparameter importance, plots, the HTML report and the dashboard.

Layers: ``_data`` and ``_importance`` compute each plot's data from a
:class:`~tunewise.diagnostics.SearchHistory` (numpy and, for importance, scikit-learn);
``_draw`` draws it with matplotlib (extra ``plots``); ``_html`` writes the self-contained
report; ``_dashboard`` serves the live read-only dashboard (standard library).
"""

from ._dashboard import DashboardData, DashboardServer, start_dashboard
from ._data import (
    Axis,
    Curve,
    HistoryPoint,
    LearningCurves,
    OptimizationHistory,
    ParallelCoordinates,
    Slice,
    Slices,
    axis_position,
    learning_curves,
    optimization_history,
    parallel_coordinates,
    slices,
)
from ._html import SECTIONS, report_html, write_report
from ._importance import Importance, hyperparameter_importance, tree_main_effects
from ._plots import (
    PLOTS,
    as_history,
    draw_plot,
    plot_data,
    plot_importance,
    plot_learning_curves,
    plot_optimization_history,
    plot_parallel_coordinates,
    plot_slices,
)

__all__ = [
    "PLOTS",
    "SECTIONS",
    "Axis",
    "Curve",
    "DashboardData",
    "DashboardServer",
    "HistoryPoint",
    "Importance",
    "LearningCurves",
    "OptimizationHistory",
    "ParallelCoordinates",
    "Slice",
    "Slices",
    "as_history",
    "axis_position",
    "draw_plot",
    "hyperparameter_importance",
    "learning_curves",
    "optimization_history",
    "parallel_coordinates",
    "plot_data",
    "plot_importance",
    "plot_learning_curves",
    "plot_optimization_history",
    "plot_parallel_coordinates",
    "plot_slices",
    "report_html",
    "slices",
    "start_dashboard",
    "tree_main_effects",
    "write_report",
]
