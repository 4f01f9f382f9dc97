"""GPSampler on noisy objectives: the incumbent is the best predicted mean (an outlier's
lucky score does not capture it), the augmented expected improvement stops re-sampling where
the noise already dominates, and batches of pending suggestions stay distinct, spread, inside
the space and reproducible."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from tunewise.samplers._gp import GPSampler
from tunewise.samplers._gp_model import (
    Acquisition,
    GaussianProcess,
    GPParams,
    log_ei,
    warp_outputs,
)
from tunewise.space import Choice, Float, Int
from tunewise.trial import FrozenTrial, TrialState

SPACE = [Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)]


def bowl(u: np.ndarray) -> np.ndarray:
    return (u[:, 0] - 0.3) ** 2 + (u[:, 1] - 0.7) ** 2


def noisy_history_with_a_lucky_outlier(seed: int) -> tuple[list[FrozenTrial], np.ndarray, int]:
    """40 Sobol points of a bowl with noise sd 0.05; the point farthest from the optimum on
    the right-hand side gets the best score of all (0.1 below the rest): a lucky outlier."""
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        U = stats.qmc.Sobol(2, scramble=True, seed=seed).random_base2(5)
    U = np.vstack([U, rng.random((8, 2))])
    f = bowl(U)
    z = f + rng.normal(0.0, 0.05, len(U))
    far = int(np.argmax(np.linalg.norm(U - [0.3, 0.7], axis=1) * (U[:, 0] > 0.6)))
    z[far] = z.min() - 0.1
    trials = [FrozenTrial(i, TrialState.COMPLETED, {"x": float(u[0]), "y": float(u[1])},
                          score=float(s)) for i, (u, s) in enumerate(zip(U, z))]
    return trials, f, far


def test_the_incumbent_is_the_best_predicted_mean_not_a_lucky_outlier():
    """The luckiest score sits where the true value is ~0.7 (the optimum is 0): the
    recommendation (the acquisition's incumbent) is a trial near the optimum instead. Before
    outliers were down-weighted the GP bent its fit to interpolate the outlier and handed it
    over in every case; now in 19 of 20 seeded cases (seeds 0-19) it does not, 7 of these 8."""
    good = 0
    for seed in range(8):
        trials, f, far = noisy_history_with_a_lucky_outlier(seed)
        assert min(trials, key=lambda t: t.score).number == far and f[far] > 0.5
        chosen = GPSampler().recommend(SPACE, trials)
        assert chosen is not None
        good += chosen.number != far and f[chosen.number] < 0.1
    assert good >= 7


def test_local_search_centres_follow_the_predicted_mean():
    """The neighbourhoods searched around the best trials are those of the best predicted
    means: with a lucky outlier, the next suggestion is not next to it."""
    for seed in range(3):
        trials, _, far = noisy_history_with_a_lucky_outlier(seed)
        config = GPSampler().suggest(SPACE, trials, np.random.default_rng(seed))
        outlier = np.array([trials[far].values["x"], trials[far].values["y"]])
        assert np.linalg.norm(np.array([config["x"], config["y"]]) - outlier) > 0.1, config


def test_recommend_needs_two_scores_and_follows_the_direction():
    assert GPSampler().recommend(SPACE, []) is None
    one = [FrozenTrial(0, TrialState.COMPLETED, {"x": 0.1, "y": 0.2}, score=1.0),
           FrozenTrial(1, TrialState.RUNNING, {"x": 0.5, "y": 0.5})]
    assert GPSampler().recommend(SPACE, one) is None
    rng = np.random.default_rng(0)
    U = rng.random((20, 2))
    f = bowl(U)
    trials = [FrozenTrial(i, TrialState.COMPLETED, {"x": float(u[0]), "y": float(u[1])},
                          score=float(v)) for i, (u, v) in enumerate(zip(U, f))]
    assert GPSampler().recommend(SPACE, trials).number == int(np.argmin(f))  # noise-free
    up = GPSampler()

    class Max:
        sign = -1

    up.bind(Max())
    flipped = [FrozenTrial(t.number, t.state, t.values, score=-t.score) for t in trials]
    assert up.recommend(SPACE, flipped).number == int(np.argmin(f))


# ---------------------------------------------------------------------- augmented EI


def test_augmented_expected_improvement_known_values_and_gradient():
    """log AEI = log EI + log(1 - sqrt(noise / (var + noise))): no change without noise;
    where the latent variance is small against the noise (a point the data already pin
    down as well as one more noisy evaluation could), the score falls sharply."""
    rng = np.random.default_rng(1)
    X = rng.random((30, 3))
    y = warp_outputs((X[:, 0] - 0.4) ** 2 + np.sin(4 * X[:, 1]))
    gp = GaussianProcess(X, y, GPParams(np.array([0.3, 0.5, 2.0]), 1.0, 0.2))
    F = rng.random((6, 3))
    mean, var = gp.predict(F)
    best = float(y.min())
    plain, _ = Acquisition(gp, best, 2.6).evaluate(F)
    np.testing.assert_allclose(plain, log_ei(mean, var, best))
    aug, _ = Acquisition(gp, best, 2.6, noise=0.2).evaluate(F)
    np.testing.assert_allclose(aug, plain + np.log1p(-np.sqrt(0.2 / (var + 0.2))), rtol=1e-12)
    # at a data point the latent variance is below the noise: the penalty is large there
    at_data, _ = Acquisition(gp, best, 2.6, noise=0.2).evaluate(X[:1])
    at_data_plain, _ = Acquisition(gp, best, 2.6).evaluate(X[:1])
    assert at_data_plain[0] - at_data[0] > 0.5
    acq = Acquisition(gp, best, 2.6, noise=0.2)
    base = rng.random((3, 3))
    rows, cols = np.array([0, 0, 1, 2]), np.array([0, 2, 1, 0])
    v = rng.random(4)
    value, grad = acq.negative_sum_with_grad(v, base, rows, cols)
    G = base.copy()
    G[rows, cols] = v
    assert value == pytest.approx(-float(acq.evaluate(G)[0].sum()), rel=1e-10)
    numeric = optimize.approx_fprime(
        v, lambda u: acq.negative_sum_with_grad(u, base, rows, cols)[0], 1e-7)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------- batches


def hartmann3(u: np.ndarray) -> float:
    a = np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]])
    p = 1e-4 * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547],
                         [381, 5743, 8828]])
    return float(-np.sum(np.array([1.0, 1.2, 3.0, 3.2]) * np.exp(-np.sum(a * (u - p) ** 2, 1))))


BATCH_SPACE = [Float("a", 0.0, 1.0), Float("b", 0.0, 1.0), Float("c", 0.0, 1.0)]


def batch(trials: list[FrozenTrial], k: int, seed: int) -> list[dict]:
    """``k`` suggestions in a row, each made with the earlier ones pending (RUNNING)."""
    trials = list(trials)
    out = []
    for j in range(k):
        config = GPSampler().suggest(BATCH_SPACE, trials, np.random.default_rng([seed, j]))
        out.append(config)
        trials.append(FrozenTrial(len(trials), TrialState.RUNNING, dict(config)))
    return out


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_a_batch_of_four_is_distinct_spread_inside_and_reproducible(noise):
    rng = np.random.default_rng(5)
    U = rng.random((16, 3))
    trials = [FrozenTrial(i, TrialState.COMPLETED, {"a": u[0], "b": u[1], "c": u[2]},
                          score=hartmann3(u) + noise * rng.standard_normal())
              for i, u in enumerate(U)]
    configs = batch(trials, 4, seed=3)
    points = np.array([[c["a"], c["b"], c["c"]] for c in configs])
    assert all(hp.contains(c[hp.name]) for c in configs for hp in BATCH_SPACE)
    gaps = [np.linalg.norm(points[i] - points[j]) for i in range(4) for j in range(i)]
    assert min(gaps) > 0.02, gaps  # measured 0.037-0.31 over six seeded histories
    assert configs == batch(trials, 4, seed=3)


def test_noisy_discrete_search_with_heavy_ties_stays_valid_and_never_repeats():
    """A third of a discrete space ties at the top (scores rounded to 2 decimals, recorded-
    seed noise): every suggestion is a new, valid configuration."""
    space = [Int("a", 0, 7), Int("b", 0, 7), Int("c", 0, 5), Choice("e", ("r", "t", "g"))]
    rng = np.random.default_rng(2)
    trials: list[FrozenTrial] = []
    for i in range(30):
        config = GPSampler().suggest(space, trials, np.random.default_rng([7, i]))
        assert all(hp.contains(config[hp.name]) for hp in space)
        r = math.hypot(config["a"] / 7 - 0.6, config["b"] / 7 - 0.4, config["c"] / 5 - 0.5)
        acc = 0.999 - 0.01 * r - max(0.0, r - 0.5) ** 2 + rng.normal(0.0, 0.004)
        trials.append(FrozenTrial(i, TrialState.COMPLETED, config, score=-round(acc, 2)))
    keys = {tuple(sorted(t.values.items())) for t in trials}
    assert len(keys) == 30
    assert GPSampler().recommend(space, trials) is not None
