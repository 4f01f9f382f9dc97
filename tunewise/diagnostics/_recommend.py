"""What to use: the evaluated configuration with the best *predicted* mean, not the luckiest.

With noisy evaluations the trial with the best score is, by selection, the one whose noise
was most favourable: its score overstates its configuration, and another configuration may
well be better. The noise-aware model of the results (:func:`._noise.fit_model`) pools every
trial: its posterior mean at an evaluated configuration averages that trial's score with its
neighbours', weighted by the noise. :func:`recommend` returns the configuration with the
best posterior mean, a 95% interval for its true mean (latent sd; the noise of one more
evaluation excluded) and the trials worth re-evaluating: the best few by predicted mean whose
intervals overlap the recommended one's (which of them is truly best the data cannot say).

The ``recommendation`` finding (INFO) is given when it says something the best score does not:
the recommendation differs from the best-scoring trial, or other trials' intervals overlap it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._model import Check, Finding, SearchHistory
from ._noise import fit_model

#: Two-sided 95% normal quantile for the interval of a predicted mean.
Z95 = 1.959964
#: Trials (by predicted mean, the recommended one included) considered for re-evaluation.
MAX_RE_EVALUATE = 5


def _num(x: float) -> float:
    return float(f"{float(x):.4g}")


@dataclass(frozen=True)
class Recommendation:
    """The configuration to use, in the objective's own units.

    ``predicted`` is the model's mean for ``trial_id``'s configuration and ``interval`` a 95%
    interval (low, high) for its true mean; ``observed`` its score. ``luckiest_*`` describe the
    modelled trial with the best score (the same trial when the model agrees; with a
    scheduler's budgets, the modelled trials are those at the largest budget). ``re_evaluate``: trial
    ids, best predicted first, whose intervals overlap the recommended one's (empty when the
    recommendation stands clear); ``predictions`` maps each of the top trials to
    ``(predicted, low, high)``.
    """

    trial_id: str
    values: dict[str, Any]
    predicted: float
    interval: tuple[float, float]
    observed: float
    luckiest_trial: str
    luckiest_observed: float
    luckiest_predicted: float
    re_evaluate: tuple[str, ...]
    predictions: dict[str, tuple[float, float, float]]
    noise: float
    noise_source: str
    n_trials: int

    @property
    def differs(self) -> bool:
        """Whether the recommendation is not the best-scoring trial."""
        return self.trial_id != self.luckiest_trial

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial": self.trial_id, "values": self.values, "predicted": _num(self.predicted),
            "interval": [_num(self.interval[0]), _num(self.interval[1])],
            "observed": _num(self.observed), "luckiest_trial": self.luckiest_trial,
            "luckiest_observed": _num(self.luckiest_observed),
            "luckiest_predicted": _num(self.luckiest_predicted),
            "re_evaluate": list(self.re_evaluate),
            "noise": _num(self.noise), "noise_source": self.noise_source,
            "trials_modelled": self.n_trials,
        }


def recommend(history: SearchHistory) -> Recommendation | None:
    """The noise-aware recommendation (see the module docstring); None when the model cannot
    be fitted (fewer than 5 completed trials, no encodable space, all scores equal)."""
    model = fit_model(history)
    if model is None:
        return None
    mean, sd = model.predict_trials()
    sign = history.objective.sign

    def value(goodness: float) -> float:  # back to the objective's own units
        return -float(goodness) * sign

    low, high = mean - Z95 * sd, mean + Z95 * sd
    order = np.argsort(-mean, kind="stable")
    best = int(order[0])
    lucky = int(np.argmax(model.goodness))
    # the luckiest by score; ties go to the lower trial number, as the study ranks them
    ties = np.flatnonzero(model.goodness == model.goodness[lucky])
    lucky = min(ties, key=lambda i: model.trials[i].number)
    top = [int(i) for i in order[:MAX_RE_EVALUATE]]
    overlapping = [i for i in top if high[i] >= low[best]]
    trials = model.trials

    def interval(i: int) -> tuple[float, float]:
        a, b = sorted((value(low[i]), value(high[i])))
        return (a, b)

    noise, source = model.noise_or_model()
    return Recommendation(
        trial_id=trials[best].trial_id,
        values=dict(trials[best].values),
        predicted=value(mean[best]),
        interval=interval(best),
        observed=float(trials[best].score),  # type: ignore[arg-type]
        luckiest_trial=trials[lucky].trial_id,
        luckiest_observed=float(trials[lucky].score),  # type: ignore[arg-type]
        luckiest_predicted=value(mean[lucky]),
        re_evaluate=tuple(trials[i].trial_id for i in overlapping) if len(overlapping) > 1 else (),
        predictions={trials[i].trial_id: (value(mean[i]), *interval(i)) for i in top},
        noise=noise,
        noise_source=source,
        n_trials=len(trials),
    )


def check_recommendation(h: SearchHistory) -> list[Finding]:
    """The configuration to use, when it is not simply the best-scoring trial."""
    r = recommend(h)
    if r is None or (not r.differs and not r.re_evaluate):
        return []
    low, high = r.interval
    message = (f"Use trial {r.trial_id}'s configuration: its predicted mean {r.predicted:.4g} "
               f"(95% interval {low:.4g} to {high:.4g}) is the best of the {r.n_trials} trials")
    if r.differs:
        message += (f"; trial {r.luckiest_trial} scored best ({r.luckiest_observed:.4g}) but is "
                    f"predicted at {r.luckiest_predicted:.4g}, the rest being luck")
    message += "."
    if r.re_evaluate:
        fix = (f"Re-evaluate trials {', '.join(r.re_evaluate)} (their intervals overlap) a few "
               "times each, e.g. with executions_per_trial=3 or by calling the objective with "
               "their hyperparameters, and keep the best average.")
    else:
        fix = f"Use trial {r.trial_id}'s hyperparameters rather than the best-scoring trial's."
    return [Finding("recommendation", "info", message, r.to_dict(), fix)]


CHECKS: list[Check] = [check_recommendation]
