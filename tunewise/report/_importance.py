"""Hyperparameter importance by functional ANOVA (fANOVA) on a random-forest surrogate.

The method (Hutter, Hoos and Leyton-Brown, "An Efficient Approach for Assessing
Hyperparameter Importance", ICML 2014): fit a random forest to the scores of the completed
trials, with each hyperparameter as one coordinate of the unit cube (its ``to_unit`` value, so
a log range is uniform in log space). A regression tree is piecewise constant over boxes, so
the variance of its prediction over the uniform cube, and the variance of each one-variable
marginal ``f_i(x_i)`` (the prediction averaged over every other coordinate), are exact sums over
its leaves. The importance of hyperparameter ``i`` in one tree is ``Var f_i / Var f``, the share
of the variance its main effect explains; the forest's is the mean over trees. The shares are
also reported normalised to sum to 1 (interactions take the rest of the raw variance).

An inactive conditional hyperparameter sits at the middle of its coordinate (0.5). scikit-learn
(extra ``sklearn`` or ``plots``) fits the forest; the decomposition is computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..diagnostics import SearchHistory
from ._data import _scored, _tuned_names

#: Fewest completed trials the importance is computed from.
MIN_TRIALS = 4


@dataclass(frozen=True)
class Importance:
    """``names`` from most to least important; ``importances`` sum to 1 (0 each when the
    surrogate is flat); ``variance_fractions`` are the unnormalised main-effect shares."""

    names: list[str]
    importances: list[float]
    variance_fractions: list[float]
    method: str
    n_trials: int

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.names, self.importances))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tree_main_effects(
    feature: Sequence[int],
    threshold: Sequence[float],
    left: Sequence[int],
    right: Sequence[int],
    value: Sequence[float],
    n_features: int,
) -> np.ndarray:
    """``Var f_i / Var f`` for each feature of one regression tree over ``[0, 1]^n_features``.

    The tree is given as arrays over its nodes (node 0 is the root): ``feature[k]`` and
    ``threshold[k]`` of a split node (``x[feature] <= threshold`` goes ``left``), ``-1`` children
    at a leaf, and ``value[k]`` the leaf's prediction. Zeros for a constant tree.
    """
    leaves_lo, leaves_hi, leaves_val = [], [], []
    stack = [(0, np.zeros(n_features), np.ones(n_features))]
    while stack:
        node, lo, hi = stack.pop()
        if left[node] < 0:
            leaves_lo.append(lo)
            leaves_hi.append(hi)
            leaves_val.append(float(value[node]))
            continue
        f, t = int(feature[node]), float(threshold[node])
        cut = min(max(t, lo[f]), hi[f])  # a split outside the box leaves one side empty
        hi_left = hi.copy()
        hi_left[f] = cut
        lo_right = lo.copy()
        lo_right[f] = cut
        stack.append((int(left[node]), lo, hi_left))
        stack.append((int(right[node]), lo_right, hi))
    lo_a, hi_a, val = np.array(leaves_lo), np.array(leaves_hi), np.array(leaves_val)
    widths = hi_a - lo_a
    volume = np.prod(widths, axis=1)
    keep = volume > 0
    lo_a, hi_a, val, widths, volume = lo_a[keep], hi_a[keep], val[keep], widths[keep], volume[keep]
    mean = float(np.sum(volume * val))
    total = float(np.sum(volume * (val - mean) ** 2))
    out = np.zeros(n_features)
    if total <= 1e-300:
        return out
    for i in range(n_features):
        cuts = np.unique(np.concatenate([lo_a[:, i], hi_a[:, i], [0.0, 1.0]]))
        a, b = cuts[:-1], cuts[1:]
        inside = (lo_a[:, i][:, None] <= a[None, :]) & (hi_a[:, i][:, None] >= b[None, :])
        # Each leaf adds its value times its volume in the other coordinates.
        weight = val * volume / widths[:, i]
        marginal = weight @ inside
        out[i] = float(np.sum((b - a) * (marginal - mean) ** 2)) / total
    return out


def _unit_matrix(history: SearchHistory, names: list[str], trials: list[Any]) -> np.ndarray:
    space = {hp.name: hp for hp in history.space}
    x = np.full((len(trials), len(names)), 0.5)
    for j, name in enumerate(names):
        hp = space.get(name)
        seen = sorted({repr(t.values.get(name)) for t in trials if name in t.values})
        for i, t in enumerate(trials):
            value = t.values.get(name)
            if value is None:
                continue
            try:
                u = float(hp.to_unit(value)) if hp is not None else None
            except (TypeError, ValueError):
                u = None
            if u is None or not np.isfinite(u):  # not in the stored space: rank of the value
                u = (seen.index(repr(value)) + 0.5) / len(seen)
            x[i, j] = min(1.0, max(0.0, u))
    return x


def hyperparameter_importance(
    history: SearchHistory, n_trees: int = 64, seed: int = 0
) -> Importance | None:
    """fANOVA importance of the tuned hyperparameters (see the module docstring).

    None with fewer than :data:`MIN_TRIALS` completed trials or no varying hyperparameter.
    """
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Hyperparameter importance needs scikit-learn: pip install 'tunewise[plots]'."
        ) from exc
    trials = _scored(history)
    names = _tuned_names(history, trials)
    if len(trials) < MIN_TRIALS or not names:
        return None
    x = _unit_matrix(history, names, trials)
    y = np.array([float(t.score) for t in trials])
    forest = RandomForestRegressor(
        n_estimators=n_trees, max_features=1.0, min_samples_leaf=1, random_state=seed
    ).fit(x, y)
    fractions = np.zeros(len(names))
    for estimator in forest.estimators_:
        tree = estimator.tree_
        fractions += tree_main_effects(
            tree.feature,
            tree.threshold,
            tree.children_left,
            tree.children_right,
            tree.value[:, 0, 0],
            len(names),
        )
    fractions /= len(forest.estimators_)
    total = fractions.sum()
    shares = fractions / total if total > 0 else np.zeros_like(fractions)
    order = np.argsort(-shares, kind="stable")
    return Importance(
        names=[names[i] for i in order],
        importances=[float(shares[i]) for i in order],
        variance_fractions=[float(fractions[i]) for i in order],
        method=f"fANOVA on a random forest of {n_trees} trees ({len(trials)} completed trials)",
        n_trials=len(trials),
    )
