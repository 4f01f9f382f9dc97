"""Checks on the learning curves: noise, lucky epochs, under-training, early stopping, overfitting.

Every curve is read in *goodness* (higher is better, whatever the direction), so one rule serves
``val_loss`` and ``val_accuracy`` alike. Each check is a pure function of the history.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..objective import Objective, infer_direction
from ..space import Boolean, Choice
from ..trial import FrozenTrial
from ..trial_attrs import (
    BUDGET,
    CV_FOLDS,
    EARLY_STOPPING,
    EPOCHS_ASKED,
    EPOCHS_RUN,
    EXECUTIONS,
    STOPPED_EARLY,
    spread_name,
)
from ._model import Check, Finding, SearchHistory
from ._stats import trend

# ---------------------------------------------------------------------- thresholds
#: noisy-objective: the gap is best vs 3rd best (best vs 2nd is a coin flip even without noise)
#: among at least 5 completed trials; noise under 5% of the spread from the median trial to the
#: best is immaterial (the top trials are equivalent, whichever luck picks; dense searches have
#: tiny top gaps whatever the noise).
NOISY_MIN_TRIALS = 5
NOISY_GAP_RANK = 3  # the message says "3rd"
NOISE_MIN_SHARE = 0.05
#: Two configurations are "the same" within 2% of every range in the unit cube (far below what a
#: search resolves). Near but unequal pairs count only if their score differences are at least
#: half those of pairs 2-10% apart: on a smooth objective differences grow with distance (~5x
#: over that band), noise's do not. Noise estimates need 2 pairs, or 3 curves.
NEAR_IDENTICAL = 0.02
NEAR_REFERENCE = 0.10
NEAR_FLAT_RATIO = 0.5
MIN_NOISE_PAIRS = 2
MIN_NOISE_CURVES = 3
#: Epoch noise is read on the last 6 epochs, where the best step usually is.
JITTER_WINDOW = 6

#: lucky-epoch: a spike must exceed 3 epoch-noise sds (the trial's, or the search's median if
#: larger), and more in a long search: the best trial is, by selection, the one with the
#: luckiest of N epochs, and plain noise reaches ~sqrt(2 ln N) sds (3.6 for 600 epochs). It is
#: measured above the most generous reading of the neighbours (their median, the line through
#: the four nearest, either side's line carried on), so a trend, a bend or a V-shaped optimum
#: is no spike. Curves need 5 steps.
SPIKE_JITTERS = 3.0
LUCKY_MIN_STEPS = 5
LUCKY_RADIUS = 2

#: undertrained: over the last 5 steps the curve gains more than 2 residual sds (a trend, not
#: noise), and over the last three at a rate of at least 25% of the run's average (a converged
#: curve ends at a few percent of it, a straight line at all of it); in at least half of the
#: (at least 3) trials of 4+ steps that ran all their epochs.
UNDERTRAINED_WINDOW = 5
UNDERTRAINED_MIN_STEPS = 4
TREND_NOISE_MULT = 2.0
RECENT_RATE_SHARE = 0.25
UNDERTRAINED_SHARE = 0.5
MIN_ELIGIBLE = 3

#: early-stopping-premature: a run of at most patience + 3 epochs (under half those asked)
#: stopped as soon as it could; a patience of 1-2 cannot tell one noisy epoch from a plateau,
#: longer ones count only after some improvement and when patience x improvement per epoch <
#: noise. A run of 6+ epochs was "still improving" when its recent half rises with slope
#: t >= 2.5 (~1% by chance) and a saturating fit of that half projects, by the epochs asked (at
#: most twice those run), a gain over its best above 2 noise sds and 5% of the curve's range: a
#: flattening curve projects ~0, a trend cut short by noise its slope. A run worsening after
#: its best (t <= -2.5) was rightly stopped. Needs 30% of the early-stopped trials, and 2.
ES_SLACK = 3
SHORT_PATIENCE = 2
ES_FIT_MIN_STEPS = 6
ES_GAIN_NOISE = 2.0
ES_MIN_GAIN_SHARE = 0.05
ES_T = 2.5
ES_SHARE = 0.3
#: Suggested patience: enough epochs for the trend to beat 2 noise sds, at least 3x the current
#: one and at least 5, at most half the epochs asked (or ES_MAX_PATIENCE when unknown).
ES_PATIENCE_FACTOR = 3
ES_MIN_PATIENCE = 5
ES_MAX_PATIENCE = 50

#: overfitting: after the validation best (with 2+ epochs after it, in 5+ step curves) the
#: objective worsens by more than 3 noise sds (the best is a maximum of noisy epochs, so ~2 sd
#: is selection alone) and 5% of the curve's range (less is not worth an epoch) while the
#: training metric improves; in 30% of the trials, and 2.
OVERFIT_MIN_STEPS = 5
OVERFIT_NOISE_MULT = 3.0
OVERFIT_MIN_SHARE = 0.05
OVERFIT_SHARE = 0.3
#: Every share-based check needs at least 2 affected trials: one is an anecdote.
MIN_AFFECTED = 2

#: Median |second difference| of white noise is 0.6745 * sqrt(6) sds.
_MAD_DIFF2 = 0.6745 * math.sqrt(6.0)


# ---------------------------------------------------------------------- helpers
def _num(x: float) -> float:
    """A float rounded to 6 significant digits, for evidence."""
    return float(f"{float(x):.6g}")


def _goodness_curve(
    h: SearchHistory, t: FrozenTrial, name: str | None = None, sign: int | None = None
) -> tuple[list[int], np.ndarray]:
    """(steps, goodness) of the objective (or metric ``name``) over the trial's finite steps."""
    sign = h.objective.sign if sign is None else sign
    found = [(s.step, h.objective.value_from(s.metrics) if name is None else s.metrics.get(name))
             for s in t.steps]
    found = [(k, v) for k, v in found if v is not None and math.isfinite(v)]
    return [k for k, _ in found], np.array([-sign * float(v) for _, v in found], float)


