"""``cv_results_`` in scikit-learn's format, built from a study's stored trials.

The keys are GridSearchCV's: ``mean/std_fit_time``, ``mean/std_score_time``, ``param_<name>``
(masked arrays), ``params``, ``split<k>_test_<metric>``, ``mean/std/rank_test_<metric>`` and,
with ``return_train_score``, ``split<k>_train_<metric>`` and ``mean/std_train_<metric>``
(``<metric>`` is ``score`` for a single metric). Every finished trial is a row, in trial
order. Folds a trial did not run (it was pruned, or failed with ``error_score=nan``) are NaN,
so its mean score is NaN and it ranks last, as a failed candidate does in scikit-learn; its
times are averaged over the folds that ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.ma import MaskedArray

from ...trial import FrozenTrial
from ...trial_attrs import fold_name


def _fold_table(trials: Sequence[FrozenTrial], n_splits: int, key: str) -> np.ndarray:
    """Candidates x folds: ``key`` of step ``k + 1`` (NaN where absent)."""
    table = np.full((len(trials), n_splits), np.nan)
    for i, t in enumerate(trials):
        for s in t.steps:
            if 1 <= s.step <= n_splits and key in s.metrics:
                table[i, s.step - 1] = s.metrics[key]
    return table


def _rank(means: np.ndarray) -> np.ndarray:
    """scikit-learn's rule: rank by mean, best 1, ties share the lowest rank, NaN last."""
    from scipy.stats import rankdata

    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-filled, method="min").astype(np.int32)


def _param_arrays(params: Sequence[dict[str, Any]]) -> dict[str, MaskedArray]:
    """``param_<name>``: one masked array per parameter, masked where a candidate lacks it."""
    columns: dict[str, dict[int, Any]] = {}
    for i, p in enumerate(params):
        for name, value in p.items():
            columns.setdefault(f"param_{name}", {})[i] = value
    out = {}
    for key, column in columns.items():
        values = list(column.values())
        try:
            arr = np.array(values)
            dtype = arr.dtype if arr.dtype.kind != "U" and arr.ndim == 1 else np.dtype(object)
        except ValueError:
            dtype = np.dtype(object)
        masked = MaskedArray(np.empty(len(params), dtype=dtype), mask=True)
        for i, value in column.items():
            masked[i] = value
        out[key] = masked
    return out


def build_cv_results(
    trials: Sequence[FrozenTrial],
    params: Sequence[dict[str, Any]],
    n_splits: int,
    metric_names: Sequence[str],
    multimetric: bool,
    return_train_score: bool,
) -> dict[str, Any]:
    """The ``cv_results_`` dict of ``trials`` (with their estimator ``params``)."""
    results: dict[str, Any] = {}
    for key in ("fit_time", "score_time"):
        table = _fold_table(trials, n_splits, key)
        ran = ~np.isnan(table)
        counts = ran.sum(axis=1)
        filled = np.where(ran, table, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts > 0, filled.sum(axis=1) / np.maximum(counts, 1), np.nan)
            spread = np.where(ran, (table - means[:, None]) ** 2, 0.0).sum(axis=1)
            stds = np.where(counts > 0, np.sqrt(spread / np.maximum(counts, 1)), np.nan)
        results[f"mean_{key}"] = means
        results[f"std_{key}"] = stds
    results.update(_param_arrays(params))
    results["params"] = list(params)
    for m in metric_names:
        label = m if multimetric else "score"
        sides = [("test", fold_name(m))]
        if return_train_score:
            sides.append(("train", fold_name(m, train=True)))
        for side, key in sides:
            table = _fold_table(trials, n_splits, key)
            for k in range(n_splits):
                results[f"split{k}_{side}_{label}"] = table[:, k]
            means = table.mean(axis=1)
            results[f"mean_{side}_{label}"] = means
            results[f"std_{side}_{label}"] = np.sqrt(((table - means[:, None]) ** 2).mean(axis=1))
            if side == "test":
                results[f"rank_test_{label}"] = _rank(means)
    return results
