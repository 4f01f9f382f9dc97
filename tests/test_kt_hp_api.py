"""Keras Tuner's hyperparameter API on tunewise: module paths, the classes built directly with
Keras Tuner's arguments and errors, ``prob_to_value``/``value_to_prob`` numbers, ``values``,
seeded ``random_sample``, Keras Tuner's config format both ways, and ``HyperParameters``'
scopes, lookups, merge and redefinition rule (also through a real search)."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tunewise as tw
from tunewise.engine import conditions
from tunewise.engine import hyperparameters as hp_module
from tunewise.engine.hyperparameters import hp_types
from tunewise.space import Boolean, Choice, Condition, Fixed, Float, HyperParameters, Int, Parent

PROPERTY = settings(max_examples=150, deadline=None)


# ====================================================================== module paths


def test_keras_tuner_module_paths_are_tunewises_classes():
    from tunewise.engine.hyperparameters import HyperParameters as ImportedHyperParameters

    assert ImportedHyperParameters is tw.HyperParameters is HyperParameters
    for name in ("Int", "Float", "Choice", "Boolean", "Fixed", "HyperParameter"):
        assert getattr(hp_module, name) is getattr(tw.space, name)
        if name != "HyperParameter":
            assert getattr(hp_types, name) is getattr(tw.space, name)
    assert hp_module.serialize is hp_types.serialize is tw.space.serialize
    assert hp_module.deserialize is hp_types.deserialize is tw.space.deserialize
    assert conditions.Parent is Parent and conditions.Condition is Condition
    assert issubclass(Parent, Condition)


# ====================================================================== construction, errors


def test_classes_take_keras_tuners_arguments():
    i = hp_module.Int("i", 0, 10, default=5)
    assert (i.name, i.min_value, i.max_value, i.step, i.sampling, i.default) == (
        "i", 0, 10, 1, "linear", 5
    )
    f = hp_module.Float(name="f", min_value=1, max_value=3, step=0.5, sampling="LINEAR")
    assert (f.min_value, f.max_value, f.step, f.sampling, f.default) == (1.0, 3.0, 0.5, "linear", 1.0)
    assert type(f.min_value) is float
    c = hp_module.Choice("c", ["a", "b"], default="b")
    assert (c.values, c.ordered, c.default) == (("a", "b"), False, "b")
    assert hp_module.Choice("n", [3, 1, 2]).ordered is True
    assert hp_module.Boolean("b").default is False and hp_module.Boolean("b", True).default is True
    assert hp_module.Fixed("x", "v").value == "v" and hp_module.Fixed("x", "v").default == "v"
    assert hp_module.Int("i", 2, 4, sampling=None).sampling == "linear"  # Keras Tuner's old default
    base = hp_module.HyperParameter(name="base", default=0)
    assert (base.name, base.default, base.conditions) == ("base", 0, ())
    cond = hp_module.Int("k", 1, 3, conditions=[Parent("m", "a")])
    assert cond.conditions == (Parent("m", ["a"]),)
    assert hp_module.Int("k", 1, 3, conditions=Parent("m", "a")) == cond  # one condition


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: Int("k", 1, 0), ValueError, "min_value 1 is greater than the max_value 0"),
        (lambda: Float("f", 2.5, 1.0), ValueError, "min_value 2.5 is greater than the max_value 1.0"),
        (lambda: Int("j", 0, 10, sampling="invalid"), ValueError, "sampling must be one of"),
        (lambda: Int("k", -10, -1, sampling="log"), ValueError, "does not support negative values"),
        (lambda: Float("f", 0.0, 1.0, sampling="reverse_log"), ValueError, "min_value=0.0"),
        (
            lambda: Int("k", 1, 10, step=1, sampling="log"),
            ValueError,
            r"For HyperParameters\.Int\(name='k'\), expected step > 1",
        ),
        (
            lambda: Float("f", 1.0, 9.0, step=0.5, sampling="reverse_log"),
            ValueError,
            r"expected step > 1 with sampling='reverse_log'.*step=0\.5",
        ),
        (lambda: Int("j", 0.5, 10), ValueError, "min_value must be an int.*0.5"),
        (lambda: Int("j", 0, 10, step=2.5), ValueError, "step must be an int.*2.5"),
        (lambda: Int("j", 0, 10, default=11), ValueError, "default=11 is not a value"),
        (lambda: Choice("c", [1, 2, 3], default=4), ValueError, "default value should be.*4"),
        (lambda: Choice("c", ["a", "b"], ordered=True), ValueError, "must be `False`"),
        (lambda: Choice("c", ["a", "b", 0]), TypeError, "can contain only one type"),
        (lambda: Choice("c", [{"a": 1}, {"a": 2}]), TypeError, "can contain only `int`"),
        (lambda: Choice("c", []), ValueError, "`values` must be provided"),
        (lambda: Choice("c", "abc"), ValueError, "values='abc' is not a list"),
        (lambda: Boolean("b", default=None), ValueError, "must be a Python boolean"),
        (lambda: Fixed("x", None), ValueError, "value must be an"),
        (lambda: Fixed("x", [1]), ValueError, r"value=\[1\]"),
        (lambda: Parent("p", [None]), TypeError, "Can contain only"),
        (lambda: Parent("p", []), ValueError, "values=\\[\\] is empty"),
    ],
)
def test_bad_definitions_raise_keras_tuners_errors_naming_the_value(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_definitions_are_immutable_and_compare_by_definition():
    a = Float("f", 0, 1)
    assert a == Float("f", 0.0, 1.0, default=0.0)  # the implicit default is min_value
    assert a != Float("f", 0, 1, default=0.5) and a != Float("g", 0, 1)
    assert a != Int("f", 0, 1)
    assert len({a, Float("f", 0.0, 1.0)}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.min_value = 2.0  # type: ignore[misc]
    renamed = dataclasses.replace(Choice("c", [1, 2], default=2), name="d")
    assert (renamed.name, renamed.values, renamed.default) == ("d", (1, 2), 2)
    assert repr(Int("j", 1, 10)) == repr(Int("j", 1, 10)) and "name: 'j'" in repr(Int("j", 1, 10))


# ====================================================================== prob <-> value numbers


def test_float_linear_prob_and_value():
    f = Float("rg", 1.0, 11.0)
    assert f.prob_to_value(0.35) == 4.5 and f.value_to_prob(4.5) == pytest.approx(0.35, abs=1e-12)
    assert f.prob_to_value(0.0) == 1.0 and f.prob_to_value(1.0) == 11.0
    assert f.value_to_prob(11.0) == 1.0


def test_float_log_prob_and_value():
    f = Float("f", 1e-3, 1e3, sampling="log")
    assert f.value_to_prob(1e-3) == 0 and f.value_to_prob(1.0) == 0.5 and f.value_to_prob(1e3) == 1
    assert f.value_to_prob(10.0) == pytest.approx(4 / 6)  # log(1e4) / log(1e6)
    assert f.prob_to_value(0.5) == pytest.approx(1.0) and f.prob_to_value(0.25) == pytest.approx(
        10**-1.5
    )


def test_float_reverse_log_prob_and_value():
    f = Float("f", 1e-3, 1e3, sampling="reverse_log")
    # max + min - min * (max / min) ** (1 - p): dense next to max_value
    assert f.prob_to_value(0.5) == pytest.approx(1e3 + 1e-3 - 1e-3 * 1e3)  # 999.001
    assert f.value_to_prob(999.001) == pytest.approx(0.5)
    assert f.value_to_prob(1e-3) == 0 and f.prob_to_value(0.0) == pytest.approx(1e-3)
    assert 0 < f.value_to_prob(1.0) < 1 and f.prob_to_value(f.value_to_prob(1.0)) == pytest.approx(1)


def test_zero_length_range():
    f = Float("f", 2, 2)
    assert f.random_sample() == 2 and f.value_to_prob(2) == 0.5 and f.values == (2.0,)


def test_int_grid_probabilities_are_bin_centres():
    i = Int("rg", 5, 9, step=1, default=6)
    assert i.value_to_prob(6) == pytest.approx(0.3)  # (1 + 0.5) / 5
    assert [i.prob_to_value(p) for p in (0.0, 0.19, 0.2, 0.3, 0.999, 1.0)] == [5, 5, 6, 6, 9, 9]
    log = Int("rg", 2, 32, step=2, sampling="log")
    assert log.values == (2, 4, 8, 16, 32)
    assert log.value_to_prob(4) == pytest.approx(0.3) and log.prob_to_value(0.3) == 4
    no_step = Int("rg", 2, 32, sampling="log")
    assert all(no_step.prob_to_value(no_step.value_to_prob(v)) == v for v in range(2, 33))


def test_reverse_log_grid_is_keras_tuners():
    # max + min - min * step**i, index 0 at max_value: a larger probability gives a smaller value
    f = Float("rg", 0.01, 100, step=10, sampling="reverse_log")
    assert f.values == (100.0, 99.91, 99.01, 90.01, 0.01)
    assert f.prob_to_value(0.3) == pytest.approx(99.91) and f.value_to_prob(99.91) == pytest.approx(0.3)
    assert f.value_to_prob(0.01) == pytest.approx(0.9) and f.default == 0.01
    i = Int("i", 1, 100, step=3, sampling="reverse_log")
    assert i.values == (100, 98, 92, 74, 20)  # 101 - 3**i
    assert [i.prob_to_value(p) for p in (0.05, 0.95)] == [100, 20]
    # A grid that does not reach min_value: the implicit default is its lowest value, and
    # Keras Tuner's config (default=min_value) loads to the same definition.
    g = Float("g", 1.0, 10.0, step=2, sampling="reverse_log")
    assert g.values == (10.0, 9.0, 7.0, 3.0) and g.default == 3.0
    assert Float("g", 1.0, 10.0, step=2, sampling="reverse_log", default=1.0) == g


def test_categorical_probabilities():
    c = Choice("choice", [1, 2, 3], default=2)
    assert c.value_to_prob(1) == pytest.approx(1 / 6) and c.value_to_prob(3) == pytest.approx(5 / 6)
    assert c.prob_to_value(0) == 1 and c.prob_to_value(1) == 3
    b = Boolean("b")
    assert (b.value_to_prob(False), b.value_to_prob(True)) == (0.25, 0.75)
    assert (b.prob_to_value(0.49), b.prob_to_value(0.5)) == (False, True)
    assert Fixed("x", 8.2).value_to_prob(8.2) == 0.5 and Fixed("x", 8.2).prob_to_value(0.9) == 8.2


# ====================================================================== values


def test_values_of_each_type():
    assert Int("i", 2, 8, 2).values == (2, 4, 6, 8)
    assert Int("i", 2, 8, 2, sampling="log").values == (2, 4, 8)
    assert Int("i", 2, 4).values == (2, 3, 4)
    assert list(Int("i", 2, 20).values) == list(range(2, 21))
    spread = Int("i", 2, 1024, sampling="log").values  # no grid: 10 spread values
    assert len(spread) == 10 and list(spread) == sorted(set(spread)) and spread[0] == 2
    assert Float("f", 2, 8, 2).values == (2.0, 4.0, 6.0, 8.0)
    assert all(type(v) is float for v in Float("f", 2, 8, 2).values)
    assert Float("f", 0.1, 100.0, 10, sampling="log").values == (0.1, 1.0, 10.0, 100.0)
    points = Float("f", 2, 4).values
    assert len(points) == 10
    assert points == pytest.approx([2 + 2 * (i + 0.5) / 10 for i in range(10)])
    assert len(Float("f", 2, 1024, sampling="log").values) == 10
    assert Choice("c", [0, 1, 2]).values == (0, 1, 2)
    assert Boolean("b").values == (True, False) and Fixed("x", 2).values == (2,)


# ====================================================================== random_sample

ALL_HPS = st.one_of(
    st.builds(lambda lo, n, s: Int("i", lo, lo + n, step=s), st.integers(-50, 50),
              st.integers(0, 40), st.sampled_from([None, 1, 3])),
    st.builds(lambda lo, n: Int("i", lo, lo + n, sampling="log"), st.integers(1, 50),
              st.integers(0, 1000)),
    st.builds(lambda lo, w: Float("f", lo, lo + w), st.floats(-1e3, 1e3), st.floats(0, 1e3)),
    st.builds(lambda e, s: Float("f", 1e-3, 10.0**e, step=s, sampling="reverse_log"),
              st.integers(0, 4), st.sampled_from([None, 2.0, 10.0])),
    st.builds(lambda vs: Choice("c", vs), st.lists(st.integers(), min_size=1, max_size=6,
                                                 unique=True)),
    st.builds(Boolean, st.just("b"), st.booleans()),
    st.builds(Fixed, st.just("x"), st.one_of(st.integers(), st.text(max_size=3))),
)


@given(ALL_HPS, st.integers(0, 2**32))
@PROPERTY
def test_seeded_random_sample_reproduces_and_stays_valid(hp, seed):
    first = hp.random_sample(seed)
    assert hp.random_sample(seed) == first
    assert hp.contains(first)
    if isinstance(hp, (Int, Float)):
        assert hp.min_value <= first <= hp.max_value
    assert hp.contains(hp.random_sample())


def test_random_sample_reaches_every_grid_value():
    c = Choice("c", ["a", "b", "c"])
    assert {c.random_sample(seed) for seed in range(200)} == {"a", "b", "c"}
    i = Int("i", 2, 32, step=2, sampling="log")
    assert {i.random_sample(seed) for seed in range(200)} == {2, 4, 8, 16, 32}


# ====================================================================== configs

#: What Keras Tuner 1.4.8 writes for a space with a conditional Float (serialize(hp)).
KT_CONTAINER = {
    "class_name": "HyperParameters",
    "config": {
        "space": [
            {"class_name": "Choice", "config": {"name": "a", "default": 1, "conditions": [],
                                                "values": [1, 2], "ordered": True}},
            {"class_name": "Float", "config": {
                "name": "f", "default": 0.0,
                "conditions": [{"class_name": "Parent", "config": {"name": "a", "values": [1]}}],
                "min_value": 0.0, "max_value": 1.0, "step": None, "sampling": "linear"}},
            {"class_name": "Int", "config": {"name": "j", "default": None, "conditions": [],
                                             "min_value": 1, "max_value": 10, "step": 1,
                                             "sampling": "linear"}},
            {"class_name": "Boolean", "config": {"name": "b", "default": True, "conditions": []}},
            {"class_name": "Fixed", "config": {"name": "x", "conditions": [], "value": "s"}},
        ],
        "values": {"a": 1, "f": 0.25, "j": 4, "b": True, "x": "s"},
    },
}


def test_a_keras_tuner_config_loads_and_is_written_back_unchanged():
    hps = hp_module.deserialize(json.loads(json.dumps(KT_CONTAINER)))
    assert isinstance(hps, HyperParameters)
    assert [type(h).__name__ for h in hps.space] == ["Choice", "Float", "Int", "Boolean", "Fixed"]
    assert hps.space[1].conditions == (Parent("a", [1]),)
    assert hps.values == {"a": 1, "f": 0.25, "j": 4, "b": True, "x": "s"}
    assert hp_module.serialize(hps) == KT_CONTAINER
    hps.values["a"] = 2  # the condition holds in the loaded space
    assert hps.values == {"a": 2, "j": 4, "b": True, "x": "s"}
    for item in KT_CONTAINER["config"]["space"]:
        hp = hp_types.deserialize(item)
        assert hp_types.serialize(hp) == item
        assert type(hp).from_config(hp.get_config()) == hp
        assert type(hp)(**hp.get_config()) == hp  # Keras Tuner's cls(**config)


def test_tunewises_older_condition_format_still_loads():
    old = {"class_name": "Int", "config": {
        "name": "k", "min_value": 1, "max_value": 3, "step": 1, "sampling": "linear",
        "default": None, "conditions": [{"parent": "m", "values": ["a"]}]}}
    hp = tw.space.hyperparameter_from_config(old)
    assert hp.conditions == (Parent("m", ["a"]),)
    assert hp.get_config()["conditions"] == [
        {"class_name": "Parent", "config": {"name": "m", "values": ["a"]}}
    ]


def test_conditions_config_pickle_and_activity():
    p = Parent("p", 1)
    assert p.values == (1,) and p.name == p.parent == "p"
    assert conditions.serialize(p) == {"class_name": "Parent", "config": {"name": "p", "values": [1]}}
    assert conditions.deserialize(conditions.serialize(p)) == p
    assert Parent.from_config({"name": "p", "values": [1]}) == p == Condition("p", (1,))
    assert pickle.loads(pickle.dumps(p)) == p and copy.deepcopy(p) == p
    assert p.is_active({"p": 1}) and not p.is_active({"p": 2}) and not p.is_active({})
    assert Parent("p", ["1", "2"]).values == ("1", "2") and Parent("p", [True]).values == (True,)
    with pytest.raises(AttributeError):
        p.name = "q"  # type: ignore[misc]


def test_definitions_and_containers_pickle():
    hps = HyperParameters()
    hps.Choice("m", ["a", "b"])
    with hps.conditional_scope("m", "a"):
        hps.Int("k", 1, 3)
    hps.values["m"] = "b"
    back = pickle.loads(pickle.dumps(hps))
    assert back.space == hps.space and back.values == {"m": "b"}
    assert pickle.loads(pickle.dumps(hps.space[1])) == hps.space[1]


# ====================================================================== HyperParameters


def test_name_scopes_prefix_names_lookups_and_parents():
    hp = HyperParameters()
    hp.Choice("choice", [1, 2, 3], default=2)
    with hp.name_scope("s1"):
        assert hp.Choice("choice", [4, 5, 6], default=5) == 5
        assert hp.get("choice") == 5 and hp["choice"] == 5 and "choice" in hp
        with hp.conditional_scope("choice", 5):  # the scoped parent: s1/choice
            assert hp.Int("n", 0, 3) == 0
        with hp.name_scope("s2"):
            hp.Fixed("x", 1)
    assert hp.values == {"choice": 2, "s1/choice": 5, "s1/n": 0, "s1/s2/x": 1}
    assert hp.space[2].conditions == (Parent("s1/choice", [5]),)


def test_lookup_errors_are_keras_tuners():
    hp = HyperParameters()
    hp.Int("a", 0, 10, default=3)
    hp.Choice("b", [1, 2], default=2)
    with hp.conditional_scope("b", 1):
        hp.Float("c", -10, 10, default=3)
        with pytest.raises(ValueError, match="'c' is currently inactive"):
            hp["c"]
    with hp.conditional_scope("b", 2):
        assert hp.Float("c", -30, -20, default=-25) == -25
    assert hp["c"] == -25  # its active definition
    with pytest.raises(KeyError, match="'d' does not exist"):
        hp.get("d")
    assert ["a" in hp, "c" in hp, "d" in hp, 3 in hp] == [True, True, False, False]
    with pytest.raises(ValueError, match="not defined"), hp.conditional_scope("ghost", 1):
        pass
    with pytest.raises(ValueError, match="cannot have the same name"), hp.conditional_scope("b", 1):
        hp.Choice("b", [1, 2])
    assert len(hp.space) == 4  # nothing registered by the failed calls


def test_same_name_under_other_conditions_is_another_hyperparameter():
    def build(hp):
        model = hp.Choice("model", ["v1", "v2"])
        with hp.conditional_scope("model", "v1"):
            v1 = hp.Int("layers", 1, 3)
        with hp.conditional_scope("model", "v2"):
            v2 = hp.Int("layers", 5, 7)
        return model, v1, v2

    hp = HyperParameters()
    assert build(hp) == ("v1", 1, None)
    assert [(h.name, h.min_value if isinstance(h, Int) else None) for h in hp.space] == [
        ("model", None), ("layers", 1), ("layers", 5)
    ]
    assert hp.is_active("layers") and hp.is_active(hp.space[1]) and not hp.is_active(hp.space[2])
    assert [len(v) for v in hp._hps.values()] == [1, 2]
    v2 = HyperParameters.for_trial(hp.space, {"model": "v2"}, inherited=False)
    assert build(v2) == ("v2", None, 5) and v2.values == {"model": "v2", "layers": 5}


def test_merge_overwrites_or_keeps():
    hp = HyperParameters()
    hp.Int("a", 0, 100)
    hp.Fixed("b", 2)
    other = HyperParameters()
    other.Fixed("a", 3)
    other.Choice("d", [1, 2, 3], default=2)
    hp.values["b"] = 2
    hp.merge(HyperParameters.from_config({"space": [], "values": {}}))
    hp.merge(other, overwrite=False)  # a is kept; d is new
    assert (hp.get("a"), hp.get("d")) == (0, 2) and isinstance(hp.space[0], Int)
    hp.merge(other)  # overwrite: a's definition is replaced in place, with its default
    assert [type(h).__name__ for h in hp.space] == ["Fixed", "Fixed", "Choice"]
    assert hp.values == {"a": 3, "b": 2, "d": 2}
    with pytest.raises(TypeError, match="merge"):
        hp.merge([1])


def test_copy_is_independent_and_values_can_be_replaced():
    hp = HyperParameters()
    hp.Choice("choice", [1, 2, 3], default=2)
    hp.values["choice"] = 3
    clone = hp.copy()
    assert clone.values == {"choice": 3} and clone.space == hp.space
    clone.values["choice"] = 1
    assert hp.get("choice") == 3
    hp.values = {"choice": 1, "extra": "x"}  # Keras Tuner's plain attribute assignment
    assert hp.values == {"choice": 1, "extra": "x"} and hp.get("extra") == "x"


def test_ensure_active_values_fills_and_drops():
    hp = HyperParameters()
    hp.Choice("m", ["a", "b"], default="b")
    with hp.conditional_scope("m", "a"):
        hp.Int("k", 4, 6)
    with hp.conditional_scope("m", "b"):
        hp.Int("j", 7, 9)
    hp.values = {"m": "a", "j": 8}
    hp.ensure_active_values()
    assert set(hp.values) == {"m", "k"} and 4 <= hp.values["k"] <= 6
    assert "j" not in hp._assigned


def test_redefinition_keeps_the_first_and_warns_once_naming_both():
    hp = HyperParameters()
    assert hp.Int("units", 8, 64, step=8, default=16) == 16
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert hp.Int("units", 1, 4) == 16
        assert hp.Float("units", 0.0, 1.0) == 16
    assert len(caught) == 1 and caught[0].category is UserWarning
    text = str(caught[0].message)
    assert "Int(8..64, step=8, linear, default=16)" in text and "Int(1..4, step=1, linear)" in text
    assert hp.space == [Int("units", 8, 64, step=8, default=16)]


# ====================================================================== through a search


def quiet(**kwargs):
    kwargs.setdefault("storage", "memory")
    kwargs.setdefault("verbose", 0)
    return kwargs


def test_a_search_keeps_same_named_conditional_definitions_apart():
    def objective(hp):
        model = hp.Choice("model", ["small", "big"])
        with hp.conditional_scope("model", "small"):
            small = hp.Int("width", 1, 3)
        with hp.conditional_scope("model", "big"):
            big = hp.Int("width", 100, 300, step=100)
        width = small if model == "small" else big
        assert width is not None
        return float(width)

    study = tw.Study("loss", **quiet(seed=3))
    study.optimize(objective, max_trials=12)
    done = [t for t in study.trials if t.state is tw.TrialState.COMPLETED]
    assert len(done) == 6  # 3 small widths + 3 big ones: the whole space, no failures
    for t in done:
        allowed = {1, 2, 3} if t.values["model"] == "small" else {100, 200, 300}
        assert t.values["width"] in allowed, t.values
    assert sorted((h.name, h.conditions[0].values) for h in study.space if h.conditions) == [
        ("width", ("big",)), ("width", ("small",))
    ]


def test_a_search_with_a_redefinition_warns_and_runs():
    def objective(hp):
        a = hp.Int("a", 1, 3)
        assert hp.Int("a", 1, 30) == a
        return float(a)

    study = tw.Study("loss", **quiet(seed=0))
    with pytest.warns(UserWarning, match="'a' is already defined as Int\\(1..3"):
        study.optimize(objective, max_trials=3)
    assert sorted(t.values["a"] for t in study.trials) == [1, 2, 3]
    assert study.space == [Int("a", 1, 3)]
