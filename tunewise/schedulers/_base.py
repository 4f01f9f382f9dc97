"""Schedulers: which budget (epochs, steps) the next trial gets, and which trial goes on.

A scheduler is small and pure, like a sampler: :meth:`Scheduler.next_job` gets the study's
trials (plain :class:`~tunewise.trial.FrozenTrial` snapshots, running ones included) and
returns the next :class:`Job`: a *new* configuration at a budget (the sampler then picks the
configuration) or a *promotion* of a finished trial to a larger budget (same values, the trial
is the new one's ``parent``). It may also say :data:`WAIT` (results of running trials are
needed first) or None (the schedule is done). It holds no study and does no I/O.

A trial's job is kept with it as plain attrs (``budget``, ``initial_budget``, ``rung``,
``bracket``, ``bracket_index``, ``parent``), so the schedule is a function of the stored trials
and a resumed study carries on where it stopped. The trial's hyperparameters container also
shows Keras Tuner's ``tuner/epochs``, ``tuner/initial_epoch``, ``tuner/bracket``,
``tuner/round`` and ``tuner/trial_id`` (see :class:`BudgetedHyperParameters`): they are
metadata, never part of the search space, and never stored among the trial's values.
"""

from __future__ import annotations

import abc
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import trial_attrs as keys
from ..space import HyperParameters
from ..trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from ..objective import MultiObjective, Objective

#: Keras Tuner's names for a trial's budget, shown in its hyperparameters (never tuned).
EPOCHS_KEY = "tuner/epochs"
INITIAL_EPOCH_KEY = "tuner/initial_epoch"
BRACKET_KEY = "tuner/bracket"
ROUND_KEY = "tuner/round"
PARENT_KEY = "tuner/trial_id"
BUDGET_KEYS = (EPOCHS_KEY, INITIAL_EPOCH_KEY, BRACKET_KEY, ROUND_KEY, PARENT_KEY)
#: Databases before schema 3 stored a RUNNING scheduled trial's bracket among its values;
#: read back for them only (a trial's job is stored as its attrs when it is created).
BRACKET_INDEX_KEY = "tunewise/bracket_index"


class _Wait:
    def __repr__(self) -> str:
        return "WAIT"


#: What :meth:`Scheduler.next_job` returns when no job can start until running trials finish.
WAIT: Any = _Wait()


@dataclass(frozen=True)
class Job:
    """One trial's assignment.

    ``budget`` is the budget (epochs) the trial trains *up to*, counted from the start of its
    configuration's training; ``initial_budget`` is what its parent already trained (0 for a
    new configuration), so the trial itself trains ``budget - initial_budget`` units.
    ``parent`` is the trial number a promotion continues; ``values`` its configuration.
    ``rung`` counts promotions (0 for a new configuration); ``bracket`` is Keras Tuner's
    ``tuner/bracket`` (the number of halvings of the trial's bracket) and ``bracket_index``
    which bracket of the search it belongs to (0, 1, ...), both None outside Hyperband.
    """

    budget: int
    initial_budget: int = 0
    rung: int = 0
    parent: int | None = None
    values: dict[str, Any] | None = None
    bracket: int | None = None
    bracket_index: int | None = None

    @property
    def is_new(self) -> bool:
        """Whether the sampler must pick a configuration (else the parent's is continued)."""
        return self.parent is None

    @property
    def units(self) -> int:
        """Budget units this trial trains itself."""
        return self.budget - self.initial_budget

    def attrs(self) -> dict[str, Any]:
        """The job as trial attrs (stored with the trial, read back by :func:`job_of`)."""
        return {
            keys.BUDGET: self.budget,
            keys.INITIAL_BUDGET: self.initial_budget,
            keys.RUNG: self.rung,
            keys.PARENT: self.parent,
            keys.BRACKET: self.bracket,
            keys.BRACKET_INDEX: self.bracket_index,
        }

    def hp_values(self) -> dict[str, Any]:
        """Keras Tuner's ``tuner/...`` values for this job (``tuner/trial_id`` only when
        promoted, as in Keras Tuner)."""
        out: dict[str, Any] = {
            EPOCHS_KEY: self.budget,
            INITIAL_EPOCH_KEY: self.initial_budget,
            BRACKET_KEY: self.bracket if self.bracket is not None else 0,
            ROUND_KEY: self.rung,
        }
        if self.parent is not None:
            out[PARENT_KEY] = f"{self.parent:02d}"
        return out


