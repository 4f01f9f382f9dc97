"""``StopWhenConverged``: an opt-in study callback that ends the search when the stop rule
(:func:`._convergence.stop_rule`) says the best cannot improve by more than the noise.

It lives beside the doctor (the engine sits below it and never imports it at module level).
"""

from __future__ import annotations

from typing import Any

from ..trial import FrozenTrial, TrialState
from ._convergence import BETA, StopVerdict, stop_rule
from ._model import SearchHistory

#: Completed trials before the rule is first asked: below about 20 a model's bounds are too
#: rough to stop on (the rule also needs max(5, d + 2) itself).
MIN_TRIALS = 20
#: The rule is asked every this many completed trials (a model fit costs 0.05-1 s).
CHECK_EVERY = 5


class StopWhenConverged:
    """Stop the search once the improvement still to gain is bounded by the noise.

    Pass it to ``Study.optimize(fn, callbacks=[tw.StopWhenConverged()])``. After each trial,
    from ``min_trials`` completed trials on and then every ``check_every`` more, it fits the
    doctor's model of the results and computes the stop rule; when the bound on the
    improvement still to gain is at most the noise of one evaluation (or, for a noise-free
    objective, 1% of the scores' spread), it says so in one line and stops the search: no new
    trial starts, the running ones finish and are stored, and ``optimize`` returns (see
    :func:`request_stop`).

    Keras tuners and the scikit-learn tuner run ``study.optimize`` themselves and take no
    study callbacks; call it from the Keras tuner's ``on_trial_end`` hook instead (it accepts
    the tuner in place of the study)::

        stopper = tw.StopWhenConverged()

        class MyTuner(tw.RandomSearch):
            def on_trial_end(self, trial):
                stopper(self, trial)

    With several workers sharing a study, it stops the worker it runs in.

    Attributes:
        verdicts: ``(completed trials, StopVerdict)`` for every time the rule was asked.
        verdict: the verdict that stopped the search (None while it goes on).
    """

    def __init__(
        self, min_trials: int = MIN_TRIALS, check_every: int = CHECK_EVERY, beta: float = BETA
    ) -> None:
        if int(min_trials) < 1 or int(check_every) < 1:
            raise ValueError(
                f"min_trials={min_trials!r} and check_every={check_every!r} must be >= 1."
            )
        if not beta > 0:
            raise ValueError(f"beta={beta!r} must be > 0, e.g. {BETA}.")
        self.min_trials, self.check_every, self.beta = int(min_trials), int(check_every), beta
        self.verdicts: list[tuple[int, StopVerdict]] = []
        self.verdict: StopVerdict | None = None
        self._asked_at: int | None = None

    def __call__(self, study: Any, trial: FrozenTrial | None = None) -> None:
        study = getattr(study, "study", study)  # a tuner: its study
        if self.verdict is not None:
            request_stop(study)  # stopped already (a resumed loop, another optimize call)
            return
        completed = sum(1 for t in study.trials if t.state is TrialState.COMPLETED)
        if completed < self.min_trials:
            return
        if self._asked_at is not None and completed - self._asked_at < self.check_every:
            return
        self._asked_at = completed
        verdict = stop_rule(SearchHistory.from_study(study), self.beta)
        if verdict is None:
            return
        self.verdicts.append((completed, verdict))
        if verdict.stop:
            self.verdict = verdict
            study.reporter.note(
                f"StopWhenConverged: after {completed} completed trials the improvement still "
                f"to gain is at most {verdict.bound:.3g}, within the noise ({verdict.threshold:.3g}): "
                f"the search stops. Recommended: trial {verdict.recommended_trial}."
            )
            request_stop(study)


def request_stop(study: Any) -> None:
    """Ask ``study`` to start no new trial: ``study.stop()`` where the engine has it, else by
    closing this run's ``max_trials`` at the slots already taken (the storage then refuses a
    new trial and the loop ends as at ``max_trials``, letting the running trials finish; the
    run log then says ``stopped_because="max_trials"``)."""
    stop = getattr(study, "stop", None)
    if callable(stop):
        stop()
        return
    study.max_trials = study.n_slots
