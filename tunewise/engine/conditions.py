"""Keras Tuner's module path ``keras_tuner.engine.conditions``: the conditions of conditional
hyperparameters (defined in :mod:`tunewise.space`)."""

from ..space import Condition, Parent, deserialize, serialize

__all__ = ["Condition", "Parent", "deserialize", "serialize"]
