"""Tree-structured Parzen Estimator (TPE): a model-based sampler whose cost stays nearly flat.

1. Trials are encoded in the unit cube (``encode``: log scales are already uniform there); an
   inactive or unreadable value is NaN. A configuration and its re-runs count once.
2. The modelled hyperparameters (not ``Fixed`` or one-value ones) form *blocks*: those active
   in exactly the same trials. A block is modelled only from the trials where it is active, so
   a conditional hyperparameter only where its conditions held (``multivariate=False``: one
   block per hyperparameter).
3. Per block, the best ``n_good(n)`` of the n completed trials form the *good* set; the rest,
   FAILED and PRUNED trials and RUNNING ones (so parallel workers are pushed apart) the *bad*
   set. Each becomes a mixture ``l`` or ``g``: a product kernel per trial (weight 1) plus a
   broad prior component (weight ``prior_weight``).
4. ``n_ei_candidates`` points are drawn from ``l`` per block and scored ``log l - log g``; each
   block takes its best, and the assembled point is decoded (active values only). If it was
   tried before: the best untried recombination of candidates, then random draws, then (finite
   spaces) enumeration; None when nothing is left.

Kernels, in unit coordinates: a continuous dimension gets a Gaussian truncated to [0, 1]; a
discrete one on equal bins (Int/stepped Float on a linear or log grid, ordered Choice) gets the
mass that Gaussian puts on each bin; other grids are sampled continuously, snapped with
``from_unit`` and scored at the snapped point; an unordered Choice or a Boolean gets a
distribution over its categories that favours the observed one. Bandwidths follow the gap to
the neighbouring observations, clipped below so a kernel never collapses.

Choices: the good set is ``min(ceil(0.1 n), 25)`` of n completed trials (at least one once a
trial completed, at most 25 so ``l`` stays sharp at large budgets); older trials are not
down-weighted (a tuning objective does not drift, and the split already discards them from
``l``); pending trials join ``g`` rather than get a guessed score (no lie to tune, and a finite
space's pending configurations count as tried, so parallel workers never collide there).

Direction (the ``bind`` hook): the study calls ``bind(objective)`` once; ``objective.sign`` is
+1 to minimise and -1 to maximise, and a trial's goodness is ``-sign * score``. Until bound,
TPE minimises.

No hidden state: the same space, trials and generator give the same suggestion (a memo of
trial encodings only saves work).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import log_ndtr, ndtr, ndtri

from ..space import Boolean, Choice, HyperParameter, config_key, decode, encode
from ..trial import FrozenTrial, TrialState
from ._base import Sampler
from ._random import MAX_DUPLICATE_DRAWS, RandomSampler

#: Default fraction of completed trials that form the good set: 10% keeps ``l`` focused on
#: the best region while still holding a few points after ten trials (the first is ceil(1)).
DEFAULT_GAMMA = 0.1

#: Most trials in the good set. Beyond ~25 points ``l`` only blurs toward the average of a
#: large top slice (and its cost would grow with the budget); ``g`` keeps every other trial.
MAX_GOOD = 25

#: Bandwidth of the prior component, and the largest of any kernel (unit coordinates): as
#: wide as the interval, so the prior is nearly flat yet a truncated Gaussian like the others.
PRIOR_SIGMA = MAX_SIGMA = 1.0

#: Smallest bandwidth is 1 / min(MAX_RESOLUTION, m + SIGMA_FLOOR_OFFSET) for m observations:
#: wide while data are few, shrinking as they grow, and never below 1% of the range, so a
#: kernel never becomes a spike (``g`` of 1000 trials stays smooth).
MAX_RESOLUTION = 100.0

#: Offset of that floor. Good sets are small (1-6 points in the first 60 trials), so the floor
#: sets how sharply ``l`` exploits: benchmarked at 1, 2, 4, 8, an offset of 4 found better optima
#: on a 4-D sphere, Branin and a mixed conditional space than 1 or 2, and did as well on the
#: multimodal Hartmann-6 and Rastrigin at 100 trials (8 gained nothing more).
SIGMA_FLOOR_OFFSET = 4.0

#: A kernel on a bin grid is at least this many bins wide (sigma), so it leaks some mass to
#: the neighbouring values instead of acting as a category.
MIN_BINS_SIGMA = 0.5

#: Largest share of a categorical kernel spread over the other categories (the share is
#: prior_weight / (m + 1) for m observations, capped here so the observed one always leads).
MAX_CATEGORY_SMOOTHING = 0.5

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def default_n_good(n: int, gamma: float = DEFAULT_GAMMA) -> int:
    """Size of the good set for ``n`` completed trials: ``min(ceil(gamma * n), MAX_GOOD)``."""
    return min(math.ceil(gamma * n), MAX_GOOD)


@dataclass(frozen=True)
class _Dim:
    """How one hyperparameter is modelled: ``kind`` is cont, bins, snap or cat; ``size`` bins."""

    hp: HyperParameter
    kind: str
    size: int = 0


def _dim_of(hp: HyperParameter) -> _Dim | None:
    """The model of ``hp``, or None when it is not modelled (a Fixed or a single value)."""
    size = hp.grid_size
    if size is None:
        return _Dim(hp, "cont")
    if size <= 1:
        return None
    if isinstance(hp, Boolean) or (isinstance(hp, Choice) and not hp.ordered):
        return _Dim(hp, "cat", size)
    if size > 2**32:  # bins too narrow for a Gaussian's mass in floats (Int(0, 10**30))
        return _Dim(hp, "snap", size)
    # Equal bins: value i sits at the centre of [i/size, (i+1)/size] (see _hyperparameters).
    ends = (0, size // 2, size - 1)
    if all(abs(hp.to_unit(hp.grid_value(i)) - (i + 0.5) / size) < 1e-9 for i in ends):
        return _Dim(hp, "bins", size)
    return _Dim(hp, "snap", size)


def _log_gauss_mass(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """log(Phi(hi) - Phi(lo)) for a standard normal, accurate in both tails (``lo < hi``)."""
    upper = lo > 0  # both in the upper tail: use the mirror image, where Phi is not ~1
    a = np.where(upper, -hi, lo)
    b = np.where(upper, -lo, hi)
    la, lb = log_ndtr(a), log_ndtr(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return lb + np.log1p(-np.exp(la - lb))


def _bandwidths(x: np.ndarray, floor: float, consider_endpoints: bool) -> np.ndarray:
    """Per-point sigma: the larger gap to its neighbours among ``x``, clipped to [floor, 1].

    The bounds 0 and 1 act as neighbours of the outermost points only with
    ``consider_endpoints`` (or when there is a single point).
    """
    order = np.argsort(x, kind="stable")
    s = np.concatenate(([0.0], x[order], [1.0]))
    gaps = np.maximum(s[1:-1] - s[:-2], s[2:] - s[1:-1])
    if not consider_endpoints and len(x) >= 2:
        gaps[0] = s[2] - s[1]
        gaps[-1] = s[-2] - s[-3]
    sigmas = np.empty_like(gaps)
    sigmas[order] = gaps
    return np.clip(sigmas, floor, MAX_SIGMA)


class _Parzen:
    """A mixture of product kernels over one block's dimensions, plus a prior component.

    ``points`` is (m, d) in unit coordinates (a categorical coordinate is its bin centre);
    the last mixture component is the prior.
    """

    def __init__(
        self, points: np.ndarray, dims: Sequence[_Dim], prior_weight: float, endpoints: bool
    ) -> None:
        m = len(points)
        self.dims = list(dims)
        weights = np.append(np.ones(m), prior_weight if m else 1.0)
        self.log_w = np.log(weights / weights.sum())
        self.p = weights / weights.sum()
        self.mus: dict[int, np.ndarray] = {}  # numeric dimensions: kernel centres and widths
        self.sigmas: dict[int, np.ndarray] = {}
        self.probs: dict[int, np.ndarray] = {}  # categorical ones: (m + 1, size) probabilities
        floor = 1.0 / min(MAX_RESOLUTION, m + SIGMA_FLOOR_OFFSET)
        for j, dim in enumerate(self.dims):
            col = points[:, j]
            if dim.kind == "cat":
                smooth = min(MAX_CATEGORY_SMOOTHING, prior_weight / (m + 1.0))
                probs = np.full((m + 1, dim.size), 1.0 / dim.size)
                idx = np.minimum((col * dim.size).astype(int), dim.size - 1)
                probs[:m] *= smooth
                probs[np.arange(m), idx] += 1.0 - smooth
                self.probs[j] = probs
                continue
            low = max(floor, MIN_BINS_SIGMA / dim.size) if dim.kind == "bins" else floor
            sig = _bandwidths(col, low, endpoints) if m else np.empty(0)
            self.mus[j] = np.append(col, 0.5)
            self.sigmas[j] = np.append(sig, PRIOR_SIGMA)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` points (n, d): a component by weight, then each coordinate from its kernel."""
        comp = rng.choice(len(self.p), size=n, p=self.p)
        out = np.empty((n, len(self.dims)))
        for j, dim in enumerate(self.dims):
            if dim.kind == "cat":
                cdf = np.cumsum(self.probs[j][comp], axis=1)
                idx = np.minimum((cdf < rng.random(n)[:, None] * cdf[:, -1:]).sum(1), dim.size - 1)
                out[:, j] = (idx + 0.5) / dim.size
                continue
            mu, sig = self.mus[j][comp], self.sigmas[j][comp]
            # mu lies in [0, 1], so Phi(lo) <= 1/2 <= Phi(hi): inverting the CDF is stable.
            lo, hi = ndtr(-mu / sig), ndtr((1.0 - mu) / sig)
            x = np.clip(mu + sig * ndtri(lo + rng.random(n) * (hi - lo)), 0.0, 1.0)
            if dim.kind == "bins":
                x = (np.minimum(np.floor(x * dim.size), dim.size - 1) + 0.5) / dim.size
            elif dim.kind == "snap":
                x = np.array([dim.hp.to_unit(dim.hp.from_unit(float(u))) for u in x])
            out[:, j] = x
        return out

    def _bin_log_mass(self, j: int, x: np.ndarray, size: int) -> np.ndarray:
        """(components, points) log mass of each point's bin under each truncated kernel.

        Observations on a grid repeat, and so do their (mu, sigma) pairs, and candidates fall in
        few bins: the Gaussian tails are computed once per distinct pair and bin.
        """
        pairs, comp = np.unique(self.mus[j] + 1j * self.sigmas[j], return_inverse=True)
        cells, point = np.unique(np.minimum(np.floor(x * size), size - 1), return_inverse=True)
        mu, sig = pairs.real[:, None], pairs.imag[:, None]
        lo, hi = cells / size, (cells + 1.0) / size
        table = _log_gauss_mass((lo - mu) / sig, (hi - mu) / sig)
        table -= _log_gauss_mass(-mu / sig, (1.0 - mu) / sig)
        return table[np.ix_(comp.ravel(), point.ravel())]

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Log density (log mass on bin and categorical dimensions) at each row of ``x``."""
        total = np.zeros((len(self.p), len(x)))
        for j, dim in enumerate(self.dims):
            if dim.kind == "cat":
                idx = np.minimum((x[:, j] * dim.size).astype(int), dim.size - 1)
                total += np.log(self.probs[j][:, idx])
                continue
            if dim.kind == "bins":
                total += self._bin_log_mass(j, x[:, j], dim.size)
                continue
            mu, sig = self.mus[j][:, None], self.sigmas[j][:, None]
            norm = _log_gauss_mass(-mu / sig, (1.0 - mu) / sig)
            z = (x[:, j] - mu) / sig
            total += -0.5 * z * z - np.log(sig) - _LOG_SQRT_2PI - norm
        total += self.log_w[:, None]
        top = np.max(total, axis=0)
        top = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):
            return top + np.log(np.sum(np.exp(total - top), axis=0))


def _outcome_rank(t: FrozenTrial) -> int:
    """Which attempt of a configuration speaks for it: scored > running > failed or pruned."""
    if t.state is TrialState.COMPLETED and t.score is not None:
        return 2
    return 1 if not t.state.is_finished else 0


def _one_per_configuration(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """One trial per configuration (an original and its re-runs), its best-known outcome."""
    kept: dict[int, FrozenTrial] = {}
    for t in sorted(trials, key=lambda t: t.number):
        key = t.original_number
        if key not in kept or _outcome_rank(t) >= _outcome_rank(kept[key]):
            kept[key] = t
    return [kept[k] for k in sorted(kept)]


#: A ranked block: its space indices, candidate points (n, d), their scores, best-first order.
_Block = tuple[list[int], np.ndarray, np.ndarray, np.ndarray]

#: A trial snapshot, its unit row and its configuration key over the space's names.
_Encoded = tuple[FrozenTrial, np.ndarray, tuple]


class TPESampler(Sampler):
    """Tree-structured Parzen Estimator over the unit cube (see the module docstring).

    Args:
        n_startup_trials: the first this many suggestions (trials other than re-runs) are
            random, as ``RandomSampler`` draws them.
        n_ei_candidates: points drawn from ``l`` per block; the best by ``log l - log g`` wins.
            More candidates exploit harder.
        gamma: a fraction (good set ``min(ceil(gamma * n), 25)`` of ``n`` completed trials)
            or a function ``n -> size of the good set``.
        multivariate: model the hyperparameters of a block jointly (product kernels), so
            that interactions are captured; False models each one on its own.
        prior_weight: weight of the broad prior component, relative to one trial's kernel.
        consider_endpoints: let the bounds of the unit interval count as neighbours when
            choosing the bandwidth of the outermost observations (wider edge kernels).
        seed: mixed with the study's generator when given; the study's seed alone already
            reproduces a search.
    """

    name = "tpe"

    def __init__(
        self,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        gamma: float | Callable[[int], int] = DEFAULT_GAMMA,
        multivariate: bool = True,
        prior_weight: float = 1.0,
        consider_endpoints: bool = False,
        seed: int | None = None,
    ) -> None:
        if int(n_startup_trials) < 0 or int(n_ei_candidates) < 1:
            raise ValueError(
                f"n_startup_trials={n_startup_trials!r} must be >= 0 and "
                f"n_ei_candidates={n_ei_candidates!r} >= 1."
            )
        if not callable(gamma) and not 0.0 < float(gamma) <= 1.0:
            raise ValueError(f"gamma={gamma!r} must be a fraction in (0, 1] or n -> n_good.")
        if not float(prior_weight) > 0.0:
            raise ValueError(f"prior_weight={prior_weight!r} must be > 0.")
        self.n_startup_trials = int(n_startup_trials)
        self.n_ei_candidates = int(n_ei_candidates)
        self.gamma = gamma if callable(gamma) else float(gamma)
        self.multivariate = bool(multivariate)
        self.prior_weight = float(prior_weight)
        self.consider_endpoints = bool(consider_endpoints)
        self.seed = None if seed is None else int(seed)
        self._sign = 1
        # (space, {id(trial): (trial, unit row, key)}): see _encode. It only saves work; the
        # results are the same with or without it. One attribute, swapped whole per call.
        self._memo: tuple[tuple[HyperParameter, ...], dict[int, _Encoded]] = ((), {})

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_memo": ((), {})}

    def bind(self, objective: Any) -> None:
        """Take the direction from ``objective.sign`` (+1 minimise, -1 maximise)."""
        self._sign = -1 if objective.sign < 0 else 1

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n_startup_trials": self.n_startup_trials,
            "n_ei_candidates": self.n_ei_candidates,
            "gamma": "custom" if callable(self.gamma) else self.gamma,
            "multivariate": self.multivariate,
            "prior_weight": self.prior_weight,
            "consider_endpoints": self.consider_endpoints,
            "seed": self.seed,
        }

    def n_good(self, n: int) -> int:
        """Size of the good set among ``n`` completed trials (in ``[0, n]``)."""
        k = int(self.gamma(n)) if callable(self.gamma) else default_n_good(n, self.gamma)
        return max(0, min(k, n))

    # ------------------------------------------------------------------ suggest
    def warmed_up(self, n_points: int) -> TPESampler:
        """A view of this sampler whose random start stops after ``n_points`` trials (see
        :meth:`Sampler.warmed_up`)."""
        if self.n_startup_trials <= n_points:
            return self
        view = copy.copy(self)
        view.n_startup_trials = max(0, int(n_points))
        return view

    def suggest(
        self,
        space: Sequence[HyperParameter],
        trials: Sequence[FrozenTrial],
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        space = list(space)
        if self.seed is not None:
            rng = np.random.default_rng([self.seed, int(rng.integers(2**32))])
        dims = {i: d for i, hp in enumerate(space) if (d := _dim_of(hp)) is not None}
        started = sum(1 for t in trials if t.retry_of is None)
        if not dims or started < self.n_startup_trials:
            return RandomSampler().suggest(space, trials, rng)
        memo = self._encode(space, trials)
        kept = _one_per_configuration(trials)
        unit = np.array([memo[id(t)][1] for t in kept]).reshape(len(kept), len(space))
        loss = np.array(
            [
                self._sign * t.score
                if t.state is TrialState.COMPLETED and t.score is not None
                else math.nan
                for t in kept
            ]
        )
        blocks = []
        for block in self._blocks(unit, list(dims)):
            rows = np.isfinite(unit[:, block]).all(axis=1)
            points, scores = self._candidates(
                [dims[i] for i in block], unit[rows][:, block], loss[rows], rng
            )
            blocks.append((block, points, scores, np.argsort(-scores, kind="stable")))
        tried = {memo[id(t)][2] for t in trials if t.retry_of is None}  # as tried_keys does
        return self._choose(space, blocks, tried, trials, rng)

    def _encode(
        self, space: list[HyperParameter], trials: Sequence[FrozenTrial]
    ) -> dict[int, _Encoded]:
        """Each trial's unit row (``encode``) and configuration key over ``space``'s names.

        Snapshots are immutable and a finished trial is a new object, so a row computed for
        the very same object (``is``) under the same space is reused: encoding, the only cost
        per trial that is not vectorised, is then paid once per trial, not once per call.
        """
        signature = tuple(space)
        old_space, old = self._memo
        old = old if old_space == signature else {}
        names = {hp.name for hp in space}
        memo = {}
        for t in trials:
            hit = old.get(id(t))
            if hit is None or hit[0] is not t:
                key = config_key({k: v for k, v in t.values.items() if k in names})
                hit = (t, encode(space, t.values), key)
            memo[id(t)] = hit
        self._memo = (signature, memo)
        return memo

    def _blocks(self, unit: np.ndarray, modelled: list[int]) -> list[list[int]]:
        """Modelled indices grouped by the set of trials where they are active (first-seen order)."""
        if not self.multivariate:
            return [[i] for i in modelled]
        groups: dict[bytes, list[int]] = {}
        for i in modelled:
            groups.setdefault(np.isfinite(unit[:, i]).tobytes(), []).append(i)
        return list(groups.values())

    def _candidates(
        self, dims: list[_Dim], points: np.ndarray, loss: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidates (n, d) for one block, drawn from ``l``, and their ``log l - log g``.

        ``points`` are the block's coordinates in the trials where it is active and ``loss``
        their ``sign * score`` (NaN when the trial has no score: failed, pruned or running).
        """
        n = self.n_ei_candidates
        if len(points) == 0:  # never active yet: nothing to learn from
            return rng.random((n, len(dims))), np.zeros(n)
        scored = np.flatnonzero(np.isfinite(loss))
        ranked = scored[np.argsort(loss[scored], kind="stable")]  # ties: earlier trial first
        good = np.zeros(len(points), dtype=bool)
        good[ranked[: self.n_good(len(scored))]] = True
        below = _Parzen(points[good], dims, self.prior_weight, self.consider_endpoints)
        above = _Parzen(points[~good], dims, self.prior_weight, self.consider_endpoints)
        cand = below.sample(rng, n)
        return cand, below.log_pdf(cand) - above.log_pdf(cand)

    def _choose(
        self,
        space: list[HyperParameter],
        blocks: list[_Block],
        tried: set[tuple],
        trials: Sequence[FrozenTrial],
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        """The best untried assembly of the blocks' candidates, else a random untried one."""

        def assemble(ranks: list[int]) -> tuple[float, dict[str, Any]]:
            unit = np.full(len(space), 0.5)  # unmodelled (Fixed, one-value) dimensions
            for (block, points, _, order), r in zip(blocks, ranks):
                unit[block] = points[order[r]]
            config = decode(space, unit)
            score = sum(
                float(scores[order[r]])
                for (block, _, scores, order), r in zip(blocks, ranks)
                if any(space[i].name in config for i in block)  # inactive blocks do not count
            )
            return score, config

        _, best = assemble([0] * len(blocks))
        if config_key(best) not in tried:
            return best
        # Recombinations: every block at its r-th best, and the best with one block changed.
        n, b = self.n_ei_candidates, len(blocks)
        ranks = [[r] * b for r in range(1, n)]
        ranks += [[r if j == k else 0 for j in range(b)] for k in range(b) for r in range(1, n)]
        options = sorted((assemble(r) for r in ranks), key=lambda sc: -sc[0])
        for _, config in options:
            if config_key(config) not in tried:
                return config
        # Random draws: a conditional branch can be finite (and tried) in an infinite space.
        for _ in range(MAX_DUPLICATE_DRAWS):
            config = decode(space, rng.random(len(space)))
            if config_key(config) not in tried:
                return config
        return RandomSampler().suggest(space, trials, rng)  # enumerates; None when exhausted
