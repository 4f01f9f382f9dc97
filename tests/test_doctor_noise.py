"""The doctor on noisy evaluations, the stop rule ("should I go on?") and the noise-aware
recommendation ("what to use"), each built through the public API with seeded noise.

The checks (``noisy-evaluations``, ``convergence-stop`` / ``may-improve``, ``recommendation``)
are registered in ``tunewise.diagnostics.CHECKS`` by the fixture below until the package
registers them itself.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from scipy.stats import binom

import tunewise as tw
from tunewise import diagnostics
from tunewise.diagnostics import (
    SearchHistory,
    _convergence,
    _noise,
    _recommend,
    diagnose,
    diagnose_history,
)
from tunewise.diagnostics._convergence import stop_rule
from tunewise.diagnostics._recommend import recommend
from tunewise.diagnostics._stop_rule import StopWhenConverged
from tunewise.space import Float
from tunewise.trial import FrozenTrial, Step, TrialState

NEW_CHECKS = [*_noise.CHECKS, *_convergence.CHECKS, *_recommend.CHECKS]


@pytest.fixture(autouse=True)
def noise_checks(monkeypatch):
    checks = list(diagnostics.CHECKS)
    monkeypatch.setattr(diagnostics, "CHECKS", checks + [c for c in NEW_CHECKS if c not in checks])


def quadratic(d, amp=2.0):
    """A concave quadratic on [0, 1]^d with its maximum 1.0 inside the cube."""
    centre = np.linspace(0.3, 0.7, d) if d > 1 else np.array([0.6])

    def true(values):
        return 1.0 - amp * sum((values[f"x{i}"] - centre[i]) ** 2 for i in range(d))

    return true


def noisy_study(d, sd, executions, trials, seed, sampler=None, amp=2.0, direction="max"):
    """``trials`` trials of a seeded noisy quadratic; with executions > 1 each trial reports
    the mean, ``score__std`` and ``executions``, as the Keras tuner stores them."""
    rng = np.random.default_rng(seed)
    true = quadratic(d, amp)
    sign = 1.0 if direction == "max" else -1.0

    def fn(hp):
        values = {f"x{i}": hp.Float(f"x{i}", 0.0, 1.0) for i in range(d)}
        runs = sign * (true(values) + rng.normal(0.0, sd, executions))
        out = {"score": float(runs.mean())}
        if executions > 1:
            out.update({"score__std": float(runs.std()), "executions": float(executions)})
        return out

    study = tw.Study(tw.Objective("score", direction), sampler=sampler, storage="memory",
                     seed=seed, verbose=0)
    study.optimize(fn, max_trials=trials)
    return study, true


# ---------------------------------------------------------------------- noisy-evaluations
def test_three_noisy_executions_per_trial_are_a_warning_with_the_luck_measured(tmp_path):
    """The measured miss: a Keras-path tuner, three executions per trial with a spread above
    the gaps among the top trials, best 1.38 on a function whose maximum is 1.0."""
    rng = np.random.default_rng(3)

    def true(values):
        return 1.0 - 2.0 * ((values["x"] - 0.6) ** 2 + (values["y"] - 0.4) ** 2)

    class Noisy(tw.engine.base_tuner.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            values = {"x": hp.Float("x", 0.0, 1.0), "y": hp.Float("y", 0.0, 1.0)}
            return [{"score": float(true(values) + rng.normal(0, 0.35))} for _ in range(3)]

    tuner = Noisy(oracle=tw.oracles.RandomSearchOracle(
        objective=tw.Objective("score", "max"), max_trials=60, seed=3),
        directory=tmp_path, verbose=0)
    tuner.search()
    assert tuner.study.trials[0].steps[0].metrics["executions"] == 3  # the Keras path's storage
    report = diagnose(tuner)
    assert report.best > 1.35
    finding = report.get("noisy-evaluations")
    assert finding is not None and finding.severity == "warning", str(report)
    ev = finding.evidence
    assert ev["executions"] == 3 and set(ev["noise_sources"]) == {"executions"}
    assert 0.15 < ev["noise"] < 0.27  # a 3-run mean of sd 0.35: 0.202
    best = tuner.study.best_trial
    assert ev["top_trials"][0] == best.trial_id
    assert ev["luck"] > 0.3 and ev["luck"] > ev["gap_best_to_3rd"]
    assert abs(ev["best_predicted_mean"] - true(best.values)) < 0.15  # the luck, taken off
    assert 0.2 < ev["expected_luck"] < 0.7  # the best of 60 draws: ~sd * sqrt(2 ln 60) at most
    stagnation = report.get("stagnation")  # never "nothing explains it: converged"
    assert stagnation is None or "noisy-evaluations" in f"{stagnation.explained_by} {stagnation.message}"


def _trial(number, values, score):
    return FrozenTrial(number=number, state=TrialState.COMPLETED, values=values,
                       steps=(Step(0, {"score": score}),), score=score, best_step=0)


def test_noise_from_twin_configurations():
    """Configurations evaluated twice (e.g. an imported Optuna study): their scores' spread."""
    rng = np.random.default_rng(5)
    xs = rng.random(10)
    trials = []
    for rep in range(2):
        for i, x in enumerate(xs):
            score = 1.0 - 0.05 * (x - 0.5) ** 2 + rng.normal(0, 0.1)
            trials.append(_trial(len(trials), {"x": float(x)}, float(score)))
    history = SearchHistory("twins", tw.Objective("score", "max"), tuple(trials),
                            space=(Float("x", 0.0, 1.0),))
    finding = diagnose_history(history).get("noisy-evaluations")
    assert finding is not None and finding.severity == "warning"
    ev = finding.evidence
    assert set(ev["noise_sources"]) == {"twins"} and ev["twin_dof"] == 10
    assert 0.05 < ev["noise"] < 0.16
    assert all(len(g) == 2 for g in ev["twin_groups"])


