"""Per-metric histories of one trial, with Keras Tuner's ``MetricsTracker`` interface.

A trial's stored steps (:class:`~tunewise.trial.Step`) are the source of truth; a
:class:`MetricsTracker` is a view of them in the shape Keras Tuner's code reads
(``trial.metrics.get_best_value("val_loss")``, ``get_history`` as a list of
:class:`MetricObservation`), and a small standalone tracker for custom loops.

An observation holds a *list* of values at one step (Keras Tuner's shape: several executions
of a trial may report the same step); its value as a number is their mean.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

_DIRECTIONS = ("min", "max")


def infer_metric_direction(metric: Any) -> str | None:
    """``"min"``, ``"max"`` or None (unknown) for a metric name, a Keras metric object or a
    metric function, by the same rules as :func:`tunewise.infer_direction`."""
    from .objective import infer_direction

    if isinstance(metric, str):
        name = metric
        bare = name.removeprefix("val_").removeprefix("weighted_")
        if bare in ("ce", "crossentropy"):  # Keras' own short names
            return "min"
    else:
        name = getattr(metric, "name", None) or getattr(metric, "__name__", None)
        if name is None:
            return None
        class_name = type(metric).__name__
        if not isinstance(metric, type) and class_name not in ("function", "method"):
            by_class = infer_direction(_snake(class_name))
            if by_class is not None:
                return by_class
    return infer_direction(str(name))


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


class MetricObservation:
    """The value(s) of one metric at one step; ``value`` is a list (one entry per execution)."""

    def __init__(self, value: float | Sequence[float], step: int) -> None:
        values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
        self.value = [float(v) for v in values]
        self.step = int(step)

    def append(self, value: float | Sequence[float]) -> None:
        values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
        self.value.extend(float(v) for v in values)

    def mean(self) -> float:
        return float(np.mean(self.value)) if self.value else math.nan

    def get_config(self) -> dict[str, Any]:
        return {"value": list(self.value), "step": self.step}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MetricObservation:
        return cls(config["value"], config["step"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MetricObservation):
            return NotImplemented
        return self.value == other.value and self.step == other.step

    def __repr__(self) -> str:
        return f"MetricObservation(value={self.value}, step={self.step})"


class MetricHistory:
    """One metric's observations in step order, and its direction (``"min"`` or ``"max"``)."""

    def __init__(self, direction: str = "min") -> None:
        if direction not in _DIRECTIONS:
            raise ValueError(
                f"`direction` should be one of {{'min', 'max'}}, but got: {direction!r}."
            )
        self.direction = direction
        self._observations: dict[int, MetricObservation] = {}

    def update(self, value: float, step: int) -> None:
        """Add ``value`` at ``step`` (a second value at the same step joins the first)."""
        step = int(step)
        if step in self._observations:
            self._observations[step].append(value)
        else:
            self._observations[step] = MetricObservation(value, step)

    def get_history(self) -> list[MetricObservation]:
        return [self._observations[s] for s in sorted(self._observations)]

    def set_history(self, observations: Iterable[MetricObservation]) -> None:
        self._observations = {o.step: o for o in observations}

    def _finite(self) -> list[MetricObservation]:
        return [o for o in self.get_history() if math.isfinite(o.mean())]

    def get_best_value(self) -> float | None:
        """The best finite value (mean over executions) over the steps, None if none."""
        best = self._best()
        return None if best is None else best.mean()

    def get_best_step(self) -> int | None:
        best = self._best()
        return None if best is None else best.step

    def _best(self) -> MetricObservation | None:
        observations = self._finite()
        if not observations:
            return None
        sign = 1.0 if self.direction == "min" else -1.0
        return min(observations, key=lambda o: sign * o.mean())  # earliest on ties

    def get_last_value(self) -> float | None:
        history = self.get_history()
        return history[-1].mean() if history else None

    def get_statistics(self) -> dict[str, float]:
        """min, max, mean, median, var and std of the values (means over executions)."""
        values = [o.mean() for o in self.get_history()]
        if not values:
            return {}
        return {"min": float(np.min(values)), "max": float(np.max(values)),
                "mean": float(np.mean(values)), "median": float(np.median(values)),
                "var": float(np.var(values)), "std": float(np.std(values))}

    def get_config(self) -> dict[str, Any]:
        return {"direction": self.direction,
                "observations": [o.get_config() for o in self.get_history()]}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MetricHistory:
        history = cls(config["direction"])
        history.set_history(MetricObservation.from_config(o) for o in config["observations"])
        return history


