"""Whole configurations: decoding unit vectors, enumerating finite spaces, identity keys.

A *space* here is a sequence of hyperparameter definitions in registration order (parents
before the children whose conditions name them). A *configuration* is the dict of the
*active* hyperparameters' values. A name may have several definitions under different
conditions (Keras Tuner's rule); its value is that of its first definition whose conditions
hold, and the later ones take no part in that configuration.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ._base import show_number
from ._hyperparameters import Float, HyperParameter, float_points, normalise_float

Space = Sequence[HyperParameter]


def is_active(hp: HyperParameter, values: dict[str, Any]) -> bool:
    """True when each condition's parent is present in ``values`` with a listed value.

    ``values`` must hold only active hyperparameters (as configurations do), so a parent
    that is absent is inactive and its children are too.
    """
    return all(c.parent in values and values[c.parent] in c.values for c in hp.conditions)


def decode(space: Space, unit: Sequence[float]) -> dict[str, Any]:
    """Map one point of the unit cube (one coordinate per hyperparameter) to a configuration."""
    if len(unit) != len(space):
        raise ValueError(f"decode: got {len(unit)} coordinates for {len(space)} hyperparameters.")
    values: dict[str, Any] = {}
    for hp, u in zip(space, unit):
        if hp.name not in values and is_active(hp, values):
            values[hp.name] = hp.from_unit(float(u))
    return values


def _repeated_names(space: Space) -> set[str]:
    seen: set[str] = set()
    repeated: set[str] = set()
    for hp in space:
        (repeated if hp.name in seen else seen).add(hp.name)
    return repeated


def owners(space: Space, values: dict[str, Any]) -> list[bool]:
    """For each definition, whether it is the one that holds its name's value in the
    configuration ``values``: the only definition of the name, or the first whose
    conditions hold."""
    repeated = _repeated_names(space)
    taken: set[str] = set()
    out = []
    for hp in space:
        if hp.name not in repeated:
            out.append(True)
            continue
        own = hp.name not in taken and is_active(hp, values)
        if own:
            taken.add(hp.name)
        out.append(own)
    return out


def encode(space: Space, values: dict[str, Any], inactive: float = math.nan) -> np.ndarray:
    """Map a configuration to the unit cube; inactive (absent) coordinates get ``inactive``.

    A value outside a hyperparameter's current definition (a stored trial from before the
    space changed) is clipped to the nearest end of the unit interval.
    """
    out = np.full(len(space), inactive, dtype=float)
    for i, (hp, own) in enumerate(zip(space, owners(space, values))):
        if own and hp.name in values:
            try:
                out[i] = hp.to_unit(values[hp.name])
            except (ValueError, TypeError, OverflowError):
                out[i] = inactive
    return out


_normalise = normalise_float


def config_key(values: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A hashable identity of a configuration (floats compared to 12 significant digits)."""
    return tuple(sorted((k, _normalise(v)) for k, v in values.items()))


#: Points a grid splits a continuous Float into, as Keras Tuner's ``Float.values`` does.
DEFAULT_FLOAT_POINTS = 10


def grid_values_of(hp: HyperParameter, n_float_points: int) -> list[Any]:
    """All values of a discrete hyperparameter; for a continuous Float, its default and its
    ``n_float_points`` :func:`float_points` (Keras Tuner's GridSearch tries each
    hyperparameter's default first, then its ``values``), in increasing order."""
    size = hp.grid_size
    if size is None:
        assert isinstance(hp, Float)
        values = {_normalise(hp.default): hp.default}  # the default kept exact
        for v in float_points(hp, n_float_points):
            values.setdefault(_normalise(v), v)
        return sorted(values.values())
    return [hp.grid_value(i) for i in range(size)]


#: A discrete hyperparameter with more values than this is never listed whole: the
#: enumeration walks its grid lazily and the count takes its unlisted values as one block.
LAZY_GRID = 10_000

#: Most configurations :func:`iter_configurations` agrees to walk. A grid search of a space
#: beyond it (``Int("n", 0, 10**25)``) can never finish; it is refused in one line instead.
MAX_ENUMERABLE = 10**12


class _Unlisted:
    """A stand-in value of a huge parent grid: any of its values that no condition lists."""

    def __repr__(self) -> str:
        return "<a value no condition lists>"


_UNLISTED = _Unlisted()


