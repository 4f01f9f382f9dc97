"""The report and the dashboard of a Pareto study (issue 19): the Pareto-front plot (two
objectives: all trials, the front highlighted, dominated and infeasible apart; three: pairwise
panels), the hypervolume history, per-objective versions of the single-objective plots (never
empty), names drawn as typed; the summed objective gets the front of its components."""

from __future__ import annotations

import base64
import http.client
import json
import re

import pytest

import tunewise as tw
from tunewise.report import (
    PLOTS,
    draw_plot,
    plot_data,
    plot_kinds,
    plot_pareto_front,
    start_dashboard,
    write_report,
)
from tunewise.report._draw import figure_png
from tunewise.storage import SQLStorage

pytest.importorskip("matplotlib")

#: Names that mathtext would read as markup: they must show as typed.
ACC, LAT, SIZE = "val_acc$x$", "latency_^{ms}", "size"
PNG = b"\x89PNG\r\n\x1a\n"


def objective(hp, trial):
    x = hp.Float("x", 0.0, 1.0)
    y = hp.Float("y", 0.0, 1.0)
    trial.set_constraint("x_below_0.8", x - 0.8)
    return {ACC: x, LAT: x ** 2 + y, SIZE: 1.0 - y}


def pareto(objectives, storage="memory", trials=25):
    study = tw.Study(objectives, pareto=True, storage=storage, seed=0, verbose=0,
                     study_name="front")
    study.optimize(objective, max_trials=trials)
    return study


@pytest.fixture(scope="module")
def two():
    return pareto([tw.Objective(ACC, "max"), tw.Objective(LAT, "min")])


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_text()]


def test_the_front_data_marks_front_dominated_and_infeasible(two):
    data = plot_data(two, "front")
    assert data.objectives == [ACC, LAT] and data.directions == ["max", "min"]
    assert data.numbers == [t.number for t in two.trials]
    by_number = dict(zip(data.numbers, data.status))
    assert {t.number for t in two.best_trials} == {n for n, s in by_number.items() if s == "front"}
    for t in two.trials:
        if t.values["x"] > 0.8:
            assert by_number[t.number] == "infeasible"
    assert set(data.status) == {"front", "dominated", "infeasible"}
    # values as logged (a maximised metric not negated)
    first = two.trials[0]
    assert data.values[0] == [first.steps[-1].metrics[ACC], first.steps[-1].metrics[LAT]]


def test_the_front_plot_draws_names_as_typed_in_one_panel(two):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = plot_pareto_front(two)
    FigureCanvasAgg(fig).draw()
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 1
    labels = {t.get_text(): t for t in _texts(fig)}
    for name, direction in ((ACC, "max"), (LAT, "min")):
        text = labels[f"{name} ({direction})"]
        assert text.get_parse_math() is False and text.get_usetex() is False
    legend = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    assert legend == {"Pareto front", "dominated", "infeasible"}
    assert figure_png(fig)[:8] == PNG


def test_three_objectives_get_pairwise_panels():
    study = pareto([tw.Objective(ACC, "max"), tw.Objective(LAT, "min"),
                    tw.Objective(SIZE, "min")])
    fig = plot_pareto_front(study)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3
    assert figure_png(fig)[:8] == PNG


def test_hypervolume_history_grows_and_is_drawn(two):
    data = plot_data(two, "hypervolume")
    feasible = [t.number for t in two.trials if t.values["x"] <= 0.8]
    assert data.numbers == feasible
    assert all(b >= a - 1e-12 for a, b in zip(data.hypervolume, data.hypervolume[1:]))
    assert 0 < data.hypervolume[-1] <= 1.1 ** 2
    assert figure_png(draw_plot("hypervolume", data))[:8] == PNG


def test_a_pareto_study_has_no_empty_single_objective_plot(two):
    kinds = [k for k, _ in plot_kinds(two)]
    assert kinds[:2] == ["front", "hypervolume"]
    assert set(kinds) == {k for k, _ in PLOTS} | {"front", "hypervolume"}
    history = plot_data(two, "history")  # one optimization history per objective
    assert [h.objective for h in history] == [ACC, LAT]
    assert all(len(h.points) == 25 and h.best_so_far for h in history)
    assert len(plot_data(two, "curves").curves) == 25
    assert plot_data(two, "importance") is not None
    assert len(plot_data(two, "parallel").numbers) > 0
    assert all(s.scores for s in plot_data(two, "slices").slices)
    fig = draw_plot("history", history)
    assert len(fig.axes) == 2
    assert not any("No trial" in t.get_text() for t in _texts(fig))


def test_the_summed_objective_gets_the_front_of_its_components():
    study = tw.Study([tw.Objective(ACC, "max"), tw.Objective(SIZE, "min")], storage="memory",
                     seed=0, verbose=0)
    study.optimize(objective, max_trials=15)
    kinds = [k for k, _ in plot_kinds(study)]
    assert kinds[: len(PLOTS)] == [k for k, _ in PLOTS] and kinds[-2:] == ["front", "hypervolume"]
    data = plot_data(study, "front")
    assert data.objectives == [ACC, SIZE] and "front" in data.status
    assert plot_data(study, "hypervolume").hypervolume


def test_the_html_report_holds_the_pareto_plots(two, tmp_path):
    path = write_report(two, tmp_path / "report.html")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for kind in ("front", "hypervolume", "history", "curves", "slices"):
        section = re.search(rf'<section id="plot-{kind}-0">(.*?)</section>', text, re.DOTALL)
        assert section is not None, kind
        (png,) = re.findall(r'src="data:image/png;base64,([^"]+)"', section.group(1))
        assert base64.b64decode(png)[:8] == PNG
    assert "Pareto front" in text and "Hypervolume history" in text


def _get(server, path):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_the_dashboard_serves_the_pareto_plots(tmp_path):
    url = f"sqlite:///{tmp_path / 'pareto.db'}"
    pareto([tw.Objective(ACC, "max"), tw.Objective(LAT, "min")], storage=url, trials=20)
    server = start_dashboard(SQLStorage(url), port=0)
    try:
        status, _, body = _get(server, "/api/studies")
        (summary,) = json.loads(body)
        key = summary["key"]
        status, _, body = _get(server, f"/api/study/{key}")
        payload = json.loads(body)
        kinds = [p["kind"] for p in payload["plots"]]
        assert status == 200 and kinds[:2] == ["front", "hypervolume"]
        for kind in kinds:
            status, headers, png = _get(server, f"/plot/{key}/{kind}.png")
            assert (status, headers["Content-Type"]) == (200, "image/png"), kind
            assert png[:8] == PNG
        status, _, _ = _get(server, f"/plot/{key}/nope.png")
        assert status == 404
    finally:
        server.stop()


def test_the_report_summary_lists_the_front(two, tmp_path):
    path = write_report(two, tmp_path / "summary.html")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    front = sorted(t.number for t in two.best_trials)
    assert f"<dt>Pareto front</dt><dd>{len(front)} trials: #{front[0]} (" in text
    assert "val_acc$x$=" in text  # the name as typed (html-escaped text has no markup in it)


def test_per_objective_best_so_far_skips_infeasible_trials(two):
    for history in plot_data(two, "history"):
        feasible = {t.number for t in two.trials if t.values["x"] <= 0.8}
        assert {n for n, _ in history.best_so_far} == feasible
