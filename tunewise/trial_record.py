"""Keras Tuner's standalone ``Trial`` record and ``TrialStatus`` (``kt.engine.trial``).

Code written for Keras Tuner builds these by hand in custom oracles and tests:
``Trial(hps, trial_id="1", status="COMPLETED")``, then ``trial.metrics.update(...)``,
``trial.score``, ``trial.summary()``, ``get_state()``/``from_state()``. The trials a tunewise
search runs are :class:`tunewise.Trial` and :class:`tunewise.FrozenTrial`, which carry the
same attributes; this class is for code that makes its own.
"""

from __future__ import annotations

from typing import Any

from .metrics_tracking import MetricsTracker


class TrialStatus:
    """Keras Tuner's trial statuses, as plain strings."""

    RUNNING = "RUNNING"
    IDLE = "IDLE"
    INVALID = "INVALID"
    STOPPED = "STOPPED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    ALL = (RUNNING, IDLE, INVALID, STOPPED, COMPLETED, FAILED)


class Trial:
    """One trial's hyperparameters, status, metrics, score and failure message."""

    def __init__(self, hyperparameters: Any, trial_id: str | None = None,
                 status: str = TrialStatus.RUNNING, message: str | None = None) -> None:
        self.hyperparameters = hyperparameters
        self.trial_id = trial_id
        self.status = status
        self.message = message
        self.metrics = MetricsTracker()
        self.score: float | None = None
        self.best_step: int | None = 0

    def summary(self) -> None:
        """Print the trial: id, hyperparameters, score, and the failure message if any."""
        print(f"Trial {self.trial_id} summary")
        print("Hyperparameters:")
        for name, value in self.hyperparameters.values.items():
            print(f"{name}: {value}")
        if self.score is not None:
            print(f"Score: {self.score}")
        if self.message is not None:
            print(self.message)

    def display_hyperparameters(self) -> None:
        for name, value in self.hyperparameters.values.items():
            print(f"{name}: {value}")

    def get_state(self) -> dict[str, Any]:
        """A JSON-serialisable dict that :meth:`from_state` turns back into this trial."""
        return {
            "trial_id": self.trial_id,
            "hyperparameters": self.hyperparameters.get_config(),
            "metrics": self.metrics.get_config(),
            "score": self.score,
            "best_step": self.best_step,
            "status": self.status,
            "message": self.message,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        from .space import HyperParameters

        self.trial_id = state["trial_id"]
        self.hyperparameters = HyperParameters.from_config(state["hyperparameters"])
        self.metrics = MetricsTracker.from_config(state["metrics"])
        self.score = state["score"]
        self.best_step = state["best_step"]
        self.status = state["status"]
        self.message = state.get("message")

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Trial:
        trial = cls(hyperparameters=None)
        trial.set_state(state)
        return trial

    def __repr__(self) -> str:
        return f"Trial(trial_id={self.trial_id!r}, status={self.status!r}, score={self.score!r})"


__all__ = ["Trial", "TrialStatus"]
