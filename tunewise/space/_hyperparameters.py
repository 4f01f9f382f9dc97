"""Hyperparameter definitions and their encoding to and from the unit interval.

The classes take Keras Tuner's arguments (``Int(name, min_value, max_value, step=None,
sampling="linear", default=None, conditions=None)``, ``Float(...)`` alike,
``Choice(name, values, ordered=None, default=None)``, ``Boolean(name, default=False)``,
``Fixed(name, value)``) and write Keras Tuner's config format (:meth:`HyperParameter.get_config`).

Every hyperparameter maps a value to a point ``u`` in ``[0, 1]`` (``to_unit``, Keras Tuner's
``value_to_prob``) and back (``from_unit``, Keras Tuner's ``prob_to_value``). Samplers work
only in that unit cube; the contract every type keeps is

* ``from_unit(u)`` is a valid value for every ``u`` in ``[0, 1]`` (inside the bounds, on the grid);
* ``from_unit(to_unit(v)) == v`` for every valid value ``v``.

Discrete hyperparameters (an ``Int``, a ``Float`` with a ``step``, a ``Choice``, a ``Boolean``)
split the unit interval into equal bins, one per grid value in index order, so that a uniform
``u`` draws each grid value with the same probability; value ``i`` of ``n`` sits at the bin
centre ``(i + 0.5) / n``. Grids (``step`` given):

* ``sampling="linear"``: ``min, min + step, min + 2 * step, ...`` (a step is added);
* ``sampling="log"``: ``min, min * step, min * step**2, ...`` (the step is a multiplier > 1);
* ``sampling="reverse_log"``: ``max + min - min * step**i`` for ``i = 0, 1, ...``: the mirror
  image of the log grid, dense near ``max_value``; index 0 is ``max_value``, so on this grid
  a larger ``u`` gives a *smaller* value (Keras Tuner's order).

Continuous ``Float`` values (no step) use a warp of their range, increasing in ``u``:
linear ``min + u * (max - min)``, log ``min * (max / min) ** u``, reverse-log
``max + min - min * (max / min) ** (1 - u)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import SpaceDefinitionError
from ._base import (
    N_VALUE_POINTS,
    SAMPLINGS,
    HyperParameter,
    normalise_float,
    plain_value,
)
from ._categorical import Boolean, Choice, Fixed
from ._conditions import Condition, Parent
from ._numerical import Float, Int, Numerical, float_points

__all__ = [
    "HYPERPARAMETER_CLASSES",
    "N_VALUE_POINTS",
    "SAMPLINGS",
    "Boolean",
    "Choice",
    "Condition",
    "Fixed",
    "Float",
    "HyperParameter",
    "Int",
    "Numerical",
    "Parent",
    "float_points",
    "hyperparameter_from_config",
    "hyperparameter_to_config",
    "is_finite_space",
    "normalise_float",
    "plain_value",
]

HYPERPARAMETER_CLASSES: dict[str, type[HyperParameter]] = {
    cls.class_name: cls for cls in (Int, Float, Choice, Boolean, Fixed)
}


def hyperparameter_from_config(config: dict[str, Any]) -> HyperParameter:
    """Rebuild a hyperparameter from ``{"class_name": ..., "config": {...}}`` (Keras Tuner's
    serialised form, or tunewise's older one with ``{"parent", "values"}`` conditions)."""
    class_name = config.get("class_name")
    cls = HYPERPARAMETER_CLASSES.get(class_name)  # type: ignore[arg-type]
    if cls is None:
        raise SpaceDefinitionError(
            f"Unknown hyperparameter class {class_name!r}; expected one of "
            f"{sorted(HYPERPARAMETER_CLASSES)}."
        )
    return cls.from_config(config["config"])


def hyperparameter_to_config(hp: HyperParameter) -> dict[str, Any]:
    """``{"class_name": "Int", "config": hp.get_config()}`` (Keras Tuner's serialised form)."""
    return {"class_name": hp.class_name, "config": hp.get_config()}


def is_finite_space(hps: Sequence[HyperParameter]) -> bool:
    return all(hp.grid_size is not None for hp in hps)
