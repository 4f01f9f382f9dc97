"""The main job of ``make demo``: a real search on scikit-learn's digits, stored in SQLite.

By default it tunes a Keras MLP (width, dropout, an optional second layer, learning rate)
with the Keras-Tuner-compatible ``RandomSearch``, early stopping per trial, every epoch stored
in ``demo_runs/digits_keras/tunewise.db``. Keras trains silently (``search(verbose=0)``) while
the tuner shows its progress: a line as each trial starts (its hyperparameters) and ends (its
score, the best so far), and on a terminal a live bar (trials done, elapsed, ETA, best). Then
it prints the summary, the best objective and the best model's accuracy on a held-out split. ``--sklearn`` instead tunes an SVM or a random
forest (a conditional space) by 3-fold cross-validation through the plain engine. ``--resume``
resumes the stored study instead of starting afresh.

    python -m tunewise.demo [--trials N] [--seed 0] [--directory demo_runs] [--resume] [--sklearn]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np


def make_objective(n_folds: int = 3) -> Any:
    try:
        from sklearn.datasets import load_digits
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.svm import SVC
    except ImportError as exc:  # pragma: no cover - the demo installs the sklearn extra
        raise SystemExit("The demo needs scikit-learn: pip install 'tunewise[sklearn]'") from exc

    x, y = load_digits(return_X_y=True)
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=0)

    def objective(hp: Any) -> dict[str, float]:
        model = hp.Choice("model", ["svc", "random_forest"])
        with hp.conditional_scope("model", "svc"):
            c = hp.Float("C", 1e-2, 1e3, sampling="log")
            gamma = hp.Float("gamma", 1e-5, 1e-1, sampling="log")
        with hp.conditional_scope("model", "random_forest"):
            n_estimators = hp.Int("n_estimators", 20, 200, step=20)
            max_depth = hp.Int("max_depth", 2, 32, sampling="log")
        if model == "svc":
            clf = SVC(C=c, gamma=gamma)
        else:
            clf = RandomForestClassifier(
                n_estimators=n_estimators, max_depth=max_depth, random_state=0, n_jobs=1
            )
        scores = cross_val_score(clf, x, y, cv=folds, scoring="accuracy")
        return {"val_accuracy": float(np.mean(scores)), "val_accuracy_std": float(np.std(scores))}

    return objective


def keras_search(trials: int, seed: int, directory: str, resume: bool) -> float | None:
    """Tune a Keras MLP on digits; returns the best validation accuracy."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import tunewise as kt

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.4, random_state=0, stratify=y)
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=0, stratify=y_rest
    )

    def build_model(hp: Any) -> Any:
        model = keras.Sequential([keras.Input(shape=(64,))])
        model.add(keras.layers.Dense(hp.Int("units", 32, 256, step=32), activation="relu"))
        model.add(keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1)))
        if hp.Boolean("second_layer"):
            with hp.conditional_scope("second_layer", True):
                model.add(keras.layers.Dense(hp.Int("units_2", 16, 128, step=16), activation="relu"))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 3e-2, sampling="log")),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    tuner = kt.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=trials,
        seed=seed,
        directory=directory,
        project_name="digits_keras",
        overwrite=not resume,
    )
    tuner.search_space_summary()
    print(f"\nSearching {trials} configurations (up to 25 epochs each, early stopping):")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=4)
    tuner.search(  # verbose=0 silences Keras's epochs, not the tuner's progress
        x_train, y_train, epochs=25, batch_size=64, validation_data=(x_val, y_val),
        callbacks=[stop], verbose=0,
    )
    summary = tuner.results_summary(num_trials=3)
    best_model = tuner.get_best_models(1)[0]
    test_accuracy = best_model.evaluate(x_test, y_test, verbose=0)[1]
    print(f"\nBest objective value: {summary.best_objective}")
    print(f"Best model's accuracy on the held-out test split: {test_accuracy:.4f}")
    print(f"Stored in {tuner.study.location}.")
    return summary.best_objective


def main(argv: list[str] | None = None) -> int:
    import tunewise as tw

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--directory", default="demo_runs")
    parser.add_argument("--resume", action="store_true", help="resume the stored study")
    parser.add_argument(
        "--sklearn", action="store_true", help="tune scikit-learn models instead of Keras"
    )
    args = parser.parse_args(argv)

    started = time.time()
    if not args.sklearn:
        keras_search(args.trials or 12, args.seed, args.directory, args.resume)
        print(f"Took {time.time() - started:.1f}s.")
        return 0
    study = tw.Study(
        objective="val_accuracy",
        sampler=tw.RandomSampler(),
        directory=args.directory,
        project_name="digits",
        overwrite=not args.resume,
        seed=args.seed,
    )
    study.optimize(make_objective(), max_trials=args.trials or 25)
    summary = study.results_summary(num_trials=3)
    print(f"\nBest objective value: {summary.best_objective}")
    print(f"Stored in {study.location}; took {time.time() - started:.1f}s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
