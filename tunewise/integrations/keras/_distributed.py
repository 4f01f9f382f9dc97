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

The chief prints through the tuner's console, so the tuner's ``verbose=`` decides (0
silences it; ``search(verbose=...)`` is ``fit``'s): a line as it starts waiting, one line per
trial the workers finish (as the workers' own lines: place, score, best so far), and one when
they are done.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from ...engine._loop import finished_slots, slot_of
from ...trial import rank_trials

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
    reported = {t.number for t in study.trials if t.state.is_finished}
    while not _study_done(tuner, since):
        _report_finished(tuner, reported)
        time.sleep(CHIEF_POLL_S)
    _report_finished(tuner, reported)
    tuner._reporter.note(
        f"The workers finished study {study.name!r}: {len(study.trials)} trials stored."
    )


def _report_finished(tuner: Tuner, reported: set[int]) -> None:
    """A line for each trial the workers finished since the last look (in the order they
    finished); ``reported`` holds the numbers already said."""
    study = tuner.study
    if not study.reporter.enabled:
        return
    new = [t for t in study.trials if t.state.is_finished and t.number not in reported]
    done = finished_slots(study) - sum(t.retry_of is None for t in new)
    for t in sorted(new, key=lambda t: (t.finished_at or 0.0, t.number)):
        reported.add(t.number)
        done += t.retry_of is None
        seen = [s for s in study.trials if s.number in reported]
        best = rank_trials(seen, study.objective)[:1]  # the best when this trial ended
        study.reporter.trial_finished(
            t, slot_of(study, t), tuner.max_trials, best[0] if best else None, study.objective,
            done=done,
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
