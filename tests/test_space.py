"""Tests for tunewise.space: hyperparameter definitions, the unit-interval encoding,
define-by-run ``HyperParameters``, conditions, configs and configuration enumeration."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import warnings

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tunewise.space import (
    Boolean,
    Choice,
    Condition,
    Fixed,
    Float,
    HyperParameters,
    Int,
    config_key,
    count_configurations,
    decode,
    hyperparameter_from_config,
    hyperparameter_to_config,
    is_active,
    iter_configurations,
)

PROPERTY = settings(max_examples=200, deadline=None)
UNIT = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
# Unit points every check uses besides the drawn ones: both ends and points next to them.
FIXED_UNITS = [0.0, 1e-12, 0.25, 0.5, 0.75, 1.0 - 1e-12, 1.0]
MAX_GRID_CHECKS = 400


# ====================================================================== helpers


def float_close(hp, a, b):
    """Float equality up to rounding: 1e-9 relative, or 1e-12 of the range's magnitude
    (the same absolute scale ``Float.contains`` uses for its bounds)."""
    scale = max(1.0, abs(hp.min_value), abs(hp.max_value))
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12 * scale)


def same_value(hp, a, b):
    if isinstance(hp, Float):
        return isinstance(a, float) and isinstance(b, float) and float_close(hp, a, b)
    return a == b and type(a) is type(b)


def grid_indices(n):
    if n <= MAX_GRID_CHECKS:
        return range(n)
    step = (n - 1) / (MAX_GRID_CHECKS - 1)
    return sorted({round(i * step) for i in range(MAX_GRID_CHECKS)})


def is_index_grid(hp):
    """Hyperparameters whose unit interval is split into equal bins, one per grid value."""
    if isinstance(hp, (Choice, Boolean, Fixed)):
        return True
    return hp.step is not None


def is_decreasing(hp):
    """A reverse-log Int/Float with a step: its grid ``max + min - min * step**i`` runs from
    max_value down (Keras Tuner's order), so a larger u gives a smaller value."""
    return isinstance(hp, (Int, Float)) and hp.step is not None and hp.sampling == "reverse_log"


def assert_on_step_grid(hp, v):
    """``v`` lies on the step grid of a numeric ``hp`` (checked from the definition)."""
    lo, step = hp.min_value, hp.step
    if step is None:
        if isinstance(hp, Int):
            assert isinstance(v, int) and not isinstance(v, bool)
        return
    if hp.sampling in ("log", "reverse_log"):
        # reverse-log: the mirror image max + min - v lies on the log grid of min and step
        x = v if hp.sampling == "log" else hp.max_value + lo - v
        k = math.log(x / lo) / math.log(step)
        if isinstance(hp, Float):
            # grid values are rounded to 12 significant digits (of max_value, near the top)
            assert abs(k - round(k)) < 1e-6 or math.isclose(
                x, lo * step ** round(k), rel_tol=1e-9, abs_tol=1e-11 * hp.max_value
            ), (hp, v, k)
        else:  # an Int's log grid is rounded: x == round(min * step**k) for an integer k
            assert x == round(lo * step ** round(k)) or v == round(
                hp.max_value + lo - lo * step ** round(k)
            ), (hp, v, k)
    else:
        k = (v - lo) / step
        assert abs(k - round(k)) < 1e-6, (hp, v, k)
        if isinstance(hp, Int):
            assert (v - lo) % step == 0


def assert_valid(hp, v):
    assert hp.contains(v), (hp, v)
    if isinstance(hp, Int):
        assert isinstance(v, int) and not isinstance(v, bool), (hp, v)
    if isinstance(hp, Float):
        assert isinstance(v, float), (hp, v)
    if isinstance(hp, (Int, Float)):
        assert hp.min_value <= v <= hp.max_value, (hp, v)
        assert_on_step_grid(hp, v)
    if isinstance(hp, Choice):
        assert any(v == x and type(v) is type(x) for x in hp.values), (hp, v)
    if isinstance(hp, Boolean):
        assert v is True or v is False
    if isinstance(hp, Fixed):
        assert v == hp.value and type(v) is type(hp.value)


def check_contract(hp, units):
    """The encoding contract for one hyperparameter over the given unit points."""
    units = sorted(set(units) | set(FIXED_UNITS))
    decoded = [hp.from_unit(u) for u in units]
    for u, v in zip(units, decoded):
        assert_valid(hp, v)
        t = hp.to_unit(v)
        assert 0.0 <= t <= 1.0, (hp, v, t)
        back = hp.from_unit(t)
        assert same_value(hp, back, v), (hp, u, v, t, back)
    # The default is a valid value and survives the round trip.
    assert_valid(hp, hp.default)
    assert same_value(hp, hp.from_unit(hp.to_unit(hp.default)), hp.default)
    # Monotonic: a larger u never gives a smaller value (a larger one on a reverse-log grid).
    if isinstance(hp, (Int, Float)):
        for a, b in itertools.pairwise(decoded):
            assert (a >= b) if is_decreasing(hp) else (a <= b), (hp, decoded)
    if isinstance(hp, Choice):
        idx = [hp.grid_index(v) for v in decoded]
        assert idx == sorted(idx), (hp, decoded)
    # Every grid value of a discrete hyperparameter.
    n = hp.grid_size
    if n is None:
        return
    assert n >= 1
    previous = None
    for i in grid_indices(n):
        g = hp.grid_value(i)
        assert_valid(hp, g)
        t = hp.to_unit(g)
        assert 0.0 < t < 1.0, (hp, i, g, t)  # a bin centre (or an integer's share of a log scale)
        assert same_value(hp, hp.from_unit(t), g), (hp, i, g, t)
        assert hp.grid_index(g) == i, (hp, i, g)
        if previous is not None and isinstance(hp, (Int, Float)):  # strictly monotone grid
            assert (previous > g) if is_decreasing(hp) else (previous < g), (hp, i, previous, g)
        previous = g
    # Equal bins: a uniform u gives each grid value the same probability.
    if is_index_grid(hp):
        for i in grid_indices(n):
            g = hp.grid_value(i)
            for frac in (0.01, 0.5, 0.99):
                assert same_value(hp, hp.from_unit((i + frac) / n), g), (hp, i, frac)
        centres = [hp.from_unit((i + 0.5) / n) for i in grid_indices(n)]
        assert len({(type(c), c) for c in centres}) == len(centres)


# ====================================================================== strategies


def _maybe_default(draw, hp_cls, *args, **kwargs):
    """Build ``hp`` without a default, then maybe again with a random valid default."""
    hp = hp_cls(*args, **kwargs)
    if draw(st.booleans()):
        default = hp.from_unit(draw(UNIT))
        hp = hp_cls(*args, default=default, **kwargs)
        assert hp.default == default
    return hp


@st.composite
def int_linear(draw):
    lo = draw(st.integers(-(10**6), 10**6))
    step = draw(st.one_of(st.none(), st.integers(1, 1000)))
    s = step or 1
    hi = lo + draw(st.integers(0, 300)) * s + draw(st.integers(0, s - 1))
    return _maybe_default(draw, Int, "i", lo, hi, step=step, sampling="linear")


@st.composite
def int_log_no_step(draw):
    lo = draw(st.integers(1, 10**4))
    hi = lo + draw(st.one_of(st.integers(0, 50), st.integers(0, 10**6)))
    return _maybe_default(draw, Int, "i", lo, hi, sampling="log")


@st.composite
def int_log_int_step(draw):
    lo = draw(st.integers(1, 1000))
    step = draw(st.integers(2, 10))
    k = draw(st.integers(0, 8))
    hi = draw(st.integers(lo * step**k, lo * step ** (k + 1) - 1))
    return _maybe_default(draw, Int, "i", lo, hi, step=step, sampling="log")


@st.composite
def int_log_float_step(draw):
    """A non-integer multiplier large enough that the rounded grid never repeats."""
    lo = draw(st.integers(1, 1000))
    step = draw(st.floats(1.0 + 1.0 / lo + 1e-9, 10.0))
    assume(lo * (step - 1) >= 1)
    hi = int(lo * step ** draw(st.floats(0, 12))) + draw(st.integers(0, 5))
    return _maybe_default(draw, Int, "i", lo, max(lo, hi), step=step, sampling="log")


@st.composite
def int_reverse_log(draw):
    """No step, or an integer multiplier: the grid max + min - min * step**i."""
    lo = draw(st.integers(1, 10**4))
    hi = lo + draw(st.one_of(st.integers(0, 50), st.integers(0, 10**6)))
    step = draw(st.one_of(st.none(), st.integers(2, 10)))
    return _maybe_default(draw, Int, "i", lo, hi, step=step, sampling="reverse_log")


@st.composite
def float_linear(draw):
    if draw(st.booleans()):
        lo = draw(st.floats(-1e6, 1e6))
        hi = lo + draw(st.one_of(st.just(0.0), st.floats(1e-6, 1e6)))
        return _maybe_default(draw, Float, "f", lo, hi, sampling="linear")
    step = draw(st.floats(1e-3, 1e3))
    lo = step * draw(st.floats(-1e4, 1e4))  # |min| / step <= 1e4: see float_reverse_log
    hi = lo + step * (draw(st.integers(0, 200)) + draw(st.floats(0.0, 0.999)))
    return _maybe_default(draw, Float, "f", lo, hi, step=step, sampling="linear")


@st.composite
def float_positive_range(draw):
    lo = 10.0 ** draw(st.floats(-8, 4))
    hi = lo * 10.0 ** draw(st.one_of(st.just(0.0), st.floats(0, 8)))
    return lo, hi


@st.composite
def float_log(draw):
    lo, hi = draw(float_positive_range())
    step = draw(st.one_of(st.none(), st.floats(1.05, 10.0)))
    return _maybe_default(draw, Float, "f", lo, hi, step=step, sampling="log")


@st.composite
def float_reverse_log(draw):
    """No step, or a multiplier: the grid max + min - min * step**i."""
    lo, hi = draw(float_positive_range())
    step = None
    # Grid values are rounded to 12 significant digits: keep the smallest gap, min * (step - 1)
    # next to max_value, well above that resolution.
    if draw(st.booleans()):
        step = draw(st.floats(1.05, 10.0))
        assume(lo * (step - 1) > 1e-9 * hi)
    return _maybe_default(draw, Float, "f", lo, hi, step=step, sampling="reverse_log")


@st.composite
def choices(draw):
    kind = draw(st.sampled_from(["int", "float", "str", "bool"]))
    if kind == "int":
        values = draw(st.lists(st.integers(-1000, 1000), min_size=1, max_size=12, unique=True))
    elif kind == "float":
        values = draw(
            st.lists(
                st.floats(-1e6, 1e6).map(lambda x: x + 0.0), min_size=1, max_size=12, unique=True
            )
        )
    elif kind == "str":
        values = draw(st.lists(st.text(max_size=5), min_size=1, max_size=12, unique=True))
    else:
        values = draw(st.permutations([True, False]))[: draw(st.integers(1, 2))]
    default = draw(st.one_of(st.none(), st.sampled_from(values)))
    ordered = None
    if kind in ("int", "float"):
        ordered = draw(st.sampled_from([None, True, False]))
    return Choice("c", values=tuple(values), ordered=ordered, default=default)


booleans_hp = st.builds(Boolean, st.just("b"), default=st.booleans())
fixed_hp = st.builds(
    Fixed,
    st.just("x"),
    value=st.one_of(
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=5),
        st.booleans(),
    ),
)

