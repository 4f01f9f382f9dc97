"""The doctor: explain, from the stored history, why a search's best objective stalls.

Each check is a small pure function from a :class:`SearchHistory` to findings, registered in
:data:`CHECKS`; ``stagnation`` runs last because it says whether the others explain a stall.
Then the cause table (:data:`EXPLAINS`, in ``_causes.py``) removes or demotes the findings a
root cause explains, and the report opens with the top cause (:attr:`Report.causes`).
"""

from __future__ import annotations

from typing import Any

from . import (
    _checks_curves,
    _checks_search,
    _checks_setup,
    _convergence,
    _noise,
    _pareto,
    _recommend,
)
from ._causes import DEMOTE, EXPLAINS, SUPPRESS, Explains, resolve
from ._convergence import StopVerdict, stop_rule
from ._model import SEVERITIES, SYMPTOMS, Check, Finding, Report, SearchHistory
from ._recommend import Recommendation, recommend
from ._stop_rule import StopWhenConverged

#: Every check, in the order findings of equal severity are listed.
CHECKS: list[Check] = [
    *_checks_setup.CHECKS,
    *_checks_search.CHECKS,
    *_checks_curves.CHECKS,
    *_noise.CHECKS,
    *_convergence.CHECKS,
    *_recommend.CHECKS,
    _pareto.check_infeasible,
]

#: On a Pareto study: the checks run on the study as it is (they read no score)...
PARETO_CHECKS: list[Check] = [
    _checks_setup.check_objective_not_logged,
    _checks_search.check_resumed_finished_project,
    _checks_search.check_reruns_pending,
    _checks_search.check_search_space_exhausted,
    _checks_search.check_failed_trials,
    _checks_search.check_budget_too_small,
    _checks_search.check_scale_suspect,
    _pareto.check_infeasible,
]
#: ... and those run once per objective, on the history scored by that objective.
PER_OBJECTIVE_CHECKS: list[Check] = [
    _checks_search.check_boundary_optimum,
    _checks_curves.check_noisy_objective,
    _checks_curves.check_undertrained,
    _checks_curves.check_early_stopping_premature,
    _checks_curves.check_overfitting,
    *_noise.CHECKS,
]


def diagnose_history(history: SearchHistory) -> Report:
    """Run every check on ``history`` and return the report."""
    if _pareto.is_pareto(history):
        return _diagnose_pareto(history)
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(history))
    # Stagnation names the causes left once the table has removed what they explain.
    findings = resolve(findings, history)
    findings = resolve(
        findings + _checks_search.check_stagnation(history, findings), history
    )
    return _report(history, findings, best=history.ranked[0].score if history.ranked else None)


def _report(history: SearchHistory, findings: list[Finding], **extra: Any) -> Report:
    """The report of ``history``'s findings (``extra``: the Report fields that differ)."""
    return Report(
        study_name=history.study_name,
        location=history.location,
        objective=history.objective.describe(),
        n_trials=len(history.trials),
        findings=findings,
        **extra,
    )


def _diagnose_pareto(history: SearchHistory) -> Report:
    """A Pareto study: the score-free checks, the per-objective ones (each finding naming its
    objective), front-stalled in place of stagnation; the rest skipped with their reasons."""
    findings: list[Finding] = []
    for check in PARETO_CHECKS:
        findings.extend(check(history))
    for objective in history.objective.objectives:  # type: ignore[union-attr]
        view = _pareto.view(history, objective)
        # The name-against-direction part of direction-suspect only: on a front, the best
        # trials on one objective having a bad loss is the trade-off, not an inversion.
        found = [f for f in _checks_setup.check_direction_suspect(view)
                 if "expected_direction" in f.evidence]
        for check in PER_OBJECTIVE_CHECKS:
            found.extend(check(view))
        findings.extend(_pareto.tag(f, objective) for f in found)
    findings = resolve(findings, history)
    findings = resolve(findings + _pareto.check_front_stalled(history, findings), history)
    return _report(history, findings, best=None, skipped=dict(_pareto.SKIPPED),
                   best_text=_pareto.best_line(history))


def diagnose(study: Any) -> Report:
    """Diagnose a :class:`tunewise.Study` (or anything with ``.study``, such as a tuner)."""
    study = getattr(study, "study", study)
    return diagnose_history(SearchHistory.from_study(study))


__all__ = [
    "CHECKS",
    "DEMOTE",
    "EXPLAINS",
    "PARETO_CHECKS",
    "PER_OBJECTIVE_CHECKS",
    "SEVERITIES",
    "SUPPRESS",
    "SYMPTOMS",
    "Check",
    "Explains",
    "Finding",
    "Recommendation",
    "Report",
    "SearchHistory",
    "StopVerdict",
    "StopWhenConverged",
    "diagnose",
    "diagnose_history",
    "recommend",
    "stop_rule",
]
