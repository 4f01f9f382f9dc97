"""Small statistics the checks share (no SciPy needed at import time)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman rank correlation (average ranks for ties); None if undefined."""
    if len(a) != len(b) or len(a) < 3:
        return None
    ra, rb = _ranks(np.asarray(a, float)), _ranks(np.asarray(b, float))
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    order = x.argsort(kind="mergesort")
    ranks = np.empty(len(x), float)
    ranks[order] = np.arange(len(x), dtype=float)
    for v in np.unique(x):  # average ties
        tie = x == v
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    return ranks


def trend(values: Sequence[float]) -> tuple[float, float]:
    """Least-squares slope per step and the residual standard deviation around the line."""
    y = np.asarray(values, float)
    n = len(y)
    if n < 3:
        return 0.0, 0.0
    x = np.arange(n, dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (slope * x + intercept)
    return float(slope), float(math.sqrt((resid**2).sum() / max(1, n - 2)))


def jitter(values: Sequence[float]) -> float:
    """Epoch-to-epoch noise: the median absolute first difference of the detrended values."""
    y = np.asarray(values, float)
    if len(y) < 3:
        return 0.0
    slope, _ = trend(y)
    detrended = y - slope * np.arange(len(y))
    return float(np.median(np.abs(np.diff(detrended))))
