"""The callback that records every epoch of every trial, checks the objective, keeps best weights.

Also: turning what ``run_trial`` returns (a number, a dict, a ``History``, or a list of them,
one per execution) into per-epoch metrics, and averaging executions epoch by epoch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import FatalValueError
from ...objective import closest_name
from ...trial_attrs import (
    EARLY_STOPPING,
    EPOCHS_ASKED,
    EPOCHS_RUN,
    EXECUTIONS,
    SPREAD_SUFFIX,
    STOPPED_EARLY,
)

if TYPE_CHECKING:
    from ...objective import MultiObjective, Objective
    from ...trial import Trial

EpochLogs = dict[str, float]
Run = list[EpochLogs]  # one execution: its epochs' logs, in order


class ObjectiveNotLoggedError(FatalValueError):
    """The objective is not among the metrics the model logs; the search stops at once."""


def objective_missing_message(name: str, logged: Sequence[str]) -> str:
    """The live check's error: the objective is not among the names ``fit`` logs. The name it
    suggests comes from :func:`tunewise.objective.closest_name`, the doctor's rule too."""
    logged = sorted(logged)
    close = closest_name(name, logged)
    lines = [f"The objective {name!r} is not in the metrics the model logs: {', '.join(logged)}."]
    if name.startswith("val_") and not any(k.startswith("val_") for k in logged):
        lines.append(
            "No validation metric was logged at all: pass validation_data=(x_val, y_val) or "
            "validation_split=0.2 to search(), or tune a training metric "
            f"(objective={close or name[4:]!r})."
        )
    elif close:
        lines.append(f"Did you mean objective={close!r}?")
    if not close and name not in logged:
        lines.append(
            "Add the metric to model.compile(metrics=[...]) or pick one of the logged names."
        )
    return " ".join(lines)


def scalar_logs(logs: Mapping[str, Any] | None) -> EpochLogs:
    """Keep the numeric entries of Keras' epoch logs as plain floats (NaN kept as NaN)."""
    out: EpochLogs = {}
    for k, v in (logs or {}).items():
        try:
            out[str(k)] = float(np.asarray(v).item() if hasattr(v, "shape") else v)
        except (TypeError, ValueError):
            continue
    return out


@dataclass
class TrialRecord:
    """What the recorder collected during one trial (all executions)."""

    runs: list[Run] = field(default_factory=list)
    best_value: float | None = None
    best_weights: list[np.ndarray] | None = None
    live_steps: int = 0
    epochs_asked: list[int] = field(default_factory=list)
    early_stopping: list[Any] = field(default_factory=list)
    pruned_at: int | None = None
    """The epoch after which the study's pruner stopped training, else None."""
    initial_epoch: int = 0
    """The epoch ``fit`` starts at (a promoted Hyperband trial continues its parent's)."""
    build_config: dict[str, Any] | None = None
    """``model.get_build_config()`` of the model the best weights come from (JSON-ready), so
    that a model built lazily on its first ``fit`` (no ``Input``) can be rebuilt to take them."""
    objective_not_logged: str | None = None
    """The live check's message when ``fit`` logs no objective but the fit's result may still
    carry it (see ``make_recorder``'s ``fail_fast``); the tuner raises it once the result is a
    ``History`` after all."""

    def attrs(self) -> dict[str, Any]:
        """Plain facts about the fits, stored with the trial for the doctor."""
        out: dict[str, Any] = {
            EPOCHS_ASKED: max(self.epochs_asked) if self.epochs_asked else None,
            EPOCHS_RUN: [len(r) for r in self.runs],
        }
        if self.early_stopping:
            cb = self.early_stopping[0]
            out[EARLY_STOPPING] = {
                "monitor": getattr(cb, "monitor", None),
                "patience": int(getattr(cb, "patience", 0)),
                "min_delta": float(abs(getattr(cb, "min_delta", 0.0))),
                "restore_best_weights": bool(getattr(cb, "restore_best_weights", False)),
                "stopped_epochs": [int(getattr(c, "stopped_epoch", 0)) for c in self.early_stopping],
            }
        if out[EPOCHS_ASKED] is not None:
            out[STOPPED_EARLY] = any(n < out[EPOCHS_ASKED] for n in out[EPOCHS_RUN])
        return out


