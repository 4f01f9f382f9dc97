"""Running k trials at once: worker processes on this machine (``n_jobs``), or Ray (``executor``).

``study.optimize(fn, n_jobs=k)`` forks k worker processes. Each is an independent worker on
the study's storage (a SQLite file or a database server): it reserves trial numbers and
``max_trials`` slots atomically in the storage, sees the others' trials (RUNNING ones reach
the sampler as pending) and fails the trials of dead workers (see :mod:`._workers`). The
parent waits, then re-runs whatever a worker that died left behind. Each trial's stdout and
stderr (Python and C level) go to ``<directory>/<project_name>/trial_logs/trial_<n>.log``;
the console gets one line per finished trial, prefixed with the worker (``[w2]``).

Restrictions of ``fork``: ``fn`` and callbacks run in the worker processes (a callback's
side effects stay there); TensorFlow, JAX and CUDA are not fork-safe once initialised, so
such objectives should import and build their models inside ``fn`` (or use Ray, whose
workers are fresh processes). In-memory storage cannot be shared by processes.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import multiprocessing.connection
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from ..errors import FatalError, TooManyFailedTrialsError
from ._opening import worker_id

if TYPE_CHECKING:
    from ._study import Study


def resolve(study: Study, n_jobs: int, executor: Any) -> Any:
    """The runner for ``n_jobs``/``executor``, or None for the plain in-process loop."""
    if executor is not None:
        if n_jobs != 1:
            raise ValueError(
                f"Pass n_jobs={n_jobs!r} or executor={executor!r}, not both; a Ray executor "
                "sets its own concurrency (RayExecutor(max_concurrent=...))."
            )
        from ._ray import RayExecutor

        if isinstance(executor, str):
            if executor != "ray":
                raise ValueError(
                    f"executor={executor!r} is not known; use executor='ray' or "
                    "executor=tunewise.engine.RayExecutor(num_cpus=..., num_gpus=..., address=...)."
                )
            return RayExecutor()
        if not isinstance(executor, RayExecutor):
            raise TypeError(
                f"executor must be 'ray' or a tunewise.engine.RayExecutor, got "
                f"{type(executor).__name__}."
            )
        return executor
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(
            f"n_jobs={n_jobs!r} must be a positive number of worker processes, or -1 for one "
            "per CPU."
        )
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if n_jobs == 1:
        return None
    if not study.storage.shared:
        raise ValueError(
            f"n_jobs={n_jobs} runs trials in {n_jobs} processes, which cannot share "
            "storage='memory' (it lives in one process). Use a storage every process can open: "
            "storage=None (the SQLite file under directory/project_name) or a database URL "
            "such as storage='postgresql://user@host/db'."
        )
    if "fork" not in multiprocessing.get_all_start_methods():
        raise RuntimeError(
            f"n_jobs={n_jobs} needs the 'fork' start method, which this platform lacks; start "
            "several processes of your script on the same storage instead (they cooperate), "
            "or use executor='ray'."
        )
    return ProcessWorkers(n_jobs)


class ProcessWorkers:
    """``n_jobs`` forked worker processes on the study's storage."""

    def __init__(self, n_jobs: int) -> None:
        self.n_jobs = n_jobs

    def run(
        self,
        study: Study,
        fn: Callable[..., Any],
        call: Callable[..., Any],
        max_trials: int | None,
        timeout: float | None,
        started: float,
        callbacks: Sequence[Callable[..., None]],
    ) -> str:
        log_dir = os.path.join(study.directory, study.project_name, "trial_logs")
        os.makedirs(log_dir, exist_ok=True)
        if "tensorflow" in sys.modules or "jax" in sys.modules:
            study.reporter.warn(
                "n_jobs forks this process, and TensorFlow/JAX are loaded: they are not "
                "fork-safe once they have run anything, so build models only inside the "
                "objective (or use executor='ray')."
            )
        sys.stdout.flush()
        sys.stderr.flush()
        context = multiprocessing.get_context("fork")
        results = context.SimpleQueue()
        args = (call, max_trials, timeout, started, callbacks, log_dir, results)
        procs = [
            context.Process(target=_worker_main, args=(study, k, *args), name=f"tunewise-w{k}")
            for k in range(self.n_jobs)
        ]
        try:
            for p in procs:
                p.start()
            running = list(procs)
            while running:  # reap each worker as it ends, so the others see a dead one's pid go
                ready = multiprocessing.connection.wait([p.sentinel for p in running])
                for p in [p for p in running if p.sentinel in ready]:
                    p.join()
                    running.remove(p)
        except BaseException:
            for p in procs:
                if p.is_alive():
                    p.terminate()
            for p in procs:
                p.join(timeout=10)
            raise
        outcomes = []
        while not results.empty():  # every worker has ended: what they sent is all there
            outcomes.append(results.get())
        with study._lock:
            study._sync(force=True)  # every trial the workers ran; dead workers' trials failed
        for p in procs:
            if p.exitcode != 0:
                study.reporter.warn(
                    f"Worker {p.name} (pid {p.pid}) ended with exit code {p.exitcode}; its "
                    "unfinished trial is failed and re-run."
                )
        for kind, stopped, text in outcomes:
            if kind == "fatal":
                raise FatalError(f"A worker process stopped the search:\n{text}")
            if kind == "too_many_failures":
                raise TooManyFailedTrialsError(text)
            if kind == "error":
                raise RuntimeError(f"A worker process failed:\n{text}")
        reasons = [stopped for _kind, stopped, _text in outcomes]
        if study._reruns or (len(outcomes) < len(procs) and "timeout" not in reasons):
            # Workers died: finish their share here, in this process.
            return study._loop(call, max_trials, timeout, started, callbacks)
        for reason in ("timeout", "exhausted", "max_trials"):
            if reason in reasons:
                return reason
        return "max_trials"


