"""Storage overhead: tunewise's SQLite storage against Optuna's, on a trivial objective.

Measures, in one process and one temporary directory, the wall time of N trials of
``(x - 1)**2 + y`` (x a float in [-5, 5], y an int in [0, 10]) under random search for:

1. tunewise, default storage (the SQLite file ``<directory>/<project_name>/tunewise.db``);
2. tunewise, ``storage="memory"``;
3. Optuna, ``RDBStorage("sqlite:///...")`` (a fresh file) with ``RandomSampler``;
4. Optuna, in-memory storage with ``RandomSampler``.

The objective costs microseconds, so the time is the library's own per-trial overhead:
sampling, bookkeeping and (for 1 and 3) the database writes. Each case gets an untimed
5-trial warm-up; every run starts from a fresh file or project; the order of the four runs is
rotated across repeats (against machine-noise bias) and the best time of each is reported.
After every tunewise SQLite run the project is reopened and must hold exactly N completed
trials, so the benchmark cannot pass by storing nothing.

Prints seconds, ms per trial and the ratios tunewise_sqlite / optuna_sqlite (the headline),
tunewise_sqlite / tunewise_memory and optuna_sqlite / optuna_memory. Exits 1 if the headline
ratio is >= 1.

Run:  make bench   (that is, .venv/bin/python benchmarks/storage_overhead.py)
      .venv/bin/python benchmarks/storage_overhead.py --trials 200 --repeats 3 --out bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

import optuna

import tunewise

CASES = ("tunewise_sqlite", "tunewise_memory", "optuna_sqlite", "optuna_memory")


def tw_objective(hp):
    x = hp.Float("x", -5.0, 5.0)
    y = hp.Int("y", 0, 10)
    return (x - 1.0) ** 2 + y


def optuna_objective(trial):
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_int("y", 0, 10)
    return (x - 1.0) ** 2 + y


def run_tunewise(n: int, workdir: str, tag: str, memory: bool) -> float:
    kwargs = {"storage": "memory"} if memory else {"directory": workdir, "project_name": tag}
    study = tunewise.Study("loss", tunewise.RandomSampler(), seed=0, verbose=0, **kwargs)
    start = time.perf_counter()
    study.optimize(tw_objective, max_trials=n)
    elapsed = time.perf_counter() - start
    if memory:
        return elapsed
    study.storage.close()
    # Correctness: a fresh Study on the same project must see every trial, completed.
    reopened = tunewise.Study(
        "loss", tunewise.RandomSampler(), directory=workdir, project_name=tag, seed=0, verbose=0
    )
    done = [t for t in reopened.trials if t.state is tunewise.TrialState.COMPLETED]
    assert len(reopened.trials) == len(done) == n, (
        f"{tag}: reopened storage holds {len(reopened.trials)} trials, {len(done)} completed; "
        f"expected {n} completed"
    )
    assert all(t.score is not None and set(t.values) == {"x", "y"} for t in done)
    reopened.storage.close()
    return elapsed


def run_optuna(n: int, workdir: str, tag: str, memory: bool) -> float:
    storage = None
    if not memory:
        storage = optuna.storages.RDBStorage(f"sqlite:///{os.path.join(workdir, tag + '.db')}")
    study = optuna.create_study(storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    start = time.perf_counter()
    study.optimize(optuna_objective, n_trials=n)
    elapsed = time.perf_counter() - start
    assert len(study.trials) == n, f"{tag}: optuna stored {len(study.trials)} trials, not {n}"
    if storage is not None:
        storage.engine.dispose()
    return elapsed


def run_case(case: str, n: int, workdir: str, tag: str) -> float:
    runner = run_tunewise if case.startswith("tunewise") else run_optuna
    return runner(n, workdir, tag, memory=case.endswith("memory"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=1000, help="trials per run (1000)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each case (1)")
    parser.add_argument("--out", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.trials < 1 or args.repeats < 1:
        parser.error("--trials and --repeats must be >= 1")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    n = args.trials
    times: dict[str, list[float]] = {case: [] for case in CASES}
    with tempfile.TemporaryDirectory(prefix="tunewise-bench-") as workdir:
        for case in CASES:  # warm-up (imports, SQL compilation caches); not timed
            run_case(case, 5, workdir, f"{case}_warmup")
        for r in range(args.repeats):
            k = r % len(CASES)  # rotate: each case takes each position once in 4 repeats
            for case in CASES[k:] + CASES[:k]:
                seconds = run_case(case, n, workdir, f"{case}_{r}")
                times[case].append(seconds)
                print(f"  repeat {r + 1}/{args.repeats} {case:16s} {seconds:8.3f} s", flush=True)

    best = {case: min(ts) for case, ts in times.items()}
    ratios = {
        "tunewise_sqlite/optuna_sqlite": best["tunewise_sqlite"] / best["optuna_sqlite"],
        "tunewise_sqlite/tunewise_memory": best["tunewise_sqlite"] / best["tunewise_memory"],
        "optuna_sqlite/optuna_memory": best["optuna_sqlite"] / best["optuna_memory"],
    }
    print(f"\n{n} trials, best of {args.repeats} repeat(s)")
    print(f"{'case':18s} {'seconds':>9s} {'ms/trial':>9s}")
    for case in CASES:
        print(f"{case:18s} {best[case]:9.3f} {1000 * best[case] / n:9.3f}")
    print()
    for name, value in ratios.items():
        print(f"{name:34s} {value:8.3f}")

    headline = ratios["tunewise_sqlite/optuna_sqlite"]
    if args.out:
        versions = {"python": platform.python_version(), "tunewise": tunewise.__version__,
                    "optuna": optuna.__version__}
        report = {"trials": n, "repeats": args.repeats, "seconds": times, "best_seconds": best,
                  "ms_per_trial": {c: 1000 * s / n for c, s in best.items()},
                  "ratios": ratios, "versions": versions}
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
    if headline >= 1:
        print(f"FAIL: tunewise SQLite is not faster than Optuna SQLite (ratio {headline:.3f})")
        return 1
    print(f"OK: tunewise SQLite takes {headline:.3f}x the time of Optuna SQLite")
    return 0


if __name__ == "__main__":
    sys.exit(main())