def _value(h: SearchHistory, goodness: float) -> float:
    """Back from goodness to the objective's own units."""
    return -goodness * h.objective.sign


def _slope_t(values: Sequence[float]) -> tuple[float, float, float]:
    """Slope, residual sd and the slope's t-statistic (inf for a noise-free slope)."""
    slope, resid = trend(values)
    n = len(values)
    if n < 3 or slope == 0.0:
        return slope, resid, 0.0
    if resid == 0.0:
        return slope, resid, math.copysign(math.inf, slope)
    return slope, resid, slope / (resid / math.sqrt(n * (n * n - 1) / 12.0))


def _noise_sd(values: Sequence[float]) -> float:
    """Noise sd from second differences: blind to linear trends and kinks, unlike the residual."""
    y = np.asarray(values, float)
    if len(y) < 4:
        return 0.0
    return float(np.median(np.abs(np.diff(y, 2))) / _MAD_DIFF2)


def _stopped_early(t: FrozenTrial) -> bool:
    """Whether the trial's fit ended before its epochs (per the Keras runner's attrs)."""
    asked, run = t.attrs.get(EPOCHS_ASKED), t.attrs.get(EPOCHS_RUN)
    return bool(t.attrs.get(STOPPED_EARLY) or (asked and run and max(run) < asked))


# ---------------------------------------------------------------------- noisy-objective
def _execution_noise(h: SearchHistory, trials: Sequence[FrozenTrial]) -> np.ndarray | None:
    """Per trial (spread, executions, sd of the mean) from ``<objective>__std`` at the best step."""
    rows = []
    for t in trials:
        m = next((s.metrics for s in t.steps if s.step == t.best_step), {})
        stds = [m.get(spread_name(n), math.nan) for n in h.objective.names]
        k = m.get(EXECUTIONS, 0)
        if k >= 2 and all(math.isfinite(v) for v in stds):
            spread = math.sqrt(sum(v * v for v in stds))
            rows.append((spread, k, spread / math.sqrt(k - 1)))  # population sd -> of the mean
    return np.median(np.array(rows), axis=0) if len(rows) >= MIN_NOISE_CURVES else None


