"""Keras Tuner's ``keras_tuner.tuners.gridsearch`` path."""

from ..integrations.keras import GridSearch
from ..oracles import GridSearchOracle

__all__ = ["GridSearch", "GridSearchOracle"]
