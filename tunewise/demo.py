"""The main job of ``make demo``: a real search on scikit-learn's digits, stored in SQLite.

It tunes a classifier with a conditional search space (an SVM or a random forest, each with
its own hyperparameters), scores each configuration by 3-fold cross-validated accuracy, stores
every trial in ``demo_runs/digits/tunewise.db`` and prints the summary. Run it again with
``--resume`` to see a stored study resumed instead of started afresh.

    python -m tunewise.demo [--trials 25] [--seed 0] [--directory demo_runs] [--resume]
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


def main(argv: list[str] | None = None) -> int:
    import tunewise as tw

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--directory", default="demo_runs")
    parser.add_argument("--resume", action="store_true", help="resume the stored study")
    args = parser.parse_args(argv)

    started = time.time()
    study = tw.Study(
        objective="val_accuracy",
        sampler=tw.RandomSampler(),
        directory=args.directory,
        project_name="digits",
        overwrite=not args.resume,
        seed=args.seed,
    )
    study.optimize(make_objective(), max_trials=args.trials)
    summary = study.results_summary(num_trials=3)
    print(f"\nBest objective value: {summary.best_objective}")
    print(f"Stored in {study.location}; took {time.time() - started:.1f}s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
