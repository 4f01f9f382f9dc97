"""TunewiseSearchCV against scikit-learn's RandomizedSearchCV and Optuna's OptunaSearchCV.

What it does: on each task, for each seed, the three searches run ``--trials`` candidates
(default 50) on the same training split with the same folds (``StratifiedKFold`` or ``KFold``,
3 folds, shuffled with the seed), every library at its default sampler (tunewise: its
``AutoSampler``, a Gaussian process here; scikit-learn: independent random draws; Optuna:
TPE) with the seed as ``random_state``. Recorded per run: the best mean CV score
(``best_score_``), the score of the refitted best estimator on the held-out 25% test split, and
the wall time. The table shows the mean and standard deviation over seeds (the seed also
draws the train/test split and the folds, so most of that spread is the data's, shared by the
methods), how many seeds each method won on best CV score (ties split), and the paired gain in
best CV score over random search on the same seed (mean and standard error over seeds).
Nothing is cached.

Tasks (offline datasets shipped with scikit-learn):

* ``svc-digits``: ``SVC`` on 1,000 digits (pixels / 16), accuracy; ``C`` in [1e-2, 1e3] and
  ``gamma`` in [1e-5, 1], both log-uniform.
* ``svr-diabetes``: ``SVR`` on diabetes, R^2; ``C`` in [1e-1, 1e4], ``gamma`` in [1e-4, 1e1]
  and ``epsilon`` in [1e-2, 1e2], all log-uniform.

Run (from the repository root; about 1.5 minutes for 5 seeds on two busy cores)::

    nice -n 10 .venv/bin/python benchmarks/sklearn_search.py
    nice -n 10 .venv/bin/python benchmarks/sklearn_search.py --seeds 10   # the recorded run
    .venv/bin/python benchmarks/sklearn_search.py --seeds 2 --trials 20   # smoke run
    .venv/bin/python benchmarks/sklearn_search.py --out sklearn.json

Options: ``--tasks``, ``--methods``, ``--seeds`` (5), ``--trials`` (50), ``--out`` (JSON of
every run). Optional dependencies: ``pip install -e .[bench]`` (optuna, optuna-integration).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np


def _tasks() -> dict[str, dict[str, Any]]:
    from sklearn.datasets import load_diabetes, load_digits
    from sklearn.svm import SVC, SVR

    def digits() -> tuple[np.ndarray, np.ndarray]:
        X, y = load_digits(return_X_y=True)
        keep = np.random.default_rng(0).choice(len(y), 1000, replace=False)
        return X[keep] / 16.0, y[keep]

    return {
        "svc-digits": {
            "data": digits,
            "estimator": SVC,
            "classifier": True,
            "scoring": "accuracy",
            "space": {"C": (1e-2, 1e3), "gamma": (1e-5, 1.0)},
        },
        "svr-diabetes": {
            "data": lambda: load_diabetes(return_X_y=True),
            "estimator": SVR,
            "classifier": False,
            "scoring": "r2",
            "space": {"C": (1e-1, 1e4), "gamma": (1e-4, 1e1), "epsilon": (1e-2, 1e2)},
        },
    }


def run_tunewise(task: dict, cv: Any, trials: int, seed: int) -> Any:
    from tunewise.sklearn import TunewiseSearchCV
    from tunewise.space import Float

    space = {k: Float(k, lo, hi, sampling="log") for k, (lo, hi) in task["space"].items()}
    return TunewiseSearchCV(task["estimator"](), space, n_trials=trials, cv=cv,
                            scoring=task["scoring"], random_state=seed)


def run_sklearn(task: dict, cv: Any, trials: int, seed: int) -> Any:
    from scipy.stats import loguniform
    from sklearn.model_selection import RandomizedSearchCV

    space = {k: loguniform(lo, hi) for k, (lo, hi) in task["space"].items()}
    return RandomizedSearchCV(task["estimator"](), space, n_iter=trials, cv=cv,
                              scoring=task["scoring"], random_state=seed)


def run_optuna(task: dict, cv: Any, trials: int, seed: int) -> Any:
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna_integration import OptunaSearchCV

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = {k: FloatDistribution(lo, hi, log=True) for k, (lo, hi) in task["space"].items()}
    return OptunaSearchCV(task["estimator"](), space, n_trials=trials, cv=cv,
                          scoring=task["scoring"], random_state=seed)


METHODS: dict[str, Callable[..., Any]] = {
    "tunewise": run_tunewise,
    "sklearn-random": run_sklearn,
    "optuna-tpe": run_optuna,
}


def one_run(task_name: str, method: str, seed: int, trials: int) -> dict[str, Any]:
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    task = _tasks()[task_name]
    X, y = task["data"]()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed,
        stratify=y if task["classifier"] else None,
    )
    splitter = StratifiedKFold if task["classifier"] else KFold
    cv = splitter(3, shuffle=True, random_state=seed)
    search = METHODS[method](task, cv, trials, seed)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X_train, y_train)
    seconds = time.perf_counter() - started
    return {
        "task": task_name,
        "method": method,
        "seed": seed,
        "best_cv": float(search.best_score_),
        "test": float(search.score(X_test, y_test)),
        "seconds": seconds,
        "best_params": {k: float(v) for k, v in search.best_params_.items()},
    }


def table(runs: list[dict[str, Any]], tasks: list[str], methods: list[str]) -> str:
    lines = [
        (
            "| task | method | best CV score (mean ± sd) | test score (mean ± sd) | seeds won (CV) "
            "| CV gain over random search, paired (mean ± se) | seconds per search |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for task in tasks:
        by_seed: dict[int, dict[str, float]] = {}
        for r in runs:
            if r["task"] == task:
                by_seed.setdefault(r["seed"], {})[r["method"]] = r["best_cv"]
        wins = {m: 0.0 for m in methods}
        for scores in by_seed.values():
            if len(scores) < len(methods):
                continue
            top = max(scores.values())
            winners = [m for m, v in scores.items() if v == top]
            for m in winners:
                wins[m] += 1.0 / len(winners)
        for m in methods:
            rs = [r for r in runs if r["task"] == task and r["method"] == m]
            if not rs:
                continue
            cv = [r["best_cv"] for r in rs]
            test = [r["test"] for r in rs]
            secs = [r["seconds"] for r in rs]
            sd = statistics.stdev if len(rs) > 1 else (lambda v: 0.0)
            gains = [s[m] - s["sklearn-random"] for s in by_seed.values()
                     if m in s and "sklearn-random" in s]
            gain = (f"{statistics.mean(gains):+.4f} ± {sd(gains) / len(gains) ** 0.5:.4f}"
                    if gains and m != "sklearn-random" else "")
            lines.append(
                f"| {task} | {m} | {statistics.mean(cv):.4f} ± {sd(cv):.4f} | "
                f"{statistics.mean(test):.4f} ± {sd(test):.4f} | {wins[m]:.3g} of {len(by_seed)} "
                f"| {gain} | {statistics.mean(secs):.1f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(_tasks()))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.tasks) - set(_tasks()))
    if unknown:
        parser.error(f"unknown tasks {unknown}; choose from {sorted(_tasks())}")
    runs = []
    started = time.perf_counter()
    for task in args.tasks:
        for seed in range(args.seeds):
            for method in args.methods:
                r = one_run(task, method, seed, args.trials)
                runs.append(r)
                print(f"{task} {method} seed={seed}: best CV {r['best_cv']:.4f}, test "
                      f"{r['test']:.4f}, {r['seconds']:.1f}s", file=sys.stderr, flush=True)
    print(f"\n{args.trials} candidates per search, {args.seeds} seeds, 3-fold CV; "
          f"wall time {time.perf_counter() - started:.0f} s\n")
    print(table(runs, args.tasks, args.methods))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "runs": runs}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
