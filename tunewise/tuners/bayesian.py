"""Keras Tuner's ``keras_tuner.tuners.bayesian`` path."""

from ..integrations.keras import BayesianOptimization
from ..oracles import BayesianOptimizationOracle

__all__ = ["BayesianOptimization", "BayesianOptimizationOracle"]
