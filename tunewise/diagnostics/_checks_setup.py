"""Checks on how the search is set up: is the objective logged, pointed the right way, and does
it rank trials as the other metrics the user cares about do?"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from ..objective import MultiObjective, Objective, closest_name, infer_direction
from ..trial import FrozenTrial, Step, TrialState
from ..trial_attrs import EXECUTIONS, SPREAD_SUFFIX
from ._model import Check, Finding, SearchHistory
from ._stats import jitter, spearman

#: Rank correlation above which "better objective" goes with "worse loss" across trials. A
#: model's loss and its objective normally agree; 0.7 over at least 8 trials (p < 0.05) is a
#: clear, not a chance, inversion.
LOSS_INVERSION_RHO = 0.7
MIN_TRIALS_FOR_LOSS = 8

#: metric-mismatch: needs this many completed trials for a ranking to mean anything.
MIN_TRIALS_FOR_MISMATCH = 5
#: The objective's best must be among a metric's top max(2, 20%) trials to count as agreeing.
MISMATCH_TOP_SHARE = 0.2
MISMATCH_TOP_MIN = 2
#: Objective and metric "rank trials differently" below this rank correlation: under 0.5 the
#: objective explains less than a quarter of the metric's ordering.
MISMATCH_RHO = 0.5
#: The gap between the metric's best and the objective-best trial's value must be at least
#: this share of the metric's spread across trials: a smaller gap is a tie, not a mismatch.
MISMATCH_MIN_GAP_SHARE = 0.1
#: ... and more than this many times the metric's epoch-to-epoch noise (jitter of the second,
#: flattened half of the curves; the larger of its median over trials and the metric-best
#: trial's own, as the metric-best is the trial most likely to owe its place to a lucky epoch):
#: each trial keeps its best epoch, which sits 1.5-2 noise widths above its curve when the
#: metric is noisy, so a smaller gap may be luck.
MISMATCH_NOISE_FACTOR = 2.0

#: Metric names that are bookkeeping, not quality: the spread across executions and its count.
_BOOKKEEPING = re.compile(rf"({re.escape(SPREAD_SUFFIX)}$|^{re.escape(EXECUTIONS)}$)")
#: Known-direction metrics that are not what a user "cares about" instead of the objective:
#: losses (surrogates; direction-suspect compares against the loss), raw confusion counts
#: (true_positives is maximised by predicting everything positive) and costs such as time
#: (a trade-off against quality, not a disagreement).
_NOT_QUALITY = re.compile(
    r"(^|_)(loss|time|seconds|secs|latency)(_|$)|^(val_|validation_)?(true|false)_"
)

_NEVER_REPORTED = re.compile(r"objective (.+?) was never reported; the trial reported: (.*)")
#: A Pareto study's trial that did not report every objective in one step.
_PARETO_NEVER = re.compile(r"objective\(s\) (.+?) never reported;.*?the trial reported: (.*)")
_NOT_LOGGED = re.compile(
    r"The objective '([^']+)' is not in the metrics the model logs: ?(.*?)\.(?:\s|$)"
)
#: Keras Tuner's ``Oracle.update_trial`` (and tunewise's, in a ``run_trial`` that calls it)
#: when the reported metrics lack the objective; ``found:`` lists the names it got.
_ORACLE_MISSING = re.compile(
    r"Objective value missing in metrics reported to the Oracle, expected: .*?, found: (.*)"
)
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
#: Keras Tuner 1.4's ``Objective.get_value`` on logs without the objective: ``KeyError: 'x'``
#: as the traceback's last line (a project read by :mod:`tunewise.foreign`).
_KT_KEY_ERROR = re.compile(r"\bget_value\b[\s\S]*KeyError: '([^']+)'\s*$")
_VAL = ("val_", "validation_")


def _components(h: SearchHistory) -> tuple[Objective, ...]:
    o = h.objective
    return o.objectives if isinstance(o, MultiObjective) else (o,)


def _names_in(steps: Iterable[Step]) -> set[str]:
    return {k for s in steps for k in s.metrics}


def _split(names: str) -> list[str]:
    names = names.strip()
    return [] if names in ("", "none") else [n.strip() for n in names.split(",") if n.strip()]


def _missing(h: SearchHistory, t: FrozenTrial) -> tuple[list[str], set[str]] | None:
    """The objective names ``t`` never logged and the names it did log; None if it logged them."""
    if t.state in (TrialState.RUNNING, TrialState.WAITING, TrialState.COMPLETED):
        return None
    reason = t.reason or ""
    keras = _NOT_LOGGED.search(reason)
    pareto = _PARETO_NEVER.search(reason)
    engine = _NEVER_REPORTED.search(reason) or pareto
    oracle = _ORACLE_MISSING.search(reason)
    logged = _names_in(t.steps)
    if t.steps and (engine or keras or oracle or t.state is TrialState.PRUNED):
        # A trial that raised after some steps may have meant to report the objective later.
        missing = [n for n in h.objective.names if n not in logged]
        return (missing, logged) if missing else None
    if keras:
        return [keras.group(1)], set(_split(keras.group(2)))
    if engine:
        named = _split(pareto.group(1)) if pareto else list(h.objective.names)
        return named, set(_split(engine.group(2)))
    if oracle:
        found = {a or b for a, b in _QUOTED.findall(oracle.group(1).splitlines()[0])}
        missing = [n for n in h.objective.names if n not in found]
        return (missing, found) if missing else None
    key = keras_tuner_missing(reason)
    if key in h.objective.names:
        return [key], logged
    return None


def keras_tuner_missing(reason: str | None) -> str | None:
    """The objective a Keras Tuner trial's traceback says was missing from its logs (the
    ``KeyError`` of its ``Objective.get_value``), else None."""
    m = _KT_KEY_ERROR.search(reason or "")
    return m.group(1) if m else None


def check_objective_not_logged(h: SearchHistory) -> list[Finding]:
    """The objective never appeared among a trial's metrics (a misspelt or absent metric)."""
    affected: dict[str, list[FrozenTrial]] = {}
    logged: dict[str, set[str]] = {}
    for t in sorted(h.trials, key=lambda t: t.number):
        missing, names = _missing(h, t) or ([], set())
        for name in missing:
            affected.setdefault(name, []).append(t)
            logged.setdefault(name, set()).update(names)
    findings = []
    for name, trials in affected.items():
        names = sorted(logged[name])
        close = closest_name(name, names)
        has_val = any(n.startswith(_VAL) for n in names)
        ids = [t.trial_id for t in trials]
        if not names and all(keras_tuner_missing(t.reason) for t in trials):
            what = ("failed with Keras Tuner's KeyError for it (the names the model logged "
                    "were not stored)")
            fix = (f"Check that model.compile(metrics=[...]) logs {name!r} (validation "
                   "metrics need validation_data), or pass the logged name as objective=; "
                   "a TensorBoard callback in search() keeps every epoch's names.")
        elif not names:
            what = "reported no metric at all"
            fix = (f"Return the objective from the objective function (a number, or a dict "
                   f"holding {name!r}), or call trial.report(step, {{{name!r}: value}}).")
        else:
            what = "logged only " + ", ".join(names)
            comps = _components(h)
            if close and len(comps) > 1:
                renamed = [Objective(close, o.direction) if o.name == name else o for o in comps]
                fix = f"Pass objective={_spell(renamed)}: {close!r} is the name the model logs."
            elif close:
                fix = f"Pass objective={close!r}, the name the model logs."
            else:
                fix = (f"Add the metric to model.compile(metrics=[...]) so that {name!r} is "
                       "logged, or pick one of the logged names as the objective.")
            if name.startswith(_VAL) and not has_val:
                what += " (no validation data: no val_ metric was logged)"
                fix = ("No validation metric was logged at all: pass validation_data=(x_val, "
                       "y_val) or validation_split=0.2 to search()"
                       + (f", or tune objective={close!r}." if close else "."))
        findings.append(Finding(
            "objective-not-logged",
            "problem",
            f"The objective {name!r} was never logged by {len(trials)} of {len(h.trials)} "
            f"trials ({', '.join(ids[:5])}{', ...' if len(ids) > 5 else ''}), which {what}.",
            {"objective": name, "trials": ids, "logged": names, "closest": close,
             "validation_logged": has_val},
            fix,
        ))
    return findings


