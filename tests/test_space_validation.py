"""Hyperparameter validation at the edges (issue #16, item 4).

Huge ranges in bounded time (no enumeration of astronomically large grids), floats sampled
across any finite range, names that are non-empty strings, every definition mistake raised
where it is made (with a "did you mean" for keywords) and fatal to the search in every path
(plain Study, Keras, scikit-learn), and one-line hints for Optuna's keyword habits.
"""

from __future__ import annotations

import contextlib
import math
import signal
import statistics
import sys
import time
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tunewise as tw
from tunewise.errors import FatalError, SpaceDefinitionError
from tunewise.samplers import GPSampler, GridSampler, RandomSampler, TPESampler
from tunewise.space import (
    Choice,
    Float,
    HyperParameters,
    Int,
    Parent,
    count_configurations,
    iter_configurations,
)
from tunewise.trial import TrialState

FLOAT_MAX = sys.float_info.max


@contextlib.contextmanager
def within(seconds: float):
    """Fail (instead of hanging) when the block runs longer than ``seconds``."""

    def expire(signum, frame):
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def memory_study(**kw):
    kw.setdefault("verbose", 0)
    kw.setdefault("seed", 0)
    return tw.Study("loss", storage="memory", **kw)


# ====================================================================== huge ranges


def test_int_over_an_astronomical_range_samples_uniformly_in_milliseconds():
    hp = Int("n", 0, 10**30)
    started = time.perf_counter()
    with within(5):
        draws = [hp.random_sample(seed) for seed in range(100)]
        units = [hp.to_unit(v) for v in draws]
        back = [hp.from_unit(u) for u in units]
        size = hp.grid_size
    elapsed = time.perf_counter() - started
    assert elapsed < 0.2, elapsed
    assert size == 10**30 + 1
    assert all(isinstance(v, int) and 0 <= v <= 10**30 for v in draws)
    assert abs(statistics.median(draws) / 5e29 - 1) < 0.15
    assert min(draws) < 1e29 and max(draws) > 9e29  # spread over the whole range
    assert all(0.0 < u < 1.0 for u in units)
    # the unit cube holds 53 bits: the round trip is exact to that resolution
    assert all(abs(b - v) <= 10**30 * 2**-50 for b, v in zip(back, draws))
    assert hp.contains(10**30) and hp.contains(10**30 - 1) and not hp.contains(10**30 + 1)
    assert hp.grid_index(10**30 - 7) == 10**30 - 7  # exact, no float rounding
    stepped = Int("k", 0, 10**30, step=3)
    assert stepped.contains(3 * 10**29) and not stepped.contains(3 * 10**29 + 1)
    assert stepped.grid_size == 10**30 // 3 + 1


def test_log_sampled_huge_int_spreads_over_the_exponents():
    hp = Int("n", 1, 10**30, sampling="log")
    with within(5):
        draws = [hp.random_sample(seed) for seed in range(200)]
        back = [hp.from_unit(hp.to_unit(v)) for v in draws]
    exponents = [math.log10(v) for v in draws]
    assert all(1 <= v <= 10**30 for v in draws)
    assert abs(statistics.median(exponents) - 15) < 3
    assert min(exponents) < 3 and max(exponents) > 27
    assert all(abs(b - v) <= max(1, v * 1e-9) for b, v in zip(back, draws))


def test_define_by_run_huge_int_and_values_refused_in_one_line():
    with within(5):
        hp = HyperParameters()
        assert hp.Int("n", 0, 10**25) == 0
        with pytest.raises(ValueError, match=r"too many to list.*grid_value"):
            _ = Int("n", 0, 10**25).values
    assert Int("n", 0, 10, step=5).values == (0, 5, 10)


def test_counting_a_huge_parent_takes_its_unlisted_values_as_one_block():
    with within(5):
        listed = Parent("n", [3, 10**24, 10**26, 3])  # 10**26 is outside, 3 twice: counted once
        space = [Int("n", 0, 10**25), Int("k", 0, 9, conditions=[listed])]
        assert count_configurations(space) == (10**25 + 1 - 2) + 2 * 10
    # the block count equals the walk on a parent just past the lazy threshold
    hp = HyperParameters()
    hp.Int("n", 0, 19_999)
    with hp.conditional_scope("n", [5, 7]):
        hp.Int("k", 0, 2)
    assert count_configurations(hp.space) == len(list(iter_configurations(hp.space))) == 20_004


