"""The search space of a scikit-learn search: a ``build(hp)`` function or a dict of definitions.

Either way it becomes one function ``params_for(hp) -> dict`` of estimator parameters (the
names ``set_params`` takes, ``step__param`` in a pipeline), called define-by-run with the
trial's :class:`~tunewise.HyperParameters`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ...errors import SpaceDefinitionError
from ...space import Choice, HyperParameter, HyperParameters

ParamsFor = Callable[[HyperParameters], dict[str, Any]]


def _from_dict(space: Mapping[Any, Any]) -> tuple[ParamsFor, str]:
    definitions: dict[str, HyperParameter] = {}
    for key, spec in space.items():
        if not isinstance(key, str):
            raise TypeError(
                f"space keys must be parameter names (str), got {key!r} of type "
                f"{type(key).__name__}; use the names estimator.get_params() lists."
            )
        if isinstance(spec, HyperParameter):
            definition = spec if spec.name == key else dataclasses.replace(spec, name=key)
        elif isinstance(spec, (list, tuple)):
            definition = Choice(key, values=tuple(spec))
        else:
            raise SpaceDefinitionError(_not_a_definition(key, spec))
        definitions[key] = definition

    def params_for(hp: HyperParameters) -> dict[str, Any]:
        return {key: hp._register(definition) for key, definition in definitions.items()}

    described = ", ".join(f"{k}={d.describe()}" for k, d in sorted(definitions.items()))
    return params_for, f"dict({described})"


def _not_a_definition(key: str, spec: Any) -> str:
    """The one line for a space entry that is no definition (a scipy distribution, a range...)."""
    if isinstance(spec, range) and spec:
        return (
            f"space[{key!r}]={spec!r} is a range, not a tunewise hyperparameter. Pass "
            f"tunewise.space.Int({key!r}, {spec[0]}, {spec[-1]}, step={spec.step}) "
            f"(or list(range(...)) for a Choice)."
        )
    if hasattr(spec, "rvs"):  # a scipy.stats distribution, RandomizedSearchCV's habit
        return (
            f"space[{key!r}] is a scipy.stats distribution ({type(spec).__name__}); tunewise "
            "samples from its own definitions. Pass e.g. "
            f"tunewise.space.Float({key!r}, 1e-3, 1e3, sampling='log') for a loguniform, "
            f"tunewise.space.Int({key!r}, low, high) for a randint."
        )
    return (
        f"space[{key!r}]={spec!r} is not a tunewise hyperparameter. Pass e.g. "
        f"{{{key!r}: tunewise.space.Float({key!r}, 1e-3, 1e3, sampling='log')}}, a list "
        "of values (a Choice), or a build(hp) function that returns the parameters."
    )


def _from_function(build: Callable[[HyperParameters], Any]) -> tuple[ParamsFor, str]:
    def params_for(hp: HyperParameters) -> dict[str, Any]:
        params = build(hp)
        if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
            raise TypeError(
                "build(hp) must return a dict of the estimator's parameters, e.g. "
                "{'C': hp.Float('C', 1e-3, 1e3, sampling='log')}; it returned "
                f"{params!r} of type {type(params).__name__}."
            )
        return dict(params)

    name = getattr(build, "__qualname__", None) or type(build).__qualname__
    return params_for, f"{getattr(build, '__module__', '')}.{name}"


def as_params_for(space: Any) -> tuple[ParamsFor, str]:
    """``(params_for, description)`` from what the user passed as ``space``.

    ``space`` is a ``build(hp)`` function returning the estimator's parameters, or a dict
    ``{parameter: hyperparameter}`` (a list as value is a Choice). The description names the
    space for the study's identity.
    """
    if isinstance(space, Mapping):
        if not space:
            raise ValueError("space={} is empty: give at least one parameter to tune.")
        return _from_dict(space)
    if callable(space):
        return _from_function(space)
    raise TypeError(
        "space must be a build(hp) function returning the estimator's parameters, or a dict "
        f"{{parameter: tunewise hyperparameter}}; got {type(space).__name__}."
    )
