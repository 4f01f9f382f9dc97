"""``n_jobs=k``: trials run in k worker processes on this machine.

The workers are fresh interpreters (``python -c ...``, not forks): safe with TensorFlow, JAX
and CUDA, and the same on Linux and macOS. They never re-import the caller's script: the
objective travels pickled by value where it must (cloudpickle), with the caller's
``sys.path``. The search loop stays in the calling process (see :mod:`._loop`): it asks for
each trial, sends it to an idle worker, and finishes it when the worker answers. A worker
stores the steps its trial reports as they come (so curves, the dashboard and pruning see
them live), with the trial's ownership token; the loop's process sends the heartbeats.

``max_trials_per_worker=m`` ends each worker after its m-th trial and starts a fresh one in
its place, so that what a trial leaves behind in its process (memory a library does not give
back, a grown TensorFlow graph, accelerator memory) is returned to the system; ``m=1`` runs
every trial in a process of its own (the Keras tuners' ``search(isolate=True)``). The fresh
process starts (imports, the search's context) while the last trial of the one it replaces
runs, and gets its first trial only after that one has exited. A worker whose trial ran out of
memory (:mod:`._oom`) is replaced the same way, whatever ``m``. A worker that dies mid-trial
(killed, out of memory, a crash in native code) loses its trial, which the search stores
FAILED with how it died (signal, exit code, and whether the kernel's OOM killer did it, where
the system says so) and re-runs (see :mod:`._liveness`).

Each trial's stdout and stderr (Python and C level) go to
``<directory>/<project_name>/trial_logs/trial_<n>.log``; what workers print outside trials
(while they start, e.g. a library's banner) goes to ``trial_logs/workers.log``. Workers ignore
Ctrl-C (the loop's process handles it for all) and end when the loop's process ends, even by
``kill -9``: each holds the read end of a pipe whose only writer is the parent, and exits when
it closes (on Linux the kernel also kills it when the parent dies). Workers run in sessions of
their own, so a terminal's Ctrl-C reaches only the parent.
"""

from __future__ import annotations

import operator
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from ._executors import Executor, Run
from ._oom import OutOfMemoryError, oom_kill_count
from ._remote import Outcome, replayer, split_objective

if TYPE_CHECKING:
    from ..trial import Trial
    from ._study import Study

#: Seconds a worker gets to exit on shutdown before it is killed.
SHUTDOWN_GRACE_S = 5.0


def _positive_int(value: Any) -> int | None:
    """``value`` as an int >= 1 (an integer type, not a bool), else None."""
    if isinstance(value, bool):
        return None
    try:
        number = operator.index(value)
    except TypeError:
        return None
    return number if number >= 1 else None


def _dumps(obj: Any) -> bytes:
    import cloudpickle

    return cloudpickle.dumps(obj)


