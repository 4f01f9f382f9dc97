"""Feature encoding of a search space for model-based samplers.

Two coordinate systems appear here:

* the *unit* coordinates of the space module: one number in ``[0, 1]`` per hyperparameter,
  in registration order, exactly what :func:`tunewise.space.decode` takes (NaN marks an
  inactive or missing value, as :func:`tunewise.space.encode` writes it);
* the *features* a Gaussian process sees, built by :class:`SpaceEncoding`:

  - ``Int``, ``Float`` and ordered ``Choice``: one column, the unit coordinate (log and
    reverse-log scales are already in ``to_unit``), rounded to the centre of its grid bin
    when the hyperparameter is discrete;
  - ``Boolean``: one column, 0 or 1;
  - unordered ``Choice`` with ``k >= 2`` values: ``k`` one-hot columns;
  - ``Fixed`` and one-value ``Choice``: no column (they never vary);
  - an inactive hyperparameter (its condition is false, or the trial lacks it): its columns
    hold a neutral constant (:data:`NEUTRAL` for one column, ``1/k`` for one-hot), so that
    every inactive point agrees along them and only the parent's columns tell them apart.

Mapping unit coordinates to features *projects* them: discrete columns are rounded, one-hot
columns are the arg-max bin, and conditions are evaluated exactly as ``decode`` does, so the
features of any unit point are those of the configuration it decodes to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..space import Boolean, Choice, Fixed, Float, HyperParameter, Int, decode, encode

#: Feature value of an inactive one-column hyperparameter: the middle of the unit interval,
#: so that it is at most half the range away from any active value.
NEUTRAL = 0.5

#: A discrete numeric hyperparameter with at least this many grid values is relaxed to a
#: continuous coordinate during gradient refinement (and rounded afterwards); below it, a
#: step of one bin is large and local perturbation explores it instead.
REFINE_MIN_GRID = 16

#: Largest grid turned into a lookup table of "does grid value i satisfy the condition";
#: beyond it (only huge log-scaled Int ranges) values are decoded one by one.
MAX_LOOKUP_GRID = 4096

_KINDS = ("numeric", "bool", "onehot", "none")


def _is_index_grid(hp: HyperParameter) -> bool:
    """True when ``from_unit`` picks bin ``floor(u * n)`` of ``n`` equal bins."""
    if isinstance(hp, (Choice, Boolean)):
        return True
    if isinstance(hp, (Int, Float)):
        return hp.step is not None and hp.sampling in ("linear", "log")
    return False


def _bin_indices(u: np.ndarray, n: int) -> np.ndarray:
    """Vectorised ``_bin_index`` of the space module: NaN-free ``u`` to bin 0..n-1 (as
    floats past 2**53 bins, ``Int("n", 0, 10**30)``, where no int64 holds the index)."""
    idx = np.minimum(np.floor(np.clip(u, 0.0, 1.0) * float(n)), float(n - 1))
    return idx.astype(int) if n <= 2**53 else idx


class SpaceEncoding:
    """Feature layout of a space (a sequence of hyperparameter definitions, parents first).

    Attributes:
        space: the definitions, in order; unit rows have ``len(space)`` columns.
        n_features: number of feature columns.
        columns: for each hyperparameter, the feature columns it owns (possibly empty).
        kinds: for each hyperparameter, one of ``numeric``, ``bool``, ``onehot``, ``none``.
        relaxable: indices of hyperparameters whose single feature column may be treated as
            continuous during gradient refinement (continuous ones and large grids).
    """

    def __init__(self, space: Sequence[HyperParameter]) -> None:
        self.space = list(space)
        self.index = {hp.name: i for i, hp in enumerate(self.space)}
        self.kinds: list[str] = []
        self.columns: list[list[int]] = []
        self.relaxable: list[int] = []
        col = 0
        for i, hp in enumerate(self.space):
            kind = self._kind(hp)
            width = {"numeric": 1, "bool": 1, "onehot": hp.grid_size or 0, "none": 0}[kind]
            self.kinds.append(kind)
            self.columns.append(list(range(col, col + width)))
            col += width
            if kind == "numeric" and (hp.grid_size is None or hp.grid_size >= REFINE_MIN_GRID):
                self.relaxable.append(i)
        self.n_features = col
        self._lookups: dict[tuple[int, int], np.ndarray | None] = {}

    @staticmethod
    def _kind(hp: HyperParameter) -> str:
        if isinstance(hp, Fixed):
            return "none"
        if isinstance(hp, Boolean):
            return "bool"
        if isinstance(hp, Choice) and not hp.ordered:
            return "onehot" if len(hp.values) >= 2 else "none"
        return "numeric"

    @property
    def dim(self) -> int:
        """Number of unit coordinates (one per hyperparameter, Fixed ones included)."""
        return len(self.space)

    # ------------------------------------------------------------------ configurations
    def unit_from_config(self, values: dict[str, Any]) -> np.ndarray:
        """Unit coordinates of a configuration; NaN where a value is absent or invalid."""
        return encode(self.space, values)

    def config_from_unit(self, unit: Sequence[float]) -> dict[str, Any]:
        """The configuration (active values only) a unit point decodes to."""
        return decode(self.space, [0.5 if np.isnan(u) else float(u) for u in unit])

    def features_from_configs(self, configs: Sequence[dict[str, Any]]) -> np.ndarray:
        """Feature rows, shape ``(len(configs), n_features)``, of stored configurations."""
        if not configs:
            return np.zeros((0, self.n_features))
        unit = np.vstack([self.unit_from_config(c) for c in configs])
        return self.features_from_unit(unit)

    # ------------------------------------------------------------------ vectorised maps
    def active_mask(self, unit: np.ndarray) -> np.ndarray:
        """Boolean ``(n, len(space))``: which hyperparameters each unit row leaves active.

        A hyperparameter is active when every condition's parent is active with one of the
        listed values (the rule of :func:`tunewise.space.is_active`); a NaN coordinate marks
        the hyperparameter itself as missing, which makes it and its children inactive.
        """
        unit = np.atleast_2d(np.asarray(unit, dtype=float))
        active = ~np.isnan(unit)
        for i, hp in enumerate(self.space):
            for k, cond in enumerate(hp.conditions):
                p = self.index.get(cond.parent)
                if p is None or p >= i:  # parent not in the (tunable) space: never present
                    active[:, i] = False
                    continue
                ok = active[:, p].copy()
                ok[ok] = self._satisfies(i, k, p, unit[ok, p])
                active[:, i] &= ok
        return active

    def _satisfies(self, i: int, k: int, p: int, u: np.ndarray) -> np.ndarray:
        """Whether parent ``p`` at unit coordinates ``u`` meets condition ``k`` of ``i``."""
        parent = self.space[p]
        allowed = self.space[i].conditions[k].values
        if (i, k) not in self._lookups:
            table = None
            n = parent.grid_size
            if _is_index_grid(parent) and n is not None and n <= MAX_LOOKUP_GRID:
                table = np.array([parent.grid_value(j) in allowed for j in range(n)], bool)
            self._lookups[(i, k)] = table
        table = self._lookups[(i, k)]
        if table is not None:
            return table[_bin_indices(u, len(table))]
        return np.array([parent.from_unit(float(x)) in allowed for x in u], dtype=bool)

    def project_unit(self, unit: np.ndarray) -> np.ndarray:
        """Round each discrete coordinate to its bin centre (continuous ones are clipped).

        NaN stays NaN. The result decodes to the same configuration as ``unit``.
        """
        unit = np.array(np.atleast_2d(unit), dtype=float)
        for i, hp in enumerate(self.space):
            u = unit[:, i]
            ok = ~np.isnan(u)
            n = hp.grid_size
            if n is None:
                u[ok] = np.clip(u[ok], 0.0, 1.0)
            elif _is_index_grid(hp):
                u[ok] = (_bin_indices(u[ok], n) + 0.5) / n
            else:  # a warped grid: round through the definition itself
                u[ok] = [hp.to_unit(hp.from_unit(float(x))) for x in u[ok]]
        return unit

    def features_from_unit(self, unit: np.ndarray, project: bool = True) -> np.ndarray:
        """Features of unit rows ``(n, len(space))`` -> ``(n, n_features)``.

        With ``project=False`` numeric coordinates are taken as they are (the continuous
        relaxation used by gradient refinement); one-hot and Boolean columns and the
        conditions are always evaluated exactly.
        """
        unit = np.atleast_2d(np.asarray(unit, dtype=float))
        active = self.active_mask(unit)
        if project:
            unit = self.project_unit(unit)
        out = np.empty((unit.shape[0], self.n_features))
        for i, hp in enumerate(self.space):
            cols, kind, on = self.columns[i], self.kinds[i], active[:, i]
            if kind == "none":
                continue
            if kind == "numeric":
                c = cols[0]
                out[:, c] = NEUTRAL
                out[on, c] = np.clip(unit[on, i], 0.0, 1.0)
            elif kind == "bool":
                c = cols[0]
                out[:, c] = NEUTRAL
                out[on, c] = _bin_indices(unit[on, i], 2)
            else:
                k = len(cols)
                block = np.full((unit.shape[0], k), 1.0 / k)
                idx = _bin_indices(unit[on, i], k)
                block[on] = 0.0
                block[np.flatnonzero(on), idx] = 1.0
                out[:, cols] = block
        return out

    def relaxed_columns(self, unit_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For one unit row: (hyperparameter indices, feature columns) refinable by gradient.

        Only active relaxable hyperparameters count; their feature equals their unit
        coordinate in the relaxation, so a gradient in features is a gradient in units.
        """
        active = self.active_mask(unit_row[None, :])[0]
        hps = np.array([i for i in self.relaxable if active[i]], dtype=int)
        cols = np.array([self.columns[i][0] for i in hps], dtype=int)
        return hps, cols

    def discrete_mask(self) -> np.ndarray:
        """Boolean per hyperparameter: True where the value is on a finite grid."""
        return np.array([hp.grid_size is not None for hp in self.space], dtype=bool)

    def grid_sizes(self) -> np.ndarray:
        """Grid size per hyperparameter (0 for continuous ones), as floats: a grid may be
        larger than any int64 (``Int("n", 0, 10**30)``)."""
        return np.array([float(hp.grid_size or 0) for hp in self.space], dtype=float)
