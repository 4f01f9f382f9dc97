"""``HyperModel``: a model-building recipe with an overridable ``fit`` (Keras Tuner's class)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class HyperModel:
    """Subclass and override ``build(hp)``; override ``fit(hp, model, *args, **kwargs)`` to
    tune how the model trains (batch size, epochs, data preprocessing).

    ``fit`` may return a Keras ``History``, a number (the objective's value) or a dict of
    metrics, as in Keras Tuner.
    """

    def __init__(self, name: str | None = None, tunable: bool = True) -> None:
        self.name = name
        self.tunable = tunable

    def build(self, hp: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__}.build(hp) is not implemented: override it to return a "
            "compiled Keras model."
        )

    def declare_hyperparameters(self, hp: Any) -> None:
        """Register hyperparameters before the first build (optional)."""

    def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
        return model.fit(*args, **kwargs)


class FunctionHyperModel(HyperModel):
    """Wraps a plain ``build(hp)`` function."""

    def __init__(self, build_fn: Callable[[Any], Any]) -> None:
        super().__init__(name=getattr(build_fn, "__name__", None))
        self._build_fn = build_fn

    def build(self, hp: Any) -> Any:
        return self._build_fn(hp)


def as_hypermodel(hypermodel: Any) -> HyperModel | None:
    """A HyperModel from what the user passed: a HyperModel, a build function, or None."""
    if hypermodel is None or isinstance(hypermodel, HyperModel):
        return hypermodel
    if hasattr(hypermodel, "build") and hasattr(hypermodel, "fit"):
        return hypermodel  # a keras_tuner.HyperModel or another duck-typed one
    if callable(hypermodel):
        return FunctionHyperModel(hypermodel)
    raise TypeError(
        "hypermodel must be a HyperModel or a function build(hp) that returns a compiled "
        f"Keras model; got {type(hypermodel).__name__}."
    )
