"""Pruners: stop a trial early when its intermediate results say it will not be the best.

A pruner is small and pure, like a sampler: :meth:`Pruner.should_prune` gets plain data (the
running trial's reported objective values by step, the current step, and the other trials of
the same study as :class:`~tunewise.trial.FrozenTrial` snapshots) and returns a bool. It holds
no study and does no I/O; the study binds it to its objective once (:meth:`Pruner.bind`), which
gives it the direction (``objective.sign``: +1 minimise, -1 maximise) and how to read the
objective from a step's metrics (``objective.value_from``).

Evidence: only COMPLETED and PRUNED trials (:data:`EVIDENCE_STATES`) speak for the others. A
pruned trial's curve up to the step it stopped at is as real as a completed one's; a FAILED
trial's curve may end in a NaN, and a RUNNING one is still moving. Non-finite values are never
evidence (the score rule fails such a trial instead; a pruner does not decide on them).

The arithmetic (best-so-far, value at a rung, rung steps, top-1/rf promotion) is plain module
functions, so a scheduler (Hyperband, ASHA) can reuse exactly the rules the pruners apply.
"""

from __future__ import annotations

import abc
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from ..objective import MultiObjective, Objective

ObjectiveValues = Mapping[int, float]  # step -> objective value reported at that step

#: Trials whose curves are evidence for a pruner (see the module docstring).
EVIDENCE_STATES: frozenset[TrialState] = frozenset({TrialState.COMPLETED, TrialState.PRUNED})

# ---------------------------------------------------------------------- MedianPruner defaults
#: Finished (completed or pruned) trials before the median pruner prunes at all: with fewer,
#: the median of the others is mostly luck of the first draws (Optuna's default too).
DEFAULT_N_STARTUP_TRIALS = 5
#: Steps of every trial that are never pruned (0: a trial may be pruned after its first step).
DEFAULT_N_WARMUP_STEPS = 0
#: Pruning is considered every ``interval_steps`` steps after the warm-up (1: every step).
DEFAULT_INTERVAL_STEPS = 1
#: Other trials that must have reached the step for their median to be used at that step.
DEFAULT_N_MIN_TRIALS = 1
#: The quantile of the others' best-so-far values a trial must not be worse than (the median).
MEDIAN_QUANTILE = 0.5

# ---------------------------------------------------------------------- SuccessiveHalving defaults
#: The step of the first rung (with ``min_early_stopping_rate=0``).
DEFAULT_MIN_RESOURCE = 1
#: Rungs are this factor apart and ``1/reduction_factor`` of the trials go on from each
#: (Hyperband's eta=3).
DEFAULT_REDUCTION_FACTOR = 3
#: Rungs skipped at the start: the first rung is at ``min_resource * rf**rate``.
DEFAULT_MIN_EARLY_STOPPING_RATE = 0
#: Trials that go on from a rung however few reached it: with fewer than ``reduction_factor``
#: trials at a rung ``n // rf`` is 0, yet the best of them goes on (else the first ``rf - 1``
#: trials at every rung would all stop). Trials are not paused and resumed later, so a trial
#: must be the best so far at a thinly populated rung (Optuna's rule too).
MIN_PROMOTED = 1


# ---------------------------------------------------------------------- shared arithmetic
def objective_values(trial: FrozenTrial, objective: Objective | MultiObjective) -> dict[int, float]:
    """The finite objective values ``trial`` reported, by step (steps lacking it are left out)."""
    out: dict[int, float] = {}
    for s in trial.steps:
        value = objective.value_from(s.metrics)
        if value is not None and math.isfinite(value):
            out[s.step] = float(value)
    return out


def verdict(pruner: Pruner, steps: Iterable[Any], others: Sequence[FrozenTrial]) -> bool:
    """``pruner``'s verdict on a running trial that reported ``steps`` (objects with ``step``
    and ``metrics``), at its last step holding the objective (read through the pruner's bound
    objective); False before any such step. One rule for trials in the study's process and
    in Ray tasks."""
    values: dict[int, float] = {}
    for s in steps:
        value = pruner.objective.value_from(s.metrics)
        if value is not None:
            values[s.step] = float(value)
    if not values:
        return False
    return bool(pruner.should_prune(values, max(values), others))