def _unit_matrix(h: SearchHistory, trials: Sequence[FrozenTrial]) -> np.ndarray:
    """Trials x hyperparameters: unit-cube positions; categories coded 10 apart; NaN if absent."""
    space = {hp.name: hp for hp in h.space}
    names = sorted({k for t in trials for k in t.values})
    out = np.full((len(trials), len(names)), np.nan)
    for j, name in enumerate(names):
        hp = space.get(name)
        numeric = hp is not None and not isinstance(hp, Boolean) and not (
            isinstance(hp, Choice) and not hp.ordered)
        codes: dict[str, int] = {}
        for i, t in enumerate(trials):
            if name not in t.values:
                continue
            if numeric:
                try:
                    out[i, j] = float(hp.to_unit(t.values[name]))  # type: ignore[union-attr]
                    continue
                except (TypeError, ValueError, KeyError, IndexError):
                    pass
            out[i, j] = 10.0 * (1 + codes.setdefault(repr(t.values[name]), len(codes)))
    return out


def _identical_noise(h: SearchHistory, trials: Sequence[FrozenTrial]) -> dict[str, Any] | None:
    """Noise sd from pairs of (nearly) identical configurations whose scores differ."""
    trials = list(trials)[:1500]
    if len(trials) < 2:
        return None
    u = _unit_matrix(h, trials)
    dist = np.zeros((len(trials), len(trials)))
    for a in u.T:  # max-norm distance, one hyperparameter at a time
        gone = np.isnan(a)
        d = np.abs(a[:, None] - a[None, :])
        d[gone[:, None] | gone[None, :]] = np.inf
        d[gone[:, None] & gone[None, :]] = 0.0
        np.maximum(dist, d, out=dist)
    # A scheduler's promotion repeats a configuration at a larger budget (epochs): a different
    # result there is progress, not noise, so only trials of equal budget are compared.
    budgets = [repr(t.attrs.get(BUDGET)) for t in trials]
    dist[np.array(budgets)[:, None] != np.array(budgets)[None, :]] = np.inf
    scores = np.array([t.score for t in trials], float)
    diff = np.abs(scores[:, None] - scores[None, :])
    iu = np.triu_indices(len(trials), 1)
    dist, diff = dist[iu], diff[iu]
    exact, near = dist == 0.0, (dist > 0.0) & (dist <= NEAR_IDENTICAL)
    ref = (dist > NEAR_IDENTICAL) & (dist <= NEAR_REFERENCE)
    use = exact.copy()
    if near.sum() >= MIN_NOISE_PAIRS and ref.sum() >= MIN_NOISE_PAIRS and (
        np.median(diff[near]) >= NEAR_FLAT_RATIO * np.median(diff[ref])
    ):
        use |= near
    if use.sum() < MIN_NOISE_PAIRS:
        return None
    pairs = [[trials[iu[0][k]].trial_id, trials[iu[1][k]].trial_id] for k in np.flatnonzero(use)]
    return {"noise": float(math.sqrt(np.mean(diff[use] ** 2) / 2.0)), "pairs": pairs}


def _epoch_noise(window: np.ndarray) -> float:
    """Noise sd of a curve's last steps: 0 if it moves one way with one curvature (smooth; noise
    rarely does that), else the sd around a quadratic, which, unlike a line, does not read a
    converging curve's bend as noise."""
    d1, d2 = np.diff(window), np.diff(window, 2)
    if (np.all(d1 >= 0) or np.all(d1 <= 0)) and (np.all(d2 >= 0) or np.all(d2 <= 0)):
        return 0.0
    x = np.arange(len(window), dtype=float)
    resid = window - np.polyval(np.polyfit(x, window, 2), x)
    return float(math.sqrt(np.sum(resid**2) / (len(window) - 3)))


_SOURCE_NAMES = {
    "executions": "repeated executions",
    "identical_configurations": "(nearly) identical configurations",
    "epoch_jitter": "epoch-to-epoch jitter",
}


