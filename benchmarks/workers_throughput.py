"""Worker throughput: finished trials per second with 1, 2 and 4 worker processes on one study.

For each backend (a SQLite file; PostgreSQL at ``--postgres`` if a server answers there) and
each worker count W in ``--workers`` (1 2 4), the same study of ``--trials`` trials of a
trivial objective (``(x - 1)**2 + y``, x a float in [-5, 5], y an int in [0, 10], random
search) is run by W forked processes, each an independent worker on the shared storage, for:

* tunewise: ``Study(storage=url, project_name=...)`` then ``optimize(fn, max_trials=N)`` in
  every worker (``max_trials`` counts for the study);
* Optuna: ``optuna.load_study(storage=RDBStorage(url))`` then ``optimize(fn, callbacks=
  [MaxTrialsCallback(N, states=(COMPLETE,))])`` in every worker (Optuna's documented way to cap
  a study shared by workers), ``RandomSampler``.

Both studies are created in the parent before the clock starts; the time is from starting the
workers to the last one's exit, so it includes each worker opening the storage. Throughput is
completed trials (counted in the storage afterwards) / seconds. tunewise must store exactly N
completed trials with unique numbers (checked); Optuna may overshoot N by a few (its cap is
checked after each trial), and its actual count is used. Each point is run ``--repeats``
times, the order of the two libraries alternating; the best throughput of each is reported.

Prints trials/s for both and the ratio tunewise / Optuna at every point; exits 1 if a ratio
is below 1 (goal: at least Optuna's throughput everywhere).

Run:  .venv/bin/python benchmarks/workers_throughput.py
      .venv/bin/python benchmarks/workers_throughput.py --trials 300 --repeats 3 --out w.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import uuid

import optuna
import sqlalchemy as sa

import tunewise

FORK = multiprocessing.get_context("fork")


def tw_objective(hp):
    x = hp.Float("x", -5.0, 5.0)
    y = hp.Int("y", 0, 10)
    return (x - 1.0) ** 2 + y


def optuna_objective(trial):
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_int("y", 0, 10)
    return (x - 1.0) ** 2 + y


# ---------------------------------------------------------------------------- tunewise
def _tw_study(url: str, name: str) -> tunewise.Study:
    return tunewise.Study(
        "loss", tunewise.RandomSampler(), storage=url, project_name=name, seed=0, verbose=0
    )


def _tw_worker(url: str, name: str, n: int) -> None:
    study = _tw_study(url, name)
    study.optimize(tw_objective, max_trials=n)
    study.storage.close()


def tw_prepare(url: str, name: str) -> None:
    _tw_study(url, name).storage.close()


def tw_count(url: str, name: str, n: int) -> int:
    study = _tw_study(url, name)
    done = [t for t in study.trials if t.state is tunewise.TrialState.COMPLETED]
    numbers = sorted(t.number for t in study.trials)
    assert numbers == list(range(n)) and len(done) == n, (
        f"tunewise stored {len(study.trials)} trials ({len(done)} completed), numbers "
        f"{numbers[:5]}...; expected exactly {n} completed, numbered 0..{n - 1}"
    )
    study.storage.delete_study(study.study_id)
    study.storage.close()
    return len(done)


# ---------------------------------------------------------------------------- Optuna
def _optuna_worker(url: str, name: str, n: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url)
    study = optuna.load_study(
        study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler()
    )
    cap = optuna.study.MaxTrialsCallback(n, states=(optuna.trial.TrialState.COMPLETE,))
    study.optimize(optuna_objective, callbacks=[cap])
    storage.engine.dispose()


def optuna_prepare(url: str, name: str) -> None:
    storage = optuna.storages.RDBStorage(url)
    optuna.create_study(study_name=name, storage=storage)
    storage.engine.dispose()


def optuna_count(url: str, name: str, n: int) -> int:
    storage = optuna.storages.RDBStorage(url)
    study = optuna.load_study(study_name=name, storage=storage)
    done = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    assert done >= n, f"Optuna stored {done} completed trials, fewer than {n}"
    optuna.delete_study(study_name=name, storage=storage)
    storage.engine.dispose()
    return done


LIBS = {
    "tunewise": (tw_prepare, _tw_worker, tw_count),
    "optuna": (optuna_prepare, _optuna_worker, optuna_count),
}


def run_point(lib: str, url: str, workers: int, n: int) -> float:
    """Trials per second of ``workers`` processes finishing an ``n``-trial study."""
    prepare, worker, count = LIBS[lib]
    name = f"bench-{lib}-{uuid.uuid4().hex[:8]}"
    prepare(url, name)
    procs = [FORK.Process(target=worker, args=(url, name, n)) for _ in range(workers)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    seconds = time.perf_counter() - start
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    assert not bad, f"{lib}: worker exit codes {bad}"
    return count(url, name, n) / seconds


def postgres_ok(url: str) -> str | None:
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure: skip PostgreSQL, say why
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=200, help="trials per study (200)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=2, help="runs of each point (2)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "TUNEWISE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="PostgreSQL URL ('' to skip PostgreSQL)",
    )
    parser.add_argument("--out", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.trials < 1 or args.repeats < 1 or min(args.workers) < 1:
        parser.error("--trials, --repeats and --workers must be >= 1")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="tunewise-workers-") as workdir:
        backends = {"sqlite": f"sqlite:///{os.path.join(workdir, 'shared.db')}"}
        if args.postgres:
            problem = postgres_ok(args.postgres)
            if problem is None:
                backends["postgresql"] = args.postgres
            else:
                print(f"PostgreSQL skipped: no server at {args.postgres} ({problem})")
        for url in backends.values():  # warm-up: create both schemas, import paths; not timed
            for lib in LIBS:
                run_point(lib, url, 1, 5)
        rates: dict[str, dict[str, list[float]]] = {}
        for backend, url in backends.items():
            for w in args.workers:
                key = f"{backend}/{w}"
                rates[key] = {lib: [] for lib in LIBS}
                for r in range(args.repeats):
                    order = list(LIBS) if r % 2 == 0 else list(LIBS)[::-1]
                    for lib in order:
                        rate = run_point(lib, url, w, args.trials)
                        rates[key][lib].append(rate)
                        print(
                            f"  {key:14s} repeat {r + 1} {lib:9s} {rate:9.1f} trials/s", flush=True
                        )

    print(f"\n{args.trials} trials per study, best of {args.repeats} repeat(s), trials/s")
    print("| backend    | workers | tunewise | Optuna | tunewise / Optuna |")
    print("|------------|--------:|---------:|-------:|------------------:|")
    best = {k: {lib: max(v) for lib, v in libs.items()} for k, libs in rates.items()}
    ratios = {k: b["tunewise"] / b["optuna"] for k, b in best.items()}
    for key, b in best.items():
        backend, w = key.split("/")
        print(
            f"| {backend:10s} | {w:>7s} | {b['tunewise']:8.1f} | {b['optuna']:6.1f} | "
            f"{ratios[key]:17.2f} |"
        )
    if args.out:
        versions = {
            "python": platform.python_version(),
            "tunewise": tunewise.__version__,
            "optuna": optuna.__version__,
            "sqlalchemy": sa.__version__,
        }
        with open(args.out, "w") as f:
            json.dump(
                {
                    "trials": args.trials,
                    "repeats": args.repeats,
                    "rates": rates,
                    "best": best,
                    "ratios": ratios,
                    "cpus": os.cpu_count(),
                    "versions": versions,
                },
                f,
                indent=2,
            )
    below = {k: round(v, 3) for k, v in ratios.items() if v < 1}
    if below:
        print(f"FAIL: tunewise below Optuna's throughput at {below}")
        return 1
    print(
        f"OK: tunewise at or above Optuna's throughput at every point (min ratio "
        f"{min(ratios.values()):.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
