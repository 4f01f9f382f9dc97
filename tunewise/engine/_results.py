"""``ResultsSummary``: what ``results_summary()`` prints and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import trial_attrs as keys
from ..space import HyperParameters
from ..trial import FrozenTrial, TrialState
from ._console import first_line, format_value

if TYPE_CHECKING:
    from ..objective import MultiObjective, Objective


@dataclass
class ResultsSummary:
    """The best trials of a study.

    ``best_objective`` is the best trial's score (None when no trial completed),
    ``best_hyperparameters`` its hyperparameters, ``trials`` every trial of the study in
    number order, ``ranked`` the completed ones best first.
    """

    objective: Objective | MultiObjective
    study_name: str
    location: str
    trials: list[FrozenTrial]
    ranked: list[FrozenTrial]
    num_trials: int = 10
    space: list = field(default_factory=list)

    @property
    def best_trial(self) -> FrozenTrial | None:
        return self.ranked[0] if self.ranked else None

    @property
    def epochs_trained(self) -> int:
        """Budget units (epochs) the whole search trained, over every finished trial (a
        promoted trial counts only the epochs it added to its parent's)."""
        from ..schedulers import total_units_trained

        return total_units_trained(self.trials)

    @property
    def best_objective(self) -> float | None:
        best = self.best_trial
        return None if best is None else best.score

    @property
    def best_hyperparameters(self) -> HyperParameters | None:
        best = self.best_trial
        if best is None:
            return None
        return HyperParameters.for_trial(self.space, best.values, inherited=False)

    def __str__(self) -> str:
        counts = {s: sum(t.state is s for t in self.trials) for s in TrialState}
        lines = [
            "Results summary",
            f"Results in {self.location} (study {self.study_name!r})",
            f"Showing {min(self.num_trials, len(self.ranked))} best trials",
            f"Objective: {self.objective!r}"
            + (f" = {self.objective.describe()}" if len(self.objective.names) > 1 else ""),
            "Trials: "
            + ", ".join(f"{n} {s.value.lower()}" for s, n in counts.items() if n)
            + (f" ({len(self.trials)} in all)" if self.trials else "none"),
        ]
        if any(keys.BUDGET in (t.attrs or {}) for t in self.trials):
            lines.append(f"Epochs trained (budget units, all trials): {self.epochs_trained}")
        for t in self.ranked[: self.num_trials]:
            lines += ["", f"Trial {t.trial_id} summary", "Hyperparameters:"]
            lines += [f"{k}: {format_value(v)}" for k, v in t.values.items()]
            step = f" (step {t.best_step})" if t.best_step is not None else ""
            lines.append(f"Score: {format_value(t.score)}{step}")
        failed = [t for t in self.trials if t.state is TrialState.FAILED]
        if failed:
            lines += ["", f"{len(failed)} failed trials (never ranked):"]
            lines += [f"  #{t.number}: {first_line(t.reason)}" for t in failed[-5:]]
        return "\n".join(lines)
