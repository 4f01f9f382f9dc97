"""Gaussian-process regression for Bayesian optimisation, in NumPy and SciPy only.

Contracts and units:

* inputs are feature rows in (roughly) the unit cube, shape ``(n, d)``
  (see :mod:`tunewise.samplers._encoding`);
* outputs are *to be minimised* and already warped by :func:`warp_outputs`, so they have
  mean 0 and standard deviation 1; every variance below is in those units;
* the kernel is Matérn-5/2 with one length-scale per feature (ARD), a signal variance and a
  Gaussian noise variance of at least ``noise_floor``;
* the hyperparameters are the maximum a posteriori point of the log marginal likelihood plus
  log priors (log-normal on length-scales and signal, exponential on the learned noise),
  found by L-BFGS-B with analytic gradients, always started from the same default (so a fit
  depends on the data alone, never on an earlier fit);
* the acquisition (:class:`Acquisition`) is log expected improvement, computed stably for
  any distance from the incumbent (:func:`log_h`), with a batched analytic gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special
from scipy.linalg import cho_solve, lapack

SQRT5 = math.sqrt(5.0)
LOG_2PI = math.log(2.0 * math.pi)

#: Length-scale prior: log-normal with location sqrt(2) + log(d)/2 and scale sqrt(3), the
#: dimension-scaled prior of Hvarfner et al. (2024, "Vanilla BO performs great in high
#: dimensions"): the typical length-scale grows like sqrt(d), which keeps the model from
#: assuming every dimension matters when data are scarce. Its mode, 0.2*sqrt(d), starts the fit.
LS_PRIOR_LOC = math.sqrt(2.0)
LS_PRIOR_SCALE = math.sqrt(3.0)
#: Length-scale bounds (unit-cube features): below 0.01 the model interpolates noise; above
#: 1e3 a feature is irrelevant anyway.
LS_BOUNDS = (0.01, 1e3)
#: Signal variance prior: log-normal centred on 1 (the outputs are standardised), scale 1.
SIGNAL_PRIOR_LOC, SIGNAL_PRIOR_SCALE = 0.0, 1.0
SIGNAL_BOUNDS = (1e-2, 1e2)
#: Learned noise (on top of the floor): exponential prior with this rate, so a noise variance
#: of 5% of the output variance costs one nat. Its density is largest at zero, so exactly
#: reproducible objectives are fitted down to the floor, while noisy ones still get noise.
NOISE_PRIOR_RATE = 20.0
#: Starting value of the learned noise (1% of the output variance).
NOISE_INIT = 1e-2
NOISE_BOUNDS = (1e-12, 2.0)
#: L-BFGS-B iteration cap of the hyperparameter fit; it converges well before on typical data.
FIT_MAXITER = 200
#: Relative change of the log posterior (and projected gradient) at which the fit stops: at
#: 200 points this stops ~2e-3 nats short of the optimum, with length-scales equal to 3
#: digits, in 25 instead of 45 evaluations.
FIT_FTOL, FIT_GTOL = 1e-5, 1e-2
#: Jitter added to the diagonal when a Cholesky factorisation fails (relative to the signal).
JITTER = 1e-8
#: Posterior variances are floored at this fraction of the signal variance (round-off guard).
VAR_FLOOR = 1e-12
#: Exponent interval of the upper-tail power warp: from 1 (identity) through 0 (log) to -2
#: (bounded: any outlier lands within 0.5 of the rest); never above 1, which would stretch
#: the bad tail.
WARP_LAMBDA_BOUNDS = (-2.0, 1.0)
#: Robust-standardised outputs are clipped here before warping (overflow guard only).
WARP_CLIP = 1e8
#: Beyond |z| of this, log-EI uses its asymptotic series (the direct form loses digits).
LOGEI_ASYMPTOTIC = 100.0
#: Hyperparameters are refitted at every suggestion up to this many data rows (a fit costs a
#: few milliseconds there), then each time the data grew by REFIT_GROWTH (8%: 194 -> 210),
#: reusing the last fit in between, as a warm-started model would but without state that
#: could change a suggestion. At 200 trials this removes ~40 ms from most suggestions.
REFIT_EVERY_UNTIL = 40
REFIT_GROWTH = 1.08
#: Expected improvement (in output standard deviations) below which log-EI counts as
#: collapsed: no candidate is expected to gain even a millionth of the spread seen so far.
EI_COLLAPSE = 1e-6


# ---------------------------------------------------------------------- kernel
def _sq_dists(
    a: np.ndarray, b: np.ndarray, inv_ls: np.ndarray, b_scaled: tuple | None = None
) -> np.ndarray:
    """Squared scaled distances ``sum_j ((a_ij - b_kj) / ls_j)^2``, shape ``(len(a), len(b))``.
    ``b_scaled``: ``(b * inv_ls, its squared row norms)`` when already computed."""
    sa = a * inv_ls
    sb, nb = _scaled(b, inv_ls) if b_scaled is None else b_scaled
    r2 = (sa * sa).sum(1)[:, None] + nb[None, :] - 2.0 * sa @ sb.T
    return np.maximum(r2, 0.0)


def _scaled(b: np.ndarray, inv_ls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sb = b * inv_ls
    return sb, (sb * sb).sum(1)


def _matern_parts(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(1 + s, e^-s)`` with ``s = sqrt(5) r``, computed in place (the hot loop)."""
    s = np.sqrt(r2)
    s *= SQRT5
    e = np.exp(-s)
    s += 1.0
    return s, e


