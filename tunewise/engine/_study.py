"""``Study``: the facade of a search, the user's API over the engine's parts.

``ask()`` gives a :class:`~tunewise.trial.Trial` whose ``hyperparameters`` the objective reads
(define-by-run); ``tell(trial, result)`` stores the result and applies the score rule;
``optimize(fn)`` runs the search loop. The parts, each with one job: the trial cache
(:mod:`._cache`), the space registry (:mod:`._space_registry`), asking (:mod:`._asking`),
finishing (:mod:`._finishing`), liveness (:mod:`._liveness`), the loop (:mod:`._loop`) over
an executor (:mod:`._executors`). The storage is the truth; the study holds only this
process's view of it and its own running trials.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..objective import (
    MultiObjective,
    Objective,
    ParetoObjective,
    components,
    make_objective,
    pareto_objective,
)
from ..samplers import RandomSampler, Sampler, tried_keys
from ..schedulers import Pruner, Scheduler
from ..schedulers._pruners import verdict as pruner_verdict
from ..space import HyperParameter, HyperParameters
from ..space._keywords import explained_arguments
from ..storage import Storage, open_storage
from ..trial import FrozenTrial, Step, Trial, TrialState, rank_trials
from . import _asking, _finishing
from ._cache import TrialCache
from ._console import ConsoleReporter
from ._liveness import Heartbeat, crash_rerun_cap, fail_dead_trials
from ._loop import optimize
from ._opening import (
    HEARTBEAT_INTERVAL_S,
    check_arguments,
    liveness_periods,
    open_study,
    resume_note,
    worker_id,
)
from ._results import ResultsSummary
from ._space_registry import SpaceRegistry

Result = Any  # float | Mapping[str, float] | None

_MAX_TRIALS = "tunewise calls it max_trials, given to optimize: study.optimize(fn, max_trials=20)."
_DIRECTION = (
    'tunewise sets the direction on the objective: Study(tw.Objective("score", "max")) '
    "(a number fn returns is that score)."
)

#: Optuna's (and Keras Tuner's) keywords that Study takes under another name or elsewhere:
#: a TypeError says where, in one line, instead of a bare "unexpected keyword".
STUDY_HINTS: dict[str, str] = {
    "n_trials": _MAX_TRIALS,
    "max_trials": "Study takes max_trials in optimize: study.optimize(fn, max_trials=20).",
    "direction": _DIRECTION,
    "timeout": "timeout is given to optimize: study.optimize(fn, timeout=60) (seconds).",
    "n_jobs": "n_jobs is given to optimize: study.optimize(fn, n_jobs=4).",
    "load_if_exists": (
        "tunewise resumes the stored study of the same name by default; overwrite=True "
        "starts afresh."
    ),
    "objective_name": 'name the metric in the objective: Study(tw.Objective("score", "max")).',
}

OPTIMIZE_HINTS: dict[str, str] = {
    "n_trials": "tunewise calls it max_trials: study.optimize(fn, max_trials=20).",
    "direction": "the direction belongs to the Study's objective: "
    'Study(tw.Objective("score", "max")).',
    "show_progress_bar": "the Study prints one line per trial with verbose=1: Study(..., verbose=1).",
    "catch": "any exception of fn fails its trial and the search goes on; raise "
    "tunewise.FatalError to stop it (max_consecutive_failed_trials on Study stops it too).",
    "gc_after_trial": "tunewise frees each trial's objects itself; drop the argument.",
}


def _objective_of(
    spec: Any, pareto: bool, directions: Sequence[str] | None
) -> Objective | MultiObjective | ParetoObjective:
    """The study's objective from its ``objective``, ``pareto`` and ``directions`` arguments."""
    if directions is not None and not isinstance(directions, str) and len(directions) == 1:
        parts = list(spec) if isinstance(spec, (list, tuple)) else [spec]
        if len(parts) != 1:
            raise ValueError(
                f"directions={list(directions)!r} gives one direction for {len(parts)} "
                "objectives; give one per objective."
            )
        part = "objective_0" if parts[0] is None else parts[0]
        single = Objective(part, directions[0]) if isinstance(part, str) else make_objective(part)
        wanted = Objective("objective", directions[0]).direction
        if not isinstance(single, Objective) or single.direction != wanted:
            raise ValueError(f"objective={spec!r} disagrees with directions={list(directions)!r}.")
        return single
    if pareto or directions is not None:
        return pareto_objective(spec, directions)
    return make_objective(spec)


