"""Names are data, never markup: hyperparameter, objective, study and category names and
failure reasons with ``$``, ``_``, ``^``, ``\\``, ``{``, quotes, ``<script>``, ``&``, unicode,
newlines or hundreds of characters render as typed in every plot, in the HTML report and in
the dashboard (JSON, page in Chromium), and never raise or run.

Before, a ``$...$`` pair in a name was parsed as matplotlib mathtext: the importance, parallel
coordinates and slices plots raised ``ValueError: Unknown symbol`` (so did the report), and the
dashboard's plot requests got no answer.
"""

from __future__ import annotations

import html
import html.parser
import http.client
import json
from pathlib import Path

import pytest
from test_dashboard_browser import browser  # noqa: F401  (the Chromium fixture)

import tunewise as tw
from tunewise.report import PLOTS, draw_plot, plot_data, start_dashboard, write_report
from tunewise.report._draw import LABEL_CHARS, SLICE_TITLE_CHARS, figure_png, plot_label
from tunewise.storage import SQLStorage

pytest.importorskip("matplotlib")
# The font has no CJK glyphs here (drawn as boxes, with a warning); any other warning (e.g. a
# layout collapsed by a long name) is an error.
pytestmark = [
    pytest.mark.filterwarnings("error::UserWarning"),
    pytest.mark.filterwarnings("ignore:Glyph .* missing from font"),
]

STUDY = "$st_{u}$ <script>alert('study')</script> & \"λ\""
OBJECTIVE = "$\\val^{loss}$ _λ & <b>"
MATH = "lr $\\foo_{x}^2$"  # not valid mathtext: raised before
MARKUP = "q'\"<script>alert(1)</script>&amp;"
UNICODE = "λ_学习率"
NEWLINE = "two\nlines"
TEX = "back\\slash {brace} 100% #hash ~tilde ^caret"
LONG = "long_" + "y" * 295
CATEGORIES = ["$\\bad$", "<i>it</i> & 'q'", "λ_学习率 值", "a\\$b"]
REASON = "$\\bad{x}$ <script>alert('reason')</script> & \"q\" λ"
NAMES = [MATH, MARKUP, UNICODE, NEWLINE, TEX, LONG]
N_TRIALS = 14
FAILED = 3  # the number of the one failed trial


def objective(hp, trial):
    lr = hp.Float(MATH, 1e-3, 1.0, sampling="log")
    choice = hp.Choice(MARKUP, CATEGORIES)
    units = hp.Int(UNICODE, 0, 10)
    frac = hp.Float(NEWLINE, 0.0, 1.0)
    width = hp.Int(TEX, 1, 8)
    depth = hp.Int(LONG, 0, 3)
    if trial.number == FAILED:
        raise tw.FailedTrialError(REASON)
    base = lr + 0.1 * units + frac + 0.01 * width + 0.02 * depth + CATEGORIES.index(choice)
    for step in range(3):
        trial.report(step, {OBJECTIVE: base + 1.0 / (step + 1)})


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("names")
    url = f"sqlite:///{root / 'names.db'}"
    study = tw.Study(objective=tw.Objective(OBJECTIVE, "min"), storage=url, study_name=STUDY,
                     seed=7, verbose=0, max_consecutive_failed_trials=0)
    study.optimize(objective, max_trials=N_TRIALS)
    assert [t.state.value for t in study.trials].count("FAILED") == 1
    assert {t.values[MARKUP] for t in study.trials} == set(CATEGORIES)  # every category drawn
    study.url = url
    return study


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_text()]


def _shows(drawn, text):
    """Whether ``drawn`` is ``text`` as typed, or its first characters then "…" (a name cut to
    fit: at least 12 characters of it kept)."""
    if drawn == text:
        return True
    return drawn.endswith("…") and len(drawn) >= 12 and text.startswith(drawn[:-1])


def test_plot_label_cuts_only_long_names():
    assert plot_label(MATH) == MATH and plot_label(NEWLINE) == NEWLINE
    assert plot_label(LONG) == LONG[: LABEL_CHARS - 1] + "…"
    assert len(plot_label(LONG)) == LABEL_CHARS == 40


def test_every_plot_draws_every_name_as_typed(study):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    shown = [plot_label(n) for n in NAMES]
    expected = {
        "history": [f"Optimization history ({OBJECTIVE}, min)", OBJECTIVE],
        "curves": [f"Learning curves ({OBJECTIVE})", OBJECTIVE],
        "importance": shown,
        "parallel": [*shown, OBJECTIVE, *CATEGORIES],
        "slices": [*shown, OBJECTIVE, *CATEGORIES],
    }
    hostile = {*shown, OBJECTIVE, *CATEGORIES}
    for kind, _title in PLOTS:
        fig = draw_plot(kind, plot_data(study, kind))
        FigureCanvasAgg(fig).draw()  # the whole figure renders: no mathtext, no TeX
        texts = _texts(fig)
        strings = [t.get_text() for t in texts]
        for text in expected[kind]:
            assert any(_shows(s, text) for s in strings), (kind, text, strings)
        for t in texts:
            if any(h in t.get_text() or _shows(t.get_text(), h) for h in hostile):
                assert t.get_parse_math() is False and t.get_usetex() is False, (kind, t)
        assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    # slices: one panel per name, titled by it, the categories as its tick labels
    fig = draw_plot("slices", plot_data(study, "slices"))
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert sorted(titles) == sorted(plot_label(n, SLICE_TITLE_CHARS) for n in NAMES)
    (panel,) = [ax for ax in fig.axes if ax.get_title() == plot_label(MARKUP, SLICE_TITLE_CHARS)]
    assert [t.get_text() for t in panel.get_xticklabels()] == CATEGORIES