HP_STRATEGIES = [
    int_linear(),
    int_log_no_step(),
    int_log_int_step(),
    int_log_float_step(),
    int_reverse_log(),
    float_linear(),
    float_log(),
    float_reverse_log(),
    choices(),
    booleans_hp,
    fixed_hp,
]
all_hps = st.one_of(*HP_STRATEGIES)


# ====================================================================== 1. defaults, define-by-run


def test_first_call_returns_defaults():
    hp = HyperParameters()
    assert hp.Int("units", 32, 512, step=32) == 32
    assert hp.Int("layers", 1, 5, default=3) == 3
    assert hp.Float("lr", 1e-4, 1e-1, sampling="log") == 1e-4
    assert hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.2) == 0.2
    assert hp.Choice("act", ["relu", "tanh"]) == "relu"
    assert hp.Choice("bs", [64, 32, 128], default=128) == 128
    assert hp.Boolean("bn") is False
    assert hp.Boolean("shuffle", default=True) is True
    assert hp.Fixed("epochs", 10) == 10
    assert hp.values == {
        "units": 32,
        "layers": 3,
        "lr": 1e-4,
        "dropout": 0.2,
        "act": "relu",
        "bs": 128,
        "bn": False,
        "shuffle": True,
        "epochs": 10,
    }
    assert [h.name for h in hp.space] == list(hp.values)
    assert type(hp["units"]) is int and type(hp["lr"]) is float


