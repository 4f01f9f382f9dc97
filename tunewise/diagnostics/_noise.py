"""How noisy the evaluations are, how much of the best score is luck, and the noise-aware model
of the results that the stop rule (:mod:`._convergence`) and the recommendation
(:mod:`._recommend`) share.

Units: everything a caller sees is in *goodness* (the objective's units, higher is better,
whatever the direction); a noise "sd" is the standard deviation of one trial's score (the mean
of its executions when it has several).

The noise is measured directly, where the history allows it:

* **executions**: ``<objective>__std`` and ``executions`` at the scored step (the Keras tuner
  with ``executions_per_trial > 1``, the scikit-learn integrations' folds). The spread is a
  population sd over ``k`` runs, so ``spread**2 / (k - 1)`` is an unbiased estimate of the
  variance of their mean; these are pooled over the trials (the median of ``spread /
  sqrt(k - 1)`` reads 17% low at k = 3: a chi distribution with 2 degrees of freedom is
  skewed);
* **twins**: completed trials of the same configuration (and budget): the pooled
  within-configuration variance of their scores;
* **epoch jitter**: the scatter of the last epochs around a quadratic (the rule of the
  ``noisy-objective`` check), when at least 3 trials have 6+ steps.

The headline noise is the largest measured source (as in ``noisy-objective``). With none, the
model's learned noise stands in for the stop rule and the recommendation, but never raises the
``noisy-evaluations`` finding alone: a model misfit (a rugged, deterministic objective) reads
as noise too.

The model is tunewise's own Gaussian process (:mod:`tunewise.samplers._gp_model`) on the
completed trials (at the largest budget when a scheduler ran), encoded to the unit cube as the
GP sampler does (:mod:`tunewise.samplers._encoding`), with the scores warped by
:func:`~tunewise.samplers._gp_model.warp_outputs` and a noise floor equal to the measured
noise. The warp is affine on the better half of the scores (where every question here is
asked), so predictions map back to objective units exactly there.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..samplers._encoding import SpaceEncoding
from ..samplers._gp import _single_threaded_blas as single_threaded_blas
from ..samplers._gp_model import GaussianProcess, fit_params, warp_outputs
from ..space import config_key
from ..trial import FrozenTrial
from ..trial_attrs import BUDGET, CV_FOLDS, EXECUTIONS, spread_name
from ._checks_curves import _epoch_noise
from ._model import Check, Finding, SearchHistory

# ---------------------------------------------------------------------- thresholds
#: The model and the finding need this many completed trials (at one budget).
MIN_TRIALS = 5
#: Executions' spread counts from 3 trials with 2+ executions at the scored step; twins from
#: 2 degrees of freedom (two pairs, or a triple); epoch jitter from 3 curves of 6+ steps.
MIN_EXECUTION_TRIALS = 3
MIN_TWIN_DOF = 2
MIN_JITTER_CURVES = 3
JITTER_WINDOW = 6
#: Noise under 5% of the spread from the median trial to the best is immaterial (the
#: ``noisy-objective`` rule).
NOISE_MIN_SHARE = 0.05
#: The finding compares the noise and the luck with the gap from the best to the 3rd best.
GAP_RANK = 3
#: The model is fitted to at most this many trials (the best half of them and the newest
#: others): a fit costs O(n^3), and 400 points already pin the surface down.
MAX_MODEL_TRIALS = 400
#: Noise floor (variance, warped units) when no noise was measured: the GP sampler's default.
MIN_NOISE_VARIANCE = 1e-8
#: Without a measured noise, the noise variance (warped units: the scores have variance 1) is
#: the one of these floors whose fit has the largest marginal likelihood. The sampler's own
#: fit alone does not do: its prior is made to let a search trust small differences. On a
#: 2-d quadratic with noise sd 0.3 (scores' sd ~0.45; 40 random trials, 5 seeds) it learned
#: a noise sd of 0.001-0.19 (three of five fits interpolated the noise), the profile 0.19-0.29.
PROFILE_NOISE = (1e-6, 1e-3, 1e-2, 3e-2, 0.1, 0.3)
#: Fits memoised (the checks of one diagnosis ask for the same ones).
FIT_MEMO_SIZE = 16
#: Monte-Carlo draws of the expected luck of the best (a fixed generator: a pure function).
LUCK_DRAWS = 2000
#: Values of the search space's bookkeeping keys (Hyperband's) are not part of a configuration.
BOOKKEEPING_PREFIX = "tuner/"

_SOURCE_NAMES = {
    "executions": "the spread of repeated executions",
    "twins": "repeated configurations",
    "epoch_jitter": "epoch-to-epoch jitter",
    "model": "the model's learned noise",
}


_FITS: dict[bytes, GaussianProcess] = {}
_FITS_LOCK = threading.Lock()


def _num(x: float) -> float:
    """A float rounded to 4 significant digits, for evidence."""
    return float(f"{float(x):.4g}")


# ---------------------------------------------------------------------- noise
@dataclass(frozen=True)
class NoiseEstimate:
    """The noise of one trial's score (objective units), and where it was read.

    ``sd`` is the largest measured source (0.0 when none was measured); ``sources`` holds
    each source's estimate; ``evidence`` the counts behind them.
    """

    sd: float
    sources: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        return self.sd > 0

    @property
    def source(self) -> str:
        """The source giving ``sd`` ("" when none)."""
        return max(self.sources, key=self.sources.__getitem__) if self.sources else ""

    def describe(self) -> str:
        return ", ".join(_SOURCE_NAMES[k] for k in self.sources) or "nothing measured"


def _scored_metrics(t: FrozenTrial) -> dict[str, float]:
    """The metrics of the step the trial's score comes from (its last step otherwise)."""
    chosen = next((s for s in t.steps if s.step == t.best_step), None)
    if chosen is None and t.steps:
        chosen = t.steps[-1]
    return dict(chosen.metrics) if chosen is not None else {}


