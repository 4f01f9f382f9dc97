"""A healthy real Keras search on scikit-learn's digits gets no WARNING and no PROBLEM.

The issue's bar for the doctor: right on every planted cause, and quiet on a search that has
none. The search below tunes Adam's learning rate over a range that holds its optimum, with
enough epochs (early stopping, patience 3) and enough trials for one dimension; validation
accuracy on 397 images is quantised (1/397), so the top trials often tie exactly, which is
no sign of noise.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def test_a_healthy_keras_search_on_digits_has_no_warning_and_no_problem(tmp_path):
    keras = pytest.importorskip("keras")
    datasets = pytest.importorskip("sklearn.datasets")
    import tunewise as kt

    x, y = datasets.load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]

    def build(hp):
        model = keras.Sequential([
            keras.Input((64,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ])
        rate = hp.Float("learning_rate", 1e-3, 3e-2, sampling="log")
        model.compile(keras.optimizers.Adam(rate), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=6, seed=1,
                            directory=str(tmp_path), project_name="digits", verbose=0)
    tuner.search(x[:1400], y[:1400], epochs=20, validation_data=(x[1400:], y[1400:]),
                 verbose=0, callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=3)])
    report = tuner.diagnose()
    assert report.worst() == [], str(report)
    assert report.best is not None and report.best > 0.95
