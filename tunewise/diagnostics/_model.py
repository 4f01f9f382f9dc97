"""What the doctor reads (``SearchHistory``) and what it writes (``Finding``, ``Report``).

A check is a pure function ``check(history) -> list[Finding]``: it reads plain data (the
study's settings and run log, its search space, its trials with every step) and does no I/O.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..objective import MultiObjective, Objective, ParetoObjective, objective_from_config
from ..space import HyperParameter
from ..trial import FrozenTrial, TrialState, rank_trials

SEVERITIES = ("problem", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """One diagnosis.

    ``code`` is stable (tests and tools match on it); ``severity`` is ``problem`` (the search
    cannot give a trustworthy best), ``warning`` (the best is likely worse than it could be) or
    ``info``; ``message`` is one sentence; ``evidence`` holds the numbers and trial ids it rests
    on; ``fix`` says what to change, concretely. ``explained_by`` is the code of the root
    cause that explains this finding (see ``tunewise/diagnostics/_causes.py``): such a finding
    is a symptom, kept at ``info`` for its numbers; None for a finding nothing else explains.
    """

    code: str
    severity: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str = ""
    explained_by: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity={self.severity!r} is not one of {SEVERITIES}.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SearchHistory:
    """Everything stored about one study, as plain data."""

    study_name: str
    objective: Objective | MultiObjective | ParetoObjective
    trials: tuple[FrozenTrial, ...]
    space: tuple[HyperParameter, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    location: str = ""
    run_log: tuple[dict[str, Any], ...] = ()
    """One entry per ``optimize`` call, oldest first (when, how many trials, why it stopped)."""

    # ---------------------------------------------------------------- derived views
    @property
    def completed(self) -> list[FrozenTrial]:
        """Completed trials with a score; for a Pareto study (no score), those with a point
        (every objective reported)."""
        if isinstance(self.objective, ParetoObjective):
            from ..pareto import objective_values

            return [t for t in self.trials if t.state is TrialState.COMPLETED
                    and objective_values(t, self.objective) is not None]
        return [t for t in self.trials if t.state is TrialState.COMPLETED and t.score is not None]

    @property
    def failed(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state is TrialState.FAILED]

    @property
    def ranked(self) -> list[FrozenTrial]:
        """Completed trials, best first (ties: the lower number)."""
        return rank_trials(self.trials, self.objective)

    @property
    def runs(self) -> list[dict[str, Any]]:
        # Databases older than schema 3 kept the run log in the settings blob.
        return list(self.run_log) or list(self.settings.get("runs", []))

    @property
    def algorithm(self) -> str:
        return str(self.settings.get("signature", {}).get("algorithm", "?"))

    @property
    def tuned_space(self) -> list[HyperParameter]:
        """Definitions with more than one value (Fixed ones are not tuned)."""
        return [hp for hp in self.space if hp.grid_size != 1]

    def goodness(self, value: float) -> float:
        """Higher is better, whatever the direction."""
        return -self.objective.sign * value

    def curve(self, trial: FrozenTrial, name: str | None = None) -> list[float]:
        """The objective's (or ``name``'s) finite values over the trial's steps."""
        out = []
        for s in trial.steps:
            v = self.objective.value_from(s.metrics) if name is None else s.metrics.get(name)
            if v is not None and math.isfinite(v):
                out.append(float(v))
        return out

    def best_so_far(self) -> list[tuple[int, float]]:
        """``(trial number, best score so far)`` after each completed feasible trial, in number
        order (an infeasible trial is never the best)."""
        from ..pareto import feasibility

        best: float | None = None
        out = []
        for t in sorted(self.completed, key=lambda t: t.number):
            if t.score is None or feasibility(t) is False:  # no score (Pareto), infeasible
                continue
            if best is None or self.objective.is_better(t.score, best):  # type: ignore[arg-type]
                best = t.score
            out.append((t.number, best))  # type: ignore[arg-type]
        return out

    @classmethod
    def from_study(cls, study: Any) -> SearchHistory:
        return cls(
            study_name=study.name,
            objective=study.objective,
            trials=tuple(study.trials),
            space=tuple(study.space),
            settings=study.settings,
            location=study.location,
            run_log=tuple(study.runs),
        )

    @classmethod
    def from_record(cls, storage: Any, record: Any) -> SearchHistory:
        from ..space import hyperparameter_from_config

        return cls(
            study_name=record.name,
            objective=objective_from_config(record.settings["signature"]["objective"]),
            trials=tuple(storage.get_trials(record.id)),
            space=tuple(hyperparameter_from_config(c) for c in record.space),
            settings=dict(record.settings),
            location=storage.location,
            run_log=tuple(storage.get_runs(record.id)),
        )