def check_noisy_objective(h: SearchHistory) -> list[Finding]:
    """The objective's noise is as large as the gap between the best trials: the best is luck."""
    ranked = h.ranked
    if len(ranked) < NOISY_MIN_TRIALS:
        return []
    top = ranked[:NOISY_GAP_RANK]
    sources: dict[str, float] = {}
    evidence: dict[str, Any] = {}
    execution = _execution_noise(h, ranked)
    if execution is not None:
        sources["executions"] = float(execution[2])
        evidence.update(executions=int(execution[1]), execution_spread=_num(execution[0]))
    identical = _identical_noise(h, ranked)
    if identical:
        sources["identical_configurations"] = identical["noise"]
        evidence["identical_pairs"] = identical["pairs"][:10]
    # A trial whose attrs hold CV_FOLDS reported cross-validation folds as its steps, not
    # epochs: its "curve" is no learning curve (its fold-to-fold spread, the noise of its mean,
    # is read as executions above).
    curves = [_goodness_curve(h, t)[1] for t in ranked if CV_FOLDS not in t.attrs]
    jitters = [_epoch_noise(g[-JITTER_WINDOW:]) for g in curves if len(g) >= JITTER_WINDOW]
    if len(jitters) >= MIN_NOISE_CURVES:
        sources["epoch_jitter"] = float(np.median(jitters))
        evidence["jitter_trials"] = len(jitters)
    noise = max(sources.values(), default=0.0)
    goods = [h.goodness(t.score) for t in ranked]  # type: ignore[arg-type]
    # The gap is to the 3rd-best distinct score: trials that tie exactly (an accuracy of
    # 394/397 three times) are equally good, which is no sign of noise.
    distinct = sorted(set(goods), reverse=True)
    if len(distinct) < NOISY_GAP_RANK:
        return []
    gap, spread = distinct[0] - distinct[NOISY_GAP_RANK - 1], goods[0] - float(np.median(goods))
    if noise <= 0 or noise < gap or noise < NOISE_MIN_SHARE * spread:
        return []
    folds = any(CV_FOLDS in t.attrs for t in ranked)
    labels = {**_SOURCE_NAMES, **({"executions": "the fold-to-fold spread of cross-validation"}
                                  if folds else {})}
    names = ", ".join(labels[k] for k, v in sources.items() if v >= gap)
    runs = evidence.get("executions", 1)
    fix = (
        f"Average more folds: repeated cross-validation (e.g. cv=RepeatedStratifiedKFold("
        f"n_splits={runs}, n_repeats=3), or RepeatedKFold for regression) or more data; and "
        "fix the estimator's random_state so that configurations are compared on the same "
        "footing." if folds else
        f"Average repeated fits: executions_per_trial={max(3, 2 * runs)} (or more); evaluate on a "
        "larger validation set; and fix the seeds (keras.utils.set_random_seed) so that "
        "configurations are compared on the same footing."
    )
    return [Finding(
        "noisy-objective", "warning",
        f"The objective's noise (about {noise:.3g} as a standard deviation, from {names}) is at "
        f"least the gap of {gap:.3g} between the best and the {NOISY_GAP_RANK}rd-best trial, so "
        "which trial is best is largely luck.",
        {"noise": _num(noise), "gap": _num(gap),
         "noise_sources": {k: _num(v) for k, v in sources.items()},
         "top_trials": [t.trial_id for t in top],
         "top_scores": [_num(t.score) for t in top],  # type: ignore[arg-type]
         **evidence},
        fix,
    )]


# ---------------------------------------------------------------------- lucky-epoch
def _line_at(ks: Sequence[int], g: np.ndarray, i: int) -> float:
    """The least-squares line through ``g`` at steps ``ks``, read at step ``i``."""
    slope, intercept = np.polyfit(np.asarray(ks, float), g[list(ks)], 1)
    return float(slope * i + intercept)


