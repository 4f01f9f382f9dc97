"""Keras Tuner's ``keras_tuner.engine.objective`` path."""

from ..objective import MultiObjective, Objective, create_objective

__all__ = ["MultiObjective", "Objective", "create_objective"]
