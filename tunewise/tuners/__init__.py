"""Keras Tuner's ``keras_tuner.tuners`` path: the tuner classes (and their modules)."""

from ..integrations.keras import BayesianOptimization, GridSearch, Hyperband, RandomSearch, Tuner
from . import bayesian, gridsearch, hyperband, randomsearch  # noqa: F401 - Keras Tuner's paths


def __getattr__(name: str):  # scikit-learn is optional: load its tuner on first use
    if name == "SklearnTuner":
        from ..integrations.sklearn import SklearnTuner

        return SklearnTuner
    if name == "sklearn_tuner":
        import importlib

        return importlib.import_module(".sklearn_tuner", __name__)
    raise AttributeError(f"module 'tunewise.tuners' has no attribute {name!r}")


__all__ = ["BayesianOptimization", "GridSearch", "Hyperband", "RandomSearch", "SklearnTuner",
           "Tuner"]
