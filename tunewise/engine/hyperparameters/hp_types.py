"""Keras Tuner's module path ``keras_tuner.engine.hyperparameters.hp_types``: the hyperparameter
types (defined in :mod:`tunewise.space`) and their ``serialize``/``deserialize``."""

from ...space import Boolean, Choice, Fixed, Float, Int, Numerical, deserialize, serialize

__all__ = ["Boolean", "Choice", "Fixed", "Float", "Int", "Numerical", "deserialize", "serialize"]
