"""``serialize`` / ``deserialize``: Keras Tuner's ``{"class_name": ..., "config": ...}`` form of
hyperparameters, containers and conditions.

``deserialize(serialize(x))`` rebuilds ``x`` (an equal definition, or a container with the
same space and values). The form is what Keras Tuner's own functions write and read, so a
definition serialised by one library loads in the other.
"""

from __future__ import annotations

from typing import Any

from ._conditions import Condition, serialize_condition
from ._container import HyperParameters
from ._hyperparameters import HYPERPARAMETER_CLASSES, HyperParameter

_CLASSES: dict[str, Any] = {
    **HYPERPARAMETER_CLASSES,
    "HyperParameter": HyperParameter,
    "HyperParameters": HyperParameters,
    "Parent": Condition,
    "Condition": Condition,
}


def serialize(obj: HyperParameter | HyperParameters | Condition) -> dict[str, Any]:
    """``{"class_name": <the class>, "config": obj.get_config()}``."""
    if isinstance(obj, Condition):
        return serialize_condition(obj)
    if isinstance(obj, HyperParameter):
        return {"class_name": obj.class_name, "config": obj.get_config()}
    if isinstance(obj, HyperParameters):
        return {"class_name": "HyperParameters", "config": obj.get_config()}
    raise TypeError(
        f"serialize() takes a hyperparameter, a HyperParameters or a condition, got {obj!r}."
    )


def deserialize(config: dict[str, Any]) -> HyperParameter | HyperParameters | Condition:
    """The object a :func:`serialize` form (Keras Tuner's or tunewise's) describes."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"deserialize() takes {{'class_name': ..., 'config': {{...}}}}, got {config!r}."
        )
    cls = _CLASSES.get(config["class_name"])
    if cls is None:
        raise ValueError(
            f"Unknown class {config['class_name']!r}; expected one of {sorted(_CLASSES)}."
        )
    return cls.from_config(dict(config.get("config", {})))
