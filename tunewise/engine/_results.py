"""``ResultsSummary``: what ``results_summary()`` prints and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import trial_attrs as keys
from ..objective import Objective, ParetoObjective, components
from ..space import HyperParameters
from ..trial import FrozenTrial, TrialState
from ._console import first_line, format_value

if TYPE_CHECKING:
    from ..objective import MultiObjective


@dataclass
class ResultsSummary:
    """The best trials of a study.

    ``best_objective`` is the best trial's score (None when no trial completed, when every
    completed trial violates a constraint, and in a Pareto study), ``best_hyperparameters``
    its hyperparameters, ``trials`` every trial of the study in number order, ``ranked`` the
    feasible completed ones best first (a Pareto study: front by front). With several
    objectives (summed, as Keras Tuner's list, or a Pareto study) ``front`` is the Pareto
    front under them, and the printed summary lists it with each trial's values.
    """

    objective: Objective | MultiObjective | ParetoObjective
    study_name: str
    location: str
    trials: list[FrozenTrial]
    ranked: list[FrozenTrial]
    num_trials: int = 10
    space: list = field(default_factory=list)

    @property
    def is_pareto(self) -> bool:
        return isinstance(self.objective, ParetoObjective)

    @property
    def best_trial(self) -> FrozenTrial | None:
        """The best feasible trial; None before any, or for a Pareto study (see ``front``)."""
        if self.is_pareto:
            return None
        return self.ranked[0] if self.ranked else None

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """The single objectives the study's objective is made of (several for a sum or a
        Pareto study)."""
        return components(self.objective)

    @property
    def front(self) -> list[FrozenTrial] | None:
        """The Pareto front under the component objectives (:func:`tunewise.pareto.pareto_front`)
        when there are several, in number order; None for one objective."""
        if len(self.objectives) < 2:
            return None
        from ..pareto import pareto_front

        return pareto_front(self.trials, self.objectives)

    def front_values(self) -> list[tuple[FrozenTrial, dict[str, float]]]:
        """Each front trial with its objectives' values (as reported) at its scored step,
        along the front (the first objective's best first)."""
        out = []
        first = self.objectives[0]
        for t in self.front or []:
            step = next((s for s in t.steps if s.step == t.best_step), None)
            if step is None and t.steps:
                step = t.steps[-1]
            metrics = step.metrics if step is not None else {}
            out.append((t, {o.name: metrics.get(o.name) for o in self.objectives}))
        # along the front: the first objective from its best end (ties: lower number)
        out.sort(key=lambda tv: (first.sign * (tv[1][first.name] or 0.0), tv[0].number))
        return out

    @property
    def infeasible(self) -> list[FrozenTrial]:
        """Completed trials that violate a constraint (never ranked nor on the front)."""
        from ..pareto import feasibility

        return [
            t for t in self.trials
            if t.state is TrialState.COMPLETED and feasibility(t) is False
        ]

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
        front = self.front
        n_front = len(front or [])
        shown = (
            f"Showing the Pareto front: {n_front} trials"
            + (f" ({self.num_trials} shown)" if n_front > self.num_trials else "")
            if self.is_pareto
            else f"Showing {min(self.num_trials, len(self.ranked))} best trials"
        )
        lines = [
            "Results summary",
            f"Results in {self.location} (study {self.study_name!r})",
            shown,
            f"Objective: {self.objective!r}"
            + (f" = {self.objective.describe()}" if len(self.objective.names) > 1 else ""),
            "Trials: "
            + ", ".join(f"{n} {s.value.lower()}" for s, n in counts.items() if n)
            + (f" ({len(self.trials)} in all)" if self.trials else "none"),
        ]
        if any(keys.BUDGET in (t.attrs or {}) for t in self.trials):
            lines.append(f"Epochs trained (budget units, all trials): {self.epochs_trained}")
        infeasible = self.infeasible
        if infeasible:
            lines.append(
                f"Infeasible: {len(infeasible)} completed trials violate a constraint (never "
                "ranked nor on the front)"
                + ("; no trial is feasible" if not self.ranked else "")
            )
        if self.is_pareto:
            for t, values in self.front_values()[: self.num_trials]:
                lines += ["", f"Trial {t.trial_id} summary", "Hyperparameters:"]
                lines += [f"{k}: {format_value(v)}" for k, v in t.values.items()]
                step = f" (step {t.best_step})" if t.best_step is not None else ""
                lines.append(
                    "Values: " + ", ".join(f"{k}={format_value(v)}" for k, v in values.items())
                    + step
                )
        for t in [] if self.is_pareto else self.ranked[: self.num_trials]:
            lines += ["", f"Trial {t.trial_id} summary", "Hyperparameters:"]
            lines += [f"{k}: {format_value(v)}" for k, v in t.values.items()]
            step = f" (step {t.best_step})" if t.best_step is not None else ""
            lines.append(f"Score: {format_value(t.score)}{step}")
        if front is not None and not self.is_pareto:
            names = ", ".join(o.describe() for o in self.objectives)
            lines += ["", f"Pareto front of {names} ({len(front)} trials; ranked by the sum):"]
            lines += [
                f"  Trial {t.trial_id}: "
                + ", ".join(f"{k}={format_value(v)}" for k, v in values.items())
                for t, values in self.front_values()
            ]
        failed = [t for t in self.trials if t.state is TrialState.FAILED]
        if failed:
            lines += ["", f"{len(failed)} failed trials (never ranked):"]
            lines += [f"  #{t.number}: {first_line(t.reason)}" for t in failed[-5:]]
        return "\n".join(lines)
