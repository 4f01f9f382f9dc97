"""Should the search go on? An upper bound on the improvement still to gain, against the noise.

The rule (a regret bound in the manner of Optuna's Terminator): with the noise-aware model of the results
(:func:`._noise.fit_model`), the true mean of any configuration ``x`` lies, with high
probability, within ``mean(x) +- beta * sd(x)`` (latent sd, noise excluded). The best
configuration anywhere is then at most ``max_x UCB(x)``, and the recommended one (the
evaluated configuration with the largest lower bound) at least ``max_i LCB(x_i)``, so

    bound = max over the space of UCB  -  max over the evaluated configurations of LCB

bounds the improvement over the recommendation still to gain. It is compared with the noise
of one trial's score (measured, else the model's learned noise) and, for noise-free
objectives, with a tolerance of 1% of the spread from the median trial to the best:

* ``bound <= threshold``: **stop** (``convergence-stop``): more trials can at best find an
  improvement that one evaluation cannot tell from noise;
* otherwise: **go on** (``may-improve``): up to ``bound`` may remain, with where the model
  expects it (the configuration giving the largest UCB).

Both are INFO: advice, not a fault. The evidence also gives, in the manner of Ax's
improvement-based global stopping, how much the best predicted mean gained over the last
``RECENT_WINDOW`` trials (``recent_gain``; under the same model, so noise does not inflate it). ``max_x UCB`` is searched over a scrambled Sobol sweep of
the space (a fixed scramble: the rule is a pure function of the history), perturbations of
the best trials, the evaluated configurations, and the whole space when it is small and
finite.

``beta`` is 1.5 (a one-sided 93% bound at each point). A theoretical GP-UCB ``beta`` grows
with the trials and the dimension and is known to be very conservative. Measured on a noisy
quadratic (noise sd 0.2 of a trial's score, 3 executions; 10 seeds each): after 40 GP-sampler
trials in 2-d (true regret of the recommendation ~0.03) beta 1.5 says stop in 9-10 of 10
seeds, beta 2 in 3-6; after 8 or 20 random trials in 4-d (true regret 0.2-0.3) beta 1.5 says
go on in 10 of 10 (beta 1 stopped once). On a two-bump function whose higher, narrow bump is
easily missed (80 searches of 15-30 trials) beta 1.5 stopped once with the true regret above
the noise. The bound also needs the posterior sd at the best configuration below about
``noise / (2 beta)``, which takes a dozen or so trials near it: a search that scattered a few
trials around the optimum is told to go on.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..space import count_configurations, iter_configurations
from ._model import Check, Finding, SearchHistory
from ._noise import ResultsModel, fit_model, single_threaded_blas

#: Confidence multiplier of the bounds (latent sd units).
BETA = 1.5
#: Tolerance for noise-free objectives: 1% of the spread from the median trial to the best.
REL_TOLERANCE = 0.01
#: The rule speaks from this many modelled trials, and from d + 2 (a model needs a few
#: points per dimension before its bounds mean anything).
MIN_TRIALS = 5
#: Candidates for ``max UCB``: 2**11 Sobol points, 64 perturbations of each of the 5 best
#: trials (sd 0.02 and 0.1 of each range, alternately), and every configuration of a finite
#: space up to 4096.
SOBOL_LOG2 = 11
N_CENTERS = 5
N_PER_CENTER = 64
LOCAL_SCALES = (0.02, 0.1)
ENUMERATE_LIMIT = 4096
#: Trials (the newest, by number) whose gain to the best predicted mean the evidence reports.
RECENT_WINDOW = 5
#: Fixed scramble and generator: the rule is a pure function of the history.
CANDIDATE_SEED = 20240917


def _num(x: float) -> float:
    return float(f"{float(x):.4g}")


@dataclass(frozen=True)
class StopVerdict:
    """What the stop rule says about a history (objective units, higher is better inside).

    ``bound``: upper bound on the improvement over ``recommended_trial`` still to gain;
    ``threshold``: what it is compared with (``max(noise, tolerance)``); ``stop``: whether
    ``bound <= threshold``. ``upper``/``upper_values``: the largest upper confidence bound
    over the space and where; ``lower``/``recommended_trial``: the largest lower bound over
    the evaluated configurations and whose.
    """

    stop: bool
    bound: float
    threshold: float
    noise: float
    noise_source: str
    tolerance: float
    upper: float
    upper_values: dict[str, Any]
    lower: float
    recommended_trial: str
    beta: float
    n_trials: int
    sign: int
    recent_gain: float | None = None

    def value(self, goodness: float) -> float:
        """A goodness level in the objective's own units."""
        return -goodness * self.sign

    def evidence(self) -> dict[str, Any]:
        return {
            "bound": _num(self.bound),
            "noise": _num(self.noise),
            "noise_source": self.noise_source,
            "threshold": _num(self.threshold),
            "beta": self.beta,
            "trials_modelled": self.n_trials,
            "best_upper_bound": _num(self.value(self.upper)),
            "best_upper_bound_at": self.upper_values,
            "recommended_lower_bound": _num(self.value(self.lower)),
            "recommended_trial": self.recommended_trial,
            "recent_gain": None if self.recent_gain is None else _num(self.recent_gain),
            "recent_window": RECENT_WINDOW,
        }