def test_enumeration_is_lazy_and_an_astronomical_grid_is_refused():
    space = [Int("n", 0, 10**7), Choice("c", ["a", "b"])]
    started = time.perf_counter()
    with within(5):
        first = [c for _, c in zip(range(3), iter_configurations(space))]
    assert time.perf_counter() - started < 0.5  # the 10**7 grid is not listed
    assert first == [{"n": 0, "c": "a"}, {"n": 0, "c": "b"}, {"n": 1, "c": "a"}]

    def objective(hp):
        return float(hp.Int("n", 0, 10**25) % 7)

    study = memory_study(sampler=GridSampler())
    with within(10), pytest.raises(ValueError) as caught:
        study.optimize(objective, max_trials=5)
    message = str(caught.value)
    assert "'n'" in message and "configurations" in message and "RandomSampler" in message
    assert "\n" not in message


@pytest.mark.parametrize("sampler", [RandomSampler, TPESampler, GPSampler])
def test_samplers_search_huge_and_wide_ranges(sampler):
    def objective(hp):
        n = hp.Int("n", 0, 10**25)
        m = hp.Int("m", 1, 10**30, sampling="log")
        x = hp.Float("x", -1e308, 1e308)
        k = hp.Int("k", 0, 10**20, step=7)
        assert 0 <= n <= 10**25 and 1 <= m <= 10**30 and k % 7 == 0
        assert math.isfinite(x) and -1e308 <= x <= 1e308
        return float(n % 1000) + (x > 0)

    study = memory_study(sampler=sampler())
    with within(60), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        study.optimize(objective, max_trials=12)
    assert [t.state for t in study.trials] == [TrialState.COMPLETED] * 12


# ====================================================================== wide floats


def test_float_over_the_whole_float_range_is_sampled_across_it():
    hp = Float("x", -1e308, 1e308)
    draws = [hp.random_sample(seed) for seed in range(1000)]
    assert all(math.isfinite(v) and -1e308 <= v <= 1e308 for v in draws)
    negative = sum(v < 0 for v in draws)
    assert 400 < negative < 600
    ranked = sorted(draws)  # (statistics.quantiles would overflow interpolating these)
    assert abs(ranked[250] / -5e307 - 1) < 0.15 and abs(ranked[750] / 5e307 - 1) < 0.15
    for v in draws[:100]:
        u = hp.to_unit(v)
        assert 0.0 <= u <= 1.0
        assert abs(hp.from_unit(u) - v) <= 1e-12 * 1e308
    extreme = Float("x", -FLOAT_MAX, FLOAT_MAX)
    assert extreme.from_unit(0.0) == -FLOAT_MAX and extreme.from_unit(1.0) == FLOAT_MAX
    assert extreme.to_unit(0.0) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("lo", "hi", "sampling"),
    [
        (1e-300, 1e300, "log"),  # max / min overflows
        (5e-324, FLOAT_MAX, "log"),
        (1e-300, 1e300, "reverse_log"),
        (1e308, 1.7e308, "reverse_log"),  # max + min overflows
    ],
)
def test_warped_floats_over_huge_ratios(lo, hi, sampling):
    hp = Float("x", lo, hi, sampling=sampling)
    draws = [hp.random_sample(seed) for seed in range(300)]
    assert all(math.isfinite(v) and lo <= v <= hi for v in draws)
    if sampling == "log":
        assert len(set(draws)) > 250
    else:  # dense near the top: most draws round to max_value, some fall below it
        assert 1 < len(set(draws)) and min(draws) < hi
    for v in draws[:50]:
        u = hp.to_unit(v)
        assert 0.0 <= u <= 1.0
        assert math.isclose(hp.from_unit(u), v, rel_tol=1e-6)
    if sampling == "log":  # uniform in the exponent
        median = statistics.median(math.log10(v) for v in draws)
        assert abs(median - (math.log10(lo) + math.log10(hi)) / 2) < 60