Check = Callable[[SearchHistory], list[Finding]]

_ORDER = {s: i for i, s in enumerate(SEVERITIES)}

#: Codes that report how a search went rather than why: a stall is what the causes explain,
#: never itself a cause.
SYMPTOMS = frozenset({"stagnation", "front-stalled"})


def rank_causes(findings: Sequence[Finding]) -> list[Finding]:
    """The root causes among ``findings``: each ``problem`` or ``warning`` that no other finding
    explains and that is not a symptom (:data:`SYMPTOMS`); most severe first, then the one that
    explains the most other findings, then in the order the checks found them."""
    explains = Counter(f.explained_by for f in findings if f.explained_by)
    causes = [(i, f) for i, f in enumerate(findings)
              if f.severity in ("problem", "warning") and f.explained_by is None
              and f.code not in SYMPTOMS]
    causes.sort(key=lambda c: (_ORDER[c[1].severity], -explains[c[1].code], c[0]))
    return [f for _, f in causes]


@dataclass
class Report:
    """The doctor's findings for one study: the root causes first (see :attr:`causes`), then
    the others, most severe first."""

    study_name: str
    location: str
    objective: str
    n_trials: int
    best: float | None
    findings: list[Finding]
    skipped: dict[str, str] = field(default_factory=dict)
    """Checks not run on this study, each with why (a Pareto study skips the ones that read a
    single best)."""
    best_text: str | None = None
    """How the best reads when it is not one number (a Pareto study: ``front of 5 trials``)."""

    def __post_init__(self) -> None:
        first = {id(f): i for i, f in enumerate(rank_causes(self.findings))}
        self.findings.sort(key=lambda f: (_ORDER[f.severity], first.get(id(f), len(first))))

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    @property
    def causes(self) -> list[Finding]:
        """The root causes: the ``problem`` and ``warning`` findings no other one explains
        (symptoms such as ``stagnation`` excluded), most severe first, then the one that
        explains the most; ``causes[0]`` is the top cause the report opens with."""
        return rank_causes(self.findings)

    def get(self, code: str) -> Finding | None:
        return next((f for f in self.findings if f.code == code), None)

    def worst(self, severities: Sequence[str] = ("problem", "warning")) -> list[Finding]:
        return [f for f in self.findings if f.severity in severities]

    def to_dict(self) -> dict[str, Any]:
        return {
            "study": self.study_name,
            "location": self.location,
            "objective": self.objective,
            "trials": self.n_trials,
            "best": self.best,
            "causes": list(dict.fromkeys(f.code for f in self.causes)),
            "findings": [f.to_dict() for f in self.findings],
            **({"skipped": dict(self.skipped)} if self.skipped else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=str)

    def __str__(self) -> str:
        best = self.best_text or ("none" if self.best is None else f"{self.best:.6g}")
        causes = self.causes
        lines = [f"Top cause: {causes[0].code}: {causes[0].message}"] if causes else []
        lines += [
            f"Diagnosis of study {self.study_name!r} ({self.location})",
            f"Objective {self.objective}; {self.n_trials} trials; best {best}.",
        ]
        if len(causes) > 1:
            lines.append("Causes, most severe first: "
                         + ", ".join(dict.fromkeys(f.code for f in causes)) + ".")
        if not self.findings:
            lines.append("No findings: nothing in the stored history explains a stalled search.")
        for f in self.findings:
            why = f" (explained by {f.explained_by})" if f.explained_by else ""
            lines += ["", f"[{f.severity.upper()}] {f.code}{why}: {f.message}"]
            if f.evidence:
                lines.append("  evidence: " + _evidence_text(f.evidence))
            if f.fix:
                lines.append(f"  fix: {f.fix}")
        if self.skipped:
            lines += ["", "Skipped checks: " + "; ".join(
                f"{code} ({why})" for code, why in self.skipped.items()) + "."]
        return "\n".join(lines)


def _evidence_text(evidence: dict[str, Any]) -> str:
    parts = []
    for k, v in evidence.items():
        if isinstance(v, float):
            v = f"{v:.4g}"
        elif isinstance(v, (list, tuple)) and len(v) > 8:
            v = f"{list(v[:8])} ... ({len(v)} in all)"
        parts.append(f"{k}={v}")
    return "; ".join(parts)