def job_of(trial: FrozenTrial) -> Job | None:
    """The job a trial ran, from its attrs (stored when it was created); for databases before
    schema 3, from the ``tuner/...`` values a running trial was stored with. None for a trial
    no scheduler assigned."""
    attrs = trial.attrs or {}
    if attrs.get(keys.BUDGET) is not None:
        return Job(
            budget=int(attrs[keys.BUDGET]),
            initial_budget=int(attrs.get(keys.INITIAL_BUDGET) or 0),
            rung=int(attrs.get(keys.RUNG) or 0),
            parent=attrs.get(keys.PARENT),
            bracket=attrs.get(keys.BRACKET),
            bracket_index=attrs.get(keys.BRACKET_INDEX),
        )
    return job_from_values(trial.values)


def job_from_values(values: dict[str, Any]) -> Job | None:
    """A job from Keras Tuner's ``tuner/...`` values; None when they are absent."""
    if EPOCHS_KEY not in values:
        return None
    parent = values.get(PARENT_KEY)
    return Job(
        budget=int(values[EPOCHS_KEY]),
        initial_budget=int(values.get(INITIAL_EPOCH_KEY) or 0),
        rung=int(values.get(ROUND_KEY) or 0),
        parent=int(parent) if parent is not None else None,
        bracket=values.get(BRACKET_KEY),
        bracket_index=values.get(BRACKET_INDEX_KEY),
    )