def test_float_step_grid_over_a_huge_range():
    coarse = Float("x", -1e308, 1e308, step=1e306)
    assert coarse.grid_size == 201
    assert coarse.from_unit(0.0) == -1e308 and coarse.from_unit(1.0) == 1e308
    fine = Float("x", -1e308, 1e308, step=1.0)
    with within(5):
        assert fine.grid_size > 10**308
        v = fine.from_unit(0.75)
    assert math.isfinite(v) and v == pytest.approx(5e307, rel=1e-9)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_non_finite_float_bounds_are_refused_naming_the_value(bad):
    for lo, hi in ((bad, 1.0), (0.0, bad)):
        with pytest.raises(SpaceDefinitionError, match=repr(bad)):
            Float("x", lo, hi)
        with pytest.raises(SpaceDefinitionError, match=repr(bad)):
            HyperParameters().Float("x", lo, hi)


def test_int_bounds_past_the_float_range_are_refused_in_one_line():
    with pytest.raises(SpaceDefinitionError, match=r"max_value=~1e\+400.*float range") as caught:
        Int("n", 0, 10**400)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300


# ====================================================================== names


DEFINERS = {
    "Int": lambda hp, name: hp.Int(name, 0, 3),
    "Float": lambda hp, name: hp.Float(name, 0.0, 1.0),
    "Choice": lambda hp, name: hp.Choice(name, ["a", "b"]),
    "Boolean": lambda hp, name: hp.Boolean(name),
    "Fixed": lambda hp, name: hp.Fixed(name, 1),
}


@pytest.mark.parametrize("kind", sorted(DEFINERS))
@pytest.mark.parametrize("name", [5, None, "", b"units", 1.5, "bad\ud800"])
def test_names_must_be_non_empty_strings(kind, name):
    with pytest.raises(SpaceDefinitionError) as caught:
        DEFINERS[kind](HyperParameters(), name)
    message = str(caught.value)
    assert (repr(name) in message or "surrogate" in message), message
    assert "\n" not in message
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, ValueError)


def test_names_are_data_and_scopes_keep_their_separator(tmp_path):
    names = ["a/b", "$x$", "a\nb", "ünï ✓", "'quoted\"", " "]
    url = f"sqlite:///{tmp_path / 'names.db'}"

    def objective(hp):
        with hp.name_scope("block"):
            hp.Int("units", 1, 3)
        return sum(hp.Float(n, 0.0, 1.0) for n in names)

    study = tw.Study("loss", storage=url, verbose=0, seed=1)
    study.optimize(objective, max_trials=3)
    resumed = tw.Study("loss", storage=url, verbose=0, seed=1)
    best = resumed.best_hyperparameters.values
    assert best == study.best_hyperparameters.values
    assert set(best) == {"block/units", *names}
    with pytest.raises(SpaceDefinitionError, match="name scope"), HyperParameters().name_scope(""):
        pass


# ====================================================================== definition mistakes