def test_noise_free_or_small_noise_searches_have_no_noise_finding():
    def healthy(hp):
        lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
        units = hp.Int("units", 8, 128, step=8)
        return {"val_loss": 0.2 + 0.1 * (math.log10(lr) + 2.5) ** 2
                + 0.05 * ((units - 64) / 64) ** 2}

    study = tw.Study("val_loss", storage="memory", seed=0, verbose=0)
    study.optimize(healthy, max_trials=30)
    report = diagnose(study)
    assert not {"noisy-evaluations", "recommendation"} & set(report.codes), str(report)

    small, _ = noisy_study(2, 0.003, 3, 30, seed=1)  # noise far below the gaps
    report = diagnose(small)
    assert "noisy-evaluations" not in report.codes, str(report)


# ---------------------------------------------------------------------- the stop rule
def test_the_stop_rule_says_stop_on_a_converged_noisy_search():
    """40 GP trials of a 2-d noisy quadratic (3 executions of sd 0.35): converged."""
    study, _ = noisy_study(2, 0.35, 3, 40, seed=0, sampler=tw.GPSampler())
    report = diagnose(study)
    finding = report.get("convergence-stop")
    assert finding is not None and finding.severity == "info", str(report)
    assert "may-improve" not in report.codes
    ev = finding.evidence
    assert ev["noise_source"] == "executions" and 0.14 < ev["noise"] < 0.27
    assert 0 < ev["bound"] <= ev["threshold"] == ev["noise"]
    assert ev["recommended_trial"] in {t.trial_id for t in study.trials}
    assert ev["best_upper_bound"] >= ev["recommended_lower_bound"]
    # a pure function of the history
    history = SearchHistory.from_study(study)
    assert stop_rule(history) == stop_rule(history)


def test_the_stop_rule_says_go_on_for_a_search_cut_early():
    """8 random trials on a 4-d noisy quadratic: far from converged."""
    study, _ = noisy_study(4, 0.35, 3, 8, seed=0)
    report = diagnose(study)
    finding = report.get("may-improve")
    assert finding is not None and finding.severity == "info", str(report)
    assert "convergence-stop" not in report.codes
    ev = finding.evidence
    assert ev["bound"] > 2 * ev["threshold"] and ev["noise_source"] == "executions"
    assert set(ev["best_upper_bound_at"]) == {"x0", "x1", "x2", "x3"}
    said = re.search(r"up to ([0-9.]+)", finding.message)
    assert said and float(said.group(1)) == pytest.approx(ev["bound"], rel=2e-3)


def test_stop_when_converged_stops_a_study_and_leaves_a_far_one_alone():
    stopper = StopWhenConverged(min_trials=20, check_every=5)
    rng = np.random.default_rng(0)
    true = quadratic(2)

    def fn(hp):
        values = {f"x{i}": hp.Float(f"x{i}", 0.0, 1.0) for i in range(2)}
        runs = true(values) + rng.normal(0.0, 0.35, 3)
        return {"score": float(runs.mean()), "score__std": float(runs.std()), "executions": 3.0}

    stopped = tw.Study(tw.Objective("score", "max"), sampler=tw.GPSampler(), storage="memory",
                       seed=0, verbose=0)
    stopped.optimize(fn, max_trials=100, callbacks=[stopper])
    assert stopper.verdict is not None and stopper.verdict.stop
    assert 20 <= len(stopped.trials) < 100
    asked = [n for n, _ in stopper.verdicts]
    assert asked[0] == 20 and all(b - a == 5 for a, b in itertools.pairwise(asked))
    assert stopper.verdict.bound <= stopper.verdict.threshold

    far = StopWhenConverged(min_trials=10, check_every=5)
    exact = quadratic(4)
    study = tw.Study(tw.Objective("score", "max"), storage="memory", seed=0, verbose=0)
    study.optimize(lambda hp: exact({f"x{i}": hp.Float(f"x{i}", 0.0, 1.0) for i in range(4)}),
                   max_trials=25, callbacks=[far])
    assert len(study.trials) == 25 and far.verdict is None
    assert [n for n, _ in far.verdicts] == [10, 15, 20, 25]