def _k_from_parts(one_s: np.ndarray, e: np.ndarray, signal: float) -> np.ndarray:
    k = one_s - 1.0
    k *= k
    k *= 1.0 / 3.0
    k += one_s
    k *= e
    k *= signal
    return k


def _matern_k(r2: np.ndarray, signal: float) -> np.ndarray:
    """Matérn-5/2 kernel values ``signal (1 + s + s^2/3) e^-s`` for squared distances."""
    one_s, e = _matern_parts(r2)
    return _k_from_parts(one_s, e, signal)


def _matern(r2: np.ndarray, signal: float) -> tuple[np.ndarray, np.ndarray]:
    """Kernel values ``k`` and ``g = -(dk/dr) / r = signal 5/3 (1 + s) e^-s`` (finite at 0)."""
    one_s, e = _matern_parts(r2)
    k = _k_from_parts(one_s, e, signal)
    one_s *= e
    one_s *= signal * 5.0 / 3.0
    return k, one_s


def _lognormal_logpdf(theta: np.ndarray | float, loc: float, scale: float) -> tuple:
    """Log-density (up to a constant) of a log-normal variable given its log ``theta``,
    and its derivative in ``theta``: the prior is on the variable, not on its log."""
    t = (np.asarray(theta) - loc) / scale
    return float(np.sum(-np.asarray(theta) - 0.5 * t * t)), -1.0 - t / scale


@dataclass
class GPParams:
    """Kernel hyperparameters: length-scales (feature units), signal and noise variances."""

    lengthscales: np.ndarray
    signal: float
    noise: float


