"""Keras Tuner's distributed mode by its environment variables: a chief and a worker started
from the same script share one study; the chief runs no trial and returns once the worker
has finished the study, with the whole search in its summary."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("keras")

SCRIPT = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    import keras
    import tunewise as kt

    def build(hp):
        model = keras.Sequential([keras.Input(shape=(4,)),
                                  keras.layers.Dense(hp.Int("units", 2, 16), activation="relu"),
                                  keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model

    class PidTuner(kt.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):
            trial.set_attr("pid", os.getpid())
            return super().run_trial(trial, *args, **kwargs)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32"); y = x.sum(axis=1)
    tuner = PidTuner(build, objective="val_loss", max_trials=3, seed=0,
                     directory=sys.argv[1], project_name="dist")
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    pids = sorted({t.attrs.get("pid") for t in tuner.study.trials})
    print("PID", os.getpid(), "TRIALS", len(tuner.study.trials), "RAN_BY", pids,
          "BEST", tuner.oracle.get_best_trials(1)[0].score, flush=True)
    """
)


def test_a_chief_and_a_worker_share_one_study_and_the_chief_runs_no_trial(tmp_path):
    script = tmp_path / "tune.py"
    script.write_text(SCRIPT)
    base = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERASTUNER_ORACLE_IP": "127.0.0.1",
            "KERASTUNER_ORACLE_PORT": "8000"}

    def start(role):
        return subprocess.Popen([sys.executable, str(script), str(tmp_path)],
                                env={**base, "KERASTUNER_TUNER_ID": role},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    chief = start("chief")
    worker = start("tuner0")
    try:
        w_out, w_err = worker.communicate(timeout=300)
        c_out, c_err = chief.communicate(timeout=120)  # returns once the study is done
    finally:
        for p in (chief, worker):
            if p.poll() is None:
                p.kill()
    assert worker.returncode == 0, w_err[-2000:]
    assert chief.returncode == 0, c_err[-2000:]

    def facts(out):
        line = next(ln for ln in out.splitlines() if ln.startswith("PID"))
        words = line.split()
        return int(words[1]), int(words[3]), line, float(words[-1])

    _chief_pid, chief_trials, chief_line, chief_best = facts(c_out)
    worker_pid, worker_trials, _, worker_best = facts(w_out)
    assert chief_trials == worker_trials == 3  # one study, seen whole by both
    assert f"RAN_BY [{worker_pid}]" in chief_line  # every trial ran in the worker
    assert chief_best == worker_best
