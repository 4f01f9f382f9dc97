"""Trials: state, hyperparameter values, per-step metric history, and the score rule.

The score rule lives here and only here (:func:`score_steps`): a trial's score is the best
value of the objective over its steps (Keras Tuner's rule) or, with ``rule="last"``, the last
reported one. A NaN or infinite objective value fails the trial; it is never a score. With
several objectives searched for a Pareto front there is no score: the scored step is the last
one that reports every objective (see :mod:`tunewise.pareto` for points, fronts, feasibility).
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .metrics_tracking import MetricsTracker, tracker_from_steps
from .objective import ParetoObjective

if TYPE_CHECKING:
    from .objective import MultiObjective, Objective
    from .space import HyperParameters

SCORE_RULES = ("best", "last")


class TrialState(str, enum.Enum):
    """A trial's state. WAITING: stored, not started: a re-run any worker may claim (and
    then run it RUNNING). The finished states are COMPLETED, PRUNED and FAILED."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    PRUNED = "PRUNED"
    FAILED = "FAILED"
    WAITING = "WAITING"

    @property
    def is_finished(self) -> bool:
        return self not in (TrialState.RUNNING, TrialState.WAITING)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Step:
    """The metrics a trial reported at one step (an epoch, a fold, a budget), and when (unix s)."""

    step: int
    metrics: dict[str, float]
    at: float = 0.0


@dataclass(frozen=True)
class Score:
    """What the score rule made of a trial's steps.

    ``value`` is None when there is no valid score; ``failure`` then says why.
    ``step`` is the step the score comes from (or the step of the bad value).
    """

    value: float | None
    step: int | None
    failure: str | None = None


def _fmt_names(names: Iterable[str]) -> str:
    names = sorted(set(names))
    return ", ".join(names) if names else "none"


def score_steps(
    steps: Sequence[Step],
    objective: Objective | MultiObjective | ParetoObjective,
    rule: str = "best",
) -> Score:
    """Apply the score rule to a trial's steps.

    * No step holds the objective: no score; the failure names what was reported instead.
    * Any objective value is NaN or infinite: no score; the failure names the step.
    * ``rule="best"``: the best value over the steps (ties: the earliest step).
    * ``rule="last"``: the value at the last step that holds the objective.
    * A :class:`~tunewise.objective.ParetoObjective` (whatever ``rule``): no score
      (``value`` None) and no failure; ``step`` is the last step that holds every objective.
      It fails as above when no step holds them all or a value is NaN or infinite.
    """
    if rule not in SCORE_RULES:
        raise ValueError(f"score={rule!r} is not one of {SCORE_RULES}; use 'best' or 'last'.")
    if isinstance(objective, ParetoObjective):
        return _pareto_step(steps, objective)
    found: list[tuple[int, float]] = []
    for s in steps:
        v = objective.value_from(s.metrics)
        if v is None:
            continue
        v = float(v)
        if not math.isfinite(v):
            return Score(None, s.step, f"objective {objective.name} was {v} at step {s.step}")
        found.append((s.step, v))
    if not found:
        reported = _fmt_names(k for s in steps for k in s.metrics)
        wanted = ", ".join(objective.names)
        return Score(
            None,
            None,
            f"objective {wanted} was never reported; the trial reported: {reported}",
        )
    if rule == "last":
        step, value = found[-1]
        return Score(value, step)
    sign = objective.sign
    step, value = min(found, key=lambda sv: sign * sv[1])  # min keeps the earliest on ties
    return Score(value, step)


def _pareto_step(steps: Sequence[Step], objective: ParetoObjective) -> Score:
    """A Pareto trial's scored step: the last one holding every objective (see score_steps)."""
    last = None
    for s in steps:
        for o in objective.objectives:
            v = o.value_from(s.metrics)
            if v is not None and not math.isfinite(v):
                return Score(None, s.step, f"objective {o.name} was {v} at step {s.step}")
        if objective.values_from(s.metrics) is not None:
            last = s.step
    if last is None:
        reported = {k for s in steps for k in s.metrics}
        missing = [n for n in objective.names if n not in reported]
        text = (
            f"objective(s) {', '.join(missing)} never reported"
            if missing
            else "no step reported every objective at once"
        )
        return Score(
            None, None,
            f"{text}; a search with several objectives needs all of {', '.join(objective.names)} "
            f"in one step; the trial reported: {_fmt_names(reported)}",
        )
    return Score(None, last)