class GaussianProcess:
    """Exact GP posterior of ``y`` at ``X`` under ``params`` (zero prior mean). ``noise``:
    a noise variance per row instead of ``params.noise`` for all (outliers down-weighted)."""

    def __init__(
        self, X: np.ndarray, y: np.ndarray, params: GPParams, noise: np.ndarray | None = None
    ) -> None:
        self.X = np.asarray(X, dtype=float)
        self.y = np.asarray(y, dtype=float)
        self.params = params
        self._noise = np.full(len(self.y), params.noise) if noise is None else noise
        self._inv_ls = 1.0 / params.lengthscales
        self._xs = _scaled(self.X, self._inv_ls)  # the data side of every distance below
        K = _matern_k(_sq_dists(self.X, self.X, self._inv_ls, self._xs), params.signal)
        K[np.diag_indices_from(K)] += self._noise
        self.L = _cholesky(K, params.signal)
        self.alpha = cho_solve((self.L, True), self.y, check_finite=False)

    def loo_residuals(self) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out residuals ``y_i - mean_-i(x_i)`` and their predictive variances
        (noise included), in closed form: ``alpha_i / [K^-1]_ii`` and ``1 / [K^-1]_ii``."""
        Linv, _ = lapack.dtrtri(self.L, lower=1)
        kinv_diag = (Linv * Linv).sum(0)
        return self.alpha / kinv_diag, 1.0 / kinv_diag

    def with_fantasies(self, Xp: np.ndarray) -> GaussianProcess:
        """The model plus observations at ``Xp`` equal to its posterior mean there
        (the kriging believer): the mean is unchanged, the variance near ``Xp`` shrinks."""
        if len(Xp) == 0:
            return self
        mean = self.predict_mean(Xp)
        noise = np.concatenate([self._noise, np.full(len(Xp), self.params.noise)])
        X, y = np.vstack([self.X, Xp]), np.concatenate([self.y, mean])
        return GaussianProcess(X, y, self.params, noise)

    def predict_mean(self, F: np.ndarray) -> np.ndarray:
        """Posterior mean at feature rows ``F`` (no variance: one product, no solve)."""
        return _matern_k(_sq_dists(F, self.X, self._inv_ls, self._xs), self.params.signal) @ self.alpha

    def predict(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and latent (noise-free) variance at feature rows ``F``."""
        Ks = _matern_k(_sq_dists(F, self.X, self._inv_ls, self._xs), self.params.signal)
        mean = Ks @ self.alpha
        V, _ = lapack.dtrtrs(self.L, Ks.T, lower=1)  # solve_triangular's LAPACK call, direct
        var = self.params.signal - (V * V).sum(0)
        return mean, np.maximum(var, VAR_FLOOR * self.params.signal)

    def predict_with_grad(
        self, F: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, latent variance and their gradients in every feature, at rows ``F``.

        Shapes ``(k,)``, ``(k,)``, ``(k, d)``, ``(k, d)``. With ``g = -(dk/dr)/r``,
        ``dk_ij/dF_ic = -g_ij (F_ic - X_jc) / ls_c^2``; sums over ``j`` become matrix products.
        """
        signal, inv_ls2 = self.params.signal, self._inv_ls**2
        Ks, G = _matern(_sq_dists(F, self.X, self._inv_ls, self._xs), signal)
        V = lapack.dpotrs(self.L, Ks.T, lower=1)[0].T  # cho_solve's LAPACK call: K^-1 k per row
        mean = Ks @ self.alpha
        var = signal - (Ks * V).sum(1)
        Ga, GV = G * self.alpha, G * V
        dmean = -(F * Ga.sum(1)[:, None] - Ga @ self.X) * inv_ls2
        dvar = 2.0 * (F * GV.sum(1)[:, None] - GV @ self.X) * inv_ls2
        low = var <= VAR_FLOOR * signal
        dvar[low] = 0.0
        return mean, np.maximum(var, VAR_FLOOR * signal), dmean, dvar


def _cholesky(K: np.ndarray, signal: float) -> np.ndarray:
    """Lower Cholesky factor, adding growing jitter if ``K`` is numerically indefinite."""
    jitter = 0.0
    for _ in range(6):
        L, info = lapack.dpotrf(K + jitter * np.eye(len(K)) if jitter else K, lower=1, clean=1)
        if info == 0:
            return L
        jitter = JITTER * signal if jitter == 0.0 else jitter * 100.0
    raise np.linalg.LinAlgError("covariance matrix is not positive definite")


# ---------------------------------------------------------------------- fitting
def default_theta(d: int) -> np.ndarray:
    """The fit's starting point: prior-mode length-scales, unit signal, prior-median noise."""
    ls_mode = math.exp(LS_PRIOR_LOC + 0.5 * math.log(max(d, 1)) - LS_PRIOR_SCALE**2)
    ls_mode = min(max(ls_mode, LS_BOUNDS[0]), LS_BOUNDS[1])
    return np.concatenate([np.full(d, math.log(ls_mode)), [0.0, math.log(NOISE_INIT)]])


def neg_log_posterior(
    theta: np.ndarray, X: np.ndarray, y: np.ndarray, noise_floor: float,
    extra_noise: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Negative (log marginal likelihood + log prior) and its gradient.

    ``theta = [log ls_1..log ls_d, log signal, log(noise - noise_floor)]``. ``extra_noise``:
    a fixed variance added to each row's noise (outliers down-weighted), or None.
    """
    n, d = X.shape
    inv_ls = np.exp(-theta[:d])
    signal, excess = math.exp(theta[d]), math.exp(theta[d + 1])
    Kf, G = _matern(_sq_dists(X, X, inv_ls), signal)
    K = Kf.copy()
    K[np.diag_indices_from(K)] += noise_floor + excess
    if extra_noise is not None:
        K[np.diag_indices_from(K)] += extra_noise
    L, info = lapack.dpotrf(K, lower=1, clean=1)
    if info != 0:
        return 1e25, np.zeros_like(theta)  # L-BFGS-B backtracks from an indefinite point
    a = cho_solve((L, True), y, check_finite=False)
    Kinv, _ = lapack.dpotri(L, lower=1)  # lower triangle; the upper one is L's zeros
    Kinv += Kinv.T
    Kinv[np.diag_indices_from(Kinv)] *= 0.5
    lml = -0.5 * y @ a - np.log(np.diag(L)).sum() - 0.5 * n * LOG_2PI
    W = np.outer(a, a) - Kinv  # d lml = 1/2 tr(W dK)
    M = W * G
    XS = X * inv_ls
    # sum_ab M_ab (x_aj - x_bj)^2 / ls_j^2 = 2 (sum_a xs_aj^2 m_a - sum_a xs_aj (M xs)_aj)
    grad_ls = (XS * XS).T @ M.sum(1) - np.einsum("aj,aj->j", XS, M @ XS)
    grad = np.concatenate([grad_ls, [0.5 * np.sum(W * Kf), 0.5 * np.trace(W) * excess]])
    lp_ls, dlp_ls = _lognormal_logpdf(theta[:d], LS_PRIOR_LOC + 0.5 * math.log(d), LS_PRIOR_SCALE)
    lp_s, dlp_s = _lognormal_logpdf(theta[d], SIGNAL_PRIOR_LOC, SIGNAL_PRIOR_SCALE)
    lp_n, dlp_n = -NOISE_PRIOR_RATE * excess, -NOISE_PRIOR_RATE * excess
    grad += np.concatenate([np.atleast_1d(dlp_ls), np.atleast_1d(dlp_s), np.atleast_1d(dlp_n)])
    return -(lml + lp_ls + lp_s + lp_n), -grad


def _map_theta(
    X: np.ndarray, y: np.ndarray, noise_floor: float, theta0: np.ndarray, maxiter: int,
    extra_noise: np.ndarray | None = None,
) -> np.ndarray:
    """L-BFGS-B on :func:`neg_log_posterior` from ``theta0``; ``theta0`` back if it fails."""
    d = X.shape[1]
    bounds = [tuple(np.log(LS_BOUNDS))] * d + [
        tuple(np.log(SIGNAL_BOUNDS)),
        tuple(np.log(NOISE_BOUNDS)),
    ]
    res = optimize.minimize(
        neg_log_posterior,
        theta0,
        args=(X, y, noise_floor, extra_noise),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": maxiter, "ftol": FIT_FTOL, "gtol": FIT_GTOL},
    )
    return res.x if np.all(np.isfinite(res.x)) and res.fun < 1e24 else theta0


def fit_params(
    X: np.ndarray, y: np.ndarray, noise_floor: float, extra_noise: np.ndarray | None = None
) -> GPParams:
    """MAP kernel hyperparameters for ``(X, y)``, always started from :func:`default_theta`
    (so they depend on the data alone, never on an earlier fit). ``extra_noise``: see
    :func:`neg_log_posterior`."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    d = X.shape[1]
    theta = _map_theta(X, y, noise_floor, default_theta(d), FIT_MAXITER, extra_noise)
    return GPParams(
        lengthscales=np.exp(theta[:d]),
        signal=math.exp(theta[d]),
        noise=noise_floor + math.exp(theta[d + 1]),
    )


# ---------------------------------------------------------------------- outputs
def _upper_power(x: np.ndarray, lam: float) -> np.ndarray:
    """Box-Cox power ``((1 + x)^lam - 1) / lam`` of the values above 0; the rest unchanged.

    ``lam = 1`` is the identity, ``lam = 0`` is ``log1p`` and ``lam < 0`` bounds the upper
    tail by ``-1/lam``. The map is continuous, increasing and has slope 1 at 0.
    """
    out = x.copy()
    pos = x > 0
    lx = np.log1p(x[pos])
    out[pos] = lx if abs(lam) < 1e-8 else np.expm1(lam * lx) / lam
    return out


def _upper_power_lambda(x: np.ndarray) -> float:
    """Maximum-likelihood exponent of :func:`_upper_power` (normal model, Yeo-Johnson's
    likelihood restricted to the upper half) within :data:`WARP_LAMBDA_BOUNDS`."""
    log_terms = np.log1p(x[x > 0]).sum()

    def neg_llf(lam: float) -> float:
        var = np.var(_upper_power(x, lam))
        if not var > 0 or not np.isfinite(var):
            return np.inf
        return 0.5 * len(x) * math.log(var) - (lam - 1.0) * log_terms

    res = optimize.minimize_scalar(neg_llf, bounds=WARP_LAMBDA_BOUNDS, method="bounded")
    return float(res.x) if np.isfinite(res.fun) else 1.0


def warp_outputs(z: np.ndarray) -> np.ndarray:
    """Map objective values (lower is better) to a standardised, outlier-robust scale.

    1. Robust standardisation: ``x = (z - median) / (IQR / 1.349)``.
    2. The worse half (``x > 0``) goes through a Box-Cox-type power with the
       maximum-likelihood exponent in ``[-2, 1]``: heavy upper tails and outliers (a diverged
       run at 1e6) are compressed, bounded if need be, instead of flattening every other
       difference. The better half is left linear: stretching it as a two-sided
       Yeo-Johnson transform does made the model over-trust the incumbent's basin (it was
       trapped in Branin's boundary basin five times as often in 100 seeded runs).
    3. Mean 0, standard deviation 1.

    Monotone increasing, so the order of the values is kept. All-equal values map to zeros.
    """
    z = np.asarray(z, dtype=float)
    if len(z) < 2:
        return np.zeros_like(z)
    q1, med, q3 = np.percentile(z, [25, 50, 75])
    scale = (q3 - q1) / 1.349  # the inter-quartile range of a unit normal
    if not scale > 0:
        scale = float(np.std(z))
    if not scale > 0:
        return np.zeros_like(z)
    x = np.clip((z - med) / scale, -WARP_CLIP, WARP_CLIP)
    w = _upper_power(x, _upper_power_lambda(x))
    sd = float(np.std(w))
    return (w - w.mean()) / sd if sd > 0 else np.zeros_like(z)


# ---------------------------------------------------------------------- log-EI
def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z * Phi(z))`` (the EI of a unit normal below threshold ``z``), finite
    and accurate for every finite ``z``: direct for ``z > -1``; through ``erfcx`` for
    ``-100 <= z <= -1``; by its asymptotic series ``-z^2/2 - log(2 pi)/2 - 2 log|z| + ...``
    beyond, where the direct form cancels catastrophically."""
    z = np.asarray(z, dtype=float)
    hi = z > -1.0
    if hi.all():  # the common case in refinement: the direct form only, no masking
        return np.log(np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) + z * special.ndtr(z))
    out = np.empty_like(z)
    zh = z[hi]
    out[hi] = np.log(np.exp(-0.5 * zh * zh) / math.sqrt(2.0 * math.pi) + zh * special.ndtr(zh))
    mid = ~hi & (z >= -LOGEI_ASYMPTOTIC)
    t = -z[mid]
    q = t * math.sqrt(math.pi / 2.0) * special.erfcx(t / math.sqrt(2.0))
    out[mid] = -0.5 * t * t - 0.5 * LOG_2PI + np.log1p(-q)
    far = ~hi & ~mid
    t = -z[far]
    u = 1.0 / (t * t)
    series = np.log1p(u * (-3.0 + u * (15.0 - 105.0 * u)))
    out[far] = -0.5 * t * t - 0.5 * LOG_2PI - 2.0 * np.log(t) + series
    return out


def dlog_h(z: np.ndarray, log_h_z: np.ndarray | None = None) -> np.ndarray:
    """Derivative of :func:`log_h`: ``Phi(z) / h(z)``, in log space; beyond
    :data:`LOGEI_ASYMPTOTIC` the derivative of the asymptotic series (the difference of two
    huge logs would lose every digit there). ``log_h_z``: ``log_h(z)`` when already known."""
    z = np.asarray(z, dtype=float)
    near = z >= -LOGEI_ASYMPTOTIC
    if near.all():
        lh = log_h(z) if log_h_z is None else log_h_z
        return np.exp(special.log_ndtr(z) - lh)
    out = np.empty_like(z)
    out[near] = np.exp(special.log_ndtr(z[near]) - log_h(z[near]))
    t = -z[~near]
    u = 1.0 / (t * t)
    poly = 1.0 + u * (-3.0 + u * (15.0 - 105.0 * u))
    dpoly_dt = (-3.0 + u * (30.0 - 315.0 * u)) * (-2.0 * u / t)
    out[~near] = t + 2.0 / t - dpoly_dt / poly
    return out


def log_ei(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    """Log expected improvement below ``best`` of a normal ``(mean, var)`` (minimisation)."""
    sd = np.sqrt(var)
    return np.log(sd) + log_h((best - mean) / sd)


# ---------------------------------------------------------------------- schedule, targets
def fit_size(n: int) -> int:
    """How many of ``n`` data rows the hyperparameters are fitted to: all of them up to
    :data:`REFIT_EVERY_UNTIL`, then the latest point of the geometric schedule
    ``m -> ceil(m * REFIT_GROWTH)`` that is <= n."""
    m = REFIT_EVERY_UNTIL
    if n <= m:
        return n
    while math.ceil(m * REFIT_GROWTH) <= n:
        m = math.ceil(m * REFIT_GROWTH)
    return m


def targets(z: np.ndarray) -> np.ndarray:
    """Model targets: warped scores; failed rows (NaN) at the worst warped score."""
    w = np.empty_like(z)
    ok = ~np.isnan(z)
    w[ok] = warp_outputs(z[ok])
    w[~ok] = w[ok].max()
    return w


# ---------------------------------------------------------------------- acquisition
def fit_robust(
    X: np.ndarray, y: np.ndarray, noise_floor: float, z_max: float, max_outliers: int,
    noisy: float,
) -> tuple[GPParams, np.ndarray]:
    """MAP hyperparameters with outliers down-weighted, and the extra noise of each row.

    After each fit the row with the largest leave-one-out residual, in predictive standard
    deviations, is a candidate outlier when that exceeds ``z_max``: its squared residual is
    added to its noise variance (one step of a Student-t-like reweighting) and the fit is
    redone, at most ``max_outliers`` times. One lucky score far below its neighbours
    otherwise bends the fit itself (a length-scale short enough to interpolate it), after
    which it no longer looks like an outlier. The down-weighting is kept only when the refit
    finds the rest of the data noisy (noise variance at least ``noisy`` times the signal):
    a deterministic objective's sharp basin is a feature, not an outlier. Without outliers
    this is :func:`fit_params`, one fit.
    """
    extra = np.zeros(len(y))
    params = fit_params(X, y, noise_floor)
    for _ in range(max_outliers if len(y) > 3 else 0):
        e, v = GaussianProcess(X, y, params, params.noise + extra).loo_residuals()
        score = np.abs(e) / np.sqrt(v)
        score[extra > 0] = 0.0
        worst = int(np.argmax(score))
        if not score[worst] > z_max:
            break
        trial = extra.copy()
        trial[worst] = e[worst] ** 2
        refit = fit_params(X, y, noise_floor, trial)
        if refit.noise < noisy * refit.signal:
            break
        params, extra = refit, trial
    return params, extra


class Acquisition:
    """Log-EI below ``best`` under ``gp``, with the confidence-bound fallback.

    With ``noise`` (a noise variance, > 0) it is the log of the *augmented* expected
    improvement of Huang et al. (2006): EI times ``1 - sqrt(noise / (var + noise))``, where
    ``var`` is the latent posterior variance. Where the data already pin the latent value
    down better than one more noisy evaluation could (``var`` small against ``noise``: at and
    next to evaluated points), the factor goes to 0, so the search stops re-sampling the
    incumbent's neighbourhood for luckier draws, which plain EI below a predicted-mean
    incumbent keeps doing forever. ``noise = 0`` is plain log-EI.
    """

    def __init__(self, gp: GaussianProcess, best: float, beta: float, noise: float = 0.0) -> None:
        self.gp, self.best, self.beta, self.noise = gp, best, beta, float(noise)

    def _log_aug(self, var: np.ndarray) -> np.ndarray | float:
        """Log of the augmentation factor (0 without noise)."""
        if not self.noise:
            return 0.0
        return np.log1p(-np.sqrt(self.noise / (var + self.noise)))

    def evaluate(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log-EI and the lower confidence bound ``mean - beta * sd`` at feature rows ``F``."""
        mean, var = self.gp.predict(F)
        return log_ei(mean, var, self.best) + self._log_aug(var), mean - self.beta * np.sqrt(var)

    @staticmethod
    def scores(lei: np.ndarray, lcb: np.ndarray) -> np.ndarray:
        """What to maximise over one candidate set: log-EI, or minus the LCB when the
        largest expected improvement is below :data:`EI_COLLAPSE`."""
        return lei if float(np.max(lei)) >= math.log(EI_COLLAPSE) else -lcb

    def negative_sum_with_grad(
        self, v: np.ndarray, base: np.ndarray, rows: np.ndarray, cols: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Minus the summed log-EI (augmented when ``noise``) of the rows of ``base`` with
        entries ``(rows, cols)`` set to ``v``, and its gradient in ``v``."""
        F = base.copy()
        F[rows, cols] = v
        mean, var, dmean, dvar = self.gp.predict_with_grad(F)
        sd = np.sqrt(var)
        z = (self.best - mean) / sd
        lh = log_h(z)
        dlogsd = dvar / (2.0 * var[:, None])
        grad = dlogsd + dlog_h(z, lh)[:, None] * (-dmean / sd[:, None] - z[:, None] * dlogsd)
        total = float(np.sum(np.log(sd) + lh))
        if self.noise:  # d/dvar log(1 - sqrt(n / (var + n))) = sqrt(n)/2 (var+n)^-1.5 / (1 - s)
            n = self.noise
            s = np.sqrt(n / (var + n))
            total += float(np.sum(np.log1p(-s)))
            grad = grad + (0.5 * math.sqrt(n) * (var + n) ** -1.5 / (1.0 - s))[:, None] * dvar
        return -total, -grad[rows, cols]
