"""Keras Tuner's ``keras_tuner.tuners.hyperband`` path."""

from ..integrations.keras import Hyperband
from ..oracles import HyperbandOracle

__all__ = ["Hyperband", "HyperbandOracle"]
