"""Start-up time: ``import tunewise`` against ``import optuna``, and the two commands' ``--help``.

Every measurement is a fresh interpreter (``sys.executable``), so nothing is cached in
``sys.modules``; the cases run interleaved, one of each per round with the order rotated from
round to round (so that a busy spell of the machine falls on every case alike), after one
untimed warm-up run of each (which also writes the ``.pyc`` files).

Cases (seconds):

* ``python``             the interpreter starting and exiting (``-c pass``): the floor of
                         every other process time;
* ``import tunewise``    the import alone, timed inside the child with ``perf_counter``;
* ``import optuna``      the same for Optuna;
* ``tunewise.Study``     ``import tunewise`` then its first use of ``tunewise.Study`` (the
                         engine, samplers, storage): what a search pays once, for context;
* ``tunewise --help``    the whole process of the installed command, wall time;
* ``optuna --help``      the same for Optuna's command (skipped if it is not installed).

Prints the median and the interquartile range (IQR: 25th to 75th percentile) of each case,
and the ratios tunewise / optuna of the medians. Exits 1 if the headline ratio
``import tunewise / import optuna`` is 1 or more (the target of issue #16: no slower).

Run:  .venv/bin/python benchmarks/import_time.py                 (15 rounds, ~30 s)
      .venv/bin/python benchmarks/import_time.py --rounds 30 --out import_time.json
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

_TIMED_IMPORT = (
    "import time; t = time.perf_counter(); {stmt}; "
    "print(repr(time.perf_counter() - t))"
)


def _script(name: str) -> str | None:
    """The console script ``name`` installed beside this interpreter, else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.access(beside, os.X_OK) else shutil.which(name)


def cases() -> dict[str, tuple[str, list[str]]]:
    """case name -> (kind, argv): kind "inner" prints its own time, "wall" is timed whole."""
    out = {
        "python": ("wall", [sys.executable, "-c", "pass"]),
        "import tunewise": ("inner", [sys.executable, "-c",
                                      _TIMED_IMPORT.format(stmt="import tunewise")]),
        "import optuna": ("inner", [sys.executable, "-c",
                                    _TIMED_IMPORT.format(stmt="import optuna")]),
        "tunewise.Study": ("inner", [sys.executable, "-c", _TIMED_IMPORT.format(
            stmt="import tunewise; tunewise.Study")]),
    }
    for name in ("tunewise", "optuna"):
        script = _script(name)
        if script is not None:
            out[f"{name} --help"] = ("wall", [script, "--help"])
    return out


def run_once(kind: str, argv: list[str]) -> float:
    """Seconds of one fresh process (``wall``) or of the statement it timed (``inner``)."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-500:]}")
    return float(done.stdout.strip().splitlines()[-1]) if kind == "inner" else wall


def measure(rounds: int) -> dict[str, list[float]]:
    """``rounds`` timings of every case, interleaved, the order rotated each round."""
    table = cases()
    names = list(table)
    for name in names:  # warm-up: .pyc files, disk cache
        run_once(*table[name])
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            times[name].append(run_once(*table[name]))
    return times


def summarize(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    out = {}
    for name, values in times.items():
        q1, _median, q3 = statistics.quantiles(values, n=4, method="inclusive")
        out[name] = {"median": statistics.median(values), "q1": q1, "q3": q3, "n": len(values)}
    return out


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds (default 15)")
    parser.add_argument("--out", help="write the timings and the summary as JSON")
    args = parser.parse_args(argv)

    times = measure(args.rounds)
    summary = summarize(times)
    env = {
        "python": platform.python_version(),
        "tunewise": _version("tunewise"),
        "optuna": _version("optuna"),
        "cpus": os.cpu_count(),
        "rounds": args.rounds,
    }
    print("  ".join(f"{k} {v}" for k, v in env.items()))
    print(f"{'case':<18} {'median ms':>10} {'IQR ms':>17}")
    for name, s in summary.items():
        print(f"{name:<18} {1e3 * s['median']:>10.1f} {1e3 * s['q1']:>8.1f}-{1e3 * s['q3']:<8.1f}")
    ratios = {}
    for ours, theirs in (("import tunewise", "import optuna"),
                         ("tunewise --help", "optuna --help")):
        if ours in summary and theirs in summary:
            ratios[f"{ours} / {theirs}"] = summary[ours]["median"] / summary[theirs]["median"]
    for name, value in ratios.items():
        print(f"ratio {name}: {value:.3f}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"env": env, "times": times, "summary": summary, "ratios": ratios}, f,
                      indent=2)
    return 0 if ratios["import tunewise / import optuna"] < 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
