"""Out of memory: recognising it in a worker process's error, and in how a worker died.

A trial that runs out of memory shows it one of two ways. Its code raises (Python's
``MemoryError``, TensorFlow's ``ResourceExhaustedError`` "OOM when allocating ...", PyTorch's
``OutOfMemoryError``, JAX's ``RESOURCE_EXHAUSTED``): :func:`is_out_of_memory` recognises
these, through the exception's chain. Or the kernel's OOM killer ends its process with
SIGKILL, which leaves no message: :func:`oom_kill_count` reads the kernel's count of OOM kills
in this process's memory cgroup, so that a count that rose while the trial ran tells the two
causes of a SIGKILL (OOM killer, ``kill -9``) apart where the system exposes it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ._remote import RemoteTrialError

#: Exception class names (anywhere in the class's MRO) that mean out of memory, for libraries
#: not imported here: TensorFlow, PyTorch (``torch.OutOfMemoryError``, ``torch.cuda.*``).
OOM_CLASS_NAMES = frozenset({"ResourceExhaustedError", "OutOfMemoryError"})

#: Message fragments (lower case) of out-of-memory errors raised as generic exceptions:
#: TensorFlow's "OOM when allocating tensor", CUDA's "out of memory", XLA/JAX's
#: "RESOURCE_EXHAUSTED".
OOM_MESSAGES = ("oom when allocating", "out of memory", "resource_exhausted", "resource exhausted")

#: Where the kernel counts OOM kills: cgroup v2 ``memory.events``, cgroup v1
#: ``memory.oom_control`` (both have an ``oom_kill N`` line).
CGROUP_ROOT = "/sys/fs/cgroup"


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception it was raised from or during, is out of memory."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MemoryError):
            return True
        if any(cls.__name__ in OOM_CLASS_NAMES for cls in type(current).__mro__):
            return True
        text = str(current).lower()
        if any(fragment in text for fragment in OOM_MESSAGES):
            return True
        current = current.__cause__ or current.__context__
    return False


def _cgroup_files(root: str, proc_cgroup: str) -> list[str]:
    """The files that may hold this process's ``oom_kill`` count, most specific first."""
    v2: list[str] = []
    v1: list[str] = []
    try:
        with open(proc_cgroup) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        path = path.lstrip("/")
        if hierarchy == "0" and not controllers:
            v2.append(os.path.join(root, path, "memory.events"))
        elif "memory" in controllers.split(","):
            v1.append(os.path.join(root, "memory", path, "memory.oom_control"))
    # In a container the path above may not exist: its namespace's root is the cgroup.
    v2.append(os.path.join(root, "memory.events"))
    v1.append(os.path.join(root, "memory", "memory.oom_control"))
    return [*v2, *v1]


def _oom_kill_in(lines: Sequence[str]) -> int | None:
    for line in lines:
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return None


def oom_kill_count(root: str = CGROUP_ROOT, proc_cgroup: str = "/proc/self/cgroup") -> int | None:
    """The kernel's count of processes of this process's memory cgroup killed by the OOM
    killer (the first readable file of :func:`_cgroup_files`); None where none is readable
    (not Linux, no memory cgroup, an old kernel). Worker processes share their parent's
    cgroup, so the parent reads it for them."""
    for path in _cgroup_files(root, proc_cgroup):
        try:
            with open(path) as f:
                count = _oom_kill_in(f.read().splitlines())
        except OSError:
            continue
        if count is not None:
            return count
    return None


class OutOfMemoryError(RemoteTrialError):
    """A trial ran out of memory in a worker process; the message says how, then gives the
    worker's traceback. The worker process ends after it (a fresh one takes the next trial)."""


def out_of_memory_message(number: int, exc: BaseException, pid: int, traceback_text: str) -> str:
    """The stored reason's text for trial ``number``'s out-of-memory ``exc`` in process ``pid``."""
    detail = " ".join(str(exc).split())[:300]
    return (
        f"Out of memory: trial {number} raised {type(exc).__name__}"
        f"{': ' + detail if detail else ''} in worker process {pid}, which ends after it "
        f"(the next trial runs in a fresh process).\n\n{traceback_text}"
    )
