"""Keras integration: Keras-Tuner-compatible tuners over the tunewise engine (needs Keras 3)."""

from ._facades import BayesianOptimization, GridSearch, Hyperband, RandomSearch
from ._hypermodel import HyperModel
from ._recording import ObjectiveNotLoggedError
from ._tuner import Tuner

__all__ = [
    "BayesianOptimization",
    "GridSearch",
    "HyperModel",
    "Hyperband",
    "ObjectiveNotLoggedError",
    "RandomSearch",
    "Tuner",
]