class MetricsTracker:
    """Histories of several metrics by name (``metrics``: name -> :class:`MetricHistory`)."""

    def __init__(self, metrics: Iterable[Any] | None = None) -> None:
        self.metrics: dict[str, MetricHistory] = {}
        for metric in metrics or ():
            name = metric if isinstance(metric, str) else getattr(metric, "name", None)
            self.register(str(name), infer_metric_direction(metric))

    def exists(self, name: str) -> bool:
        return name in self.metrics

    def register(self, name: str, direction: str | None = None) -> None:
        """Add a metric; its direction is inferred from the name when not given ("min" when
        unknown). Raises ValueError for a name already registered or a bad direction."""
        if direction is None:
            direction = infer_metric_direction(name) or "min"
        if name in self.metrics:
            raise ValueError(f"Metric already exists: {name}")
        self.metrics[name] = MetricHistory(direction)

    def update(self, name: str, value: float, step: int = 0) -> None:
        """Record ``value`` of ``name`` at ``step``, registering the metric on first use."""
        if not self.exists(name):
            self.register(name)
        self.metrics[name].update(float(np.mean(value)) if np.ndim(value) else value, step)

    def _history(self, name: str) -> MetricHistory:
        if name not in self.metrics:
            known = ", ".join(sorted(self.metrics)) or "none"
            raise ValueError(f"Unknown metric: {name}; the tracked metrics are: {known}.")
        return self.metrics[name]

    def get_history(self, name: str) -> list[MetricObservation]:
        return self._history(name).get_history()

    def set_history(self, name: str, observations: Iterable[MetricObservation]) -> None:
        if not self.exists(name):
            self.register(name)
        self.metrics[name].set_history(observations)

    def get_best_value(self, name: str) -> float | None:
        return self._history(name).get_best_value()

    def get_best_step(self, name: str) -> int | None:
        return self._history(name).get_best_step()

    def get_last_value(self, name: str) -> float | None:
        return self._history(name).get_last_value()

    def get_direction(self, name: str) -> str:
        return self._history(name).direction

    def get_statistics(self, name: str) -> dict[str, float]:
        return self._history(name).get_statistics()

    def get_config(self) -> dict[str, Any]:
        return {"metrics": {name: h.get_config() for name, h in self.metrics.items()}}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MetricsTracker:
        tracker = cls()
        tracker.metrics = {name: MetricHistory.from_config(c)
                           for name, c in config["metrics"].items()}
        return tracker

    # plain-dict conveniences: tracker["val_loss"] is that metric's values, step by step
    def __getitem__(self, name: str) -> list[float]:
        return [o.mean() for o in self.get_history(name)]

    def __contains__(self, name: object) -> bool:
        return name in self.metrics

    def __iter__(self):
        return iter(self.metrics)

    def __len__(self) -> int:
        return len(self.metrics)

    def keys(self):
        return self.metrics.keys()

    def items(self) -> list[tuple[str, list[float]]]:
        return [(name, self[name]) for name in self.metrics]

    def __repr__(self) -> str:
        return f"MetricsTracker({sorted(self.metrics)})"


def tracker_from_steps(steps: Iterable[Any], directions: Mapping[str, str] | None = None
                       ) -> MetricsTracker:
    """A tracker of stored steps (each with ``.step`` and ``.metrics``); ``directions`` gives
    known metrics' directions (the objective's), the rest are inferred from their names."""
    tracker = MetricsTracker()
    for s in steps:
        for name, value in s.metrics.items():
            if not tracker.exists(name):
                tracker.register(name, (directions or {}).get(name))
            tracker.metrics[name].update(value, s.step)
    return tracker
