"""The doctor: explain, from the stored history, why a search's best objective stalls.

Each check is a small pure function from a :class:`SearchHistory` to findings, registered in
:data:`CHECKS`; ``stagnation`` runs last because it says whether the others explain a stall.
Then the cause table (:data:`EXPLAINS`, in ``_causes.py``) removes or demotes the findings a
root cause explains, and the report opens with the top cause (:attr:`Report.causes`).
"""

from __future__ import annotations

from typing import Any

from . import _checks_curves, _checks_search, _checks_setup, _convergence, _noise, _recommend
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
]


def diagnose_history(history: SearchHistory) -> Report:
    """Run every check on ``history`` and return the report."""
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(history))
    # Stagnation names the causes left once the table has removed what they explain.
    findings = resolve(findings, history)
    findings = resolve(
        findings + _checks_search.check_stagnation(history, findings), history
    )
    best = history.ranked[0].score if history.ranked else None
    return Report(
        study_name=history.study_name,
        location=history.location,
        objective=history.objective.describe(),
        n_trials=len(history.trials),
        best=best,
        findings=findings,
    )


def diagnose(study: Any) -> Report:
    """Diagnose a :class:`tunewise.Study` (or anything with ``.study``, such as a tuner)."""
    study = getattr(study, "study", study)
    return diagnose_history(SearchHistory.from_study(study))


__all__ = [
    "CHECKS",
    "DEMOTE",
    "EXPLAINS",
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