class _Worker:
    """One worker process and the pipes to it. It starts at once and is sent the caller's
    ``sys.path`` and folder, then ``setup`` (the search's context), from a thread: a large
    context fills the pipe long before the process reads it, and the caller need not wait."""

    def __init__(self, index: int, log_dir: str, setup: bytes) -> None:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        life_r, life_w = os.pipe()
        code = "from tunewise.engine._process_worker import main; main()"
        argv = [sys.executable, "-c", code, str(task_r), str(result_w), str(life_r), log_dir]
        with open(os.path.join(log_dir, "workers.log"), "ab") as log:
            # A session of its own: a terminal's Ctrl-C reaches only the loop's process, which
            # stops the workers itself.
            self.proc = subprocess.Popen(
                argv, pass_fds=(task_r, result_w, life_r), stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        for fd in (task_r, result_w, life_r):
            os.close(fd)
        self.index = index
        self.tasks = Connection(task_w, readable=False)
        self.results = Connection(result_r, writable=False)
        self._lifeline: int | None = life_w  # never written: its closing ends the worker
        self.trial: Trial | None = None
        self.trials_run = 0
        #: No trial is sent to it any more (its last one was, or it ran out of memory).
        self.last = False
        #: The cgroup's count of OOM kills when its current trial was sent (None: unknown).
        self.oom_kills_before: int | None = None
        self._sender = threading.Thread(
            target=self._send_setup, args=((list(sys.path), os.getcwd()), setup),
            name=f"tunewise-setup-{self.proc.pid}", daemon=True,
        )
        self._sender.start()

    def _send_setup(self, where: tuple[list[str], str], setup: bytes) -> None:
        try:
            self.tasks.send_bytes(pickle.dumps(where))
            self.tasks.send_bytes(setup)
        except Exception:  # noqa: BLE001, S110 - it died or was stopped: wait_ready says so
            pass

    def wait_ready(self) -> None:
        """Block until the worker has loaded the search's context; raise what it could not."""
        self._sender.join()
        try:
            kind, text = pickle.loads(self.results.recv_bytes())
        except (EOFError, OSError):
            code = self.proc.wait()
            kind, text = "error", f"it exited with code {code} before it was ready"
        if kind != "ready":
            raise RuntimeError(
                f"A worker process (pid {self.proc.pid}) could not load the objective:\n{text}\n"
                "The objective and what it refers to must be importable or picklable in a "
                "fresh interpreter (define it at module level, or as a closure over plain data)."
            )

    def send_trial(self, message: bytes, last: bool) -> None:
        """Send it a trial; ``last``: its final one (it exits once it has answered)."""
        self.trials_run += 1
        self.oom_kills_before = oom_kill_count()
        try:
            self.tasks.send_bytes(message)
        except (BrokenPipeError, OSError):
            pass  # the worker died: wait_one hands the trial back as lost
        if last:
            self.no_more_trials()

    def no_more_trials(self) -> None:
        """Close its task pipe: once idle it reads the end of it and exits."""
        self.last = True
        try:
            self.tasks.close()
        except OSError:
            pass

    def hang_up(self) -> None:
        """Close every pipe to it: the worker exits now (its lifeline closed)."""
        self.no_more_trials()
        try:
            self.results.close()
        except OSError:
            pass
        if self._lifeline is not None:
            try:
                os.close(self._lifeline)
            except OSError:
                pass
            self._lifeline = None

    def close(self, kill: bool) -> None:
        """End it (killed at once with ``kill``, else after :data:`SHUTDOWN_GRACE_S`)."""
        if kill and self.proc.poll() is None:
            self.proc.kill()
        self._sender.join(timeout=SHUTDOWN_GRACE_S)  # it ends when the process does
        self.hang_up()
        try:
            self.proc.wait(timeout=SHUTDOWN_GRACE_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ProcessExecutor(Executor):
    """``n_jobs`` worker processes, started when a search starts and ended when it ends.

    ``max_trials_per_worker``: None (default) keeps each worker for the whole search; m >= 1
    ends each worker after m trials and runs the next trials in a fresh process (1: one
    process per trial, as ``search(isolate=True)``). See the module docstring.
    """

    def __init__(self, n_jobs: int, max_trials_per_worker: int | None = None) -> None:
        jobs = _positive_int(n_jobs)
        if jobs is None:
            raise ValueError(f"n_jobs={n_jobs!r} must be a positive number of worker processes.")
        limit = None if max_trials_per_worker is None else _positive_int(max_trials_per_worker)
        if max_trials_per_worker is not None and limit is None:
            raise ValueError(
                f"max_trials_per_worker={max_trials_per_worker!r} must be a positive number of "
                "trials (1: a fresh process for every trial), or None to keep each worker for "
                "the whole search."
            )
        self.n_jobs = jobs
        self.max_trials_per_worker = limit
        self._workers: list[_Worker] = []
        self._next: dict[int, _Worker] = {}  # by slot: the fresh process replacing its worker
        self._finish: Any = None
        self._setup = b""
        self._log_dir = ""

    @property
    def capacity(self) -> int:
        return self.n_jobs

    @property
    def in_flight(self) -> int:
        return sum(w.trial is not None for w in self._workers)

    def check(self, study: Study) -> None:
        if os.name != "posix":
            raise RuntimeError(
                f"n_jobs={self.n_jobs} needs a POSIX system (Linux, macOS) for its worker "
                "processes; on this one use executor='ray', or start several processes of "
                "your script on one storage (they cooperate)."
            )
        if not study.storage.shared:
            raise ValueError(
                f"{self._what()} runs trials in other processes, which cannot share "
                "storage='memory' (it lives in one process). Use a storage every process "
                "can open: storage=None (the SQLite file under directory/project_name) or a "
                "database URL such as storage='postgresql://user@host/db'."
            )

    def _what(self) -> str:
        if self.max_trials_per_worker == 1:
            return f"isolate=True (n_jobs={self.n_jobs}, a fresh process per trial)"
        return f"n_jobs={self.n_jobs}"

    def start(self, study: Study, fn: Callable[..., Any], call: Run) -> None:
        task_part, self._finish = split_objective(fn, call)
        self._log_dir = os.path.join(study.directory, study.project_name, "trial_logs")
        os.makedirs(self._log_dir, exist_ok=True)
        context = {
            "storage": study.storage,
            "study_id": study.study_id,
            "sign": study.objective.sign,
            "pruner": study.pruner,
            "call": task_part,
        }
        try:
            self._setup = _dumps(context)
        except Exception as exc:  # noqa: BLE001 - say what cannot travel, and the fix
            raise TypeError(
                f"{self._what()} runs the objective in worker processes, but it cannot be "
                f"pickled ({type(exc).__name__}: {exc}). Define it at module level or as a "
                "closure over plain data, and open heavy resources inside it."
            ) from None
        sys.stdout.flush()
        sys.stderr.flush()
        # All start at once (each boots while the others get their context), then all load it.
        self._workers = [self._spawn(k) for k in range(self.n_jobs)]
        for worker in self._workers:
            worker.wait_ready()

    def _spawn(self, index: int) -> _Worker:
        return _Worker(index, self._log_dir, self._setup)

    def submit(self, trial: Trial) -> None:
        index = next(i for i, w in enumerate(self._workers) if w.trial is None)
        worker = self._ready(index)
        message = {
            "number": trial.number,
            "storage_id": trial.storage_id,
            "token": trial.token,
            "retry_of": trial.retry_of,
            "hps": trial.hyperparameters,
            "attrs": dict(trial.attrs),
            "objective_name": trial._objective_name,
        }
        limit = self.max_trials_per_worker
        last = limit is not None and worker.trials_run + 1 >= limit
        worker.send_trial(_dumps(message), last)
        worker.trial = trial
        if last:  # its successor starts now, while this trial runs
            self._next[index] = self._spawn(index)

    def _ready(self, index: int) -> _Worker:
        """Slot ``index``'s worker, replaced by a fresh one when it has run its last trial or
        died; the one it replaces has exited before the fresh one gets a trial."""
        worker = self._workers[index]
        if not worker.last and worker.proc.poll() is None:
            return worker
        worker.close(kill=False)  # it exits (its lifeline is closed): its memory is free
        fresh = self._next.pop(index, None) or self._spawn(index)
        self._workers[index] = fresh
        fresh.wait_ready()
        return fresh

    def wait_one(self) -> tuple[Trial, Run]:
        busy = {w.results: w for w in self._workers if w.trial is not None}
        ready = wait(list(busy))
        worker = busy[ready[0]]  # type: ignore[index]
        trial = worker.trial
        assert trial is not None
        worker.trial = None
        try:
            outcome = pickle.loads(worker.results.recv_bytes())
        except (EOFError, OSError):
            outcome = Outcome.lost(self._death(worker, trial, worker.proc.wait()))
            worker.last = True
        if isinstance(outcome.error, OutOfMemoryError):
            worker.last = True  # what it holds now may not be given back: a fresh one follows
        if worker.last:
            worker.hang_up()  # it exits now; the next submit to its slot waits for that
            if worker.index not in self._next:
                self._next[worker.index] = self._spawn(worker.index)
        return trial, replayer(outcome, self._finish)

    def _death(self, worker: _Worker, trial: Trial, code: int) -> str:
        """The stored reason of a trial whose worker process died with exit status ``code``."""
        log = os.path.join(self._log_dir, f"trial_{trial.number:04d}.log")
        what = f"The worker process (pid {worker.proc.pid}) running trial {trial.number} died"
        before, after = worker.oom_kills_before, oom_kill_count()
        if code == -signal.SIGKILL and before is not None and after is not None and after > before:
            how = (
                "out of memory: the kernel's OOM killer killed it (the memory cgroup's "
                f"oom_kill count rose from {before} to {after} while the trial ran)"
            )
        elif code == -signal.SIGKILL:
            how = (
                "killed by signal 9 (SIGKILL): probably out of memory, as the kernel's OOM "
                "killer ends processes so (a `kill -9` does too; `dmesg` or `journalctl -k` "
                "says whether it was the OOM killer)"
            )
        elif code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = "unknown signal"
            how = f"killed by signal {-code} ({name})"
        else:
            how = f"it exited with code {code} before it answered (a crash in native code?)"
        return f"{what}, {how}; its output is in {log}."

    def shutdown(self) -> None:
        for worker in self._workers:
            worker.close(kill=worker.trial is not None)
        for worker in self._next.values():
            worker.close(kill=True)  # started for a trial that will not come
        self._workers = []
        self._next = {}