def check_lucky_epoch(h: SearchHistory) -> list[Finding]:
    """The best trial's score is one spike epoch, and without it another trial would be best."""
    ranked = h.ranked
    if len(ranked) < 2 or h.settings.get("signature", {}).get("score") == "last":
        return []
    best, runner = ranked[0], ranked[1]
    steps, g = _goodness_curve(h, best)
    if len(g) < LUCKY_MIN_STEPS or best.best_step not in steps:
        return []
    i = steps.index(best.best_step)
    near = [k for k in range(i - LUCKY_RADIUS, i + LUCKY_RADIUS + 1) if k != i and 0 <= k < len(g)]
    fit = sorted((k for k in range(len(g)) if k != i), key=lambda k: (abs(k - i), k))[:4]
    readings = [float(np.median(g[near])), _line_at(fit, g, i)]
    readings += [_line_at(side, g, i) for side in ([i - 2, i - 1], [i + 1, i + 2])
                 if 0 <= min(side) and max(side) < len(g)]
    expected = max(readings)
    spike = float(g[i]) - expected
    curves = [_goodness_curve(h, t)[1] for t in ranked[1:]]
    pooled = [_noise_sd(c) for c in curves if len(c) >= LUCKY_MIN_STEPS]
    typical = max([_noise_sd(np.delete(g, i)), *([float(np.median(pooled))] if pooled else [])])
    epochs = len(g) + sum(len(c) for c in curves)
    times = max(SPIKE_JITTERS, math.sqrt(2 * math.log(epochs)))
    runner_good = h.goodness(runner.score)  # type: ignore[arg-type]
    if spike <= times * typical or spike <= 0 or expected >= runner_good:
        return []
    return [Finding(
        "lucky-epoch", "warning",
        f"Trial {best.trial_id}'s best score comes from one spike at step {best.best_step} "
        f"({best.score:.4g}, against about {_value(h, expected):.4g} at its neighbouring "
        f"steps); without it trial {runner.trial_id} would be best.",
        {"trial": best.trial_id, "step": best.best_step, "value": _num(best.score),  # type: ignore[arg-type]
         "neighbour_steps": [steps[k] for k in near],
         "neighbour_values": [_num(_value(h, g[k])) for k in near],
         "expected": _num(_value(h, expected)), "spike": _num(spike), "noise": _num(typical),
         "would_be_best": runner.trial_id, "would_be_best_score": _num(runner.score)},  # type: ignore[arg-type]
        'Score trials on something steadier than their single best epoch: score="last", a '
        "larger validation set, or executions_per_trial=3 to average such spikes out.",
    )]


# ---------------------------------------------------------------------- undertrained
def check_undertrained(h: SearchHistory) -> list[Finding]:
    """Most trials that ran all their epochs were still improving clearly at the last one."""
    eligible, improving, gains, most = 0, [], [], 0
    for t in h.completed:
        if CV_FOLDS in t.attrs:
            continue  # its steps are folds, not epochs
        _, g = _goodness_curve(h, t)
        if len(g) < UNDERTRAINED_MIN_STEPS or _stopped_early(t):
            continue
        eligible += 1
        most = max(most, len(g), int(t.attrs.get(EPOCHS_ASKED) or 0))
        tail = g[-min(UNDERTRAINED_WINDOW, len(g)):]
        slope, resid = trend(tail)
        gain = slope * (len(tail) - 1)
        average = (g.max() - g[0]) / (len(g) - 1)
        end_rate = (g[-1] - g[-3]) / 2  # least-squares slope of the last three steps
        if (gain > TREND_NOISE_MULT * resid and gain > 0 and g.max() - g[-1] <= resid
                and average > 0 and end_rate >= RECENT_RATE_SHARE * average):
            improving.append(t.trial_id)
            gains.append(float(gain))
    share = len(improving) / eligible if eligible else 0.0
    if eligible < MIN_ELIGIBLE or len(improving) < MIN_AFFECTED or share < UNDERTRAINED_SHARE:
        return []
    return [Finding(
        "undertrained", "warning",
        f"{len(improving)} of {eligible} trials that ran all their epochs were still "
        f"improving at their last epoch (at most {most} epochs), so their scores understate "
        "what the configurations can do.",
        {"share": _num(share), "trials": improving, "eligible_trials": eligible,
         "epochs_run": most, "median_last_gain": _num(float(np.median(gains)))},
        f"Train longer: epochs={2 * most} (about twice the {most} run), with "
        "EarlyStopping(patience=5) if the cost worries you.",
    )]