def _execution_variance(h: SearchHistory, trials: Sequence[FrozenTrial]) -> tuple[float, int, int]:
    """Pooled variance of a trial's mean over its executions, the trials it rests on and the
    typical number of executions; (nan, 0, 0) when fewer than MIN_EXECUTION_TRIALS have one."""
    variances, counts = [], []
    for t in trials:
        m = _scored_metrics(t)
        k = m.get(EXECUTIONS, 0.0)
        stds = [m.get(spread_name(n), math.nan) for n in h.objective.names]
        if k >= 2 and all(math.isfinite(s) for s in stds):
            variances.append(sum(s * s for s in stds) / (k - 1))
            counts.append(int(k))
    if len(variances) < MIN_EXECUTION_TRIALS:
        return math.nan, 0, 0
    return float(np.mean(variances)), len(variances), int(np.median(counts))


def configuration_key(t: FrozenTrial) -> tuple:
    """A trial's configuration (Hyperband's bookkeeping values aside) and budget."""
    values = {k: v for k, v in t.values.items() if not str(k).startswith(BOOKKEEPING_PREFIX)}
    return config_key(values), repr(t.attrs.get(BUDGET))


def twin_groups(trials: Sequence[FrozenTrial]) -> list[list[FrozenTrial]]:
    """Groups of two or more completed trials of one configuration and budget."""
    groups: dict[tuple, list[FrozenTrial]] = {}
    for t in trials:
        try:
            groups.setdefault(configuration_key(t), []).append(t)
        except TypeError:  # an unhashable stored value: this trial has no twin
            continue
    return [g for g in groups.values() if len(g) >= 2]


def _twin_variance(trials: Sequence[FrozenTrial]) -> tuple[float, int, list[list[str]]]:
    """Pooled within-configuration variance of the scores, its degrees of freedom, the groups."""
    groups = twin_groups(trials)
    ss = sum(float(np.sum((s - s.mean()) ** 2))
             for s in (np.array([t.score for t in g], float) for g in groups))
    dof = sum(len(g) - 1 for g in groups)
    if dof < MIN_TWIN_DOF:
        return math.nan, 0, []
    return ss / dof, dof, [[t.trial_id for t in g] for g in groups]


def _jitter_sd(h: SearchHistory, trials: Sequence[FrozenTrial]) -> tuple[float, int]:
    """Median epoch noise of the trials with JITTER_WINDOW+ steps (not CV folds)."""
    noises = []
    for t in trials:
        if CV_FOLDS in t.attrs:
            continue  # its steps are folds: their spread is read as executions
        g = np.array([h.goodness(v) for v in h.curve(t)], float)
        if len(g) >= JITTER_WINDOW:
            noises.append(_epoch_noise(g[-JITTER_WINDOW:]))
    if len(noises) < MIN_JITTER_CURVES:
        return math.nan, 0
    return float(np.median(noises)), len(noises)


def estimate_noise(h: SearchHistory, trials: Sequence[FrozenTrial] | None = None) -> NoiseEstimate:
    """The measured noise of one trial's score (see the module docstring)."""
    trials = h.completed if trials is None else list(trials)
    sources: dict[str, float] = {}
    evidence: dict[str, Any] = {}
    variance, n, k = _execution_variance(h, trials)
    if n:
        sources["executions"] = math.sqrt(variance)
        evidence.update(executions=k, execution_trials=n,
                        execution_spread=_num(math.sqrt(variance * (k - 1))))
    variance, dof, groups = _twin_variance(trials)
    if dof:
        sources["twins"] = math.sqrt(variance)
        evidence.update(twin_groups=groups[:10], twin_dof=dof)
    jitter, curves = _jitter_sd(h, trials)
    if curves and jitter > 0:
        sources["epoch_jitter"] = jitter
        evidence["jitter_trials"] = curves
    return NoiseEstimate(max(sources.values(), default=0.0), sources, evidence)


