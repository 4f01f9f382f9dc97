"""tunewise's Keras tuners against keras-tuner: the same small search, each in its own process.

For each library and algorithm (``RandomSearch``; also ``BayesianOptimization`` with
``--bayesian``) a fresh child process, in a fresh temporary directory, runs the same search:
scikit-learn's digits (offline; 1437 train / 360 validation images), the same ``build(hp)``
(an MLP with ``units`` = hp.Int 32..256, ``dropout`` = hp.Float 0..0.5, ``learning_rate`` =
hp.Choice of 1e-2/1e-3/1e-4), objective ``val_accuracy``, ``seed=0``, ``verbose=0``. The
child reports as JSON: the wall seconds of ``tuner.search`` alone, the seconds of the tuner's
construction, its peak RSS in MB (``ru_maxrss``: imports, data and search together), the
best objective and the number of completed trials. The parent runs the children one at a
time (tunewise first, then keras-tuner; the order is reversed every other repeat against
machine-noise bias), prints a table, the medians over repeats and the ratios
tunewise / keras-tuner of search time and peak memory. The best objectives need not be
equal: the two libraries draw from different random streams.

With ``--isolate`` a third child runs tunewise's search with ``search(isolate=True)`` (each
trial in a fresh process of its own, see tunewise/integrations/keras/_remote.py): its row is
``tunewise_isolate``, the summary states its extra seconds per trial against the in-process
tunewise search, and its ``peak_child_rss_mb`` is the largest trial process's peak RSS
(``RUSAGE_CHILDREN``: its ``peak_rss_mb`` is the searching process alone).

keras-tuner is not a dependency of tunewise; without it the script says so and exits 0:
    .venv/bin/pip install keras-tuner tensorboard   # keras-tuner 1.4 needs tensorboard on TF

Run:  .venv/bin/python benchmarks/keras_vs_kerastuner.py
      .venv/bin/python benchmarks/keras_vs_kerastuner.py --bayesian --repeats 2 --out kt.json
      .venv/bin/python benchmarks/keras_vs_kerastuner.py --child tunewise random --profile
Options: --trials (10), --epochs (5), --repeats (1), --bayesian, --isolate, --out FILE
(JSON), --backend (Keras backend of the children, default tensorflow).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

LIBS = ("tunewise", "keras_tuner")
ISOLATE = "tunewise_isolate"  # tunewise with search(isolate=True)
MARK = "BENCH_RESULT "


def child(lib: str, algo: str, trials: int, epochs: int, profile: bool) -> None:
    import resource
    import tempfile

    import keras
    import numpy as np
    from sklearn.datasets import load_digits

    isolate = lib == ISOLATE
    kt = __import__("tunewise" if isolate else lib)
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    perm = np.random.default_rng(0).permutation(len(x))
    x, y = x[perm], y[perm]
    x_train, y_train, x_val, y_val = x[:1437], y[:1437], x[1437:], y[1437:]

    def build(hp):
        model = keras.Sequential([
            keras.Input((64,)),
            keras.layers.Dense(hp.Int("units", 32, 256, step=32), activation="relu"),
            keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5)),
            keras.layers.Dense(10, activation="softmax"),
        ])
        lr = hp.Choice("learning_rate", [1e-2, 1e-3, 1e-4])
        model.compile(optimizer=keras.optimizers.Adam(lr),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    cls = kt.RandomSearch if algo == "random" else kt.BayesianOptimization
    keras.utils.set_random_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        tuner = cls(build, objective="val_accuracy", max_trials=trials, seed=0,
                    directory=tmp, project_name=f"{lib}_{algo}", overwrite=True)
        init_s = time.perf_counter() - start
        fit = {"epochs": epochs, "validation_data": (x_val, y_val), "verbose": 0}
        if isolate:
            fit["isolate"] = True
        if profile:
            import cProfile
            import pstats
            prof = cProfile.Profile()
            start = time.perf_counter()
            prof.runcall(tuner.search, x_train, y_train, **fit)
            search_s = time.perf_counter() - start
            stats = pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative")
            stats.print_stats(40)
        else:
            start = time.perf_counter()
            tuner.search(x_train, y_train, **fit)
            search_s = time.perf_counter() - start
        done = [t for t in tuner.oracle.trials.values() if str(t.status) == "COMPLETED"]
        best = tuner.oracle.get_best_trials(1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # largest child
    print(MARK + json.dumps({
        "lib": lib, "algo": algo, "version": getattr(kt, "__version__", "?"),
        "init_s": init_s, "search_s": search_s, "peak_rss_mb": peak_mb,
        "peak_child_rss_mb": child_mb,
        "best": best[0].score if best else None, "trials": len(done)}), flush=True)


def spawn(lib: str, algo: str, args: argparse.Namespace) -> dict:
    env = dict(os.environ, KERAS_BACKEND=args.backend, TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, os.path.abspath(__file__), "--child", lib, algo,
           "--trials", str(args.trials), "--epochs", str(args.epochs)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode or not lines:
        sys.exit(f"{lib} {algo} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(lines[-1][len(MARK):])
    result["process_s"] = time.perf_counter() - start
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--bayesian", action="store_true", help="also BayesianOptimization")
    p.add_argument("--isolate", action="store_true",
                   help="also tunewise with search(isolate=True): a process per trial")
    p.add_argument("--out", help="write every run and the summary as JSON")
    p.add_argument("--backend", default="tensorflow")
    p.add_argument("--child", nargs=2, metavar=("LIB", "ALGO"), help=argparse.SUPPRESS)
    p.add_argument("--profile", action="store_true", help="with --child: cProfile the search")
    args = p.parse_args()
    if args.child:
        return child(*args.child, args.trials, args.epochs, args.profile)
    probe = subprocess.run([sys.executable, "-c", "import keras_tuner"], capture_output=True,
                           text=True, check=False,
                           env=dict(os.environ, KERAS_BACKEND=args.backend))
    if probe.returncode:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        print(f"skipped: pip install keras-tuner tensorboard  (import keras_tuner: {last})")
        return
    algos = ("random", "bayesian") if args.bayesian else ("random",)
    libs = (*LIBS, ISOLATE) if args.isolate else LIBS
    runs = []
    print(f"{args.trials} trials x {args.epochs} epochs, backend {args.backend}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{'repeat':>6} {'algorithm':<9} {'library':<16} {'search s':>9} {'init s':>7} "
          f"{'process s':>9} {'peak MB':>8} {'best':>7} {'trials':>6}")
    for r in range(args.repeats):
        for algo in algos:
            for lib in libs if r % 2 == 0 else libs[::-1]:
                res = dict(spawn(lib, algo, args), repeat=r)
                runs.append(res)
                best = "-" if res["best"] is None else f"{res['best']:.4f}"
                print(f"{r:>6} {algo:<9} {lib:<16} {res['search_s']:>9.2f} "
                      f"{res['init_s']:>7.2f} {res['process_s']:>9.2f} "
                      f"{res['peak_rss_mb']:>8.0f} {best:>7} {res['trials']:>6}", flush=True)
    summary = {}
    print(f"\nmedians over {args.repeats} repeat(s); ratio = tunewise / keras_tuner")
    for algo in algos:
        med = {lib: {k: statistics.median(x[k] for x in runs if x["lib"] == lib
                                          and x["algo"] == algo)
                     for k in ("search_s", "peak_rss_mb", "process_s")} for lib in LIBS}
        ratio = {k: med["tunewise"][k] / med["keras_tuner"][k] for k in med["tunewise"]}
        bests = {lib: [x["best"] for x in runs if x["lib"] == lib and x["algo"] == algo]
                 for lib in LIBS}
        summary[algo] = {"median": med, "ratio": ratio, "best": bests}
        print(f"{algo:<9} search s {med['tunewise']['search_s']:.2f} vs "
              f"{med['keras_tuner']['search_s']:.2f} (ratio {ratio['search_s']:.2f}); "
              f"peak MB {med['tunewise']['peak_rss_mb']:.0f} vs "
              f"{med['keras_tuner']['peak_rss_mb']:.0f} (ratio {ratio['peak_rss_mb']:.2f}); "
              f"best val_accuracy {bests['tunewise']} vs {bests['keras_tuner']}")
        if args.isolate:
            mine = [x for x in runs if x["lib"] == ISOLATE and x["algo"] == algo]
            iso = {k: statistics.median(x[k] for x in mine)
                   for k in ("search_s", "peak_rss_mb", "peak_child_rss_mb", "process_s")}
            extra = (iso["search_s"] - med["tunewise"]["search_s"]) / args.trials
            summary[algo]["isolate"] = {"median": iso, "extra_s_per_trial": extra,
                                        "best": [x["best"] for x in mine]}
            print(f"{algo:<9} isolate=True search s {iso['search_s']:.2f} vs in-process "
                  f"{med['tunewise']['search_s']:.2f}: {extra:+.2f} s per trial; peak MB "
                  f"{iso['peak_rss_mb']:.0f} searching process, {iso['peak_child_rss_mb']:.0f} "
                  "largest trial process")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": {k: v for k, v in vars(args).items() if k != "child"},
                       "runs": runs, "summary": summary}, f, indent=2)


if __name__ == "__main__":
    main()
