"""Multi-objective benchmark (issue 19): hypervolume at 25/50/100 trials against Optuna.

Problems (everything minimised):

* ``zdt1``, ``zdt2``, ``zdt3``: Zitzler, Deb and Thiele (2000), ``d`` = 4 inputs in [0, 1];
  reference point (1.1, 1.1); true front hypervolume from a dense sample of the known front
  (``g = 1``).
* ``dtlz2``: Deb et al. (2002), 3 objectives, ``d`` = 5 inputs in [0, 1]; reference point
  (1.1, 1.1, 1.1); the front is the unit sphere's positive octant, hypervolume
  ``1.1^3 - pi/6``.
* ``mlp``: scikit-learn ``MLPClassifier`` on ``load_breast_cancer`` (one fixed, stratified
  70/30 split, standardised; ``random_state=0``, 60 Adam epochs): validation error against
  the number of parameters (weights and biases) divided by the largest possible count.
  Deterministic. Reference point (0.5, 1.05); no known front, so its hypervolume is divided
  by the hypervolume of the union of every run's points (all methods, all seeds).

Methods: ``tw-default`` (a Pareto ``tw.Study`` with its default sampler: ParEGO over the
default model sampler), ``tw-random`` (``tw.RandomSampler``), ``optuna-nsga2``
(``NSGAIISampler``), ``optuna-tpe`` (``TPESampler(multivariate=True)``) and ``optuna-gp``
(``GPSampler``); every library with its defaults and the seed. Each (problem, method, seed)
is one job run to 100 trials (a run that passes ``--cap`` seconds stops there; the budgets
it did not reach take the hypervolume it had, and the table marks them). The hypervolume
at b trials is that of the first b trials' points.

    .venv/bin/python benchmarks/multiobjective.py --seeds 10 --workers 2

Raw runs go to ``benchmarks/results/multiobjective_<problem>.jsonl`` (one line per run; a
rerun skips the runs already there; ``--fresh`` starts over); the table is printed from
them (``--table`` prints it without running anything).
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

BUDGETS = (25, 50, 100)
RESULTS = ROOT / "results"
METHODS = ("tw-default", "tw-random", "optuna-nsga2", "optuna-tpe", "optuna-gp")


# ---------------------------------------------------------------------- problems
def zdt(kind: int, x: np.ndarray) -> list[float]:
    f1 = float(x[0])
    g = 1.0 + 9.0 * float(np.mean(x[1:]))
    if kind == 1:
        h = 1.0 - math.sqrt(f1 / g)
    elif kind == 2:
        h = 1.0 - (f1 / g) ** 2
    else:
        h = 1.0 - math.sqrt(f1 / g) - (f1 / g) * math.sin(10.0 * math.pi * f1)
    return [f1, g * h]


def dtlz2(x: np.ndarray, k: int = 3) -> list[float]:
    g = float(np.sum((x[k - 1:] - 0.5) ** 2))
    th = x[: k - 1] * math.pi / 2
    return [
        (1 + g) * math.cos(th[0]) * math.cos(th[1]),
        (1 + g) * math.cos(th[0]) * math.sin(th[1]),
        (1 + g) * math.sin(th[0]),
    ]


_MLP_DATA = None


def _mlp_data():
    global _MLP_DATA
    if _MLP_DATA is None:
        from sklearn.datasets import load_breast_cancer
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        X, y = load_breast_cancer(return_X_y=True)
        Xtr, Xva, ytr, yva = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
        sc = StandardScaler().fit(Xtr)
        _MLP_DATA = (sc.transform(Xtr), sc.transform(Xva), ytr, yva)
    return _MLP_DATA


MLP_MAX_UNITS = 64
MLP_MAX_PARAMS = 30 * MLP_MAX_UNITS + MLP_MAX_UNITS + MLP_MAX_UNITS * MLP_MAX_UNITS + \
    MLP_MAX_UNITS + MLP_MAX_UNITS + 1


def mlp(cfg: dict) -> list[float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    Xtr, Xva, ytr, yva = _mlp_data()
    layers = [int(cfg["units1"])]
    if int(cfg["layers"]) == 2:
        layers.append(int(cfg["units2"]))
    model = MLPClassifier(tuple(layers), alpha=cfg["alpha"], learning_rate_init=cfg["lr"],
                          max_iter=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(Xtr, ytr)
    err = 1.0 - float(model.score(Xva, yva))
    params = sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_)
    return [err, params / MLP_MAX_PARAMS]


def _front_hv(F: np.ndarray, ref) -> float:
    from tunewise.pareto import hypervolume

    return hypervolume(F, ref)


@functools.cache
def _true_hv(name: str) -> float | None:
    t = np.linspace(0.0, 1.0, 5001)
    if name == "zdt1":
        return _front_hv(np.c_[t, 1 - np.sqrt(t)], (1.1, 1.1))
    if name == "zdt2":
        return _front_hv(np.c_[t, 1 - t**2], (1.1, 1.1))
    if name == "zdt3":
        return _front_hv(np.c_[t, 1 - np.sqrt(t) - t * np.sin(10 * math.pi * t)], (1.1, 1.1))
    if name == "dtlz2":
        return 1.1**3 - math.pi / 6
    return None


# space: (name, low, high, type, log); type "float" | "int"
UNIT = lambda d: [(f"x{i}", 0.0, 1.0, "float", False) for i in range(d)]
PROBLEMS = {
    "zdt1": dict(space=UNIT(4), k=2, ref=(1.1, 1.1), f=lambda c: zdt(1, _vec(c, 4))),
    "zdt2": dict(space=UNIT(4), k=2, ref=(1.1, 1.1), f=lambda c: zdt(2, _vec(c, 4))),
    "zdt3": dict(space=UNIT(4), k=2, ref=(1.1, 1.1), f=lambda c: zdt(3, _vec(c, 4))),
    "dtlz2": dict(space=UNIT(5), k=3, ref=(1.1, 1.1, 1.1), f=lambda c: dtlz2(_vec(c, 5))),
    "mlp": dict(
        space=[("layers", 1, 2, "int", False), ("units1", 1, MLP_MAX_UNITS, "int", True),
               ("units2", 1, MLP_MAX_UNITS, "int", True), ("alpha", 1e-6, 1e-1, "float", True),
               ("lr", 1e-4, 3e-1, "float", True)],
        k=2, ref=(0.5, 1.05), f=mlp),
}


def _vec(cfg: dict, d: int) -> np.ndarray:
    return np.array([cfg[f"x{i}"] for i in range(d)], dtype=float)


# ---------------------------------------------------------------------- runners
def _run_tunewise(prob, method, seed, n, cap):
    import tunewise as tw

    objs = [tw.Objective(f"f{j}", "min") for j in range(prob["k"])]
    # tw.Study's own default sampler is random search; the model-based default (AutoSampler,
    # what BayesianOptimization and the Keras facade use) is wrapped in ParEGOSampler.
    sampler = tw.RandomSampler() if method == "tw-random" else tw.AutoSampler()
    kw = {"sampler": sampler}
    study = tw.Study(objs, pareto=True, storage="memory", seed=seed, verbose=0, **kw)
    points: list[list[float]] = []

    def fn(hp):
        cfg = {}
        for name, lo, hi, typ, log in prob["space"]:
            s = "log" if log else "linear"
            if typ == "int":
                cfg[name] = hp.Int(name, int(lo), int(hi), sampling=s)
            else:
                cfg[name] = hp.Float(name, lo, hi, sampling=s)
        f = prob["f"](cfg)
        points.append(f)
        return {f"f{j}": v for j, v in enumerate(f)}

    study.optimize(fn, max_trials=n, timeout=cap)
    return points


def _run_optuna(prob, method, seed, n, cap):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.simplefilter("ignore")
    if method == "optuna-nsga2":
        sampler = optuna.samplers.NSGAIISampler(seed=seed)
    elif method == "optuna-tpe":
        sampler = optuna.samplers.TPESampler(multivariate=True, seed=seed)
    else:
        sampler = optuna.samplers.GPSampler(seed=seed)
    study = optuna.create_study(directions=["minimize"] * prob["k"], sampler=sampler)
    points: list[list[float]] = []

    def fn(trial):
        cfg = {}
        for name, lo, hi, typ, log in prob["space"]:
            if typ == "int":
                cfg[name] = trial.suggest_int(name, int(lo), int(hi), log=log)
            else:
                cfg[name] = trial.suggest_float(name, lo, hi, log=log)
        f = prob["f"](cfg)
        points.append(f)
        return tuple(f)

    study.optimize(fn, n_trials=n, timeout=cap)
    return points


def run_job(problem: str, method: str, seed: int, n: int, cap: float) -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    prob = PROBLEMS[problem]
    start = time.perf_counter()
    runner = _run_tunewise if method.startswith("tw-") else _run_optuna
    points = runner(prob, method, seed, n, cap)
    seconds = time.perf_counter() - start
    hv = {}
    for b in BUDGETS:
        hv[str(b)] = _front_hv(np.array(points[:b], dtype=float), prob["ref"])
    return dict(problem=problem, method=method, seed=seed, trials=len(points),
                capped=len(points) < n, seconds=round(seconds, 2), hv=hv, points=points)


# ---------------------------------------------------------------------- table
def load(problems) -> list[dict]:
    rows = []
    for p in problems:
        path = RESULTS / f"multiobjective_{p}.jsonl"
        if path.exists():
            rows += [json.loads(line) for line in path.read_text().splitlines() if line]
    return rows


def table(problems, methods) -> str:
    rows = load(problems)
    norm = {}
    for p in problems:
        true = _true_hv(p)
        if true is None:
            pts = [q for r in rows if r["problem"] == p for q in r["points"]]
            true = _front_hv(np.array(pts), PROBLEMS[p]["ref"]) if pts else 1.0
        norm[p] = true
    lines = []
    head = f"{'problem':8} {'method':13} " + " ".join(f"{'hv@' + str(b):>12}" for b in BUDGETS)
    head += f" {'seeds':>5} {'s/run':>7}"
    lines.append(head)
    means: dict[tuple[str, int], list[float]] = {}
    for p in problems:
        for m in methods:
            rs = [r for r in rows if r["problem"] == p and r["method"] == m]
            if not rs:
                continue
            cells = []
            for b in BUDGETS:
                v = np.array([r["hv"][str(b)] for r in rs]) / norm[p]
                capped = sum(r["trials"] < b for r in rs)
                mark = f"*{capped}" if capped else ""
                cells.append(f"{v.mean():.3f}±{v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else 0:.3f}{mark}")
                means.setdefault((m, b), []).append(float(v.mean()))
            secs = np.mean([r["seconds"] for r in rs])
            lines.append(f"{p:8} {m:13} " + " ".join(f"{c:>12}" for c in cells)
                         + f" {len(rs):>5} {secs:>7.1f}")
    lines.append("")
    lines.append(f"{'mean over problems':22} " + " ".join(f"{'hv@' + str(b):>7}" for b in BUDGETS))
    for m in methods:
        vals = [means.get((m, b)) for b in BUDGETS]
        if not all(vals):
            continue
        n = len(vals[0])
        lines.append(f"{m:22} " + " ".join(f"{np.mean(v):>7.3f}" for v in vals) + f"  ({n} problems)")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", default=",".join(PROBLEMS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=max(BUDGETS))
    ap.add_argument("--cap", type=float, default=120.0, help="seconds per run at most")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--table", action="store_true", help="print the table only")
    ap.add_argument("--tag", default="", help="suffix on the results files (experiments)")
    a = ap.parse_args(argv)
    problems = a.problems.split(",")
    methods = a.methods.split(",")
    RESULTS.mkdir(exist_ok=True)
    if not a.table:
        done = {(r["problem"], r["method"], r["seed"]) for r in ([] if a.fresh else load(problems))}
        if a.fresh:
            for p in problems:
                (RESULTS / f"multiobjective_{p}.jsonl").unlink(missing_ok=True)
        jobs = [(p, m, s) for s in range(a.first_seed, a.first_seed + a.seeds)
                for p in problems for m in methods if (p, m, s) not in done]
        with ProcessPoolExecutor(a.workers) as ex:
            futs = {ex.submit(run_job, p, m, s, a.trials, a.cap): (p, m, s) for p, m, s in jobs}
            for fut in as_completed(futs):
                r = fut.result()
                with open(RESULTS / f"multiobjective_{r['problem']}.jsonl", "a") as fh:
                    fh.write(json.dumps(r) + "\n")
                print(f"{r['problem']} {r['method']} seed {r['seed']}: "
                      f"hv@100 {r['hv']['100']:.4f} ({r['seconds']:.1f}s)", flush=True)
    print(table(problems, methods))


if __name__ == "__main__":
    main()
