"""Categorical hyperparameters: ``Choice``, ``Boolean`` and ``Fixed``, each an equal-bin
grid of its values on the unit interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import SpaceDefinitionError
from ._base import HyperParameter, _bin_center, _bin_index, _value_type, plain_value
from ._keywords import DEFINITION_HINTS, explained_arguments

_checked = explained_arguments(DEFINITION_HINTS, SpaceDefinitionError)


@dataclass(frozen=True, init=False, repr=False, eq=False)
class Choice(HyperParameter):
    """One of a list of values of a single type (int, float, str or bool).

    ``ordered`` defaults to True for numbers (the order of the values means something) and
    must be False for strings and booleans. The default is the first value unless given.
    """

    values: tuple[Any, ...]
    ordered: bool

    class_name: ClassVar[str] = "Choice"

    @_checked
    def __init__(
        self,
        name: str,
        values: Sequence[Any],
        ordered: bool | None = None,
        default: Any = None,
        conditions: Any = None,
        *,
        default_value: Any = None,
    ) -> None:
        self._init_base(name, None, conditions)
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise self._bad(
                f"values={values!r} is not a list",
                f"Pass a list, e.g. hp.Choice({name!r}, [1, 2, 3]).",
            )
        values = tuple(plain_value(v) for v in values)
        if not values:
            raise self._bad(
                "`values` must be provided: got values=[] (empty)", "Pass at least one value."
            )
        types = {_value_type(v) for v in values}
        if len(types) > 1:
            names = sorted(t.__name__ for t in types)
            raise self._bad(
                f"a Choice can contain only one type of value, got values={list(values)!r} "
                f"with the types {names}",
                "Convert them to one type (int, float, str or bool), e.g. all to float.",
            )
        (value_type,) = types
        if value_type not in (int, float, str, bool):
            raise self._bad(
                f"a Choice can contain only `int`, `float`, `str`, or `bool` values, got "
                f"values of type {value_type.__name__}: {list(values)!r}",
                "Use int, float, str or bool values (e.g. names that build() maps to objects).",
            )
        if value_type is float and not all(math.isfinite(v) for v in values):
            raise self._bad(f"values={list(values)!r} hold a non-finite number", "Remove it.")
        if len(set(values)) != len(values):
            raise self._bad(f"values={list(values)!r} hold duplicates", "List each value once.")
        numeric = value_type in (int, float)
        if ordered is None:
            ordered = numeric
        elif ordered and not numeric:
            raise self._bad(
                f"ordered=True is not allowed: `ordered` must be `False` for "
                f"{value_type.__name__} values",
                "Pass ordered=False (or leave it out) for strings and booleans.",
            )
        self._set(values=values, ordered=bool(ordered))
        default = plain_value(default if default is not None else default_value)
        if isinstance(default, float) and value_type is int and default.is_integer():
            default = int(default)
        if default is not None and not self.contains(default):
            raise self._bad(
                f"the default value should be one of the values, got default={default!r} "
                f"for values={list(values)!r}",
                "Pass one of the values as default, or none.",
            )
        if default is not None:
            default = values[self.grid_index(default)]  # the value itself, with its type
        self._set(default_value=default)

    @property
    def default(self) -> Any:
        return self.values[0] if self.default_value is None else self.default_value

    @property
    def grid_size(self) -> int:
        return len(self.values)

    def grid_value(self, index: int) -> Any:
        return self.values[index]

    def grid_index(self, value: Any) -> int:
        value = plain_value(value)
        kind = _value_type(value)
        for i, v in enumerate(self.values):
            same_kind = _value_type(v) is kind or (isinstance(v, float) and kind is int)
            if same_kind and v == value:
                return i
        raise ValueError(f"{value!r} is not one of {list(self.values)!r} ({self.name!r})")

    def contains(self, value: Any) -> bool:
        try:
            self.grid_index(value)
        except ValueError:
            return False
        return True

    def to_unit(self, value: Any) -> float:
        return _bin_center(self.grid_index(value), len(self.values))

    def from_unit(self, u: float) -> Any:
        return self.values[_bin_index(u, len(self.values))]

    def _config_fields(self) -> dict[str, Any]:
        return {"values": list(self.values), "ordered": self.ordered}

    def _describe_body(self) -> str:
        body = ", ".join(repr(v) for v in self.values)
        if self.ordered:
            body += ", ordered"
        if self.default_value is not None:
            body += f", default={self.default_value!r}"
        return body

    def _repr_fields(self) -> list[tuple[str, Any]]:
        return [("values", list(self.values)), ("ordered", self.ordered),
                ("default", self.default)]


@dataclass(frozen=True, init=False, repr=False, eq=False)
class Boolean(HyperParameter):
    """True or False; the default is False. ``values`` lists ``(True, False)``, as Keras
    Tuner does; on the unit interval False is the lower half and True the upper."""

    class_name: ClassVar[str] = "Boolean"

    @_checked
    def __init__(
        self, name: str, default: bool = False, conditions: Any = None, *,
        default_value: bool | None = None,
    ) -> None:
        self._init_base(name, None, conditions)
        if default_value is not None:
            default = default_value
        default = plain_value(default)
        if not isinstance(default, bool):
            raise self._bad(
                f"default must be a Python boolean, got default={default!r}",
                "Pass default=True or default=False.",
            )
        self._set(default_value=default)

    @property
    def default(self) -> bool:
        return self.default_value

    @property
    def values(self) -> tuple[bool, ...]:
        return (True, False)

    @property
    def grid_size(self) -> int:
        return 2

    def grid_value(self, index: int) -> bool:
        return bool(index)

    def grid_index(self, value: Any) -> int:
        return int(bool(value))

    def contains(self, value: Any) -> bool:
        return isinstance(value, bool)

    def to_unit(self, value: Any) -> float:
        return _bin_center(int(bool(value)), 2)

    def from_unit(self, u: float) -> bool:
        return bool(_bin_index(u, 2))

    def _describe_body(self) -> str:
        return f"default={self.default_value}"


@dataclass(frozen=True, init=False, repr=False, eq=False)
class Fixed(HyperParameter):
    """A constant recorded with the trial (not tuned): an int, float, str or bool."""

    value: Any

    class_name: ClassVar[str] = "Fixed"

    @_checked
    def __init__(
        self, name: str, value: Any, conditions: Any = None, *, default_value: Any = None
    ) -> None:
        self._init_base(name, None, conditions)
        value = plain_value(value)
        if not isinstance(value, (int, float, str, bool)) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            raise self._bad(
                f"the Fixed value must be an `int`, `float`, `str` or `bool` (finite), got "
                f"value={value!r}",
                "Fixed takes a plain value.",
            )
        self._set(value=value, default_value=value)

    @property
    def default(self) -> Any:
        return self.value

    @property
    def values(self) -> tuple[Any, ...]:
        return (self.value,)

    @property
    def grid_size(self) -> int:
        return 1

    def grid_value(self, index: int) -> Any:
        return self.value

    def grid_index(self, value: Any) -> int:
        return 0

    def contains(self, value: Any) -> bool:
        return value == self.value and _value_type(value) is _value_type(self.value)

    def to_unit(self, value: Any) -> float:
        return 0.5

    def from_unit(self, u: float) -> Any:
        return self.value

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["default"]  # Keras Tuner's Fixed config holds only its value
        config["value"] = self.value
        return config

    def _describe_body(self) -> str:
        return repr(self.value)

    def _repr_fields(self) -> list[tuple[str, Any]]:
        return [("value", self.value)]
