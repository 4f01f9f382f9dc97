"""The dashboard: a small read-only web app over one or more storages (standard library only).

``start_dashboard(storages)`` serves, on 127.0.0.1 by default:

* ``/``: the page (inline script and style, nothing fetched from elsewhere), which polls the
  JSON endpoints every ``refresh_s`` seconds and redraws what changed, so trials finished by a
  running search appear without a reload;
* ``/api/studies``: every study of every storage, with its summary and a ``version`` that
  changes whenever a trial starts, reports a step or finishes;
* ``/api/study/<key>``: one study's summary, trials table, doctor's findings and plot list;
* ``/plot/<key>/<kind>.png``: a plot drawn with matplotlib (cached per study version).

Protections: it only reads (every method but GET is answered 405, nothing is written to the
storages); it binds 127.0.0.1 unless told otherwise; it answers only requests whose ``Host``
header names the address it serves (see :func:`host_allowed`), so a page of another site that
rebinds its own name to 127.0.0.1 (DNS rebinding) gets 421 and reads nothing; and it shows every
name as text, never markup (the page sets ``textContent`` only, under a Content-Security-Policy
that runs no script but its own).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import socket
import threading
import urllib.parse
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..diagnostics import SearchHistory
from ..storage import Storage
from ._plots import draw_plot, plot_data, plot_kinds
from ._summary import findings, study_summary, trials_table

#: Seconds between the page's polls by default.
DEFAULT_REFRESH_S = 2.0


def _version(history: SearchHistory) -> str:
    """Changes whenever a trial is added, reports a step or changes state."""
    steps = sum(len(t.steps) for t in history.trials)
    finished = sum(t.state.is_finished for t in history.trials)
    last = max((t.finished_at or 0.0 for t in history.trials), default=0.0)
    return f"{len(history.trials)}.{finished}.{steps}.{last:.3f}"


#: Plots drawn from finished trials only (their scores and values): a running trial's new
#: step does not change them, so they are redrawn only when a trial finishes. The learning
#: curves show every step and follow :func:`_version`.
FINISHED_ONLY_PLOTS = frozenset(
    {"history", "importance", "parallel", "slices", "front", "hypervolume"}
)


def _finished_version(history: SearchHistory) -> str:
    """Changes whenever a trial finishes (or a finished one is changed)."""
    done = [t for t in history.trials if t.state.is_finished]
    last = max((t.finished_at or 0.0 for t in done), default=0.0)
    return f"{len(done)}.{last:.3f}"


def _plot_version(history: SearchHistory, kind: str) -> str:
    return _finished_version(history) if kind in FINISHED_ONLY_PLOTS else _version(history)


class DashboardData:
    """What the endpoints serve, read afresh from the storages on every request."""

    def __init__(self, storages: Sequence[Storage]) -> None:
        if not storages:
            raise ValueError("The dashboard needs at least one storage; got none.")
        self.storages = list(storages)
        self._lock = threading.Lock()
        self._payloads: dict[str, tuple[str, dict[str, Any]]] = {}
        self._pngs: dict[tuple[str, str], tuple[str, bytes]] = {}

    def _records(self) -> list[tuple[str, Storage, Any]]:
        out = []
        for i, storage in enumerate(self.storages):
            for record in reversed(storage.list_studies()):  # the most recent first
                out.append((f"{i}-{record.id}", storage, record))
        return out

    def _history(self, key: str) -> SearchHistory | None:
        for k, storage, record in self._records():
            if k == key:
                return SearchHistory.from_record(storage, record)
        return None

    def studies(self) -> list[dict[str, Any]]:
        out = []
        for key, storage, record in self._records():
            history = SearchHistory.from_record(storage, record)
            out.append({"key": key, "version": _version(history), **study_summary(history)})
        return out

    def study(self, key: str) -> dict[str, Any] | None:
        history = self._history(key)
        if history is None:
            return None
        version = _version(history)
        with self._lock:
            cached = self._payloads.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        payload = {
            "key": key,
            "version": version,
            "summary": study_summary(history),
            "table": trials_table(history),
            "findings": findings(history),
            "plots": [{"kind": k, "title": t} for k, t in plot_kinds(history)],
        }
        with self._lock:
            self._payloads[key] = (version, payload)
        return payload

    def plot_png(self, key: str, kind: str) -> bytes | None:
        from ._draw import figure_png

        history = self._history(key)
        if history is None or kind not in dict(plot_kinds(history)):
            return None
        version = _plot_version(history, kind)
        with self._lock:
            cached = self._pngs.get((key, kind))
            if cached is not None and cached[0] == version:
                return cached[1]
            png = figure_png(draw_plot(kind, plot_data(history, kind)))  # one figure at a time
            self._pngs[(key, kind)] = (version, png)
        return png


#: The names of this machine's loopback interface as a Host header spells them.
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})

_WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def _host_literal(address: str) -> str:
    """An address as a Host header spells it: lowercase, IPv6 in brackets."""
    address = address.strip().lower()
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def allowed_names(bound: str, extra: Sequence[str] = ()) -> frozenset[str]:
    """The host names (no port) the dashboard bound to address ``bound`` answers:
    :data:`LOOPBACK_NAMES`, the bound address itself and the names of ``extra``."""
    return frozenset({*LOOPBACK_NAMES, _host_literal(bound), *(_host_literal(n) for n in extra)})


def split_host(header: str) -> tuple[str, str | None] | None:
    """``(name, port)`` of a Host header value (``port`` None when absent), the name lowercased
    and an IPv6 address kept in its brackets; None when it is malformed."""
    host = header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return None
        name, rest = host[: end + 1], host[end + 1 :]
    else:
        name, sep, port = host.partition(":")
        rest = sep + port
    if not rest:
        return name, None
    if not rest.startswith(":") or not rest[1:].isdigit():
        return None
    return name, rest[1:]


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name[1:-1] if name.startswith("[") else name)
    except ValueError:
        return False
    return True


def host_allowed(header: str | None, names: frozenset[str], bound: str, port: int) -> bool:
    """Whether a request's ``Host`` header (None when absent) addresses the dashboard bound to
    ``bound``:``port``: its name is one of ``names`` (see :func:`allowed_names`) and its port is
    ``port`` (or absent when ``port`` is 80, as browsers send it). Bound to a wildcard address
    (``0.0.0.0``, ``::``), any IP address is accepted too: a page that rebinds its own domain
    to this machine (DNS rebinding) still sends that domain, never an address."""
    parsed = split_host(header) if header is not None else None
    if parsed is None:
        return False
    name, given = parsed
    if not (given == str(port) or (given is None and port == 80)):
        return False
    return name in names or (bound in _WILDCARDS and _is_ip_address(name))


def _script_hash(page: str) -> str:
    """The CSP source of the page's one inline script (``'sha256-...'``)."""
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the dashboard is polled every few seconds

    def parse_request(self) -> bool:
        """Refuse, before any route runs, a request for another host (421) or with another
        method than GET (405); each answer is one line of plain text."""
        if not super().parse_request():
            return False
        hosts = self.headers.get_all("Host") or []
        server = self.server
        if len(hosts) != 1 or not host_allowed(hosts[0], server.host_names,
                                               server.bound_host, server.port):
            shown = ", ".join(repr(h) for h in hosts) or "none"
            self._refuse(HTTPStatus.MISDIRECTED_REQUEST,
                         f"Refused: the Host header ({shown}) is not this dashboard's address; "
                         f"open {server.url} instead.")
            return False
        if self.command != "GET":
            self._refuse(HTTPStatus.METHOD_NOT_ALLOWED,
                         f"Refused: the dashboard is read-only; {self.command} is not allowed, "
                         "only GET.", allow="GET")
            return False
        return True

    def _refuse(self, status: int, text: str, allow: str | None = None) -> None:
        self.close_connection = True
        self._drain()
        body = (text + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        if allow:
            self.send_header("Allow", allow)
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drain(self, limit: int = 1 << 16) -> None:
        """Read a small request body before answering, so that closing the connection does
        not reset it under the client before it reads the answer."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return
        if 0 < length <= limit:
            self.rfile.read(length)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", self.server.csp)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, payload: Any, status: int = 200) -> None:
        body = json.dumps(payload, default=str, allow_nan=False).encode("utf-8")
        self._send(status, body, "application/json")

    def _not_found(self, what: str) -> None:
        self._json({"error": f"{what} not found"}, HTTPStatus.NOT_FOUND)

    def do_GET(self) -> None:
        data = self.server.data
        path = urllib.parse.urlparse(self.path).path
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/") if p]
        try:
            if not parts:
                self._send(200, self.server.page.encode("utf-8"), "text/html; charset=utf-8")
            elif parts == ["api", "studies"]:
                self._json(data.studies())
            elif len(parts) == 3 and parts[:2] == ["api", "study"]:
                payload = data.study(parts[2])
                self._json(payload) if payload is not None else self._not_found("study")
            elif len(parts) == 3 and parts[0] == "plot" and parts[2].endswith(".png"):
                png = data.plot_png(parts[1], parts[2][: -len(".png")])
                if png is None:
                    self._not_found("plot")
                else:
                    self._send(200, png, "image/png")
            else:
                self._not_found("page")
        except ImportError as exc:  # matplotlib missing: say so in place of the image
            self._json({"error": str(exc)}, HTTPStatus.NOT_IMPLEMENTED)
        except (BrokenPipeError, ConnectionResetError):
            pass


class DashboardServer(ThreadingHTTPServer):
    """The HTTP server; ``url`` is where it listens. ``serve_forever()`` or ``start()``.

    It answers only requests whose ``Host`` is one of :func:`allowed_names` with its port
    (``extra_hosts`` adds names, e.g. the machine's own name when bound to another address than
    loopback); see :func:`host_allowed`."""

    daemon_threads = True

    def __init__(self, data: DashboardData, host: str, port: int, refresh_s: float,
                 extra_hosts: Sequence[str] = ()) -> None:
        self.data = data
        self.refresh_s = float(refresh_s)
        self._thread: threading.Thread | None = None
        if ":" in host:  # an IPv6 address such as ::1
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)
        self.bound_host = str(self.server_address[0])
        self.port = int(self.server_address[1])
        self.host_names = allowed_names(self.bound_host, extra_hosts)
        self.page = PAGE.replace("__REFRESH_MS__", str(int(self.refresh_s * 1000)))
        # Only the page's own script runs (its hash): markup injected into the page could run
        # nothing. 'unsafe-eval' lets browser automation (Playwright's wait_for_function) run its
        # probes; the page's script never evaluates a string.
        self.csp = (
            "default-src 'none'; "
            f"script-src {_script_hash(self.page)} 'unsafe-eval'; style-src 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'"
        )

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}/"

    def start(self) -> DashboardServer:
        """Serve in a background thread (stop with ``stop()``)."""
        self._thread = threading.Thread(target=self.serve_forever, name="tunewise-dashboard",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def start_dashboard(
    storages: Storage | Sequence[Storage],
    host: str = "127.0.0.1",
    port: int = 8050,
    refresh_s: float = DEFAULT_REFRESH_S,
    background: bool = True,
    extra_hosts: Sequence[str] = (),
) -> DashboardServer:
    """Make the dashboard server over ``storages`` (``port=0`` picks a free port) and, with
    ``background=True``, start serving in a thread. Raises ``OSError`` when the port is taken.

    It answers requests addressed to ``127.0.0.1``, ``localhost`` or ``[::1]`` with its port
    (and to the bound address, and the names of ``extra_hosts``); any other ``Host`` gets 421."""
    if not refresh_s > 0:
        raise ValueError(f"refresh_s={refresh_s!r} must be > 0 (seconds between refreshes).")
    items = [storages] if isinstance(storages, Storage) else list(storages)
    server = DashboardServer(DashboardData(items), host, int(port), refresh_s, extra_hosts)
    return server.start() if background else server


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tunewise dashboard</title>
<link rel="icon" href="data:,">
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;display:flex;min-height:100vh}
nav{width:230px;background:#f6f8fa;border-right:1px solid #ddd;padding:12px;flex-shrink:0}
nav h1{font-size:1.1em;margin:0 0 10px}nav button{display:block;width:100%;text-align:left;margin:3px 0;
padding:6px;border:1px solid #ddd;background:#fff;border-radius:4px;cursor:pointer;font-size:.85em}
nav button.active{border-color:#0969da;background:#ddf4ff}main{padding:16px 24px;flex:1;min-width:0}
.muted{color:#666;font-size:.85em}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}
dt{font-weight:600}dd{margin:0}#best-objective{font-size:1.3em;font-weight:700;color:#1a7f37}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:10px}
.plots img{width:100%;border:1px solid #eee}table{border-collapse:collapse;font-size:.8em}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}th{background:#f4f4f4}
td,th,dd,h2,nav button{white-space:pre-wrap}
tr.FAILED td:nth-child(2){color:#cf222e}tr.PRUNED td:nth-child(2){color:#bc4c00}
tr.RUNNING td:nth-child(2){color:#0969da}tr.COMPLETED td:nth-child(2){color:#1a7f37}
.finding{border-left:4px solid #999;padding:4px 10px;margin:6px 0;background:#fafafa;font-size:.9em}
.problem{border-color:#cf222e}.warning{border-color:#d4a72c}.info{border-color:#0969da}
.scroll{overflow-x:auto;max-height:420px;overflow-y:auto}
</style></head><body>
<nav><h1>tunewise</h1><div id="studies"></div><p class="muted" id="status">loading...</p></nav>
<main>
<h2 id="study-name">No study selected</h2>
<section id="summary"><dl>
<dt>Best objective</dt><dd><span id="best-objective">-</span> <span class="muted" id="best-trial"></span></dd>
<dt>Objective</dt><dd id="objective">-</dd><dt>Trials</dt><dd id="n-trials">-</dd>
<dt>Best hyperparameters</dt><dd id="best-hps">-</dd><dt>Algorithm</dt><dd id="algorithm">-</dd>
<dt>Storage</dt><dd id="location">-</dd></dl></section>
<h3>Plots</h3><section class="plots" id="plots"></section>
<h3>Trials</h3><section class="scroll"><table id="trials"></table></section>
<h3>Doctor's findings</h3><section id="findings"></section>
</main>
<script>
"use strict";
const REFRESH_MS = __REFRESH_MS__;
window.tunewiseLoadedAt = Date.now();
let selected = null, shownVersion = null;
const $ = (id) => document.getElementById(id);
function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number" && !Number.isInteger(v)) return Number(v.toPrecision(6)).toString();
  return String(v);
}
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function renderStudies(list) {
  const box = $("studies"); box.replaceChildren();
  if (!selected && list.length) selected = list[0].key;
  for (const s of list) {
    const b = el("button", s.study + " (" + s.trials + ")", s.key === selected ? "active" : "");
    b.title = s.location;
    b.onclick = () => { selected = s.key; shownVersion = null; refresh(); };
    box.appendChild(b);
  }
}
function renderStudy(p) {
  const s = p.summary;
  $("study-name").textContent = "Study " + s.study;
  $("best-objective").textContent = s.best_score === null ? "none yet" : fmt(s.best_score);
  $("best-trial").textContent = s.best_trial === null ? "" : "(trial #" + s.best_trial + ")";
  $("objective").textContent = s.objective_text;
  const counts = Object.entries(s.by_state).filter(([k, n]) => n).map(([k, n]) => n + " " + k.toLowerCase());
  $("n-trials").textContent = s.trials + (counts.length ? " (" + counts.join(", ") + ")" : "");
  $("best-hps").textContent = Object.entries(s.best_hyperparameters).map(([k, v]) => k + "=" + fmt(v)).join(", ") || "-";
  $("algorithm").textContent = s.algorithm;
  $("location").textContent = s.location;
  const plots = $("plots"); plots.replaceChildren();
  for (const pl of p.plots) {
    const img = el("img"); img.alt = pl.title; img.id = "plot-" + pl.kind;
    img.src = "/plot/" + encodeURIComponent(p.key) + "/" + pl.kind + ".png?v=" + encodeURIComponent(p.version);
    plots.appendChild(img);
  }
  const table = $("trials"); table.replaceChildren();
  const head = el("tr"); for (const c of p.table.columns) head.appendChild(el("th", c));
  table.appendChild(head);
  const state = p.table.columns.indexOf("state");
  for (const row of p.table.rows) {
    const tr = el("tr", undefined, row[state]); tr.dataset.number = row[0];
    for (const v of row) tr.appendChild(el("td", fmt(v)));
    table.appendChild(tr);
  }
  const f = $("findings"); f.replaceChildren();
  if (!p.findings.length) f.appendChild(el("p", "No findings.", "muted"));
  for (const x of p.findings) {
    const d = el("div", undefined, "finding " + x.severity);
    d.appendChild(el("b", "[" + x.severity.toUpperCase() + "] " + x.code + ": "));
    d.appendChild(document.createTextNode(x.message));
    if (x.fix) { d.appendChild(el("br")); d.appendChild(document.createTextNode("fix: " + x.fix)); }
    f.appendChild(d);
  }
  shownVersion = p.version;
}
async function refresh() {
  try {
    const list = await (await fetch("/api/studies", {cache: "no-store"})).json();
    renderStudies(list);
    const current = list.find((s) => s.key === selected);
    if (current && current.version !== shownVersion) {
      const r = await fetch("/api/study/" + encodeURIComponent(selected), {cache: "no-store"});
      if (r.ok) renderStudy(await r.json());
    }
    $("status").textContent = "updated " + new Date().toLocaleTimeString() + "; every " + REFRESH_MS / 1000 + " s";
  } catch (e) {
    $("status").textContent = "cannot reach the server: " + e;
  }
}
refresh();
setInterval(refresh, REFRESH_MS);
</script></body></html>
"""
