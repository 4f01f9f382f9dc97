"""Hyperparameter definitions and their encoding to and from the unit interval.

Every hyperparameter maps a value to a point ``u`` in ``[0, 1]`` (``to_unit``) and back
(``from_unit``). Samplers work only in that unit cube; the contract every type keeps is

* ``from_unit(u)`` is a valid value for every ``u`` in ``[0, 1]`` (inside the bounds, on the grid);
* ``from_unit(to_unit(v)) == v`` for every valid value ``v``.

Discrete hyperparameters (an ``Int``, a ``Float`` with a ``step``, a ``Choice``, a ``Boolean``)
split the unit interval into equal bins, one per grid value, so that a uniform ``u`` draws each
grid value with the same probability (log grids are uniform in the exponent). Continuous
``Float`` values use a warp (linear, log or reverse-log) of their range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

SAMPLINGS = ("linear", "log", "reverse_log")

# Grid values of a float step are rounded to this many significant digits, so that
# ``0.1 + 2 * 0.1`` is stored and shown as ``0.3``.
_FLOAT_GRID_DIGITS = 12


@dataclass(frozen=True)
class Condition:
    """The hyperparameter is active only while ``parent`` is active and takes one of ``values``."""

    parent: str
    values: tuple[Any, ...]

    def get_config(self) -> dict[str, Any]:
        return {"parent": self.parent, "values": list(self.values)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Condition:
        return cls(config["parent"], tuple(config["values"]))


def _bad(name: str, what: str, fix: str) -> ValueError:
    return ValueError(f"Hyperparameter {name!r}: {what}. {fix}")


def _round_float(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    digits = _FLOAT_GRID_DIGITS - 1 - int(math.floor(math.log10(abs(x))))
    return round(x, digits)


def _clip_unit(u: float) -> float:
    return 0.0 if u < 0.0 else (1.0 if u > 1.0 else float(u))


def _bin_index(u: float, n: int) -> int:
    return min(int(_clip_unit(u) * n), n - 1)


def _bin_center(index: int, n: int) -> float:
    return (index + 0.5) / n


@dataclass(frozen=True)
class HyperParameter:
    """Base class. Subclasses are immutable; equality compares the whole definition."""

    name: str
    conditions: tuple[Condition, ...] = field(default=(), kw_only=True)

    class_name: ClassVar[str] = "HyperParameter"

    # ------------------------------------------------------------------ contract
    @property
    def default(self) -> Any:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def to_unit(self, value: Any) -> float:  # pragma: no cover
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:  # pragma: no cover
        raise NotImplementedError

    def contains(self, value: Any) -> bool:  # pragma: no cover
        raise NotImplementedError

    @property
    def grid_size(self) -> int | None:
        """Number of distinct values, or None when the hyperparameter is continuous."""
        return None

    def grid_value(self, index: int) -> Any:
        """The ``index``-th of the ``grid_size`` values, in increasing unit-interval order."""
        raise TypeError(f"Hyperparameter {self.name!r} is continuous and has no grid.")

    def grid_index(self, value: Any) -> int:
        """Inverse of ``grid_value`` for a value on the grid."""
        return _bin_index(self.to_unit(value), self.grid_size or 1)

    # ------------------------------------------------------------------ config
    def _config_fields(self) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, **self._config_fields()}
        config["conditions"] = [c.get_config() for c in self.conditions]
        return config

    def describe(self) -> str:
        """A one-line human description, e.g. ``Int(32..512, step=32, linear)``."""
        return f"{self.class_name}({self._describe_body()})"

    def _describe_body(self) -> str:  # pragma: no cover
        raise NotImplementedError

    def same_definition(self, other: HyperParameter) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()


# ---------------------------------------------------------------------- numeric


def _check_sampling(name: str, sampling: str) -> str:
    sampling = (sampling or "linear").lower()
    if sampling not in SAMPLINGS:
        raise _bad(
            name,
            f"sampling={sampling!r} is not one of {SAMPLINGS}",
            'Use sampling="linear", "log" or "reverse_log".',
        )
    return sampling


@dataclass(frozen=True)
class _Numeric(HyperParameter):
    """Shared logic of Int and Float: a range, a warp and an optional step grid.

    Grids: with ``sampling="linear"`` (or ``"reverse_log"``) a step is additive
    (``min, min+step, ...``); with ``sampling="log"`` a step is a multiplier
    (``min, min*step, min*step**2, ...``), as in Keras Tuner.
    """

    min_value: float = 0
    max_value: float = 1
    step: float | None = None
    sampling: str = "linear"
    default_value: Any = None

    def _validate(self) -> None:
        name = self.name
        lo, hi = self.min_value, self.max_value
        for label, v in (("min_value", lo), ("max_value", hi)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise _bad(name, f"{label}={v!r} is not a finite number", "Pass a finite number.")
        if lo > hi:
            raise _bad(
                name,
                f"min_value <= max_value must hold, but got min_value={lo!r}, max_value={hi!r}",
                "Swap the bounds.",
            )
        if self.step is not None:
            if isinstance(self.step, bool) or not isinstance(self.step, (int, float)):
                raise _bad(name, f"step={self.step!r} is not a number", "Pass a positive step.")
            if not self.step > 0:
                raise _bad(name, f"step={self.step!r} must be > 0", "Pass a positive step or None.")
            if self.sampling == "log" and not self.step > 1:
                raise _bad(
                    name,
                    f'with sampling="log" the step is a multiplier and must be > 1, '
                    f"got step={self.step!r}",
                    "Pass e.g. step=2 (values min, 2*min, 4*min, ...) or step=None.",
                )
        if self.sampling in ("log", "reverse_log") and lo <= 0:
            raise _bad(
                name,
                f'sampling="{self.sampling}" needs min_value > 0, got min_value={lo!r}',
                'Use a positive min_value or sampling="linear".',
            )
        if self.default_value is not None and not self.contains(self.default_value):
            raise _bad(
                name,
                f"default={self.default_value!r} is not a value of {self.describe()}",
                "Pass a default inside the range and on the step grid, or none.",
            )

    # ----- warps over a continuous range [a, b]
    def _warp(self, u: float, a: float, b: float) -> float:
        if a == b:
            return a
        if self.sampling == "linear":
            return a + u * (b - a)
        if self.sampling == "log":
            return math.exp(math.log(a) + u * (math.log(b) - math.log(a)))
        # reverse_log: dense near the upper bound
        return b + a - a * (b / a) ** (1.0 - u)

    def _unwarp(self, x: float, a: float, b: float) -> float:
        if a == b:
            return 0.5
        if self.sampling == "linear":
            return _clip_unit((x - a) / (b - a))
        if self.sampling == "log":
            span = math.log(b) - math.log(a)  # 0 for bounds a few ulps apart, e.g. 10..10+4e-15
            return _clip_unit((math.log(x) - math.log(a)) / span) if span > 0 else 0.5
        inner = (b + a - x) / a
        if inner <= 0:
            return 1.0
        return _clip_unit(1.0 - math.log(inner) / math.log(b / a))

    # ----- grid
    def _has_index_grid(self) -> bool:
        """Linear and log grids are indexed bins; reverse-log grids snap a warped value."""
        return self.step is not None and self.sampling in ("linear", "log")

    def _grid_count(self) -> int:
        lo, hi, step = self.min_value, self.max_value, self.step
        assert step is not None
        if self.sampling == "log":
            return int(math.floor(math.log(hi / lo) / math.log(step) + 1e-9)) + 1
        return int(math.floor((hi - lo) / step + 1e-9)) + 1

    def _raw_grid_value(self, index: int) -> float:
        assert self.step is not None
        if self.sampling == "log":
            return self.min_value * self.step**index
        return self.min_value + index * self.step

    def _nearest_grid_index(self, x: float) -> int:
        assert self.step is not None
        n = self._grid_count()
        if self.sampling == "log":
            k = math.log(x / self.min_value) / math.log(self.step)
        else:
            k = (x - self.min_value) / self.step
        return max(0, min(n - 1, int(round(k))))

    def _on_grid(self, value: float) -> bool:
        k = self._nearest_grid_index(value)
        return math.isclose(self.grid_value(k), value, rel_tol=1e-9, abs_tol=1e-12)

    def _describe_body(self) -> str:
        parts = [f"{self.min_value}..{self.max_value}"]
        if self.step is not None:
            parts.append(f"step={self.step}")
        parts.append(self.sampling)
        if self.default_value is not None:
            parts.append(f"default={self.default_value}")
        return ", ".join(parts)

    def _config_fields(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "step": self.step,
            "sampling": self.sampling,
            "default": self.default_value,
        }


@dataclass(frozen=True)
class Int(_Numeric):
    """An integer in ``[min_value, max_value]``.

    ``step=None`` with linear sampling means step 1. With log or reverse-log sampling and no
    step, the value is drawn on the warped scale over ``[min - 0.5, max + 0.5]`` and rounded,
    so that every integer keeps its share of the warped scale.
    """

    class_name: ClassVar[str] = "Int"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sampling", _check_sampling(self.name, self.sampling))
        for label in ("min_value", "max_value"):
            v = getattr(self, label)
            if isinstance(v, float) and v.is_integer():
                object.__setattr__(self, label, int(v))
            elif isinstance(v, bool) or not isinstance(v, int):
                raise _bad(
                    self.name,
                    f"{label}={v!r} is not an integer",
                    "Int takes integer bounds; use hp.Float for real values.",
                )
        if self.step is None and self.sampling == "linear":
            object.__setattr__(self, "step", 1)
        if (
            self.step is not None
            and self.sampling == "log"
            and isinstance(self.step, (int, float))
            and self.min_value * (self.step - 1) < 1
        ):
            raise _bad(
                self.name,
                f"the log grid {self.min_value}, {self.min_value}*{self.step}, ... repeats "
                f"integers after rounding (step={self.step!r} is too small for "
                f"min_value={self.min_value!r})",
                "Use a larger multiplier, or step=None for a log-scaled Int without a grid.",
            )
        if self.step is not None and self.sampling != "log":
            if isinstance(self.step, float) and self.step.is_integer():
                object.__setattr__(self, "step", int(self.step))
            if not (isinstance(self.step, int) and not isinstance(self.step, bool)):
                raise _bad(
                    self.name,
                    f"step={self.step!r} is not an integer",
                    "Int takes an integer step (or a multiplier > 1 with log sampling).",
                )
        self._validate()

    @property
    def default(self) -> int:
        return self.min_value if self.default_value is None else int(self.default_value)

    @property
    def grid_size(self) -> int:
        if self.step is None:
            return self.max_value - self.min_value + 1
        return self._grid_count()

    def _grid_count(self) -> int:
        # The shared count's 1e-9 tolerance is on the step index: for large bounds it can
        # admit one integer above max_value (e.g. 1..999_999_999, step=10, log). Drop it.
        n = super()._grid_count()
        while n > 1 and self.grid_value(n - 1) > self.max_value:
            n -= 1
        return n

    def grid_value(self, index: int) -> int:
        if self.step is None:
            return self.min_value + index
        if self.sampling == "log":
            return int(round(self._raw_grid_value(index)))
        return int(self._raw_grid_value(index))

    def grid_index(self, value: Any) -> int:
        if self.step is None:
            return int(value) - self.min_value
        return self._nearest_grid_index(float(value))

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and not value.is_integer():
            return False
        if not self.min_value <= value <= self.max_value:
            return False
        return self.step is None or self._on_grid(float(value))

    def _continuous_bounds(self) -> tuple[float, float]:
        return self.min_value - 0.5, self.max_value + 0.5

    def to_unit(self, value: Any) -> float:
        value = int(value)
        if self._has_index_grid():  # every linear Int has a step (default 1)
            return _bin_center(self.grid_index(value), self.grid_size)
        if self.step is not None:  # reverse_log with an additive step
            return self._unwarp(float(value), self.min_value, self.max_value)
        a, b = self._continuous_bounds()
        return self._unwarp(float(value), a, b)

    def from_unit(self, u: float) -> int:
        u = _clip_unit(u)
        if self._has_index_grid():
            return self.grid_value(_bin_index(u, self.grid_size))
        if self.step is not None:  # reverse_log with an additive step: snap the warped value
            x = self._warp(u, self.min_value, self.max_value)
            return self.grid_value(self._nearest_grid_index(x))
        a, b = self._continuous_bounds()
        return max(self.min_value, min(self.max_value, int(round(self._warp(u, a, b)))))


@dataclass(frozen=True)
class Float(_Numeric):
    """A real number in ``[min_value, max_value]``, continuous unless a ``step`` is given."""

    class_name: ClassVar[str] = "Float"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sampling", _check_sampling(self.name, self.sampling))
        for label in ("min_value", "max_value"):
            v = getattr(self, label)
            if isinstance(v, int) and not isinstance(v, bool):
                object.__setattr__(self, label, float(v))
        self._validate()

    @property
    def default(self) -> float:
        return self.min_value if self.default_value is None else float(self.default_value)

    @property
    def grid_size(self) -> int | None:
        return None if self.step is None else self._grid_count()

    def grid_value(self, index: int) -> float:
        if self.step is None:
            return super().grid_value(index)
        # Rounding can step just past a bound (or the 1e-9 count tolerance can add a value
        # a hair above max_value): keep every grid value inside [min_value, max_value].
        value = _round_float(self._raw_grid_value(index))
        return min(self.max_value, max(self.min_value, value))

    def grid_index(self, value: Any) -> int:
        if self.step is None:
            return super().grid_index(value)
        return self._nearest_grid_index(float(value))

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not math.isfinite(value):
            return False
        lo, hi = self.min_value, self.max_value
        tol = 1e-12 * max(1.0, abs(lo), abs(hi))
        if not lo - tol <= value <= hi + tol:
            return False
        return self.step is None or self._on_grid(float(value))

    def to_unit(self, value: Any) -> float:
        value = float(value)
        if self._has_index_grid():
            return _bin_center(self.grid_index(value), self._grid_count())
        return self._unwarp(value, self.min_value, self.max_value)

    def from_unit(self, u: float) -> float:
        u = _clip_unit(u)
        if self._has_index_grid():
            return self.grid_value(_bin_index(u, self._grid_count()))
        x = self._warp(u, self.min_value, self.max_value)
        if self.step is not None:
            return self.grid_value(self._nearest_grid_index(x))
        return min(self.max_value, max(self.min_value, x))


# ---------------------------------------------------------------------- categorical


def plain_value(value: Any) -> Any:
    """Turn a NumPy scalar into the matching Python scalar; leave anything else alone."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        return item()
    return value


