"""The Keras facade on other backends (JAX, PyTorch), and memory that stays flat over a long search."""

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
    import numpy as np, keras
    import tunewise as kt

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def build(hp):
        model = keras.Sequential([
            keras.Input(shape=(8,)),
            keras.layers.Dense(hp.Int("units", 8, 64, step=8), activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ])
        lr = hp.Float("lr", 1e-3, 1e-1, sampling="log")
        model.compile(optimizer=keras.optimizers.Adam(lr), loss="binary_crossentropy",
                      metrics=["accuracy"])
        return model

    rss = {}

    class Tuner(kt.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):
            histories = super().run_trial(trial, *args, **kwargs)
            rss[trial.number + 1] = rss_mb()
            return histories

    n_trials = int(sys.argv[2])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    tuner = Tuner(build, objective="val_accuracy", max_trials=n_trials, seed=0,
                  directory=sys.argv[1], project_name="b", verbose=0)
    tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    best = tuner.results_summary(num_trials=1).best_objective
    model = tuner.get_best_models(1)[0]
    acc = model.evaluate(x[192:], y[192:], verbose=0)[1]
    print("BACKEND", keras.backend.backend())
    print("BEST", best, acc)
    print("RSS", rss[min(5, n_trials)], rss[n_trials])
    """
)


def run(tmp_path, backend: str, n_trials: int) -> dict[str, list[str]]:
    script = tmp_path / "search.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path), str(n_trials)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return {ln.split()[0]: ln.split()[1:] for ln in proc.stdout.splitlines() if ln.strip()}


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_keras_facade_runs_on_other_backends(tmp_path, backend):
    pytest.importorskip(backend)
    out = run(tmp_path, backend, 4)
    assert out["BACKEND"] == [backend]
    best, acc = map(float, out["BEST"])
    assert 0.5 < best <= 1.0
    # The best model reloads with its scored epoch's weights: its accuracy on the validation
    # split (the last quarter) is the stored best val_accuracy.
    assert acc == pytest.approx(best, abs=1e-6)


#: Resident memory may grow by at most this fraction from trial 5 to trial 30. Measured here
#: (2 cores, TensorFlow 2.21, Keras 3.15): +15% with TensorFlow, +12% with JAX; without
#: clearing the Keras session between trials every model would stay alive.
MAX_RSS_GROWTH = 0.30


def test_memory_after_30_trials_stays_within_a_bound_of_memory_after_5(tmp_path):
    out = run(tmp_path, "tensorflow", 30)
    rss5, rss30 = map(float, out["RSS"])
    assert rss30 <= rss5 * (1 + MAX_RSS_GROWTH), (rss5, rss30)
