"""``SklearnTuner``: Keras Tuner's cross-validating tuner for scikit-learn models, over a Study.

Same signature and behaviour as ``keras_tuner.SklearnTuner`` (``oracle``, ``hypermodel``,
``scoring``, ``metrics``, ``cv``, ``directory``, ``project_name``; ``search(X, y,
sample_weight=None, groups=None)``; a trial's metrics are the means over the folds, stored
as its step 0; ``get_best_models`` returns the model fitted on the last fold, as Keras Tuner
stores it), with tunewise's extras: with a ``pruner`` every fold is reported as a step (so
it can stop a configuration after its first folds), the fold-to-fold spread
(``score__std``) feeds the doctor, ``results_summary()`` returns a
:class:`~tunewise.ResultsSummary`, and a finished project is never silently reloaded.
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...engine import ConsoleReporter, Study
from ...errors import FailedTrialError
from ...objective import Objective, make_objective
from ...oracles import as_oracle
from ...schedulers import Pruner
from ...space import HyperParameters
from ...trial import FrozenTrial, Trial, rank_trials
from .._study_tuner import StudyTunerMixin
from ..keras._hypermodel import HyperModel, as_hypermodel
from ._cv import cross_validate_trial

_IGNORED_KWARGS = ("logger", "tuner_id", "max_model_size", "distribution_strategy")


class SklearnTuner(StudyTunerMixin):
    """Cross-validated search for scikit-learn models, with Keras Tuner's interface.

    Args:
        oracle: a :mod:`tunewise.oracles` oracle (or a Keras Tuner ``RandomSearchOracle``,
            ``GridSearchOracle`` or ``BayesianOptimizationOracle``, converted). Its objective
            should be ``Objective("score", "max")`` (the default when it has none), or one of
            ``metrics`` by its function name with its direction.
        hypermodel: ``build(hp)`` returning an unfitted estimator, or a ``HyperModel``.
        scoring: a scorer ``scoring(estimator, X, y, sample_weight=...)`` (e.g.
            ``sklearn.metrics.make_scorer(...)``); None uses ``estimator.score``.
        metrics: extra ``metric(y_true, y_pred)`` functions, recorded under their names.
        cv: a scikit-learn splitter; default ``KFold(5, shuffle=True, random_state=1)``.
        directory, project_name, overwrite, storage: where the study lives (by default the
            SQLite file ``<directory>/<project_name>/tunewise.db``), as for the Keras tuners.
        pruner: e.g. ``tunewise.schedulers.MedianPruner()``: asked after every fold.
        keep_best_models: how many of the best trials keep their last-fold model on disk
            (for ``get_best_models``); None (the default, as Keras Tuner) keeps every one.
        verbose: 0 silent, 1 one line per trial.
    """

    def __init__(
        self,
        oracle: Any,
        hypermodel: Any,
        scoring: Callable[..., float] | None = None,
        metrics: Any = None,
        cv: Any = None,
        directory: str | os.PathLike[str] | None = None,
        project_name: str | None = None,
        overwrite: bool = False,
        storage: Any = None,
        pruner: Pruner | None = None,
        keep_best_models: int | None = None,
        verbose: int = 1,
        **kwargs: Any,
    ) -> None:
        try:
            from sklearn.model_selection import KFold
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "SklearnTuner needs scikit-learn: pip install 'tunewise[sklearn]'"
            ) from exc
        unknown = sorted(set(kwargs) - set(_IGNORED_KWARGS))
        if unknown:
            raise TypeError(
                f"SklearnTuner got unexpected arguments {unknown}. See help(tunewise.SklearnTuner)."
            )
        self.oracle_settings = as_oracle(oracle)
        if hypermodel is None:
            raise ValueError(
                "hypermodel is None: pass a build(hp) function returning an estimator."
            )
        self.hypermodel: HyperModel = as_hypermodel(hypermodel)  # type: ignore[assignment]
        if metrics is None:
            metrics = []
        if not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        self.scoring = scoring
        self.metrics = list(metrics)
        self.metric_names = ["score", *(m.__name__ for m in self.metrics)]
        if len(set(self.metric_names)) != len(self.metric_names):
            raise ValueError(f"metrics have clashing names: {self.metric_names}.")
        spec = self.oracle_settings.objective
        objective = make_objective(spec if spec is not None else Objective("score", "max"))
        missing = [n for n in objective.names if n not in self.metric_names]
        if missing:
            raise ValueError(
                f"The oracle's objective reads {missing}, which this tuner does not compute; it "
                f"records {self.metric_names}. Use objective=tunewise.Objective('score', 'max') "
                "or name one of the metrics functions."
            )
        self.cv = cv if cv is not None else KFold(5, shuffle=True, random_state=1)
        if keep_best_models is not None and int(keep_best_models) < 0:
            raise ValueError(
                f"keep_best_models={keep_best_models!r} must be >= 0, or None to keep every "
                "trial's model.")
        self.keep_best_models = None if keep_best_models is None else int(keep_best_models)
        self.directory = os.fspath(directory) if directory is not None else "."
        self.project_name = project_name or "untitled_project"
        self.max_trials = self.oracle_settings.max_trials
        self._reporter = ConsoleReporter(verbose)
        o = self.oracle_settings
        self._study_kwargs = dict(
            objective=objective,
            sampler=o._sampler_for_study(),
            storage=storage,
            directory=self.directory,
            project_name=self.project_name,
            seed=o.seed,
            score="last",  # the last fold's step holds the mean over all folds
            max_retries_per_trial=o.max_retries_per_trial,
            max_consecutive_failed_trials=o.max_consecutive_failed_trials,
            algorithm=o.algorithm,
            hyperparameters=o._declared,
            tune_new_entries=o.tune_new_entries,
            allow_new_entries=o.allow_new_entries,
            reporter=self._reporter,
            extra_settings={"tuner": {"class": "SklearnTuner", **o.settings()}},
            pruner=pruner,
        )
        self.study = Study(overwrite=overwrite, **self._study_kwargs)
        self.oracle = o
        self.oracle.bind(self.study)
        self._populate_space()

    # ------------------------------------------------------------------ space
    def _populate_space(self) -> None:
        """Build once with default values to register the space (as Keras Tuner does)."""
        hp = HyperParameters.for_trial(self.study.space, {}, inherited=True)
        self.hypermodel.declare_hyperparameters(hp)
        self.hypermodel.build(hp)
        self.study.declare_space(hp)

    # ------------------------------------------------------------------ search
    def search(self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None) -> None:
        """Cross-validate ``max_trials`` configurations on ``X, y``.

        ``sample_weight`` weights the fits (of estimators whose ``fit`` takes it; not of
        pipelines, as in Keras Tuner) and the scores; ``groups`` go to the splitter.
        """
        from sklearn.pipeline import Pipeline
        from sklearn.utils import indexable
        from sklearn.utils.validation import has_fit_parameter

        X, y, sample_weight = indexable(X, y, sample_weight)
        cv_kwargs = {"groups": groups} if groups is not None else {}
        splits = list(self.cv.split(X, y, **cv_kwargs))
        weights = None if sample_weight is None else np.asarray(sample_weight)

        def score_fn(model: Any, X_test: Any, y_test: Any, idx: np.ndarray) -> dict[str, float]:
            kw = {} if weights is None else {"sample_weight": weights[idx]}
            if self.scoring is None:
                scores = {"score": model.score(X_test, y_test, **kw)}
            else:
                scores = {"score": self.scoring(model, X_test, y_test, **kw)}
            if self.metrics:
                y_pred = model.predict(X_test)
                for metric in self.metrics:
                    scores[metric.__name__] = metric(y_test, y_pred, **kw)
            return scores

        def run(hp: HyperParameters, trial: Trial) -> None:
            models = [self.hypermodel.build(hp) for _ in splits]
            if any(m is None for m in models):
                raise FailedTrialError("build(hp) returned None; it must return an estimator.")
            model = models[0]
            fit_params = {}
            if weights is not None and not isinstance(model, Pipeline) and has_fit_parameter(
                model, "sample_weight"
            ):
                fit_params["sample_weight"] = weights
            results = cross_validate_trial(
                trial, models, None, X, y, splits, score_fn, self.metric_names,
                fit_params=fit_params, prune=self.study.pruner is not None,
                return_estimator=True, report_folds=self.study.pruner is not None,
            )
            self.save_model(trial.trial_id, results[-1].estimator)

        self.on_search_begin()
        try:
            self.study.optimize(run, max_trials=self.max_trials, callbacks=[self._after_trial])
        finally:
            self.on_search_end()

    def on_search_begin(self) -> None:
        """Hook, as in Keras Tuner."""

    def on_search_end(self) -> None:
        """Hook, as in Keras Tuner."""

    # ------------------------------------------------------------------ models on disk
    def _model_path(self, trial_id: str | int) -> str:
        return os.path.join(self.get_trial_dir(trial_id), "model.pickle")

    def save_model(self, trial_id: str, model: Any, step: int = 0) -> None:
        """Pickle the trial's (last fold's) model, as Keras Tuner does."""
        if self.keep_best_models == 0:
            return
        path = self._model_path(trial_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            pickle.dump(model, f)

    def load_model(self, trial: FrozenTrial) -> Any:
        path = self._model_path(trial.trial_id)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"No stored model for trial {trial.trial_id} at {path}: only the best "
                f"keep_best_models={self.keep_best_models} trials keep theirs."
            )
        with open(path, "rb") as f:
            return pickle.load(f)

    def _after_trial(self, study: Study, frozen: FrozenTrial) -> None:
        if self.keep_best_models is None:
            return
        ranked = rank_trials(study.trials, study.objective)
        keep = {t.number for t in ranked[: self.keep_best_models]}
        for t in study.trials:
            if t.number not in keep and t.state.is_finished:
                directory = self.get_trial_dir(t.number)
                if os.path.exists(os.path.join(directory, "model.pickle")):
                    shutil.rmtree(directory, ignore_errors=True)

    # ------------------------------------------------------------------ results
    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The best trials' models (each fitted on its last training fold, as in Keras Tuner).

        For a model fitted on all the data, fit ``hypermodel.build(best_hp)`` yourself, or use
        :class:`tunewise.sklearn.TunewiseSearchCV` (which refits).
        """
        if self.keep_best_models is not None and num_models > self.keep_best_models:
            raise ValueError(
                f"num_models={num_models} but only the best keep_best_models="
                f"{self.keep_best_models} trials keep their models; pass a larger "
                "keep_best_models to the tuner."
            )
        return [self.load_model(t) for t in self.oracle.get_best_trials(num_models)]


__all__: Sequence[str] = ["SklearnTuner"]
