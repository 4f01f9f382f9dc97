"""The Keras tuners' console: a live bar around Keras's epoch output, the trials' lines.

A real terminal is a pseudo-terminal here: a tiny search runs in a subprocess whose stdout
and stderr are the pty, and what it wrote is replayed on a small emulated screen
(``tests/_screen.py``) to see what a person would have seen.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from _screen import Screen

import tunewise as kt

BAR_DRAW = "\x1b7\x1b[1B\r\x1b[2K["  # the bar drawn on the row below the cursor's
ANSI = re.compile(r"\x1b")
ROWS, COLS = 12, 160  # a short screen: every line scrolls up through the bar's row

CHILD = r'''
import json, os, sys
import numpy as np
import keras
import tunewise as kt

out, verbose = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = (x[:, 0] > 0).astype("float32")


def build(hp):
    model = keras.Sequential([
        keras.Input(shape=(4,)),
        keras.layers.Dense(hp.Int("units", 2, 8, step=2), activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(hp.Choice("lr", [0.01, 0.03])),
                  loss="binary_crossentropy")
    return model


tuner = kt.RandomSearch(build, objective="val_loss", max_trials=3, directory=out,
                        project_name="p", seed=0)
tuner.search(x[:48], y[:48], epochs=2, batch_size=16, validation_data=(x[48:], y[48:]),
             verbose=verbose)
with open(os.path.join(out, "trials.json"), "w") as f:
    json.dump([{"values": t.values, "steps": [dict(s.metrics) for s in t.steps]}
               for t in tuner.study.trials], f)
'''


def _child(tmp_path):
    script = tmp_path / "search.py"
    script.write_text(CHILD)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1",
           "TERM": "xterm", "COLUMNS": str(COLS), "LINES": str(ROWS)}
    return [sys.executable, str(script), str(tmp_path)], env


def _trials(tmp_path):
    return json.loads((tmp_path / "trials.json").read_text())


def run_in_pty(tmp_path, verbose, timeout=300):
    """The child's output as a terminal of ROWS x COLS received it."""
    import fcntl
    import pty
    import struct
    import termios

    args, env = _child(tmp_path)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    proc = subprocess.Popen([*args, str(verbose)], stdin=slave, stdout=slave, stderr=slave,
                            env=env, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        proc.kill() if proc.poll() is None else None
        proc.wait()
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")[-3000:]
    return b"".join(chunks).decode("utf-8", errors="replace")


def _keras_epoch_line(steps, metrics):
    """The end of an epoch as Keras prints it, timings left as patterns."""
    return re.compile(
        rf"{steps}/{steps} ━{{20}} \d+s \d+(ms|us|s)/step - loss: {metrics['loss']:.4f} "
        rf"- val_loss: {metrics['val_loss']:.4f}"
    )


def test_on_a_terminal_the_bar_stays_live_around_keras_epoch_output(tmp_path):
    raw = run_in_pty(tmp_path, verbose=1)
    trials = _trials(tmp_path)
    assert len(trials) == 3
    for k in range(1, 4):
        start = raw.index(f"Trial {k}/3 (#{k - 1}) started")
        end = raw.index(f"Trial {k}/3 (#{k - 1}) COMPLETED")
        during = raw[start:end]
        # The bar is redrawn during the trial, between Keras's epochs, not printed once.
        assert during.count(BAR_DRAW) >= 3, during
        between = during[during.index("Epoch 1/2"): during.index("Epoch 2/2")]
        assert BAR_DRAW in between
        bar = during[during.rindex(BAR_DRAW):]
        assert f"{k - 1}/3 trials" in bar[: bar.index("\x1b8")] and "1 running" in bar
    # What the screen shows at the end: every line whole, in order, no bar left behind.
    lines = Screen(ROWS, COLS).feed(raw).lines()
    lines = lines[next(i for i, ln in enumerate(lines) if ln.startswith("Trial 1/3")):]
    assert not any(ch in "".join(lines) for ch in "█░")
    assert len(lines) == 3 * 6 + 1, "\n".join(lines)
    for k, trial in enumerate(trials, start=1):
        started, epoch1, line1, epoch2, line2, ended = lines[6 * (k - 1): 6 * k]
        values = ", ".join(f"{name}={trial['values'][name]:g}" for name in ("units", "lr"))
        assert started == f"Trial {k}/3 (#{k - 1}) started: {values}"
        assert (epoch1, epoch2) == ("Epoch 1/2", "Epoch 2/2")
        assert _keras_epoch_line(3, trial["steps"][0]).fullmatch(line1), line1
        assert _keras_epoch_line(3, trial["steps"][1]).fullmatch(line2), line2
        assert ended.startswith(f"Trial {k}/3 (#{k - 1}) COMPLETED: val_loss=")
    assert lines[-1].startswith("Search done: 3 trials run (3 completed)")


def test_in_a_pipe_there_is_no_control_character_and_the_lines_carry_the_progress(tmp_path):
    args, env = _child(tmp_path)
    # fit(verbose=2) is Keras's one line per epoch (its verbose=1 bar writes escapes itself)
    done = subprocess.run([*args, "2"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert not ANSI.search(out) and "\r" not in out and "\b" not in out
    lines = out.splitlines()
    trials = _trials(tmp_path)
    first = next(i for i, ln in enumerate(lines) if ln.startswith("Trial 1/3"))
    lines = lines[first:]
    for k, trial in enumerate(trials, start=1):
        started, epoch1, line1, epoch2, line2, ended = lines[6 * (k - 1): 6 * k]
        assert started.startswith(f"Trial {k}/3 (#{k - 1}) started: units=")
        assert (epoch1, epoch2) == ("Epoch 1/2", "Epoch 2/2")
        for line, metrics in ((line1, trial["steps"][0]), (line2, trial["steps"][1])):
            assert f"- loss: {metrics['loss']:.4f} - val_loss: {metrics['val_loss']:.4f}" in line
        assert ended.startswith(f"Trial {k}/3 (#{k - 1}) COMPLETED: ")
        assert f"| {k}/3 trials, " in ended and "elapsed, ETA " in ended


# ---------------------------------------------------------------- in this process
@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    return x[:48], y[:48], x[48:], y[48:]


def make_build():
    def build(hp):
        model = keras.Sequential([
            keras.Input(shape=(4,)),
            keras.layers.Dense(hp.Int("units", 2, 8, step=2), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(hp.Choice("lr", [0.01, 0.03])),
                      loss="binary_crossentropy")
        return model

    return build


def test_search_verbose_zero_silences_keras_not_the_tuner(tmp_path, data, capsys):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(make_build(), objective="val_loss", max_trials=2,
                            directory=str(tmp_path), project_name="quiet_fit", seed=0)
    tuner.search(x, y, epochs=2, validation_data=(xv, yv), verbose=0)
    out = capsys.readouterr().out
    assert "Epoch" not in out and "/step" not in out  # Keras was silent
    lines = [ln for ln in out.splitlines() if ln.startswith("Trial ")]
    trials = tuner.study.trials
    assert len(lines) == 4
    for k, trial in enumerate(trials, start=1):
        values = f"units={trial.values['units']}, lr={trial.values['lr']:g}"
        assert lines[2 * k - 2] == f"Trial {k}/2 (#{k - 1}) started: {values}"
        assert lines[2 * k - 1].startswith(f"Trial {k}/2 (#{k - 1}) COMPLETED: val_loss=")
        assert f"| {k}/2 trials, " in lines[2 * k - 1]
    assert "Search done: 2 trials run" in out
    # the tuner's own verbose=0 silences it, and Keras too with fit's
    quiet = kt.RandomSearch(make_build(), objective="val_loss", max_trials=1, verbose=0,
                            directory=str(tmp_path), project_name="quiet_all", seed=0)
    quiet.search(x, y, epochs=1, validation_data=(xv, yv), verbose=0)
    assert capsys.readouterr().out == ""


def test_with_n_jobs_the_trials_lines_count_right(tmp_path, data, capsys):
    x, y, xv, yv = data
    tuner = kt.RandomSearch(make_build(), objective="val_loss", max_trials=4,
                            directory=str(tmp_path), project_name="jobs", seed=0)
    tuner.search(x, y, epochs=1, validation_data=(xv, yv), verbose=0, n_jobs=2)
    out = capsys.readouterr().out
    started = {
        int(n): (int(k), v)
        for k, n, v in re.findall(r"Trial (\d)/4 \(#(\d)\) started: (.*)", out)
    }
    ended = re.findall(
        r"Trial (\d)/4 \(#(\d)\) COMPLETED.*\| (\d)/4 trials, .*, (\d) running", out
    )
    trials = {t.number: t for t in tuner.study.trials}
    # every trial: one start line with its place and values, an end line with the same place
    assert sorted(k for k, _ in started.values()) == [1, 2, 3, 4]
    for number, (k, values) in started.items():
        hp = trials[number].values
        assert values == f"units={hp['units']}, lr={hp['lr']:g}"
    assert sorted(int(n) for _, n, _, _ in ended) == [0, 1, 2, 3]
    assert all(started[int(n)][0] == int(k) for k, n, _, _ in ended)
    # the fields: finished trials 1..4 in order; the other trial runs while one ends
    assert [int(done) for _, _, done, _ in ended] == [1, 2, 3, 4]
    assert [int(running) for _, _, _, running in ended] == [1, 1, 1, 0]


def test_the_distributed_chief_follows_the_tuners_verbose_not_fit_s(tmp_path, capsys,
                                                                      monkeypatch):
    import io
    import threading

    from tunewise.integrations.keras import _distributed, _tuner

    class Quadratic(kt.Tuner):
        def run_trial(self, trial, *args, **kwargs):
            gate.wait(60)  # the first trial waits for the chief to be waiting
            return trial.hyperparameters.Float("x", -1.0, 1.0) ** 2

    def tuner(verbose=1):
        return Quadratic(objective="loss", max_trials=3, directory=str(tmp_path),
                         project_name="dist", seed=0, verbose=verbose)

    # The chief (KERASTUNER_TUNER_ID=chief) and a worker, as two threads of this process.
    monkeypatch.setattr(_tuner, "is_chief", lambda: threading.current_thread().name == "chief")
    monkeypatch.setattr(_distributed, "CHIEF_POLL_S", 0.05)
    gate = threading.Event()
    chief = tuner()
    chief._reporter.stream = io.StringIO()
    waiting = threading.Thread(target=chief.search, kwargs={"verbose": 0}, name="chief")
    waiting.start()
    while "runs no trial" not in chief._reporter.stream.getvalue():
        time.sleep(0.01)
    gate.set()
    worker = tuner()
    worker.search(verbose=0)
    waiting.join(60)
    assert not waiting.is_alive()
    out = chief._reporter.stream.getvalue()
    assert "KERASTUNER_TUNER_ID=chief: this process runs no trial" in out
    assert "The workers finished study 'dist': 3 trials stored." in out
    # the chief says each trial the workers finish, with the place and the best so far
    lines = [ln for ln in out.splitlines() if ln.startswith("Trial ")]
    trials = worker.study.trials
    assert [ln.split(":")[0] for ln in lines] == [
        f"Trial {k}/3 (#{k - 1}) COMPLETED" for k in (1, 2, 3)]
    for k, line in enumerate(lines, start=1):
        best = min(trials[:k], key=lambda t: t.score)
        assert f"best {best.score:.6g} (trial #{best.number})" in line
    # the tuner's verbose=0 silences the chief
    capsys.readouterr()
    quiet = tuner(verbose=0)
    with monkeypatch.context() as m:
        m.setattr(_tuner, "is_chief", lambda: True)
        quiet.search(verbose=0)  # the study is finished: the chief returns
    assert capsys.readouterr().out == ""


def test_the_demo_shows_each_trial_and_the_best_so_far(tmp_path, capsys):
    pytest.importorskip("sklearn")
    from tunewise import demo

    assert demo.main(["--trials", "2", "--directory", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if re.match(r"Trial \d/2 ", ln)]
    assert [ln.split(":")[0] for ln in lines] == [
        "Trial 1/2 (#0) started", "Trial 1/2 (#0) COMPLETED",
        "Trial 2/2 (#1) started", "Trial 2/2 (#1) COMPLETED"]
    assert "units=" in lines[0] and "learning_rate=" in lines[0]
    assert all(" | best " in ln and "/2 trials, " in ln for ln in lines[1::2])
    assert "Search done: 2 trials run (2 completed)" in out
