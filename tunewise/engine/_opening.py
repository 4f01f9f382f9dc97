"""Opening a study in storage: resume it, start it, or start a new one beside a different one.

A project's storage may hold several studies. The study a search resumes is the one of its
project (named after it: ``<project>`` or ``<project>-<k>``; a storage shared by several
projects, such as one PostgreSQL database, keeps them apart) with the same *signature*
(algorithm, objective with its direction, and score rule). A stored study with
a different signature is never ranked together with the new search and never deleted: the new
search runs as a new study beside it, and the caller is told so in one line.
"""

from __future__ import annotations

import collections
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from ..objective import objective_from_config
from ..storage import Storage, StudyRecord

#: A RUNNING trial whose worker sent no heartbeat for this long is taken as dead.
#: Heartbeats come every HEARTBEAT_INTERVAL_S; six missed in a row is not a hiccup.
HEARTBEAT_INTERVAL_S = 10.0
STALE_AFTER_S = 6 * HEARTBEAT_INTERVAL_S


def worker_id() -> str:
    """``host:pid:start-time``: who runs a trial, to tell a dead worker from a busy one."""
    return f"{socket.gethostname()}:{os.getpid()}:{int(time.time())}"


def worker_is_dead(
    worker: str, heartbeat_at: float, now: float, stale_after: float = STALE_AFTER_S
) -> bool:
    """Dead if its heartbeat is older than ``stale_after`` seconds, or, on this host, its
    process no longer exists."""
    if now - heartbeat_at > stale_after:
        return True
    host, _, rest = worker.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # our own trials are tracked in memory
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def describe_signature(signature: dict[str, Any]) -> str:
    objective = objective_from_config(signature["objective"]).describe()
    return f"{signature['algorithm']}, objective {objective}, score={signature['score']}"


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    parts = []
    if old.get("algorithm") != new.get("algorithm"):
        parts.append(f"algorithm {old.get('algorithm')} -> {new.get('algorithm')}")
    if old.get("objective") != new.get("objective"):
        before = objective_from_config(old["objective"]).describe() if old.get("objective") else "?"
        after = objective_from_config(new["objective"]).describe()
        parts.append(f"objective {before} -> {after}")
    if old.get("score") != new.get("score"):
        parts.append(f"score rule {old.get('score')} -> {new.get('score')}")
    return ", ".join(parts) or "settings"


def _of_project(name: str, base_name: str) -> bool:
    """Whether a stored study belongs to the project ``base_name``: its name is the project's
    or one of the ``<project>-<k>`` names given to searches that differ."""
    if name == base_name:
        return True
    head, dash, k = name.rpartition("-")
    return bool(dash) and head == base_name and k.isdigit()


@dataclass
class Opened:
    """The study a search will use, and what the user should be told about it."""

    record: StudyRecord
    resumed: bool
    notes: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def open_study(
    storage: Storage,
    base_name: str,
    signature: dict[str, Any],
    settings: dict[str, Any],
    overwrite: bool,
    _retry: bool = False,
) -> Opened:
    """Find or create the study for ``signature`` in ``storage`` (see the module docstring)."""
    every = storage.list_studies()
    studies = [s for s in every if _of_project(s.name, base_name)]
    matching = [s for s in studies if s.settings.get("signature") == signature]
    notes: list[str] = []
    events: list[dict[str, Any]] = []
    if overwrite and matching:
        for s in matching:
            n = len(storage.get_trials(s.id))
            storage.delete_study(s.id)
            events.append({"event": "overwrote", "study": s.name, "trials": n})
            notes.append(
                f"overwrite=True: deleted the stored study {s.name!r} ({n} trials) "
                f"in {storage.location}."
            )
        studies = [s for s in studies if s not in matching]
        every = [s for s in every if s not in matching]
        matching = []
    if matching:
        return Opened(matching[-1], resumed=True, notes=notes, events=events)
    taken = {s.name for s in every}
    name = base_name
    k = 2
    while name in taken:
        name = f"{base_name}-{k}"
        k += 1
    try:
        record = storage.create_study(name, settings)
    except ValueError:
        if _retry:
            raise
        # Another worker started the same search at the same moment: join its study.
        return open_study(storage, base_name, signature, settings, False, _retry=True)
    if studies:
        other = studies[-1]
        n_other = len(storage.get_trials(other.id))
        differences = _differences(other.settings.get("signature", {}), signature)
        events.append(
            {"event": "new_study_beside", "other": other.name, "differences": differences}
        )
        notes.append(
            f"{storage.location} already holds study {other.name!r} ({n_other} trials; "
            f"{describe_signature(other.settings.get('signature', {'algorithm': '?', 'objective': signature['objective'], 'score': '?'}))}). "
            f"This search differs ({differences}), "
            f"so it runs as a new study {name!r} beside it; the stored study is kept and its "
            "trials are not ranked with these."
        )
    return Opened(record, resumed=False, notes=notes, events=events)


