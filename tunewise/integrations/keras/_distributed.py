"""Keras Tuner's distributed mode, by its environment variables, on tunewise's shared storage.

Keras Tuner starts the same script several times: one process with ``KERASTUNER_TUNER_ID=chief``
serves the oracle at ``KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT`` and runs no trial; the
others (``KERASTUNER_TUNER_ID=tuner0``, ``tuner1``, ...) run the trials it hands out. tunewise
needs no server: every process of the script opens the same study in the same storage (the
project's SQLite file on one machine; ``storage="postgresql://..."`` across machines) and the
storage hands out trials. So a worker searches as any process would, and the chief runs no
trial: its ``search()`` waits until the workers have finished the study (watching for dead
workers' trials meanwhile, which it fails and leaves to be re-run), then returns, so that the
rest of the script (``results_summary()``, ``get_best_models()``) runs on the whole search.
The oracle address is not used.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._tuner import Tuner

#: Seconds between the chief's looks at the storage.
CHIEF_POLL_S = 1.0

#: Why a worker's search ended when the study itself is done.
_STUDY_DONE = ("max_trials", "exhausted", "schedule_complete", "already_finished")


def is_chief() -> bool:
    """Whether this process is Keras Tuner's chief (``KERASTUNER_TUNER_ID=chief``)."""
    return os.environ.get("KERASTUNER_TUNER_ID") == "chief"


def wait_as_chief(tuner: Tuner) -> None:
    """The chief's ``search()``: no trial here; return when the workers finished the study."""
    study = tuner.study
    since = time.time()
    tuner._reporter.note(
        f"KERASTUNER_TUNER_ID=chief: this process runs no trial; it waits while the workers "
        f"(KERASTUNER_TUNER_ID=tuner0, tuner1, ...) search study {study.name!r} in "
        f"{study.location}, which they share."
    )
    while not _study_done(tuner, since):
        time.sleep(CHIEF_POLL_S)
    tuner._reporter.note(
        f"The workers finished study {study.name!r}: {len(study.trials)} trials stored."
    )


def _study_done(tuner: Tuner, since: float) -> bool:
    study = tuner.study
    study.sync(force=True)  # the workers' trials; a dead worker's trial failed and re-queued
    if any(not t.state.is_finished for t in study.trials):
        return False
    if tuner.max_trials is not None and study.n_slots >= tuner.max_trials:
        return True
    ended = [r for r in study.runs if (r.get("finished_at") or 0) >= since]
    return any(r.get("stopped_because") in _STUDY_DONE for r in ended)