def test_second_identical_call_returns_same_value():
    hp = HyperParameters.for_trial([], {"units": 7})
    assert hp.Int("units", 1, 10) == 7
    assert hp.Int("units", 1, 10) == 7
    assert hp.Choice("act", ["a", "b"]) == "a"
    assert hp.Choice("act", ["a", "b"]) == "a"
    assert len(hp.space) == 2
    assert hp.get("units") == hp["units"] == 7


def test_definitions_under_other_conditions_are_distinct_hyperparameters():
    # Keras Tuner's identity is (name, conditions): no warning, both are in the space, and
    # the name keeps one value (that of its first active definition).
    hp = HyperParameters()
    hp.Choice("m", ["a", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hp.Int("k", 1, 3, default=2) == 2
        with hp.conditional_scope("m", "a"):
            assert hp.Int("k", 1, 3) == 2
        with hp.conditional_scope("m", "b"):
            assert hp.Int("k", 5, 9) is None
    assert [(h.name, h.conditions) for h in hp.space] == [
        ("m", ()),
        ("k", ()),
        ("k", (Condition("m", ("a",)),)),
        ("k", (Condition("m", ("b",)),)),
    ]
    assert hp.values == {"m": "a", "k": 2}


def build_model(hp):
    """A small define-by-run build function used by several tests."""
    out = {"units": hp.Int("units", 8, 64, step=8), "act": hp.Choice("act", ["relu", "tanh"])}
    out["lr"] = hp.Float("lr", 1e-4, 1e-1, sampling="log")
    out["model"] = hp.Choice("model", ["mlp", "cnn"])
    with hp.conditional_scope("model", "cnn"):
        out["kernel"] = hp.Int("kernel", 1, 3)
        with hp.conditional_scope("kernel", [2, 3]):
            out["pool"] = hp.Boolean("pool")
    out["bn"] = hp.Boolean("bn", default=True)
    return out


def test_for_trial_returns_given_values():
    space_hp = HyperParameters()
    build_model(space_hp)
    values = {
        "units": 40,
        "act": "tanh",
        "lr": 0.01,
        "model": "cnn",
        "kernel": 3,
        "pool": True,
        "bn": False,
    }
    hp = HyperParameters.for_trial(space_hp.space, values)
    out = build_model(hp)
    assert out == values
    assert hp.values == values
    assert [hp[name] for name in values] == list(values.values())
    # A value missing from the trial falls back to the default.
    hp2 = HyperParameters.for_trial(space_hp.space, {"units": 16})
    assert build_model(hp2)["units"] == 16
    assert hp2["act"] == "relu" and hp2["bn"] is True and "kernel" not in hp2


def test_for_trial_plain_values_from_numpy():
    np = pytest.importorskip("numpy")
    hp = HyperParameters.for_trial([], {"units": np.int64(16), "lr": np.float64(0.5)})
    assert type(hp.Int("units", 8, 64, step=8)) is int
    assert type(hp.Float("lr", 0.0, 1.0)) is float


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 2, 3], True),
        ([0.1, 0.2], True),
        ([3, 1, 2], True),
        (["a", "b"], False),
        ([True, False], False),
        (["x"], False),
    ],
)
def test_choice_ordered_default(values, expected):
    hp = HyperParameters()
    hp.Choice("c", values)
    assert hp.space[0].ordered is expected
    hp2 = HyperParameters()
    if expected:
        hp2.Choice("c", values, ordered=False)
        assert hp2.space[0].ordered is False


def test_int_linear_without_step_means_step_one():
    h = Int("i", 3, 7)
    assert h.step == 1
    assert [h.grid_value(i) for i in range(h.grid_size)] == [3, 4, 5, 6, 7]
    assert not h.contains(4.5) and h.contains(4) and not h.contains(8) and not h.contains(True)


def test_int_log_step_is_a_multiplier():
    h = Int("i", 2, 100, step=3, sampling="log")
    assert [h.grid_value(i) for i in range(h.grid_size)] == [2, 6, 18, 54]
    assert h.contains(54) and not h.contains(8) and not h.contains(100)
    f = Float("f", 1e-4, 1e-1, step=10, sampling="log")
    assert [f.grid_value(i) for i in range(f.grid_size)] == [1e-4, 1e-3, 1e-2, 1e-1]