def _parent_blocks(hp: HyperParameter, space: Space) -> list[tuple[Any, int]]:
    """The values of a huge discrete parent as ``(value, how many values act alike)``: each
    grid value some condition lists, once, then one block of all the others. Counting with
    these equals counting over every grid value, in time bounded by the conditions."""
    size = hp.grid_size
    assert size is not None
    listed: dict[Any, None] = {}
    for other in space:
        for c in other.conditions:
            if c.name != hp.name:
                continue
            for v in c.values:
                if not hp.contains(v):
                    continue
                g = hp.grid_value(hp.grid_index(v))
                if g == v:  # what a walk over the grid would match
                    listed.setdefault(g, None)
    blocks = [(g, 1) for g in listed]
    if size > len(listed):
        blocks.append((_UNLISTED, size - len(listed)))
    return blocks


def _parents(space: Space) -> set[str]:
    """Names the enumeration sets one value at a time: parents, and names with several
    definitions (the first active one takes the name)."""
    return {c.parent for hp in space for c in hp.conditions} | _repeated_names(space)


def count_configurations(space: Space, n_float_points: int | None = None) -> int | None:
    """How many distinct configurations the space holds; None when it is continuous.

    With ``n_float_points`` a continuous Float counts as that many points and its default
    (:func:`grid_values_of`, the grid's view).
    """
    if n_float_points is None and any(hp.grid_size is None for hp in space):
        return None
    parents = _parents(space)
    sizes = [
        hp.grid_size if hp.grid_size is not None else len(grid_values_of(hp, n_float_points or 2))
        for hp in space
    ]

    def blocks(hp: HyperParameter, size: int) -> list[tuple[Any, int]]:
        if hp.grid_size is not None and size > LAZY_GRID:
            return _parent_blocks(hp, space)
        return [(v, 1) for v in grid_values_of(hp, n_float_points or 2)]

    def count(i: int, values: dict[str, Any]) -> int:
        if i == len(space):
            return 1
        hp = space[i]
        if hp.name in values or not is_active(hp, values):
            return count(i + 1, values)
        if hp.name not in parents:
            return sizes[i] * count(i + 1, values)
        total = 0
        for v, alike in blocks(hp, sizes[i]):
            values[hp.name] = v
            total += alike * count(i + 1, values)
        del values[hp.name]
        return total

    return count(0, {})


def iter_configurations(
    space: Space,
    n_float_points: int = DEFAULT_FLOAT_POINTS,
    values_of: Callable[[HyperParameter, int], list[Any]] = grid_values_of,
) -> Iterator[dict[str, Any]]:
    """Every configuration of the space, first-registered hyperparameter outermost.

    A grid of more than ``LAZY_GRID`` values is walked lazily (never listed whole). A space
    of more than ``MAX_ENUMERABLE`` configurations is refused: the first ``next()`` raises
    a ValueError naming its size and the largest hyperparameters, in bounded time.
    """
    _refuse_astronomical(space, n_float_points)
    grids: list[Callable[[], Iterable[Any]]] = []
    for hp in space:
        size = hp.grid_size
        if values_of is grid_values_of and size is not None and size > LAZY_GRID:
            grids.append(lambda hp=hp, size=size: map(hp.grid_value, range(size)))
        else:
            listed = values_of(hp, n_float_points)
            grids.append(lambda listed=listed: listed)

    def walk(i: int, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if i == len(space):
            yield dict(values)
            return
        hp = space[i]
        if hp.name in values or not is_active(hp, values):
            yield from walk(i + 1, values)
            return
        for v in grids[i]():
            values[hp.name] = v
            yield from walk(i + 1, values)
        del values[hp.name]

    return walk(0, {})


def _refuse_astronomical(space: Space, n_float_points: int) -> None:
    """Raise when the space holds more than MAX_ENUMERABLE configurations (see above)."""
    sizes = [
        hp.grid_size if hp.grid_size is not None else n_float_points + 1 for hp in space
    ]
    if math.prod(sizes) <= MAX_ENUMERABLE:  # an upper bound: nothing to count exactly
        return
    total = count_configurations(space, n_float_points)
    if total is None or total <= MAX_ENUMERABLE:
        return
    largest = sorted(zip(sizes, range(len(space))), reverse=True)[:3]
    named = ", ".join(f"{space[i].name!r}: {show_number(n)} values" for n, i in largest)
    raise ValueError(
        f"The space has {show_number(total)} configurations ({named}), more than the "
        f"{MAX_ENUMERABLE:.0e} an enumeration (a grid search) can walk. Use a "
        "sampler that draws (RandomSampler, TPESampler, GPSampler), or give the large "
        "hyperparameters a coarser step or fewer values."
    )
