"""Keras Tuner's ``keras_tuner.tuners.sklearn_tuner`` path (needs scikit-learn)."""

from ..integrations.sklearn import SklearnTuner

__all__ = ["SklearnTuner"]
