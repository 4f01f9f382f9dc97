"""Cross-validation of one trial, fold by fold, reported to the trial so pruners can act.

Each fold is one step: step ``k`` (1-based) is reported after ``k`` folds and holds, for every
metric ``m``, the running mean ``m`` of the ``k`` test scores so far (what pruners compare: a
configuration is judged on the folds it has done), the fold's own score ``m__fold`` (and
``train_m__fold``), and its ``fit_time`` and ``score_time`` in seconds. The last step adds
``m__std`` (the population standard deviation over the folds, as in ``cv_results_``) and
``executions`` (the number of folds): the doctor's ``noisy-objective`` check reads the
fold-to-fold spread from them. A study scoring with ``score="last"`` therefore gets the mean
over all folds as the trial's score.

With a pruner, folds run in batches of ``n_jobs`` and the pruner is asked after each batch; a
pruned configuration raises :class:`~tunewise.TrialPruned` and fits no further fold.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import FailedTrialError, TrialPruned
from ...trial import Trial
from ...trial_attrs import CV_FOLDS, EXECUTIONS, FOLD_FAILED, FOLD_SUFFIX, fold_name, spread_name

ScoreFn = Callable[[Any, Any, Any, np.ndarray], dict[str, float]]


@dataclass
class FoldResult:
    """One fold's outcome: test (and train) scores by metric, times in seconds, or an error."""

    test: dict[str, float] = field(default_factory=dict)
    train: dict[str, float] | None = None
    fit_time: float = 0.0
    score_time: float = 0.0
    error: str | None = None  # the traceback when fitting or scoring raised
    estimator: Any = None  # the fitted estimator, when asked for


def fold_fit_params(
    fit_params: dict[str, Any], indices: np.ndarray, n_samples: int
) -> dict[str, Any]:
    """Fit parameters for one fold: sample-aligned arrays indexed, anything else as is."""
    from sklearn.utils import _safe_indexing

    out = {}
    for key, value in fit_params.items():
        aligned = (
            value is not None
            and not isinstance(value, (str, bytes))
            and hasattr(value, "__len__")
            and hasattr(value, "__getitem__")
            and len(value) == n_samples
        )
        out[key] = _safe_indexing(value, indices) if aligned else value
    return out


def fit_and_score_fold(
    estimator: Any,
    params: dict[str, Any] | None,
    X: Any,
    y: Any,
    train: np.ndarray,
    test: np.ndarray,
    score_fn: ScoreFn,
    fit_params: dict[str, Any],
    return_train_score: bool,
    raise_errors: bool,
    return_estimator: bool = False,
) -> FoldResult:
    """Set ``params`` on ``estimator``, fit it on ``train`` and score it on ``test`` (and on
    ``train`` if asked).

    With ``raise_errors`` an exception propagates (``error_score="raise"``); otherwise it is
    returned as the result's ``error`` (a traceback).
    """
    from sklearn.utils.metaestimators import _safe_split

    started = time.perf_counter()
    result = FoldResult()
    try:
        if params:
            estimator.set_params(**params)
        X_train, y_train = _safe_split(estimator, X, y, train)
        X_test, y_test = _safe_split(estimator, X, y, test, train)
        params = fold_fit_params(fit_params, train, len(train) + len(test))
        if y_train is None:
            estimator.fit(X_train, **params)
        else:
            estimator.fit(X_train, y_train, **params)
        result.fit_time = time.perf_counter() - started
        scored = time.perf_counter()
        result.test = {k: float(v) for k, v in score_fn(estimator, X_test, y_test, test).items()}
        result.score_time = time.perf_counter() - scored
        if return_train_score:
            result.train = {
                k: float(v) for k, v in score_fn(estimator, X_train, y_train, train).items()
            }
        if return_estimator:
            result.estimator = estimator
    except Exception:
        if raise_errors:
            raise
        result.fit_time = time.perf_counter() - started
        result.error = traceback.format_exc()
    return result


@dataclass
class FoldFailures:
    """Failed fits across a search (for the FitFailedWarning and the all-failed error)."""

    fits: int = 0
    failed: int = 0
    tracebacks: list[str] = field(default_factory=list)


