"""The matplotlib renderers draw exactly the plot data they are given."""

from __future__ import annotations

import pytest
from _see_project import make_project

import tunewise as tw
from tunewise.diagnostics import SearchHistory
from tunewise.report import PLOTS, draw_plot, plot_data, plot_learning_curves
from tunewise.report._draw import figure_png
from tunewise.trial import FrozenTrial, Step, TrialState

pytest.importorskip("matplotlib")
pytestmark = pytest.mark.filterwarnings("error::UserWarning")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("draw"))


def test_history_draws_the_points_and_the_best_so_far_line(study):
    data = plot_data(study, "history")
    fig = draw_plot("history", data)
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [n for n, _ in data.best_so_far]
    assert list(line.get_ydata()) == pytest.approx([b for _, b in data.best_so_far])
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    assert drawn == len(data.points)


def test_learning_curves_draw_one_line_per_trial_and_mark_where_cut_trials_stopped():
    trials = (
        FrozenTrial(0, TrialState.COMPLETED, {}, (Step(0, {"loss": 2.0}), Step(1, {"loss": 1.0})),
                    score=1.0, best_step=1),
        FrozenTrial(1, TrialState.PRUNED, {}, (Step(0, {"loss": 3.0}),), score=3.0, best_step=0),
        FrozenTrial(2, TrialState.COMPLETED, {}, (Step(0, {"loss": 2.5}), Step(1, {"loss": 2.2})),
                    score=2.2, best_step=1, attrs={"stopped_early": True}),
    )
    history = SearchHistory("s", tw.Objective("loss", "min"), trials)
    ax = plot_learning_curves(history).axes[0]
    assert len(ax.get_lines()) == 3
    marks = [tuple(c.get_offsets()[0]) for c in ax.collections]
    assert marks == [(0.0, 3.0), (1.0, 2.2)]  # the pruned and the early-stopped trial's ends
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert labels == {"completed", "pruned", "early-stopped"}


def test_importance_bars_are_the_shares(study):
    data = plot_data(study, "importance")
    ax = draw_plot("importance", data).axes[0]
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx(list(reversed(data.importances)))


def test_every_plot_draws_to_png_even_for_an_empty_study():
    empty = tw.Study(objective="loss", storage="memory", verbose=0)
    for kind, _title in PLOTS:
        png = figure_png(draw_plot(kind, plot_data(empty, kind)))
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="Unknown plot 'pie'"):
        plot_data(empty, "pie")
    with pytest.raises(TypeError, match="Expected a tunewise Study"):
        plot_data(42, "history")
