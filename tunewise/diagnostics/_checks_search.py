"""Checks on the search as a whole: budget, exhaustion, reloads, failures, ranges, stagnation."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from .. import trial_attrs as keys
from ..samplers._gp import default_initial_points
from ..schedulers import job_of
from ..schedulers._planning import MODEL_MIN_EXTRA, model_budget
from ..space import Choice, Float, HyperParameter, Int, config_key, count_configurations
from ..trial import FrozenTrial, TrialState
from ._checks_setup import keras_tuner_missing
from ._model import Check, Finding, SearchHistory
from ._stats import spearman

#: Random search needs several trials per tuned dimension before its best means much: with
#: fewer than this many per dimension the best is mostly the luck of the first draws.
MIN_TRIALS_PER_DIMENSION = 5

#: "Still improving" when the best so far moved, within the last quarter of the trials, by
#: at least this share of its whole improvement since the first trial. Late gains of a
#: converged random search are a few percent; a tenth is a real trend.
LATE_WINDOW = 0.25
LATE_GAIN_SHARE = 0.10

#: Failed trials worth a warning (a tenth of the budget wasted), and a problem (half).
FAILED_WARNING_SHARE = 0.10
FAILED_PROBLEM_SHARE = 0.50

#: A hyperparameter value "explains" failures when at least this share of the trials on one
#: side of a threshold failed (with at least MIN_FAILED_IN_GROUP of them), and at most
#: FAILED_OUTSIDE_SHARE of the others.
FAILED_GROUP_SHARE = 0.8
MIN_FAILED_IN_GROUP = 3
FAILED_OUTSIDE_SHARE = 0.2
#: ... and only against at least this many trials outside the group: a value "explains"
#: failures by contrast with trials that did not fail, so when every trial failed (for one
#: reason, unrelated to any value) no range is blamed.
MIN_OUTSIDE_TRIALS = 3

#: Edge of a range: the outer tenth of the unit interval (or the first/last grid value).
EDGE = 0.1
#: With the best trial at an edge, the finding needs either this share of the top trials at
#: the same edge, or trials getting better toward that edge across the whole search (rank
#: correlation of position and goodness at least EDGE_TREND: a clear, not a chance, trend).
EDGE_TOP_SHARE = 2 / 3
EDGE_TREND = 0.5
#: A trend this strong (trials better toward the edge nearly in rank order) is strong
#: evidence on its own, without a pile of top trials at the edge.
EDGE_STRONG_TREND = 0.8
MIN_TRIALS_FOR_EDGE = 8
#: A stalled search is "not converged yet" (rather than "converged") when the stop rule's
#: bound on the improvement left is at least this many times its noise threshold.
STAGNATION_ROOM = 2.0

#: A linear range spanning this many orders of magnitude puts nearly every sample in the top
#: decade (90% of them for 3 orders), so the small values are never tried.
SCALE_ORDERS = 3.0

#: Samplers that model the results (and so wait for enough of them at one budget).
MODEL_SAMPLERS = ("gp", "tpe", "auto")

#: The best has "stalled" after this many completed trials without improvement, and at least
#: this share of all completed trials.
STAGNATION_MIN_TRIALS = 10
STAGNATION_SHARE = 0.5


# ---------------------------------------------------------------------- budget


def check_budget_too_small(h: SearchHistory) -> list[Finding]:
    """Too few trials for the dimensions, a Bayesian search still random, or cut off while improving."""
    findings = []
    n, d = len(h.completed), len(h.tuned_space)
    exhausted = any(r.get("stopped_because") == "exhausted" for r in h.runs)
    size = count_configurations(h.tuned_space)
    if d and n < MIN_TRIALS_PER_DIMENSION * d and not exhausted and (size is None or size > n):
        findings.append(
            Finding(
                "budget-too-small",
                "warning",
                f"Only {n} trials completed for {d} tuned hyperparameters: too few for the best "
                "to be more than the luck of the first draws.",
                {"completed_trials": n, "tuned_hyperparameters": d,
                 "suggested_trials": MIN_TRIALS_PER_DIMENSION * d},
                f"Raise max_trials to at least {MIN_TRIALS_PER_DIMENSION * d}, or tune fewer "
                "hyperparameters (fix the ones that matter least with hp.Fixed).",
            )
        )
    initial = _num_initial_points(h)
    if h.algorithm == "bayesian" and 0 < n <= initial:
        findings.append(
            Finding(
                "budget-too-small",
                "warning",
                f"The Bayesian optimizer never left its random initial phase: {n} trials "
                f"completed, num_initial_points={initial}.",
                {"completed_trials": n, "num_initial_points": initial},
                f"Raise max_trials well above {initial} (e.g. {initial + 10 * max(1, d)}), or "
                "lower num_initial_points.",
            )
        )
    findings += _model_never_used_by_scheduler(h)
    last = h.runs[-1] if h.runs else {}
    curve = h.best_so_far()
    if last.get("stopped_because") in ("max_trials", "timeout") and len(curve) >= 8:
        first, best = curve[0][1], curve[-1][1]
        cut = curve[int(len(curve) * (1 - LATE_WINDOW)) - 1][1]
        total = abs(best - first)
        late = abs(best - cut)
        if total > 0 and late >= LATE_GAIN_SHARE * total:
            limit = last["stopped_because"]
            findings.append(
                Finding(
                    "budget-too-small",
                    "warning",
                    f"The search was cut by {limit} while still improving: the best moved by "
                    f"{late:.4g} in the last quarter of its trials.",
                    {"stopped_by": limit, "late_improvement": late, "total_improvement": total,
                     "best_so_far_by_trial": [[k, v] for k, v in curve[-5:]]},
                    "Raise max_trials (or the timeout): the search had not converged.",
                )
            )
    return findings


def _model_never_used_by_scheduler(h: SearchHistory) -> list[Finding]:
    """Hyperband/ASHA with a model-based sampler (BOHB) whose random phase never ended: no
    budget reached the ``d + 3`` completed trials the model waits for."""
    scheduler, sampler = h.settings.get("scheduler"), h.settings.get("sampler")
    if not (isinstance(scheduler, dict) and isinstance(sampler, dict)):
        return []
    if sampler.get("name") not in MODEL_SAMPLERS or not h.completed or not h.runs:
        return []
    n_min = len(h.space) + MODEL_MIN_EXTRA
    if model_budget(h.trials, n_min) is not None:
        return []
    counts = Counter(job.budget for t in h.completed if (job := job_of(t)) is not None)
    if not counts:
        return []
    budget, most = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return [
        Finding(
            "budget-too-small",
            "warning",
            f"The {sampler['name']} model never picked a configuration: {scheduler.get('name')} "
            f"gives it the results at one budget once there are {n_min} of them "
            f"({len(h.space)} hyperparameters + {MODEL_MIN_EXTRA}), and the most at any "
            f"budget were {most} (at {budget}). Every configuration was drawn at random.",
            {"model_min_results": n_min, "most_results_at_one_budget": most,
             "at_budget": budget, "results_per_budget": dict(sorted(counts.items()))},
            "Run more of the schedule (hyperband_iterations=2 or more, or max_trials=None), or "
            "a larger max_epochs or smaller factor so that the first rung holds more "
            "configurations; or tune fewer hyperparameters.",
        )
    ]


def _num_initial_points(h: SearchHistory) -> int:
    """The initial design size the search used: the one it was given, else tunewise's GP
    default for the tuned space (also what AutoSampler's GP uses), else Keras Tuner's
    default of 3 per hyperparameter."""
    sampler = h.settings.get("sampler", {})
    sampler = sampler if isinstance(sampler, dict) else {}
    gp = sampler.get("gp") if isinstance(sampler.get("gp"), dict) else sampler
    tuner = h.settings.get("tuner", {})
    for source in (gp, tuner if isinstance(tuner, dict) else {}):
        if source.get("num_initial_points"):
            return int(source["num_initial_points"])
    if gp.get("name") == "gp":
        return default_initial_points(h.tuned_space)
    return 3 * len(h.tuned_space)


# ---------------------------------------------------------------------- run log


def check_search_space_exhausted(h: SearchHistory) -> list[Finding]:
    exhausted = [r for r in h.runs if r.get("stopped_because") == "exhausted"]
    if not exhausted:
        return []
    unique = len({config_key(t.values) for t in h.trials if t.retry_of is None})
    size = count_configurations(h.tuned_space)
    grid = h.algorithm == "grid"
    return [
        Finding(
            "search-space-exhausted",
            "info" if grid else "warning",
            f"The discrete search space ran out after {unique} unique configurations, so the "
            "search stopped early and no later trial could improve the best."
            if not grid
            else f"The grid is complete: all {unique} configurations were tried.",
            {"unique_configurations": unique, "space_size": size,
             "runs_stopped": len(exhausted)},
            "Widen the space: larger ranges, finer steps, more choices, or a continuous "
            "hp.Float (no step) for real-valued hyperparameters.",
        )
    ]


def check_resumed_finished_project(h: SearchHistory) -> list[Finding]:
    findings = []
    runs = h.runs
    if runs and runs[-1].get("stopped_because") == "already_finished":
        last = runs[-1]
        findings.append(
            Finding(
                "resumed-finished-project",
                "warning",
                f"The last run reloaded study {h.study_name!r}, which already had "
                f"{last.get('max_trials')} trials, and ran no new trial: the best shown is the "
                "stored one.",
                {"max_trials": last.get("max_trials"), "stored_trials": len(h.trials),
                 "location": h.location},
                f"Raise max_trials above {last.get('max_trials')}, pass overwrite=True to start "
                "afresh, or use a new project_name.",
            )
        )
    events = [e for r in runs for e in r.get("events", [])]
    beside = [e for e in events if e.get("event") == "new_study_beside"]
    if beside:
        e = beside[-1]
        findings.append(
            Finding(
                "resumed-finished-project",
                "info",
                f"This study was started beside study {e['other']!r} in the same project because "
                f"the search differs ({e['differences']}); their trials are not ranked together.",
                {"other_study": e["other"], "differences": e["differences"]},
                "Nothing to fix; pass a distinct project_name to keep projects apart.",
            )
        )
    changes = {e["name"]: e for e in events if e.get("event") == "space_changed"}
    if changes:
        findings.append(
            Finding(
                "resumed-finished-project",
                "info",
                "The stored search space differed from the script's; the script's definitions "
                "replaced it: " + "; ".join(
                    f"{n}: {e['old']} -> {e['new']}" for n, e in changes.items()
                ) + ".",
                {"changed": {n: [e["old"], e["new"]] for n, e in changes.items()}},
                "Stored trials keep their values; pass overwrite=True to rank only trials of "
                "the new space.",
            )
        )
    return findings


def check_reruns_pending(h: SearchHistory) -> list[Finding]:
    """Stored re-runs no search has run yet: the best shown does not include them."""
    waiting = [t for t in h.trials if t.state is TrialState.WAITING]
    if not waiting:
        return []
    failed = [t for t in h.trials if t.state is TrialState.FAILED]

    def cut_attempt(rerun: FrozenTrial) -> FrozenTrial | None:
        """The failed attempt this re-run repeats: the last one of its configuration."""
        before = [t for t in failed
                  if t.original_number == rerun.original_number and t.number < rerun.number]
        return max(before, key=lambda t: t.number, default=None)

    cut = [cut_attempt(t) for t in waiting]
    interrupted = sum(bool(t and t.attrs.get(keys.INTERRUPTED)) for t in cut)
    crashed = sum(bool(t and t.attrs.get(keys.CUT_BY_CRASH)) for t in cut)
    return [
        Finding(
            "reruns-pending",
            "warning",
            f"{len(waiting)} trials wait to be re-run ({interrupted} cut by Ctrl-C or a stopped "
            f"search, {crashed} by a worker that died, {len(waiting) - interrupted - crashed} "
            "after a failure): their configurations have no result yet, so the best shown "
            "does not count them.",
            {"waiting": [t.number for t in waiting],
             "configurations": sorted({t.original_number for t in waiting}),
             "interrupted": interrupted, "cut_by_crash": crashed},
            "Run the search again (the same script, or any worker on this storage): stored "
            "re-runs are claimed first, before new trials.",
        )
    ]


# ---------------------------------------------------------------------- failures


def _final_attempts(h: SearchHistory) -> list[FrozenTrial]:
    """The last attempt of each configuration (re-runs replace the attempt they re-run)."""
    last: dict[int, FrozenTrial] = {}
    for t in sorted(h.trials, key=lambda t: t.number):
        last[t.original_number] = t
    return [t for t in last.values() if t.state.is_finished]


def _failure_kind(reason: str | None) -> str:
    text = reason or ""
    if re.search(r"was (nan|inf|-inf) at step", text):
        return "nan-or-inf"
    if ("never reported" in text or "not in the metrics the model logs" in text
            or "Objective value missing in metrics reported to the Oracle" in text
            or keras_tuner_missing(text)):
        return "objective-missing"
    if "worker running trial" in text:
        return "worker-died"
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].split(":")[0].strip() if lines else "unknown"


def check_failed_trials(h: SearchHistory) -> list[Finding]:
    attempts = _final_attempts(h)
    failed = [t for t in attempts if t.state is TrialState.FAILED]
    if not attempts or not failed:
        return []
    share = len(failed) / len(attempts)
    if share < FAILED_WARNING_SHARE:
        return []
    kinds = Counter(_failure_kind(t.reason) for t in failed)
    # A trial that did not log the objective failed because of a name, not of its values
    # (objective-not-logged names those trials): it takes no part in the value patterns.
    patterns = _shared_values(h, [
        t for t in attempts
        if not (t.state is TrialState.FAILED and _failure_kind(t.reason) == "objective-missing")
    ])
    message = (
        f"{len(failed)} of {len(attempts)} configurations failed "
        f"({', '.join(f'{n} {k}' for k, n in kinds.most_common())})"
    )
    message += f"; {patterns[0]['text']}." if patterns else "."
    if kinds.get("nan-or-inf") and patterns:
        fix = f"Narrow the range: {patterns[0]['fix']}; or stabilise training (lower learning " \
              "rate, gradient clipping with clipnorm=1.0)."
    elif patterns:
        fix = f"Narrow the range: {patterns[0]['fix']}."
    elif kinds.get("nan-or-inf"):
        fix = "Stabilise training: a lower learning rate range, gradient clipping (clipnorm=1.0)."
    elif set(kinds) == {"objective-missing"}:
        fix = "Log the objective under the name the search optimises (see objective-not-logged)."
    else:
        fix = "Read the stored tracebacks (trial.reason) and fix the error in the objective."
    return [
        Finding(
            "failed-trials",
            "problem" if share >= FAILED_PROBLEM_SHARE else "warning",
            message,
            {"failed": len(failed), "configurations": len(attempts), "share": share,
             "kinds": dict(kinds), "failed_trials": [t.trial_id for t in failed],
             "shared_values": [p["text"] for p in patterns]},
            fix,
        )
    ]


def _shared_values(h: SearchHistory, attempts: list[FrozenTrial]) -> list[dict[str, Any]]:
    """Hyperparameter values that most failed trials share and most others do not."""
    out = []
    for hp in h.space:
        having = [t for t in attempts if hp.name in t.values]
        if len(having) < MIN_FAILED_IN_GROUP:
            continue
        numeric = isinstance(hp, (Int, Float)) or (isinstance(hp, Choice) and hp.ordered)
        if numeric:
            found = _threshold_pattern(hp, having)
            if found:
                out.append(found)
            continue
        for value in {t.values[hp.name] for t in having}:
            inside = [t for t in having if t.values[hp.name] == value]
            found = _group_pattern(hp.name, inside, having, f"{hp.name}={value!r}")
            if found:
                found["fix"] = f"drop {value!r} from {hp.name!r}"
                out.append(found)
    return out


def _threshold_pattern(hp: HyperParameter, having: list[FrozenTrial]) -> dict[str, Any] | None:
    failed_values = [t.values[hp.name] for t in having if t.state is TrialState.FAILED]
    if not failed_values:
        return None
    low, high = min(failed_values), max(failed_values)
    above = [t for t in having if t.values[hp.name] >= low]
    found = _group_pattern(hp.name, above, having, f"every {hp.name} >= {low:g}")
    if found:
        found["fix"] = f"{hp.name} max_value below {low:g}"
        return found
    below = [t for t in having if t.values[hp.name] <= high]
    found = _group_pattern(hp.name, below, having, f"every {hp.name} <= {high:g}")
    if found:
        found["fix"] = f"{hp.name} min_value above {high:g}"
    return found


def _group_pattern(
    name: str, inside: list[FrozenTrial], having: list[FrozenTrial], label: str
) -> dict[str, Any] | None:
    inside_failed = sum(t.state is TrialState.FAILED for t in inside)
    outside = [t for t in having if t not in inside]
    outside_failed = sum(t.state is TrialState.FAILED for t in outside)
    if inside_failed < MIN_FAILED_IN_GROUP or inside_failed / len(inside) < FAILED_GROUP_SHARE:
        return None
    if len(outside) < MIN_OUTSIDE_TRIALS or outside_failed / len(outside) > FAILED_OUTSIDE_SHARE:
        return None
    return {"text": f"{label} failed ({inside_failed} of {len(inside)})", "hyperparameter": name}


# ---------------------------------------------------------------------- ranges


def _wide_linear(hp: HyperParameter) -> bool:
    """A linear range over many orders of magnitude (what ``scale-suspect`` flags)."""
    return (
        isinstance(hp, (Int, Float))
        and hp.sampling == "linear"
        and hp.min_value > 0
        and math.log10(hp.max_value / hp.min_value) >= SCALE_ORDERS
    )


def _position(hp: HyperParameter, value: Any) -> float:
    """Where ``value`` sits in its range, 0 to 1 (on the log scale for a wide linear range)."""
    if _wide_linear(hp):  # judge on the log scale, where such a range is meant to be read
        lo, hi = math.log(hp.min_value), math.log(hp.max_value)  # type: ignore[attr-defined]
        return (math.log(max(value, hp.min_value)) - lo) / (hi - lo)  # type: ignore[attr-defined]
    return hp.to_unit(value)


def _edge(hp: HyperParameter, value: Any) -> str | None:
    if _wide_linear(hp):
        u = _position(hp, value)
        return "min" if u <= EDGE else "max" if u >= 1 - EDGE else None
    if hp.grid_size is not None and hp.grid_size >= 3:
        index = hp.grid_index(value)
        return "min" if index == 0 else "max" if index == hp.grid_size - 1 else None
    u = hp.to_unit(value)
    return "min" if u <= EDGE else "max" if u >= 1 - EDGE else None


def check_boundary_optimum(h: SearchHistory) -> list[Finding]:
    """The best trials pile at an edge of a range, so a better value may lie beyond it.

    The finding needs the best trial in the outer tenth of the range (or at the first or last
    grid value), and either most of the top trials (``EDGE_TOP_SHARE`` of the best tenth, at
    least 3) at that edge or trials getting better toward it across the search (rank
    correlation ``EDGE_TREND``).

    It is a **warning** (a direct reason the best cannot improve: the search cannot go where
    the best values are) when the evidence is strong, that is the top trials pile at the edge
    and the trend points toward it (rank correlation at least ``EDGE_TREND``), or the trend alone is at least ``EDGE_STRONG_TREND``, and
    the bound is not a natural limit. It stays **info** when the evidence is weak (a moderate
    trend without a pile, or a pile without a trend of at least ``EDGE_TREND``: on a grid of
    four values, two of the top three at its last one happen by luck one time in six) or
    the bound is a natural limit, by
    this rule (:func:`_natural_limit`):

    * any bound of an ordered ``hp.Choice``: its values are the ones there are to choose;
    * the lower bound of an ``hp.Int`` range starting at 0 or 1: a count (layers, units);
    * 0 or 1 of a range inside [0, 1] whose name says a probability or a fraction (dropout,
      rate other than a learning rate, prob, fraction, ratio, momentum, beta, subsample, ...);
    * 0 at the lower edge of a non-negative range whose name says a penalty (weight decay,
      l1, l2, regularization, penalty, smoothing): 0 switches it off.

    Booleans and unordered choices are never judged (they have no edge), nor wide linear
    ranges (``scale-suspect`` covers them).
    """
    ranked = h.ranked
    if len(ranked) < MIN_TRIALS_FOR_EDGE:
        return []
    findings = []
    for hp in h.space:
        numeric = isinstance(hp, (Int, Float)) or (isinstance(hp, Choice) and hp.ordered)
        if not numeric or (hp.grid_size is not None and hp.grid_size < 3):
            continue
        if _wide_linear(hp):
            continue  # scale-suspect: linear sampling crowds every trial at the top edge anyway
        with_hp = [t for t in ranked if hp.name in t.values]
        if len({t.values[hp.name] for t in with_hp}) < 3:
            continue
        top = with_hp[: max(3, math.ceil(0.1 * len(with_hp)))]
        edge = _edge(hp, top[0].values[hp.name])
        if edge is None:
            continue
        same = [t for t in top if _edge(hp, t.values[hp.name]) == edge]
        position = [_position(hp, t.values[hp.name]) for t in with_hp]
        goodness = [h.goodness(t.score) for t in with_hp]  # type: ignore[arg-type]
        rho = spearman(position, goodness) or 0.0
        toward_edge = rho if edge == "max" else -rho
        pile = len(same) >= EDGE_TOP_SHARE * len(top)
        if not pile and toward_edge < EDGE_TREND:
            continue
        bound = _bound(hp, edge)
        natural = _natural_limit(hp, edge, bound)
        strong = (pile and toward_edge >= EDGE_TREND) or toward_edge >= EDGE_STRONG_TREND
        if natural:
            note = f" ({natural}: if so, this is fine)"
        elif not strong:
            note = " (weak evidence: " + ("only a moderate trend points there" if not pile
                                          else "the trend toward it is weak") + ")"
        else:
            note = ""
        findings.append(
            Finding(
                "boundary-optimum",
                "warning" if strong and not natural else "info",
                f"The best trials sit at the {edge} edge of {hp.name!r} "
                f"({len(same)} of the top {len(top)} at or next to {bound!r}, rank correlation "
                f"{toward_edge:.2f} toward it), so a better value may lie beyond it{note}.",
                {"hyperparameter": hp.name, "edge": edge, "bound": bound,
                 "rank_correlation_toward_edge": toward_edge,
                 "top_at_edge": len(same),
                 "top_values": [t.values[hp.name] for t in top],
                 "top_trials": [t.trial_id for t in top],
                 "natural_limit": natural},
                _widen(hp, edge),
            )
        )
    return findings


#: Name words of a probability or a fraction, whose range is bounded by 0 and 1 by nature.
_FRACTION_WORDS = frozenset({
    "dropout", "rate", "prob", "probability", "p", "fraction", "frac", "ratio", "share",
    "momentum", "beta", "beta1", "beta2", "subsample", "colsample", "keep", "smoothing",
})
#: Name words of a penalty that 0 switches off.
_PENALTY_WORDS = frozenset({
    "decay", "l1", "l2", "penalty", "reg", "regularization", "regularisation", "regularizer",
    "smoothing", "dropout",
})
#: Words that make a "rate" a step size, not a fraction.
_STEP_WORDS = frozenset({"learning", "lr"})


def _name_words(name: str) -> set[str]:
    return {w for w in re.split(r"[^0-9a-z]+", name.lower()) if w}


def _natural_limit(hp: HyperParameter, edge: str, bound: Any) -> str | None:
    """Why ``bound`` (the ``edge`` of ``hp``) is a natural limit, or None (see
    :func:`check_boundary_optimum` for the rule)."""
    if isinstance(hp, Choice):
        return "the values of a Choice are the ones there are to choose"
    words = _name_words(hp.name)
    lo, hi = hp.min_value, hp.max_value  # type: ignore[attr-defined]
    if isinstance(hp, Int) and edge == "min" and bound in (0, 1):
        return f"a count cannot go below {bound}"
    if (0 <= lo and hi <= 1 and bound in (0, 1) and words & _FRACTION_WORDS
            and not words & _STEP_WORDS):
        return f"a probability or fraction cannot go {'below' if edge == 'min' else 'above'} " \
               f"{bound:g}"
    if edge == "min" and bound == 0 and words & _PENALTY_WORDS:
        return "0 switches the penalty off"
    return None


def _bound(hp: HyperParameter, edge: str) -> Any:
    if isinstance(hp, Choice):
        return hp.values[0] if edge == "min" else hp.values[-1]
    return hp.min_value if edge == "min" else hp.max_value  # type: ignore[attr-defined]


def _widen(hp: HyperParameter, edge: str) -> str:
    if isinstance(hp, Choice):
        side = "below" if edge == "min" else "above"
        return f"Add values {side} {_bound(hp, edge)!r} to {hp.name!r}."
    lo, hi = hp.min_value, hp.max_value  # type: ignore[attr-defined]
    if hp.sampling != "linear" and lo > 0:  # type: ignore[attr-defined]
        new = lo / 10 if edge == "min" else hi * 10
    else:
        width = hi - lo
        new = lo - width / 2 if edge == "min" else hi + width / 2
        if edge == "min" and lo >= 0 > new:
            new = 0 if lo > 0 else new
    if isinstance(hp, Int):
        new = int(round(new))
    arg = "min_value" if edge == "min" else "max_value"
    return f"Widen {hp.name!r}: {arg}={new:g} (now {_bound(hp, edge):g})."


def check_scale_suspect(h: SearchHistory) -> list[Finding]:
    findings = []
    for hp in h.space:
        if not _wide_linear(hp):
            continue
        orders = math.log10(hp.max_value / hp.min_value)  # type: ignore[attr-defined]
        values = [t.values[hp.name] for t in h.trials if hp.name in t.values]
        top_decade = sum(v >= hp.max_value / 10 for v in values)
        findings.append(
            Finding(
                "scale-suspect",
                "warning",
                f"{hp.name!r} spans {orders:.1f} orders of magnitude ({hp.min_value:g} to "
                f"{hp.max_value:g}) but is sampled linearly, so almost every trial draws from "
                "its top decade.",
                {"hyperparameter": hp.name, "min_value": hp.min_value,
                 "max_value": hp.max_value, "orders_of_magnitude": orders,
                 "sampled": len(values), "in_top_decade": top_decade},
                f'Use hp.{hp.class_name}({hp.name!r}, {hp.min_value:g}, {hp.max_value:g}, '
                'sampling="log").',
            )
        )
    return findings


# ---------------------------------------------------------------------- stagnation


def check_stagnation(h: SearchHistory, others: list[Finding]) -> list[Finding]:
    """The best has not improved for many trials: say what explains it, or that it converged."""
    curve = h.best_so_far()
    if len(curve) < STAGNATION_MIN_TRIALS:
        return []
    last_gain = max(i for i in range(len(curve)) if i == 0 or curve[i][1] != curve[i - 1][1])
    stalled = len(curve) - 1 - last_gain
    if stalled < STAGNATION_MIN_TRIALS or stalled < STAGNATION_SHARE * len(curve):
        return []
    causes = sorted({f.code for f in others if f.severity in ("problem", "warning")})
    evidence = {"completed_trials": len(curve), "trials_without_improvement": stalled,
                "best_trial": f"{curve[last_gain][0]:02d}", "best": curve[-1][1]}
    if causes:
        return [
            Finding(
                "stagnation",
                "warning",
                f"The best has not improved for {stalled} trials; the findings above explain "
                f"why: {', '.join(causes)}.",
                {**evidence, "explained_by": causes},
                "Fix those first; more trials of the same search will not help.",
            )
        ]
    go_on = next((f for f in others if f.code == "may-improve"), None)
    bound = go_on.evidence.get("bound") if go_on else None
    threshold = go_on.evidence.get("threshold") if go_on else None
    if (isinstance(bound, float) and isinstance(threshold, float)
            and bound >= STAGNATION_ROOM * threshold):
        # The stop rule's model sees clear room left (not a bound just above the noise):
        # say so, not "converged".
        return [
            Finding(
                "stagnation",
                "info",
                f"The best has not improved for {stalled} trials and nothing in the history "
                f"explains it, but the model of the results still sees room (up to "
                f"{bound:.3g}, see may-improve): the search has not converged yet.",
                {**evidence, "stop_rule": "may-improve"},
                "Go on with a model-based sampler (tw.GPSampler()), which explores where "
                "the room is; tw.StopWhenConverged() stops when it is gone.",
            )
        ]
    return [
        Finding(
            "stagnation",
            "info",
            f"The best has not improved for {stalled} trials and nothing in the history "
            "explains it: the search looks converged, and this may simply be the best there is.",
            evidence,
            "Stop here, or change what is searched (other hyperparameters, a larger model, "
            "better features) to go further.",
        )
    ]


CHECKS: list[Check] = [
    check_resumed_finished_project,
    check_reruns_pending,
    check_search_space_exhausted,
    check_failed_trials,
    check_budget_too_small,
    check_boundary_optimum,
    check_scale_suspect,
]