def finite_values(values: ObjectiveValues) -> dict[int, float]:
    """``values`` without NaN or infinite entries, as floats."""
    return {int(k): float(v) for k, v in values.items() if v is not None and math.isfinite(v)}


def best_so_far(values: ObjectiveValues, step: int, sign: int) -> float | None:
    """The best finite value at steps ``<= step`` (``sign``: +1 lower is better, -1 higher);
    None when there is none."""
    seen = [v for s, v in values.items() if s <= step and math.isfinite(v)]
    if not seen:
        return None
    return min(seen, key=lambda v: sign * v)


def reached(values: ObjectiveValues, step: int) -> bool:
    """Whether a trial with these (finite) values reported at ``step`` or later."""
    return any(s >= step for s in values)


def value_at_rung(values: ObjectiveValues, rung_step: int) -> float | None:
    """A trial's value at a rung: its value at the first reported step ``>= rung_step``."""
    later = [s for s in values if s >= rung_step]
    return values[min(later)] if later else None


def rung_step(
    rung: int, min_resource: int, reduction_factor: int, min_early_stopping_rate: int
) -> int:
    """The step of rung ``rung`` (0, 1, ...): ``min_resource * rf**(rung + rate)``."""
    return int(min_resource * reduction_factor ** (rung + min_early_stopping_rate))


