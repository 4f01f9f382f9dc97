"""``TunewiseSearchCV``: GridSearchCV's interface over the tunewise engine.

Every trial cross-validates one configuration, fold by fold (see ``_cv``), in a
:class:`~tunewise.Study` that scores trials on their last step (the mean over all folds); so
any sampler, any pruner, any storage and the doctor work as for the other tuners, and the
fitted search has scikit-learn's attributes (``cv_results_``, ``best_params_``,
``best_estimator_``...) and delegates ``predict`` & co. to the refitted best estimator.
"""

from __future__ import annotations

import copy
import hashlib
import json
import numbers
import time
import warnings
from typing import Any

import numpy as np

from ...engine import Study
from ...errors import FatalError, FatalRuntimeError
from ...objective import Objective
from ...samplers import AutoSampler, Sampler
from ...schedulers import Pruner
from ...space import HyperParameters
from ._cv import FoldFailures, cross_validate_trial
from ._results import build_cv_results
from ._space import as_params_for

try:
    from sklearn.model_selection._search import BaseSearchCV
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "tunewise.sklearn needs scikit-learn: pip install 'tunewise[sklearn]'"
    ) from exc

#: Name of the study when ``study_name`` is not given.
DEFAULT_STUDY_NAME = "tunewise_search_cv"


