"""Keras Tuner's ``keras_tuner.engine.oracle`` path: ``Oracle``, ``Objective``, ``synchronized``."""

from ..objective import Objective
from ..oracles import Oracle, synchronized

__all__ = ["Objective", "Oracle", "synchronized"]
