"""Keras Tuner's ``keras_tuner.engine.hypermodel`` path: ``HyperModel``."""

from ..integrations.keras._hypermodel import HyperModel

__all__ = ["HyperModel"]