def test_float_step_grid_is_rounded():
    f = Float("f", 0.1, 1.0, step=0.1)
    assert f.grid_size == 10
    assert [f.grid_value(i) for i in range(10)] == [
        0.1,
        0.2,
        0.3,
        0.4,
        0.5,
        0.6,
        0.7,
        0.8,
        0.9,
        1.0,
    ]


@pytest.mark.parametrize("p", [0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
@pytest.mark.parametrize(("lo", "hi"), [(1e-3, 10.0), (0.5, 0.999), (1.0, 100.0), (2.0, 2.0)])
def test_float_reverse_log_formula(lo, hi, p):
    h = Float("f", lo, hi, sampling="reverse_log")
    expected = hi + lo - lo * (hi / lo) ** (1 - p)
    assert math.isclose(h.from_unit(p), expected, rel_tol=1e-12, abs_tol=1e-15)
    if hi > lo:  # dense near the upper bound: past the midpoint at p = 0.5
        assert h.from_unit(0.5) > (lo + hi) / 2


@given(float_positive_range(), UNIT)
@PROPERTY
def test_reverse_log_mirrors_log(bounds, p):
    lo, hi = bounds
    rl = Float("f", lo, hi, sampling="reverse_log")
    lg = Float("f", lo, hi, sampling="log")
    assert math.isclose(
        rl.from_unit(p), lo + hi - lg.from_unit(1 - p), rel_tol=1e-9, abs_tol=1e-12 * hi
    )


def test_int_log_without_step_covers_every_integer():
    h = Int("i", 1, 10, sampling="log")
    seen = {h.from_unit(k / 10000) for k in range(10001)}
    assert seen == set(range(1, 11))
    # log scale: the small integers take more of the unit interval than the large ones
    assert h.to_unit(2) - h.to_unit(1) > h.to_unit(10) - h.to_unit(9)


# ====================================================================== 2. errors


ERROR_CASES = [
    # (id, call on a fresh HyperParameters, name, bad value as it should appear)
    ("int-min>max", lambda hp: hp.Int("units", 10, 1), "units", "10"),
    ("float-min>max", lambda hp: hp.Float("lr", 1.0, 0.5), "lr", "0.5"),
    ("int-step-0", lambda hp: hp.Int("units", 1, 10, step=0), "units", "step=0"),
    ("int-step-neg", lambda hp: hp.Int("units", 1, 10, step=-2), "units", "-2"),
    ("float-step-0", lambda hp: hp.Float("lr", 0.0, 1.0, step=0.0), "lr", "0.0"),
    ("float-step-neg", lambda hp: hp.Float("lr", 0.0, 1.0, step=-0.1), "lr", "-0.1"),
    ("int-log-0", lambda hp: hp.Int("units", 0, 10, sampling="log"), "units", "=0"),
    ("int-rlog-neg", lambda hp: hp.Int("units", -5, -1, sampling="reverse_log"), "units", "-5"),
    ("float-log-0", lambda hp: hp.Float("lr", 0.0, 1.0, sampling="log"), "lr", "0.0"),
    ("float-log-neg", lambda hp: hp.Float("lr", -1.0, 1.0, sampling="log"), "lr", "-1.0"),
    ("float-rlog-0", lambda hp: hp.Float("lr", 0.0, 1.0, sampling="reverse_log"), "lr", "0.0"),
    ("int-float-min", lambda hp: hp.Int("units", 1.5, 10), "units", "1.5"),
    ("int-float-max", lambda hp: hp.Int("units", 1, 10.25), "units", "10.25"),
    ("int-str-min", lambda hp: hp.Int("units", "1", 10), "units", "'1'"),
    ("int-float-step", lambda hp: hp.Int("units", 0, 10, step=1.5), "units", "1.5"),
    (
        "int-log-step-str",
        lambda hp: hp.Int("units", 1, 10, step="2", sampling="log"),
        "units",
        "'2'",
    ),
    ("float-inf", lambda hp: hp.Float("lr", 0.0, math.inf), "lr", "inf"),
    ("sampling", lambda hp: hp.Int("units", 1, 10, sampling="cubic"), "units", "cubic"),
    ("choice-empty", lambda hp: hp.Choice("act", []), "act", "[]"),
    ("choice-str", lambda hp: hp.Choice("act", "relu"), "act", "relu"),
    ("choice-int-str", lambda hp: hp.Choice("act", [1, "a"]), "act", "'a'"),
    ("choice-bool-int", lambda hp: hp.Choice("act", [True, 1]), "act", "True"),
    ("choice-dup", lambda hp: hp.Choice("act", [1, 2, 1]), "act", "[1, 2, 1]"),
    ("choice-dup-str", lambda hp: hp.Choice("act", ["a", "b", "a"]), "act", "'a', 'b', 'a'"),
    (
        "choice-ordered-str",
        lambda hp: hp.Choice("act", ["a", "b"], ordered=True),
        "act",
        "ordered=True",
    ),
    (
        "choice-ordered-bool",
        lambda hp: hp.Choice("act", [True, False], ordered=True),
        "act",
        "ordered=True",
    ),
    ("int-default-above", lambda hp: hp.Int("units", 1, 10, default=11), "units", "11"),
    ("int-default-below", lambda hp: hp.Int("units", 1, 10, default=0), "units", "default=0"),
    ("int-default-off-grid", lambda hp: hp.Int("units", 0, 10, step=2, default=3), "units", "3"),
    (
        "int-default-off-log-grid",
        lambda hp: hp.Int("units", 1, 64, step=2, sampling="log", default=3),
        "units",
        "3",
    ),
    ("int-default-bool", lambda hp: hp.Int("units", 0, 10, default=True), "units", "True"),
    ("float-default-out", lambda hp: hp.Float("lr", 0.0, 1.0, default=1.5), "lr", "1.5"),
    (
        "float-default-off-grid",
        lambda hp: hp.Float("lr", 0.0, 1.0, step=0.25, default=0.3),
        "lr",
        "0.3",
    ),
    ("choice-default", lambda hp: hp.Choice("act", ["a", "b"], default="z"), "act", "'z'"),
    ("choice-default-int", lambda hp: hp.Choice("bs", [1, 2], default=3), "bs", "3"),
    ("choice-default-bool-for-int", lambda hp: hp.Choice("bs", [1, 2], default=True), "bs", "True"),
    (
        "choice-default-bool-for-int0",
        lambda hp: hp.Choice("bs", [0, 1], default=False),
        "bs",
        "False",
    ),
    ("bool-default", lambda hp: hp.Boolean("flag", default=1), "flag", "1"),
    ("fixed-list", lambda hp: hp.Fixed("const", [1, 2]), "const", "[1, 2]"),
    ("fixed-nan", lambda hp: hp.Fixed("const", math.nan), "const", "nan"),
    (
        "int-log-step-too-small",
        lambda hp: hp.Int("a", 1, 100, step=1.5, sampling="log"),
        "a",
        "1.5",
    ),
    ("int-log-step-one", lambda hp: hp.Int("a", 2, 100, step=1, sampling="log"), "a", "step=1"),
    (
        "float-log-step-le-1",
        lambda hp: hp.Float("lr", 1e-4, 1.0, step=1.0, sampling="log"),
        "lr",
        "1.0",
    ),
    (
        "float-log-step-half",
        lambda hp: hp.Float("lr", 1e-4, 1.0, step=0.5, sampling="log"),
        "lr",
        "0.5",
    ),
    (
        "scope-unregistered",
        lambda hp: hp.conditional_scope("ghost", "x").__enter__(),
        "ghost",
        "ghost",
    ),
    ("get-unknown", lambda hp: hp.get("missing"), "missing", "missing"),
]


#: Keras Tuner's error types where they are not ValueError: a Choice of mixed (or unsupported)
#: types is a TypeError, an unknown name is a KeyError.
ERROR_TYPES = {"choice-int-str": TypeError, "choice-bool-int": TypeError, "get-unknown": KeyError}


@pytest.mark.parametrize(
    ("case_id", "call", "name", "bad"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_errors_name_hyperparameter_and_value(case_id, call, name, bad):
    hp = HyperParameters()
    with pytest.raises(ERROR_TYPES.get(case_id, ValueError)) as info:
        call(hp)
    message = str(info.value)
    assert repr(name) in message, message
    assert bad in message, message
    assert hp.space == []  # nothing was registered


@pytest.mark.parametrize(
    ("first", "second", "bad"),
    [
        (lambda hp: hp.Int("a", 1, 10), lambda hp: hp.Int("a", 1, 20), "20"),
        (lambda hp: hp.Int("a", 1, 10), lambda hp: hp.Int("a", 1, 10, step=3), "step=3"),
        (lambda hp: hp.Int("a", 1, 10), lambda hp: hp.Float("a", 1.0, 10.0), "Float"),
        (lambda hp: hp.Choice("a", ["x", "y"]), lambda hp: hp.Choice("a", ["x", "z"]), "'z'"),
        (
            lambda hp: hp.Float("a", 0.0, 1.0),
            lambda hp: hp.Float("a", 0.0, 1.0, default=0.5),
            "0.5",
        ),
        (lambda hp: hp.Boolean("a"), lambda hp: hp.Fixed("a", 3), "3"),
    ],
)
def test_redefinition_warns_once_and_the_first_definition_wins(first, second, bad):
    # Keras Tuner's rule (the first definition wins, the call returns the current value),
    # said once per name in a UserWarning that names both definitions.
    hp = HyperParameters()
    value = first(hp)
    before = hp.space
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert second(hp) == value
        assert second(hp) == value  # said once per name
        assert first(hp) == value
    assert len(caught) == 1 and caught[0].category is UserWarning
    message = str(caught[0].message)
    assert "'a'" in message and bad in message, message
    assert before[0].describe() in message, message
    assert caught[0].filename == __file__  # points at the code that redefined it
    assert hp.space == before and hp.values == {"a": value}


def test_redefinition_warning_is_per_name():
    hp = HyperParameters()
    hp.Int("a", 1, 10)
    hp.Int("b", 1, 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hp.Int("a", 1, 20)
        hp.Int("b", 1, 20)
    assert all(w.category is UserWarning for w in caught)
    assert ["'a'" in str(w.message) for w in caught] == [True, False]
    assert ["'b'" in str(w.message) for w in caught] == [False, True]


def test_redefinition_of_inherited_definition_is_allowed_once():
    hp = HyperParameters.for_trial([Int("a", 1, 10)], {"a": 7})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the stored definition changes silently (once)
        assert hp.Int("a", 1, 5) == 1  # 7 is not a value of the new definition
    assert hp.changes == [(Int("a", 1, 10), Int("a", 1, 5))]
    with pytest.warns(UserWarning, match="'a' is already defined as Int\\(1..5"):
        assert hp.Int("a", 1, 10) == 1  # the code's first definition wins from now on
    assert hp.space == [Int("a", 1, 5)]


def test_scope_value_not_a_parent_value():
    hp = HyperParameters()
    hp.Choice("model", ["mlp", "cnn"])
    with pytest.raises(ValueError) as info, hp.conditional_scope("model", ["cnn", "rnn"]):
        pass
    assert "'model'" in str(info.value) and "'rnn'" in str(info.value)


def test_choice_default_is_consistent_with_contains():
    """A default the Choice accepts must be one it can encode."""
    for values, default in [((1, 2), 1.0), ((1.0, 2.0), 2), ((1, 2), True), ((0, 1), False)]:
        try:
            c = Choice("c", values=values, default=default)
        except ValueError:
            continue
        assert c.contains(c.default), (values, default)
        assert c.from_unit(c.to_unit(c.default)) == c.default


# ====================================================================== 3. conditions


def test_conditional_child_inactive_and_active():
    hp = HyperParameters()
    assert hp.Choice("m", ["a", "b"], default="b") == "b"
    with hp.conditional_scope("m", "a"):
        k = hp.Int("k", 1, 3)
    assert k is None
    for read in (hp.get, hp.__getitem__):
        with pytest.raises(ValueError, match="'k' is currently inactive"):
            read("k")
    assert "k" not in hp and "k" not in hp.values and "m" in hp
    assert hp.is_active("m") and not hp.is_active("k") and not hp.is_active(hp.space[1])
    assert hp.values == {"m": "b"}
    assert [h.name for h in hp.space] == ["m", "k"]
    assert hp.space[1].conditions == (Condition("m", ("a",)),)

    hp2 = HyperParameters.for_trial(hp.space, {"m": "a", "k": 2})
    assert hp2.Choice("m", ["a", "b"], default="b") == "a"
    with hp2.conditional_scope("m", "a"):
        assert hp2.Int("k", 1, 3) == 2
    assert hp2.values == {"m": "a", "k": 2}


def test_parent_name_keyword_is_a_scope():
    hp = HyperParameters.for_trial([], {"m": "b", "k": 3})
    hp.Choice("m", ["a", "b"])
    assert hp.Int("k", 1, 3, parent_name="m", parent_values=["a"]) is None
    assert hp.values == {"m": "b"}


def test_inactive_value_in_trial_is_not_reported():
    hp = HyperParameters.for_trial([], {"m": "b", "k": 3})
    hp.Choice("m", ["a", "b"])
    with hp.conditional_scope("m", "a"):
        assert hp.Int("k", 1, 3) is None
    assert hp.values == {"m": "b"}
    assert hp.get_config()["values"] == {"m": "b"}


@pytest.mark.parametrize(
    ("trial", "expected"),
    [
        ({"model": "mlp", "kernel": 3, "pool": True}, {"kernel": None, "pool": None}),
        ({"model": "cnn", "kernel": 1, "pool": True}, {"kernel": 1, "pool": None}),
        ({"model": "cnn", "kernel": 2, "pool": True}, {"kernel": 2, "pool": True}),
        ({"model": "cnn", "kernel": 3}, {"kernel": 3, "pool": False}),
        ({"model": "cnn"}, {"kernel": 1, "pool": None}),
    ],
)
def test_nested_scopes(trial, expected):
    hp = HyperParameters.for_trial([], trial)
    out = build_model(hp)
    assert {k: out[k] for k in expected} == expected
    for name, value in expected.items():
        if value is None:
            with pytest.raises(ValueError, match="inactive"):
                hp.get(name)
        else:
            assert hp.get(name) == value
        assert (name in hp.values) == (name in hp) == (value is not None)
    pool = next(h for h in hp.space if h.name == "pool")
    assert pool.conditions == (Condition("model", ("cnn",)), Condition("kernel", (2, 3)))


def test_scope_is_popped_after_an_error():
    hp = HyperParameters()
    hp.Choice("m", ["a", "b"])
    with pytest.raises(RuntimeError), hp.conditional_scope("m", "a"):
        raise RuntimeError("boom")
    assert hp.Int("k", 1, 3) == 1
    assert hp.space[-1].conditions == ()


def simple_conditional_space():
    hp = HyperParameters()
    hp.Choice("m", ["a", "b"])
    with hp.conditional_scope("m", "a"):
        hp.Int("k", 1, 3)
    return hp.space


def test_count_and_iter_conditional_space():
    space = simple_conditional_space()
    assert count_configurations(space) == 4
    configs = list(iter_configurations(space))
    assert configs == [{"m": "a", "k": 1}, {"m": "a", "k": 2}, {"m": "a", "k": 3}, {"m": "b"}]


def test_count_nested_space():
    hp = HyperParameters()
    build_model(hp)
    space = [h for h in hp.space if h.name not in ("lr",)]
    # units 8, act 2, bn 2; model: mlp -> 1, cnn -> kernel 1 (1) + kernel 2,3 (pool 2 each) = 5
    assert count_configurations(space) == 8 * 2 * 2 * (1 + 5)
    configs = list(iter_configurations(space))
    assert len(configs) == 8 * 2 * 2 * 6
    assert len({config_key(c) for c in configs}) == len(configs)
    assert count_configurations(hp.space) is None  # lr is continuous
    # lr: its default (min_value) and 3 bin centres, as Keras Tuner's grid walks a Float
    assert count_configurations(hp.space, n_float_points=3) == 4 * 8 * 2 * 2 * 6
    assert len(list(iter_configurations(hp.space, n_float_points=3))) == 4 * 8 * 2 * 2 * 6


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ([0.1, 0.4], {"m": "a", "k": 2}),
        ([0.1, 0.99], {"m": "a", "k": 3}),
        ([0.6, 0.1], {"m": "b"}),
        ([1.0, 0.0], {"m": "b"}),
    ],
)
def test_decode_drops_inactive(unit, expected):
    assert decode(simple_conditional_space(), unit) == expected


def test_decode_wrong_length():
    with pytest.raises(ValueError):
        decode(simple_conditional_space(), [0.5])


# ====================================================================== 4. config round trip


def test_get_config_shape_and_round_trip():
    hp = HyperParameters.for_trial([], {"model": "cnn", "kernel": 2, "lr": 0.003})
    out = build_model(hp)
    config = hp.get_config()
    assert set(config) == {"space", "values"}
    assert [c["class_name"] for c in config["space"]] == [
        "Int",
        "Choice",
        "Float",
        "Choice",
        "Int",
        "Boolean",
        "Boolean",
    ]
    for item in config["space"]:
        assert set(item) == {"class_name", "config"}
        assert item["config"]["name"]
    by_name = {c["config"]["name"]: c["config"] for c in config["space"]}
    assert by_name["pool"]["conditions"] == [  # Keras Tuner's serialised Parent conditions
        {"class_name": "Parent", "config": {"name": "model", "values": ["cnn"]}},
        {"class_name": "Parent", "config": {"name": "kernel", "values": [2, 3]}},
    ]
    assert by_name["units"]["min_value"] == 8 and by_name["units"]["step"] == 8
    assert by_name["lr"]["sampling"] == "log"
    assert config["values"] == {k: v for k, v in out.items() if v is not None}

    text = json.dumps(config)
    restored = HyperParameters.from_config(json.loads(text))
    assert restored.get_config() == config
    assert restored.space == hp.space
    assert restored.values == hp.values
    # conditions survive: replaying the build function on the restored container agrees
    assert build_model(restored) == out
    assert restored.values == hp.values
    # and an inactive branch stays inactive after the round trip
    mlp = HyperParameters.for_trial(restored.space, {"model": "mlp"}, inherited=False)
    assert build_model(mlp)["pool"] is None and "kernel" not in mlp.values


def test_from_config_unknown_class():
    with pytest.raises(ValueError, match="Nope"):
        hyperparameter_from_config({"class_name": "Nope", "config": {"name": "x"}})


@given(
    all_hps,
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=3), st.lists(st.integers(0, 3), min_size=1, max_size=2)
        ),
        max_size=2,
    ),
)
@PROPERTY
def test_hyperparameter_config_json_round_trip(hp, conditions):
    cond = tuple(Condition(p, tuple(v)) for p, v in conditions)
    hp = dataclasses.replace(hp, conditions=cond)  # what the sklearn space does with a name
    assert hp.conditions == cond
    config = hyperparameter_to_config(hp)
    restored = hyperparameter_from_config(json.loads(json.dumps(config)))
    assert restored == hp
    assert restored.same_definition(hp)
    assert hyperparameter_to_config(restored) == config
    for u in (0.0, 0.3, 1.0):
        assert same_value(hp, restored.from_unit(u), hp.from_unit(u))


