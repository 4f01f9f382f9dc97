"""A Keras Tuner oracle subclass's ``populate_space`` as a tunewise sampler.

Keras Tuner's custom oracles override ``populate_space(trial_id)`` and return
``{"status": "RUNNING", "values": {...}}`` (the next configuration) or
``{"status": "STOPPED"}`` (no more). :class:`PopulateSpaceSampler` asks it for each new
trial, so such an oracle runs in tunewise's one search loop (storage, retries, reporting),
unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..samplers import Sampler
from ..space import HyperParameter
from ..trial import FrozenTrial


class PopulateSpaceSampler(Sampler):
    """Each suggestion is ``oracle.populate_space(trial_id)``'s values; STOPPED ends."""

    name = "populate_space"

    def __init__(self, oracle: Any) -> None:
        self.oracle = oracle

    def suggest(
        self,
        space: Sequence[HyperParameter],
        trials: Sequence[FrozenTrial],
        rng: np.random.Generator,
    ) -> dict[str, Any] | None:
        trial_id = f"{len(trials):02d}"
        answer = self.oracle.populate_space(trial_id)
        if not isinstance(answer, dict) or "status" not in answer:
            raise TypeError(
                f"{type(self.oracle).__name__}.populate_space({trial_id!r}) returned "
                f"{answer!r}; return {{'status': 'RUNNING', 'values': {{...}}}} or "
                "{'status': 'STOPPED'}."
            )
        if str(answer["status"]) != "RUNNING":
            return None
        values = dict(answer.get("values") or {})
        for hp in space:  # what the oracle left out gets its default, as in Keras Tuner
            if hp.name not in values and hp.default is not None:
                values[hp.name] = hp.default
        return values

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "oracle": type(self.oracle).__name__}
