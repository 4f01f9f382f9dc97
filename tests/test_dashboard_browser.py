"""End to end: the dashboard in headless Chromium shows the trials and the best objective, and
a trial finished after the page opened appears without a reload.

Needs Playwright's Python package and Debian's chromium at /usr/bin/chromium (Playwright's own
browser download does not work here). Without them the test skips, unless it runs in CI
(``TUNEWISE_REQUIRE_BROWSER=1``, set by ``.ci/run``, or ``CI=true``), where it fails instead.
"""

from __future__ import annotations

import os
import shutil

import pytest
from _see_project import N_TRIALS, make_project

import tunewise as tw
from tunewise.report import start_dashboard
from tunewise.storage import SQLStorage

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _browser_problem() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package is not installed (pip install playwright)"
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser():
    problem = _browser_problem()
    if problem:
        if os.environ.get("TUNEWISE_REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true":
            pytest.fail(f"In CI (TUNEWISE_REQUIRE_BROWSER=1 or CI=true) but {problem}.")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
            args=CHROMIUM_ARGS,
        )
        yield chromium
        chromium.close()


def test_dashboard_shows_trials_and_best_and_updates_without_reload(browser, tmp_path):
    pytest.importorskip("matplotlib")
    study = make_project(tmp_path)
    other = make_project(tmp_path, name="other", seed=11)
    storages = [SQLStorage(f"sqlite:///{tmp_path / n / 'tunewise.db'}") for n in ("demo", "other")]
    server = start_dashboard(storages, port=0, refresh_s=0.3)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(server.url)
        page.wait_for_function(
            f"document.querySelectorAll('#trials tr[data-number]').length === {N_TRIALS}",
            timeout=20_000,
        )
        numbers = page.eval_on_selector_all("#trials tr[data-number]",
                                            "rows => rows.map(r => Number(r.dataset.number))")
        assert numbers == [t.number for t in study.trials]
        best = study.best_value
        assert page.inner_text("#best-objective") == f"{best:.6g}"
        assert page.inner_text("#best-trial") == f"(trial #{study.best_trial.number})"
        assert page.inner_text("#study-name") == "Study demo"
        failed_rows = page.eval_on_selector_all("#trials tr.FAILED", "rows => rows.length")
        assert failed_rows == sum(t.state.value == "FAILED" for t in study.trials)
        loaded_at = page.evaluate("window.tunewiseLoadedAt")

        # Another process (here: a second Study on the same file) finishes a better trial.
        resumed = tw.Study(objective="val_loss", directory=str(tmp_path), project_name="demo",
                           verbose=0)
        trial = resumed.ask()
        hp = trial.hyperparameters
        lr = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
        hp.Int("units", 16, 128, step=16)
        hp.Choice("activation", ["relu", "tanh"])
        # while it runs, it is listed as RUNNING
        page.wait_for_function(
            f"document.querySelector('#trials tr.RUNNING[data-number=\"{trial.number}\"]') "
            "!== null",
            timeout=20_000,
        )
        frozen = resumed.tell(trial, {"val_loss": best / 10})
        page.wait_for_function(
            f"document.querySelector('#trials tr.COMPLETED[data-number=\"{frozen.number}\"]') "
            "!== null",
            timeout=20_000,
        )
        page.wait_for_function(
            f"document.querySelector('#best-objective').textContent === '{best / 10:.6g}'",
            timeout=20_000,
        )
        assert page.inner_text("#best-trial") == f"(trial #{frozen.number})"
        assert f"learning_rate={float(f'{lr:.6g}')}" in page.inner_text("#best-hps")
        assert page.evaluate("window.tunewiseLoadedAt") == loaded_at  # the page never reloaded
        # every plot image loaded (drawn by the server at the new version)
        page.wait_for_function(
            "[...document.querySelectorAll('#plots img')].every(i => i.complete && i.naturalWidth > 0)",
            timeout=30_000,
        )
        sources = page.eval_on_selector_all("#plots img", "imgs => imgs.map(i => i.src)")
        assert len(sources) == 5 and all(f"v={N_TRIALS + 1}." in s for s in sources)
        # several studies: the sidebar lists both; choosing one shows its own trials and best
        assert page.eval_on_selector_all("#studies button", "bs => bs.map(b => b.textContent)") == [
            f"demo ({N_TRIALS + 1})", f"other ({N_TRIALS})"]
        page.click("#studies button:nth-child(2)")
        page.wait_for_function("document.querySelector('#study-name').textContent === 'Study other'")
        assert page.inner_text("#best-objective") == f"{other.best_value:.6g}"
        assert page.locator("#trials tr[data-number]").count() == len(other.trials)
        findings = page.locator("#findings .finding").count()
        assert findings == len(other.diagnose().findings)
        page.click("#studies button:nth-child(1)")
        page.wait_for_function("document.querySelector('#study-name').textContent === 'Study demo'")
        page.wait_for_function(
            "[...document.querySelectorAll('#plots img')].every(i => i.complete && i.naturalWidth > 0)",
            timeout=30_000,
        )
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
        target = os.environ.get("TUNEWISE_DASHBOARD_SCREENSHOT")
        if target:
            shutil.copyfile(shot, target)
    finally:
        page.close()
        server.stop()


def test_the_html_report_opens_offline_in_the_browser(browser, tmp_path):
    pytest.importorskip("matplotlib")
    from tunewise.report import SECTIONS, write_report

    study = make_project(tmp_path)
    path = write_report(study, tmp_path / "report.html")
    context = browser.new_context(offline=True)
    page = context.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(f"file://{path}")
        for section in SECTIONS:
            assert page.locator(f"#{section}-0").count() == 1
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
        assert len(widths) == 5 and min(widths) > 100  # every embedded plot decodes
        assert all(u.startswith(("file://", "data:")) for u in requests)
    finally:
        context.close()
