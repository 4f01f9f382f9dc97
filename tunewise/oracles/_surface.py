"""Keras Tuner's oracle methods, over a :class:`~tunewise.Study`: custom search loops.

Keras Tuner's ``Oracle`` is both the search algorithm and the books. Here the books are the
study's (its storage), so these methods are a thin layer over ``study.ask``/``tell``:

* ``create_trial(tuner_id)``: the next trial (a running :class:`~tunewise.Trial` with Keras
  Tuner's ``trial_id``, ``hyperparameters``, ``status``, ``metrics``), or one with
  ``status == "STOPPED"`` when the search is over (``"IDLE"`` when nothing is left now
  but other trials still run: ask again when one ends). A tuner that asks again before
  ending its trial gets the same trial back.
* ``update_trial(trial_id, metrics, step=0)``: store one step's metrics (the objective must
  be among them); returns ``"RUNNING"``, or ``"STOPPED"`` when the study's pruner says stop.
* ``end_trial(trial)``: finish it by ``trial.status``: ``"COMPLETED"`` (the score rule decides;
  a NaN objective is stored FAILED, with the step named), ``"INVALID"`` (failed, re-run up to
  ``max_retries_per_trial`` times), ``"FAILED"`` (failed, no re-run) or ``"STOPPED"``
  (pruned). ``max_consecutive_failed_trials`` failures in a row raise
  :class:`~tunewise.TooManyFailedTrialsError`.

An oracle is bound to a study by the tuner that uses it; one used alone opens its own study
on first use: in ``_set_project_dir(directory, project_name)`` (SQLite, resumable, as Keras
Tuner's tuners call it) or, before that, in memory. A subclass that overrides
``populate_space(trial_id)`` (returning ``{"status": "RUNNING", "values": {...}}`` or
``{"status": "STOPPED"}``) chooses every configuration itself, as in Keras Tuner.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..engine import Study
    from ..space import HyperParameters
    from ..trial import FrozenTrial, Trial

#: Keras Tuner's trial statuses (plain strings, as there).
RUNNING, IDLE, INVALID, STOPPED, COMPLETED, FAILED = (
    "RUNNING", "IDLE", "INVALID", "STOPPED", "COMPLETED", "FAILED")


def synchronized(method: Callable[..., Any]) -> Callable[..., Any]:
    """Keras Tuner's decorator: calls of decorated methods of one oracle run one at a time
    (a re-entrant lock per oracle object; different oracles do not block each other)."""

    @wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        lock = self.__dict__.get("_sync_lock")
        if lock is None:
            lock = self.__dict__.setdefault("_sync_lock", threading.RLock())
        with lock:
            return method(self, *args, **kwargs)

    return locked


class StoppedTrial:
    """What ``create_trial`` returns when no trial is left to run: ``status == "STOPPED"``,
    or ``"IDLE"`` while other trials still run (ask again when one of them ends)."""

    def __init__(self, hyperparameters: HyperParameters) -> None:
        self.trial_id: str | None = None
        self.hyperparameters = hyperparameters
        self.status = STOPPED
        self.message: str | None = None
        self.score = None
        self.best_step = None


class OracleSurface:
    """Mixed into :class:`tunewise.oracles.Oracle`: Keras Tuner's trial methods (see module)."""

    _study: Study | None = None

    # ------------------------------------------------------------------ the study
    def bind(self, study: Study) -> None:
        """Use ``study`` (a tuner's) for every trial method; its objective becomes this
        oracle's."""
        self._study = study
        self.objective = study.objective
        self._ongoing: dict[str, Trial] = {}

    def _set_project_dir(self, directory: Any, project_name: str, overwrite: bool = False
                         ) -> None:
        """Open this oracle's own study in ``<directory>/<project_name>`` (Keras Tuner's tuners
        call it; tunewise's tuners bind their study instead)."""
        self._open(directory=str(directory), project_name=project_name, overwrite=overwrite)

    def _open(self, **where: Any) -> Study:
        from ..engine import Study

        storage = None if where else "memory"
        study = Study(
            objective=self.objective,
            sampler=self._sampler_for_study(),
            storage=storage,
            seed=self.seed,
            max_retries_per_trial=self.max_retries_per_trial,
            max_consecutive_failed_trials=self.max_consecutive_failed_trials,
            algorithm=self.algorithm,
            hyperparameters=self._declared,
            tune_new_entries=self.tune_new_entries,
            allow_new_entries=self.allow_new_entries,
            verbose=0,
            **where,
        )
        self.bind(study)
        return study

    @property
    def study(self) -> Study:
        """The bound study (opened in memory on first use when no tuner bound one)."""
        return self._study if self._study is not None else self._open()

    def _sampler_for_study(self) -> Any:
        """The sampler a study of this oracle uses: ``populate_space`` when overridden."""
        if _overrides(self, "populate_space"):
            from ._populate import PopulateSpaceSampler

            return PopulateSpaceSampler(self)
        return self.make_sampler()

    def reload(self) -> None:
        """Read what the storage holds now (other workers' trials included)."""
        self.study.sync(force=True)

    def save(self) -> None:
        """Nothing to do: every trial, step and result is stored when it happens."""

    # ------------------------------------------------------------------ the space
    @property
    def hyperparameters(self) -> HyperParameters:
        """The search space so far (Keras Tuner's ``oracle.hyperparameters``)."""
        from ..space import HyperParameters

        if self._study is None:
            return self._declared if self._declared is not None else HyperParameters()
        # The tuned space (with tune_new_entries=False, the declared part only), each value
        # its default, as Keras Tuner's oracle holds it.
        space = self._study.tunable_space()
        hps = HyperParameters.for_trial(space, {hp.name: hp.default for hp in space},
                                        inherited=False)
        hps.ensure_active_values()
        return hps

    @hyperparameters.setter
    def hyperparameters(self, value: HyperParameters | None) -> None:
        self._declared = value

    def get_space(self) -> HyperParameters:
        """A copy of the search space (changing it does not change the study's)."""
        return self.hyperparameters.copy() if hasattr(self.hyperparameters, "copy") \
            else self.hyperparameters

    def update_space(self, hyperparameters: HyperParameters) -> None:
        """Add the definitions in ``hyperparameters`` that the space does not have yet."""
        self.study.declare_space(hyperparameters)

    # ------------------------------------------------------------------ trials
    @property
    def trials(self) -> dict[str, FrozenTrial]:
        """Every stored trial by Keras Tuner's ``trial_id`` ("00", "01", ...)."""
        study = self.study
        study.sync()
        return {t.trial_id: t for t in study.trials}

    @property
    def ongoing_trials(self) -> dict[str, Trial]:
        """This process's running trials by tuner id."""
        self.study  # noqa: B018 - opens the study (and the books below) on first use
        return dict(self._ongoing)

    def get_trial(self, trial_id: str) -> Any:
        """The trial ``trial_id``: the running one if it runs here, else the stored one."""
        for trial in self.ongoing_trials.values():
            if trial.trial_id == str(trial_id):
                return trial
        trials = self.trials
        key = f"{int(trial_id):02d}" if str(trial_id).isdigit() else str(trial_id)
        if key not in trials:
            raise KeyError(f"No trial {trial_id!r}; the stored trials are {sorted(trials)}.")
        return trials[key]

    def get_best_trials(self, num_trials: int = 1) -> list[FrozenTrial]:
        """The best completed trials, best first; never padded with failed ones."""
        from ..trial import rank_trials

        study = self.study
        return rank_trials(study.trials, study.objective)[:num_trials]

    @property
    def start_order(self) -> list[str]:
        """Keras Tuner's ``start_order``: the ids of every stored trial that started, in the
        order they started (read from the storage: every worker's, resumed runs included)."""
        study = self.study
        started = [t for t in study.trials if t.started_at is not None]
        return [t.trial_id for t in sorted(started, key=lambda t: (t.started_at, t.number))]

    @property
    def end_order(self) -> list[str]:
        """Keras Tuner's ``end_order``: the ids of the finished trials, in the order they
        finished."""
        ended = [t for t in self.study.trials if t.state.is_finished]
        return [t.trial_id for t in sorted(ended, key=lambda t: (t.finished_at or 0.0, t.number))]

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        """Keras Tuner's ``populate_space``: the next configuration of this oracle's own
        algorithm, ``{"status": "RUNNING", "values": {...}}``, or ``{"status": "STOPPED"}``
        when the space is exhausted or ``max_trials`` reached.

        A subclass overriding it may call ``super().populate_space(trial_id)`` and change
        the values. Definitions added to the ``HyperParameters`` given as
        ``oracle.hyperparameters`` are part of the space from the next call on.
        """
        import numpy as np

        study = self.study
        if self._declared is not None:
            study.declare_space(self._declared)
        if self.remaining_trials == 0:
            return {"status": STOPPED}
        own = self.__dict__.get("_own_sampler")
        if own is None:
            own = self.__dict__.setdefault("_own_sampler", self.make_sampler())
            self.__dict__["_own_rng"] = np.random.default_rng(self.seed)
        values = own.suggest(study.tunable_space(), study.trials, self.__dict__["_own_rng"])
        if values is None:
            return {"status": STOPPED}
        return {"status": RUNNING, "values": dict(values)}

    @property
    def remaining_trials(self) -> int | None:
        """Trials left of ``max_trials`` (None: no limit)."""
        if self.max_trials is None:
            return None
        return max(0, self.max_trials - self.study.n_slots)

    @synchronized
    def create_trial(self, tuner_id: str) -> Any:
        """The next trial for ``tuner_id`` (see the module docstring)."""
        study = self.study
        if tuner_id in self._ongoing:
            return self._ongoing[tuner_id]
        trial = None
        if self.remaining_trials != 0:
            trial = study.ask()
        if trial is None:
            stopped = StoppedTrial(self.hyperparameters)
            if self.remaining_trials != 0 and (self._ongoing or study.running):
                # Nothing to run now, but the running trials may still define new
                # hyperparameters (define-by-run) or fail: ask again once one ends.
                stopped.status = IDLE
            return stopped
        trial.status = RUNNING
        given = study.cache.get(trial.number)
        if given is not None:  # a custom loop reads them all: show the values it was given
            trial.hyperparameters.values.update(given.values)
        self._ongoing[tuner_id] = trial
        return trial

    def _running(self, trial_id: Any) -> tuple[str, Trial]:
        wanted = getattr(trial_id, "trial_id", trial_id)
        for tuner_id, trial in self._ongoing.items():
            if trial.trial_id == str(wanted):
                return tuner_id, trial
        for trial in self.study.running.values():  # a trial a tuner's search() runs
            if trial.trial_id == str(wanted):
                return "", trial
        raise ValueError(
            f"Trial {wanted!r} is not running in this oracle (running: "
            f"{sorted(t.trial_id for t in self._ongoing.values()) or 'none'}); "
            "create it with create_trial(tuner_id) first."
        )

    @synchronized
    def update_trial(self, trial_id: Any, metrics: dict[str, Any], step: int = 0) -> str:
        """Store ``metrics`` at ``step`` for a running trial; the objective must be there."""
        tuner_id, trial = self._running(trial_id)
        if tuner_id == "":
            warnings.warn(
                "Please remove the call to `Oracle.update_trial()` in `Tuner.run_trial()`: "
                "return the metrics from run_trial instead (a number, a dict, or a History); "
                "the reported metrics are stored as this trial's next step meanwhile.",
                DeprecationWarning, stacklevel=3)
        objective = self.study.objective
        if not objective.has_value(metrics):
            raise ValueError(
                "Objective value missing in metrics reported to the Oracle, expected: "
                f"{objective}, found: {sorted(metrics)}. Report the objective's metric, or "
                "pass the objective your model logs."
            )
        trial.report(max(int(step), trial.next_step()), metrics)
        return STOPPED if trial.should_prune() else RUNNING

    @synchronized
    def end_trial(self, trial: Any, status: str | None = None) -> FrozenTrial:
        """Finish a running trial by its ``status`` (see the module docstring); returns the
        stored trial, and sets ``trial.status`` to its stored state."""
        from ..engine._finishing import fail
        from ..engine._loop import _FailurePolicy
        from ..trial import TrialState

        tuner_id, running = self._running(trial)
        status = str(status or getattr(trial, "status", None) or COMPLETED)
        status = {"COMPLETE": COMPLETED}.get(status, status)  # Keras Tuner 1.0's spelling
        message = getattr(trial, "message", None) or getattr(running, "message", None)
        study = self.study
        rerun = False
        if status in (COMPLETED, RUNNING):
            frozen = study.tell(running)
        elif status == STOPPED:
            frozen = study.tell(running, state=TrialState.PRUNED)
        elif status == INVALID:
            finished = fail(study, running, f"Marked INVALID: {message or 'no message'}",
                            study.max_retries_per_trial)
            frozen, rerun = finished.frozen, finished.rerun
        elif status == FAILED:
            frozen = study.fail(running, f"Marked FAILED: {message or 'no message'}")
        else:
            raise ValueError(
                f"end_trial status {status!r} is not one of COMPLETED, INVALID, FAILED, STOPPED."
            )
        del self._ongoing[tuner_id]
        for obj in {id(trial): trial, id(running): running}.values():
            if hasattr(obj, "status"):
                obj.status = frozen.state.value
        policy = self.__dict__.setdefault("_failures", _FailurePolicy(study))
        policy.check(frozen, None, rerun)
        return frozen


def _overrides(oracle: Any, name: str) -> bool:
    """Whether ``oracle``'s class defines ``name`` below tunewise's own oracle classes."""
    for cls in type(oracle).__mro__:
        if cls.__module__.startswith("tunewise."):
            return False
        if name in cls.__dict__:
            return True
    return False