def _spell(objectives: Iterable[Objective]) -> str:
    parts = [f'tunewise.Objective("{o.name}", "{o.direction}")' for o in objectives]
    return parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"


def _is_loss(name: str) -> bool:
    return bool(re.search(r"(^|_)loss(_|$)", name.lower())) and infer_direction(name) == "min"


def _goodness(h: SearchHistory, t: FrozenTrial) -> float:
    """The objective's goodness (higher is better) of a completed trial."""
    assert t.score is not None  # completed trials always hold a score
    return h.goodness(t.score)


def _at_best_step(t: FrozenTrial, name: str) -> float | None:
    for s in t.steps:
        if s.step == t.best_step:
            v = s.metrics.get(name)
            return float(v) if v is not None and math.isfinite(v) else None
    return None


def check_direction_suspect(h: SearchHistory) -> list[Finding]:
    """The objective's direction contradicts its name, or better objective means worse loss."""
    comps = _components(h)
    wrong = [o for o in comps if infer_direction(o.name) not in (None, o.direction)]
    if wrong:
        fixed = [Objective(o.name, infer_direction(o.name) or o.direction) for o in comps]
        return [Finding(
            "direction-suspect",
            "problem",
            f"The objective {o.name!r} is {o.direction}imised, but a metric of that name is "
            f"{infer_direction(o.name)}imised, so the search likely ranks its worst trials best.",
            {"objective": o.name, "direction": o.direction,
             "expected_direction": infer_direction(o.name)},
            f"Pass objective={_spell(fixed)}.",
        ) for o in wrong]
    names = set(h.objective.names)
    if len(comps) == 1 and _is_loss(comps[0].name):
        return []  # the objective is the loss itself, pointed the right way
    # Compare like with like: a validation objective with the validation loss, a training one
    # with the training loss (a better val score with a lower training loss is overfitting).
    loss = "val_loss" if any(n.startswith(_VAL) for n in names) else "loss"
    if loss in names:
        return []
    # (goodness, loss at the best step, lowest loss over all steps, trial)
    rows = [(_goodness(h, t), _at_best_step(t, loss), _best_value(t, loss, "min"), t)
            for t in h.completed]
    rows = [r for r in rows if r[1] is not None and r[2] is not None]
    if len(rows) < MIN_TRIALS_FOR_LOSS:
        return []
    goodness = [r[0] for r in rows]
    rho = spearman(goodness, [r[1] for r in rows])
    # An overconfident classifier's loss rises while its accuracy still improves, so the loss
    # at the best-accuracy epoch can track accuracy; an inverted objective instead picks trials
    # whose loss is bad at every epoch, so their lowest loss must be among the worst too.
    rho_min = spearman(goodness, [r[2] for r in rows])
    if rho is None or rho_min is None or min(rho, rho_min) <= LOSS_INVERSION_RHO:
        return []
    best = max(rows, key=lambda r: (r[0], -r[3].number))
    lowest = min(rows, key=lambda r: (r[1], r[3].number))
    flipped = [Objective(o.name, "max" if o.direction == "min" else "min") for o in comps]
    return [Finding(
        "direction-suspect",
        "problem",
        f"Across {len(rows)} trials the ones ranked best on {h.objective.describe()} have the "
        f"worst {loss} (rank correlation {rho:.2f}): the direction is likely inverted.",
        {"objective": h.objective.describe(), "loss_metric": loss, "rank_correlation": rho,
         "rank_correlation_lowest_loss": rho_min,
         "trials": len(rows), "best_trial": best[3].trial_id, "best_trial_objective": best[3].score,
         "best_trial_loss": best[1], "lowest_loss_trial": lowest[3].trial_id,
         "lowest_loss_trial_objective": lowest[3].score, "lowest_loss": lowest[1]},
        f"If lower is better, pass objective={_spell(flipped)}; else check that the metric is "
        f"computed with the right sign and on the right data.",
    )]


