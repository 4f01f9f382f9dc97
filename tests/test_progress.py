"""The progress display: its numbers (ETA, fraction), its text, and the reporter's two modes."""

from __future__ import annotations

import io
import re
import sys

import pytest
from _screen import Screen

import tunewise as tw
from tunewise.engine import ConsoleReporter
from tunewise.engine._progress import Progress, format_duration, render_bar, render_fields


class FakeTerminal(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def screen_lines(text: str) -> list[str]:
    """What a terminal shows: on each line, what was written after its last carriage return
    (the reporter always erases the line, ``\\x1b[2K``, after one)."""
    return [line.split("\r")[-1].replace("\x1b[2K", "") for line in text.split("\n")]


def test_eta_extrapolates_this_runs_mean_trial_time_to_the_trials_left():
    # 3 trials stored before, 2 run now in 10 s: 5 s a trial, 5 of 10 left -> 25 s.
    p = Progress(done=5, total=10, done_this_run=2, elapsed_s=10.0)
    assert p.eta_s == pytest.approx(25.0)
    assert p.fraction == pytest.approx(0.5)
    # a timeout caps it at the time left
    capped = Progress(done=5, total=10, done_this_run=2, elapsed_s=10.0, timeout_s=18.0)
    assert capped.eta_s == pytest.approx(8.0)
    # 4 s into the trial under way: it is taken to need 1 s more, then 4 trials of 5 s
    running = Progress(done=5, total=10, done_this_run=2, elapsed_s=14.0, since_last_s=4.0)
    assert running.eta_s == pytest.approx(21.0)
    # a trial running longer than the mean adds nothing beyond the trials after it
    slow = Progress(done=5, total=10, done_this_run=2, elapsed_s=30.0, since_last_s=20.0)
    assert slow.eta_s == pytest.approx(20.0)
    assert Progress(done=10, total=10, done_this_run=2, elapsed_s=9.0).eta_s == 0.0
    # unknown before the first trial of the run, or without any limit
    assert Progress(done=3, total=10, done_this_run=0, elapsed_s=4.0).eta_s is None
    assert Progress(done=3, total=None, done_this_run=3, elapsed_s=4.0).eta_s is None
    assert Progress(done=3, total=None, done_this_run=3, elapsed_s=4.0).fraction is None


def test_durations_are_minutes_and_seconds_or_hours():
    assert format_duration(0) == "0:00"
    assert format_duration(65.4) == "1:05"
    assert format_duration(3 * 3600 + 62) == "3:01:02"
    assert format_duration(None) == "?"
    assert format_duration(float("inf")) == "?"


def test_the_bar_shows_every_field_and_fits_the_width():
    p = Progress(done=3, total=10, done_this_run=3, elapsed_s=12.0, best=0.4213, running=1)
    line = render_bar(p, width=120, unicode=False)
    assert line.startswith("[")
    bar = line[1 : line.index("]")]
    assert bar.count("#") == round(0.3 * len(bar)) and set(bar) <= {"#", "-"}
    for field in ("30%", "3/10 trials", "0:12 elapsed", "ETA 0:28", "best 0.4213", "1 running"):
        assert field in line
    for width in (40, 60, 80):
        assert len(render_bar(p, width=width)) <= width
    assert "3/10 trials" in render_bar(p, width=40)  # fields are dropped from the right
    assert render_fields(p) == "3/10 trials, 0:12 elapsed, ETA 0:28, best 0.4213, 1 running"
    assert "best" not in render_fields(p, best=False)


def _search(stream, max_trials=4, **kwargs):
    study = tw.Study(objective="loss", storage="memory", seed=0,
                     reporter=ConsoleReporter(1, stream, **kwargs))
    study.optimize(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=max_trials)
    return study


def test_not_a_terminal_gets_plain_lines_with_the_progress_fields():
    stream = io.StringIO()
    study = _search(stream)
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    trial_lines = [ln for ln in lines if ln.startswith("Trial ")]
    assert len(trial_lines) == 4
    for k, line in enumerate(trial_lines, start=1):
        assert f"| {k}/4 trials, " in line and "elapsed, ETA " in line and "0 running" in line
    assert lines[-1].startswith("Search done: 4 trials run")
    assert f"best {study.best_value:.6g}" in trial_lines[-1]


def test_a_terminal_gets_a_live_bar_redrawn_on_the_last_line():
    stream = FakeTerminal()
    study = _search(stream)
    text = stream.getvalue()
    bars = re.findall(r"\r\x1b\[2K(\[[█░]+\][^\r\n]*)", text)
    assert bars, text
    assert "0/4 trials" in bars[0] and "1 running" in text
    assert any("4/4 trials" in b and "100%" in b for b in bars)
    assert any(f"best {study.best_value:.6g}" in b for b in bars)
    # every trial's line is printed whole, on its own line, above the bar
    assert len(re.findall(r"\x1b\[2KTrial \d/4 \(#\d\) COMPLETED[^\r]*\n", text)) == 4
    # on screen: the four trial lines, then the closing line; the bar is gone
    shown = [ln for ln in screen_lines(text) if ln]
    assert [ln.split(" (#")[0] for ln in shown[:4]] == [f"Trial {k}/4" for k in range(1, 5)]
    assert shown[4].startswith("Search done: 4 trials run") and len(shown) == 5


def test_foreign_output_keeps_the_bar_off_the_trials_own_lines():
    stream = FakeTerminal()
    reporter = ConsoleReporter(1, stream)
    reporter.foreign_output = True  # what the Keras tuner sets when fit prints epochs
    printed = []

    def objective(hp):
        x = hp.Float("x", 0.0, 1.0)
        printed.append(len(stream.getvalue()))
        stream.write("Epoch 1/1 - loss: 0.5\n")  # what Keras would print
        return x

    study = tw.Study(objective="loss", storage="memory", seed=0, reporter=reporter)
    study.optimize(objective, max_trials=3)
    text = stream.getvalue()
    # nothing is drawn while a trial runs: each epoch line starts a clean line
    shown = [ln for ln in screen_lines(text) if ln]
    assert shown.count("Epoch 1/1 - loss: 0.5") == 3
    # each trial: the bar as it starts, the trial's own output, then the trial's line
    for k in range(3):
        bar, epoch, trial = shown[3 * k : 3 * k + 3]
        assert bar.startswith("[") and f"{k}/3 trials" in bar and "1 running" in bar
        assert epoch == "Epoch 1/1 - loss: 0.5"
        assert trial.startswith(f"Trial {k + 1}/3 (#{k})")
    assert shown[9].startswith("Search done") and len(shown) == 10


def test_progress_off_and_verbose_zero():
    stream = io.StringIO()
    _search(stream, progress="off")
    assert "elapsed" not in stream.getvalue() and "Trial 4/4" in stream.getvalue()
    silent = io.StringIO()
    study = tw.Study(objective="loss", storage="memory", reporter=ConsoleReporter(0, silent))
    study.optimize(lambda hp: hp.Float("x", 0.0, 1.0), max_trials=2)
    assert silent.getvalue() == ""
    with pytest.raises(ValueError, match="progress='fancy'"):
        ConsoleReporter(1, progress="fancy")


def test_worker_processes_leave_the_terminal_to_the_loop_so_the_bar_stays_live(tmp_path, monkeypatch):
    import time

    from tunewise.engine import _console

    monkeypatch.setattr(_console, "REDRAW_INTERVAL_S", 0.01)  # a redraw every 10 ms if allowed
    stream = FakeTerminal()
    study = tw.Study(objective="loss", directory=tmp_path, project_name="p", seed=0,
                     reporter=ConsoleReporter(1, stream))

    def objective(hp):
        print("a worker's own output")  # goes to the trial's log, never to the terminal
        time.sleep(0.2)
        return hp.Float("x", 0.0, 1.0)

    study.optimize(objective, max_trials=4, n_jobs=2)
    assert len(study.trials) == 4
    text = stream.getvalue()
    # The workers write nothing to the terminal, so the loop's bar goes on being redrawn
    # while they run (the workers' start-up alone takes longer than several 10 ms redraws).
    draws = text.count("\r\x1b[2K[")
    assert draws >= 5 and "a worker's own output" not in text
    shown = [ln for ln in screen_lines(text) if ln]
    trial_lines = [ln for ln in shown if ln.startswith("Trial ")]
    assert len(trial_lines) == 4 and all("[" not in ln.split(":")[0] for ln in trial_lines)
    assert shown[-1].startswith("Search done: 4 trials run")


def test_the_keras_tuner_leaves_the_terminal_to_fit_while_it_prints_epochs(tmp_path):
    class Quadratic(tw.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            return trial.hyperparameters.Float("x", -1.0, 1.0) ** 2

    def search(verbose, tuner_verbose=1):
        tuner = Quadratic(objective="loss", max_trials=2, directory=tmp_path,
                          project_name=f"q{verbose}{tuner_verbose}", seed=0,
                          verbose=tuner_verbose)
        terminal = FakeTerminal()
        tuner._reporter.stream = terminal
        tuner.search(verbose=verbose)  # passed to fit: Keras prints epochs unless 0
        return tuner._reporter, terminal.getvalue()

    reporter, text = search(1)
    assert reporter.foreign_output
    shown = [ln for ln in screen_lines(text) if ln]
    # Each trial: the bar as it starts (left above what fit prints), the trial's start line
    # (the first trial's x is defined as it runs: no value to show yet), its end line.
    assert [ln[:5] for ln in shown] == ["[░░░░", "Trial", "Trial", "[████", "Trial", "Trial",
                                        "Searc"]
    assert shown[1] == "Trial 1/2 (#0) started"
    assert re.fullmatch(r"Trial 2/2 \(#1\) started: x=-?[\d.]+", shown[4])
    # search(verbose=0) silences fit only: the tuner's lines and live bar stay
    reporter, text = search(0)
    assert not reporter.foreign_output
    shown = [ln for ln in screen_lines(text) if ln]
    assert [ln[:14] for ln in shown] == ["Trial 1/2 (#0)"] * 2 + ["Trial 2/2 (#1)"] * 2 + [
        "Search done: 2"]
    assert text.count("\r\x1b[2K[") >= 4  # the bar is drawn as each trial starts and ends
    # the tuner's verbose=0 silences it
    reporter, text = search(0, tuner_verbose=0)
    assert text == ""


# ---------------------------------------------------------------- the shared terminal
BAR_DRAW = "\x1b7\x1b[1B\r\x1b[2K["  # the bar drawn on the row below the cursor's


def test_on_sys_stdout_the_bar_stays_live_below_what_the_trials_print(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("COLUMNS", "160")  # the trials' lines fit on one row
    seen = []

    def objective(hp):
        x = hp.Float("x", 0.0, 1.0)
        print("Epoch 1/1")
        for k in (1, 2, 3):  # a progress bar rewritten in place, as Keras's
            sys.stdout.write(f"\r{k}/3 steps - loss: {x:.4f}")
            sys.stdout.flush()
            if k == 2:
                seen.append(Screen(24, 160).feed(terminal.getvalue(), onlcr=True))
        sys.stdout.write("\n")
        return x

    study = tw.Study(objective="loss", storage="memory", seed=0, reporter=ConsoleReporter(1))
    study.optimize(objective, max_trials=3)
    assert sys.stdout is terminal  # given back
    text = terminal.getvalue()
    # While a trial rewrote its line, the live bar sat on the row below it.
    for k, screen in enumerate(seen):
        assert screen.row(screen.y).startswith("2/3 steps - loss: ")
        assert screen.row(screen.y + 1).startswith("[") and f"{k}/3 trials" in screen.row(
            screen.y + 1)
    # The bar is redrawn after each line the trial ends, not printed once per trial.
    first = text[text.index("Epoch 1/1"): text.index("Trial 1/3")]
    assert first.count(BAR_DRAW) >= 2
    # On screen at the end: every line whole, in order, and no bar left behind.
    lines = Screen(24, 160).feed(text, onlcr=True).lines()
    losses = [f"{t.score:.4f}" for t in study.trials]
    expected = []
    for k, loss in enumerate(losses, start=1):
        expected += ["Epoch 1/1", f"3/3 steps - loss: {loss}", f"Trial {k}/3 (#{k - 1})"]
    assert [ln[: len(e)] for ln, e in zip(lines, expected)] == expected
    assert lines[-1].startswith("Search done: 3 trials run") and len(lines) == 10
    # and the same on a short screen, where every line scrolls through the bar's row
    assert Screen(3, 160).feed(text, onlcr=True).lines() == lines


def test_a_row_wider_than_the_terminal_is_never_overwritten_by_the_bar(monkeypatch):
    from tunewise.engine._terminal import SharedTerminal

    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("COLUMNS", "80")
    shared = SharedTerminal(terminal, lambda width: "[status]")
    shared.install()
    assert sys.stdout is not terminal and sys.stdout.isatty()
    long = "x" * 100  # wraps onto the row the status line was on (80 columns)
    sys.stdout.write(long)
    drawn = terminal.getvalue().count("[status]")
    shared.refresh()  # a redraw now would overwrite the wrapped text: left out
    assert terminal.getvalue().count("[status]") == drawn
    sys.stdout.write(" end\nnext line\n")  # a newline: the status line comes back below
    assert terminal.getvalue().count("[status]") == drawn + 1
    screen = Screen(24, 80).feed(terminal.getvalue(), onlcr=True)
    assert screen.lines() == [long[:80], long[80:] + " end", "next line", "", "[status]"]
    shared.uninstall()
    assert sys.stdout is terminal
    assert Screen(24, 80).feed(terminal.getvalue(), onlcr=True).lines() == [
        long[:80], long[80:] + " end", "next line"]


def test_stderr_on_the_same_terminal_prints_above_the_bar_too(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("COLUMNS", "160")

    seen = []

    def objective(hp):
        sys.stdout.write("\rhalf way")
        print("a warning", file=sys.stderr)  # e.g. warnings.warn during fit
        seen.append(Screen(24, 160).feed(terminal.getvalue(), onlcr=True))
        return hp.Float("x", 0.0, 1.0)

    study = tw.Study(objective="loss", storage="memory", seed=0, reporter=ConsoleReporter(1))
    study.optimize(objective, max_trials=2)
    assert sys.stderr is terminal
    lines = Screen(24, 160).feed(terminal.getvalue(), onlcr=True).lines()
    assert [ln[:9] for ln in lines] == ["half waya", "Trial 1/2", "half waya", "Trial 2/2",
                                        "Search do"]
    for screen in seen:  # the bar was drawn again below the warning's line
        assert screen.row(screen.y - 1) == "half waya warning"
        assert screen.row(screen.y + 1).startswith("[")


def test_a_logging_handler_on_the_terminal_logs_above_the_bar(monkeypatch):
    import logging

    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("COLUMNS", "160")
    handler = logging.StreamHandler(terminal)  # as basicConfig(), before the search
    log = logging.getLogger("user_code")
    log.addHandler(handler)
    monkeypatch.setattr(log, "propagate", False)
    seen = []

    def objective(hp):
        sys.stdout.write("\rworking")
        log.warning("from a handler")
        seen.append(Screen(24, 160).feed(terminal.getvalue(), onlcr=True))
        return hp.Float("x", 0.0, 1.0)

    try:
        study = tw.Study(objective="loss", storage="memory", seed=0,
                         reporter=ConsoleReporter(1))
        study.optimize(objective, max_trials=1)
    finally:
        log.removeHandler(handler)
    assert handler.stream is terminal  # given back
    (screen,) = seen
    assert screen.row(screen.y - 1) == "workingfrom a handler"
    assert screen.row(screen.y + 1).startswith("[")


def test_term_dumb_gets_plain_lines(monkeypatch):
    monkeypatch.setenv("TERM", "dumb")
    stream = FakeTerminal()
    _search(stream, max_trials=2)
    text = stream.getvalue()
    assert "\x1b" not in text and "\r" not in text and "| 2/2 trials, " in text


# ---------------------------------------------------------------- the counters
def _trial_lines(text):
    """(k, number, done, running) of each trial's end line in lines mode."""
    pattern = r"Trial (\d+)/\d+ \(#(\d+)\) \w+:.*\| (\d+)/\d+ trials, .* (\d+) running"
    return [tuple(map(int, m)) for m in re.findall(pattern, text)]


def _out_of_order_objective(project: str):
    """Trial 0 waits until trial 3 is stored as completed (read from the project's database,
    shared between processes), then a little longer, so that it ends last."""

    def objective(hp, trial):
        import time

        from tunewise import load_study
        from tunewise.storage import StorageError
        from tunewise.trial import TrialState

        x = hp.Float("x", 0.0, 1.0)
        if trial.number == 0:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    done = load_study(project).trials
                except StorageError:  # not created yet
                    done = []
                if any(t.number == 3 and t.state is TrialState.COMPLETED for t in done):
                    break
                time.sleep(0.05)
            time.sleep(0.5)  # trial 3's result is handled before this one's
        return x

    return objective


def _check_out_of_order(text):
    # k is each trial's own place (its start line says the same), the fields count those
    # finished and those still running; trial 0 ends last.
    assert _trial_lines(text) == [(2, 1, 1, 1), (3, 2, 2, 1), (4, 3, 3, 1), (1, 0, 4, 0)]
    starts = re.findall(r"Trial (\d+)/4 \(#(\d+)\) started", text)
    assert sorted(starts) == [("1", "0"), ("2", "1"), ("3", "2"), ("4", "3")]


def test_with_n_jobs_each_trial_keeps_its_number_and_the_fields_count_right(tmp_path):
    stream = io.StringIO()
    reporter = ConsoleReporter(1, stream)
    reporter.announce_starts = True
    study = tw.Study(objective="loss", directory=tmp_path, project_name="p", seed=0,
                     reporter=reporter)
    study.optimize(_out_of_order_objective(str(tmp_path / "p")), max_trials=4, n_jobs=2)
    _check_out_of_order(stream.getvalue())


def test_with_ray_each_trial_keeps_its_number_and_the_fields_count_right(local_ray, tmp_path):
    stream = io.StringIO()
    reporter = ConsoleReporter(1, stream)
    reporter.announce_starts = True
    study = tw.Study(objective="loss", directory=tmp_path, project_name="p", seed=0,
                     reporter=reporter)
    study.optimize(_out_of_order_objective(str(tmp_path / "p")), max_trials=4,
                   executor=tw.engine.RayExecutor(num_cpus=1, max_concurrent=2))
    _check_out_of_order(stream.getvalue())


def test_a_rerun_keeps_the_place_of_the_trial_it_reruns():
    stream = io.StringIO()
    reporter = ConsoleReporter(1, stream)
    reporter.announce_starts = True
    failed = []

    def objective(hp, trial):
        x = hp.Float("x", 0.0, 1.0)
        if not failed:
            failed.append(trial.number)
            raise RuntimeError("flaky")
        return x

    study = tw.Study(objective="loss", storage="memory", seed=0, max_retries_per_trial=1,
                     reporter=reporter)
    study.optimize(objective, max_trials=2)
    text = stream.getvalue()
    assert [(k, n, done) for k, n, done, _ in _trial_lines(text)] == [
        (1, 0, 1), (1, 1, 1), (2, 2, 2)]
    assert re.search(r"Trial 1/2 \(#1\) started \(re-run of #0\): x=[\d.]+", text)
    assert "Trial 2/2 (#2) started: x=" in text


def test_another_live_display_gets_the_terminal_to_itself(monkeypatch):
    from tunewise.engine._terminal import SharedTerminal

    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("COLUMNS", "80")
    shared = SharedTerminal(terminal, lambda width: "[status]")
    shared.install()
    print("a line")
    # a display that moves the cursor itself (tqdm's nested bars, rich): the status line is
    # erased before its text and never drawn again
    sys.stdout.write("one\ntwo\x1b[1A\rONE\n\n")
    after = len(terminal.getvalue())
    shared.refresh()
    print("more")
    shared.uninstall()
    assert "[status]" not in terminal.getvalue()[after:]
    assert Screen(24, 80).feed(terminal.getvalue(), onlcr=True).lines() == [
        "a line", "ONE", "two", "more"]
