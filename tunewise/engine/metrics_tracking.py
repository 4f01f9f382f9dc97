"""Keras Tuner's ``keras_tuner.engine.metrics_tracking`` path."""

from ..metrics_tracking import (
    MetricHistory,
    MetricObservation,
    MetricsTracker,
    infer_metric_direction,
)

__all__ = ["MetricHistory", "MetricObservation", "MetricsTracker", "infer_metric_direction"]