def test_a_name_that_is_valid_mathtext_is_still_shown_as_typed():
    """``$x^2$`` would render as x² through mathtext: it is drawn as the five characters."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    name = "$x^2$"
    study = tw.Study(objective="loss", storage="memory", verbose=0, seed=1)
    study.optimize(lambda hp, trial: hp.Float(name, 0.0, 1.0) + hp.Int("k", 0, 4), max_trials=6)
    fig = draw_plot("importance", plot_data(study, "importance"))
    FigureCanvasAgg(fig).draw()
    (label,) = [t for t in fig.axes[0].get_yticklabels() if t.get_text() == name]
    assert label.get_parse_math() is False
    # Drawn as typed, the label is wider than mathtext's x²: its rendered width tells them apart.
    renderer = fig.canvas.get_renderer()
    literal_width = label.get_window_extent(renderer).width
    label.set_parse_math(True)
    assert literal_width > 1.5 * label.get_window_extent(renderer).width


class _Page(html.parser.HTMLParser):
    """The text (entities decoded) and the tags of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_the_html_report_escapes_every_name(study, tmp_path):
    path = write_report(study, tmp_path / "report.html")
    raw = Path(path).read_text(encoding="utf-8")
    page = _Page()
    page.feed(raw)
    text = "".join(page.text)
    for value in (STUDY, OBJECTIVE, *NAMES, *CATEGORIES, REASON):
        assert value in text, value  # shown whole, as typed (long names uncut)
        if any(c in value for c in "<>&\"'"):
            assert html.escape(value) in raw  # as text, never markup
    assert f"Study {STUDY}" in text
    assert "<script" not in raw and "<i>" not in raw
    assert set(page.tags) <= {"html", "head", "meta", "title", "style", "body", "h1", "p", "ul",
                              "li", "a", "span", "h2", "section", "h3", "dl", "dt", "dd", "img",
                              "div", "table", "tr", "th", "td", "b", "br"}
    assert page.tags.count("img") == len(PLOTS)  # every plot drawn
    assert html.escape("default-src 'none'") in raw  # and a Content-Security-Policy forbids any script


def _get(server, path):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def test_the_dashboard_serves_every_name_as_data(study):
    server = start_dashboard(SQLStorage(study.url), port=0)
    try:
        status, headers, body = _get(server, "/api/studies")
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert headers["X-Content-Type-Options"] == "nosniff"
        (summary,) = json.loads(body)
        assert summary["study"] == STUDY and summary["objective"] == OBJECTIVE
        key = summary["key"]
        status, _, body = _get(server, f"/api/study/{key}")
        payload = json.loads(body)
        assert status == 200 and payload["summary"]["study"] == STUDY
        assert set(NAMES) <= set(payload["table"]["columns"])
        assert set(payload["summary"]["best_hyperparameters"]) == set(NAMES)
        rows = payload["table"]["rows"]
        column = payload["table"]["columns"].index(MARKUP)
        assert {r[column] for r in rows} == set(CATEGORIES)
        reasons = [r[payload["table"]["columns"].index("reason")] for r in rows]
        assert reasons.count(f"FailedTrialError: {REASON}") == 1
        for kind, _title in PLOTS:
            status, headers, png = _get(server, f"/plot/{key}/{kind}.png")
            assert (status, headers["Content-Type"]) == (200, "image/png"), kind
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        server.stop()


def _watch(page):
    """Record the page's script errors and dialogs (alert, confirm...), dismissing them."""
    seen = []
    page.on("pageerror", lambda e: seen.append(f"error: {e}"))
    page.on("dialog", lambda d: (seen.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("console", lambda m: m.type == "error" and seen.append(f"console: {m.text}"))
    return seen


def test_names_show_as_typed_in_the_dashboard_and_the_report_in_chromium(
        browser, study, tmp_path):  # noqa: F811
    server = start_dashboard(SQLStorage(study.url), port=0, refresh_s=0.5)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    seen = _watch(page)
    try:
        page.goto(server.url)
        page.wait_for_function(
            f"document.querySelectorAll('#trials tr[data-number]').length === {N_TRIALS}",
            timeout=30_000,
        )
        page.wait_for_function(
            "[...document.querySelectorAll('#plots img')].every(i => i.complete && i.naturalWidth > 0)",
            timeout=60_000,
        )
        assert page.inner_text("#study-name") == f"Study {STUDY}"
        assert page.inner_text("#studies button") == f"{STUDY} ({N_TRIALS})"
        assert page.inner_text("#objective").startswith(OBJECTIVE)
        headers = page.eval_on_selector_all("#trials th", "ths => ths.map(t => t.innerText)")
        assert set(NAMES) <= set(headers)
        body = page.inner_text("body")
        for value in (*CATEGORIES, REASON):
            assert value in body, value
        for name in NAMES:
            assert f"{name}=" in page.inner_text("#best-hps"), name
        assert page.locator("script").count() == 1 and page.locator("i").count() == 0
        assert seen == []
    finally:
        page.close()
        server.stop()

    path = write_report(study, tmp_path / "report.html")
    context = browser.new_context(offline=True)
    page = context.new_page()
    seen = _watch(page)
    try:
        page.goto(f"file://{path}")
        assert page.inner_text("#study-0") == f"Study {STUDY}"
        headers = page.eval_on_selector_all("#trials-0 th", "ths => ths.map(t => t.innerText)")
        assert set(NAMES) <= set(headers)
        body = page.inner_text("body")
        for value in (OBJECTIVE, *CATEGORIES, REASON):
            assert value in body, value
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
        assert len(widths) == len(PLOTS) and min(widths) > 100  # every plot drawn and decoded
        assert page.locator("script, i").count() == 0
        assert seen == []
    finally:
        context.close()
