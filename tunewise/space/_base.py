"""The hyperparameter base class and the unit-interval helpers every type shares.

See :mod:`tunewise.space._hyperparameters` for the encoding contract.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import SpaceDefinitionError
from ._conditions import Condition, as_conditions, serialize_condition

SAMPLINGS = ("linear", "log", "reverse_log")

# Grid values of a float step are rounded to this many significant digits, so that
# ``0.1 + 2 * 0.1`` is stored and shown as ``0.3``.
_FLOAT_GRID_DIGITS = 12

#: How many points ``values`` lists for a hyperparameter without a grid (Keras Tuner's 10).
N_VALUE_POINTS = 10


def _round_float(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    digits = _FLOAT_GRID_DIGITS - 1 - int(math.floor(math.log10(abs(x))))
    return round(x, digits)


def normalise_float(value: Any) -> Any:
    """A float rounded to 12 significant digits (identity of floats); anything else as is."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    return value


#: Grids up to this many values are indexed with float arithmetic (exact there); larger
#: ones (``Int("n", 0, 10**30)``) with integer arithmetic, so that no index overflows a
#: float or loses its low digits.
_EXACT_FLOAT_GRID = 2**53


def _clip_unit(u: float) -> float:
    return 0.0 if u < 0.0 else (1.0 if u > 1.0 else float(u))


