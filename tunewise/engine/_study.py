"""``Study``: the ask/tell engine every tuner stands on.

``ask()`` gives a :class:`~tunewise.trial.Trial` whose ``hyperparameters`` the objective reads
(define-by-run); ``tell(trial, result)`` stores the result and applies the score rule.
``optimize(fn)`` is the loop over both, with retries, a timeout and a failure limit.
"""

from __future__ import annotations

import collections
import inspect
import os
import threading
import time
import traceback
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import FailedTrialError, FatalError, TooManyFailedTrialsError, TrialPruned
from ..objective import MultiObjective, Objective, make_objective
from ..samplers import RandomSampler, Sampler, tried_keys
from ..schedulers import BudgetedHyperParameters, Pruner, Scheduler, total_units_trained
from ..schedulers._pruners import verdict as pruner_verdict
from ..space import HyperParameter, HyperParameters, hyperparameter_from_config, hyperparameter_to_config
from ..storage import Storage, TrialNumberTaken, open_storage
from ..trial import (
    SCORE_RULES,
    FrozenTrial,
    Score,
    Step,
    Trial,
    TrialState,
    rank_trials,
    score_steps,
)
from . import _scheduling, _workers
from ._console import ConsoleReporter
from ._opening import HEARTBEAT_INTERVAL_S, STALE_AFTER_S, open_study, worker_id
from ._results import ResultsSummary

Result = Any  # float | Mapping[str, float] | None

#: Times one ask() re-plans a scheduled trial because another worker created a trial first;
#: beyond it the plan is stored as it is (a slot of the schedule may then be filled twice).
MAX_PLAN_CONFLICTS = 50


