"""Keras Tuner's ``keras_tuner.engine.base_tuner`` path: ``BaseTuner``."""

from ..integrations._base_tuner import BaseTuner

__all__ = ["BaseTuner"]
