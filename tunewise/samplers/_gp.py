"""Gaussian-process Bayesian optimisation: ``GPSampler``.

How a suggestion is made (every step is a pure function of the space, the trials, the
direction and the ``rng`` the study passes in, so a fresh sampler object given the same
history and generator suggests the same configuration):

1. **Initial design.** While fewer than ``num_initial_points`` configurations have been
   started, or fewer than two trials have a score, the next point of a scrambled Sobol
   sequence is decoded (point ``k`` for the ``k``-th distinct configuration). The scramble
   is seeded by ``seed`` when given, else by the configuration of the study's first trial
   (itself a scrambled-Sobol point seeded from ``rng``), so all calls of one study walk one
   low-discrepancy sequence without any state kept in the sampler.
2. **Model.** Completed (and scored pruned) trials are encoded as features
   (:mod:`._encoding`); their scores, sign-flipped to "lower is better", are warped by
   :func:`._gp_model.warp_outputs`. Failed trials enter at the worst warped value (so the
   model steers away from where runs fail, but no infinite value distorts it); a failure is
   dropped when a re-run of the same configuration has a score (pruned trials without a
   score count as failed). A Matérn-5/2 ARD GP is MAP-fitted from a fixed default starting
   point, with outliers down-weighted (:func:`._gp_model.fit_robust`: a score more than
   :data:`OUTLIER_Z` leave-one-out standard deviations from what the other trials predict
   gets its squared residual as extra noise, and the fit is redone); beyond 40 trials the
   fit is redone only when the data grew by 8% (see :func:`._gp_model.fit_size`), memoised
   as a pure function of the rows it used.
3. **Pending trials.** Running trials are added as kriging-believer fantasies (observed at
   the posterior mean), and the incumbent includes their posterior mean: a pending point
   counts as taken, so parallel workers get different suggestions.
4. **Acquisition.** Log expected improvement below the incumbent: the best posterior *mean*
   at the scored and pending points, never the luckiest score. When the learned noise is
   material (:data:`NOISE_MATERIAL`) it is the augmented expected improvement, which stops
   re-sampling where the data already pin the value down better than one more noisy
   evaluation could. It is evaluated on a Sobol sweep of the space plus multi-scale
   perturbations of the trials with the best posterior means; the best few are refined by
   L-BFGS-B along their continuous (and large-grid) coordinates. Discrete coordinates are
   rounded and one-hot blocks projected before any value is compared. If the expected
   improvement has collapsed everywhere (:data:`._gp_model.EI_COLLAPSE`), the candidates are
   ranked by the lower confidence bound ``mean - beta * sd`` instead, which explores where
   the model is unsure. When the best score has not improved for :data:`STALL_TRIALS`
   trials, every :data:`STALL_EVERY`-th suggestion is the best candidate away from the
   incumbent (:data:`STALL_RADIUS`), so a search stuck in a local basin looks elsewhere.
5. **No repeats.** The best-ranked candidate whose configuration was never tried is
   returned; small finite spaces are enumerated and scored exactly, and ``None`` is returned
   when a finite space is exhausted.

Direction: the study calls :meth:`GPSampler.bind` with its objective (``objective.sign`` is
+1 to minimise, -1 to maximise) right after creating the sampler; until bound, the sampler
minimises ``trial.score``. ``bind`` is the only state the sampler takes from outside.

:meth:`GPSampler.recommend` hands over the scored trial with the best posterior mean (the
incumbent above): with noisy evaluations the best score is, by selection, an optimistic draw.

Speed: BLAS runs single-threaded during a suggestion when ``threadpoolctl`` is installed
(optional). Suggestions take ~6-8 ms at 50-200 trials on 6 continuous dimensions when the
kernel fit is reused, ~12-27 ms when it is refitted (benchmarks/README.md). A refit that
finds a candidate outlier fits once more (on 200 random Hartmann-6 trials: 78 -> 115 ms
cold; warm suggestions unchanged at ~25 ms).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import math
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

from ..space import (
    HyperParameter,
    config_key,
    count_configurations,
    encode,
    iter_configurations,
)
from ..trial import FrozenTrial, TrialState
from ._base import Sampler
from ._encoding import SpaceEncoding
from ._gp_model import Acquisition, GaussianProcess, GPParams, fit_robust, fit_size, targets
from ._random import MAX_ENUMERATED, RandomSampler

#: Sobol candidates of the acquisition sweep (a power of two keeps Sobol balanced). 512
#: points cost a few milliseconds to score at 200 trials; they only need to find the basins
#: worth refining: the local candidates and the gradient refinement do the fine work.
N_SOBOL_CANDIDATES = 512
#: Best trials whose neighbourhoods are searched by random perturbation.
N_LOCAL_CENTERS = 5
#: Perturbations around each of those trials.
N_LOCAL_PER_CENTER = 64
#: Perturbation standard deviations (unit-cube coordinates): three scales, from fine tuning
#: near an optimum to a jump of a fifth of the range, each candidate using one of them.
LOCAL_SCALES = (0.01, 0.05, 0.2)
#: Expected number of coordinates one perturbation changes (all of them in small spaces):
#: changing few at a time keeps good values of the others, as in trust-region BO.
LOCAL_DIMS = 4.0
#: Refinement starts: the best Sobol candidate plus this many more drawn from the Sobol
#: candidates with probability proportional to their expected improvement (so that basins
#: other than the incumbent's get refined too), and the best few local candidates.
N_REFINE_GLOBAL = 4
N_REFINE_LOCAL = 2
#: L-BFGS-B iteration cap of the joint refinement of all starts: most of the gain comes in
#: the first 20 iterations; the cap bounds the cost at ~0.2 ms an iteration at 200 trials.
REFINE_MAXITER = 40
#: Finite spaces up to this size are enumerated: every untried configuration is scored.
ENUMERATE_LIMIT = 4096
#: Sobol points tried after a design point whose configuration was already tried.
MAX_DESIGN_SKIPS = 64
#: Decoded candidates checked against the tried configurations before giving up on them.
MAX_DECODE_CHECKS = 256
#: Fits memoised per sampler (the schedule needs one; a few cover interleaved studies).
FIT_MEMO_SIZE = 4
#: Trials whose configuration key and unit row are memoised per sampler (cleared when full).
ROW_MEMO_SIZE = 50_000
#: Smallest noise variance used whatever ``alpha`` says (standardised units): keeps the
#: Cholesky factorisation of a few hundred points, some nearly coincident, stable.
MIN_NOISE_VARIANCE = 1e-10
#: Default size of the initial design: max(10, min(20, d + 2)) for d varying hyperparameters.
#: Ten even in 2-4 dimensions: with 4-6 points the model latched onto the first good plateau
#: it saw (a random forest's CV accuracy: 10 of 10 seeds stuck at 0.972, where ten points
#: reached 0.979 on average) and Ackley-5 / Styblinski-Tang-4 were trapped in local basins
#: more often, while Branin and Hartmann-3 still reach their optimum well inside 50 trials.
MIN_INITIAL, MAX_INITIAL = 10, 20
#: Learned noise variance (relative to the signal variance) from which the acquisition is the
#: augmented expected improvement (:class:`._gp_model.Acquisition`'s ``noise``): below it the
#: objective counts as noise-free and plain log-EI is used, as before. 1e-3 is a noise sd of
#: 3% of the warped spread: smooth test functions fit 1e-8 to 1e-5, Hartmann-6 and Branin with
#: noise at 10% of their range 0.1 to 0.5. Applied to every fit, the augmentation made
#: Rastrigin-4 worse (mean regret 15.6 against 11.8, 8 seeds) through its ~1e-7 fitted noise.
NOISE_MATERIAL = 1e-3
#: A data row whose leave-one-out residual exceeds this many predictive standard deviations
#: is an outlier: its noise variance is raised by its squared residual (one step of a
#: Student-t-like reweighting) and the fit redone (:func:`._gp_model.fit_robust`), so that
#: one lucky score cannot capture the incumbent, the local search or
#: :meth:`GPSampler.recommend`. On 20 constructed noisy histories whose best score is a
#: lucky outlier the recommendation avoided it 19 times at 3.0, 15 at 3.5 and 9 at 4.0;
#: without the rule, never. Only where the rest of the data are noisy (NOISE_MATERIAL):
#: applied to noise-free objectives too it flagged a sharp basin of Hartmann-6 and left
#: that run stuck (best -1.67 against -3.32). Rows added since the last fit are checked
#: once under that fit.
OUTLIER_Z = 3.0
#: At most this many outliers are down-weighted per fit (each costs one more fit).
MAX_OUTLIERS = 3
#: Escape from a basin: once the best score has not improved (by STALL_TOL of the score
#: range) for STALL_TRIALS scored trials, every STALL_EVERY-th suggestion is the best-ranked
#: candidate at least STALL_RADIUS (unit-cube distance) from the incumbent. On rotated
#: Levy-4 runs stuck in a local basin (2.7-7.2) it found the global one (0.2-0.3).
STALL_TRIALS, STALL_EVERY, STALL_TOL, STALL_RADIUS = 10, 4, 1e-3, 0.25


def check_bayesian_arguments(num_initial_points: Any, alpha: Any, beta: Any) -> None:
    """Raise ValueError naming the bad value unless Keras Tuner's Bayesian-optimisation
    arguments make sense: ``num_initial_points`` None or >= 1, ``alpha`` (the noise floor) and
    ``beta`` (the exploration weight) finite and >= 0. Shared by the sampler, the Keras
    ``BayesianOptimization`` tuner and ``oracles.BayesianOptimizationOracle``, so all three
    refuse the same values before any trial runs."""
    if num_initial_points is not None and int(num_initial_points) < 1:
        raise ValueError(f"num_initial_points={num_initial_points!r} must be >= 1 or None.")
    if not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha={alpha!r} must be a noise floor >= 0, e.g. 1e-4.")
    if not (math.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta={beta!r} must be a finite exploration weight >= 0, e.g. 2.6.")


def default_initial_points(space: Sequence[HyperParameter]) -> int:
    """The GP's initial design size when ``num_initial_points`` is not given:
    ``max(10, min(20, d + 2))`` for the ``d`` hyperparameters of ``space`` that vary."""
    varying = sum(1 for hp in space if (hp.grid_size or 2) > 1)
    return max(MIN_INITIAL, min(MAX_INITIAL, varying + 2))


class GPSampler(Sampler):
    """Bayesian optimisation with a Gaussian process and log expected improvement.

    Args:
        num_initial_points: scrambled-Sobol configurations tried before the model is used;
            default ``max(10, min(20, d + 2))`` where ``d`` counts the hyperparameters that
            vary (Fixed ones excluded). The model also waits for two scored trials.
        alpha: noise floor: the smallest noise *standard deviation* the GP may assume, as a
            fraction of the standardised (warped) objective's spread; the noise variance is
            learned above ``alpha**2``. The default 1e-4 lets the model tell apart trials
            that differ by 0.01% of the spread. A floor of 1e-2 (variance 1e-4) blurred
            differences near the optimum enough to trap 6 of 100 seeded Branin runs in the
            wrong basin (1e-4: none). Raise it only to force smoothing of a noisy objective
            (the learned noise usually does that). Must be >= 0.
        beta: exploration weight of the lower confidence bound ``mean - beta * sd`` (in
            standardised units) that ranks candidates when log expected improvement has
            collapsed (the model is sure no point improves); larger explores more. Must be
            >= 0; the default 2.6 reaches about the 0.5% lower tail of the posterior.
        seed: when given, seeds the initial design's scramble (the same first points for
            every study); all other randomness comes from the study's generator.
        n_candidates: Sobol candidates per acquisition sweep (rounded up to a power of 2).
    """

    name = "gp"

    def __init__(
        self,
        num_initial_points: int | None = None,
        alpha: float = 1e-4,
        beta: float = 2.6,
        seed: int | None = None,
        n_candidates: int = N_SOBOL_CANDIDATES,
    ) -> None:
        check_bayesian_arguments(num_initial_points, alpha, beta)
        if int(n_candidates) < 1:
            raise ValueError(f"n_candidates={n_candidates!r} must be >= 1.")
        self.num_initial_points = None if num_initial_points is None else int(num_initial_points)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.seed = None if seed is None else int(seed)
        self.n_candidates = 1 << max(0, int(n_candidates) - 1).bit_length()
        self._sign = 1
        self._fits: dict[bytes, tuple] = {}  # memo of a pure function: see _hyperparameters
        self._fits_lock = threading.Lock()
        self._rows: dict[tuple, tuple] = {}  # memo of a pure function: see _trial_table

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (e.g. to ship to a worker): the memo and its lock stay behind."""
        state = dict(self.__dict__)
        del state["_fits"], state["_fits_lock"], state["_rows"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._fits, self._fits_lock, self._rows = {}, threading.Lock(), {}

    # ------------------------------------------------------------------ interface
    def bind(self, objective: Any) -> None:
        """Take the direction from the study's objective (``sign``: +1 min, -1 max)."""
        self._sign = -1 if int(getattr(objective, "sign", 1)) < 0 else 1

    def get_config(self) -> dict[str, Any]:
        keys = ("num_initial_points", "alpha", "beta", "seed", "n_candidates")
        return {"name": self.name, **{k: getattr(self, k) for k in keys}}

    def describe(self) -> str:
        return "gp (Gaussian-process Bayesian optimisation, log expected improvement)"

    def warmed_up(self, n_points: int) -> GPSampler:
        """A view of this sampler whose initial design stops after ``n_points`` trials (see
        :meth:`Sampler.warmed_up`); it shares the memoised fits."""
        if self.num_initial_points is not None and self.num_initial_points <= n_points:
            return self
        view = copy.copy(self)
        view.num_initial_points = max(1, int(n_points))
        return view

    def initial_points(self, space: Sequence[HyperParameter]) -> int:
        """Size of the initial design for ``space`` (see the class docstring)."""
        if self.num_initial_points is not None:
            return self.num_initial_points
        return default_initial_points(space)

    def suggest(
        self,
        space: Sequence[HyperParameter],
        trials: Sequence[FrozenTrial],
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        space = list(space)
        if not space:
            return {}
        with _single_threaded_blas():
            return self._suggest(space, trials, rng)

    def recommend(
        self, space: Sequence[HyperParameter], trials: Sequence[FrozenTrial]
    ) -> FrozenTrial | None:
        """The scored trial whose configuration has the best *predicted* mean under the
        sampler's model (the incumbent the acquisition improves on), not the luckiest score:
        with noisy evaluations the best score is, by selection, an optimistic draw. Running
        trials are ignored. None with fewer than two scored trials; the best-scoring trial
        when every score is equal or the space is empty."""
        space = list(space)
        finished = [t for t in trials if t.state.is_finished]
        scored = [t for t in finished if _score(t) is not None]
        if len(scored) < 2:
            return None
        if not space:
            return min(scored, key=lambda t: self._sign * _score(t))  # type: ignore[operator]
        with _single_threaded_blas():
            table = self._trial_table(space, finished)
            model = self._fit_model(SpaceEncoding(space), finished, table)
        return finished[int(model.data_rows[int(np.argmin(model.mean))])]

    def _suggest(
        self,
        space: list[HyperParameter],
        trials: Sequence[FrozenTrial],
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        enc = SpaceEncoding(space)
        table = self._trial_table(space, trials)
        tried = {table.keys[i] for i, t in enumerate(trials) if t.retry_of is None}
        size = count_configurations(space)
        untried: list[dict[str, Any]] | None = None
        if size is not None and size <= ENUMERATE_LIMIT:
            untried = [c for c in iter_configurations(space) if config_key(c) not in tried]
            if not untried:
                return None
        firsts = [t for t in trials if t.retry_of is None]
        if len(firsts) < self.initial_points(space) or np.count_nonzero(table.scored) < 2:
            return self._design_point(enc, firsts, tried, untried, rng, trials)
        return self._model_point(enc, trials, table, tried, untried, rng)

    def _trial_table(self, space: list[HyperParameter], trials: Sequence[FrozenTrial]) -> _Table:
        """Per trial, once per suggestion: its configuration key and unit row over ``space``
        (memoised by the space and the trial's values: a pure function of both), and its
        score. At 200 trials this bookkeeping was a fifth of a suggestion's time."""
        signature = repr(space)
        names = {hp.name for hp in space}
        memo = self._rows
        if len(memo) > ROW_MEMO_SIZE:
            memo.clear()
        keys, units = [], []
        for t in trials:
            try:
                ident = (signature, tuple(t.values.items()))
                row = memo.get(ident)
            except TypeError:  # an unhashable stored value: no memo for this trial
                ident, row = None, None
            if row is None:
                values = {k: v for k, v in t.values.items() if k in names}
                row = (config_key(values), encode(space, values))
                if ident is not None:
                    memo[ident] = row
            keys.append(row[0])
            units.append(row[1])
        scores = np.array([np.nan if (sc := _score(t)) is None else sc for t in trials])
        unit = np.vstack(units) if units else np.zeros((0, len(space)))
        return _Table(keys, unit, scores)

    # ------------------------------------------------------------------ initial design
    def _design_point(
        self,
        enc: SpaceEncoding,
        firsts: list[FrozenTrial],
        tried: set,
        untried: list[dict[str, Any]] | None,
        rng: np.random.Generator,
        trials: Sequence[FrozenTrial],
    ) -> dict[str, Any] | None:
        """Sobol point number ``len(firsts)`` (skipping ones already tried)."""
        if self.seed is not None:
            scramble = self.seed
        elif firsts:
            first = min(firsts, key=lambda t: t.number)
            digest = hashlib.sha256(repr(config_key(first.values)).encode()).digest()
            scramble = int.from_bytes(digest[:8], "little")
        else:
            scramble = int(rng.integers(2**63))
        k = len(firsts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy's balance notice for partial sequences
            sobol = stats.qmc.Sobol(enc.dim, scramble=True, seed=scramble)
            points = sobol.random(k + MAX_DESIGN_SKIPS)[k:]
        for u in points:
            config = enc.config_from_unit(u)
            if config_key(config) not in tried:
                return config
        return self._fallback(enc, trials, tried, untried, rng, None)

    # ------------------------------------------------------------------ model phase
    def _fit_model(
        self, enc: SpaceEncoding, trials: Sequence[FrozenTrial], table: _Table
    ) -> _Model:
        """The GP over the scored trials (and failed ones, at the worst warped value), with
        the running trials as kriging-believer fantasies."""
        scored_keys = {table.keys[i] for i in np.flatnonzero(table.scored)}
        running = np.array([not t.state.is_finished for t in trials], dtype=bool)
        # Scored trials, and failed ones whose configuration never got a score.
        use = table.scored | np.array(
            [not running[i] and table.keys[i] not in scored_keys for i in range(len(trials))],
            dtype=bool,
        )
        data_rows = np.flatnonzero(use)
        X = enc.features_from_unit(table.unit[data_rows])
        z = self._sign * table.scores[data_rows]
        params, extra = self._hyperparameters(X, z)
        noise = np.full(len(X), params.noise)
        noise[: len(extra)] += extra
        gp = GaussianProcess(X, targets(z), params, noise)
        noisy = params.noise >= NOISE_MATERIAL * params.signal
        if noisy and len(X) > len(extra) and len(X) > 3:  # rows since the fit: outliers too
            e, v = gp.loo_residuals()
            out = np.abs(e) > OUTLIER_Z * np.sqrt(v)
            out[: len(extra)] = False
            if out.any():
                noise[out] += e[out] ** 2
                gp = GaussianProcess(X, gp.y, params, noise)
        F_pending = enc.features_from_unit(table.unit[np.flatnonzero(running)])
        gp = gp.with_fantasies(F_pending)
        # the fantasies leave the mean unchanged: this is the mean of the model without them
        mean = np.where(np.isnan(z), np.inf, gp.predict_mean(X))
        return _Model(gp, X, z, data_rows, F_pending, mean)

    def _model_point(
        self,
        enc: SpaceEncoding,
        trials: Sequence[FrozenTrial],
        table: _Table,
        tried: set,
        untried: list[dict[str, Any]] | None,
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        model = self._fit_model(enc, trials, table)
        gp, z = model.gp, model.z
        # The incumbent: the best posterior mean at a scored or a pending (fantasised) point;
        # a pending point thus counts as already won, and improving on it needs a new place.
        # With learned noise the mean pools neighbours, so the luckiest score is not the bar.
        best = float(min(model.mean.min(), gp.predict_mean(model.F_pending).min(initial=np.inf)))
        noise = gp.params.noise if gp.params.noise >= NOISE_MATERIAL * gp.params.signal else 0.0
        acq = Acquisition(gp, best, self.beta, noise)

        if untried is not None:  # small finite space: score every untried configuration
            scores = acq.scores(*acq.evaluate(enc.features_from_configs(untried)))
            return untried[int(np.argmax(scores))]

        # Local search around the best predicted means (with noise, not the luckiest scores).
        order = np.argsort(model.mean, kind="stable")[:N_LOCAL_CENTERS]
        centers = table.unit[model.data_rows[order]]
        sobol = stats.qmc.Sobol(enc.dim, scramble=True, seed=int(rng.integers(2**63)))
        U = np.vstack([sobol.random_base2(int(math.log2(self.n_candidates))),
                       _perturb(enc, centers, rng)])
        U = enc.project_unit(U)
        lei, lcb = acq.evaluate(enc.features_from_unit(U))
        U, lei, lcb = self._refine(enc, acq, U, lei, lcb, self.n_candidates, rng)
        ranking = acq.scores(lei, lcb)
        if _stalled(z):  # escape the basin: the best candidate away from the incumbent
            incumbent = table.unit[model.data_rows[int(np.argmin(model.mean))]]
            dist = np.sqrt(np.nansum((U - incumbent) ** 2, axis=1))
            ranking = np.where(dist > STALL_RADIUS, ranking, -np.inf)
        for i in np.argsort(-ranking, kind="stable")[:MAX_DECODE_CHECKS]:
            config = enc.config_from_unit(U[i])
            if config_key(config) not in tried:
                return config
        return self._fallback(enc, trials, tried, untried, rng, acq)

    def _hyperparameters(self, X: np.ndarray, z: np.ndarray) -> tuple[GPParams, np.ndarray]:
        """Kernel hyperparameters fitted to the first :func:`fit_size` data rows, and the
        extra noise variance of each of those rows (outliers: :func:`fit_robust`).

        A pure function of those rows (trial order): they are memoised by a digest of the
        rows, so a sampler that has seen them reuses the fit, and a fresh one recomputes
        exactly the same values. Between refits the newest rows enter only the posterior.
        """
        m = fit_size(len(X))
        if np.count_nonzero(~np.isnan(z[:m])) < 2:
            m = len(X)
        Xp, zp = np.ascontiguousarray(X[:m]), np.ascontiguousarray(z[:m])
        floor = max(self.alpha**2, MIN_NOISE_VARIANCE)
        key = hashlib.sha1(Xp.tobytes() + zp.tobytes() + repr((Xp.shape, floor)).encode()).digest()
        with self._fits_lock:
            fit = self._fits.get(key)
        if fit is None:
            fit = fit_robust(Xp, targets(zp), floor, OUTLIER_Z, MAX_OUTLIERS, NOISE_MATERIAL)
            with self._fits_lock:
                while len(self._fits) >= FIT_MEMO_SIZE:
                    self._fits.pop(next(iter(self._fits)))
                self._fits[key] = fit
        return fit

    def _refine(
        self,
        enc: SpaceEncoding,
        acq: Acquisition,
        U: np.ndarray,
        lei: np.ndarray,
        lcb: np.ndarray,
        n_global: int,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """L-BFGS-B (maximising log-EI) on the relaxed coordinates of a few candidates (the
        first ``n_global`` rows are the Sobol sweep, the rest local perturbations); returns
        the candidates with the refined, projected points appended."""
        if not enc.relaxable:
            return U, lei, lcb
        starts = _refine_starts(lei, n_global, rng)
        base = enc.features_from_unit(U[starts])
        rows, cols, hps = [], [], []
        for r, s in enumerate(starts):
            h, c = enc.relaxed_columns(U[s])
            rows += [r] * len(h)
            cols += list(c)
            hps += list(h)
        if not rows:
            return U, lei, lcb
        rows_a, cols_a = np.array(rows), np.array(cols)
        # One L-BFGS-B run over all starts at once: the objective is the sum of their
        # (independent) log-EIs, so each iteration costs one batched posterior evaluation.
        res = optimize.minimize(
            acq.negative_sum_with_grad,
            U[np.array(starts)[rows_a], np.array(hps)],
            args=(base, rows_a, cols_a),
            jac=True,
            method="L-BFGS-B",
            bounds=[(0.0, 1.0)] * len(rows),
            options={"maxiter": REFINE_MAXITER},
        )
        extra = U[starts].copy()
        extra[rows_a, np.array(hps)] = np.clip(res.x, 0.0, 1.0)
        extra = enc.project_unit(extra)
        lei2, lcb2 = acq.evaluate(enc.features_from_unit(extra))
        return np.vstack([U, extra]), np.concatenate([lei, lei2]), np.concatenate([lcb, lcb2])

    # ------------------------------------------------------------------ fallbacks
    def _fallback(
        self,
        enc: SpaceEncoding,
        trials: Sequence[FrozenTrial],
        tried: set,
        untried: list[dict[str, Any]] | None,
        rng: np.random.Generator,
        acq: Acquisition | None,
    ) -> dict[str, Any] | None:
        """Every cheap candidate was tried: pick among the untried configurations (by the
        acquisition when there is a model, at random otherwise), or None when none is left."""
        size = count_configurations(enc.space)
        if untried is None and size is not None and size <= MAX_ENUMERATED:
            untried = [c for c in iter_configurations(enc.space) if config_key(c) not in tried]
        if untried is None:  # continuous or huge: a random draw (practically always new)
            return RandomSampler().suggest(enc.space, trials, rng)
        if not untried:
            return None
        if acq is None:
            return untried[int(rng.integers(len(untried)))]
        scores = acq.scores(*acq.evaluate(enc.features_from_configs(untried)))
        return untried[int(np.argmax(scores))]


@dataclass
class _Model:
    """A fitted model of one suggestion: the GP (fantasies included), the data rows' features
    ``X``, their sign-flipped scores ``z`` (NaN: failed), their trial indices, the pending
    rows' features and the posterior mean at each data row (inf where failed)."""

    gp: GaussianProcess
    X: np.ndarray
    z: np.ndarray
    data_rows: np.ndarray
    F_pending: np.ndarray
    mean: np.ndarray


@dataclass
class _Table:
    """What a suggestion needs of each trial, in trial order: its configuration key over the
    space, its unit row (NaN where inactive or absent) and its score (NaN when it has none)."""

    keys: list[tuple]
    unit: np.ndarray
    scores: np.ndarray

    @property
    def scored(self) -> np.ndarray:
        return ~np.isnan(self.scores)


_BLAS_CONTROLLER: Any = None  # threadpoolctl's view of the loaded BLAS libraries, made once


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Run BLAS on one thread while suggesting, when ``threadpoolctl`` is installed.

    The matrices here are small (a few hundred rows); multi-threaded OpenBLAS spends more
    time waking threads than computing, and on a busy machine a suggestion became 10x
    slower. The limit is process-wide while it lasts (tens of milliseconds). The controller
    is built once (scanning the libraries costs milliseconds); it affects speed only.
    """
    global _BLAS_CONTROLLER
    if _BLAS_CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # optional: without it BLAS keeps its own thread count
            _BLAS_CONTROLLER = False
        else:
            _BLAS_CONTROLLER = ThreadpoolController()
    if not _BLAS_CONTROLLER:
        yield
        return
    with _BLAS_CONTROLLER.limit(limits=1, user_api="blas"):
        yield


def _score(t: FrozenTrial) -> float | None:
    """The trial's score when it has a finite one and is finished (completed or pruned)."""
    if t.state not in (TrialState.COMPLETED, TrialState.PRUNED) or t.score is None:
        return None
    s = float(t.score)
    return s if math.isfinite(s) else None


def _stalled(z: np.ndarray) -> bool:
    """Whether this suggestion escapes (see STALL_TRIALS): the scores ``z`` (lower is better,
    NaN: failed) in trial order have not improved on their best for STALL_TRIALS scored
    trials, and this is the 1st, (1 + STALL_EVERY)-th, ... suggestion since."""
    zs = z[~np.isnan(z)]
    if len(zs) <= STALL_TRIALS:
        return False
    run = np.minimum.accumulate(zs)
    improved = np.flatnonzero(run[:-1] - run[1:] > STALL_TOL * (zs.max() - zs.min())) + 1
    since = len(zs) - 1 - (int(improved[-1]) if len(improved) else 0)
    return since >= STALL_TRIALS and (since - STALL_TRIALS) % STALL_EVERY == 0


def _refine_starts(lei: np.ndarray, n_global: int, rng: np.random.Generator) -> list[int]:
    """The best global candidate, roulette draws among the other global ones (weights
    ``exp(log-EI - max)``), and the best local candidates."""
    glob, local = lei[:n_global], lei[n_global:]
    top = int(np.argmax(glob))
    starts = [top]
    weights = np.exp(glob - glob[top])
    weights[top] = 0.0
    count = min(N_REFINE_GLOBAL, int(np.count_nonzero(weights > 0)))
    if count > 0:
        drawn = rng.choice(n_global, size=count, replace=False, p=weights / weights.sum())
        starts += [int(i) for i in drawn]
    starts += [n_global + int(i) for i in np.argsort(-local, kind="stable")[:N_REFINE_LOCAL]]
    return starts


def _perturb(enc: SpaceEncoding, centers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random perturbations (unit coordinates) around each row of ``centers``.

    Each candidate changes each coordinate with probability ``LOCAL_DIMS / d`` (at least
    one): numeric ones by a normal step of one of :data:`LOCAL_SCALES` (at least one grid
    bin), categorical ones by a uniform redraw. Inactive coordinates get uniform values,
    used if the perturbation activates them.
    """
    d = enc.dim
    n = len(centers) * N_LOCAL_PER_CENTER
    base = np.repeat(centers, N_LOCAL_PER_CENTER, axis=0)
    base = np.where(np.isnan(base), rng.random(base.shape), base)
    change = rng.random((n, d)) < min(1.0, LOCAL_DIMS / d)
    change[np.arange(n), rng.integers(d, size=n)] = True
    scale = np.asarray(LOCAL_SCALES)[rng.integers(len(LOCAL_SCALES), size=n)][:, None]
    sizes = enc.grid_sizes()
    step = np.maximum(scale, np.where(sizes > 0, 1.0 / np.maximum(sizes, 1), 0.0))
    numeric = np.array([k == "numeric" for k in enc.kinds])
    moved = np.where(numeric, base + step * rng.standard_normal((n, d)), rng.random((n, d)))
    return np.clip(np.where(change, moved, base), 0.0, 1.0)