@pytest.mark.parametrize(
    ("define", "expected"),
    [
        (lambda hp: hp.Int("n", min_vlaue=1, max_value=3), "did you mean 'min_value'?"),
        (lambda hp: hp.Int("n", 1, 3, smapling="log"), "did you mean 'sampling'?"),
        (lambda hp: hp.Float("x", 0.0, 1.0, stpe=0.1), "did you mean 'step'?"),
        (lambda hp: hp.Choice("c", valeus=[1, 2]), "did you mean 'values'?"),
        (lambda hp: hp.Boolean("b", defualt=True), "did you mean 'default'?"),
        (lambda hp: hp.Fixed("f", vlaue=3), "did you mean 'value'?"),
        (lambda hp: hp.Int("n", low=1, high=3), "min_value"),
        (lambda hp: hp.Float("x", 1e-3, 1.0, log=True), 'sampling="log"'),
        (lambda hp: hp.Choice("c", choices=[1, 2]), "values"),
        (lambda hp: Int("n", min_vlaue=1, max_value=3), "did you mean 'min_value'?"),
        (lambda hp: Choice("c", valeus=[1, 2]), "did you mean 'values'?"),
        (lambda hp: hp.Int("n", 1), "missing 1 required positional argument: 'max_value'"),
        (lambda hp: hp.Int("n", 3, 1), "Swap the bounds: min_value=1, max_value=3"),
        (lambda hp: hp.Int("n", 1, 8, sampling="logg"), 'Did you mean sampling="log"?'),
        (lambda hp: hp.Int("n", 1, 8, step=0), "step=0 must be > 0"),
        (lambda hp: hp.Float("x", 0.0, 1.0, step=-0.1), "step=-0.1 must be > 0"),
        (lambda hp: hp.Choice("c", []), "got values=[] (empty)"),
        (lambda hp: hp.Int("n", 1, 3, default=7), "default=7 is not a value"),
        (lambda hp: hp.Float("x", 0.0, 1.0, default=2.0), "default=2.0 is not a value"),
        (lambda hp: hp.Choice("c", [1, 2], default=3), "default=3"),
    ],
)
def test_definition_mistakes_raise_where_they_are_made(define, expected):
    with pytest.raises(SpaceDefinitionError) as caught:
        define(HyperParameters())
    message = str(caught.value)
    assert expected in message, message
    assert "\n" not in message
    assert isinstance(caught.value, FatalError)


def test_conditional_scope_mistakes_are_definition_errors():
    hp = HyperParameters()
    hp.Choice("model", ["a", "b"])
    with pytest.raises(SpaceDefinitionError, match="'c' is not a value of 'model'"), \
            hp.conditional_scope("model", "c"):
        pass
    with pytest.raises(SpaceDefinitionError, match="did you mean 'parent_values'"), \
            hp.conditional_scope("model", parent_vals=["a"]):
        pass


def _bad_on_a_branch(hp):
    if hp.Boolean("wide"):
        return hp.Int("units", min_vlaue=1, max_value=3)
    return 1.0


def test_a_definition_mistake_stops_a_plain_study_at_once():
    study = memory_study(max_consecutive_failed_trials=50)
    with pytest.raises(SpaceDefinitionError, match="Swap the bounds"):
        study.optimize(lambda hp: hp.Int("n", 3, 1), max_trials=20)
    assert [t.state for t in study.trials] == [TrialState.FAILED]  # not 20 failed trials
    study = memory_study(max_consecutive_failed_trials=50, seed=3)
    with pytest.raises(SpaceDefinitionError, match="did you mean 'min_value'"):
        study.optimize(_bad_on_a_branch, max_trials=30)
    states = [t.state for t in study.trials]
    assert states[-1] is TrialState.FAILED and len(states) < 30
    assert all(s is TrialState.COMPLETED for s in states[:-1])
    assert "did you mean 'min_value'" in study.trials[-1].reason


def test_a_definition_mistake_stops_a_search_in_worker_processes(tmp_path):
    study = tw.Study("loss", directory=str(tmp_path), project_name="w", verbose=0, seed=3,
                     max_consecutive_failed_trials=50)
    with within(120), pytest.raises(SpaceDefinitionError, match="did you mean 'min_value'"):
        study.optimize(_bad_on_a_branch, max_trials=30, n_jobs=2)
    assert len(study.trials) < 30


def test_a_definition_mistake_stops_a_scikit_learn_search():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    from tunewise.sklearn import TunewiseSearchCV

    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(SpaceDefinitionError, match=r"got values=\[\] \(empty\)"):
        TunewiseSearchCV(Ridge(), {"alpha": []}, cv=2).fit(X, y)
    scipy_stats = pytest.importorskip("scipy.stats")
    with pytest.raises(SpaceDefinitionError, match="scipy.stats distribution.*Float"):
        TunewiseSearchCV(Ridge(), {"alpha": scipy_stats.loguniform(1e-3, 1e3)}).fit(X, y)
    with pytest.raises(SpaceDefinitionError, match=r"range.*Int\('alpha', 1, 3, step=1\)"):
        TunewiseSearchCV(Ridge(), {"alpha": range(1, 4)}).fit(X, y)
    with pytest.raises(SpaceDefinitionError, match="did you mean 'max_value'"):
        TunewiseSearchCV(
            Ridge(), lambda hp: {"alpha": hp.Float("alpha", min_value=0.1, max_vale=1.0)}
        ).fit(X, y)

    def build(hp):
        alpha = hp.Float("alpha", 0.1, 1.0)
        if hp.Boolean("intercept"):
            hp.Int("n", 3, 1)
        return {"alpha": alpha}

    search = TunewiseSearchCV(Ridge(), build, n_trials=20, cv=2, random_state=3)
    with pytest.raises(SpaceDefinitionError, match="Swap the bounds"):
        search.fit(X, y)