def _value_type(value: Any) -> type:
    if isinstance(value, bool):
        return bool
    if isinstance(value, int):
        return int
    if isinstance(value, float):
        return float
    if isinstance(value, str):
        return str
    return type(value)


@dataclass(frozen=True)
class Choice(HyperParameter):
    """One of a list of values of a single type (int, float, str or bool).

    ``ordered`` defaults to True for numbers (the order of the values means something) and
    must be False for strings and booleans.
    """

    values: tuple[Any, ...] = ()
    ordered: bool | None = None
    default_value: Any = None

    class_name: ClassVar[str] = "Choice"

    def __post_init__(self) -> None:
        name = self.name
        values = tuple(self.values)
        object.__setattr__(self, "values", values)
        if not values:
            raise _bad(name, "values=[] is empty", "Pass at least one value.")
        types = {_value_type(v) for v in values}
        if len(types) > 1:
            names = sorted(t.__name__ for t in types)
            raise _bad(
                name,
                f"values={list(values)!r} mix the types {names}",
                "A Choice holds values of one type (int, float, str or bool); convert them, "
                "e.g. all to float.",
            )
        (value_type,) = types
        if value_type not in (int, float, str, bool):
            raise _bad(
                name,
                f"values of type {value_type.__name__} are not supported",
                "Use int, float, str or bool values.",
            )
        if value_type is float and not all(math.isfinite(v) for v in values):
            raise _bad(name, f"values={list(values)!r} hold a non-finite number", "Remove it.")
        if len(set(values)) != len(values):
            raise _bad(name, f"values={list(values)!r} hold duplicates", "List each value once.")
        numeric = value_type in (int, float)
        if self.ordered is None:
            object.__setattr__(self, "ordered", numeric)
        elif self.ordered and not numeric:
            raise _bad(
                name,
                f"ordered=True needs numeric values, got {value_type.__name__} values",
                "Pass ordered=False (or leave it out) for strings and booleans.",
            )
        if self.default_value is not None and not self.contains(self.default_value):
            raise _bad(
                name,
                f"default={self.default_value!r} is not one of values={list(values)!r}",
                "Pass one of the values as default, or none.",
            )

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
        return {"values": list(self.values), "ordered": self.ordered, "default": self.default_value}

    def _describe_body(self) -> str:
        body = ", ".join(repr(v) for v in self.values)
        if self.ordered:
            body += ", ordered"
        if self.default_value is not None:
            body += f", default={self.default_value!r}"
        return body