# ====================================================================== 5. encoding properties


@pytest.mark.parametrize(
    "strategy",
    HP_STRATEGIES,
    ids=[
        "int-linear",
        "int-log",
        "int-log-int-step",
        "int-log-float-step",
        "int-reverse-log",
        "float-linear",
        "float-log",
        "float-reverse-log",
        "choice",
        "boolean",
        "fixed",
    ],
)
def test_unit_encoding_contract(strategy):
    @given(strategy, st.lists(UNIT, max_size=8))
    @PROPERTY
    def run(hp, units):
        check_contract(hp, units)

    run()


# Hand-picked definitions, each a corner of the contract.
EXPLICIT_HPS = [
    Int("i", 5, 5),
    Int("i", -3, 3),
    Int("i", 0, 10, step=3),
    Int("i", 1, 1024, step=2, sampling="log"),
    Int("i", 1, 100, step=2.5, sampling="log"),
    Int("i", 2, 100, step=1.5, sampling="log"),
    Int("i", 3, 1000, step=1.4, sampling="log"),
    Int("i", 1, 1, sampling="log"),
    Int("i", 1, 10**9, sampling="log"),
    Int("i", 1, 10**9, sampling="reverse_log"),
    Int("i", 1, 100, step=7, sampling="reverse_log"),
    Float("f", 0.0, 0.0),
    Float("f", 0.0, 1.0, step=0.1),
    Float("f", 0.1, 0.7, step=0.2),
    Float("f", -1.0, 1.0, step=0.3),
    Float("f", 1e-6, 1.0, sampling="log"),
    Float("f", 1e-6, 1.0, step=10.0, sampling="log"),
    Float("f", 1e-3, 1.0, sampling="reverse_log"),
    Float("f", 1e-3, 1.0, step=10.0, sampling="reverse_log"),
    Float("f", 0.01, 100.0, step=10, sampling="reverse_log"),  # Keras Tuner's example
    Float("f", 0.5, 0.5, sampling="log"),
    Float("f", 0.0, 0.99999999995, step=0.1),  # 1e-9 grid tolerance: top bin near max
    Float("f", 1.0, 7.999999996, step=2.0, sampling="log"),
    Float("f", 0.1234567890123, 1.0, step=0.1),  # min with more than 12 digits
    Float("f", 0.1234567890127, 1.0, step=0.1),
    Float("f", 1e-9, 1e-8, step=1e-9),
    Float("f", 10.0, 10.000000000000004, sampling="log"),  # log(min) == log(max), min < max
    Float("f", 1 / 3, 1.0, step=0.1),  # grid_value(0) rounded below min
    Float("f", 0.0, 1.857716131225743, step=1.857716131225743),  # top rounded above max
    Float("f", 31.622776601683793, 31.622776601683793, step=2.0, sampling="log"),
    Int("i", 1, 999_999_999, step=10, sampling="log"),  # 1e-9 count tolerance: 10**9 > max
    Int("i", 182, 1_819_999_996, step=10, sampling="log"),
    Int("i", 0, 9_999_999_999, step=10_000_000_000),
    Choice("c", values=(3, 1, 2)),
    Choice("c", values=(0.5,)),
    Choice("c", values=("", "a")),
    Choice("c", values=(False, True), default=True),
    Boolean("b"),
    Boolean("b", default=True),
    Fixed("x", "s"),
    Fixed("x", 0.1),
    Fixed("x", True),
]