def test_a_definition_mistake_stops_a_keras_search(tmp_path):
    keras = pytest.importorskip("keras")
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")

    def model():
        m = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
        m.compile(optimizer="sgd", loss="mse")
        return m

    def bad_everywhere(hp):
        hp.Int("units", 4, 16, sampling="logg")
        return model()

    with pytest.raises(SpaceDefinitionError, match='Did you mean sampling="log"'):
        tw.RandomSearch(bad_everywhere, objective="val_loss", max_trials=5,
                        directory=str(tmp_path), project_name="a", verbose=0)

    def bad_on_a_branch(hp):
        if hp.Boolean("wide"):
            hp.Choice("units", [])
        return model()

    tuner = tw.RandomSearch(bad_on_a_branch, objective="val_loss", max_trials=20, seed=1,
                            directory=str(tmp_path), project_name="b", verbose=0)
    with pytest.raises(SpaceDefinitionError, match="empty"):
        tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    states = [t.state for t in tuner.study.trials]
    assert states[-1] is TrialState.FAILED and len(states) < 20


# ====================================================================== Optuna habits


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"n_trials": 20}, "tunewise calls it max_trials"),
        ({"max_trials": 20}, "study.optimize(fn, max_trials=20)"),
        ({"direction": "maximize"}, 'tw.Objective("score", "max")'),
        ({"timeout": 60}, "study.optimize(fn, timeout=60)"),
        ({"load_if_exists": True}, "resumes the stored study"),
        ({"sampelr": None}, "did you mean 'sampler'?"),
    ],
)
def test_optuna_habits_on_study_get_a_one_line_hint(kwargs, expected):
    with pytest.raises(TypeError) as caught:
        tw.Study(storage="memory", verbose=0, **kwargs)
    message = str(caught.value)
    assert expected in message and "\n" not in message, message
    assert message.startswith("Study() got an unexpected keyword argument")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"n_trials": 3}, "tunewise calls it max_trials: study.optimize(fn, max_trials=20)"),
        ({"max_trails": 3}, "did you mean 'max_trials'?"),
        ({"catch": (ValueError,)}, "FatalError"),
        ({"show_progress_bar": True}, "verbose=1"),
    ],
)
def test_optuna_habits_on_optimize_get_a_one_line_hint(kwargs, expected):
    study = memory_study()
    with pytest.raises(TypeError) as caught:
        study.optimize(lambda hp: 1.0, **kwargs)
    message = str(caught.value)
    assert expected in message and "\n" not in message, message
    assert study.trials == []
    study.optimize(lambda hp: hp.Float("x", 0, 1), max_trials=2, timeout=30)  # still accepted
    assert len(study.trials) == 2


def test_checked_callables_keep_their_signatures():
    import inspect

    assert list(inspect.signature(tw.Study.optimize).parameters)[:3] == ["self", "fn", "max_trials"]
    assert "min_value" in inspect.signature(HyperParameters.Int).parameters
    assert list(inspect.signature(Int).parameters)[:3] == ["name", "min_value", "max_value"]


# ====================================================================== properties


BIG = 10**300
PROPERTY = settings(max_examples=150, deadline=None)


