"""Causes, not symptoms: which findings explain which, and what a root cause does to them.

:data:`EXPLAINS` is the one table. Each row says that a root cause (a finding of code
``cause`` at ``problem`` or ``warning``, itself explained by nothing) explains the findings of
code ``explained``, when its condition holds; the explained finding is then

* ``SUPPRESS``-ed: removed, because its advice is false under the cause (raising max_trials
  does not help a search whose trials never log the objective), or
* ``DEMOTE``-d: kept at ``info`` with ``explained_by`` set, because its numbers still tell
  something true (how many trials failed) but it is not what to fix.

Only a ``problem`` or ``warning`` acts as a cause (the ``info`` notes of
``resumed-finished-project``, say, explain nothing). A finding that several causes explain
takes the most severe one's name; ``SUPPRESS`` wins over ``DEMOTE``. A demoted or removed
finding explains nothing in turn; the table has no cycle, and is applied from the roots down.

Pairs handled inside the checks instead, because the symptom is a part of one finding:

* *every trial failed for one reason* -> *range advice*: ``failed-trials`` names a value
  pattern ("every x >= 0.25 failed: narrow the range") only against at least
  ``MIN_OUTSIDE_TRIALS`` trials outside it that mostly did not fail, so a failure every trial
  shares (an import error, a missing objective) never reads as a range to narrow;
* *objective-not-logged* -> *range advice*: a trial that did not log the objective failed
  because of a name, never because of its values, so ``failed-trials`` leaves such trials out
  of its value patterns (``objective-not-logged`` names them, with the fix).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ._model import SEVERITIES, Finding, SearchHistory

SUPPRESS = "suppress"
DEMOTE = "demote"

#: ``objective-not-logged`` explains search-wide findings when the trials without the
#: objective are at least this share of the finished trials: then the ranking, the budget and
#: the stall all rest on a search that mostly did not measure what it optimises.
OBJECTIVE_MISSING_SHARE = 0.5

Condition = Callable[[Finding, Finding, SearchHistory], bool]


def always(cause: Finding, explained: Finding, h: SearchHistory) -> bool:
    return True


def objective_missing_in_most(cause: Finding, explained: Finding, h: SearchHistory) -> bool:
    """Most finished trials did not log the objective."""
    finished = [t for t in h.trials if t.state.is_finished]
    missing = len(cause.evidence.get("trials", ()))
    return bool(finished) and missing >= OBJECTIVE_MISSING_SHARE * len(finished)


def failures_all_objective_missing(cause: Finding, explained: Finding, h: SearchHistory) -> bool:
    """Every failed configuration failed because it did not log the objective."""
    kinds = explained.evidence.get("kinds", {})
    return bool(kinds) and set(kinds) == {"objective-missing"}


@dataclass(frozen=True)
class Explains:
    cause: str
    explained: str
    action: str
    when: Condition = always
    why: str = ""


#: Root cause -> the codes it explains. ``noisy-objective`` comes from the curve checks,
#: ``noisy-evaluations`` from the noise checks (``_noise.py``); ``may-improve`` and
#: ``convergence-stop`` are the stop rule's verdicts (``_convergence.py``). A row whose codes
#: never fire costs nothing.
EXPLAINS: tuple[Explains, ...] = (
    Explains("objective-not-logged", "failed-trials", DEMOTE, failures_all_objective_missing,
             "the failures are the missing objective; the count stays as a note"),
    Explains("objective-not-logged", "budget-too-small", SUPPRESS, objective_missing_in_most,
             "trials that never log the objective do not count, whatever max_trials is"),
    Explains("objective-not-logged", "boundary-optimum", DEMOTE, objective_missing_in_most,
             "the ranking rests on the few trials that logged the objective"),
    Explains("objective-not-logged", "stagnation", DEMOTE, objective_missing_in_most,
             "nothing can improve a best that is not measured"),
    Explains("objective-not-logged", "may-improve", SUPPRESS, objective_missing_in_most,
             "budget advice for a search that does not measure its objective"),
    Explains("objective-not-logged", "convergence-stop", SUPPRESS, objective_missing_in_most,
             "a stop verdict on trials that did not measure the objective"),
    Explains("direction-suspect", "boundary-optimum", SUPPRESS, always,
             "with the direction inverted, the 'best' trials are the worst: widening toward "
             "them points the wrong way"),
    Explains("direction-suspect", "stagnation", DEMOTE, always,
             "the search optimises the wrong way"),
    Explains("resumed-finished-project", "budget-too-small", DEMOTE, always,
             "the run ran no trial; its fix (raise max_trials above the stored count) is the "
             "budget's"),
    Explains("search-space-exhausted", "stagnation", DEMOTE, always,
             "no configuration was left to try"),
    Explains("noisy-objective", "stagnation", DEMOTE, always,
             "the noise is larger than the gaps a new best would have to beat"),
    Explains("noisy-evaluations", "stagnation", DEMOTE, always,
             "the noise is larger than the gaps a new best would have to beat"),
    Explains("noisy-objective", "noisy-evaluations", DEMOTE, always,
             "the same noise: its pooled estimate and the luck of the best stay as a note"),
)

_ORDER = {s: i for i, s in enumerate(SEVERITIES)}


def _topological(table: Sequence[Explains]) -> list[str]:
    """Every code of the table, each after all the causes that can explain it."""
    codes = list(dict.fromkeys(c for row in table for c in (row.cause, row.explained)))
    parents = {c: {row.cause for row in table if row.explained == c} for c in codes}
    out: list[str] = []
    while len(out) < len(codes):
        ready = [c for c in codes if c not in out and parents[c] <= set(out)]
        if not ready:
            raise ValueError("the cause table has a cycle")
        out += ready
    return out


_RESOLVE_ORDER = _topological(EXPLAINS)


def resolve(
    findings: Sequence[Finding], h: SearchHistory, table: Sequence[Explains] = EXPLAINS
) -> list[Finding]:
    """Apply ``table`` to ``findings``: suppress or demote what a root cause explains."""
    out = list(findings)
    for code in _RESOLVE_ORDER if table is EXPLAINS else _topological(table):
        rows = [row for row in table if row.explained == code]
        if not rows:
            continue
        kept: list[Finding] = []
        for f in out:
            hits = [] if f.code != code else [
                (cause, row) for row in rows for cause in out
                if cause.code == row.cause and cause.explained_by is None
                and cause.severity in ("problem", "warning") and row.when(cause, f, h)
            ]
            if not hits:
                kept.append(f)
            elif all(row.action == DEMOTE for _, row in hits):
                cause = min(hits, key=lambda hit: _ORDER[hit[0].severity])[0]
                kept.append(replace(f, severity="info", explained_by=cause.code))
        out = kept
    return out