def cross_validate_trial(
    trial: Trial,
    estimators: Sequence[Any],
    params: dict[str, Any] | None,
    X: Any,
    y: Any,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    score_fn: ScoreFn,
    metric_names: Sequence[str],
    *,
    fit_params: dict[str, Any] | None = None,
    return_train_score: bool = False,
    error_score: Any = np.nan,
    n_jobs: int | None = None,
    pre_dispatch: Any = "2*n_jobs",
    prune: bool = False,
    failures: FoldFailures | None = None,
    return_estimator: bool = False,
    report_folds: bool = True,
) -> list[FoldResult]:
    """Fit and score ``estimators[k]`` (with ``params`` set) on fold ``k``, reporting each fold
    as step ``k + 1``.

    ``error_score``: ``"raise"`` lets a fold's exception propagate; a number is the score of a
    failed fold (the trial goes on); NaN fails the trial at its first failed fold
    (:class:`~tunewise.FailedTrialError` with the traceback; its mean would be NaN anyway).
    ``prune``: ask ``trial.should_prune()`` after each batch of folds (batches of ``n_jobs``
    folds, or one fold when serial) and raise :class:`~tunewise.TrialPruned` when it says so.
    ``report_folds=False`` (Keras Tuner's ``SklearnTuner`` without a pruner) stores one step,
    step 0, with the last step's means, spreads and ``executions`` and the mean fit and score
    times, and no ``m__fold`` values.
    """
    if not report_folds and prune:
        raise ValueError("prune=True needs report_folds=True: a pruner reads each fold's step.")
    fit_params = fit_params or {}
    failures = failures if failures is not None else FoldFailures()
    raise_errors = isinstance(error_score, str) and error_score == "raise"
    n = len(splits)
    trial.set_attr(CV_FOLDS, n)
    parallel = n_jobs not in (None, 1)
    batch = max(1, _effective_jobs(n_jobs)) if prune else n
    results: list[FoldResult] = []
    test_scores: dict[str, list[float]] = {m: [] for m in metric_names}
    start = 0
    while start < n:
        stop = min(n, start + batch)
        calls = [
            (estimators[k], _copy_params(params), X, y, splits[k][0], splits[k][1], score_fn,
             fit_params,
             return_train_score, raise_errors, return_estimator)
            for k in range(start, stop)
        ]
        if parallel and len(calls) > 1:
            from joblib import Parallel, delayed

            done = Parallel(n_jobs=n_jobs, pre_dispatch=pre_dispatch)(
                delayed(fit_and_score_fold)(*c) for c in calls
            )
        else:
            done = [fit_and_score_fold(*c) for c in calls]
        for k, result in zip(range(start, stop), done):
            failures.fits += 1
            if result.error is not None:
                failures.failed += 1
                failures.tracebacks.append(result.error)
                if _is_nan(error_score):
                    trial.report(k + 1 if report_folds else 0,
                                 {"fit_time": result.fit_time, "score_time": 0.0,
                                  FOLD_FAILED: 1.0})
                    raise FailedTrialError(
                        f"fold {k + 1} of {n} raised (error_score=nan fails the trial):\n"
                        f"{result.error}"
                    )
                result.test = {m: float(error_score) for m in metric_names}
                result.train = {m: float(error_score) for m in metric_names} if (
                    return_train_score) else None
            missing = [m for m in metric_names if m not in result.test]
            if missing:
                raise FailedTrialError(
                    f"fold {k + 1}: the scorer returned {sorted(result.test)}, not {missing}."
                )
            results.append(result)
            metrics: dict[str, float] = {}
            for m in metric_names:
                test_scores[m].append(result.test[m])
                metrics[m] = float(np.mean(test_scores[m]))
                metrics[fold_name(m)] = result.test[m]
                if result.train is not None and m in result.train:
                    metrics[fold_name(m, train=True)] = result.train[m]
            metrics["fit_time"] = result.fit_time
            metrics["score_time"] = result.score_time
            if result.error is not None:
                metrics[FOLD_FAILED] = 1.0
            if k + 1 == n:
                for m in metric_names:
                    metrics[spread_name(m)] = float(np.std(test_scores[m]))
                metrics[EXECUTIONS] = float(n)
            if report_folds:
                trial.report(k + 1, metrics)
            elif k + 1 == n:
                trial.report(0, _one_step(metrics, results))
        start = stop
        if prune and start < n and trial.should_prune():
            raise TrialPruned(f"after {start} of {n} folds")
    return results


def _one_step(last: dict[str, float], results: Sequence[FoldResult]) -> dict[str, float]:
    """The single step of ``report_folds=False``: the last step without per-fold values, and
    the fit and score times averaged over the folds."""
    out = {k: v for k, v in last.items() if not k.endswith(FOLD_SUFFIX)}
    out["fit_time"] = float(np.mean([r.fit_time for r in results]))
    out["score_time"] = float(np.mean([r.score_time for r in results]))
    if any(r.error is not None for r in results):
        out[FOLD_FAILED] = 1.0
    return out


def _copy_params(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """A fresh copy per fold (parameters may be estimators, which must not be shared)."""
    if not params:
        return params
    from sklearn.base import clone

    return clone(params, safe=False)


def _effective_jobs(n_jobs: int | None) -> int:
    if n_jobs in (None, 1):
        return 1
    from joblib import effective_n_jobs

    return int(effective_n_jobs(n_jobs))


def _is_nan(value: Any) -> bool:
    return isinstance(value, (int, float, np.floating)) and math.isnan(float(value))
