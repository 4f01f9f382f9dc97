"""Keras Tuner's ``keras_tuner.engine.trial`` path: ``Trial`` and ``TrialStatus``.

``Trial`` here is Keras Tuner's record of a trial, constructible on its own
(``Trial(hyperparameters, trial_id="1", status="COMPLETED")``) with a ``MetricsTracker``;
the trials a search runs are :class:`tunewise.Trial` (running) and
:class:`tunewise.FrozenTrial` (stored), which show the same attributes.
"""

from ..trial_record import Trial, TrialStatus

__all__ = ["Trial", "TrialStatus"]