@dataclass(frozen=True)
class FrozenTrial:
    """An immutable snapshot of a stored trial.

    ``number`` counts from 0 within a study. ``retry_of`` is the number of the trial whose
    configuration this one re-runs (after an exception or a crashed worker), else None.
    Times are unix seconds.
    """

    number: int
    state: TrialState
    values: dict[str, Any]
    steps: tuple[Step, ...] = ()
    score: float | None = None
    best_step: int | None = None
    reason: str | None = None
    retry_of: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    storage_id: Any = field(default=None, compare=False, repr=False)

    @property
    def trial_id(self) -> str:
        """Keras Tuner style id: the number zero-padded to two digits ("00", "01", ...)."""
        return f"{self.number:02d}"

    @property
    def original_number(self) -> int:
        """The number of the first attempt of this trial's configuration (re-runs share it)."""
        return self.number if self.retry_of is None else self.retry_of

    @property
    def status(self) -> str:
        return self.state.value

    @property
    def metrics(self) -> MetricsTracker:
        """Every metric's history by step, as Keras Tuner's ``MetricsTracker``:
        ``get_history(name)`` (observations), ``get_best_value(name)``, ``get_last_value``;
        ``metrics[name]`` is the list of values."""
        return tracker_from_steps(self.steps)

    @property
    def message(self) -> str | None:
        """Keras Tuner's name for the reason a trial failed (its traceback), else None."""
        return self.reason

    def summary(self) -> None:
        """Print the trial as Keras Tuner's ``Trial.summary()`` does: id, values, score."""
        print(f"Trial {self.trial_id} summary")
        print("Hyperparameters:")
        for name, value in self.values.items():
            print(f"{name}: {value}")
        if self.score is not None:
            print(f"Score: {self.score}")
        if self.reason:
            print(self.reason)

    @property
    def hyperparameters(self) -> HyperParameters:
        """The trial's values as a HyperParameters (each one shown as a Fixed definition).

        Building a model with it (``hypermodel.build(trial.hyperparameters)``, as Keras
        Tuner code does) gives each of the model's definitions the trial's value, quietly:
        the Fixed stand-ins give way to the code's definitions, the values stay.
        """
        from .space import Fixed, HyperParameters

        space = [Fixed(k, value=v) for k, v in self.values.items()]
        hps = HyperParameters.for_trial(space, self.values, inherited=True)
        hps._pinned = dict.fromkeys(self.values)
        return hps

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    @property
    def last_step(self) -> int | None:
        return self.steps[-1].step if self.steps else None


    @property
    def constraints(self) -> dict[str, float]:
        """The trial's constraint values by name (feasible when every one is <= 0), or {}."""
        from .pareto import constraint_values

        return constraint_values(self) or {}

    @property
    def feasible(self) -> bool | None:
        """Whether the trial met its constraints (None: none recorded); see
        :func:`tunewise.pareto.feasibility`."""
        from .pareto import feasibility

        return feasibility(self)


def best_trial(
    trials: Iterable[FrozenTrial], objective: Objective | MultiObjective
) -> FrozenTrial | None:
    """The feasible completed trial with the best score; ties keep the lowest trial number."""
    ranked = rank_trials(trials, objective)
    return ranked[0] if ranked else None


def rank_trials(
    trials: Iterable[FrozenTrial], objective: Objective | MultiObjective | ParetoObjective
) -> list[FrozenTrial]:
    """Completed, scored, feasible trials from best to worst (ties: lower number first).

    A trial whose constraints are violated (:func:`tunewise.pareto.feasibility` False) is
    never ranked. A Pareto study's trials have no score, so none is ranked here: its order is
    the front's (:func:`tunewise.pareto.pareto_front`, :func:`tunewise.pareto.pareto_ranks`).
    """
    from .pareto import feasibility

    done = [
        t
        for t in trials
        if t.state is TrialState.COMPLETED and t.score is not None and feasibility(t) is not False
    ]
    return sorted(done, key=lambda t: (objective.sign * t.score, t.number))  # type: ignore[operator]


class BadResultError(TypeError):
    """An objective's result or a reported metric is not a number (nor a dict of numbers)."""


def as_metrics(result: Any, objective_name: str) -> dict[str, float]:
    """``result`` (a number, or a dict of metric name -> number) as ``{name: float}``.

    Numbers are Python or NumPy scalars, 0-d arrays, or anything else with ``__float__``
    that is neither a string nor a sequence; raises :class:`BadResultError` naming the value
    and its type otherwise (a list, an array of several values, a string...).
    """
    if isinstance(result, Mapping):
        return {str(k): _to_float(k, v) for k, v in result.items()}
    return {objective_name: _to_float(objective_name, result)}


def _to_float(name: Any, value: Any) -> float:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    kind = type(value).__name__
    ndim = getattr(value, "ndim", 0)
    if isinstance(value, (str, bytes, Sequence, Mapping)) or (
        isinstance(ndim, int) and ndim > 0
    ):
        converted = None
    else:
        try:
            converted = float(value)
        except (TypeError, ValueError):
            converted = None
    if converted is None:
        raise BadResultError(
            f"metric {name!r} is {text} of type {kind}, not a number; an objective returns a "
            "number, a dict of numbers, or None after trial.report(step, {name: number})."
        )
    return converted