def make_recorder(
    keras: Any,
    record: TrialRecord,
    trial: Trial,
    objective: Objective | MultiObjective,
    report_live: bool,
    fail_fast: bool = True,
) -> Any:
    """A Keras callback bound to one execution of one trial.

    When the first epoch's logs lack the objective it raises
    :class:`ObjectiveNotLoggedError` at once with ``fail_fast`` (the fit's result is its
    ``History``, which cannot hold the objective either). Without ``fail_fast`` (a
    ``HyperModel.fit`` or ``run_trial`` of the user's, which may compute the objective
    itself and return it, as Keras Tuner's guides do) it notes the message in
    ``record.objective_not_logged`` and keeps each epoch's latest weights, as Keras Tuner
    saves the model at every epoch whose logs lack the objective.
    """

    class EpochRecorder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.run: Run = []
            record.runs.append(self.run)

        def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
            epochs = (self.params or {}).get("epochs")
            if epochs is not None:  # the epochs this fit trains (not counting the parent's)
                record.epochs_asked.append(int(epochs) - record.initial_epoch)

        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            metrics = scalar_logs(logs)
            if not self.run and len(record.runs) == 1:
                for name in objective.names:
                    if name not in metrics:
                        message = objective_missing_message(name, metrics)
                        if fail_fast:
                            raise ObjectiveNotLoggedError(message)
                        record.objective_not_logged = record.objective_not_logged or message
            self.run.append(metrics)
            if report_live:
                trial.report(epoch, metrics)
                record.live_steps += 1
            value = objective.value_from(metrics)
            if value is None and record.best_value is None and record.objective_not_logged:
                record.best_weights = [np.array(w) for w in self.model.get_weights()]
                record.build_config = json_build_config(self.model)
            if value is None or not math.isfinite(value):
                return
            if record.best_value is None or objective.is_better(value, record.best_value):
                record.best_value = value
                record.best_weights = [np.array(w) for w in self.model.get_weights()]
                record.build_config = json_build_config(self.model)

    return EpochRecorder()


def json_build_config(model: Any) -> dict[str, Any] | None:
    """The model's build config as plain JSON data (shapes as lists), or None."""
    try:
        config = model.get_build_config()
        return json.loads(json.dumps(config)) if config else None
    except Exception:  # noqa: BLE001 - a model without a usable build config: weights only
        return None


#: Keras Tuner's ``Tuner`` hooks that its ``TunerCallback`` calls during ``fit``.
TUNER_FIT_HOOKS = ("on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end")


def make_tuner_hooks_callback(keras: Any, tuner: Any, trial: Trial, base: type) -> Any | None:
    """Keras Tuner's ``TunerCallback``: calls ``tuner.on_epoch_begin(trial, model, epoch,
    logs=logs)``, ``tuner.on_batch_begin(trial, model, batch, logs)`` and their ``_end``
    pairs during ``fit``. Only the hooks ``type(tuner)`` overrides (relative to ``base``) are
    wired, so an untouched tuner adds no per-batch call; None when it overrides none."""
    overridden = [
        name for name in TUNER_FIT_HOOKS
        if getattr(type(tuner), name, None) is not getattr(base, name, None)
    ]
    if not overridden:
        return None
    methods: dict[str, Any] = {}
    if "on_epoch_begin" in overridden:
        def on_epoch_begin(self: Any, epoch: int, logs: Any = None) -> None:
            tuner.on_epoch_begin(trial, self.model, epoch, logs=logs)
        methods["on_epoch_begin"] = on_epoch_begin
    if "on_epoch_end" in overridden:
        def on_epoch_end(self: Any, epoch: int, logs: Any = None) -> None:
            tuner.on_epoch_end(trial, self.model, epoch, logs=logs)
        methods["on_epoch_end"] = on_epoch_end
    if "on_batch_begin" in overridden:
        def on_batch_begin(self: Any, batch: int, logs: Any = None) -> None:
            tuner.on_batch_begin(trial, self.model, batch, logs)
        methods["on_batch_begin"] = on_batch_begin
    if "on_batch_end" in overridden:
        def on_batch_end(self: Any, batch: int, logs: Any = None) -> None:
            tuner.on_batch_end(trial, self.model, batch, logs)
        methods["on_batch_end"] = on_batch_end
    return type("TunerCallback", (keras.callbacks.Callback,), methods)()


