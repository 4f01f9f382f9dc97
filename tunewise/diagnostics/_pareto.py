"""The doctor on several objectives (a Pareto study) and on constraints.

A Pareto study's trials have no single score, so the single-objective checks cannot read
them as they are. The doctor then runs:

* the checks that do not read a score on the study itself (failed trials, budget, space,
  resumes, objective-not-logged, scale-suspect...);
* the checks that read one objective (boundary-optimum, direction-suspect, noise, undertrained,
  overfitting, early stopping) once per objective, on a *view* of the history where each
  completed trial's score is that objective's value at the trial's point (see
  :func:`tunewise.pareto.objective_values`); each finding says which objective it is about
  (``evidence["objective"]`` and the message's opening words);
* ``front-stalled`` in place of ``stagnation``: the hypervolume of the front (objectives
  normalised to the observed range, reference point 10% beyond the worst values) has not
  grown for many completed trials;
* the checks that have no meaning for a front are skipped, each with its reason
  (:data:`SKIPPED`, shown in the report).

``check_infeasible`` (any study with constraints) counts the completed trials that violate
each constraint.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import numpy as np

from .. import pareto as pf
from ..objective import Objective, ParetoObjective
from ..trial import TrialState
from ._model import Finding, SearchHistory

#: A front has "stalled" after this many completed trials without hypervolume growth, and at
#: least this share of all completed front candidates (as stagnation's).
FRONT_STALL_MIN_TRIALS = 10
FRONT_STALL_SHARE = 0.5
#: Growth smaller than this share of the final hypervolume is no growth (rounding).
FRONT_GROWTH_TOLERANCE = 1e-6
#: infeasible-trials is a warning from this share of the completed trials, a problem when none
#: is feasible.
INFEASIBLE_WARNING_SHARE = 0.5

#: The checks skipped on a Pareto study, with why.
SKIPPED = {
    "stagnation": "a front has no single best; front-stalled tracks the hypervolume instead",
    "convergence": "the stop rule models one objective's best; front-stalled says whether the "
                   "front still moves",
    "recommendation": "the sampler recommendation reads one objective's results",
    "lucky-epoch": "a Pareto trial's point is its last step that reports every objective, "
                   "not a best epoch",
    "metric-mismatch": "the other objectives are intended, not a mismatch",
}


def is_pareto(h: SearchHistory) -> bool:
    return isinstance(h.objective, ParetoObjective)


def completed_with_point(h: SearchHistory) -> list[Any]:
    """The completed trials with a point (every objective reported), in number order."""
    return sorted(
        (t for t in h.trials if t.state is TrialState.COMPLETED
         and pf.objective_values(t, h.objective) is not None),
        key=lambda t: t.number,
    )


def view(h: SearchHistory, objective: Objective) -> SearchHistory:
    """``h`` as a single-objective history on ``objective``: each completed trial scored by
    that objective's value at its point step (trials without the value keep no score)."""
    trials = []
    for t in h.trials:
        if t.state is TrialState.COMPLETED:
            point = pf.objective_values(t, [objective])
            score = None if point is None else objective.sign * point[0]
            t = dataclasses.replace(t, score=score)
        trials.append(t)
    return dataclasses.replace(h, objective=objective, trials=tuple(trials))


def tag(finding: Finding, objective: Objective) -> Finding:
    """The finding, saying which objective it is about."""
    return dataclasses.replace(
        finding,
        message=f"On objective {objective.name} ({objective.direction}): {finding.message}",
        evidence={"objective": objective.name, **finding.evidence},
    )


