"""The CLI's trials/export/report/dashboard commands, and the HTML report, on a stored project."""

from __future__ import annotations

import csv
import html.parser
import json
import re
import socket
import subprocess
import sys

import pytest
from _see_project import N_TRIALS, make_project

from tunewise.cli import main as cli
from tunewise.report import SECTIONS


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("proj")
    study = make_project(root)
    return root, study


def _states(study):
    out = {}
    for t in study.trials:
        out.setdefault(t.state.value.lower(), []).append(t.number)
    return out


def test_trials_lists_every_trial_and_filters_by_state(project, capsys):
    root, study = project
    assert cli(["trials", str(root / "demo")]) == 0
    out = capsys.readouterr().out
    assert f"Study 'demo' ({study.location}): {N_TRIALS} of {N_TRIALS} trials" in out
    header = out.splitlines()[1].split()
    assert header[:4] == ["number", "state", "score", "best_step"]
    assert {"learning_rate", "units", "activation", "reason"} <= set(header)
    for state, numbers in _states(study).items():
        assert cli(["trials", str(root / "demo"), "--state", state, "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert [r["number"] for r in rows] == numbers
        assert {r["state"] for r in rows} == {state.upper()}
    failed = [t for t in study.trials if t.state.value == "FAILED"]
    assert cli(["trials", str(root / "demo"), "--state", "FAILED"]) == 0  # any case
    text = capsys.readouterr().out
    assert f"{len(failed)} failed of {N_TRIALS} trials" in text
    assert "units=128 with tanh is not supported" in text
    # no running trial: exit 1, like grep with no match
    assert cli(["trials", str(root / "demo"), "--state", "running"]) == 1
    assert "0 running of 20 trials" in capsys.readouterr().out


def test_export_csv_and_json_hold_one_row_per_trial_or_step(project, tmp_path, capsys):
    root, study = project
    target = tmp_path / "trials.csv"
    assert cli(["export", str(root / "demo"), "--csv", str(target)]) == 0
    assert f"Wrote {N_TRIALS} trials to {target}" in capsys.readouterr().err
    rows = list(csv.DictReader(target.open()))
    assert [int(r["number"]) for r in rows] == [t.number for t in study.trials]
    for row, t in zip(rows, study.trials):
        assert row["study"] == "demo" and row["state"] == t.state.value
        assert float(row["hp_learning_rate"]) == pytest.approx(t.values["learning_rate"])
        if t.score is not None:
            assert float(row["score"]) == pytest.approx(t.score)
    target = tmp_path / "steps.json"
    assert cli(["export", str(root / "demo"), "--json", str(target), "--history"]) == 0
    steps = json.loads(target.read_text())
    assert len(steps) == sum(len(t.steps) for t in study.trials)
    first = study.trials[0].steps[0]
    assert steps[0]["val_loss"] == pytest.approx(first.metrics["val_loss"]) and steps[0]["step"] == 0
    assert cli(["export", str(root / "demo"), "--json", "-"]) == 0  # standard output
    assert len(json.loads(capsys.readouterr().out)) == N_TRIALS


class _Sections(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.images, self.urls = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            if value and not value.startswith(("data:", "#")):
                self.urls.append(value)


def test_report_is_one_offline_file_with_every_section(project, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    root, study = project
    second = make_project(root, name="second", seed=5)
    target = tmp_path / "report.html"
    assert cli(["report", str(root), "-o", str(target)]) == 0
    assert "Wrote the report of 2 studies" in capsys.readouterr().out
    text = target.read_text()
    parser = _Sections()
    parser.feed(text)
    for index in (0, 1):
        for section in SECTIONS:
            assert f"{section}-{index}" in parser.ids
    assert parser.urls == []  # nothing to fetch: no link, script or image from elsewhere
    assert "<script" not in text and "http://" not in text and "https://" not in text
    assert len(parser.images) == 2 * 5
    import base64

    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # the summary, the table and the findings hold the study's own numbers
    assert f"{study.best_value:.6g} (trial #{study.best_trial.number})" in text
    assert f"{second.best_value:.6g} (trial #{second.best_trial.number})" in text
    for state in ("COMPLETED", "PRUNED", "FAILED"):
        n = sum(t.state.value == state for s in (study, second) for t in s.trials)
        assert text.count(f'<tr class="{state}">') == n
    assert "units=128 with tanh is not supported" in text
    report = study.diagnose()
    for finding in report.findings:
        assert finding.code in text


def test_user_mistakes_exit_2_with_one_line(project, tmp_path, capsys):
    root, _ = project
    cases = [
        ["trials", str(tmp_path / "nowhere")],
        ["trials", str(root / "demo"), "--study", "nope"],
        ["export", str(root / "demo"), "--csv", str(tmp_path / "no" / "dir" / "x.csv")],
        ["report", str(root / "demo"), "-o", str(tmp_path / "missing" / "r.html")],
        ["dashboard", str(tmp_path / "nowhere")],
    ]
    for args in cases:
        assert cli(args) == 2, args  # any other exception would propagate (a traceback)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"tunewise {args[0]}: "), err
    # the same from the installed command: one line, no traceback
    done = subprocess.run([sys.executable, "-m", "tunewise.cli", *cases[1]],
                          capture_output=True, check=False, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("tunewise trials: No study named 'nope' at " + repr(cases[1][1]))
    # argparse's own errors exit 2 too, with the usage
    assert cli_exit(["trials", str(root), "--state", "sleeping"]) == 2
    assert cli_exit(["export", str(root)]) == 2  # --csv or --json is required


def cli_exit(args):
    with pytest.raises(SystemExit) as info:
        cli(args)
    return info.value.code


def test_help_describes_every_command(capsys):
    assert cli_exit(["--help"]) == 0
    text = capsys.readouterr().out
    for command in ("list", "summary", "trials", "doctor", "export", "report", "dashboard"):
        assert re.search(rf"^\s+{command}\s", text, re.MULTILINE), command
    assert "Exit status" in text
    assert cli_exit(["dashboard", "--help"]) == 0
    assert "127.0.0.1" in capsys.readouterr().out


def test_dashboard_command_says_when_the_port_is_taken(project, capsys):
    root, _ = project
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli(["dashboard", str(root), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"Cannot listen on 127.0.0.1:{port}" in err and "--port" in err


def test_dashboard_endpoints_serve_json_and_plots_read_only(project):
    pytest.importorskip("matplotlib")
    import urllib.error
    import urllib.request

    from tunewise.report import start_dashboard
    from tunewise.storage import SQLStorage

    root, study = project
    server = start_dashboard(SQLStorage(f"sqlite:///{root / 'demo' / 'tunewise.db'}"), port=0)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        get = lambda path: urllib.request.urlopen(server.url + path, timeout=30)
        studies = json.load(get("api/studies"))
        assert [s["study"] for s in studies] == ["demo"]
        assert studies[0]["best_score"] == pytest.approx(study.best_value)
        key = studies[0]["key"]
        payload = json.load(get(f"api/study/{key}"))
        assert len(payload["table"]["rows"]) == N_TRIALS
        assert payload["summary"]["best_trial"] == study.best_trial.number
        png = get(f"plot/{key}/history.png").read()
        assert png[:4] == b"\x89PNG"
        page = get("").read().decode()
        assert 'id="trials"' in page and "/api/studies" in page and "http" not in page.split(
            "<script>")[1]
        for path, code in (("api/study/9-9", 404), ("plot/x/history.png", 404), ("nope", 404)):
            with pytest.raises(urllib.error.HTTPError) as info:
                get(path)
            assert info.value.code == code
        request = urllib.request.Request(server.url + "api/studies", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=30)
        assert info.value.code == 405
    finally:
        server.stop()


def test_dashboard_redraws_only_the_plots_a_new_step_changes(tmp_path):
    """A running trial's new step changes the learning curves only: the plots drawn from
    finished trials (history, importance with its random forests, parallel, slices) come from
    the cache until a trial finishes."""
    pytest.importorskip("matplotlib")
    from tunewise.report import DashboardData
    from tunewise.storage import SQLStorage

    study = make_project(tmp_path, name="live")
    data = DashboardData([SQLStorage(f"sqlite:///{tmp_path / 'live' / 'tunewise.db'}")])
    (key,) = [s["key"] for s in data.studies()]
    kinds = ("history", "curves", "importance", "parallel", "slices")
    before = {kind: data.plot_png(key, kind) for kind in kinds}
    trial = study.ask()
    trial.hyperparameters.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    trial.report(0, {"val_loss": 0.5, "loss": 0.45})
    during = {kind: data.plot_png(key, kind) for kind in kinds}
    assert during["curves"] is not before["curves"]  # redrawn with the new step
    assert all(during[k] is before[k] for k in kinds if k != "curves")  # cached
    study.tell(trial, 0.5)
    after = {kind: data.plot_png(key, kind) for kind in kinds}
    assert all(after[k] is not during[k] for k in kinds)  # a finished trial changes them all


def test_report_without_matplotlib_exits_3_and_says_what_to_install(project, tmp_path, capsys,
                                                                      monkeypatch):
    root, _ = project
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    target = tmp_path / "r.html"
    assert cli(["report", str(root / "demo"), "-o", str(target)]) == 3
    err = capsys.readouterr().err
    assert "matplotlib" in err and "pip install 'tunewise[plots]'" in err
    assert not target.exists()
    assert cli(["dashboard", str(root / "demo"), "--port", "0"]) == 3