def _qualified_name(fn: Any) -> str | None:
    if fn is None:
        return None
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


class Study:
    """A search: objective, sampler, storage, and the trials so far.

    **Several objectives.** A list of objectives is Keras Tuner's: one summed objective
    (``sum(sign * value)``, minimised), ranked by that sum. To search for the trade-offs
    instead (the Pareto front), say so, in either spelling:

    * ``Study([tw.Objective("acc", "max"), tw.Objective("latency", "min")], pareto=True)``;
    * Optuna's: ``Study(["acc", "latency"], directions=["maximize", "minimize"])`` (each
      direction given, none inferred), or ``Study(directions=["minimize", "minimize"])``
      whose objectives are named ``objective_0``, ``objective_1``.

    ``fn`` then returns a dict of the metrics, or a tuple of values in the objectives' order
    (as an Optuna objective does). A trial's point is its values at the last step that reports
    every objective (the ``score`` rule is for one objective; a Pareto trial has no score and
    its ``best_step`` is that step). ``study.best_trials`` (and ``study.pareto_front()``) is
    the Pareto front: the completed, feasible trials no other one dominates (duplicates and
    ties all kept; :mod:`tunewise.pareto` holds the rules); ``best_trial`` raises (there is no
    single best). ``results_summary()`` lists the front. Pruners and schedulers do not serve
    Pareto searches yet. A sampler that models a single score (``GPSampler``, ``TPESampler``,
    ``AutoSampler``) is wrapped in :class:`~tunewise.samplers.ParEGOSampler` (a random
    augmented-Chebyshev scalarisation per suggestion); random and grid search run as they are.

    **Constraints.** ``trial.set_constraint(name, value)`` inside the objective, and/or
    ``constraints=fn`` (called with the finished trial's snapshot when it completes, returning
    a sequence of floats or a dict of them): a trial is feasible when every value is <= 0.
    The values are stored with the trial (``trial.attrs["constraints"]``, read back on resume).
    ``best_trial`` is the best *feasible* trial (None, said in the summary, when every
    completed trial is infeasible), and the front holds feasible trials only.

    Args:
        objective: what to optimise (see :func:`tunewise.objective.make_objective`).
        sampler: which configurations to try; random search by default.
        storage: a Storage, an SQLAlchemy URL, ``"memory"``, or None for the SQLite file
            ``<directory>/<project_name>/tunewise.db``.
        directory, project_name: where the default SQLite file lives (Keras Tuner's names).
        overwrite: delete the stored study this search would resume and start afresh.
        seed: seeds every random choice; the same seed reproduces the same trials. None draws
            a seed, which is stored with the study (so a run can always be reproduced).
        score: ``"best"`` (best step, Keras Tuner's rule) or ``"last"`` (last step).
        max_retries_per_trial: re-runs of a configuration whose objective raised.
        max_consecutive_failed_trials: failed trials in a row before the search stops.
        algorithm: the name stored in the study's signature (defaults to the sampler's).
        hyperparameters: a HyperParameters declaring (part of) the space in advance.
        tune_new_entries: tune hyperparameters not in ``hyperparameters`` (else use defaults).
        allow_new_entries: allow hyperparameters not in ``hyperparameters`` at all.
        verbose: 0 silent, 1 one line per trial.
        pruner: a :class:`~tunewise.schedulers.Pruner` that ``trial.should_prune()`` asks;
            None never prunes. Its settings are stored with the study (not in its signature,
            so a study may be resumed with another pruner).
        scheduler: a :class:`~tunewise.schedulers.Scheduler` (Hyperband, ASHA) that gives
            each trial a budget (``trial.attrs["budget"]``, ``hp["tuner/epochs"]``) and
            promotes finished trials to larger ones; the sampler still picks new
            configurations (model-based ones from the results at the highest budget reached).
            None: no budgets.
        heartbeat_interval: seconds between the heartbeats of this worker's running trials
            (and between its checks for other workers' dead trials).
        stale_after: seconds without a heartbeat after which another worker's RUNNING trial
            is taken as dead, marked FAILED and re-run (default ``6 * heartbeat_interval``).
            Make it longer than any pause of a live worker (a long garbage collection...): a
            worker paused longer loses its trial (its result is refused, said in one line).
        pareto: search the Pareto front of the listed objectives (see above) instead of
            their sum.
        directions: Optuna's spelling of a Pareto search: one ``"minimize"``/``"maximize"``
            (or ``"min"``/``"max"``) per objective; a single direction makes a
            single-objective study.
        constraints: ``fn(frozen_trial) -> sequence of floats`` (or ``{name: float}``), each
            feasible when <= 0, evaluated when a trial completes; the values are stored with
            the trial (named ``constraint_0``...). Its exception or a value that is not a
            finite number fails the trial, with the reason.
        failed_as_infeasible: a trial that fails (an exception, out of memory, a crashed
            worker; not an interrupted one) is marked as an infeasible result
            (``trial.attrs["failed_infeasible"]``) for samplers that model feasibility, so
            that the search may learn to avoid the region that fails. Stored in the study's
            settings.
    """

    @explained_arguments(STUDY_HINTS)
    def __init__(
        self,
        objective: Any = None,
        sampler: Sampler | None = None,
        *,
        storage: Storage | str | None = None,
        directory: str = ".",
        project_name: str = "untitled_project",
        study_name: str | None = None,
        overwrite: bool = False,
        seed: int | None = None,
        score: str = "best",
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        algorithm: str | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        verbose: int = 1,
        reporter: ConsoleReporter | None = None,
        extra_settings: dict[str, Any] | None = None,
        pruner: Pruner | None = None,
        scheduler: Scheduler | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL_S,
        stale_after: float | None = None,
        pareto: bool = False,
        directions: Sequence[str] | None = None,
        constraints: Callable[[FrozenTrial], Any] | None = None,
        failed_as_infeasible: bool = False,
    ) -> None:
        check_arguments(
            score, max_retries_per_trial, max_consecutive_failed_trials, pruner, scheduler
        )
        self.objective: Objective | MultiObjective | ParetoObjective = _objective_of(
            objective, pareto, directions
        )
        if constraints is not None and not callable(constraints):
            raise TypeError(
                f"constraints={constraints!r} must be a function of the finished trial "
                "returning its constraint values (feasible when <= 0)."
            )
        self.constraints = constraints
        self.failed_as_infeasible = bool(failed_as_infeasible)
        if self.is_pareto and (pruner is not None or scheduler is not None):
            raise ValueError(
                "Pruners and schedulers (Hyperband, ASHA) do not serve a Pareto search yet: "
                "drop pruner=/scheduler=, or search one objective (or their sum, "
                "pareto=False)."
            )
        sampler = sampler if sampler is not None else RandomSampler()
        if self.is_pareto and not getattr(sampler, "multi_objective", False):
            from ..samplers import ParEGOSampler

            sampler = ParEGOSampler(sampler)
        self.sampler = sampler
        self.pruner, self.scheduler = pruner, scheduler
        for part in (self.sampler, pruner, scheduler):
            if part is not None:
                part.bind(self.objective)
        self.score_rule = score
        self.max_retries_per_trial = int(max_retries_per_trial)
        self.max_consecutive_failed_trials = int(max_consecutive_failed_trials)
        self.heartbeat_interval, self.stale_after = liveness_periods(
            heartbeat_interval, stale_after
        )
        self.directory, self.project_name = directory, project_name
        self.tune_new_entries = tune_new_entries
        self.allow_new_entries = allow_new_entries
        self.reporter = reporter or ConsoleReporter(verbose)
        self.storage = open_storage(storage, directory, project_name)
        self.worker = worker_id()

        self.signature = {
            "algorithm": algorithm or self.sampler.name,
            "objective": self.objective.get_config(),
            "score": score,
        }
        settings = {
            "signature": self.signature,
            "sampler": self.sampler.get_config(),
            "seed": int(seed) if seed is not None else int.from_bytes(os.urandom(4), "little"),
        }
        opened = open_study(
            self.storage, study_name or project_name, self.signature, settings, overwrite
        )
        self.name = opened.record.name
        self.study_id = opened.record.id
        self.resumed = opened.resumed
        self.notes: list[str] = list(opened.notes)
        self.events: list[dict[str, Any]] = list(opened.events)
        """What happened to the study in this session (resumed, space changed...), as data."""
        self._settings = dict(opened.record.settings)
        self.seed = int(seed) if seed is not None else int(self._settings["seed"])
        self._store_settings(extra_settings)

        self.lock = threading.RLock()
        """Held while this process changes its view of the study (ask, finish, refresh)."""
        self.registry = SpaceRegistry(
            self.storage, self.study_id, opened.record.space, self.reporter.warn, self.events
        )
        if hyperparameters is not None:
            self.registry.declare(hyperparameters.space)
        self.cache = TrialCache(
            self.storage, self.study_id, self.objective.sign, pareto=self.is_pareto
        )
        self.cache.load()
        self.running: dict[int, Trial] = {}
        """This worker's running trials by number: the live objects (the truth for them)."""
        self.max_trials: int | None = None  # the limit of the running optimize() call
        self.full = False  # the storage refused a trial: the study has max_trials
        self.stop_requested = False  # stop() was called: the running optimize starts no trial
        self._heartbeat: Heartbeat | None = None
        self._next_stale_check = 0.0
        if opened.resumed:
            # Opening writes nothing: a crashed run's trials are failed and re-run by the
            # first worker that searches (see _liveness).
            self.notes.append(resume_note(self))
            self.events.append({"event": "resumed", "trials": len(self.trials)})
        for note in self.notes:
            self.reporter.note(note)

    def _store_settings(self, extra: dict[str, Any] | None) -> None:
        wanted = {**self._settings, "seed": self.seed, "sampler": self.sampler.get_config()}
        wanted.update(extra or {})
        for key, part in (("pruner", self.pruner), ("scheduler", self.scheduler)):
            if part is not None:
                wanted[key] = part.get_config()
            else:
                wanted.pop(key, None)
        wanted.pop("runs", None)  # the run log has a table of its own (schema 3)
        if self.constraints is not None or self.failed_as_infeasible:
            wanted["constraints"] = {
                "function": _qualified_name(self.constraints),
                "failed_as_infeasible": self.failed_as_infeasible,
            }
        else:
            wanted.pop("constraints", None)
        if wanted != self._settings:
            self._settings = wanted
            self.storage.save_settings(self.study_id, self._settings)

    # ------------------------------------------------------------------ views
    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial of the study as this process last read or made it, by number."""
        return self.cache.trials

    @property
    def space(self) -> list[HyperParameter]:
        """Every hyperparameter definition seen so far, in registration order."""
        return self.registry.space

    def declare_space(self, hyperparameters: HyperParameters | Sequence[HyperParameter]) -> None:
        """Add definitions to the study's space (stored with it), e.g. from building a model
        once with default values, as the Keras and scikit-learn tuners do before searching.
        Unlike ``Study(hyperparameters=...)`` this does not restrict tuning to them."""
        space = getattr(hyperparameters, "space", hyperparameters)
        changes = getattr(hyperparameters, "changes", ())
        with self.lock:
            self.registry.merge(list(space), list(changes))

    def tunable_space(self) -> list[HyperParameter]:
        """The part of the space samplers choose values for (see ``tune_new_entries``)."""
        return self.registry.tunable(self.tune_new_entries)

    @property
    def location(self) -> str:
        return self.storage.location

    @property
    def n_slots(self) -> int:
        """Trials that count toward ``max_trials``: every trial except re-runs."""
        return self.cache.n_slots

    @property
    def is_pareto(self) -> bool:
        """Whether the study searches the Pareto front of several objectives."""
        return isinstance(self.objective, ParetoObjective)

    @property
    def best_trial(self) -> FrozenTrial | None:
        """The best feasible completed trial (ties: the lowest number), kept up to date as
        trials finish; None before any (or when every completed trial violates a constraint:
        ``results_summary()`` says so). A Pareto study has no single best: this raises, and
        ``best_trials`` is its front."""
        if self.is_pareto:
            raise RuntimeError(
                f"A Pareto search ({self.objective.describe()}) has no single best trial: "
                "study.best_trials is its Pareto front."
            )
        return self.cache.best

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The best trials: for a Pareto study its front (:meth:`pareto_front`); else every
        feasible completed trial tied at the best score (usually one), lowest number first."""
        if self.is_pareto:
            return self.pareto_front()
        best = self.cache.best
        if best is None:
            return []
        return [t for t in rank_trials(self.trials, self.objective) if t.score == best.score]

    def pareto_front(self, objectives: Any = None) -> list[FrozenTrial]:
        """The Pareto front of the study's trials, in number order: the completed, feasible
        trials whose point no other such trial's dominates (see :mod:`tunewise.pareto`).

        ``objectives`` (default: the study's; a summed objective's components, so a Keras
        Tuner list objective has a front too): Objectives, or names of the study's. A trial's
        point is its values at its scored step (``best_step``).
        """
        from ..pareto import pareto_front

        if objectives is None:
            return self.cache.front(components(self.objective))
        return pareto_front(self.trials, self._objectives(objectives))

    def _objectives(self, spec: Any) -> tuple[Objective, ...]:
        known = {o.name: o for o in components(self.objective)}
        spec = [spec] if isinstance(spec, (str, Objective)) else list(spec)
        out = []
        for item in spec:
            if isinstance(item, str):
                if item not in known:
                    raise ValueError(
                        f"{item!r} is not one of the study's objectives ({', '.join(known)}); "
                        'pass tw.Objective(name, "min" or "max") for another metric.'
                    )
                out.append(known[item])
            else:
                out.extend(components(make_objective(item)))
        return tuple(out)

    @property
    def best_value(self) -> float | None:
        best = self.best_trial
        return None if best is None else best.score

    @property
    def best_hyperparameters(self) -> HyperParameters | None:
        best = self.best_trial
        if best is None:
            return None
        return HyperParameters.for_trial(self.space, best.values, inherited=False)

    def count_unique_configurations(self) -> int:
        return len(tried_keys(self.trials, self.tunable_space()))

    def results_summary(self, num_trials: int = 10, print_summary: bool = True) -> ResultsSummary:
        """Print (and return) the best trials; with several objectives (a Pareto study or a
        summed list) also the Pareto front under the components."""
        summary = ResultsSummary(
            objective=self.objective,
            study_name=self.name,
            location=self.location,
            trials=list(self.trials),
            ranked=rank_trials(self.trials, self.objective),
            num_trials=num_trials,
            space=self.space,
        )
        if print_summary:
            print(summary)
        return summary

    def trials_dataframe(self, history: bool = False) -> Any:
        """A pandas DataFrame, one row per trial: number, state, score, times, the
        hyperparameters as ``hp_<name>`` columns and each metric's last value as a column.
        ``history=True`` returns :meth:`history_dataframe` instead. Needs pandas."""
        from ._frames import trials_dataframe

        if history:
            return self.history_dataframe()
        return trials_dataframe(self.trials, [hp.name for hp in self.space])

    def history_dataframe(self) -> Any:
        """A pandas DataFrame, one row per reported step (epoch) of every trial."""
        from ._frames import history_dataframe

        return history_dataframe(self.trials)

    @property
    def runs(self) -> list[dict[str, Any]]:
        """The run log: one entry per ``optimize`` call (when, how many trials, why it
        stopped), as stored by every process that searched this study."""
        return self.storage.get_runs(self.study_id)

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self._settings)

    def diagnose(self) -> Any:
        """The doctor's report on this study: why the best objective is (not) improving."""
        from ..diagnostics import diagnose

        return diagnose(self)

    def stop(self) -> None:
        """Start no new trial in the running ``optimize`` (those running finish and are stored;
        ``optimize`` returns, its run logged as ``stopped_because="stop_requested"``). For
        callbacks, e.g. :class:`tunewise.StopWhenConverged`."""
        self.stop_requested = True

    # ------------------------------------------------------------------ the parts' glue
    def say(self, note: str | None) -> None:
        if note:
            self.reporter.note(note)

    def rng(self, draw: int) -> np.random.Generator:
        """The random stream of draw ``draw``. While other workers' trials run, this process
        draws from a stream of its own, so that two workers at the same trial count do not
        suggest the same configuration."""
        salt = (os.getpid(),) if self.cache.others_unfinished(self.running) else ()
        return np.random.default_rng([self.seed, draw, *salt])

    def running_ids(self) -> list[Any]:
        """Storage ids of this worker's running trials (what its heartbeat refreshes)."""
        return [t.storage_id for t in list(self.running.values())]

    def sync(self, force: bool = False, extra: Sequence[int] = ()) -> None:
        """Other workers' new and changed trials into the cache; dead workers' trials failed
        (each with its stored re-run), at most once per heartbeat interval unless ``force``.
        In-memory storage lives in this process only: nothing to read."""
        if not self.storage.shared:
            return
        with self.lock:
            self.ensure_heartbeat()
            self.cache.refresh(extra, keep=self._is_running_here)
            now = time.monotonic()
            if not force and now < self._next_stale_check:
                return
            self._next_stale_check = now + self.heartbeat_interval
            failed = fail_dead_trials(
                self.storage,
                self.study_id,
                lambda number: number in self.running,
                self.worker,
                self.stale_after,
                crash_rerun_cap(self.max_retries_per_trial),
            )
            if failed:
                self.cache.refresh([n for n, _ in failed], keep=self._is_running_here)
            for number, _ in failed:
                self.reporter.note(
                    f"Trial {number} was left RUNNING by a worker that died; marked FAILED and "
                    "stored for a re-run (the next free worker runs it)."
                )

    def _is_running_here(self, trial: FrozenTrial) -> bool:
        mine = self.running.get(trial.number)
        return mine is not None and mine.storage_id == trial.storage_id

    def ensure_heartbeat(self) -> None:
        if self._heartbeat is None or not self._heartbeat.alive:
            self._heartbeat = Heartbeat(self, self.storage, self.heartbeat_interval)
            self._heartbeat.start()

    def stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None

    def store_step(self, trial: Trial, step: Step) -> None:
        self.storage.add_step(trial.storage_id, step, trial.token)

    def ask_pruner(self, trial: Trial) -> bool:
        """The pruner's verdict on ``trial`` at its last step holding the objective, from
        plain data: its steps and snapshots of every other trial of the study."""
        if self.pruner is None:
            return False
        with self.lock:
            others = [t for t in self.trials if t.number != trial.number]
        return pruner_verdict(self.pruner, trial.steps, others)

    # ------------------------------------------------------------------ ask / tell
    def ask(self) -> Trial | None:
        """Start the next trial; None when a finite search space has no untried configuration
        (or the study's ``max_trials`` are taken). Stored re-runs come first."""
        return _asking.ask(self)

    def tell(
        self, trial: Trial, result: Result = None, *, state: TrialState | str | None = None
    ) -> FrozenTrial:
        """Finish ``trial`` with its result: a number (the objective), a dict of metrics, or None.

        A result is stored as one more step after those reported. With ``state`` None or
        COMPLETED the score rule then decides: COMPLETED with a score, or FAILED when the
        objective is missing, NaN or infinite, or the result is not a number (the reason says
        what it was). ``state=TrialState.PRUNED`` stores the trial PRUNED at its last step (as
        if the objective raised :class:`~tunewise.TrialPruned`); ``state=TrialState.FAILED``
        stores it FAILED. Raises :class:`~tunewise.errors.TrialNotOwnedError` (nothing stored)
        when another worker took the trial over.
        """
        return _finishing.tell(self, trial, result, state)

    def fail(self, trial: Trial, reason: str) -> FrozenTrial:
        """Finish ``trial`` as FAILED with ``reason`` (e.g. a traceback)."""
        return _finishing.fail(self, trial, reason).frozen

    # ------------------------------------------------------------------ the loop
    @explained_arguments(OPTIMIZE_HINTS)
    def optimize(
        self,
        fn: Callable[..., Result],
        max_trials: int | None = 10,
        timeout: float | None = None,
        callbacks: Sequence[Callable[[Study, FrozenTrial], None]] = (),
        n_jobs: int = 1,
        executor: Any = None,
    ) -> Study:
        """Run ``fn(hp)`` (or ``fn(hp, trial)``) until ``max_trials`` trials or ``timeout`` seconds.

        ``max_trials`` counts for the study: several workers sharing the storage together run
        at most that many (re-runs aside). ``n_jobs=k`` runs k trials at once in k worker
        processes (spawned; ``-1``: one per CPU), each trial's output in
        ``<directory>/<project_name>/trial_logs/``; ``executor="ray"`` or a
        :class:`~tunewise.engine.RayExecutor` runs trials as Ray tasks. Whatever runs them, the
        search loop and every rule below run in this process (see :mod:`._loop`).

        ``fn`` returns a number, a dict of metrics, or None after ``trial.report(...)`` calls.
        :class:`~tunewise.TrialPruned` (raised after ``trial.should_prune()`` said True) stores
        the trial PRUNED: never failed, re-run or counted as a failure. Any other exception
        fails the trial (re-run up to ``max_retries_per_trial`` times, its traceback stored)
        and the search goes on, as does a result that is not a number; ``FailedTrialError``
        fails it without re-run; a ``FatalError`` stops the search;
        ``max_consecutive_failed_trials`` failures in a row raise
        :class:`TooManyFailedTrialsError` with the last traceback. Ctrl-C stops the search
        with one line: the running trials are stored as interrupted and re-run when the search
        resumes, and ``optimize`` returns. Each of ``callbacks`` is called as
        ``callback(study, frozen_trial)`` after every finished trial, in this process.
        """
        return optimize(self, fn, max_trials, timeout, callbacks, n_jobs, executor)
