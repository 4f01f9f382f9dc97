"""``n_jobs=k``: trials run in k worker processes on this machine.

The workers are fresh interpreters (``python -c ...``, not forks): safe with TensorFlow, JAX
and CUDA, and the same on Linux and macOS. They never re-import the caller's script: the
objective travels pickled by value where it must (cloudpickle), with the caller's
``sys.path``. The search loop stays in the calling process (see :mod:`._loop`): it asks for
each trial, sends it to an idle worker, and finishes it when the worker answers. A worker
stores the steps its trial reports as they come (so curves, the dashboard and pruning see
them live), with the trial's ownership token; the loop's process sends the heartbeats.

Each trial's stdout and stderr (Python and C level) go to
``<directory>/<project_name>/trial_logs/trial_<n>.log``. Workers ignore Ctrl-C (the loop's
process handles it for all) and end when the loop's process ends, even by ``kill -9``: each
holds the read end of a pipe whose only writer is the parent, and exits when it closes (on
Linux the kernel also kills it when the parent dies). Workers run in sessions of their own, so a
terminal's Ctrl-C reaches only the parent.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from ._executors import Executor, Run
from ._remote import Outcome, replayer, split_objective

if TYPE_CHECKING:
    from ..trial import Trial
    from ._study import Study

#: Seconds a worker gets to exit on shutdown before it is killed.
SHUTDOWN_GRACE_S = 5.0


def _dumps(obj: Any) -> bytes:
    import cloudpickle

    return cloudpickle.dumps(obj)


class _Worker:
    """One worker process and the pipes to it."""

    def __init__(self, index: int, log_dir: str) -> None:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        life_r, life_w = os.pipe()
        code = "from tunewise.engine._process_worker import main; main()"
        argv = [sys.executable, "-c", code, str(task_r), str(result_w), str(life_r), log_dir]
        # A session of its own: a terminal's Ctrl-C reaches only the loop's process, which
        # stops the workers itself.
        self.proc = subprocess.Popen(
            argv, pass_fds=(task_r, result_w, life_r), stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        for fd in (task_r, result_w, life_r):
            os.close(fd)
        self.index = index
        self.tasks = Connection(task_w, readable=False)
        self.results = Connection(result_r, writable=False)
        self._lifeline = life_w  # never written: its closing tells the worker to exit
        self.trial: Trial | None = None

    def send_setup(self, setup: bytes) -> None:
        """The caller's ``sys.path`` and folder, then the search's context."""
        self.tasks.send_bytes(pickle.dumps((list(sys.path), os.getcwd())))
        self.tasks.send_bytes(setup)

    def wait_ready(self) -> None:
        """Block until the worker has loaded the search's context; raise what it could not."""
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

    def close(self, kill: bool) -> None:
        if kill and self.proc.poll() is None:
            self.proc.kill()
        for conn in (self.tasks, self.results):
            try:
                conn.close()
            except OSError:
                pass
        try:
            os.close(self._lifeline)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=SHUTDOWN_GRACE_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ProcessExecutor(Executor):
    """``n_jobs`` worker processes, started when a search starts and ended when it ends."""

    def __init__(self, n_jobs: int) -> None:
        self.n_jobs = int(n_jobs)
        self._workers: list[_Worker] = []
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
                f"n_jobs={self.n_jobs} runs trials in {self.n_jobs} processes, which cannot "
                "share storage='memory' (it lives in one process). Use a storage every process "
                "can open: storage=None (the SQLite file under directory/project_name) or a "
                "database URL such as storage='postgresql://user@host/db'."
            )

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
                f"n_jobs runs the objective in worker processes, but it cannot be pickled "
                f"({type(exc).__name__}: {exc}). Define it at module level or as a closure over "
                "plain data, and open heavy resources inside it."
            ) from None
        sys.stdout.flush()
        sys.stderr.flush()
        # All start at once (each boots while the others get their context), then all load it.
        self._workers = [_Worker(k, self._log_dir) for k in range(self.n_jobs)]
        for worker in self._workers:
            worker.send_setup(self._setup)
        for worker in self._workers:
            worker.wait_ready()

    def submit(self, trial: Trial) -> None:
        worker = next(w for w in self._workers if w.trial is None)
        if worker.proc.poll() is not None:  # it died while idle: a fresh one takes the trial
            worker = self._replace(worker)
        message = {
            "number": trial.number,
            "storage_id": trial.storage_id,
            "token": trial.token,
            "retry_of": trial.retry_of,
            "hps": trial.hyperparameters,
            "attrs": dict(trial.attrs),
            "objective_name": trial._objective_name,
        }
        try:
            worker.tasks.send_bytes(_dumps(message))
        except (BrokenPipeError, OSError):
            pass  # the worker died: wait_one hands the trial back as lost
        worker.trial = trial

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
            code = worker.proc.wait()
            outcome = Outcome.lost(
                f"The worker process (pid {worker.proc.pid}) running trial {trial.number} died "
                f"(exit code {code}: killed, out of memory, or a crash in native code); its "
                f"output is in {os.path.join(self._log_dir, f'trial_{trial.number:04d}.log')}."
            )
            self._replace(worker)
        return trial, replayer(outcome, self._finish)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.close(kill=True)
        fresh = _Worker(worker.index, self._log_dir)
        self._workers[self._workers.index(worker)] = fresh
        fresh.send_setup(self._setup)
        fresh.wait_ready()
        return fresh

    def shutdown(self) -> None:
        for worker in self._workers:
            worker.close(kill=worker.trial is not None)
        self._workers = []