class Trial:
    """A running trial, as user code sees it.

    ``hyperparameters`` is the define-by-run container of this trial. Report intermediate
    results with ``report(step, metrics)``; every report is stored at once.
    """

    def __init__(
        self,
        number: int,
        hyperparameters: HyperParameters,
        objective_name: str,
        on_step: Callable[[Trial, Step], None],
        retry_of: int | None = None,
        storage_id: Any = None,
        ask_pruner: Callable[[Trial], bool] | None = None,
        token: str | None = None,
    ) -> None:
        self.number = number
        self.hyperparameters = hyperparameters
        self.retry_of = retry_of
        self.storage_id = storage_id
        self.token = token
        """Proof of ownership: the storage accepts this trial's steps and result only with it."""
        self.steps: list[Step] = []
        self.attrs: dict[str, Any] = {}
        self.started_at = time.time()
        self._objective_name = objective_name
        self._on_step = on_step
        self._ask_pruner = ask_pruner
        self.pruning_requested = False
        """True once ``should_prune()`` has said True (the stored reason then names the pruner)."""
        self.status = TrialState.RUNNING.value
        """Keras Tuner's status string; a custom loop sets it before ``oracle.end_trial``."""
        self.message: str | None = None
        """Keras Tuner's failure message, set by a custom loop before ``oracle.end_trial``."""
        self.score: float | None = None
        self.best_step: int | None = None
        self.directions: dict[str, str] = {}
        """Known metrics' directions (the objective's), for ``metrics``."""

    @property
    def metrics(self) -> MetricsTracker:
        """The steps reported so far, as Keras Tuner's ``MetricsTracker``."""
        return tracker_from_steps(self.steps, self.directions)

    @property
    def trial_id(self) -> str:
        return f"{self.number:02d}"

    @property
    def hp(self) -> HyperParameters:
        return self.hyperparameters

    def report(self, step: int, metrics: Mapping[str, Any] | float) -> None:
        """Record the metrics of ``step`` (steps must increase); a bare number is the objective."""
        step = int(step)
        if self.steps and step <= self.steps[-1].step:
            raise ValueError(
                f"Trial {self.number}: step {step} reported after step {self.steps[-1].step}; "
                "steps must increase (report each epoch once, in order)."
            )
        record = Step(step, as_metrics(metrics, self._objective_name), time.time())
        self._on_step(self, record)  # stored first: a refused step is not kept here either
        self.steps.append(record)

    def adopt_steps(self, steps: Sequence[Step]) -> None:
        """Take ``steps`` reported (and already stored) elsewhere, e.g. in a worker process."""
        self.steps = list(steps)

    @property
    def original_number(self) -> int:
        return self.number if self.retry_of is None else self.retry_of

    def set_attr(self, key: str, value: Any) -> None:
        """Store a plain JSON fact about this trial's run (kept with the trial, read by the doctor)."""
        self.attrs[str(key)] = value

    def set_constraint(self, name: str, value: float) -> None:
        """Record constraint ``name`` of this trial: feasible when ``value <= 0`` (e.g.
        ``trial.set_constraint("memory_gb", peak_gb - 16)``). Stored with the trial; an
        infeasible trial is never the best nor on the front. Setting a name again replaces
        its value. Raises ValueError for a value that is not a finite number."""
        from .trial_attrs import CONSTRAINTS

        name = str(name)
        if not name.strip():
            raise ValueError("A constraint needs a non-empty name.")
        number = _to_float(name, value)
        if not math.isfinite(number):
            raise ValueError(
                f"Constraint {name!r} is {number}; a constraint value is a finite number "
                "(<= 0 when met)."
            )
        stored = dict(self.attrs.get(CONSTRAINTS) or {})
        stored[name] = number
        self.attrs[CONSTRAINTS] = stored

    @property
    def constraints(self) -> dict[str, float]:
        """The constraint values set so far, by name."""
        from .trial_attrs import CONSTRAINTS

        return dict(self.attrs.get(CONSTRAINTS) or {})

    def next_step(self) -> int:
        return self.steps[-1].step + 1 if self.steps else 0

    def should_prune(self) -> bool:
        """Whether the study's pruner asks to stop this trial at its last reported step.

        Call it after each ``report``; when True, raise :class:`tunewise.TrialPruned` (the trial
        is then stored PRUNED at that step). Without a pruner, never True. Asking twice at the
        same step gives the same answer.
        """
        if self._ask_pruner is None:
            return False
        decision = bool(self._ask_pruner(self))
        self.pruning_requested = self.pruning_requested or decision
        return decision

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, values={self.hyperparameters.values!r})"