@st.composite
def huge_ints(draw):
    """Ints whose ranges reach far past 2**53 (and up to 1e300), with or without a step."""
    sampling = draw(st.sampled_from(["linear", "log", "reverse_log"]))
    if sampling == "linear":
        lo = draw(st.integers(-BIG, BIG))
        hi = lo + draw(st.integers(0, BIG))
        step = draw(st.one_of(st.none(), st.integers(1, 10**200)))
        return Int("n", lo, hi, step=step)
    lo = draw(st.integers(1, 10**100))
    hi = lo + draw(st.integers(0, BIG))
    step = draw(st.one_of(st.none(), st.integers(2, 10**6)))
    return Int("n", lo, hi, step=step, sampling=sampling)


finite = st.floats(allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=5e-324, allow_nan=False, allow_infinity=False)


@st.composite
def wide_floats(draw):
    """Floats over any finite range (up to the whole float line), with or without a step."""
    sampling = draw(st.sampled_from(["linear", "log", "reverse_log"]))
    pair = draw(st.tuples(finite, finite) if sampling == "linear" else st.tuples(positive, positive))
    lo, hi = sorted(pair)
    step = None
    if sampling == "linear" and draw(st.booleans()) and hi > lo:
        step = (hi / 2 - lo / 2) / draw(st.integers(1, 10**6)) * 2
        if not (math.isfinite(step) and step > 0):
            step = None
    return Float("x", lo, hi, step=step, sampling=sampling)


def _round_trip_tolerance(hp, v):
    if isinstance(hp, Int):
        n = hp.grid_size
        if hp.sampling != "linear" and max(abs(hp.min_value), abs(hp.max_value)) > 2**50:
            # log / reverse_log grid values are computed in floats: near 1e31 two of them
            # (2e31 - 2**k for small k, reverse_log) can lie closer than a float's resolution
            return max(abs(hp.min_value), abs(hp.max_value)) * 2**-49
        if n <= 2**50:
            return 0
        # 53 bits of the unit interval: a bin of the unit cube spans this much of the range
        return max(hp.step or 1, (hp.max_value - hp.min_value) * 2**-49 + 1)
    return max(abs(v), abs(hp.min_value), abs(hp.max_value)) * 1e-9


@given(st.one_of(huge_ints(), wide_floats()), st.lists(st.floats(0.0, 1.0), max_size=6))
@PROPERTY
def test_huge_and_wide_definitions_keep_the_encoding_contract(hp, units):
    with within(2):
        for u in [0.0, 0.5, 1.0, *units]:
            v = hp.from_unit(u)
            assert hp.min_value <= v <= hp.max_value, (hp, u, v)
            if isinstance(hp, Float):
                assert math.isfinite(v)
            assert hp.contains(v), (hp, u, v)
            t = hp.to_unit(v)
            assert 0.0 <= t <= 1.0, (hp, v, t)
            back = hp.from_unit(t)
            assert abs(back - v) <= _round_trip_tolerance(hp, v), (hp, v, t, back)
        assert hp.contains(hp.default)


@given(st.one_of(huge_ints(), wide_floats()), st.integers(0, 2**32 - 1))
@PROPERTY
def test_a_seed_reproduces_a_draw_of_any_definition(hp, seed):
    with within(2):
        assert hp.random_sample(seed) == hp.random_sample(seed)
        assert hp.contains(hp.random_sample(seed))


@given(st.lists(st.one_of(huge_ints(), wide_floats()), min_size=1, max_size=3),
       st.integers(0, 1000))
@settings(max_examples=20, deadline=None)
def test_a_seeded_study_over_a_huge_space_reproduces(definitions, seed):
    def objective(hp):
        total = 0.0
        for i, d in enumerate(definitions):
            cls = hp.Int if isinstance(d, Int) else hp.Float
            v = cls(f"p{i}", d.min_value, d.max_value, step=d.step, sampling=d.sampling)
            total += float(v) / 1e300 if isinstance(d, Int) else v / FLOAT_MAX
        return total

    runs = []
    for _ in range(2):
        study = tw.Study("loss", storage="memory", verbose=0, seed=seed)
        with within(20):
            study.optimize(objective, max_trials=4)
        runs.append([t.values for t in study.trials])
    assert runs[0] == runs[1]
    assert all(t.state is TrialState.COMPLETED for t in study.trials)

