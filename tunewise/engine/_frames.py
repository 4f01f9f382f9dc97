"""Trials as tables: plain rows first (no dependency), then pandas DataFrames.

``trial_rows`` gives one dict per trial: its number, state, score, times, the hyperparameters
as ``hp_<name>`` columns and each metric's value at the trial's last step as ``<metric>``
columns. ``history_rows`` gives one dict per (trial, step) with every metric reported at that
step. The DataFrame builders only wrap these rows, so the CLI's CSV/JSON export and the
DataFrames always agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..trial import FrozenTrial
from ..trial_attrs import EPOCHS_RUN, STOPPED_EARLY

if TYPE_CHECKING:
    import pandas

#: Columns every row of :func:`trial_rows` starts with, in this order.
TRIAL_COLUMNS = (
    "number",
    "state",
    "score",
    "best_step",
    "steps",
    "started_at",
    "finished_at",
    "duration_s",
    "retry_of",
    "epochs_run",
    "stopped_early",
    "reason",
)

#: Prefix of the hyperparameter columns (``hp_learning_rate``).
HP_PREFIX = "hp_"


def _final_metrics(trial: FrozenTrial) -> dict[str, float]:
    """Each metric's value at the last step that reported it."""
    final: dict[str, float] = {}
    for s in trial.steps:
        final.update(s.metrics)
    return final


def _epochs_run(trial: FrozenTrial) -> int | None:
    run = trial.attrs.get(EPOCHS_RUN)
    if isinstance(run, list) and run:
        return int(max(run))
    return len(trial.steps) if trial.steps else None


def trial_rows(
    trials: Iterable[FrozenTrial], hyperparameter_names: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """One plain dict per trial (see the module docstring), in trial-number order.

    ``hyperparameter_names`` fixes the order of the ``hp_`` columns (the search space's order);
    names only some trials have are added after them. Missing values are None; times are unix
    seconds; ``stopped_early`` is the Keras tuner's record (None when not known).
    """
    trials = sorted(trials, key=lambda t: t.number)
    names = list(hyperparameter_names)
    for t in trials:
        names += [k for k in t.values if k not in names]
    rows = []
    for t in trials:
        stopped = t.attrs.get(STOPPED_EARLY)
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.value,
            "score": t.score,
            "best_step": t.best_step,
            "steps": len(t.steps),
            "started_at": t.started_at,
            "finished_at": t.finished_at,
            "duration_s": t.duration,
            "retry_of": t.retry_of,
            "epochs_run": _epochs_run(t),
            "stopped_early": bool(stopped) if stopped is not None else None,
            "reason": t.reason,
        }
        for name in names:
            row[HP_PREFIX + name] = t.values.get(name)
        for metric, value in _final_metrics(t).items():
            if metric not in row:
                row[metric] = value
        rows.append(row)
    return rows


def history_rows(trials: Iterable[FrozenTrial]) -> list[dict[str, Any]]:
    """One dict per reported step: ``number``, ``state``, ``step``, ``at`` and every metric."""
    rows = []
    for t in sorted(trials, key=lambda t: t.number):
        for s in t.steps:
            rows.append(
                {"number": t.number, "state": t.state.value, "step": s.step, "at": s.at, **s.metrics}
            )
    return rows


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "trials_dataframe() needs pandas: pip install 'tunewise[plots]' (or pandas)."
        ) from exc
    return pandas


def trials_dataframe(
    trials: Iterable[FrozenTrial], hyperparameter_names: Sequence[str] = ()
) -> pandas.DataFrame:
    """:func:`trial_rows` as a DataFrame indexed by nothing (``number`` is a column)."""
    pd = _pandas()
    rows = trial_rows(trials, hyperparameter_names)
    frame = pd.DataFrame(rows, columns=_columns(rows))
    for col in ("started_at", "finished_at"):
        frame[col] = pd.to_datetime(frame[col], unit="s", utc=True)
    return frame


def history_dataframe(trials: Iterable[FrozenTrial]) -> pandas.DataFrame:
    """:func:`history_rows` as a DataFrame: one row per (trial, step)."""
    pd = _pandas()
    rows = history_rows(trials)
    frame = pd.DataFrame(rows, columns=_columns(rows) or ["number", "state", "step", "at"])
    frame["at"] = pd.to_datetime(frame["at"], unit="s", utc=True)
    return frame


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    return columns or list(TRIAL_COLUMNS)


def json_safe(value: Any) -> Any:
    """NaN and infinities as None (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