def check_arguments(
    score: str,
    max_retries_per_trial: int,
    max_consecutive_failed_trials: int,
    pruner: Any,
    scheduler: Any,
) -> None:
    """Refuse bad ``Study`` arguments with the value and the fix."""
    from ..schedulers import Pruner, Scheduler
    from ..trial import SCORE_RULES

    if score not in SCORE_RULES:
        raise ValueError(f"score={score!r} is not one of {SCORE_RULES}; use 'best' or 'last'.")
    for label, value in (
        ("max_retries_per_trial", max_retries_per_trial),
        ("max_consecutive_failed_trials", max_consecutive_failed_trials),
    ):
        if int(value) < 0:
            raise ValueError(f"{label}={value!r} must be >= 0.")
    if pruner is not None and not isinstance(pruner, Pruner):
        raise TypeError(
            f"pruner must be a tunewise.schedulers.Pruner (e.g. MedianPruner()) or None, got "
            f"{type(pruner).__name__}."
        )
    if scheduler is not None and not isinstance(scheduler, Scheduler):
        raise TypeError(
            "scheduler must be a tunewise.schedulers.Scheduler (e.g. HyperbandScheduler(81)) "
            f"or None, got {type(scheduler).__name__}."
        )


def liveness_periods(heartbeat_interval: float, stale_after: float | None) -> tuple[float, float]:
    """``(heartbeat_interval, stale_after)`` in seconds, checked; ``stale_after`` defaults to
    six heartbeats."""
    if not float(heartbeat_interval) > 0:
        raise ValueError(f"heartbeat_interval={heartbeat_interval!r} must be > 0 seconds.")
    interval = float(heartbeat_interval)
    stale = (
        float(stale_after)
        if stale_after is not None
        else STALE_AFTER_S * interval / HEARTBEAT_INTERVAL_S
    )
    if stale <= interval:
        raise ValueError(
            f"stale_after={stale_after!r} must exceed heartbeat_interval={interval:g}, or live "
            f"trials would be failed; use e.g. stale_after={6 * interval:g}."
        )
    return interval, stale


def resume_note(study: Any) -> str:
    """The line a resumed study says: what is stored, the best so far, and any trial a dead
    worker left RUNNING (read only: the next search fails and re-runs it)."""
    counts = collections.Counter(t.state.value.lower() for t in study.trials)
    detail = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no trials"
    best = study.cache.best
    best_text = (
        f"; best {study.objective.name} so far {best.score:.6g} (trial #{best.number})"
        if best
        else ""
    )
    if study.is_pareto:
        front = study.pareto_front()
        best_text = f"; Pareto front so far: {len(front)} trial{'s' if len(front) != 1 else ''}"
    wall = time.time()
    cut = [
        number
        for _id, number, worker, beat in study.storage.running_trials(study.study_id)
        if worker_is_dead(worker, beat, wall, study.stale_after)
    ]
    cut_text = ""
    if cut:
        named = f"trial {cut[0]} was" if len(cut) == 1 else (
            "trials " + ", ".join(str(n) for n in cut) + " were"
        )
        cut_text = (
            f" {named[0].upper()}{named[1:]} left RUNNING by a worker that is gone: the next "
            "search marks it FAILED and re-runs it."
        )
    return (
        f"Resuming study {study.name!r} from {study.location}: {len(study.trials)} trials "
        f"stored ({detail}){best_text}.{cut_text}"
    )
