"""Keras Tuner's ``keras_tuner.tuners.randomsearch`` path."""

from ..integrations.keras import RandomSearch
from ..oracles import RandomSearchOracle

__all__ = ["RandomSearch", "RandomSearchOracle"]
