"""Keras Tuner's module path ``keras_tuner.engine.hyperparameters``: tunewise's hyperparameter
classes (defined in :mod:`tunewise.space`), so that
``from tunewise.engine.hyperparameters import HyperParameters`` works as the Keras Tuner
import does."""

from ...space import (
    Boolean,
    Choice,
    Fixed,
    Float,
    HyperParameter,
    HyperParameters,
    Int,
    deserialize,
    serialize,
)
from . import hp_types

__all__ = [
    "Boolean",
    "Choice",
    "Fixed",
    "Float",
    "HyperParameter",
    "HyperParameters",
    "Int",
    "deserialize",
    "hp_types",
    "serialize",
]
