"""Conditions: when a hyperparameter is active.

A condition names a *parent* hyperparameter and the values of it that switch the child on.
``Parent`` is the Keras Tuner name of that one kind of condition (``Parent("model", ["cnn"])``,
what ``hp.conditional_scope("model", "cnn")`` attaches to the hyperparameters defined inside);
``Condition`` is the same class under tunewise's older name and the base class that a
``isinstance(c, Condition)`` check matches.

Values are standardised as Keras Tuner does: one value becomes a one-element tuple, values are
``int``, ``float``, ``str`` or ``bool`` (judged by the first one: strings are made ``str``,
integers ``int``); a bad name or values raise :class:`~tunewise.errors.SpaceDefinitionError`
(a ValueError and a TypeError). Conditions are immutable, hashable and compare by ``(name, values)``.

Config (Keras Tuner's): ``{"name": parent, "values": [...]}``; serialised with its class as
``{"class_name": "Parent", "config": {...}}``. tunewise's older ``{"parent": ..., "values": ...}``
still loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import SpaceDefinitionError


def _as_tuple(values: Any) -> tuple[Any, ...]:
    if isinstance(values, (list, tuple)):
        return tuple(values)
    if isinstance(values, (set, frozenset)):
        return tuple(sorted(values, key=repr))
    return (values,)


def _plain(value: Any) -> Any:
    """A NumPy scalar as the matching Python scalar (anything else as is)."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        return item()
    return value


def _standardise(name: str, values: Any) -> tuple[Any, ...]:
    out = tuple(_plain(v) for v in _as_tuple(values))
    if not out:
        raise SpaceDefinitionError(
            f"Condition on {name!r}: values=[] is empty. Pass the parent values that "
            "activate the child, e.g. Parent('model', ['cnn'])."
        )
    first = out[0]
    if isinstance(first, str):
        return tuple(str(v) for v in out)
    if isinstance(first, bool):
        return out
    if isinstance(first, int):
        return tuple(int(v) for v in out)
    if isinstance(first, float):
        return out
    raise SpaceDefinitionError(
        f"Parent({name!r}, {list(out)!r}): Can contain only `int`, `float`, `str`, or `bool` "
        f"values, got a {type(first).__name__} first. Pass values the parent hyperparameter "
        "can take."
    )


class Condition:
    """The hyperparameter is active only while the parent ``name`` takes one of ``values``.

    ``parent`` is an alias of ``name`` (tunewise's older attribute).
    """

    __slots__ = ("name", "values")

    name: str
    values: tuple[Any, ...]

    def __init__(self, name: str, values: Any) -> None:
        if not isinstance(name, str):
            raise SpaceDefinitionError(
                f"Condition: the parent name must be a str, got {name!r}. "
                "Pass the name of the parent hyperparameter."
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "values", _standardise(name, values))

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"Conditions are immutable; make a new one instead of setting {key}.")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name, self.values))

    @property
    def parent(self) -> str:
        """The parent hyperparameter's name (same as ``name``)."""
        return self.name

    def is_active(self, values: Mapping[str, Any]) -> bool:
        """True when ``values`` (the active values) hold the parent with one of ``values``."""
        return self.name in values and values[self.name] in self.values

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Condition):
            return NotImplemented
        return self.name == other.name and self.values == other.values

    def __hash__(self) -> int:
        return hash((self.name, self.values))

    def __repr__(self) -> str:
        return f"Parent(name: {self.name!r}, values: {list(self.values)!r})"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "values": list(self.values)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Condition:
        """A condition from its config, a serialised ``{"class_name", "config"}`` one, or
        tunewise's older ``{"parent", "values"}``."""
        if isinstance(config, Condition):
            return config
        if "class_name" in config and "config" in config:
            kind = config["class_name"]
            if kind not in ("Parent", "Condition"):
                raise SpaceDefinitionError(
                    f"Unknown condition class {kind!r}; tunewise knows 'Parent' conditions "
                    "(a parent hyperparameter taking one of a list of values)."
                )
            config = config["config"]
        name = config.get("name", config.get("parent"))
        if name is None or "values" not in config:
            raise SpaceDefinitionError(
                f"Condition config {dict(config)!r} lacks 'name' or 'values'. Expected "
                "{'name': parent_name, 'values': [...]}."
            )
        return Parent(name, config["values"])


class Parent(Condition):
    """Keras Tuner's condition: the parent hyperparameter ``name`` is one of ``values``."""

    __slots__ = ()


def serialize_condition(condition: Condition) -> dict[str, Any]:
    """``{"class_name": "Parent", "config": {"name": ..., "values": [...]}}``."""
    return {"class_name": "Parent", "config": condition.get_config()}


def as_conditions(conditions: Any) -> tuple[Condition, ...]:
    """Conditions from None, one condition, or a sequence of conditions or their configs."""
    if conditions is None:
        return ()
    if isinstance(conditions, (Condition, Mapping)):
        conditions = [conditions]
    out = []
    for c in conditions:
        if isinstance(c, Condition):
            out.append(c)
        elif isinstance(c, Mapping):
            out.append(Condition.from_config(c))
        else:
            raise SpaceDefinitionError(
                f"conditions must be Parent conditions (or their configs), got {c!r}. "
                "Pass e.g. conditions=[Parent('model', ['cnn'])]."
            )
    return tuple(out)
