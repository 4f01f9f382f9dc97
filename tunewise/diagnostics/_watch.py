"""During a search: one line when the best so far stalls, with the doctor's top finding."""

from __future__ import annotations

from typing import Any

from ..trial import FrozenTrial
from ._checks_search import STAGNATION_MIN_TRIALS, STAGNATION_SHARE
from ._model import SearchHistory


class StallWatcher:
    """A study callback: after each trial, if the best has stalled, print the top finding once.

    It speaks again only after the best improves and stalls anew.
    """

    def __init__(self) -> None:
        self._announced_best: int | None = None

    def __call__(self, study: Any, trial: FrozenTrial) -> None:
        best = study.best_trial
        if best is None or self._announced_best == best.number:
            return
        history = SearchHistory.from_study(study)
        curve = history.best_so_far()
        since = sum(1 for number, _ in curve if number > best.number)
        if since < STAGNATION_MIN_TRIALS or since < STAGNATION_SHARE * len(curve):
            return
        from . import diagnose_history

        self._announced_best = best.number
        report = diagnose_history(history)
        top = report.findings[0] if report.findings else None
        reason = f"top finding [{top.code}] {top.message}" if top else "no finding explains it"
        study.reporter.note(
            f"The best {study.objective.name} has not improved for {since} trials; {reason} "
            "Run diagnose() (or `tunewise doctor`) for the full report."
        )
