"""Numerical hyperparameters: ``Int`` and ``Float`` (a range, a sampling, an optional step
grid); the grids and warps are described in :mod:`tunewise.space._hyperparameters`."""

from __future__ import annotations

import difflib
import math
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from ..errors import SpaceDefinitionError
from ._base import (
    N_VALUE_POINTS,
    SAMPLINGS,
    HyperParameter,
    _bin_center,
    _bin_index,
    _clip_unit,
    _is_number,
    _round_float,
    normalise_float,
    plain_value,
    show_number,
)
from ._keywords import DEFINITION_HINTS, explained_arguments

#: ``values`` lists at most this many grid values; a larger grid (``Int("n", 0, 10**30)``)
#: is read with ``grid_size`` and ``grid_value(i)``, or sampled.
MAX_LISTED_VALUES = 1_000_000

_FLOAT_MAX = sys.float_info.max

_checked = explained_arguments(DEFINITION_HINTS, SpaceDefinitionError)


# ----- overflow-safe arithmetic over any finite range. Each helper computes the plain
# formula first (so results in ordinary ranges are the ones they always were) and falls
# back to a form that cannot overflow only when the plain one does.


def _lerp(a: float, b: float, u: float) -> float:
    """``a + u * (b - a)``; for a range wider than the float range (``-1e308..1e308``),
    ``a * (1 - u) + b * u``, whose terms cannot overflow (``a < 0 < b`` there)."""
    d = b - a
    if math.isfinite(d):
        return u * d + a
    return a * (1.0 - u) + b * u


def _unlerp(x: float, a: float, b: float) -> float:
    """``(x - a) / (b - a)``, computed on halves when the difference overflows."""
    d = b - a
    if math.isfinite(d):
        return (x - a) / d
    return (x / 2 - a / 2) / (b / 2 - a / 2)


def _log_ratio(x: float, a: float) -> float:
    """``log(x / a)`` for positive ``x`` and ``a``, also where ``x / a`` overflows or underflows."""
    r = x / a
    if 0.0 < r < math.inf:
        return math.log(r)
    return math.log(x) - math.log(a)


def _geometric(a: float, b: float, t: float) -> float:
    """``a * (b / a) ** t`` for ``0 < a <= b``: the log-scale point at fraction ``t``, also
    for ranges whose ratio overflows (``1e-300..1e300``); never past ``b``."""
    r = b / a
    if r < math.inf:
        return a * math.pow(r, t)
    try:
        return min(b, math.exp(math.log(a) + t * (math.log(b) - math.log(a))))
    except OverflowError:  # exp of log(b) rounded up past the float range
        return b


