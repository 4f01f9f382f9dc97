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
    HypervolumeHistory,
    LearningCurves,
    OptimizationHistory,
    ParallelCoordinates,
    ParetoFront,
    Slice,
    Slices,
    axis_position,
    hypervolume_history_data,
    learning_curves,
    optimization_history,
    parallel_coordinates,
    pareto_front_data,
    slices,
)
from ._html import SECTIONS, report_html, write_report
from ._importance import Importance, hyperparameter_importance, tree_main_effects
from ._plots import (
    PARETO_PLOTS,
    PLOTS,
    as_history,
    draw_plot,
    plot_data,
    plot_hypervolume_history,
    plot_importance,
    plot_kinds,
    plot_learning_curves,
    plot_optimization_history,
    plot_parallel_coordinates,
    plot_pareto_front,
    plot_slices,
)

__all__ = [
    "PARETO_PLOTS",
    "PLOTS",
    "SECTIONS",
    "Axis",
    "Curve",
    "DashboardData",
    "DashboardServer",
    "HistoryPoint",
    "HypervolumeHistory",
    "Importance",
    "LearningCurves",
    "OptimizationHistory",
    "ParallelCoordinates",
    "ParetoFront",
    "Slice",
    "Slices",
    "as_history",
    "axis_position",
    "draw_plot",
    "hyperparameter_importance",
    "hypervolume_history_data",
    "learning_curves",
    "optimization_history",
    "parallel_coordinates",
    "pareto_front_data",
    "plot_data",
    "plot_hypervolume_history",
    "plot_importance",
    "plot_kinds",
    "plot_learning_curves",
    "plot_optimization_history",
    "plot_parallel_coordinates",
    "plot_pareto_front",
    "plot_slices",
    "report_html",
    "slices",
    "start_dashboard",
    "tree_main_effects",
    "write_report",
]
