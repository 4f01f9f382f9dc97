"""Liveness: this worker's heartbeats, and the trials of dead workers failed and re-run.

Every worker beats for the trials it runs (a daemon thread, every ``heartbeat_interval``
seconds). A RUNNING trial of another worker is dead when its heartbeat is older than
``stale_after`` seconds, or (same host) its process no longer exists. Any worker that notices
marks it FAILED with a conditional update that exactly one worker wins; the same transaction
stores its re-run as a WAITING trial, which any worker then claims. No re-run lives only in
one process's memory, so a worker that notices and then dies loses nothing.

A cut trial is re-run whatever ``max_retries_per_trial`` is (the crash was not its
configuration's fault), up to :data:`MAX_CRASH_RERUNS` cuts of one configuration (which may be
what kills its workers: out of memory).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ..storage import Storage
from ._opening import worker_is_dead

#: Cuts of one configuration (workers that died running it) after which it is not re-run.
MAX_CRASH_RERUNS = 3


def crash_rerun_cap(max_retries_per_trial: int) -> int:
    """``rerun_cap`` for a trial cut by a crash (attempts of its configuration, this one in)."""
    return max_retries_per_trial + MAX_CRASH_RERUNS


def fail_dead_trials(
    storage: Storage,
    study_id: Any,
    own: Callable[[int], bool],
    me: str,
    stale_after: float,
    rerun_cap: int,
) -> list[tuple[int, str]]:
    """Fail the RUNNING trials of dead workers (not ``own`` ones), each with its re-run;
    returns ``(number, reason)`` of those this call failed."""
    wall = time.time()
    failed: list[tuple[int, str]] = []
    for trial_id, number, worker, beat in storage.running_trials(study_id):
        if own(number) or not worker_is_dead(worker, beat, wall, stale_after):
            continue
        reason = (
            f"The worker running trial {number} ({worker}) died (process killed or machine "
            f"lost): no heartbeat for {wall - beat:.1f}s (grace period {stale_after:g}s) or "
            f"its process is gone. Marked FAILED by worker {me}; the configuration is re-run."
        )
        if storage.fail_stale_trial(trial_id, beat, reason, wall, rerun_cap):
            failed.append((number, reason))
    return failed


class Heartbeat:
    """Refreshes the heartbeat of ``owner.running_ids()`` every ``interval`` seconds.

    A daemon thread holding only a weak reference to its owner (a study), so a forgotten study
    (ask/tell without optimize) is still collected; it uses one pooled connection while it
    writes. A missed beat is retried at the next interval.
    """

    def __init__(self, owner: Any, storage: Storage, interval: float) -> None:
        self._owner = weakref.ref(owner)
        self._storage, self._interval = storage, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tunewise-heartbeat", daemon=True)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread() and self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            owner = self._owner()
            if owner is None:
                return
            ids: Sequence[Any] = owner.running_ids()
            del owner
            try:
                self._storage.heartbeat(ids, time.time())
            except Exception:  # noqa: BLE001, S112 - a missed beat is retried at the next interval
                continue
