"""Keras-Tuner-compatible tuners: thin facades of a sampler plus the Keras runner over a Study.

``Tuner`` holds no algorithm: it builds models, fits them, records epochs and keeps the best
weights; the Study (engine) decides configurations and keeps the books. ``RandomSearch``,
``GridSearch`` and ``BayesianOptimization`` only choose the sampler; ``Hyperband`` also the
budget scheduler (each trial's epochs, which trials continue).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...engine import ConsoleReporter, Study
from ...errors import (
    FailedTrialError,
    FatalTypeError,
    FatalValueError,
    InvalidArgumentError,
    TrialPruned,
    UnrecognizedArgumentsError,
)
from ...oracles import as_oracle
from ...oracles._settings import check_new_entries, default_oracle
from ...samplers import Sampler
from ...schedulers import Pruner, Scheduler
from ...space import HyperParameters
from ...trial import FrozenTrial, Trial, rank_trials
from ...trial_attrs import BUDGET, INITIAL_BUDGET, PARENT
from .._study_tuner import StudyTunerMixin
from ._distributed import is_chief, wait_as_chief
from ._hypermodel import HyperModel, as_hypermodel
from ._recording import (
    ObjectiveNotLoggedError,
    TrialRecord,
    average_runs,
    check_result,
    is_history_like,
    make_pruning_callback,
    make_recorder,
    make_tuner_hooks_callback,
    runs_from_result,
)
from ._remote import trial_runner

#: Trials whose best-epoch weights are kept on disk by default (the rest are deleted).
DEFAULT_KEEP_BEST_MODELS = 5

_IGNORED_KWARGS = ("logger", "tuner_id", "distribution_strategy", "max_model_size")


def _keras() -> Any:
    try:
        import keras
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The Keras tuners need Keras 3: pip install 'tunewise[keras]'"
        ) from exc
    return keras


def _fit_overridden(hypermodel: Any) -> bool:
    """Whether ``hypermodel.fit`` is the user's (it may return the objective itself) rather
    than the base ``HyperModel.fit``, which returns ``model.fit``'s ``History``."""
    fit = getattr(type(hypermodel), "fit", None)
    return fit is not None and fit is not HyperModel.fit