@dataclass(frozen=True)
class Boolean(HyperParameter):
    """True or False; the default is False."""

    default_value: bool = False

    class_name: ClassVar[str] = "Boolean"

    def __post_init__(self) -> None:
        if not isinstance(self.default_value, bool):
            raise _bad(
                self.name, f"default={self.default_value!r} is not a bool", "Pass True or False."
            )

    @property
    def default(self) -> bool:
        return self.default_value

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

    def _config_fields(self) -> dict[str, Any]:
        return {"default": self.default_value}

    def _describe_body(self) -> str:
        return f"default={self.default_value}"


@dataclass(frozen=True)
class Fixed(HyperParameter):
    """A constant recorded with the trial (not tuned)."""

    value: Any = None

    class_name: ClassVar[str] = "Fixed"

    def __post_init__(self) -> None:
        if not isinstance(self.value, (int, float, str, bool)) or (
            isinstance(self.value, float) and not math.isfinite(self.value)
        ):
            raise _bad(
                self.name,
                f"value={self.value!r} is not a finite int, float, str or bool",
                "Fixed takes a plain value.",
            )

    @property
    def default(self) -> Any:
        return self.value

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

    def _config_fields(self) -> dict[str, Any]:
        return {"value": self.value}

    def _describe_body(self) -> str:
        return repr(self.value)


HYPERPARAMETER_CLASSES: dict[str, type[HyperParameter]] = {
    cls.class_name: cls for cls in (Int, Float, Choice, Boolean, Fixed)
}


def hyperparameter_from_config(config: dict[str, Any]) -> HyperParameter:
    """Rebuild a hyperparameter from ``{"class_name": ..., "config": {...}}``."""
    class_name = config["class_name"]
    fields = dict(config["config"])
    cls = HYPERPARAMETER_CLASSES.get(class_name)
    if cls is None:
        raise ValueError(
            f"Unknown hyperparameter class {class_name!r}; expected one of "
            f"{sorted(HYPERPARAMETER_CLASSES)}."
        )
    conditions = tuple(Condition.from_config(c) for c in fields.pop("conditions", []))
    name = fields.pop("name")
    if "default" in fields:
        fields["default_value"] = fields.pop("default")
    if cls is Choice:
        fields["values"] = tuple(fields["values"])
    return cls(name, conditions=conditions, **fields)


def hyperparameter_to_config(hp: HyperParameter) -> dict[str, Any]:
    return {"class_name": hp.class_name, "config": hp.get_config()}


def is_finite_space(hps: Sequence[HyperParameter]) -> bool:
    return all(hp.grid_size is not None for hp in hps)
