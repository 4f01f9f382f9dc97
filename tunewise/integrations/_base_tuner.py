"""``BaseTuner``: Keras Tuner's framework-free tuner, for a ``run_trial`` that trains anything.

Subclass it and override ``run_trial(self, trial, *args, **kwargs)`` to return the trial's
result (a number, a dict of metrics, or a list of these per execution); override
``save_model(trial_id, model, step=0)`` and ``load_model(trial)`` to keep and restore models
(``get_best_models`` calls ``load_model`` on the best trials). Nothing here imports Keras:
the search, the storage, retries and the oracle are those of :class:`tunewise.Tuner`.
"""

from __future__ import annotations

from typing import Any

from ..space import HyperParameters
from .keras._tuner import Tuner


class BaseTuner(Tuner):
    """Keras Tuner's ``BaseTuner``: ``oracle=`` (or tunewise's tuner arguments) and a
    ``run_trial`` of your own; ``hypermodel`` (optional) is any ``build(hp)`` function or
    object, built once with default values to register the space."""

    def __init__(self, oracle: Any = None, hypermodel: Any = None, **kwargs: Any) -> None:
        super().__init__(hypermodel=hypermodel, oracle=oracle, **kwargs)

    def _populate_space(self) -> None:
        """Build once with default values to register the space (no Keras session here)."""
        hp = HyperParameters.for_trial(
            self.study.space, {},
            self.study.registry.defaults_hook(self.study.allow_new_entries), inherited=True)
        self.hypermodel.declare_hyperparameters(hp)
        self.hypermodel.build(hp)
        self.study.declare_space(hp)

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__}.run_trial(self, trial, *args, **kwargs) is not "
            "implemented: override it to train with trial.hyperparameters and return the "
            "result (a number, or a dict of metrics holding the objective)."
        )

    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """``load_model`` of each of the best completed trials, best first."""
        return [self.load_model(t) for t in self.oracle.get_best_trials(num_models)]

    def save_model(self, trial_id: Any, model: Any, step: int = 0) -> None:
        raise NotImplementedError(
            f"{type(self).__name__}.save_model(trial_id, model, step=0) is not implemented: "
            "override it to write the model under self.get_trial_dir(trial_id)."
        )

    def load_model(self, trial: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__}.load_model(trial) is not implemented: override it to "
            "read what save_model wrote under self.get_trial_dir(trial.trial_id)."
        )