def _worker_main(
    study: Study,
    index: int,
    call: Callable[..., Any],
    max_trials: int | None,
    timeout: float | None,
    started: float,
    callbacks: Sequence[Callable[..., None]],
    log_dir: str,
    results: Any,
) -> None:
    """The body of worker ``index``: a fresh identity and connections, then the search loop."""
    engine = getattr(study.storage, "engine", None)
    if engine is not None:
        engine.dispose(close=False)  # the parent's pooled connections are not ours to use
    study.worker = worker_id()
    study._heartbeat = None
    study._running.clear()
    study._rng_salt = (index,) if index else ()
    console = _Prefixed(os.fdopen(os.dup(1), "w", buffering=1), f"[w{index}] ")
    study.reporter.stream = console
    logged = _logged_call(call, log_dir)
    try:
        study._ensure_heartbeat()
        stopped = study._loop(logged, max_trials, timeout, started, callbacks)
        results.put(("ok", stopped, ""))
    except FatalError:
        results.put(("fatal", "fatal_error", _tail(traceback.format_exc())))
    except TooManyFailedTrialsError as exc:
        results.put(("too_many_failures", "too_many_failures", _tail(str(exc))))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        results.put(("error", "error", _tail(traceback.format_exc())))
    finally:
        study._stop_heartbeat()
        console.flush()


def _tail(text: str, limit: int = 16_000) -> str:
    """At most ``limit`` characters (the end), so a message never fills the result pipe."""
    return text if len(text) <= limit else "...\n" + text[-limit:]


def _logged_call(call: Callable[..., Any], log_dir: str) -> Callable[..., Any]:
    def logged(hp: Any, trial: Any) -> Any:
        path = os.path.join(log_dir, f"trial_{trial.number:04d}.log")
        with _redirected(path):
            return call(hp, trial)

    return logged


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


class _Prefixed(io.TextIOBase):
    """A text stream that starts every line with ``prefix``."""

    def __init__(self, stream: IO[str], prefix: str) -> None:
        self._stream, self._prefix, self._at_line_start = stream, prefix, True

    def write(self, text: str) -> int:
        out = []
        for piece in text.splitlines(keepends=True):
            if self._at_line_start:
                out.append(self._prefix)
            out.append(piece)
            self._at_line_start = piece.endswith("\n")
        self._stream.write("".join(out))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False
