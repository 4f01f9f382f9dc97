"""The HTML report: one self-contained file per project that opens offline.

Every study gets the same sections, each an element with a stable id suffixed by the study's
position (``summary-0``, ``plot-history-0``, ``trials-0``, ``findings-0``...): the summary, the
plots (PNG images embedded as base64 ``data:`` URIs), the trials table and the doctor's
findings. There is no script, no stylesheet link and no external URL, and a
Content-Security-Policy forbids them. Every name and value of the study (study, hyperparameter,
objective and category names, failure reasons) is HTML-escaped text, shown as typed
(whitespace kept).
"""

from __future__ import annotations

import base64
import datetime
import html
import os
from collections.abc import Sequence
from typing import Any

from ..diagnostics import SearchHistory
from ._plots import PLOTS, draw_plot, plot_data, plot_kinds
from ._summary import findings, study_summary, trials_table

#: The section ids of each study, in order (``<id>-<study index>`` in the page).
SECTIONS = ("summary", *(f"plot-{kind}" for kind, _ in PLOTS), "trials", "findings")

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:2em}
h3{margin-top:1.5em}table{border-collapse:collapse;font-size:.85em}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}tr.COMPLETED td.state{color:#1a7f37}tr.FAILED td.state{color:#cf222e}
tr.PRUNED td.state{color:#bc4c00}tr.RUNNING td.state{color:#0969da}
.finding{border-left:4px solid #999;padding:4px 10px;margin:8px 0;background:#fafafa}
.problem{border-color:#cf222e}.warning{border-color:#d4a72c}.info{border-color:#0969da}
.muted{color:#666}img{max-width:100%;height:auto}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}
dt{font-weight:600}dd{margin:0}.scroll{overflow-x:auto}td,th,dd,h1,h2,li{white-space:pre-wrap}
"""

#: The page may load nothing but its own inline style and ``data:`` images; no script runs.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _summary_html(summary: dict[str, Any]) -> str:
    counts = ", ".join(f"{n} {s.lower()}" for s, n in summary["by_state"].items() if n) or "none"
    best = summary["best_score"]
    best_text = (
        f"{_fmt(best)} (trial #{summary['best_trial']})" if best is not None else "none yet"
    )
    hps = ", ".join(f"{k}={_fmt(v)}" for k, v in summary["best_hyperparameters"].items())
    items = [
        ("Objective", summary["objective_text"]),
        ("Best objective", best_text),
        ("Best hyperparameters", hps or "-"),
        ("Trials", f"{summary['trials']} ({counts})"),
        ("Algorithm", summary["algorithm"]),
        ("Last search stopped because", summary["last_stop"] or "-"),
        ("Storage", summary["location"]),
    ]
    front = summary.get("front")
    if front is not None:  # several objectives: the front's trials and their values
        shown = "; ".join(
            f"#{p['trial']} (" + ", ".join(f"{k}={_fmt(v)}" for k, v in p["values"].items()) + ")"
            for p in front[:20]
        )
        more = f"; ... ({len(front)} in all)" if len(front) > 20 else ""
        items.insert(2, ("Pareto front", f"{len(front)} trials: {shown}{more}" if front
                         else "none yet"))
    rows = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in items)
    return f"<dl>{rows}</dl>"


def _table_html(table: dict[str, Any]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table["columns"])
    state_at = table["columns"].index("state")
    body = []
    for row in table["rows"]:
        cells = "".join(
            f'<td class="{"state" if i == state_at else ""}">{html.escape(_fmt(v))}</td>'
            for i, v in enumerate(row)
        )
        body.append(f'<tr class="{html.escape(str(row[state_at]))}">{cells}</tr>')
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def _findings_html(items: list[dict[str, Any]]) -> str:
    if not items:
        return '<p class="muted">No findings: nothing in the stored history explains a stall.</p>'
    out = []
    for f in items:
        evidence = "; ".join(f"{k}={_fmt(v)}" for k, v in f["evidence"].items())
        out.append(
            f'<div class="finding {html.escape(f["severity"])}">'
            f"<b>[{html.escape(f['severity'].upper())}] {html.escape(f['code'])}</b>: "
            f"{html.escape(f['message'])}"
            + (f'<br><span class="muted">evidence: {html.escape(evidence)}</span>' if evidence else "")
            + (f"<br>fix: {html.escape(f['fix'])}" if f["fix"] else "")
            + "</div>"
        )
    return "".join(out)


def _plot_html(history: SearchHistory, kind: str, title: str) -> str:
    try:
        from ._draw import figure_png

        png = figure_png(draw_plot(kind, plot_data(history, kind)))
    except ImportError as exc:
        return f'<p class="muted">{html.escape(title)} not drawn: {html.escape(str(exc))}</p>'
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'


def study_html(history: SearchHistory, index: int = 0) -> str:
    """The sections of one study (see :data:`SECTIONS`)."""
    name = html.escape(history.study_name)
    parts = [f'<h2 id="study-{index}">Study {name}</h2>']
    parts.append(
        f'<section id="summary-{index}"><h3>Summary</h3>'
        f"{_summary_html(study_summary(history))}</section>"
    )
    for kind, title in plot_kinds(history):
        parts.append(
            f'<section id="plot-{kind}-{index}"><h3>{html.escape(title)}</h3>'
            f"{_plot_html(history, kind, title)}</section>"
        )
    parts.append(
        f'<section id="trials-{index}"><h3>Trials</h3>{_table_html(trials_table(history))}</section>'
    )
    parts.append(
        f'<section id="findings-{index}"><h3>Doctor\'s findings</h3>'
        f"{_findings_html(findings(history))}</section>"
    )
    return "\n".join(parts)


def report_html(histories: Sequence[SearchHistory], title: str = "tunewise report") -> str:
    """The whole page for ``histories`` (one or more studies)."""
    if not histories:
        raise ValueError("report_html needs at least one study; got none.")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    toc = "".join(
        f'<li><a href="#study-{i}">{html.escape(h.study_name)}</a> '
        f'<span class="muted">({html.escape(h.location)})</span></li>'
        for i, h in enumerate(histories)
    )
    body = "\n".join(study_html(h, i) for i, h in enumerate(histories))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(CSP)}">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class=\"muted\">Generated {now} by tunewise.</p>"
        f"<ul>{toc}</ul>\n{body}\n</body></html>\n"
    )


def write_report(source: Any, path: str | os.PathLike[str], title: str | None = None) -> str:
    """Write the HTML report of ``source`` (a Study, a tuner, a SearchHistory or a list of
    them) to ``path``; returns the path written."""
    from ._plots import as_history

    items = source if isinstance(source, (list, tuple)) else [source]
    histories = [as_history(s) for s in items]
    text = report_html(histories, title or f"tunewise report: {histories[0].study_name}")
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path