@dataclass(frozen=True, init=False, repr=False, eq=False)
class Numerical(HyperParameter):
    """Shared logic of Int and Float: a range, a sampling (warp) and an optional step grid."""

    min_value: Any
    max_value: Any
    step: Any
    sampling: str

    def _init_numeric(
        self, min_value: Any, max_value: Any, step: Any, sampling: Any, default: Any
    ) -> None:
        self._set(min_value=min_value, max_value=max_value, step=step, sampling=sampling)
        self._check_sampling()
        self._check_bounds()
        self._check_step()
        self._check_default(default)

    def _check_sampling(self) -> None:
        sampling = "linear" if self.sampling is None else self.sampling
        if not isinstance(sampling, str) or sampling.lower() not in SAMPLINGS:
            close = difflib.get_close_matches(str(sampling).lower(), SAMPLINGS, n=1)
            guess = f'Did you mean sampling="{close[0]}"? ' if close else ""
            raise self._bad(
                f"sampling must be one of {SAMPLINGS}, got sampling={sampling!r}",
                f'{guess}Use sampling="linear", "log" or "reverse_log".',
            )
        self._set(sampling=sampling.lower())

    def _check_bounds(self) -> None:
        lo, hi = self.min_value, self.max_value
        if lo > hi:
            raise self._bad(
                f"min_value {show_number(lo)} is greater than the max_value {show_number(hi)}",
                f"Swap the bounds: min_value={show_number(hi)}, max_value={show_number(lo)}.",
            )
        if self.sampling in ("log", "reverse_log") and lo <= 0:
            raise self._bad(
                f"sampling={self.sampling!r} does not support negative values or zero, "
                f"found min_value={lo!r}",
                'Use a positive min_value or sampling="linear".',
            )

    def _check_step(self) -> None:
        step = plain_value(self.step)
        self._set(step=step)
        if step is None:
            return
        if not _is_number(step) or not math.isfinite(step):
            raise self._bad(f"step={step!r} is not a number", "Pass a positive number or None.")
        if not step > 0:
            raise self._bad(f"step={step!r} must be > 0", "Pass a positive step or None.")
        if self.sampling in ("log", "reverse_log") and not step > 1:
            raise self._bad(
                f"expected step > 1 with sampling={self.sampling!r} (the step is a "
                f"multiplier), got step={step!r}",
                "Pass e.g. step=2 (values min, 2*min, 4*min, ...) or step=None.",
            )

    def _check_default(self, default: Any) -> None:
        default = plain_value(default)
        if default is not None and default == self.min_value and self._grid_misses_min():
            default = None  # Keras Tuner's implicit default (min_value) is the lowest value here
        if default is not None and not self.contains(default):
            raise self._bad(
                f"default={default!r} is not a value of {self.describe()}",
                "Pass a default inside the range and on the step grid, or none.",
            )
        self._set(default_value=self._canonical(default))

    def _canonical(self, value: Any) -> Any:  # pragma: no cover - every subclass overrides
        return value

    def _grid_misses_min(self) -> bool:
        """A reverse-log grid ``max + min - min * step**i`` starts at max_value and reaches
        min_value only when ``max / min`` is a power of the step."""
        return (
            self.step is not None
            and self.sampling == "reverse_log"
            and not self.contains(self.min_value)
        )

    def _implicit_default(self) -> Any:
        """min_value, or on a reverse-log grid that misses it, the grid's lowest value."""
        if self._grid_misses_min():
            return self.grid_value(self._grid_count() - 1)
        return self.min_value

    # ----- warps over a continuous range [a, b]
    def _warp(self, u: float, a: float, b: float) -> float:
        """The value at ``u`` of the warped scale of ``[a, b]`` (any finite bounds)."""
        if a == b:
            return a
        if self.sampling == "linear":
            return _lerp(a, b, u)
        if self.sampling == "log":
            return _geometric(a, b, u)
        # reverse_log, dense near the top: b + a - a * (b / a) ** (1 - u)
        top = b + a
        if top < math.inf:
            return top - _geometric(a, b, 1.0 - u)
        return b - (_geometric(a, b, 1.0 - u) - a)

    def _unwarp(self, x: float, a: float, b: float) -> float:
        """The inverse of :meth:`_warp`, clipped to [0, 1]."""
        if a == b:
            return 0.5
        if self.sampling == "linear":
            return _clip_unit(_unlerp(x, a, b))
        span = _log_ratio(b, a)
        if span <= 0:  # bounds a few ulps apart, e.g. 10..10+4e-15
            return 0.5
        if self.sampling == "log":
            return _clip_unit(_log_ratio(x, a) / span) if x > 0 else 0.0
        top = b + a
        rest = (top - x) if top < math.inf else (b - x) + a  # b + a - x, never overflowing
        if rest <= 0:
            return 1.0
        return _clip_unit(1.0 - _log_ratio(rest, a) / span)

    # ----- grid
    def _has_index_grid(self) -> bool:
        """Every step grid (linear, log, reverse-log) is indexed in equal bins."""
        return self.step is not None

    def _grid_count(self) -> int:
        lo, hi, step = self.min_value, self.max_value, self.step
        assert step is not None
        if self.sampling == "linear":
            k = (hi - lo) / step
            if not math.isfinite(k):  # a range (or a count) beyond the float range: exact
                exact = (Fraction(hi) - Fraction(lo)) / Fraction(step)
                return math.floor(exact + Fraction(1, 10**9)) + 1  # the same 1e-9 tolerance
            return int(math.floor(k + 1e-9)) + 1
        return int(math.floor(_log_ratio(hi, lo) / math.log(step) + 1e-9)) + 1

    def _raw_grid_value(self, index: int) -> float:
        lo, hi, step = self.min_value, self.max_value, self.step
        assert step is not None
        if self.sampling == "linear":
            return lo + index * step
        if self.sampling == "log":
            return lo * step**index
        return hi + lo - lo * step**index

    def _nearest_grid_index(self, x: float) -> int:
        lo, hi, step = self.min_value, self.max_value, self.step
        assert step is not None
        n = self._grid_count()
        if self.sampling == "linear":
            k = (x - lo) / step
            if not math.isfinite(k):
                k = x / step - lo / step
        elif self.sampling == "log":
            k = _log_ratio(x, lo) / math.log(step) if x > 0 else 0.0
        else:
            top = hi + lo
            rest = (top - x) if top < math.inf else (hi - x) + lo
            k = _log_ratio(rest, lo) / math.log(step) if rest > 0 else 0.0
        return max(0, min(n - 1, int(round(k))))

    def _on_grid(self, value: float) -> bool:
        k = self._nearest_grid_index(value)
        return math.isclose(self.grid_value(k), value, rel_tol=1e-9, abs_tol=1e-12)

    def _listed_grid(self, count: int) -> tuple[Any, ...]:
        """Every grid value, for ``values``: refused (one clear line) past MAX_LISTED_VALUES."""
        if count > MAX_LISTED_VALUES:
            raise ValueError(
                f"{self.class_name} {self.name!r} ({self.describe()}) has {show_number(count)} "
                f"values, too many to list (values lists at most {MAX_LISTED_VALUES}). Read "
                "grid_size and grid_value(i), or draw values (random_sample, from_unit)."
            )
        return tuple(self.grid_value(i) for i in range(count))

    def _spread_values(self) -> tuple[Any, ...]:
        """``N_VALUE_POINTS`` bin centres of a gridless range: sorted, distinct."""
        if self.min_value == self.max_value:
            return (self.from_unit(0.5),)
        points = {self.from_unit(_bin_center(i, N_VALUE_POINTS)) for i in range(N_VALUE_POINTS)}
        return tuple(sorted(points))

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
        }

    def _repr_fields(self) -> list[tuple[str, Any]]:
        return [
            ("min_value", self.min_value),
            ("max_value", self.max_value),
            ("step", self.step),
            ("sampling", self.sampling),
            ("default", self.default),
        ]