class Tuner(StudyTunerMixin):
    """Base class of the Keras tuners; subclass it and override ``run_trial`` to tune anything.

    ``run_trial(self, trial, *args, **kwargs)`` may return a number, a dict of metrics, a Keras
    ``History`` or a list of these (one per execution), as in Keras Tuner.

    ``pruner`` (e.g. ``tunewise.schedulers.MedianPruner()``) is passed to the study; after each
    epoch the tuner asks it (``trial.should_prune()``) and, when it says prune, stops training
    (``model.stop_training = True``) and stores the trial PRUNED at that epoch. This needs
    ``executions_per_trial == 1`` (several executions are averaged after they end, so there is
    no live curve to prune; the pruner is then not applied, and the tuner says so).
    """

    #: Name stored in the study's signature (which studies a search may resume).
    algorithm = "random"

    def __init__(
        self,
        hypermodel: Any = None,
        objective: Any = None,
        max_trials: int | None = 10,
        seed: int | None = None,
        hyperparameters: HyperParameters | None = None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        executions_per_trial: int = 1,
        directory: str | os.PathLike[str] | None = None,
        project_name: str | None = None,
        overwrite: bool = False,
        storage: Any = None,
        score: str = "best",
        keep_best_models: int = DEFAULT_KEEP_BEST_MODELS,
        optimizer: Any = None,
        loss: Any = None,
        metrics: Any = None,
        verbose: int = 1,
        sampler: Sampler | None = None,
        oracle: Any = None,
        pruner: Pruner | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = sorted(set(kwargs) - set(_IGNORED_KWARGS))
        if unknown:
            raise UnrecognizedArgumentsError(
                f"Unrecognized arguments {unknown} for {type(self).__name__}. "
                "See help(tunewise.Tuner) for the accepted ones."
            )
        if kwargs.get("logger") is not None:
            warnings.warn("The `logger` argument is deprecated (as in Keras Tuner) and ignored: "
                          "tunewise stores every trial in its storage.", DeprecationWarning,
                          stacklevel=2)
        scheduler = None
        if oracle is None:
            check_new_entries(hyperparameters, tune_new_entries, allow_new_entries)
        if oracle is not None:  # the oracle's settings, as Keras Tuner's Tuner(oracle=...)
            if isinstance(oracle, (str, int, float, dict, list)):
                raise InvalidArgumentError(
                    "Expected `oracle` argument to be an instance of `Oracle` (e.g. "
                    f"tunewise.oracles.RandomSearchOracle(...)); got {oracle!r}."
                )
            oracle = as_oracle(oracle)
            sampler = sampler or oracle._sampler_for_study()
            scheduler = oracle.make_scheduler()
            objective = objective if objective is not None else oracle.objective
            max_trials = oracle.max_trials
            seed = seed if seed is not None else oracle.seed
            hyperparameters = hyperparameters if hyperparameters is not None \
                else oracle._declared
            tune_new_entries = tune_new_entries and oracle.tune_new_entries
            allow_new_entries = allow_new_entries and oracle.allow_new_entries
            max_retries_per_trial = max_retries_per_trial or oracle.max_retries_per_trial
            max_consecutive_failed_trials = oracle.max_consecutive_failed_trials
        if int(executions_per_trial) < 1:
            raise ValueError(f"executions_per_trial={executions_per_trial!r} must be >= 1.")
        if int(keep_best_models) < 0:
            raise ValueError(f"keep_best_models={keep_best_models!r} must be >= 0.")
        self.hypermodel: HyperModel | None = as_hypermodel(hypermodel)
        if self.hypermodel is None and type(self).run_trial is Tuner.run_trial:
            raise ValueError(
                "Received `hypermodel=None`: pass a build(hp) function or a HyperModel, or "
                "override run_trial(self, trial, *args, **kwargs) in a subclass."
            )
        self.max_trials = max_trials
        self.executions_per_trial = int(executions_per_trial)
        self.keep_best_models = int(keep_best_models)
        self.directory = directory if directory is not None else "."  # as given (Keras Tuner)
        self.project_name = project_name or "untitled_project"
        self.optimizer, self.loss, self.metrics = optimizer, loss, metrics
        self._compile_overrides = {
            k: v for k, v in (("optimizer", optimizer), ("loss", loss), ("metrics", metrics)) if v
        }
        self._max_model_size = kwargs.get("max_model_size")
        self._distribution_strategy = kwargs.get("distribution_strategy")
        self._reporter = ConsoleReporter(verbose)
        self._study_kwargs = dict(
            objective=objective,
            sampler=sampler if sampler is not None else self._make_sampler(),
            storage=storage,
            directory=os.fspath(self.directory),
            project_name=self.project_name,
            seed=seed,
            score=score,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            algorithm=self.algorithm,
            hyperparameters=hyperparameters,
            tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            reporter=self._reporter,
            extra_settings={"tuner": {"class": type(self).__name__, **self._tuner_settings()}},
            pruner=pruner,
            scheduler=scheduler if scheduler is not None else self._make_scheduler(),
        )
        self.study = Study(overwrite=overwrite, **self._study_kwargs)
        self.oracle = oracle if oracle is not None else default_oracle(self.algorithm,
                                                                        self.max_trials)
        self.oracle.bind(self.study)
        self._records: dict[int, TrialRecord] = {}
        self._announce()
        if pruner is not None and self.executions_per_trial > 1:
            self._reporter.note(
                f"The pruner {pruner.describe()} is not applied: executions_per_trial="
                f"{self.executions_per_trial} averages the executions after they end, so no "
                "trial can be stopped at an epoch. Pass executions_per_trial=1 to prune."
            )
        if self.hypermodel is not None:
            self._populate_space()

    # ------------------------------------------------------------------ subclass hooks
    def _make_sampler(self) -> Sampler:
        from ...samplers import RandomSampler

        return RandomSampler()

    def _tuner_settings(self) -> dict[str, Any]:
        """Facade settings stored with the study (the doctor reads them)."""
        return {}

    def _make_scheduler(self) -> Scheduler | None:
        """The study's budget scheduler (Hyperband's facade sets one); None: no budgets."""
        return None

    def _announce(self) -> None:
        """Say which algorithm runs (facades whose algorithm is not the named one say so)."""

    # ------------------------------------------------------------------ space
    def _populate_space(self) -> None:
        """Build once with default values to register the space (as Keras Tuner does)."""
        hp = HyperParameters.for_trial(
            self.study.space, {},
            self.study.registry.defaults_hook(self.study.allow_new_entries), inherited=True)
        keras = _keras()
        keras.backend.clear_session()
        self.hypermodel.declare_hyperparameters(hp)
        self.hypermodel.build(hp)  # the first trial's clear_session frees this model
        self.study.declare_space(hp)

    # ------------------------------------------------------------------ search
    def search(self, *fit_args: Any, **fit_kwargs: Any) -> None:
        """Run the search; the arguments go to ``model.fit`` (``callbacks`` are copied per trial).

        ``verbose`` is passed to ``fit`` only: it is Keras's epoch output (0 silences Keras).
        The tuner's own output (a line as each trial starts, with its hyperparameters, and as
        it ends; the live bar on a terminal) follows the tuner's ``verbose=`` argument (0
        silences it). Keras Tuner's ``search(verbose=0)`` silences both.
        ``executor="ray"`` or a :class:`tunewise.RayExecutor` runs each trial as a Ray task,
        ``n_jobs=k`` runs k trials at once in k worker processes (see ``_remote``).
        ``isolate=True`` runs each trial in a fresh process of its own that exits when the
        trial ends, so that the memory (RAM, GPU) a trial's models, graphs or code leave
        behind is given back after every trial (with ``n_jobs=k``: k at a time, each in a
        fresh process). Results are stored as in-process (steps, attrs, best weights,
        pruning, retries, Hyperband's promotions; ``on_trial_end`` runs here); a trial that
        runs out of memory (``MemoryError``, TensorFlow's ``ResourceExhaustedError``, its
        process killed by the kernel's OOM killer) is stored FAILED saying so, and the
        search goes on. It costs a process start per trial (Python, Keras and the search's
        arguments: seconds), overlapped with the previous trial. ``isolate`` must be a bool;
        with ``executor=`` it is an error (that executor chooses its processes). Started
        with Keras Tuner's ``KERASTUNER_TUNER_ID=chief``, it runs no trial and returns when the
        workers (``KERASTUNER_TUNER_ID=tuner0``, ...) sharing the study have finished it (see
        ``_distributed``).
        """
        executor, n_jobs = fit_kwargs.pop("executor", None), fit_kwargs.pop("n_jobs", 1)
        isolate = fit_kwargs.pop("isolate", False)
        self._reporter.announce_starts = True  # trials are long: say what each one tries
        # Keras prints epochs here unless fit(verbose=0) (n_jobs workers print to their logs).
        self._reporter.foreign_output = (
            fit_kwargs.get("verbose", "auto") != 0 and n_jobs == 1 and isolate is False
        )
        self._fit_args = fit_args
        self._fit_kwargs = fit_kwargs
        if is_chief():  # Keras Tuner's distributed mode: the workers run the trials
            self.on_search_begin()
            try:
                wait_as_chief(self)
            finally:
                self.on_search_end()
            return
        with trial_runner(self, executor, n_jobs, isolate) as (objective, executor):
            self.on_search_begin()
            try:
                self.study.optimize(
                    objective,
                    max_trials=self.max_trials,
                    callbacks=[self._after_trial],
                    executor=executor,
                )
            finally:
                self.on_search_end()

    def on_search_begin(self) -> None:
        """Hook, as in Keras Tuner."""

    def on_search_end(self) -> None:
        """Hook, as in Keras Tuner."""

    def on_trial_begin(self, trial: Trial) -> None:
        """Hook, as in Keras Tuner: called with the running trial just before ``run_trial``.

        With ``n_jobs``/Ray it runs in the worker's copy of the tuner (where the trial runs),
        so what it sets on ``self`` stays there."""

    def on_trial_end(self, trial: FrozenTrial) -> None:
        """Hook, as in Keras Tuner: called after each trial is stored (completed, pruned or
        failed), with the stored trial (``status``, ``score``, ``metrics``,
        ``hyperparameters``), in the process that called ``search``. Nothing to call on
        ``super()`` (Keras Tuner's ends the trial here; the study has done so already)."""

    def on_epoch_begin(
        self, trial: Trial, model: Any, epoch: int, logs: dict[str, Any] | None = None
    ) -> None:
        """Hook, as in Keras Tuner: called by a callback at each epoch's start during ``fit``."""

    def on_epoch_end(
        self, trial: Trial, model: Any, epoch: int, logs: dict[str, Any] | None = None
    ) -> None:
        """Hook, as in Keras Tuner: called at each epoch's end with its logs (the metrics)."""

    def on_batch_begin(
        self, trial: Trial, model: Any, batch: int, logs: dict[str, Any] | None
    ) -> None:
        """Hook, as in Keras Tuner: called at each training batch's start during ``fit``."""

    def on_batch_end(
        self, trial: Trial, model: Any, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        """Hook, as in Keras Tuner: called at each training batch's end during ``fit``."""

    def _run_and_record(self, hp: HyperParameters, trial: Trial) -> Any:
        record = self._records[trial.number] = TrialRecord()
        self._current = (trial, record)
        self.on_trial_begin(trial)
        result = self.run_trial(trial, *self._fit_args, **copy.copy(self._fit_kwargs))
        own_fit = type(self).run_trial is Tuner.run_trial
        check_result(result, self.study.objective.name,
                     "HyperModel.fit()" if own_fit else "Tuner.run_trial()")
        if result is None and not record.runs and not trial.steps:
            raise FatalTypeError(
                "Tuner.run_trial() returned None and reported no metrics. Did you forget to "
                "return the results (a number, a dict of metrics or the History of fit) "
                "from run_trial?"
            )
        if record.objective_not_logged and is_history_like(result):
            # fit logged no objective and its History is the result: nothing can score it
            raise ObjectiveNotLoggedError(record.objective_not_logged)
        if record.runs:
            for key, value in record.attrs().items():
                trial.set_attr(key, value)
        recorded = bool(record.runs) and is_history_like(result)
        if not (recorded and record.live_steps):  # else every epoch is stored already
            runs = record.runs if recorded else runs_from_result(result, self.study.objective.name)
            first = max(trial.next_step(), int(trial.attrs.get(INITIAL_BUDGET) or 0))
            for i, epoch in enumerate(average_runs(runs or [])):
                trial.report(first + i, epoch)
        if record.pruned_at is not None:  # the pruner stopped the fit: stored PRUNED, no weights
            raise TrialPruned()
        self._save_best_weights(trial, record)
        return None

    def run_trial(self, trial: Trial, *args: Any, **kwargs: Any) -> Any:
        """Build and fit ``executions_per_trial`` models; returns their Histories.

        Under a scheduler (Hyperband) ``fit`` gets ``epochs`` = the trial's budget and
        ``initial_epoch`` = its parent's budget (0 for a new configuration), as in Keras Tuner.
        """
        if getattr(self, "_current", (None,))[0] is not trial:  # called outside search()
            self._current = (trial, self._records.setdefault(trial.number, TrialRecord()))
        if BUDGET in trial.attrs:
            kwargs["epochs"] = int(trial.attrs[BUDGET])
            kwargs["initial_epoch"] = int(trial.attrs.get(INITIAL_BUDGET) or 0)
        return [
            self._build_and_fit_model(trial, *args, **copy.copy(kwargs))
            for _ in range(self.executions_per_trial)
        ]

    def _build_and_fit_model(self, trial: Trial, *args: Any, **kwargs: Any) -> Any:
        hp = trial.hyperparameters
        model = self._try_build(hp)
        parent = trial.attrs.get(PARENT)
        if (
            kwargs.get("initial_epoch")
            and parent is not None
            and not self._load_parent_weights(model, int(parent))
        ):
            kwargs["initial_epoch"] = 0  # the parent's weights are gone: train from scratch
        self._current[1].initial_epoch = int(kwargs.get("initial_epoch") or 0)
        kwargs["callbacks"] = self._callbacks_for(trial, kwargs.get("callbacks"))
        return self.hypermodel.fit(hp, model, *args, **kwargs)

    def _load_parent_weights(self, model: Any, parent: int) -> bool:
        """Give a promoted trial's model its parent's best-epoch weights (Keras Tuner loads the
        parent's best checkpoint too); False, with a note, when they were not kept."""
        path = self._weights_path(parent)
        if not os.path.exists(path):
            self._reporter.note(
                f"Trial {parent:02d}'s weights are not on disk ({path}); its promoted trial "
                "trains from scratch for the whole budget instead of continuing it."
            )
            return False
        self._restore_weights(model, parent)
        return True

    def _restore_weights(self, model: Any, number: int) -> None:
        """Give ``model`` trial ``number``'s stored best weights; a model built lazily on its
        first ``fit`` (a ``Sequential`` without ``Input``) is first built from the stored
        build config, as Keras Tuner does."""
        config_path = os.path.join(os.path.dirname(self._weights_path(number)), "build_config.json")
        if not model.built and os.path.exists(config_path):
            with open(config_path) as f:
                model.build_from_config(json.load(f))
        with np.load(self._weights_path(number), allow_pickle=False) as data:
            model.set_weights([data[f"arr_{i}"] for i in range(len(data.files))])

    def _callbacks_for(self, trial: Trial, user_callbacks: Sequence[Any] | None) -> list[Any]:
        """The recorder (and the pruning callback when the study has a pruner and there is one
        execution), then fresh copies of the user's callbacks (so no state leaks).

        The recorder runs first so that the weights it keeps are those the epoch's metrics were
        computed with, before any user callback changes them.
        """
        keras = _keras()
        callbacks = []
        for cb in user_callbacks or []:
            try:
                callbacks.append(copy.deepcopy(cb))
            except Exception as exc:  # any failure to copy is the same fault
                raise FatalValueError(
                    "All callbacks used during a search should be deep-copyable (since they "
                    f"are reused across trials). It is not possible to do copy.deepcopy({cb!r})"
                    f": {type(exc).__name__}: {exc}"
                ) from exc
        _, record = self._current
        for cb in callbacks:
            if isinstance(cb, keras.callbacks.TensorBoard):  # <log_dir>/<trial_id>/execution<k>
                from ._tensorboard import configure_run  # + its HParams writer, after it

                search = getattr(self, "_fit_kwargs", None)  # one note per search, if any
                callbacks += configure_run(keras, cb, trial, len(record.runs), self._reporter, search)
            if isinstance(cb, keras.callbacks.EarlyStopping):
                record.early_stopping.append(cb)
        live = self.executions_per_trial == 1
        # The objective must be in fit's logs unless the user's run_trial or HyperModel.fit
        # may compute it and return it (a number or a dict, as in Keras Tuner).
        fail_fast = type(self).run_trial is Tuner.run_trial and not _fit_overridden(
            self.hypermodel)
        own = [make_recorder(keras, record, trial, self.study.objective, live, fail_fast)]
        if live and self.study.pruner is not None:
            own.append(make_pruning_callback(keras, record, trial))
        # Keras Tuner's TunerCallback (the on_epoch_*/on_batch_* hooks) follows the user's.
        hooks = make_tuner_hooks_callback(keras, self, trial, Tuner)
        return [*own, *callbacks, *([hooks] if hooks is not None else [])]

    def _try_build(self, hp: HyperParameters) -> Any:
        keras = _keras()
        keras.backend.clear_session()  # also collects garbage: no model outlives its trial
        current = getattr(self, "_current", None)
        if current is not None:
            # Seed Keras (weights, dropout, shuffling) per trial and execution from the study's
            # seed, so that a trial retrains the same way; executions differ from each other.
            trial, record = current
            execution = len(record.runs)
            keras.utils.set_random_seed(
                int(np.random.SeedSequence([self.study.seed, trial.number, execution])
                    .generate_state(1)[0])
            )
        if self._distribution_strategy is not None:
            with self._distribution_strategy.scope():
                model = self.hypermodel.build(hp)
        else:
            model = self.hypermodel.build(hp)
        if not hasattr(model, "fit"):  # fatal: every trial would fail the same way
            raise FatalTypeError(
                "Expected the model-building function, or HyperModel.build() to return a "
                f"valid Keras Model instance. Received: {model!r} of type {type(model)}."
            )
        self._override_compile_args(model)
        if self._max_model_size and model.count_params() > self._max_model_size:
            raise FailedTrialError(
                f"Oversized model: it has {model.count_params()} parameters, more than "
                f"max_model_size={self._max_model_size}."
            )
        return model

    def _override_compile_args(self, model: Any) -> None:
        """Recompile with the tuner's ``optimizer``/``loss``/``metrics`` when given (Keras
        Tuner's overrides). An optimizer instance is copied per model through
        ``keras.optimizers.serialize``/``deserialize``, as Keras Tuner does: one instance is
        built for one model's variables. What is not overridden stays as compiled in
        ``build``."""
        if not self._compile_overrides:
            return
        keras = _keras()
        optimizer = self._compile_overrides.get("optimizer")
        if optimizer is None:
            optimizer = model.optimizer
        elif not isinstance(optimizer, str):
            optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
        metrics = self._compile_overrides.get("metrics")
        if metrics is None:
            compiled = getattr(getattr(model, "_compile_config", None), "config", None) or {}
            metrics = compiled.get("metrics")
        model.compile(
            optimizer=optimizer,
            loss=self._compile_overrides.get("loss", model.loss),
            metrics=metrics,
        )

    # ------------------------------------------------------------------ best weights
    def _weights_path(self, number: int) -> str:
        return os.path.join(self.get_trial_dir(number), "best.weights.npz")

    def _save_best_weights(self, trial: Trial, record: TrialRecord) -> None:
        scheduler = self.study.scheduler
        if record.best_weights is None or (self.keep_best_models == 0 and scheduler is None):
            return
        path = self._weights_path(trial.number)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.savez(path, *record.best_weights)
        with open(os.path.join(os.path.dirname(path), "trial.json"), "w") as f:
            json.dump({"trial_id": trial.trial_id, "values": trial.hyperparameters.values}, f)
        if record.build_config is not None:
            with open(os.path.join(os.path.dirname(path), "build_config.json"), "w") as f:
                json.dump(record.build_config, f)

    def _after_trial(self, study: Study, frozen: FrozenTrial) -> None:
        self._records.pop(frozen.number, None)
        keep = {t.number for t in rank_trials(study.trials, study.objective)[: self.keep_best_models]}
        scheduler = study.scheduler
        if scheduler is not None:  # a trial that may still be promoted keeps its weights
            keep |= {t.number for t in study.trials if scheduler.may_continue(t, study.trials)}
        for t in study.trials:
            if t.number not in keep and t.state.is_finished:
                path = self._weights_path(t.number)
                if os.path.exists(path):
                    shutil.rmtree(os.path.dirname(path), ignore_errors=True)
        self.on_trial_end(frozen)

    # ------------------------------------------------------------------ results
    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The best trials' models with the weights of their scored (best) epoch."""
        if num_models > self.keep_best_models:
            raise ValueError(
                f"num_models={num_models} but only the best keep_best_models="
                f"{self.keep_best_models} trials keep their weights; pass a larger "
                "keep_best_models to the tuner."
            )
        return [self.load_model(trial) for trial in self.oracle.get_best_trials(num_models)]

    def load_model(self, trial: Any) -> Any:
        """Trial ``trial``'s model (a stored trial, or its id), built from its hyperparameters
        with the weights of its best epoch, compiled as the search compiled it."""
        trial = self.oracle.get_trial(getattr(trial, "trial_id", trial))
        path = self._weights_path(trial.number)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"No stored weights for trial {trial.trial_id} at {path}: only the best "
                f"keep_best_models={self.keep_best_models} trials keep theirs, and only when "
                "run_trial fits a Keras model through the tuner (or calls save_model)."
            )
        hps = HyperParameters.for_trial(self.study.space, trial.values, inherited=False)
        model = self.hypermodel.build(hps)
        self._override_compile_args(model)  # as Keras Tuner's load_model (via _try_build)
        self._restore_weights(model, trial.number)
        return model

    def save_model(self, trial_id: Any, model: Any, step: int = 0) -> None:
        """Keep ``model``'s current weights as trial ``trial_id``'s (what ``load_model`` and
        ``get_best_models`` restore); for a ``run_trial`` that trains models itself.
        ``step`` is accepted for Keras Tuner's signature (one set of weights per trial)."""
        number = int(getattr(trial_id, "number", trial_id))
        path = self._weights_path(number)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.savez(path, *[np.asarray(w) for w in model.get_weights()])
        build_config = model.get_build_config() if hasattr(model, "get_build_config") else None
        if build_config is not None:
            with open(os.path.join(os.path.dirname(path), "build_config.json"), "w") as f:
                json.dump(build_config, f)