class Study:
    """A search: objective, sampler, storage, and the trials so far.

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
            Make it longer than any pause of a live worker (a long garbage collection...).
    """

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
    ) -> None:
        if score not in SCORE_RULES:
            raise ValueError(f"score={score!r} is not one of {SCORE_RULES}; use 'best' or 'last'.")
        for label, value in (
            ("max_retries_per_trial", max_retries_per_trial),
            ("max_consecutive_failed_trials", max_consecutive_failed_trials),
        ):
            if int(value) < 0:
                raise ValueError(f"{label}={value!r} must be >= 0.")
        self.objective: Objective | MultiObjective = make_objective(objective)
        self.sampler = sampler if sampler is not None else RandomSampler()
        self.sampler.bind(self.objective)
        if pruner is not None and not isinstance(pruner, Pruner):
            raise TypeError(
                f"pruner must be a tunewise.schedulers.Pruner (e.g. MedianPruner()) or None, got "
                f"{type(pruner).__name__}."
            )
        self.pruner = pruner
        if pruner is not None:
            pruner.bind(self.objective)
        if scheduler is not None and not isinstance(scheduler, Scheduler):
            raise TypeError(
                "scheduler must be a tunewise.schedulers.Scheduler (e.g. HyperbandScheduler(81)) "
                f"or None, got {type(scheduler).__name__}."
            )
        self.scheduler = scheduler
        if scheduler is not None:
            scheduler.bind(self.objective)
        self.score_rule = score
        self.max_retries_per_trial = int(max_retries_per_trial)
        self.max_consecutive_failed_trials = int(max_consecutive_failed_trials)
        if not float(heartbeat_interval) > 0:
            raise ValueError(f"heartbeat_interval={heartbeat_interval!r} must be > 0 seconds.")
        self.heartbeat_interval = float(heartbeat_interval)
        self.stale_after = (
            float(stale_after)
            if stale_after is not None
            else STALE_AFTER_S * self.heartbeat_interval / HEARTBEAT_INTERVAL_S
        )
        if self.stale_after <= self.heartbeat_interval:
            raise ValueError(
                f"stale_after={stale_after!r} must exceed heartbeat_interval="
                f"{self.heartbeat_interval:g}, or live trials would be failed; use e.g. "
                f"stale_after={6 * self.heartbeat_interval:g}."
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
        self._study_id = opened.record.id
        self.resumed = opened.resumed
        self.notes: list[str] = list(opened.notes)
        self.events: list[dict[str, Any]] = list(opened.events)
        """What happened to the study in this session (resumed, space changed...), as data."""
        self._settings = dict(opened.record.settings)
        stored_seed = self._settings.get("seed")
        self.seed = int(seed) if seed is not None else int(stored_seed)
        wanted = {**self._settings, "seed": self.seed, "sampler": self.sampler.get_config()}
        if extra_settings:
            wanted.update(extra_settings)
        if pruner is not None:
            wanted["pruner"] = pruner.get_config()
        else:
            wanted.pop("pruner", None)
        if scheduler is not None:
            wanted["scheduler"] = scheduler.get_config()
        else:
            wanted.pop("scheduler", None)
        if wanted != self._settings:
            self._settings = wanted
            self.storage.save_settings(self._study_id, self._settings)

        self._space: dict[str, HyperParameter] = {
            c["config"]["name"]: hyperparameter_from_config(c) for c in opened.record.space
        }
        self._declared: set[str] = set()
        if hyperparameters is not None:
            self._declared = {hp.name for hp in hyperparameters.space}
            self._merge_space(hyperparameters.space, [])
        self.trials: list[FrozenTrial] = []
        self._index: dict[int, int] = {}  # trial number -> position in self.trials
        self._n_slots = 0
        self._best: FrozenTrial | None = None
        for stored in self.storage.get_trials(self._study_id):
            self._put(stored)
        self._running: dict[int, Trial] = {}
        self._reruns: collections.deque[tuple[int, dict[str, Any]]] = collections.deque()
        self._lock = threading.RLock()
        self._max_trials: int | None = None  # the limit of the running optimize() call
        self._full = False  # the storage refused a trial: the study has max_trials
        self._heartbeat: _Heartbeat | None = None
        self._rng_salt: tuple[int, ...] = ()
        self._prefix = 0  # trials 0.._prefix-1 are all in the cache
        self._watch: set[int] = set()  # other workers' trials last seen RUNNING
        self._next_stale_check = 0.0
        _workers.init_worker_state(self)
        if opened.resumed:
            self._recover_crashed_trials()
            self.notes.append(self._resume_note())
            self.events.append({"event": "resumed", "trials": len(self.trials)})
        for note in self.notes:
            self.reporter.note(note)

    # ------------------------------------------------------------------ views
    @property
    def space(self) -> list[HyperParameter]:
        """Every hyperparameter definition seen so far, in registration order."""
        return list(self._space.values())

    @property
    def location(self) -> str:
        return self.storage.location

    @property
    def n_slots(self) -> int:
        """Trials that count toward ``max_trials``: every trial except re-runs."""
        return self._n_slots

    @property
    def best_trial(self) -> FrozenTrial | None:
        """The best completed trial (ties: the lowest number), kept up to date as trials finish."""
        return self._best

    @property
    def best_value(self) -> float | None:
        best = self.best_trial
        return None if best is None else best.score

    @property
    def best_hyperparameters(self) -> HyperParameters | None:
        best = self.best_trial
        return None if best is None else HyperParameters.for_trial(self.space, best.values, inherited=False)

    def count_unique_configurations(self) -> int:
        return len(tried_keys(self.trials, self._tunable_space()))

    def results_summary(self, num_trials: int = 10, print_summary: bool = True) -> ResultsSummary:
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

    # ------------------------------------------------------------------ ask / tell
    def _rng(self, draw: int) -> np.random.Generator:
        # Other workers' trials running: this process draws from a stream of its own, so that
        # two workers at the same trial count do not suggest the same configuration.
        salt = self._rng_salt or ((os.getpid(),) if self._watch else ())
        return np.random.default_rng([self.seed, draw, *salt])

    def _advance_prefix(self) -> None:
        while self._prefix in self._index:
            self._prefix += 1

    def _next_number_seen(self) -> int:
        """The number the next trial gets if no other worker creates one first."""
        return max((t.number for t in self.trials), default=-1) + 1

    def _sync(self, force: bool = False) -> None:
        """Before a suggestion: other workers' new trials into the cache, dead ones failed.

        In-memory storage lives in this process only, so there is nothing to fetch there.
        """
        if not self.storage.shared:
            return
        self._ensure_heartbeat()
        _workers.refresh(self)
        for note in _workers.fail_stale_trials(self, force):
            self.reporter.note(note)

    def _ensure_heartbeat(self) -> None:
        if self._heartbeat is None or not self._heartbeat.alive:
            self._heartbeat = _Heartbeat(self)
            self._heartbeat.start()

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None

    def _tunable_space(self) -> list[HyperParameter]:
        if self.tune_new_entries or not self._declared:
            return self.space
        return [hp for hp in self.space if hp.name in self._declared]

    def _new_value_hook(self, rng: np.random.Generator) -> Callable[[HyperParameter], Any]:
        def new_value(hp: HyperParameter) -> Any:
            if self._declared and hp.name not in self._declared:
                if not self.allow_new_entries:
                    raise ValueError(
                        f"Hyperparameter {hp.name!r} is not in the declared hyperparameters and "
                        "allow_new_entries=False. Declare it, or pass allow_new_entries=True."
                    )
                if not self.tune_new_entries:
                    return hp.default
            return self.sampler.new_value(hp, rng)

        return new_value

    def ask(self) -> Trial | None:
        """Start the next trial; None when a finite search space has no untried configuration.

        Re-runs (of a trial that raised, or whose worker died) come first, with their values.
        """
        with self._lock:
            conflicts = 0
            while True:
                self._sync()
                retry_of: int | None = None
                rng = self._rng(len(self.trials))
                job = None  # the scheduler's budget for this trial (see tunewise.schedulers)
                expect = None
                if self._reruns:
                    retry_of, values = self._reruns.popleft()
                    if self.scheduler is not None:
                        values, job = _scheduling.rerun_job(self, retry_of, values)
                elif self.scheduler is not None:
                    plan = _scheduling.next_plan(self, rng)
                    if plan is None:
                        return None
                    values, job = plan.values, plan.job
                    # The plan fills one slot of the schedule as these trials left it: it
                    # stands only if no other worker created a trial in the meantime.
                    if self.storage.shared and conflicts < MAX_PLAN_CONFLICTS:
                        expect = self._next_number_seen()
                else:
                    values = self.sampler.suggest(self._tunable_space(), self.trials, rng)
                    note = self.sampler.pop_note()
                    if note:
                        self.reporter.note(note)
                    if values is None:
                        return None
                started = time.time()
                try:
                    created = self.storage.create_trial(
                        self._study_id,
                        values if job is None else {**values, **job.stored_values()},
                        retry_of,
                        started,
                        self.worker,
                        self._max_trials,
                        expect_number=expect,
                    )
                except TrialNumberTaken:
                    conflicts += 1
                    continue  # read the other workers' new trials and plan again
                break
            if created is None:  # other workers took the last of the study's max_trials
                self._full = True
                return None
            hps = HyperParameters.for_trial(self.space, values, self._new_value_hook(rng))
            if job is not None:
                hps = BudgetedHyperParameters.wrap(hps, job)
            trial = Trial(
                created.number,
                hps,
                self.objective.name,
                self._store_step,
                retry_of=retry_of,
                storage_id=created.id,
                ask_pruner=self._ask_pruner,
            )
            trial.started_at = started
            if job is not None:
                trial.attrs.update(job.attrs())
            self._running[trial.number] = trial
            self._put(
                FrozenTrial(
                    number=created.number,
                    state=TrialState.RUNNING,
                    values=dict(values),
                    retry_of=retry_of,
                    started_at=started,
                    attrs=dict(trial.attrs),
                    storage_id=created.id,
                )
            )
            return trial

    def _store_step(self, trial: Trial, step: Step) -> None:
        self.storage.add_step(trial.storage_id, step)

    def _ask_pruner(self, trial: Trial) -> bool:
        """The pruner's verdict on ``trial`` at its last step holding the objective.

        The pruner gets plain data: the trial's objective values by step, that step, and
        snapshots of every other trial of the study.
        """
        if self.pruner is None:
            return False
        with self._lock:
            others = [t for t in self.trials if t.number != trial.number]
        return pruner_verdict(self.pruner, trial.steps, others)

    def _put(self, frozen: FrozenTrial) -> None:
        """Insert or replace a trial in the cache, keeping the slot count and the best current.

        A trial only moves from RUNNING to a final state, and a COMPLETED one never changes, so
        the best can be updated one trial at a time.
        """
        position = self._index.get(frozen.number)
        if position is None:
            self._index[frozen.number] = len(self.trials)
            self.trials.append(frozen)
            self._n_slots += frozen.retry_of is None
        else:
            self.trials[position] = frozen
        if frozen.state is TrialState.COMPLETED and frozen.score is not None:
            best = self._best
            key = (self.objective.sign * frozen.score, frozen.number)
            if best is None or key < (self.objective.sign * best.score, best.number):  # type: ignore[operator]
                self._best = frozen

    def tell(
        self, trial: Trial, result: Result = None, *, state: TrialState | str | None = None
    ) -> FrozenTrial:
        """Finish ``trial`` with its result: a number (the objective), a dict of metrics, or None.

        A result is stored as one more step after those reported. With ``state`` None or
        COMPLETED the score rule then decides: COMPLETED with a score, or FAILED when the
        objective is missing, NaN or infinite. ``state=TrialState.PRUNED`` stores the trial
        PRUNED at its last step (as if the objective raised :class:`~tunewise.TrialPruned`);
        ``state=TrialState.FAILED`` stores it FAILED.
        """
        wanted = TrialState.COMPLETED if state is None else TrialState(state)
        if wanted is TrialState.RUNNING:
            raise ValueError(
                "tell(state=RUNNING) does not finish a trial; pass state=COMPLETED, PRUNED or "
                "FAILED (or None for the score rule's verdict)."
            )
        if result is not None:
            trial.report(trial.next_step(), result)
        if wanted is TrialState.PRUNED:
            return self._finish_pruned(trial, "", "study.tell(state=PRUNED)")
        if wanted is TrialState.FAILED:
            return self.fail(trial, "Marked FAILED by study.tell(state=FAILED).")
        score = score_steps(trial.steps, self.objective, self.score_rule)
        if score.value is None:
            return self._finish(trial, TrialState.FAILED, None, score.step, score.failure)
        return self._finish(trial, TrialState.COMPLETED, score.value, score.step, None)

    def fail(self, trial: Trial, reason: str) -> FrozenTrial:
        """Finish ``trial`` as FAILED with ``reason`` (e.g. a traceback)."""
        return self._finish(trial, TrialState.FAILED, None, None, reason)

    def _finish_pruned(
        self, trial: Trial, message: str, via: str = "the objective (TrialPruned)"
    ) -> FrozenTrial:
        """Finish ``trial`` as PRUNED at its last reported step.

        Its steps are kept and its score is the score rule's over them (evidence for the
        sampler); it is never the best trial (only COMPLETED trials rank). The reason is one
        line naming the step, who asked for the pruning (the pruner when ``should_prune()`` said
        so, else ``via``), and ``message`` if any.
        """
        step = trial.steps[-1].step if trial.steps else None
        trial.set_attr("pruned_at_step", step)
        score = (
            score_steps(trial.steps, self.objective, self.score_rule)
            if trial.steps
            else Score(None, None, "no step was reported")
        )
        where = f"at step {step}" if step is not None else "before its first step"
        who = (
            f"by {type(self.pruner).__name__}"
            if self.pruner is not None and trial.pruning_requested
            else f"by {via}"
        )
        reason = f"Pruned {where} {who}"
        last = self.objective.value_from(trial.steps[-1].metrics) if trial.steps else None
        if last is not None:
            reason += f"; {self.objective.name}={last:.6g} there"
        if score.value is not None:
            reason += f", best {score.value:.6g} at step {score.step}"
        else:
            reason += f"; no score ({score.failure})"
        text = " ".join(str(message or "").split())
        if text:
            reason += f": {text}"
        best_step = score.step if score.value is not None else None
        return self._finish(trial, TrialState.PRUNED, score.value, best_step, reason)

    def _finish(
        self,
        trial: Trial,
        state: TrialState,
        score: float | None,
        best_step: int | None,
        reason: str | None,
    ) -> FrozenTrial:
        with self._lock:
            hps = trial.hyperparameters
            self._merge_space(hps.space, hps.changes)
            values = _scheduling.stored_values(hps)
            finished = time.time()
            self.storage.finish_trial(
                trial.storage_id, state, values, score, best_step, reason, finished, trial.attrs
            )
            frozen = FrozenTrial(
                number=trial.number,
                state=state,
                values=values,
                steps=tuple(trial.steps),
                score=score,
                best_step=best_step,
                reason=reason,
                retry_of=trial.retry_of,
                started_at=trial.started_at,
                finished_at=finished,
                attrs=dict(trial.attrs),
                storage_id=trial.storage_id,
            )
            self._running.pop(trial.number, None)
            self._put(frozen)
            return frozen

    def _merge_space(
        self,
        space: Sequence[HyperParameter],
        changes: Sequence[tuple[HyperParameter | None, HyperParameter]],
    ) -> None:
        changed = False
        for old, new in changes:
            if old is not None and self._space.get(new.name) == old:
                self.events.append(
                    {
                        "event": "space_changed",
                        "name": new.name,
                        "old": old.describe(),
                        "new": new.describe(),
                    }
                )
                self.reporter.warn(
                    f"Search space changed since the stored study: {new.name!r} was "
                    f"{old.describe()}, now {new.describe()}. Stored trials keep their values "
                    "and their ranking; new trials sample the new definition."
                )
        for hp in space:
            if self._space.get(hp.name) != hp:
                self._space[hp.name] = hp
                changed = True
        if changed:
            self.storage.save_space(
                self._study_id, [hyperparameter_to_config(hp) for hp in self._space.values()]
            )

    # ------------------------------------------------------------------ crash recovery
    def _recover_crashed_trials(self) -> None:
        """On opening: fail the trials of dead workers (see :mod:`._workers`) and queue re-runs."""
        if self.storage.shared:
            self.notes.extend(_workers.fail_stale_trials(self, force=True))

    def _resume_note(self) -> str:
        counts = collections.Counter(t.state.value.lower() for t in self.trials)
        detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no trials"
        best = self.best_trial
        best_text = (
            f"; best {self.objective.name} so far {best.score:.6g} (trial #{best.number})"
            if best
            else ""
        )
        return (
            f"Resuming study {self.name!r} from {self.location}: {len(self.trials)} trials "
            f"stored ({detail}){best_text}."
        )

    # ------------------------------------------------------------------ the loop
    def optimize(
        self,
        fn: Callable[..., Result],
        max_trials: int | None = 10,
        timeout: float | None = None,
        callbacks: Sequence[Callable[["Study", FrozenTrial], None]] = (),
        n_jobs: int = 1,
        executor: Any = None,
    ) -> "Study":
        """Run ``fn(hp)`` (or ``fn(hp, trial)``) until ``max_trials`` trials or ``timeout`` seconds.

        ``max_trials`` counts for the study: several workers sharing the storage together run
        at most that many (re-runs aside). ``n_jobs=k`` runs k trials at once in k worker
        processes (forked; ``-1``: one per CPU) on this study's storage, each trial's output
        in ``<directory>/<project_name>/trial_logs/``; ``executor="ray"`` or a
        :class:`~tunewise.engine.RayExecutor` runs trials as Ray tasks (see :mod:`._parallel`).

        ``fn`` returns a number, a dict of metrics, or None after ``trial.report(...)`` calls.
        :class:`~tunewise.TrialPruned` (raised after ``trial.should_prune()`` said True) stores
        the trial PRUNED: never failed, re-run or counted as a failure. Any other exception
        fails the trial (re-run up to ``max_retries_per_trial`` times, its
        traceback stored) and the search goes on; ``FailedTrialError`` fails it without re-run;
        a ``FatalError`` stops the search; ``max_consecutive_failed_trials`` failures in a row
        raise :class:`TooManyFailedTrialsError` with the last traceback. Each of ``callbacks``
        is called as ``callback(study, frozen_trial)`` after every finished trial.
        """
        if max_trials is not None and int(max_trials) < 1:
            raise ValueError(f"max_trials={max_trials!r} must be >= 1 (or None for no limit).")
        from . import _parallel

        workers = _parallel.resolve(self, n_jobs, executor)
        with self._lock:
            self._sync(force=True)  # other workers may have run trials since this study opened
        call = _caller(fn)
        started = time.monotonic()
        run: dict[str, Any] = {
            "started_at": time.time(),
            "max_trials": max_trials,
            "timeout": timeout,
            "trials_before": len(self.trials),
        }
        if max_trials is not None and self.n_slots >= max_trials and not self._reruns:
            self.reporter.note(
                f"Study {self.name!r} in {self.location} already has {self.n_slots} trials "
                f"(max_trials={max_trials}): no new trial will run, so the best objective "
                "shown is the stored one. To search further, raise max_trials (e.g. "
                f"max_trials={max_trials * 2}), or pass overwrite=True to start afresh."
            )
            self._record_run(run, "already_finished")
            return self
        if self.scheduler is not None and _scheduling.schedule_complete(self):
            self.reporter.note(_scheduling.complete_note(self, already=True))
            self._record_run(run, "already_finished")
            return self
        first_new = len(self.trials)
        if self.reporter.verbose > 0:
            from ..diagnostics._watch import StallWatcher  # the doctor sits above the engine

            callbacks = [*callbacks, StallWatcher()]
        self._ensure_heartbeat()
        self._max_trials, self._full = max_trials, False
        self.reporter.search_started(max_trials, self.n_slots, self.best_trial, timeout)
        stopped_because = "error"
        try:
            if workers is None:
                stopped_because = self._loop(call, max_trials, timeout, started, callbacks)
            else:
                stopped_because = workers.run(self, fn, call, max_trials, timeout, started, callbacks)
        except FatalError:
            stopped_because = "fatal_error"
            raise
        except TooManyFailedTrialsError:
            stopped_because = "too_many_failures"
            raise
        except KeyboardInterrupt:
            stopped_because = "interrupted"
            raise
        finally:
            self._stop_heartbeat()
            self._max_trials = None
            self._record_run(run, stopped_because)
            self.reporter.search_finished(
                self.trials[first_new:], time.monotonic() - started, self.best_trial, self.objective
            )
        return self

    def _loop(
        self,
        call: Callable[[HyperParameters, Trial], Result],
        max_trials: int | None,
        timeout: float | None,
        started: float,
        callbacks: Sequence[Callable[["Study", FrozenTrial], None]],
    ) -> str:
        """Run trials until a limit; returns why it stopped (stored in the study's run log)."""
        consecutive_failures = 0
        while True:
            if max_trials is not None and self.n_slots >= max_trials and not self._reruns:
                with self._lock:
                    self._sync(force=True)  # a last look for dead workers' trials to re-run
                if not self._reruns:
                    return "max_trials"
            if timeout is not None and time.monotonic() - started >= timeout:
                self.reporter.note(f"Timeout of {timeout:g}s reached; no new trial started.")
                return "timeout"
            trial = self.ask()
            if trial is None and self._full:  # other workers took the last slots
                self._full = False
                continue
            if trial is None and self.scheduler is not None and _scheduling.schedule_complete(self):
                self.reporter.note(_scheduling.complete_note(self))
                return "schedule_complete"
            if trial is None:
                self.reporter.note(
                    "Search space exhausted after "
                    f"{self.count_unique_configurations()} unique configurations: every "
                    "configuration has been tried, so the search stops. Widen the space "
                    "(more values, a finer step) to search further."
                )
                return "exhausted"
            self.reporter.trial_started()
            frozen, fatal = self._run_one(call, trial, max_trials)
            for callback in callbacks:
                callback(self, frozen)
            if frozen.state is not TrialState.FAILED:
                consecutive_failures = 0
                continue
            if self._reruns and self._reruns[0][0] == _original(frozen):
                continue  # a re-run follows; the configuration has not failed yet
            consecutive_failures += 1
            if fatal is not None:
                raise fatal
            limit = self.max_consecutive_failed_trials
            if limit and consecutive_failures >= limit:
                raise TooManyFailedTrialsError(
                    f"{consecutive_failures} trials in a row failed "
                    f"(max_consecutive_failed_trials={limit}); the search stops. Completed "
                    f"trials are kept in {self.location}. The last failure:\n{frozen.reason}"
                )

    def _record_run(self, run: dict[str, Any], stopped_because: str) -> None:
        """Append this optimize call to the study's run log (read by the doctor)."""
        ran = self.trials[run.pop("trials_before"):]
        run.update(
            finished_at=time.time(),
            trials_run=len(ran),
            trials_by_state={
                s.value.lower(): sum(t.state is s for t in ran)
                for s in (TrialState.COMPLETED, TrialState.PRUNED, TrialState.FAILED)
            },
            stopped_because=stopped_because,
            epochs_trained=total_units_trained(ran),
            events=list(self.events),
        )
        self.events.clear()
        self._settings = {**self._settings, "runs": [*self._settings.get("runs", []), run]}
        self.storage.save_settings(self._study_id, self._settings)

    def diagnose(self) -> Any:
        """The doctor's report on this study: why the best objective is (not) improving."""
        from ..diagnostics import diagnose

        return diagnose(self)

    @property
    def runs(self) -> list[dict[str, Any]]:
        """The run log: one entry per ``optimize`` call (when, how many trials, why it stopped)."""
        return list(self._settings.get("runs", []))

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self._settings)

    def _run_one(
        self, call: Callable[[HyperParameters, Trial], Result], trial: Trial, max_trials: int | None
    ) -> tuple[FrozenTrial, BaseException | None]:
        fatal: BaseException | None = None
        retry_note = ""
        try:
            result = call(trial.hyperparameters, trial)
        except TrialPruned as exc:  # before Exception: a pruned trial is no failure
            frozen = self._finish_pruned(trial, str(exc))
        except FailedTrialError as exc:
            frozen = self.fail(trial, f"FailedTrialError: {exc}")
        except FatalError as exc:
            frozen = self.fail(trial, traceback.format_exc())
            fatal = exc
        except KeyboardInterrupt:
            self.fail(trial, "Interrupted by the user (KeyboardInterrupt).")
            raise
        except Exception:
            frozen = self.fail(trial, traceback.format_exc())
            original = _original(frozen)
            attempts = sum(1 for t in self.trials if _original(t) == original)
            if attempts <= self.max_retries_per_trial:
                self._reruns.appendleft((original, dict(trial.hyperparameters.values)))
                retry_note = f" (re-run {attempts} of {self.max_retries_per_trial} follows)"
        else:
            frozen = self.tell(trial, result)
        if self.reporter.enabled:
            self.reporter.trial_finished(
                frozen, self.n_slots, max_trials, self.best_trial, self.objective, retry_note
            )
        return frozen, fatal


def _original(trial: FrozenTrial) -> int:
    """The number of the first attempt of a trial's configuration."""
    return trial.number if trial.retry_of is None else trial.retry_of


def _caller(fn: Callable[..., Result]) -> Callable[[HyperParameters, Trial], Result]:
    """Call ``fn(hp)`` or ``fn(hp, trial)``, by how many positional parameters it takes."""
    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
    except (TypeError, ValueError):
        params = []
    if len(params) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params):
        return lambda hp, trial: fn(hp, trial)
    return lambda hp, trial: fn(hp)


class _Heartbeat:
    """Refreshes the heartbeat of this worker's running trials every ``heartbeat_interval``.

    A daemon thread holding only a weak reference to the study, so a forgotten study (ask/tell
    without optimize) is still collected; it uses one pooled connection while it writes.
    """

    def __init__(self, study: Study) -> None:
        self._study = weakref.ref(study)
        self._interval = study.heartbeat_interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tunewise-heartbeat", daemon=True)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread() and self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            study = self._study()
            if study is None:
                return
            ids = [t.storage_id for t in list(study._running.values())]
            storage = study.storage
            del study
            try:
                storage.heartbeat(ids, time.time())
            except Exception:  # a missed beat is retried at the next interval
                continue