def make_pruning_callback(keras: Any, record: TrialRecord, trial: Trial) -> Any:
    """A Keras callback that asks the study's pruner after each epoch and stops a pruned fit.

    It must run after the recorder (which reports the epoch to the trial). When
    ``trial.should_prune()`` says True it sets ``model.stop_training`` and notes the epoch in
    ``record.pruned_at``; the tuner then stores the trial PRUNED at that epoch. Only for
    ``executions_per_trial == 1``: with several executions the epochs are averaged after every
    fit has ended, so there is no live curve to prune.
    """

    class PruningCallback(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
            if record.pruned_at is None and trial.should_prune():
                record.pruned_at = trial.steps[-1].step if trial.steps else int(epoch)
                self.model.stop_training = True

    return PruningCallback()


def runs_from_result(result: Any, objective_name: str) -> list[Run] | None:
    """Per-execution epoch logs from a ``run_trial``/``fit`` result; None for a History-free None.

    A number is ``{objective: value}`` for one epoch; a dict is one epoch; a ``History`` is
    its epochs; a list holds one of those per execution.
    """
    if result is None:
        return None
    if isinstance(result, (list, tuple)):
        runs: list[Run] = []
        for item in result:
            sub = runs_from_result(item, objective_name)
            if sub:
                runs.extend(sub)
        return runs
    history = getattr(result, "history", None)
    if isinstance(history, Mapping):
        n = max((len(v) for v in history.values()), default=0)
        return [
            [
                {k: float(v[i]) for k, v in history.items() if i < len(v)}
                for i in range(n)
            ]
        ]
    if isinstance(result, Mapping):
        return [[scalar_logs(result)]]
    try:
        return [[{objective_name: float(result)}]]
    except (TypeError, ValueError):
        raise TypeError(
            "run_trial (or HyperModel.fit) must return a number, a dict of metrics, a Keras "
            f"History, or a list of those; got {type(result).__name__}."
        ) from None


def check_result(result: Any, objective_name: str, source: str) -> None:
    """Raise :class:`~tunewise.errors.FatalTypeError` (the search stops: every trial would
    fail the same way) when ``result`` of ``source`` ("HyperModel.fit()" or
    "Tuner.run_trial()") is of no kind a trial can be scored by, as Keras Tuner does: a
    number, a dict of metrics, a Keras ``History``, or a list of these (one per execution);
    with no objective given (``default_objective``) only numbers."""
    from ...errors import FatalTypeError

    items = result if isinstance(result, (list, tuple)) else [result]
    for item in items:
        if item is None:
            continue
        number = not isinstance(item, (str, bytes, Mapping)) and _is_number(item)
        if objective_name == "default_objective" and not number:
            if isinstance(item, Mapping) and objective_name in item:
                continue
            raise FatalTypeError(
                f"Expected the return value of {source} to be a single float when `objective` "
                f"is left unspecified. Received return value: {item!r} of type {type(item)}. "
                "Return a number, or pass objective= naming the metric to optimise."
            )
        if not (number or isinstance(item, Mapping)
                or isinstance(getattr(item, "history", None), Mapping)):
            raise FatalTypeError(
                f"Expected the return value of {source} to be one of float, dict, "
                "keras.callbacks.History, or a list of one of these types. Received return "
                f"value: {item!r} of type {type(item)}."
            )


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return getattr(value, "ndim", 0) == 0


def is_history_like(result: Any) -> bool:
    if isinstance(result, (list, tuple)):
        return all(is_history_like(r) for r in result)
    return result is None or isinstance(getattr(result, "history", None), Mapping)


def average_runs(runs: Sequence[Run]) -> list[EpochLogs]:
    """Average executions epoch by epoch, adding ``<metric>__std`` for the spread.

    An execution that stopped early (EarlyStopping) contributes only to the epochs it ran;
    ``executions`` says how many executions each averaged epoch holds.
    """
    n_epochs = max((len(r) for r in runs), default=0)
    averaged: list[EpochLogs] = []
    for i in range(n_epochs):
        present = [r[i] for r in runs if i < len(r)]
        names = sorted({k for logs in present for k in logs})
        epoch: EpochLogs = {}
        for k in names:
            values = np.array([logs[k] for logs in present if k in logs], dtype=float)
            epoch[k] = float(values.mean())
            if len(runs) > 1:
                epoch[k + SPREAD_SUFFIX] = float(values.std())
        if len(runs) > 1:
            epoch[EXECUTIONS] = float(len(present))
        averaged.append(epoch)
    return averaged