def test_stop_when_converged_from_a_keras_tuner_hook(tmp_path):
    """Keras tuners take no study callbacks: ``on_trial_end`` calls it with the tuner."""
    rng = np.random.default_rng(1)
    stopper = StopWhenConverged()

    class Noisy(tw.engine.base_tuner.BaseTuner):
        def run_trial(self, trial, *args, **kwargs):
            x = trial.hyperparameters.Float("x", 0.0, 1.0)
            return [{"score": 1.0 - 2 * (x - 0.6) ** 2 + float(rng.normal(0, 0.35))}
                    for _ in range(3)]

        def on_trial_end(self, trial):
            stopper(self, trial)

    tuner = Noisy(oracle=tw.oracles.RandomSearchOracle(
        objective=tw.Objective("score", "max"), max_trials=80, seed=1),
        directory=tmp_path, verbose=0)
    tuner.search()
    assert stopper.verdict is not None
    assert len(tuner.study.trials) < 80


# ---------------------------------------------------------------------- the recommendation
#: Seeds of the statistical test, disjoint from the 200 (0-199) its win rate was measured on.
RECOMMEND_SEEDS = range(1000, 1032)
RECOMMEND_MIN_WINS = 16


def test_the_recommendation_beats_the_luckiest_trial_in_most_seeds():
    """A noisy 2-d quadratic (amplitude 4; 3 executions of sd 0.7; 100 random trials): the
    recommended configuration's true value beats the best-scoring trial's.

    Measured offline on seeds 0-199: 160 wins, 20 ties (the same trial), 20 losses: a win rate
    of 0.80 (95% interval 0.74-0.85). With 32 seeds and at least 16 wins (half) required, the
    test fails by chance with probability P(Binom(32, 0.80) <= 15) = 3.3e-5 (9.7e-4 at the
    interval's lower end, 0.74); always recommending the best-scoring trial wins never, and a
    recommender with a win rate of 0.5 passes with probability 0.57, of 0.4 with 0.17.
    """
    n = len(RECOMMEND_SEEDS)
    assert binom.cdf(RECOMMEND_MIN_WINS - 1, n, 0.80) < 1e-4
    assert binom.cdf(RECOMMEND_MIN_WINS - 1, n, 0.74) < 1e-3
    wins, outcomes = 0, []
    for seed in RECOMMEND_SEEDS:
        study, true = noisy_study(2, 0.7, 3, 100, seed=seed, amp=4.0)
        r = recommend(SearchHistory.from_study(study))
        by_id = {t.trial_id: t for t in study.trials}
        assert r.luckiest_trial == study.best_trial.trial_id
        picked, lucky = true(by_id[r.trial_id].values), true(by_id[r.luckiest_trial].values)
        wins += picked > lucky
        outcomes.append(round(picked - lucky, 3))
    assert wins >= RECOMMEND_MIN_WINS, outcomes


def test_recommend_gives_the_configuration_an_interval_and_the_trials_to_re_evaluate():
    study, _ = noisy_study(2, 0.35, 3, 40, seed=4, direction="min")
    r = recommend(SearchHistory.from_study(study))
    trial = next(t for t in study.trials if t.trial_id == r.trial_id)
    assert r.values == trial.values and r.observed == trial.score
    low, high = r.interval
    assert low < r.predicted < high  # in the objective's units (here minimised)
    assert r.predicted == min(p for p, _, _ in r.predictions.values())
    assert r.re_evaluate[0] == r.trial_id and len(r.re_evaluate) >= 2
    for tid in r.re_evaluate:
        assert r.predictions[tid][1] <= high  # each interval overlaps the recommended one
    report = diagnose(study)
    finding = report.get("recommendation")
    assert finding is not None and finding.severity == "info"
    assert finding.evidence["trial"] == r.trial_id
    assert all(t in finding.fix for t in r.re_evaluate)


def test_too_few_trials_give_none_of_these_findings():
    study, _ = noisy_study(2, 0.35, 3, 4, seed=0)
    history = SearchHistory.from_study(study)
    assert recommend(history) is None and stop_rule(history) is None
    assert not {"noisy-evaluations", "convergence-stop", "may-improve", "recommendation"} & set(
        diagnose(study).codes)
