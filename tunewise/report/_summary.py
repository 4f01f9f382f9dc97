"""A study's summary, trials table and findings as plain JSON-ready data (report and dashboard)."""

from __future__ import annotations

from typing import Any

from ..diagnostics import SearchHistory, diagnose_history
from ..engine._console import first_line
from ..engine._frames import HP_PREFIX, json_safe, trial_rows
from ..objective import ParetoObjective, components
from ..pareto import pareto_front
from ..trial import TrialState


def study_summary(history: SearchHistory) -> dict[str, Any]:
    """Name, objective, counts by state, the best trial, the run log's last stop and, with
    several objectives, the Pareto front (``front``: each trial's number and its objectives'
    values at its scored step; None for one objective)."""
    pareto = isinstance(history.objective, ParetoObjective)
    ranked = [] if pareto else history.ranked
    best = ranked[0] if ranked else None
    runs = history.runs
    return {
        "study": history.study_name,
        "location": history.location,
        "objective": history.objective.name,
        "direction": history.objective.direction,
        "objective_text": history.objective.describe(),
        "algorithm": history.algorithm,
        "trials": len(history.trials),
        "by_state": {s.value: sum(t.state is s for t in history.trials) for s in TrialState},
        "best_score": json_safe(best.score) if best else None,
        "best_trial": best.number if best else None,
        "best_hyperparameters": {k: json_safe(v) for k, v in best.values.items()} if best else {},
        "last_stop": runs[-1].get("stopped_because") if runs else None,
        "front": _front(history),
    }


def _front(history: SearchHistory) -> list[dict[str, Any]] | None:
    objectives = components(history.objective)
    if len(objectives) < 2:
        return None
    out = []
    for t in pareto_front(history.trials, objectives):
        step = next((s for s in t.steps if s.step == t.best_step), None)
        metrics = step.metrics if step is not None else {}
        out.append({
            "trial": t.number,
            "values": {o.name: json_safe(metrics.get(o.name)) for o in objectives},
            "step": t.best_step,
        })
    return out


def trials_table(history: SearchHistory) -> dict[str, Any]:
    """Columns and rows of the trials table: number, state, score, duration, each
    hyperparameter, epochs run, and the first line of a failure or pruning reason."""
    rows = trial_rows(history.trials, [hp.name for hp in history.space])
    hp_columns: list[str] = []
    for row in rows:
        hp_columns += [k for k in row if k.startswith(HP_PREFIX) and k not in hp_columns]
    columns = ["number", "state", "score", "best_step", "duration_s", *hp_columns, "epochs_run",
               "stopped_early", "reason"]
    out_rows = []
    for row in rows:
        row = dict(row, reason=first_line(row.get("reason")))
        out_rows.append([json_safe(row.get(c)) for c in columns])
    labels = [c.removeprefix(HP_PREFIX) for c in columns]
    return {"columns": labels, "rows": out_rows}


def findings(history: SearchHistory) -> list[dict[str, Any]]:
    """The doctor's findings, most severe first."""
    return [f.to_dict() for f in diagnose_history(history).findings]