# ---------------------------------------------------------------------- hypervolume
def hypervolume_history(h: SearchHistory) -> dict[str, Any]:
    """The normalised hypervolume of the front after each completed, feasible trial.

    Each objective is scaled to [0, 1] over the observed points and the reference point is
    1.1 in every component, so the value reads alike for any units (at most 1.1**k).
    Returns ``{"trials": [...numbers], "hypervolume": [...], "reference": [...raw], ...}``.
    """
    found = pf.front_candidates(sorted(h.trials, key=lambda t: t.number), h.objective)
    found.sort(key=lambda c: c[0].number)
    if not found:
        return {"trials": [], "hypervolume": [], "reference": []}
    P = np.array([p for _, p in found], dtype=float)
    low, high = P.min(axis=0), P.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    Z = (P - low) / span
    ref = np.full(P.shape[1], 1.1)
    values, front = [], np.empty((0, P.shape[1]))
    for z in Z:
        front = np.vstack([front, z])
        front = front[pf.nondominated(front)]
        values.append(pf.hypervolume(front, ref))
    return {"trials": [t.number for t, _ in found], "hypervolume": values,
            "reference": list(low + 1.1 * span), "low": list(low), "high": list(high)}


def check_front_stalled(h: SearchHistory, others: list[Finding]) -> list[Finding]:
    """The hypervolume of the front has not grown for many trials (the multi-objective stall)."""
    hv = hypervolume_history(h)
    numbers, values = hv["trials"], hv["hypervolume"]
    if len(values) < FRONT_STALL_MIN_TRIALS:
        return []
    tol = FRONT_GROWTH_TOLERANCE * max(values[-1], 1e-12)
    last_gain = max(i for i in range(len(values)) if i == 0 or values[i] > values[i - 1] + tol)
    stalled = len(values) - 1 - last_gain
    if stalled < FRONT_STALL_MIN_TRIALS or stalled < FRONT_STALL_SHARE * len(values):
        return []
    front = pf.pareto_front(h.trials, h.objective)
    evidence = {"feasible_completed_trials": len(values), "trials_since_last_growth": stalled,
                "last_growth_trial": f"{numbers[last_gain]:02d}",
                "hypervolume": values[-1], "hypervolume_history": [round(v, 6) for v in values],
                "front_size": len(front)}
    causes = sorted({f.code for f in others if f.severity in ("problem", "warning")})
    if causes:
        return [Finding(
            "front-stalled", "warning",
            f"The Pareto front has not moved (no hypervolume growth) for {stalled} trials; the "
            f"findings above explain why: {', '.join(causes)}.",
            {**evidence, "explained_by": causes},
            "Fix those first; more trials of the same search will not move the front.",
        )]
    return [Finding(
        "front-stalled", "info",
        f"The Pareto front has not moved (no hypervolume growth) for {stalled} trials and "
        "nothing in the history explains it: the front looks converged.",
        evidence,
        "Stop here, or change what is searched to push the front further.",
    )]


# ---------------------------------------------------------------------- constraints
def check_infeasible(h: SearchHistory) -> list[Finding]:
    """How many completed trials violate each constraint; a warning when most do."""
    done = [t for t in h.trials if t.state is TrialState.COMPLETED]
    known = [(t, pf.constraint_values(t)) for t in done]
    known = [(t, c) for t, c in known if c is not None]
    if not known:
        return []
    infeasible = [t for t, c in known if pf.feasibility(t) is False]
    if not infeasible:
        return []
    per = Counter(name for _, c in known for name, v in c.items() if not v <= 0.0)
    parts = [f"{n} of {len(done)} completed trials violate constraint {name}"
             for name, n in per.most_common()]
    share = len(infeasible) / len(done)
    severity = ("problem" if len(infeasible) == len(done)
                else "warning" if share >= INFEASIBLE_WARNING_SHARE else "info")
    tail = ("no trial is feasible, so there is no best and no front"
            if severity == "problem" else
            "most of the budget went to configurations that cannot be used"
            if severity == "warning" else "infeasible trials are never the best or on the front")
    return [Finding(
        "infeasible-trials", severity,
        f"{'; '.join(parts)} ({len(infeasible)} infeasible in all): {tail}.",
        {"infeasible": len(infeasible), "completed_trials": len(done), "share": share,
         "per_constraint": dict(per), "infeasible_trials": [t.trial_id for t in infeasible]},
        "Narrow the search space away from the violating region, or relax the constraint "
        "if its limit is stricter than needed.",
    )]


def best_line(h: SearchHistory) -> str:
    front = pf.pareto_front(h.trials, h.objective)
    return f"front of {len(front)} trials" if front else "no front"