def _best_value(t: FrozenTrial, name: str, direction: str) -> float | None:
    values = [float(s.metrics[name]) for s in t.steps
              if name in s.metrics and math.isfinite(s.metrics[name])]
    if not values:
        return None
    return min(values) if direction == "min" else max(values)


def _noise(h: SearchHistory, trials: list[FrozenTrial], name: str, lead: FrozenTrial) -> float:
    """Epoch-to-epoch jitter of ``name`` (second half of each curve): the larger of its median
    over ``trials`` and the jitter of ``lead``."""
    tails = {t.number: c[len(c) // 2:] for t in trials for c in [h.curve(t, name)]}
    values = sorted(jitter(tail) for tail in tails.values() if len(tail) >= 3)
    if not values:
        return 0.0
    own = tails[lead.number]
    return max(values[len(values) // 2], jitter(own) if len(own) >= 3 else 0.0)


def _candidates(h: SearchHistory, done: list[FrozenTrial]) -> list[tuple[str, str]]:
    """Other logged metrics with a known direction that measure quality (see _NOT_QUALITY)."""
    logged = sorted({n for t in done for n in _names_in(t.steps)})
    if any(n.startswith(_VAL) for n in logged):
        logged = [n for n in logged if n.startswith(_VAL)]
    out = []
    for name in logged:
        direction = infer_direction(name)
        if (direction and name not in h.objective.names and not _BOOKKEEPING.search(name)
                and not _NOT_QUALITY.search(name.lower())):
            out.append((name, direction))
    return out


def check_metric_mismatch(h: SearchHistory) -> list[Finding]:
    """The objective's best trial is not among the best on another metric the user tracks."""
    done, ranked = h.completed, h.ranked
    if len(done) < MIN_TRIALS_FOR_MISMATCH or check_direction_suspect(h):
        return []  # too few trials, or a suspect direction that explains any disagreement
    top = ranked[0]
    findings = []
    for name, direction in _candidates(h, done):
        sign = 1 if direction == "min" else -1
        rows = [(t, _best_value(t, name, direction)) for t in done]
        rows = [(t, v) for t, v in rows if v is not None]
        mine = next((v for t, v in rows if t is top), None)
        if len(rows) < MIN_TRIALS_FOR_MISMATCH or mine is None:
            continue
        k = max(MISMATCH_TOP_MIN, math.ceil(MISMATCH_TOP_SHARE * len(rows)))
        better = sum(1 for _, v in rows if -sign * v > -sign * mine)
        values = [v for _, v in rows]
        gap, spread = abs(mine - (min if sign > 0 else max)(values)), max(values) - min(values)
        m_best, m_value = min(rows, key=lambda r: (sign * r[1], r[0].number))
        noise = _noise(h, [t for t, _ in rows], name, m_best)
        if better < k or gap < max(MISMATCH_MIN_GAP_SHARE * spread, MISMATCH_NOISE_FACTOR * noise):
            continue
        rho = spearman([_goodness(h, t) for t, _ in rows], [-sign * v for _, v in rows])
        if rho is None or rho >= MISMATCH_RHO:
            continue
        obj = h.objective.describe()
        findings.append(Finding(
            "metric-mismatch",
            "warning",
            f"The objective {obj} and {name} rank trials differently (rank correlation "
            f"{rho:.2f}): trial {top.trial_id}, best on the objective, has {name}={mine:.4g}, "
            f"rank {better + 1} of {len(rows)}, while trial {m_best.trial_id} reaches "
            f"{m_value:.4g}.",
            {"objective": obj, "metric": name, "rank_correlation": rho,
             "objective_best_trial": top.trial_id, "objective_best_score": top.score,
             "objective_best_metric": mine, "objective_best_metric_rank": better + 1,
             "metric_best_trial": m_best.trial_id, "metric_best_value": m_value,
             "metric_best_trial_score": m_best.score, "trials": len(rows), "top_k": k},
            f"If {name} is what matters, tune on it (objective={name!r}), or combine both "
            f"(objective={_spell([*_components(h), Objective(name, direction)])}).",
        ))
    return findings


CHECKS: list[Check] = [check_objective_not_logged, check_direction_suspect, check_metric_mismatch]