# ---------------------------------------------------------------------- early-stopping-premature
def _saturating_fit(g: np.ndarray) -> tuple[float, float, float]:
    """Least-squares ``g ~ a + c * exp(-t / tau)`` over a grid of ``tau`` (long ones ~ a line)."""
    t = np.arange(len(g), dtype=float)
    best: tuple[float, float, float, float] | None = None
    for tau in np.geomspace(0.5, 20.0 * len(g), 48):
        x = np.column_stack([np.ones(len(g)), np.exp(-t / tau)])
        (a, c), *_ = np.linalg.lstsq(x, g, rcond=None)
        sse = float(np.sum((x @ np.array([a, c]) - g) ** 2))
        if best is None or sse < best[0]:
            best = (sse, float(a), float(c), float(tau))
    return best[1], best[2], best[3]  # type: ignore[index]


def _es_verdict(
    g: np.ndarray, patience: int, min_delta: float, asked: int | None
) -> dict[str, Any]:
    """Why one early-stopped run stopped too soon (``reasons`` empty if it did not)."""
    n, b = len(g), int(np.argmax(g))
    noise = _noise_sd(g)
    rate = float((g[b] - g[0]) / b) if b >= 1 else 0.0
    reasons = []
    recent = g[-max(ES_FIT_MIN_STEPS, n // 2):]
    if n >= ES_FIT_MIN_STEPS and _slope_t(recent)[2] >= ES_T:
        a, c, tau = _saturating_fit(recent)
        ahead = (min(asked, 2 * n) if asked else 2 * n) - n
        end = len(recent) - 1
        gain = a + c * math.exp(-(end + ahead) / tau) - float(g.max())
        if gain > ES_GAIN_NOISE * noise and gain > ES_MIN_GAIN_SHARE * float(np.ptp(g)):
            reasons.append("still_improving")
            rate = -c / tau * math.exp(-end / tau)
    post = g[b:]
    worsening = len(post) >= 4 and _slope_t(post)[2] <= -ES_T
    short = asked is None or n <= asked / 2
    if short and n <= patience + ES_SLACK and not worsening and (
        patience <= SHORT_PATIENCE or (b >= 1 and patience * rate < noise)
    ):
        reasons.append("stopped_near_patience")
    if short and b >= 1 and 0 < (g[b] - g[0]) / b < min_delta:
        reasons.append("min_delta_above_improvement")
    if reasons and rate > 0 and patience * rate < noise:
        reasons.append("patience_below_noise")  # the suggested patience rests on these two
    return {"reasons": reasons, "rate": rate, "noise": noise, "epochs": n}


def check_early_stopping_premature(h: SearchHistory) -> list[Finding]:
    """EarlyStopping ended trials on noise, or while their curves were still improving."""
    stopped = [t for t in h.completed
               if t.attrs.get(STOPPED_EARLY) and isinstance(t.attrs.get(EARLY_STOPPING), dict)]
    if len(stopped) < MIN_AFFECTED:
        return []
    es = stopped[0].attrs[EARLY_STOPPING]
    monitor = str(es.get("monitor") or h.objective.name)
    patience = int(es.get("patience") or 0)
    min_delta = float(es.get("min_delta") or 0.0)
    if isinstance(h.objective, Objective) and monitor == h.objective.name:
        sign = h.objective.sign
    else:
        sign = 1 if (infer_direction(monitor) or "min") == "min" else -1
    asked = max((int(t.attrs.get(EPOCHS_ASKED) or 0) for t in stopped), default=0) or None
    affected: dict[str, dict[str, Any]] = {}
    rates, noises = [], []
    for t in stopped:
        _, g = _goodness_curve(h, t, monitor if monitor != h.objective.name else None, sign)
        if len(g) < 2:
            continue
        own = t.attrs[EARLY_STOPPING]
        v = _es_verdict(g, int(own.get("patience") or 0), float(own.get("min_delta") or 0), asked)
        if v["reasons"]:
            affected[t.trial_id] = v
            if v["rate"] > 0:
                rates.append(v["rate"])
                noises.append(v["noise"])
    share = len(affected) / len(stopped)
    if len(affected) < MIN_AFFECTED or share < ES_SHARE:
        return []
    needed = [math.ceil(ES_GAIN_NOISE * s / r) for s, r in zip(noises, rates) if s > 0]
    cap = asked // 2 if asked else ES_MAX_PATIENCE
    suggest = max(ES_MIN_PATIENCE, ES_PATIENCE_FACTOR * patience,
                  min(int(np.median(needed)), cap) if needed else 0)
    rate = float(np.median(rates)) if rates else 0.0
    delta_fix = ""
    if min_delta > 0 and rates and min_delta > rate:
        delta_fix = (f" min_delta={min_delta:.3g} exceeds the typical improvement per epoch "
                     f"({rate:.3g}): use min_delta=0.")
    return [Finding(
        "early-stopping-premature", "warning",
        f"EarlyStopping(monitor={monitor!r}, patience={patience}) stopped {len(affected)} of "
        f"{len(stopped)} early-stopped trials too soon (on noise, or while still improving), "
        "so their scores understate those configurations.",
        {"monitor": monitor, "patience": patience, "min_delta": _num(min_delta),
         "share": _num(share), "trials": list(affected),
         "epochs_run": [v["epochs"] for v in affected.values()], "epochs_asked": asked,
         "reasons": {k: v["reasons"] for k, v in affected.items()},
         "median_improvement_per_epoch": _num(rate),
         "median_noise": _num(float(np.median([v["noise"] for v in affected.values()]))),
         "suggested_patience": suggest},
        f"Be more patient: EarlyStopping(monitor={monitor!r}, patience={suggest}); "
        f"patience={patience} gives a noisy or still-improving curve too few epochs to beat "
        "its best." + delta_fix,
    )]


# ---------------------------------------------------------------------- overfitting
def check_overfitting(h: SearchHistory) -> list[Finding]:
    """The training metric keeps improving while the validation objective gets worse."""
    objective = h.objective
    if not isinstance(objective, Objective) or not objective.name.startswith("val_"):
        return []
    train, sign = objective.name[4:], objective.sign
    eligible, rows = 0, []
    for t in h.completed:
        es = t.attrs.get(EARLY_STOPPING) or {}
        if t.attrs.get(STOPPED_EARLY) and es.get("monitor") == objective.name:
            continue  # EarlyStopping on the objective already cut the overfitting short
        pairs = [(s.step, s.metrics[objective.name], s.metrics[train]) for s in t.steps
                 if math.isfinite(s.metrics.get(objective.name, math.nan))
                 and math.isfinite(s.metrics.get(train, math.nan))]
        if len(pairs) < OVERFIT_MIN_STEPS:
            continue
        eligible += 1
        gv = -sign * np.array([p[1] for p in pairs])
        gt = -sign * np.array([p[2] for p in pairs])
        b = int(np.argmax(gv))
        post = len(gv) - 1 - b
        if post < 2:
            continue
        k = min(3, post)
        worse = float(gv[b] - gv[-k:].mean())
        better = float(gt[-k:].mean() - gt[b])
        noise = _noise_sd(gv)
        if (worse > OVERFIT_NOISE_MULT * noise and worse > OVERFIT_MIN_SHARE * np.ptp(gv)
                and better > max(_noise_sd(gt), 0.0)):
            rows.append((t.trial_id, pairs[b][0], worse, better))
    share = len(rows) / eligible if eligible else 0.0
    if len(rows) < MIN_AFFECTED or share < OVERFIT_SHARE:
        return []
    best_steps = [r[1] for r in rows]
    stop = int(np.median(best_steps)) + 1
    return [Finding(
        "overfitting", "warning",
        f"In {len(rows)} of {eligible} trials {train} kept improving after {objective.name}'s "
        f"best epoch while {objective.name} got worse: the models overfit.",
        {"objective": objective.name, "training_metric": train, "share": _num(share),
         "trials": [r[0] for r in rows], "val_best_steps": best_steps,
         "val_worsened": [_num(r[2]) for r in rows], "train_improved": [_num(r[3]) for r in rows]},
        f"Add keras.callbacks.EarlyStopping(monitor={objective.name!r}, patience=3, "
        "restore_best_weights=True); tune regularisation (e.g. a Dropout rate "
        f"hp.Float('dropout', 0.0, 0.5)); or train fewer epochs (about {stop + 2}).",
    )]


CHECKS: list[Check] = [
    check_noisy_objective,
    check_lucky_epoch,
    check_undertrained,
    check_early_stopping_premature,
    check_overfitting,
]