def _primitive(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _type_name(value: Any) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _describe_estimator(estimator: Any, tuned: set[str]) -> dict[str, Any]:
    """The estimator's class and its primitive (non-tuned) parameters, deep."""
    params = {}
    for key, value in sorted(estimator.get_params(deep=True).items()):
        if key in tuned:
            continue
        params[key] = value if _primitive(value) else _type_name(value)
    return {"class": _type_name(estimator), "params": params}


def _describe_cv(cv: Any) -> str:
    params = getattr(cv, "__dict__", {})
    shown = {k: v for k, v in sorted(params.items()) if _primitive(v)}
    return f"{_type_name(cv)}({shown})"


class TunewiseSearchCV(BaseSearchCV):
    """Search an estimator's parameters by cross-validation with tunewise's samplers.

    A drop-in for ``GridSearchCV``/``RandomizedSearchCV``: ``fit`` runs ``n_trials``
    configurations, each cross-validated on the same folds, then refits the best on all the
    data; ``cv_results_``, ``best_params_``, ``best_score_``, ``best_index_``,
    ``best_estimator_``, ``refit_time_``, ``scorer_``, ``n_splits_`` and ``multimetric_`` are
    scikit-learn's, and ``predict``, ``predict_proba``, ``decision_function``, ``transform``,
    ``score``... delegate to ``best_estimator_``.

    Args:
        estimator: the scikit-learn estimator (or pipeline) to tune.
        space: a function ``build(hp)`` returning the parameters to set, e.g.
            ``lambda hp: {"C": hp.Float("C", 1e-3, 1e3, sampling="log")}`` (pipeline steps as
            ``"step__param"``), or a dict ``{parameter: tunewise hyperparameter}`` (a list of
            values is a Choice).
        n_trials: configurations to evaluate in all. With a persistent ``storage`` the trials
            already stored count: a second ``fit`` resumes the study and runs only the rest.
        scoring, refit, cv, error_score, return_train_score, pre_dispatch, verbose: as in
            ``GridSearchCV``. With several metrics the search optimises the ``refit`` metric
            (or the first one when ``refit`` is False or a callable).
        n_jobs: folds fitted in parallel (joblib). With a pruner, folds run in batches of
            ``n_jobs`` and the pruner is asked after each batch.
        sampler: a tunewise sampler (default: :class:`~tunewise.AutoSampler`, a Gaussian
            process for small numeric spaces, TPE otherwise). It is copied, never modified.
        pruner: e.g. ``tunewise.schedulers.MedianPruner()``: stops a configuration after its
            first folds when their mean is worse than the other trials' at the same fold.
        storage: ``None`` or ``"memory"`` (each fit starts afresh), or a database URL
            (``"sqlite:///search.db"``) to keep the trials and resume.
        study_name: the study's name in ``storage``. A stored study is resumed when the name,
            the estimator's class and fixed parameters, the space, the scoring, the cv, the
            error_score and the data are all the same; otherwise a new study starts beside it.
        timeout: seconds after which no new trial starts.
        random_state: seeds the sampler; the same value reproduces the same trials.

    Folds a trial did not run (pruned, or failed with ``error_score=nan``, which stops the
    trial at its first failed fold) are NaN in ``cv_results_``; such a trial ranks last.
    ``study_`` is the :class:`~tunewise.Study` of the last fit (not pickled); ``diagnose()``
    runs the doctor on it.
    """

    def __init__(
        self,
        estimator: Any,
        space: Any,
        *,
        n_trials: int = 10,
        scoring: Any = None,
        n_jobs: int | None = None,
        refit: Any = True,
        cv: Any = None,
        verbose: int = 0,
        pre_dispatch: Any = "2*n_jobs",
        error_score: Any = np.nan,
        return_train_score: bool = False,
        sampler: Sampler | None = None,
        pruner: Pruner | None = None,
        storage: Any = None,
        study_name: str | None = None,
        timeout: float | None = None,
        random_state: Any = None,
    ) -> None:
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.space = space
        self.n_trials = n_trials
        self.sampler = sampler
        self.pruner = pruner
        self.storage = storage
        self.study_name = study_name
        self.timeout = timeout
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        n = self.n_trials
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n_trials={n!r} must be an integer >= 1.")
        score = self.error_score
        if not (score == "raise" if isinstance(score, str) else isinstance(score, numbers.Real)):
            raise ValueError(
                f"error_score={score!r} must be 'raise' or a number (np.nan by default)."
            )
        if self.sampler is not None and not isinstance(self.sampler, Sampler):
            raise TypeError(
                f"sampler={self.sampler!r} is not a tunewise sampler; pass e.g. "
                "tunewise.TPESampler() or None for the default AutoSampler."
            )
        if self.pruner is not None and not isinstance(self.pruner, Pruner):
            raise TypeError(
                f"pruner={self.pruner!r} is not a tunewise pruner; pass e.g. "
                "tunewise.schedulers.MedianPruner() or None."
            )
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"timeout={self.timeout!r} must be a positive number of seconds.")
        if self.refit not in (True, False) and not isinstance(self.refit, str) and not callable(
            self.refit
        ):
            raise ValueError(
                f"refit={self.refit!r} must be True, False, a metric name or a callable."
            )

    def _scorers(self) -> tuple[dict[str, Any], bool]:
        """``({name: scorer}, multimetric)``; a single metric is named ``score``."""
        from sklearn.metrics import check_scoring, get_scorer

        scoring = self.scoring
        if scoring is None or isinstance(scoring, str) or callable(scoring):
            return {"score": check_scoring(self.estimator, scoring=scoring)}, False
        if isinstance(scoring, (list, tuple, set)):
            names = list(scoring)
            if not names or not all(isinstance(s, str) for s in names) or len(set(names)) != len(
                names
            ):
                raise ValueError(
                    f"scoring={scoring!r}: a list of metrics must hold distinct metric names "
                    "(e.g. ['accuracy', 'f1_macro'])."
                )
            scorers = {s: get_scorer(s) for s in names}
        elif isinstance(scoring, dict):
            if not scoring:
                raise ValueError("scoring={} is empty; pass None, a name, a list or a dict.")
            scorers = {
                str(k): get_scorer(v) if isinstance(v, str) else v for k, v in scoring.items()
            }
        else:
            raise TypeError(
                f"scoring={scoring!r} must be None, a metric name, a callable, a list of names "
                "or a dict {name: scorer}."
            )
        refit = self.refit
        if refit is not False and not callable(refit) and not (
            isinstance(refit, str) and refit in scorers
        ):
            raise ValueError(
                f"With several metrics ({sorted(scorers)}), refit must be one of their names "
                f"(the metric to optimise and to refit on), False or a callable; got {refit!r}."
            )
        return scorers, True

    # ------------------------------------------------------------------ fit
    def fit(
        self, X: Any, y: Any = None, *, groups: Any = None, **fit_params: Any
    ) -> TunewiseSearchCV:
        """Run the search on ``X, y`` (``groups`` go to the cv splitter, ``fit_params`` to the
        estimator's ``fit``, sample-aligned ones split with the folds), then refit the best."""
        from sklearn.base import clone, is_classifier
        from sklearn.model_selection import check_cv
        from sklearn.utils import indexable

        self._check_params()
        scorers, multimetric = self._scorers()
        metric_names = list(scorers)
        if multimetric and isinstance(self.refit, str):
            objective_metric = self.refit
        else:
            objective_metric = metric_names[0]
        X, y, groups = indexable(X, y, groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, groups))
        n_splits = len(splits)
        if n_splits < 1:
            raise ValueError(f"cv={self.cv!r} gave no split; pass cv=5 or a splitter.")
        base_estimator = clone(self.estimator)
        params_for, space_text = as_params_for(self.space)
        declared = HyperParameters()
        default_params = params_for(declared)
        valid = base_estimator.get_params(deep=True)
        unknown = sorted(k for k in default_params if k not in valid)
        if unknown:
            raise ValueError(
                f"The space sets {unknown}, which {type(base_estimator).__name__} does not "
                f"have. Valid parameters: {sorted(valid)} (pipeline steps as 'step__param')."
            )

        def score_fn(estimator: Any, X_part: Any, y_part: Any, _idx: Any) -> dict[str, float]:
            return {name: scorer(estimator, X_part, y_part) for name, scorer in scorers.items()}

        objective = Objective(objective_metric, "max")
        sampler = copy.deepcopy(self.sampler) if self.sampler is not None else AutoSampler()
        pruner = copy.deepcopy(self.pruner)
        identity = self._identity(base_estimator, set(default_params), space_text, metric_names,
                                  cv, X, y)
        storage = "memory" if self.storage is None else self.storage
        study = Study(
            objective,
            sampler,
            storage=storage,
            study_name=self.study_name or DEFAULT_STUDY_NAME,
            project_name=self.study_name or DEFAULT_STUDY_NAME,
            seed=self._seed(),
            score="last",
            max_consecutive_failed_trials=0,  # as in scikit-learn: a failing candidate is
            # scored error_score and the search goes on
            algorithm=f"{sampler.name}+cv:{identity[:12]}",
            hyperparameters=declared,
            verbose=1 if self.verbose else 0,
            extra_settings={"sklearn": {"estimator": type(base_estimator).__name__,
                                        "cv_folds": n_splits, "metrics": metric_names,
                                        "identity": identity}},
            pruner=pruner,
        )
        failures = FoldFailures()
        raised: list[BaseException] = []

        def run(hp: HyperParameters, trial: Any) -> None:
            params = params_for(hp)
            estimators = [clone(base_estimator) for _ in splits]
            try:
                cross_validate_trial(
                    trial, estimators, params, X, y, splits, score_fn, metric_names,
                    fit_params=fit_params, return_train_score=self.return_train_score,
                    error_score=self.error_score, n_jobs=self.n_jobs,
                    pre_dispatch=self.pre_dispatch, prune=pruner is not None,
                    failures=failures,
                )
            except Exception as exc:
                if self.error_score == "raise" and not _is_trial_control(exc):
                    raised.append(exc)
                    raise FatalRuntimeError(f"error_score='raise': {exc!r}") from exc
                raise

        try:
            study.optimize(run, max_trials=int(self.n_trials), timeout=self.timeout)
        except FatalError:
            if raised:
                raise raised[0] from None
            raise
        self.study_ = study
        self._fill_results(study, params_for, n_splits, metric_names, multimetric,
                           objective_metric, failures)
        self.n_splits_ = n_splits
        self.multimetric_ = multimetric
        self.scorer_ = scorers if multimetric else scorers["score"]
        if self.refit:
            self.best_estimator_ = clone(base_estimator).set_params(
                **clone(self.best_params_, safe=False)
            )
            started = time.time()
            if y is None:
                self.best_estimator_.fit(X, **fit_params)
            else:
                self.best_estimator_.fit(X, y, **fit_params)
            self.refit_time_ = time.time() - started
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        return self

    def _seed(self) -> int | None:
        rs = self.random_state
        if rs is None:
            return None
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            return int(rs)
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(np.iinfo(np.int32).max))
        if isinstance(rs, np.random.Generator):
            return int(rs.integers(np.iinfo(np.int32).max))
        raise ValueError(
            f"random_state={rs!r} must be None, an int, a numpy RandomState or a Generator."
        )

    def _identity(self, estimator: Any, tuned: set[str], space_text: str,
                  metric_names: list[str], cv: Any, X: Any, y: Any) -> str:
        """A digest of everything that makes stored scores comparable with this search's."""
        import joblib

        scoring = self.scoring
        scoring_text = (
            scoring if scoring is None or isinstance(scoring, str)
            else sorted(scoring) if isinstance(scoring, (list, tuple, set, dict))
            else _type_name(scoring)
        )
        described = {
            "study": self.study_name or DEFAULT_STUDY_NAME,
            "estimator": _describe_estimator(estimator, tuned),
            "space": space_text,
            "scoring": scoring_text,
            "metrics": metric_names,
            "cv": _describe_cv(cv),
            "error_score": repr(self.error_score),
            "data": [joblib.hash(X), joblib.hash(y)],
        }
        text = json.dumps(described, sort_keys=True, default=repr)
        return hashlib.sha256(text.encode()).hexdigest()

    def _fill_results(self, study: Study, params_for: Any, n_splits: int,
                      metric_names: list[str], multimetric: bool, objective_metric: str,
                      failures: FoldFailures) -> None:
        from sklearn.exceptions import FitFailedWarning

        finished = [t for t in study.trials if t.state.is_finished]
        if not finished:
            raise ValueError("No trial finished; raise n_trials or the timeout.")
        params = [
            params_for(HyperParameters.for_trial(study.space, t.values, inherited=False))
            for t in finished
        ]
        results = build_cv_results(finished, params, n_splits, metric_names, multimetric,
                                   self.return_train_score)
        if failures.failed:
            if failures.failed == failures.fits:
                raise ValueError(
                    f"All the {failures.fits} fits failed, so no configuration has a score. "
                    "Check the estimator and the space (a bad value, a wrong parameter name); "
                    f"the first failure:\n{failures.tracebacks[0]}"
                )
            warnings.warn(
                f"{failures.failed} fits failed out of {failures.fits}; their score is "
                f"error_score={self.error_score!r}"
                + (" and such a trial stops at its first failed fold" if isinstance(
                    self.error_score, float) and np.isnan(self.error_score) else "")
                + ". Pass error_score='raise' to see the error; the first failure:\n"
                + failures.tracebacks[0],
                FitFailedWarning,
                stacklevel=3,
            )
        self.cv_results_ = results
        self.trials_ = finished
        label = objective_metric if multimetric else "score"
        if self.refit is False and multimetric:
            return
        if callable(self.refit):
            index = self.refit(results)
            if not isinstance(index, numbers.Integral):
                raise TypeError(f"refit returned {index!r}; it must return an integer index.")
            if not 0 <= index < len(finished):
                raise IndexError(f"refit returned index {index}, outside 0..{len(finished) - 1}.")
            self.best_index_ = int(index)
        else:
            self.best_index_ = int(np.argmin(results[f"rank_test_{label}"]))
            self.best_score_ = float(results[f"mean_test_{label}"][self.best_index_])
        self.best_params_ = results["params"][self.best_index_]

    # ------------------------------------------------------------------ tunewise extras
    @property
    def study(self) -> Study:
        """The study of the last fit (so ``tunewise.diagnostics.diagnose(search)`` works)."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        if not hasattr(self, "study_"):
            raise AttributeError(
                "This search was unpickled: study_ (a live storage connection) is not pickled. "
                "Its trials are in trials_; with a persistent storage, fit again to reopen it."
            )
        return self.study_

    def diagnose(self) -> Any:
        """The doctor's report on the last fit's study (fold-to-fold spread feeds
        ``noisy-objective``)."""
        return self.study.diagnose()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("study_", None)  # holds a storage connection; the trials stay in trials_
        return state


def _is_trial_control(exc: BaseException) -> bool:
    from ...errors import FailedTrialError, TrialPruned

    return isinstance(exc, (TrialPruned, FailedTrialError))