def _candidates(model: ResultsModel) -> np.ndarray:
    """Feature rows where ``max UCB`` is looked for."""
    enc = model.encoding
    size = count_configurations(enc.space)
    rows = [model.features]
    if size is not None and size <= ENUMERATE_LIMIT:
        rows.append(enc.features_from_configs(list(iter_configurations(enc.space))))
        return np.vstack(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's balance notice
        sobol = stats.qmc.Sobol(enc.dim, scramble=True, seed=CANDIDATE_SEED)
        units = [sobol.random_base2(SOBOL_LOG2)]
    rng = np.random.default_rng(CANDIDATE_SEED)
    order = np.argsort(-model.goodness, kind="stable")[:N_CENTERS]
    centers = np.vstack([enc.unit_from_config(model.trials[i].values) for i in order])
    base = np.repeat(centers, N_PER_CENTER, axis=0)
    base = np.where(np.isnan(base), rng.random(base.shape), base)
    scale = np.resize(np.asarray(LOCAL_SCALES), len(base))[:, None]
    units.append(np.clip(base + scale * rng.standard_normal(base.shape), 0.0, 1.0))
    rows.append(enc.features_from_unit(np.vstack(units)))
    return np.vstack(rows)


def stop_rule(history: SearchHistory, beta: float = BETA) -> StopVerdict | None:
    """The stop rule on ``history`` (see the module docstring); None when it cannot speak
    (too few trials, no encodable search space, all scores equal)."""
    model = fit_model(history)
    dims = len([hp for hp in history.space if hp.grid_size != 1])
    if model is None or len(model.trials) < max(MIN_TRIALS, dims + 2):
        return None
    return verdict_from_model(history, model, beta)


def verdict_from_model(history: SearchHistory, model: ResultsModel, beta: float = BETA) -> StopVerdict:
    """The stop rule on a fitted model."""
    with single_threaded_blas():
        mean, sd = model.predict_trials()
        cand = _candidates(model)
        cmean, csd = model.predict(cand)
    lcb = mean - beta * sd
    best = int(np.argmax(lcb))
    ucb = cmean + beta * csd
    top = int(np.argmax(ucb))
    bound = max(0.0, float(ucb[top] - lcb[best]))
    noise, source = model.noise_or_model()
    goods = model.goodness
    tolerance = REL_TOLERANCE * float(goods.max() - np.median(goods))
    threshold = max(noise, tolerance)
    upper_values = model.encoding.config_from_unit(_unit_of(model, cand[top]))
    numbers = np.array([t.number for t in model.trials])
    older = numbers < np.sort(numbers)[-RECENT_WINDOW] if len(numbers) > RECENT_WINDOW else None
    recent_gain = None if older is None else float(mean.max() - mean[older].max())
    return StopVerdict(
        stop=bound <= threshold,
        bound=bound,
        threshold=threshold,
        noise=noise,
        noise_source=source,
        tolerance=tolerance,
        upper=float(ucb[top]),
        upper_values={k: (_num(v) if isinstance(v, float) else v) for k, v in upper_values.items()},
        lower=float(lcb[best]),
        recommended_trial=model.trials[best].trial_id,
        beta=beta,
        n_trials=len(model.trials),
        sign=history.objective.sign,
        recent_gain=recent_gain,
    )


def _unit_of(model: ResultsModel, feature_row: np.ndarray) -> np.ndarray:
    """Unit coordinates decoding to a feature row (one-hot blocks: the hot index's bin)."""
    enc = model.encoding
    unit = np.full(enc.dim, math.nan)
    for i, cols in enumerate(enc.columns):
        if not cols:
            unit[i] = 0.5
        elif enc.kinds[i] == "onehot":
            unit[i] = (int(np.argmax(feature_row[cols])) + 0.5) / len(cols)
        else:
            unit[i] = float(feature_row[cols[0]])
    return unit


def check_convergence(h: SearchHistory) -> list[Finding]:
    """Stop (the best cannot improve by more than the noise) or go on (up to X may remain)."""
    v = stop_rule(h)
    if v is None:
        return []
    name = getattr(h.objective, "name", "the objective")
    what = ("1% of the spread of the scores" if v.threshold != v.noise else
            "the noise the model learned" if v.noise_source == "model" else "the noise")
    if v.stop:
        return [Finding(
            "convergence-stop", "info",
            f"Stop: the model of the {v.n_trials} trials bounds the improvement still to gain "
            f"at {v.bound:.3g}, no more than {what} ({v.threshold:.3g}), so further trials "
            "cannot find a better configuration that one evaluation would tell apart.",
            v.evidence(),
            f"Stop the search; use the recommended configuration (trial "
            f"{v.recommended_trial}'s). To go further, reduce the noise (more executions per "
            "trial, a larger validation set) or change what is searched.",
        )]
    return [Finding(
        "may-improve", "info",
        f"Go on: up to {v.bound:.3g} of {name} may remain to gain (the model's bound on the "
        f"improvement over trial {v.recommended_trial}'s, against {what}, {v.threshold:.3g}).",
        v.evidence(),
        f"Run more trials (a model-based sampler, e.g. tw.GPSampler(), explores where the bound "
        f"comes from: near {v.upper_values}); tw.StopWhenConverged() stops the search when "
        "the bound falls below the noise.",
    )]


CHECKS: list[Check] = [check_convergence]