@dataclass(frozen=True, init=False, repr=False, eq=False)
class Int(Numerical):
    """An integer in ``[min_value, max_value]`` (both included).

    ``step=None`` with linear sampling means step 1. With log or reverse-log sampling the
    step is a multiplier > 1 (an integer one, as Keras Tuner takes, or a larger float); with
    no step the value is drawn on the warped scale over ``[min - 0.5, max + 0.5]`` and
    rounded, so that every integer keeps its share of the warped scale. The default is
    ``min_value`` unless given (on a reverse-log grid that does not reach ``min_value``, the
    grid's lowest value; a given ``default=min_value`` there means the same).
    """

    class_name: ClassVar[str] = "Int"

    @_checked
    def __init__(
        self,
        name: str,
        min_value: int,
        max_value: int,
        step: float | None = None,
        sampling: str | None = "linear",
        default: int | None = None,
        conditions: Any = None,
        *,
        default_value: int | None = None,
    ) -> None:
        self._init_base(name, None, conditions)
        self._set(sampling=sampling)
        self._check_sampling()
        lo = self._as_int(min_value, "min_value")
        hi = self._as_int(max_value, "max_value")
        step = plain_value(step)
        if step is None and self.sampling == "linear":
            step = 1
        multiplier = self.sampling in ("log", "reverse_log")
        if step is not None and not multiplier:
            if isinstance(step, float) and step.is_integer():
                step = int(step)
            if _is_number(step) and not isinstance(step, int):
                raise self._bad(
                    f"step must be an int, got step={step!r}",
                    "Int takes an integer step (or a multiplier > 1 with log sampling).",
                )
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        self._init_numeric(lo, hi, step, self.sampling,
                           default if default is not None else default_value)

    def _as_int(self, value: Any, label: str) -> int:
        """``value`` as an int bound: integers (and integral floats) within the float range
        (about +-1.8e308, which the unit encoding and the samplers' arrays use)."""
        value = plain_value(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(
                f"{label} must be an int, got {label}={value!r} (a {type(value).__name__})",
                "Int takes integer bounds; use hp.Float for real values.",
            )
        if abs(value) > _FLOAT_MAX:
            raise self._bad(
                f"{label}={show_number(value)} is beyond the float range (about +-1.8e308) "
                "that the encoding and the samplers work in",
                "Pass bounds within +-1e308.",
            )
        return value

    def _check_step(self) -> None:
        super()._check_step()
        step = self.step
        if (
            step is not None
            and self.sampling in ("log", "reverse_log")
            and self.min_value * (step - 1) < 1
        ):
            raise self._bad(
                f"the {self.sampling} grid of min_value={self.min_value!r} and "
                f"step={step!r} repeats integers after rounding (step={step!r} is too small)",
                "Use a larger multiplier, or step=None for a log-scaled Int without a grid.",
            )

    def _canonical(self, value: Any) -> Any:
        return None if value is None else int(value)

    @property
    def default(self) -> int:
        if self.default_value is None:
            return int(self._implicit_default())
        return int(self.default_value)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["default"] = self.default_value  # Keras Tuner keeps an Int's default as given
        return config

    @property
    def grid_size(self) -> int:
        if self.step is None:
            return self.max_value - self.min_value + 1
        return self._grid_count()

    def _grid_count(self) -> int:
        if self.sampling == "linear":  # an int step: exact for any range (0..10**30)
            return (self.max_value - self.min_value) // self.step + 1
        # The shared count's 1e-9 tolerance is on the step index: for large bounds it can
        # admit one integer past the far bound (e.g. 1..999_999_999, step=10, log). Drop it.
        n = super()._grid_count()
        while n > 1 and not self.min_value <= self.grid_value(n - 1) <= self.max_value:
            n -= 1
        return n

    def grid_value(self, index: int) -> int:
        if self.step is None:
            return self.min_value + index
        if self.sampling == "linear":
            return int(self._raw_grid_value(index))
        return int(round(self._raw_grid_value(index)))

    def grid_index(self, value: Any) -> int:
        if self.step is None:
            return int(value) - self.min_value
        if self.sampling == "linear" and _is_integral(value):
            # exact on the integers (a float index would lose the low digits of 10**30)
            k = round(Fraction(int(value) - self.min_value, self.step))
            return max(0, min(self._grid_count() - 1, k))
        return self._nearest_grid_index(float(value))

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and not value.is_integer():
            return False
        if not self.min_value <= value <= self.max_value:
            return False
        if self.step is None:
            return True
        if self.sampling == "linear":
            return (int(value) - self.min_value) % self.step == 0
        return self._on_grid(float(value))

    def _continuous_bounds(self) -> tuple[float, float]:
        return self.min_value - 0.5, self.max_value + 0.5

    def to_unit(self, value: Any) -> float:
        value = int(value)
        if self._has_index_grid():  # every linear Int has a step (default 1)
            return _bin_center(self.grid_index(value), self.grid_size)
        a, b = self._continuous_bounds()
        return self._unwarp(float(value), a, b)

    def from_unit(self, u: float) -> int:
        u = _clip_unit(u)
        if self._has_index_grid():
            return self.grid_value(_bin_index(u, self.grid_size))
        a, b = self._continuous_bounds()
        return max(self.min_value, min(self.max_value, int(round(self._warp(u, a, b)))))

    @property
    def values(self) -> tuple[int, ...]:
        """Every grid value (at most MAX_LISTED_VALUES; a larger grid raises ValueError), or
        without a step 10 values spread over the warped scale."""
        if self.step is None:
            return self._spread_values()
        return self._listed_grid(self.grid_size)


@dataclass(frozen=True, init=False, repr=False, eq=False)
class Float(Numerical):
    """A real number in ``[min_value, max_value]``, continuous unless a ``step`` is given.

    The default is ``min_value`` unless given (on a reverse-log grid that does not reach
    ``min_value``, the grid's lowest value; a given ``default=min_value`` there means the same).
    """

    class_name: ClassVar[str] = "Float"

    @_checked
    def __init__(
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: str | None = "linear",
        default: float | None = None,
        conditions: Any = None,
        *,
        default_value: float | None = None,
    ) -> None:
        self._init_base(name, None, conditions)
        bounds = []
        for label, v in (("min_value", min_value), ("max_value", max_value)):
            v = plain_value(v)
            if not _is_number(v) or not math.isfinite(v):
                raise self._bad(
                    f"{label}={v!r} is not a finite number",
                    "Pass a finite number (any range within +-1.8e308 is sampled across).",
                )
            try:
                bounds.append(float(v))
            except OverflowError:  # an int past the float range
                raise self._bad(
                    f"{label}={show_number(v)} is beyond the float range (about +-1.8e308)",
                    "Pass a finite float bound.",
                ) from None
        self._init_numeric(bounds[0], bounds[1], step, sampling,
                           default if default is not None else default_value)

    def _canonical(self, value: Any) -> Any:
        return None if value is None else float(value)

    @property
    def default(self) -> float:
        if self.default_value is None:
            return float(self._implicit_default())
        return float(self.default_value)

    @property
    def grid_size(self) -> int | None:
        return None if self.step is None else self._grid_count()

    def grid_value(self, index: int) -> float:
        if self.step is None:
            return super().grid_value(index)
        # Rounding can step just past a bound (or the 1e-9 count tolerance can add a value
        # a hair past the far bound): keep every grid value inside [min_value, max_value].
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
        return min(self.max_value, max(self.min_value, x))

    @property
    def values(self) -> tuple[float, ...]:
        if self.step is None:
            return tuple(float_points(self, N_VALUE_POINTS))
        return self._listed_grid(self._grid_count())


def _is_integral(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    )


def float_points(hp: Float, n_points: int) -> list[float]:
    """``n_points`` values of a continuous Float, in increasing order: the centres of
    ``n_points`` equal bins of its scale (``from_unit((i + 0.5) / n_points)``), so neither
    bound is one and a log scale is split evenly in the exponent, as Keras Tuner's
    ``Float.values`` (``prob_to_value(i * 0.1 + 0.05)`` for its 10 points)."""
    if hp.min_value == hp.max_value:
        return [hp.min_value]
    if n_points < 1:
        return [hp.default]
    lo, hi = hp.min_value, hp.max_value
    points = {
        min(hi, max(lo, normalise_float(hp.from_unit((i + 0.5) / n_points))))
        for i in range(n_points)
    }
    return sorted(points)
