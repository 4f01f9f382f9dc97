"""The body of one ``n_jobs`` worker process (see :mod:`._processes`).

Started as ``python -c "...main()" TASK_FD RESULT_FD LIFE_FD LOG_DIR``. It reads the caller's
``sys.path`` and working directory, then the search's context (storage, study, pruner, the
objective), then one trial at a time; it runs each, storing its steps with the trial's token,
and sends back its :class:`~._remote.Outcome` (an out-of-memory error as
:class:`~._oom.OutOfMemoryError`, after which the parent ends it). It runs trials until the
parent closes ``TASK_FD`` (after the last one it may run, see ``max_trials_per_worker``).
It ignores Ctrl-C and exits as soon as the pipe ``LIFE_FD`` closes, which happens when the
parent ends, however it ends (and when the parent is done with it).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from ._oom import OutOfMemoryError, is_out_of_memory, out_of_memory_message

#: Linux's prctl option that sends a signal to this process when its parent dies.
_PR_SET_PDEATHSIG = 1


def _die_with_parent(life_fd: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except Exception:  # noqa: BLE001, S110 - the lifeline below covers every platform
            pass

    def watch() -> None:
        try:
            while os.read(life_fd, 1):
                pass
        except OSError:
            pass
        os._exit(0)  # the parent is gone: nobody will read what this worker does

    threading.Thread(target=watch, name="tunewise-lifeline", daemon=True).start()


@contextlib.contextmanager
def _redirected(path: str) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2) to ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    streams = sys.stdout, sys.stderr
    with open(path, "a", buffering=1) as log:
        os.dup2(log.fileno(), 1)  # C-level output (libraries, subprocesses)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log  # Python-level output, even if sys.stdout was replaced
        try:
            yield
        finally:
            log.flush()
            sys.stdout, sys.stderr = streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


class _OutOfMemoryWatch:
    """``call(hp, trial)`` that notes an out-of-memory error it raises (in :attr:`oom`).

    The engine's own signals (pruned, failed without retry, fatal, lost ownership) keep their
    meaning whatever their message says."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.oom: BaseException | None = None

    def __call__(self, hp: Any, trial: Any) -> Any:
        from ..errors import FailedTrialError, FatalError, TrialNotOwnedError, TrialPruned

        try:
            return self.call(hp, trial)
        except (TrialPruned, FailedTrialError, FatalError, TrialNotOwnedError):
            raise
        except Exception as exc:
            if is_out_of_memory(exc):
                self.oom = exc
            raise


class _TrialRunner:
    """Runs the trials the parent sends, against the study's storage."""

    def __init__(self, context: dict[str, Any], log_dir: str) -> None:
        from ._cache import TrialCache

        self.storage = context["storage"]
        self.pruner = context["pruner"]
        self.call = context["call"]
        self.log_dir = log_dir
        self.cache = TrialCache(self.storage, context["study_id"], context["sign"])

    def run(self, message: dict[str, Any]) -> Any:
        from ..trial import Trial
        from ._remote import run_remote_trial

        storage_id, token = message["storage_id"], message["token"]

        def store(trial: Trial, step: Any) -> None:
            self.storage.add_step(storage_id, step, token)

        trial = Trial(
            message["number"],
            message["hps"],
            message["objective_name"],
            store,
            retry_of=message["retry_of"],
            storage_id=storage_id,
            ask_pruner=self._verdict if self.pruner is not None else None,
            token=token,
        )
        trial.attrs.update(message["attrs"])
        path = os.path.join(self.log_dir, f"trial_{trial.number:04d}.log")
        call = _OutOfMemoryWatch(self.call)
        with _redirected(path):
            outcome = run_remote_trial(call, trial, steps_stored=True)
        if call.oom is not None:  # told as such: the executor ends this process after it
            outcome.error = OutOfMemoryError(
                out_of_memory_message(trial.number, call.oom, os.getpid(), outcome.error_text)
            )
            outcome.error_text = str(outcome.error)
        return outcome

    def _verdict(self, trial: Any) -> bool:
        """The pruner on the study's finished trials as stored now (one incremental read)."""
        from ..schedulers._pruners import verdict

        self.cache.refresh()
        others = [t for t in self.cache.trials if t.state.is_finished and t.number != trial.number]
        return verdict(self.pruner, trial.steps, others)


def _send(results: Connection, outcome: Any) -> None:
    import cloudpickle

    try:
        data = cloudpickle.dumps(outcome)
    except Exception as exc:  # noqa: BLE001 - a result that cannot travel fails its trial
        from ._remote import Outcome, RemoteTrialError

        text = f"The trial's result could not be sent back ({type(exc).__name__}: {exc})."
        data = cloudpickle.dumps(
            Outcome(None, outcome.steps, outcome.attrs, None, RemoteTrialError(text), text, True)
        )
    results.send_bytes(data)


def main() -> None:
    task_fd, result_fd, life_fd = (int(a) for a in sys.argv[1:4])
    log_dir = sys.argv[4]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C for everyone
    _die_with_parent(life_fd)
    tasks = Connection(task_fd, writable=False)
    results = Connection(result_fd, readable=False)
    sys_path, cwd = pickle.loads(tasks.recv_bytes())
    sys.path[:0] = [p for p in sys_path if p not in sys.path]
    os.chdir(cwd)
    try:
        runner = _TrialRunner(pickle.loads(tasks.recv_bytes()), log_dir)
    except BaseException:  # noqa: BLE001 - told to the parent, which raises it with the fix
        import traceback

        results.send_bytes(pickle.dumps(("error", traceback.format_exc())))
        return
    results.send_bytes(pickle.dumps(("ready", "")))
    while True:
        try:
            message = pickle.loads(tasks.recv_bytes())
        except EOFError:  # the parent sends no more trials: end now, skipping the seconds a
            sys.stdout.flush()  # library's interpreter teardown can take (TensorFlow's)
            sys.stderr.flush()
            os._exit(0)
        _send(results, runner.run(message))