def without_budget_keys(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without Keras Tuner's ``tuner/...`` entries."""
    return {k: v for k, v in values.items() if k not in BUDGET_KEYS and k != BRACKET_INDEX_KEY}


def scheduled_trials(trials: Sequence[FrozenTrial]) -> list[tuple[FrozenTrial, Job]]:
    """Every trial a scheduler assigned, with its job; of re-runs only the latest attempt."""
    latest: dict[int, tuple[FrozenTrial, Job]] = {}
    for t in trials:
        job = job_of(t)
        if job is None:
            continue
        key = t.original_number
        if key not in latest or t.number > latest[key][0].number:
            latest[key] = (t, job)
    return [latest[k] for k in sorted(latest)]


def units_trained(trial: FrozenTrial) -> int:
    """Budget units (epochs) a trial trained itself.

    The Keras tuners store ``epochs_run`` (one entry per execution): their sum. Else a
    scheduled COMPLETED trial trained its job's units; any other trial one unit per reported
    step at or after its ``initial_budget``.
    """
    attrs = trial.attrs or {}
    run = attrs.get(keys.EPOCHS_RUN)
    if isinstance(run, list) and run:
        return int(sum(int(n) for n in run))
    job = job_of(trial)
    if job is not None and trial.state is TrialState.COMPLETED:
        return job.units
    start = job.initial_budget if job is not None else 0
    return sum(1 for s in trial.steps if s.step >= start)


def total_units_trained(trials: Sequence[FrozenTrial]) -> int:
    """Budget units (epochs) the whole search trained, over every trial."""
    return sum(units_trained(t) for t in trials if t.state.is_finished)


def ranked_at(
    members: Sequence[tuple[FrozenTrial, Job]], sign: int
) -> list[FrozenTrial]:
    """The COMPLETED, scored trials of ``members``, best first (ties: lower number first)."""
    done = [
        t
        for t, _ in members
        if t.state is TrialState.COMPLETED and t.score is not None and math.isfinite(t.score)
    ]
    return sorted(done, key=lambda t: (sign * t.score, t.number))  # type: ignore[operator]


def budgets_of_bracket(max_budget: int, factor: int, halvings: int) -> tuple[int, ...]:
    """The budgets of a bracket's rungs: ``ceil(max_budget / factor**(halvings - i))``."""
    return tuple(-(-max_budget // factor ** (halvings - i)) for i in range(halvings + 1))


def max_halvings(max_budget: int, factor: int) -> int:
    """The largest ``s`` with ``factor**s <= max_budget`` (exact integer arithmetic)."""
    s = 0
    while factor ** (s + 1) <= max_budget:
        s += 1
    return s


class BudgetedHyperParameters(HyperParameters):
    """A trial's hyperparameters that also show its job's ``tuner/...`` values.

    ``hp.values``, ``hp["tuner/epochs"]`` and ``"tuner/epochs" in hp`` see them (as Keras
    Tuner's do); they are not definitions of the space, so no sampler tunes them, and the
    study leaves them out of the stored values (the job is stored as the trial's attrs).
    """

    budget_values: dict[str, Any]

    @classmethod
    def wrap(cls, hps: HyperParameters, job: Job) -> BudgetedHyperParameters:
        out = cls()
        out.__dict__.update(hps.__dict__)
        out.budget_values = job.hp_values()
        return out

    def _active_values(self) -> dict[str, Any]:
        # ``values`` (live, as the base container's) shows the budget values too.
        return {**super()._active_values(), **self.budget_values}

    def get(self, name: str) -> Any:
        if name in self.budget_values:
            return self.budget_values[name]
        return super().get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.budget_values or super().__contains__(name)


class Scheduler(abc.ABC):
    """Decides budgets, promotions and stops; the sampler decides configurations.

    Contract of :meth:`next_job`: a pure function of its arguments and the bound objective.
    ``new_configs=False`` says the sampler has no new configuration left (a finite space is
    exhausted): the scheduler then hands out promotions only, closing half-filled rungs with
    the trials they have.
    """

    #: Short name shown in messages and stored with the study.
    name: str = "scheduler"

    def __init__(self) -> None:
        self._objective: Objective | MultiObjective | None = None

    def bind(self, objective: Objective | MultiObjective) -> None:
        """Called once by the study with its objective (the direction ranks trials)."""
        self._objective = objective

    @property
    def sign(self) -> int:
        """+1 when lower is better, -1 when higher is (from the bound objective)."""
        if self._objective is None:
            raise RuntimeError(
                f"{type(self).__name__} is not bound to an objective: pass it to a Study "
                "(Study(..., scheduler=...)) or call scheduler.bind(objective) first."
            )
        return int(self._objective.sign)

    @property
    @abc.abstractmethod
    def max_budget(self) -> int:
        """The largest budget any job gets."""

    @abc.abstractmethod
    def next_job(self, trials: Sequence[FrozenTrial], new_configs: bool = True) -> Any:
        """The next :class:`Job`, :data:`WAIT`, or None when the schedule is done."""

    @abc.abstractmethod
    def may_continue(self, trial: FrozenTrial, trials: Sequence[FrozenTrial]) -> bool:
        """Whether ``trial`` may still be promoted (a tuner keeps its weights until then)."""

    def get_config(self) -> dict[str, Any]:
        """Settings stored with the study (JSON-serialisable)."""
        return {"name": self.name}

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"

    def __repr__(self) -> str:
        return self.describe()


def check_factor(value: Any) -> int:
    """A reduction factor (eta): an int >= 2, or Keras Tuner's "factor needs" error."""
    try:
        return check_int("factor", value, 2)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"factor needs to be an integer >= 2 (the top 1/factor of each rung go on), "
            f"but got factor={value!r}. Pass factor=3 (the usual choice)."
        ) from None


def check_int(label: str, value: Any, minimum: int) -> int:
    """``value`` as an int >= ``minimum``, or a clear error naming it."""
    if isinstance(value, bool):
        raise TypeError(f"{label}={value!r} must be an integer >= {minimum}.")
    try:
        number = operator.index(value)
    except TypeError:
        if not (isinstance(value, float) and value.is_integer()):
            raise TypeError(f"{label}={value!r} must be an integer >= {minimum}.") from None
        number = int(value)
    if number < minimum:
        raise ValueError(f"{label}={value!r} must be >= {minimum}.")
    return int(number)
