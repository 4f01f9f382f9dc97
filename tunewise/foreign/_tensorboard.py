"""Per-epoch curves from the TensorBoard event files a Keras Tuner search left (read only).

Keras Tuner points each trial's ``TensorBoard`` callback at ``<log_dir>/<trial_id>/execution<k>``;
Keras writes the epoch scalars there, ``train/`` (``epoch_loss`` -> ``loss``) and
``validation/`` (``epoch_loss`` -> ``val_loss``). An event file is a sequence of TFRecords
(length, its checksum, an ``Event`` protocol buffer, its checksum); the buffers are decoded with
the ``tensorboard`` package's protocol classes alone, so neither TensorFlow nor TensorBoard's
event loaders are imported. A record cut short (a writer still running) ends the file.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_EXECUTION = re.compile(r"execution(\d+)$")
_EVENTS = "events.out.tfevents"
#: TensorFlow's DataType enum values of the scalar types Keras writes, as NumPy dtypes.
_DTYPES = {1: "<f4", 2: "<f8", 19: "<f2", 3: "<i4", 9: "<i8"}
#: Scalars the TensorBoard callback adds of its own (not metrics the model logs).
_CALLBACK_OWN = frozenset({"learning_rate", "val_learning_rate"})
#: How deep under a root the walk looks for ``<trial_id>/execution<k>`` folders.
_MAX_DEPTH = 6


def tensorboard_problem() -> str | None:
    """None when event files can be decoded, else why not (the package to install)."""
    try:
        from tensorboard.compat.proto import event_pb2  # noqa: F401
    except ImportError:
        return "the tensorboard package is not installed (pip install tensorboard)"
    return None


@dataclass
class Execution:
    """One execution's epochs: ``{step: {metric: value}}`` and each step's wall time."""

    path: str
    epochs: dict[int, dict[str, float]] = field(default_factory=dict)
    times: dict[int, float] = field(default_factory=dict)
    first_time: float | None = None


def find_executions(roots: Iterable[str], trial_ids: set[str]) -> dict[str, list[str]]:
    """``{trial_id: [execution folder, ...]}`` for every ``<trial_id>/execution<k>`` folder
    under ``roots`` (each execution number once, the first root that has it)."""
    found: dict[str, dict[int, str]] = {}
    for root in roots:
        if not os.path.isdir(root):
            continue
        base = root.rstrip(os.sep).count(os.sep)
        for folder, dirs, _files in os.walk(root):
            if folder.count(os.sep) - base >= _MAX_DEPTH:
                dirs[:] = []
            m = _EXECUTION.search(os.path.basename(folder))
            trial = os.path.basename(os.path.dirname(folder))
            if m and trial in trial_ids:
                found.setdefault(trial, {}).setdefault(int(m.group(1)), folder)
                dirs[:] = [d for d in dirs if d in ("train", "validation")]
    return {t: [p for _, p in sorted(by.items())] for t, by in found.items()}


def _records(path: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return
    pos = 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        start = pos + 12
        if start + length + 4 > len(data):
            return  # cut short: a writer is still writing it
        yield data[start:start + length]
        pos = start + length + 4


def _scalar(value: Any) -> float | None:
    kind = value.WhichOneof("value")
    if kind == "simple_value":
        return float(value.simple_value)
    if kind != "tensor":
        return None
    tensor = value.tensor
    if len(tensor.tensor_shape.dim) != 0:
        return None
    for listed in (tensor.float_val, tensor.double_val, tensor.int_val, tensor.int64_val):
        if len(listed):
            return float(listed[0])
    dtype = _DTYPES.get(int(tensor.dtype))
    if dtype is None or not tensor.tensor_content:
        return None
    array = np.frombuffer(tensor.tensor_content, dtype=dtype)
    return float(array[0]) if array.size == 1 else None


def read_execution(folder: str) -> Execution:
    """The epoch scalars of one execution folder (its ``train``/``validation`` writers)."""
    from tensorboard.compat.proto import event_pb2

    out = Execution(folder)
    for sub, prefix in (("", None), ("train", ""), ("validation", "val_")):
        where = os.path.join(folder, sub) if sub else folder
        try:
            names = sorted(n for n in os.listdir(where) if n.startswith(_EVENTS))
        except OSError:
            continue
        for name in names:
            for record in _records(os.path.join(where, name)):
                try:
                    event = event_pb2.Event.FromString(record)
                except Exception:  # noqa: BLE001, S112 - a damaged record: skip it
                    continue
                if event.wall_time and (out.first_time is None or event.wall_time < out.first_time):
                    out.first_time = float(event.wall_time)
                if prefix is None or not event.HasField("summary"):
                    continue
                for value in event.summary.value:
                    if not value.tag.startswith("epoch_"):
                        continue
                    number = _scalar(value)
                    if number is None:
                        continue
                    step = int(event.step)
                    metric = prefix + value.tag[len("epoch_"):]
                    if metric in _CALLBACK_OWN:
                        continue
                    out.epochs.setdefault(step, {})[metric] = number
                    out.times[step] = max(out.times.get(step, 0.0), float(event.wall_time))
    return out