# ---------------------------------------------------------------------- the model
@dataclass(frozen=True)
class ResultsModel:
    """A GP of the goodness of the modelled trials, in objective units.

    ``predict`` gives the posterior mean and the latent (noise-free) sd; ``noise_sd`` the
    noise sd of one score the model assumes (the measured noise, or more if it learned more).
    """

    trials: tuple[FrozenTrial, ...]
    goodness: np.ndarray
    features: np.ndarray
    encoding: SpaceEncoding
    gp: GaussianProcess
    slope: float
    intercept: float
    noise: NoiseEstimate

    @property
    def noise_sd(self) -> float:
        return math.sqrt(self.gp.params.noise) / self.slope

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean goodness and latent sd at feature rows."""
        mean, var = self.gp.predict(features)
        # warped = intercept - slope * goodness on the better half (the GP minimises)
        return (self.intercept - mean) / self.slope, np.sqrt(var) / self.slope

    def predict_trials(self) -> tuple[np.ndarray, np.ndarray]:
        return self.predict(self.features)

    def noise_or_model(self) -> tuple[float, str]:
        """The noise to judge against: the measured one, else the model's learned noise."""
        if self.noise.measured:
            return self.noise.sd, self.noise.source
        return self.noise_sd, "model"


def modelled_trials(h: SearchHistory) -> list[FrozenTrial]:
    """Completed, finitely scored trials; with budgets, those at the largest budget."""
    done = [t for t in h.completed if math.isfinite(float(t.score))]  # type: ignore[arg-type]
    budgets = [t.attrs.get(BUDGET) for t in done if isinstance(t.attrs.get(BUDGET), (int, float))]
    if budgets:
        done = [t for t in done if t.attrs.get(BUDGET) == max(budgets)]
    if len(done) > MAX_MODEL_TRIALS:
        by_goodness = sorted(done, key=lambda t: -h.goodness(t.score))  # type: ignore[arg-type]
        keep = {t.number for t in by_goodness[: MAX_MODEL_TRIALS // 2]}
        newest = [t for t in sorted(done, key=lambda t: -t.number) if t.number not in keep]
        keep |= {t.number for t in newest[: MAX_MODEL_TRIALS - len(keep)]}
        done = [t for t in done if t.number in keep]
    return done


def fit_model(h: SearchHistory, noise: NoiseEstimate | None = None) -> ResultsModel | None:
    """The noise-aware GP of the results, or None (too few trials, no encodable space, all
    scores equal)."""
    trials = modelled_trials(h)
    space = [hp for hp in h.space if hp.grid_size != 1]
    if len(trials) < MIN_TRIALS or not space:
        return None
    encoding = SpaceEncoding(space)
    if encoding.n_features == 0:
        return None
    features = encoding.features_from_configs([t.values for t in trials])
    g = np.array([h.goodness(t.score) for t in trials], float)  # type: ignore[arg-type]
    z = -g
    w = warp_outputs(z)
    better = z <= np.median(z)
    if np.ptp(z[better]) <= 0:
        return None
    slope, intercept = np.polyfit(z[better], w[better], 1)  # exact: the warp is affine there
    if not slope > 0:
        return None
    noise = estimate_noise(h, trials) if noise is None else noise
    with single_threaded_blas():  # small matrices: threads cost more than they give
        if noise.measured:
            gp = _fit(features, w, max((slope * noise.sd) ** 2, MIN_NOISE_VARIANCE))
        else:
            gp = max((_fit(features, w, v) for v in PROFILE_NOISE),
                     key=_log_marginal_likelihood)
    return ResultsModel(tuple(trials), g, features, encoding, gp, float(slope), float(intercept),
                        noise)


def _fit(features: np.ndarray, w: np.ndarray, floor: float) -> GaussianProcess:
    """The GP with MAP hyperparameters above the noise floor ``floor`` (memoised: a pure
    function of its arguments, asked again by each check of one diagnosis)."""
    key = hashlib.sha1(features.tobytes() + w.tobytes() + repr((features.shape, floor)).encode())
    digest = key.digest()
    with _FITS_LOCK:
        gp = _FITS.get(digest)
    if gp is None:
        gp = GaussianProcess(features, w, fit_params(features, w, floor))
        with _FITS_LOCK:
            while len(_FITS) >= FIT_MEMO_SIZE:
                _FITS.pop(next(iter(_FITS)))
            _FITS[digest] = gp
    return gp


def _log_marginal_likelihood(gp: GaussianProcess) -> float:
    """log p(y | hyperparameters) of a fitted GP (no prior)."""
    return float(-0.5 * gp.y @ gp.alpha - np.log(np.diag(gp.L)).sum()
                 - 0.5 * len(gp.y) * math.log(2 * math.pi))


def expected_luck(mean: np.ndarray, noise_sd: float, draws: int = LUCK_DRAWS) -> float:
    """How far, on average, the best of noisy scores ``mean + noise`` lies above its own mean
    (the expected luck of the winner of ``len(mean)`` noisy draws; ~``sd * sqrt(2 ln n)`` when
    the means are equal, ~0 when they are far apart)."""
    if noise_sd <= 0 or len(mean) == 0:
        return 0.0
    rng = np.random.default_rng(0)
    observed = mean[None, :] + noise_sd * rng.standard_normal((draws, len(mean)))
    winner = observed.argmax(1)
    rows = np.arange(draws)
    return float(np.mean(observed[rows, winner] - mean[winner]))


# ---------------------------------------------------------------------- the check
def check_noisy_evaluations(h: SearchHistory) -> list[Finding]:
    """The measured noise rivals the gaps among the best trials, or the best score is more
    luck than those gaps: which trial is best, and by how much, is largely luck."""
    ranked = h.ranked
    if len(ranked) < MIN_TRIALS:
        return []
    noise = estimate_noise(h)
    if not noise.measured:
        return []
    goods = np.array([h.goodness(t.score) for t in ranked], float)  # type: ignore[arg-type]
    # The gap is to the 3rd-best distinct score: exact ties (an accuracy of 394/397 three
    # times) are equally good trials, no sign of noise.
    distinct = np.unique(goods)[::-1]
    if len(distinct) < GAP_RANK:
        return []
    gap = float(distinct[0] - distinct[GAP_RANK - 1])
    spread = float(goods[0] - np.median(goods))
    if noise.sd < NOISE_MIN_SHARE * spread:
        return []
    model = fit_model(h, noise)
    evidence: dict[str, Any] = {
        "noise": _num(noise.sd),
        "noise_sources": {k: _num(v) for k, v in noise.sources.items()},
        "gap_best_to_3rd": _num(gap),
        "top_trials": [t.trial_id for t in ranked[:GAP_RANK]],
        "top_scores": [_num(t.score) for t in ranked[:GAP_RANK]],  # type: ignore[arg-type]
        **noise.evidence,
    }
    luck = 0.0
    sentence = ""
    best = ranked[0]
    index = {t.number: i for i, t in enumerate(model.trials)} if model is not None else {}
    if model is not None and best.number in index:
        i = index[best.number]
        mean, sd = model.predict_trials()
        luck = float(model.goodness[i] - mean[i])
        predicted = _value(h, float(mean[i]))
        evidence.update(
            luck=_num(luck),
            expected_luck=_num(expected_luck(mean, noise.sd)),
            best_predicted_mean=_num(predicted),
            best_predicted_sd=_num(float(sd[i])),
            model_noise=_num(model.noise_sd),
            best_predicted_trial=model.trials[int(np.argmax(mean))].trial_id,
        )
        sentence = (f" Trial {best.trial_id}'s {best.score:.4g} is about {abs(luck):.3g} "
                    f"{'above' if luck >= 0 else 'below'} what the model of all the trials "
                    f"predicts for its configuration ({predicted:.4g}).")
    if noise.sd < gap and luck < gap:
        return []
    k = int(noise.evidence.get("executions", 1))
    reason = (f"as large as the gap of {gap:.3g} between the best and the {GAP_RANK}rd-best trial"
              if noise.sd >= gap else
              f"and the best score's luck ({luck:.3g}) exceeds the gap of {gap:.3g} between the "
              f"best and the {GAP_RANK}rd-best trial")
    return [Finding(
        "noisy-evaluations", "warning",
        f"The evaluations are noisy (about {noise.sd:.3g} as the standard deviation of a "
        f"trial's score, from {noise.describe()}), {reason}: which trial is best, and by how "
        f"much, is largely luck.{sentence}",
        evidence,
        "Trust the recommendation (the best predicted mean) over the best score; re-evaluate "
        f"the top trials; average more runs per trial (executions_per_trial={max(3, 2 * k)}), "
        "a larger validation set, or fixed seeds (keras.utils.set_random_seed) so that "
        "configurations are compared on the same footing.",
    )]


def _value(h: SearchHistory, goodness: float) -> float:
    """Back from goodness to the objective's own units."""
    return -goodness * h.objective.sign


CHECKS: list[Check] = [check_noisy_evaluations]
