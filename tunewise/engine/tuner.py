"""Keras Tuner's ``keras_tuner.engine.tuner`` path: ``Tuner`` and ``maybe_distribute``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..integrations.keras._tuner import Tuner


@contextlib.contextmanager
def maybe_distribute(distribution_strategy: Any) -> Iterator[None]:
    """Run the block in ``distribution_strategy.scope()``, or as is when it is None."""
    if distribution_strategy is None:
        yield
    else:
        with distribution_strategy.scope():
            yield


__all__ = ["Tuner", "maybe_distribute"]