@pytest.mark.parametrize("hp", EXPLICIT_HPS, ids=[h.describe() for h in EXPLICIT_HPS])
def test_unit_encoding_contract_explicit(hp):
    check_contract(hp, [k / 997 for k in range(998)])


@given(int_log_int_step(), UNIT)
@PROPERTY
def test_int_log_int_step_grid_values(hp, u):
    v = hp.from_unit(u)
    k = round(math.log(v / hp.min_value) / math.log(hp.step))
    assert v == hp.min_value * hp.step**k  # exact: integer multiplier, no rounding needed


@given(all_hps, UNIT, UNIT)
@PROPERTY
def test_monotone_and_clipped(hp, u1, u2):
    lo, hi = sorted((u1, u2))
    a, b = hp.from_unit(lo), hp.from_unit(hi)
    if isinstance(hp, (Int, Float)):
        assert (a >= b) if is_decreasing(hp) else (a <= b)
    # outside [0, 1] clips to the ends
    assert same_value(hp, hp.from_unit(-0.5), hp.from_unit(0.0))
    assert same_value(hp, hp.from_unit(1.5), hp.from_unit(1.0))


def test_int_contains_rejects_off_grid_and_bad_types():
    h = Int("i", 0, 20, step=5)
    assert [h.contains(v) for v in (0, 5, 20, 5.0, 3, 25, -5, "5", None, True)] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
    ]
    f = Float("f", 0.0, 1.0, step=0.25)
    assert [f.contains(v) for v in (0.0, 0.25, 1, 0.3, 1.25, math.nan, "0.5", False)] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    c = Choice("c", values=(1, 2))
    assert [c.contains(v) for v in (1, 2, 3, "1", True, 1.5)] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]