def _bin_index(u: float, n: int) -> int:
    """The bin of ``u`` among ``n`` equal bins of [0, 1]: ``floor(u * n)``, the last bin for
    ``u = 1``. Exact for any ``n`` (a big one is done on the integers)."""
    u = _clip_unit(u)
    if n <= _EXACT_FLOAT_GRID:
        return min(int(u * n), n - 1)
    num, den = u.as_integer_ratio()
    return min(num * n // den, n - 1)


def _bin_center(index: int, n: int) -> float:
    """The centre ``(index + 0.5) / n`` of bin ``index`` of ``n`` (correctly rounded, for
    any size of ``n``: Python divides integers exactly before rounding)."""
    return (2 * index + 1) / (2 * n)


def show_number(value: Any) -> str:
    """``repr`` of a number, an int of more than 15 digits shortened (``~1e+400, an int of 401
    digits``) so that a message stays one readable line."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        digits = len(str(abs(value)))
        sign = "-" if value < 0 else ""
        return f"{sign}~1e+{digits - 1} (an int of {digits} digits)"
    return repr(value)


def check_name(name: Any, what: str = "A hyperparameter's name") -> str:
    """``name`` if it is a usable hyperparameter name, else a :class:`SpaceDefinitionError`.

    A name is a non-empty ``str`` that can be written as UTF-8 (a lone surrogate such as
    ``"\\ud800"`` cannot: the console, the report and the files would fail on it). Any
    other character is data: ``"/"`` (Keras Tuner's scope separator, ``"block/units"``),
    ``"$"``, quotes, newlines and unicode are stored and shown as they are.
    """
    if not isinstance(name, str):
        raise SpaceDefinitionError(
            f"{what} must be a non-empty str, got {name!r} of type {type(name).__name__}. "
            "Pass a string, e.g. hp.Int('units', 32, 512)."
        )
    if not name:
        raise SpaceDefinitionError(
            f"{what} must be a non-empty str, got ''. Pass e.g. hp.Int('units', 32, 512)."
        )
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SpaceDefinitionError(
            f"{what} {name!r} holds {name[exc.start:exc.end]!r} at position {exc.start}, a "
            "lone surrogate that cannot be written as UTF-8. Use a name of real characters."
        ) from None
    return name


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


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True, init=False, repr=False, eq=False)
class HyperParameter:
    """Base class: a named definition with a default and its conditions.

    Instances are immutable. Two definitions are equal when their class and config are
    (``Float("f", 0, 1)`` equals ``Float("f", 0, 1, default=0.0)``). ``key`` is
    ``(name, conditions)``: a container holds one definition per key, and several
    definitions of a name under different conditions (Keras Tuner's rule).
    ``default_value`` is the default as given (None when none was); ``default`` is the
    value used when a trial has none.
    """

    name: str
    conditions: tuple[Condition, ...]
    default_value: Any

    class_name: ClassVar[str] = "HyperParameter"

    def __init__(
        self, name: str, default: Any = None, conditions: Any = None, *, default_value: Any = None
    ) -> None:
        self._init_base(name, default if default is not None else default_value, conditions)

    def _init_base(self, name: str, default: Any, conditions: Any) -> None:
        check_name(name)
        self._set(name=name, conditions=as_conditions(conditions), default_value=default)

    def _set(self, **fields: Any) -> None:
        for key, value in fields.items():
            object.__setattr__(self, key, value)

    def _bad(self, what: str, fix: str) -> SpaceDefinitionError:
        """The definition error ``For HyperParameters.Int(name='n'), <what>. <fix>``."""
        return SpaceDefinitionError(
            f"For HyperParameters.{self.class_name}(name={self.name!r}), {what}. {fix}"
        )

    # ------------------------------------------------------------------ identity
    @property
    def key(self) -> tuple[str, tuple[Condition, ...]]:
        """``(name, conditions)``: what makes two definitions the same hyperparameter."""
        return (self.name, self.conditions)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HyperParameter):
            return NotImplemented
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name, self.conditions))

    def same_definition(self, other: HyperParameter) -> bool:
        return self == other

    # ------------------------------------------------------------------ contract
    @property
    def default(self) -> Any:
        return self.default_value

    def to_unit(self, value: Any) -> float:
        raise NotImplementedError(
            f"{self.class_name} {self.name!r} is a bare HyperParameter with no unit encoding; "
            "use Int, Float, Choice, Boolean or Fixed."
        )

    def from_unit(self, u: float) -> Any:
        raise NotImplementedError(
            f"{self.class_name} {self.name!r} is a bare HyperParameter with no unit encoding; "
            "use Int, Float, Choice, Boolean or Fixed."
        )

    def contains(self, value: Any) -> bool:
        return False

    def prob_to_value(self, prob: float) -> Any:
        """Keras Tuner's name of :meth:`from_unit`: the value at cumulative probability
        ``prob`` in ``[0, 1]``."""
        return self.from_unit(prob)

    def value_to_prob(self, value: Any) -> float:
        """Keras Tuner's name of :meth:`to_unit`: the cumulative probability of ``value``
        (a bin centre for a grid value)."""
        return self.to_unit(value)

    def random_sample(self, seed: int | None = None) -> Any:
        """A uniformly drawn value; the same ``seed`` gives the same value."""
        return self.from_unit(random.Random(seed).random())

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
    def _config_fields(self) -> dict[str, Any]:
        return {}

    def get_config(self) -> dict[str, Any]:
        """Keras Tuner's config: ``name``, ``default``, ``conditions`` (serialised
        ``Parent`` conditions) and the type's own arguments; ``cls(**config)`` and
        :meth:`from_config` rebuild the definition."""
        config: dict[str, Any] = {
            "name": self.name,
            "default": self.default,
            "conditions": [serialize_condition(c) for c in self.conditions],
        }
        config.update(self._config_fields())
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HyperParameter:
        """The definition a config (Keras Tuner's or tunewise's) describes."""
        return cls(**dict(config))

    def describe(self) -> str:
        """A one-line human description, e.g. ``Int(32..512, step=32, linear)``."""
        return f"{self.class_name}({self._describe_body()})"

    def _describe_body(self) -> str:
        return f"default={self.default!r}"

    def _repr_fields(self) -> list[tuple[str, Any]]:
        return [("default", self.default)]

    def __repr__(self) -> str:
        parts = [f"name: {self.name!r}"]
        parts += [f"{k}: {v!r}" for k, v in self._repr_fields()]
        if self.conditions:
            parts.append(f"conditions: {list(self.conditions)!r}")
        return f"{self.class_name}({', '.join(parts)})"
