"""``HyperModel``: a model-building recipe with an overridable ``fit`` (Keras Tuner's class)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ...errors import InvalidArgumentError


class HyperModel:
    """Subclass and override ``build(hp)``; override ``fit(hp, model, *args, **kwargs)`` to
    tune how the model trains (batch size, epochs, data preprocessing).

    ``fit`` may return a Keras ``History``, a number (the objective's value) or a dict of
    metrics, as in Keras Tuner.
    """

    def __init__(self, name: str | None = None, tunable: bool = True) -> None:
        self.name = name
        self.tunable = tunable

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # ``tunable=False`` (Keras Tuner's rule): ``build(hp)`` runs on a copy of ``hp``, so
        # the hyperparameters it defines stay out of the caller's space; names the caller
        # defined beforehand keep their values, the others take their defaults.
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_honours_tunable", False):
            cls.build = _honouring_tunable(build)  # type: ignore[method-assign]

    def build(self, hp: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__}.build(hp) is not implemented: override it to return a "
            "compiled Keras model."
        )

    def declare_hyperparameters(self, hp: Any) -> None:
        """Register hyperparameters before the first build (optional)."""

    def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
        return model.fit(*args, **kwargs)


def _honouring_tunable(build: Callable[..., Any]) -> Callable[..., Any]:
    """``build`` that runs on ``hp.copy()`` when its hypermodel's ``tunable`` is False."""

    @functools.wraps(build)
    def build_honouring_tunable(self: HyperModel, hp: Any, *args: Any, **kwargs: Any) -> Any:
        if not getattr(self, "tunable", True) and hasattr(hp, "copy"):
            hp = hp.copy()
        return build(self, hp, *args, **kwargs)

    build_honouring_tunable._honours_tunable = True  # type: ignore[attr-defined]
    return build_honouring_tunable


class DefaultHyperModel(HyperModel):
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
        return DefaultHyperModel(hypermodel)
    raise InvalidArgumentError(
        "The `hypermodel` argument should be either a callable with signature build(hp) "
        "returning a compiled Keras model, or an instance of `HyperModel`; got "
        f"{hypermodel!r} of type {type(hypermodel).__name__}."
    )


FunctionHyperModel = DefaultHyperModel  # the name this class had before (Keras Tuner's is above)
