"""Worker throughput of this tunewise against another checkout of it (e.g. the last release).

The question it answers: did a change to the engine or the storage make workers slower?
For each backend (a SQLite file; PostgreSQL at ``--postgres``) and each worker count W, the
same study as ``workers_throughput.py`` (N trials of ``(x - 1)**2 + y``, random search,
``max_trials`` for the study) is run by W worker processes of *this* tunewise and by W of the
checkout at ``--baseline`` (its package imported from there with ``PYTHONPATH``), alternating
which goes first, after one untimed warm-up run of each. Every worker is a fresh interpreter that imports tunewise and opens the study,
says it is ready and waits; the clock runs from releasing all of them at once to the last
exit, so import and start-up cost are left out for both. Throughput = completed trials / s;
best of ``--repeats``; prints the ratio this / baseline at every point.

The two versions must be able to open each other's database, or each gets a database of its
own: pass ``--postgres-baseline`` (another PostgreSQL database) when their schemas differ; the
SQLite files are always separate.

Run:  .venv/bin/python benchmarks/workers_against_checkout.py --baseline /path/to/old/checkout \\
          --postgres postgresql://postgres@127.0.0.1:5432/bench_new \\
          --postgres-baseline postgresql://postgres@127.0.0.1:5432/bench_base
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid

WORKER = r"""
import sys
import tunewise

mode, url, name, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def objective(hp):
    x = hp.Float("x", -5.0, 5.0)
    y = hp.Int("y", 0, 10)
    return (x - 1.0) ** 2 + y

study = tunewise.Study("loss", tunewise.RandomSampler(), storage=url, project_name=name,
                       seed=0, verbose=0)
if mode == "run":
    print("ready", flush=True)
    sys.stdin.readline()
    study.optimize(objective, max_trials=n)
elif mode == "count":  # then delete it: the next point starts from an empty database
    print(sum(t.state is tunewise.TrialState.COMPLETED for t in study.trials), flush=True)
    study.storage.delete_study(getattr(study, "study_id", None) or study._study_id)
study.storage.close()
"""


def run_point(pythonpath: str, url: str, workers: int, n: int) -> float:
    """Completed trials per second of ``workers`` processes sharing one ``n``-trial study."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": pythonpath}
    def script(mode: str) -> list[str]:
        return [sys.executable, "-c", WORKER, mode, url, name, str(n)]

    subprocess.run(script("prepare"), env=env, check=True)  # the study exists before the clock
    procs = [
        subprocess.Popen(script("run"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=env)
        for _ in range(workers)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    start = time.perf_counter()
    for p in procs:
        p.stdin.write("\n")
        p.stdin.flush()
    for p in procs:
        p.communicate()
        assert p.returncode == 0
    seconds = time.perf_counter() - start
    count = subprocess.run(script("count"), env=env, check=True, capture_output=True, text=True)
    done = int(count.stdout.split()[-1])
    assert done == n, f"{done} completed trials, expected {n}"
    return done / seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--baseline", required=True, help="the other checkout's root folder")
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", default="", help="PostgreSQL URL for this tunewise")
    parser.add_argument("--postgres-baseline", default="", help="and for the baseline")
    args = parser.parse_args(argv)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    versions = {"this": here, "baseline": os.path.abspath(args.baseline)}
    with tempfile.TemporaryDirectory(prefix="tunewise-against-") as workdir:
        backends = {
            "sqlite": {v: f"sqlite:///{os.path.join(workdir, v + '.db')}" for v in versions}
        }
        if args.postgres and args.postgres_baseline:
            backends["postgresql"] = {"this": args.postgres, "baseline": args.postgres_baseline}
        best: dict[str, dict[str, float]] = {}
        for urls in backends.values():  # warm-up, not timed: schemas, caches, first connections
            for v, path in versions.items():
                run_point(path, urls[v], 1, 20)
        for backend, urls in backends.items():
            for w in args.workers:
                key = f"{backend}/{w}"
                best[key] = {v: 0.0 for v in versions}
                for r in range(args.repeats):
                    order = list(versions) if r % 2 == 0 else list(versions)[::-1]
                    for v in order:
                        rate = run_point(versions[v], urls[v], w, args.trials)
                        best[key][v] = max(best[key][v], rate)
                        print(f"  {key:14s} repeat {r + 1} {v:9s} {rate:8.1f} trials/s", flush=True)
    print(f"\n{args.trials} trials per study, best of {args.repeats}, trials/s")
    print("| backend    | workers | this   | baseline | this / baseline |")
    print("|------------|--------:|-------:|---------:|----------------:|")
    for key, b in best.items():
        backend, w = key.split("/")
        print(
            f"| {backend:10s} | {w:>7s} | {b['this']:6.1f} | {b['baseline']:8.1f} | "
            f"{b['this'] / b['baseline']:15.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