# ====================================================================== 6. enumeration


@st.composite
def finite_spaces(draw):
    """Up to 5 small discrete hyperparameters, each maybe conditional on an earlier one."""
    n = draw(st.integers(1, 5))
    space = []
    for i in range(n):
        name = f"h{i}"
        kind = draw(st.sampled_from(["int", "choice", "bool", "fixed", "float"]))
        if kind == "int":
            lo = draw(st.integers(-5, 5))
            hp = Int(name, lo, lo + draw(st.integers(0, 3)))
        elif kind == "choice":
            vals = draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4, unique=True))
            hp = Choice(name, values=tuple(vals))
        elif kind == "bool":
            hp = Boolean(name)
        elif kind == "fixed":
            hp = Fixed(name, value=draw(st.integers(0, 9)))
        else:
            hp = Float(name, 0.0, draw(st.sampled_from([0.0, 0.5, 1.0])), step=0.5)
        conditions = []
        if space and draw(st.booleans()):
            parent = draw(st.sampled_from(space))
            grid = [parent.grid_value(j) for j in range(parent.grid_size)]
            vals = draw(
                st.lists(st.sampled_from(grid), min_size=1, max_size=len(grid), unique=True)
            )
            conditions.append(Condition(parent.name, tuple(vals)))
        space.append(dataclasses.replace(hp, conditions=tuple(conditions)))
    return space


