"""The progress display: its numbers (ETA, fraction), its text, and the reporter's two modes."""

from __future__ import annotations

import io
import re

import pytest

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

    def search(verbose):
        tuner = Quadratic(objective="loss", max_trials=2, directory=tmp_path,
                          project_name=f"q{verbose}", seed=0)
        terminal = FakeTerminal()
        tuner._reporter.stream = terminal
        tuner.search(verbose=verbose)  # passed to fit: Keras prints epochs unless 0
        return tuner._reporter, terminal.getvalue()

    reporter, text = search(1)
    assert reporter.foreign_output
    shown = [ln for ln in screen_lines(text) if ln]
    assert [ln[:5] for ln in shown] == ["[░░░░", "Trial", "[████", "Trial", "Searc"]
    reporter, text = search(0)
    assert not reporter.foreign_output and text == ""