def n_promoted(n_at_rung: int, reduction_factor: int) -> int:
    """How many of the ``n_at_rung`` trials at a rung go on: the top ``1/rf``, at least
    :data:`MIN_PROMOTED`."""
    return max(MIN_PROMOTED, n_at_rung // reduction_factor)


def is_promoted(value: float, competing: Iterable[float], reduction_factor: int, sign: int) -> bool:
    """Whether ``value`` is in the top ``1/rf`` of itself plus ``competing`` (ties go on).

    ``competing`` holds the other trials' values at the same rung (not ``value`` itself).
    """
    ranked = sorted([sign * v for v in competing] + [sign * value])
    keep = n_promoted(len(ranked), reduction_factor)
    return sign * value <= ranked[keep - 1]


def _check_int(label: str, value: Any, minimum: int) -> int:
    """``value`` as an int >= ``minimum``, or a clear error."""
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{label}={value!r} must be an integer >= {minimum}.") from None
    if isinstance(value, bool):
        raise TypeError(f"{label}={value!r} must be an integer >= {minimum}.")
    if number < minimum:
        raise ValueError(f"{label}={value!r} must be >= {minimum}.")
    return int(number)


# ---------------------------------------------------------------------- the interface
class Pruner(abc.ABC):
    """Decides whether a running trial should stop now.

    Contract of :meth:`should_prune`: a pure function of its arguments and the bound objective
    (same inputs, same answer; nothing stored, nothing read elsewhere), never raising on odd
    data (no steps, NaN values, trials of any state): when in doubt it says False.
    """

    #: Short name shown in messages and stored with the study.
    name: str = "pruner"

    def __init__(self) -> None:
        self._objective: Objective | MultiObjective | None = None

    def bind(self, objective: Objective | MultiObjective) -> None:
        """Called once by the study with its objective (direction and how to read values)."""
        self._objective = objective

    @property
    def objective(self) -> Objective | MultiObjective:
        if self._objective is None:
            raise RuntimeError(
                f"{type(self).__name__} is not bound to an objective: pass it to a Study "
                "(Study(..., pruner=...)) or call pruner.bind(objective) first."
            )
        return self._objective

    @abc.abstractmethod
    def should_prune(
        self, trial_steps: ObjectiveValues, step: int, others: Sequence[FrozenTrial]
    ) -> bool:
        """Whether the running trial should stop at ``step``.

        Args:
            trial_steps: the running trial's objective values by step (as reported so far;
                non-finite values are ignored).
            step: the current step (normally the last key of ``trial_steps``).
            others: the other trials of the study (any state; only
                :data:`EVIDENCE_STATES` ones are used as evidence).
        """

    def get_config(self) -> dict[str, Any]:
        """Settings stored with the study (JSON-serialisable)."""
        return {"name": self.name}

    def describe(self) -> str:
        """E.g. ``MedianPruner(n_startup_trials=5, ...)``."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"

    def __repr__(self) -> str:
        return self.describe()

    def _evidence(self, others: Sequence[FrozenTrial]) -> list[dict[int, float]]:
        """The finite objective values by step of each finished (evidence) trial."""
        return [objective_values(t, self.objective) for t in others if t.state in EVIDENCE_STATES]


class NopPruner(Pruner):
    """Never prunes (the default behaviour of a study without a pruner)."""

    name = "nop"

    def should_prune(
        self, trial_steps: ObjectiveValues, step: int, others: Sequence[FrozenTrial]
    ) -> bool:
        return False


class MedianPruner(Pruner):
    """Prune a trial whose best value so far is worse than the median of the others' at that step.

    At ``step`` the trial's best-so-far (best finite value at steps ``<= step``) is compared
    with the median of the best-so-far values at ``step`` of the other finished trials
    (COMPLETED or PRUNED) that reached ``step`` (reported at ``step`` or later). Strictly worse
    prunes; a tie goes on. Nothing is pruned:

    * until ``n_startup_trials`` other trials have finished (completed or pruned);
    * at steps before ``n_warmup_steps``;
    * except at the first report in each window of ``interval_steps`` steps after the warm-up
      (steps ``n_warmup_steps + k * interval_steps``; a trial that skips such a step is judged
      at its next report);
    * when fewer than ``n_min_trials`` other trials reached the step;
    * when the trial has no finite value yet.
    """

    name = "median"

    def __init__(
        self,
        n_startup_trials: int = DEFAULT_N_STARTUP_TRIALS,
        n_warmup_steps: int = DEFAULT_N_WARMUP_STEPS,
        interval_steps: int = DEFAULT_INTERVAL_STEPS,
        n_min_trials: int = DEFAULT_N_MIN_TRIALS,
    ) -> None:
        super().__init__()
        self.n_startup_trials = _check_int("n_startup_trials", n_startup_trials, 0)
        self.n_warmup_steps = _check_int("n_warmup_steps", n_warmup_steps, 0)
        self.interval_steps = _check_int("interval_steps", interval_steps, 1)
        self.n_min_trials = _check_int("n_min_trials", n_min_trials, 1)

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n_startup_trials": self.n_startup_trials,
            "n_warmup_steps": self.n_warmup_steps,
            "interval_steps": self.interval_steps,
            "n_min_trials": self.n_min_trials,
        }

    def is_check_step(self, step: int, reported_steps: Iterable[int]) -> bool:
        """Whether ``step`` is the first report in its window of ``interval_steps`` steps."""
        if step < self.n_warmup_steps:
            return False
        start = self.n_warmup_steps + (step - self.n_warmup_steps) // self.interval_steps * (
            self.interval_steps
        )
        previous = max((s for s in reported_steps if s < step), default=-1)
        return previous < start

    def median_at(self, step: int, others: Sequence[FrozenTrial]) -> float | None:
        """The median of the evidence trials' best-so-far at ``step``; None with fewer than
        ``n_min_trials`` of them having reached it."""
        sign = self.objective.sign
        bests = [
            b
            for values in self._evidence(others)
            if reached(values, step) and (b := best_so_far(values, step, sign)) is not None
        ]
        if len(bests) < self.n_min_trials:
            return None
        return float(np.quantile(bests, MEDIAN_QUANTILE))

    def should_prune(
        self, trial_steps: ObjectiveValues, step: int, others: Sequence[FrozenTrial]
    ) -> bool:
        step = int(step)
        if not self.is_check_step(step, trial_steps.keys()):
            return False
        finished = sum(t.state in EVIDENCE_STATES for t in others)
        if finished < self.n_startup_trials:
            return False
        sign = self.objective.sign
        mine = best_so_far(finite_values(trial_steps), step, sign)
        if mine is None:
            return False
        median = self.median_at(step, others)
        if median is None:
            return False
        return sign * mine > sign * median


class SuccessiveHalvingPruner(Pruner):
    """Asynchronous successive halving: at each rung only the top ``1/reduction_factor`` go on.

    Rung ``k`` (0, 1, ...) is at step ``min_resource * reduction_factor**(k +
    min_early_stopping_rate)`` (steps are the resource: epochs, budget units). A trial's value
    at a rung is its value at its first reported step at or after the rung's step. At ``step``
    the trial goes on only if, at every rung it has reached, its value is among the best
    ``max(1, n // reduction_factor)`` of the ``n`` trials at that rung (itself and the finished,
    COMPLETED or PRUNED, trials that reached it; ties go on). Before its first rung a trial is
    never pruned, nor when it has no finite value at the current step.

    In a study whose trials run one after another this is Optuna's rule (each rung judged when
    reached). Judging every reached rung, not only the last one, keeps the answer a pure function
    of the data, whichever steps ``should_prune`` is called at.
    """

    name = "successive_halving"

    def __init__(
        self,
        min_resource: int = DEFAULT_MIN_RESOURCE,
        reduction_factor: int = DEFAULT_REDUCTION_FACTOR,
        min_early_stopping_rate: int = DEFAULT_MIN_EARLY_STOPPING_RATE,
    ) -> None:
        super().__init__()
        self.min_resource = _check_int("min_resource", min_resource, 1)
        self.reduction_factor = _check_int("reduction_factor", reduction_factor, 2)
        self.min_early_stopping_rate = _check_int(
            "min_early_stopping_rate", min_early_stopping_rate, 0
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "min_resource": self.min_resource,
            "reduction_factor": self.reduction_factor,
            "min_early_stopping_rate": self.min_early_stopping_rate,
        }

    def rung_step(self, rung: int) -> int:
        """The step of rung ``rung``."""
        return rung_step(
            rung, self.min_resource, self.reduction_factor, self.min_early_stopping_rate
        )

    def rungs_reached(self, step: int) -> list[int]:
        """The rungs whose step is ``<= step``, in order (empty before the first rung)."""
        rungs: list[int] = []
        while self.rung_step(len(rungs)) <= step:
            rungs.append(len(rungs))
        return rungs

    def should_prune(
        self, trial_steps: ObjectiveValues, step: int, others: Sequence[FrozenTrial]
    ) -> bool:
        step = int(step)
        mine = {s: v for s, v in finite_values(trial_steps).items() if s <= step}
        current = trial_steps.get(step)
        if current is None or not math.isfinite(current):
            return False
        sign = self.objective.sign
        evidence = self._evidence(others)
        for rung in self.rungs_reached(step):
            at = self.rung_step(rung)
            value = value_at_rung(mine, at)
            if value is None:
                continue
            competing = [v for values in evidence if (v := value_at_rung(values, at)) is not None]
            if not is_promoted(value, competing, self.reduction_factor, sign):
                return True
        return False


__all__ = [
    "DEFAULT_INTERVAL_STEPS",
    "DEFAULT_MIN_EARLY_STOPPING_RATE",
    "DEFAULT_MIN_RESOURCE",
    "DEFAULT_N_MIN_TRIALS",
    "DEFAULT_N_STARTUP_TRIALS",
    "DEFAULT_N_WARMUP_STEPS",
    "DEFAULT_REDUCTION_FACTOR",
    "EVIDENCE_STATES",
    "MEDIAN_QUANTILE",
    "MIN_PROMOTED",
    "MedianPruner",
    "NopPruner",
    "Pruner",
    "SuccessiveHalvingPruner",
    "best_so_far",
    "finite_values",
    "is_promoted",
    "n_promoted",
    "objective_values",
    "reached",
    "rung_step",
    "value_at_rung",
]