def brute_force_configurations(space):
    """Independent oracle: every combination of grid values, reduced to its active part."""
    grids = [[hp.grid_value(j) for j in range(hp.grid_size)] for hp in space]
    seen = set()
    for combo in itertools.product(*grids):
        active = {}
        for hp, v in zip(space, combo):
            ok = True
            for c in hp.conditions:
                if c.parent not in active or active[c.parent] not in c.values:
                    ok = False
            if ok:
                active[hp.name] = v
        seen.add(config_key(active))
    return seen


@given(finite_spaces(), st.lists(st.lists(UNIT, min_size=5, max_size=5), max_size=5))
@PROPERTY
def test_count_matches_iter_on_random_finite_spaces(space, units):
    configs = list(iter_configurations(space))
    keys = [config_key(c) for c in configs]
    assert count_configurations(space) == len(configs)
    assert len(set(keys)) == len(keys)  # no configuration twice
    assert set(keys) == brute_force_configurations(space)
    for c in configs:
        assert list(c) == [hp.name for hp in space if hp.name in c]  # registration order
        for hp in space:
            assert (hp.name in c) == is_active(hp, c)
    for u in units:
        assert config_key(decode(space, u[: len(space)])) in set(keys)
    # A define-by-run container replaying a configuration reports exactly that configuration.
    for c in configs[:20]:
        hp = HyperParameters.for_trial(space, c, inherited=False)
        for h in space:
            if h.name in c:
                assert hp.get(h.name) == c[h.name]
            else:
                with pytest.raises(ValueError, match="inactive"):
                    hp.get(h.name)
        assert hp.values == c


@given(finite_spaces(), st.floats(0.1, 10.0))
@PROPERTY
def test_count_is_none_with_a_continuous_float(space, hi):
    space = [*space, Float("cont", 0.0, hi)]
    assert count_configurations(space) is None
    n_finite = count_configurations(space[:-1])
    # 4 bin centres and the default (0.0, never a centre)
    assert count_configurations(space, n_float_points=4) == 5 * n_finite
    assert len(list(iter_configurations(space, n_float_points=4))) == 5 * n_finite


def test_count_degenerate_float():
    space = [Float("a", 1.0, 1.0), Choice("c", values=("x", "y"))]
    assert count_configurations(space, n_float_points=5) == 2
    assert list(iter_configurations(space)) == [{"a": 1.0, "c": "x"}, {"a": 1.0, "c": "y"}]
