"""The console reporter: the only place the library prints.

``verbose=0`` prints nothing; ``verbose>=1`` prints notes (resume, changes), one line per
finished trial with its score and the best so far, and a closing summary; with
``announce_starts`` also one line as each trial starts, with its hyperparameters. Everything
printed is also logged through ``logging`` (logger ``tunewise``).

``Trial k/N`` in these lines is the trial's place among the study's trials (the k-th started
of ``max_trials``; a re-run keeps the place of the trial it re-runs), so a trial's start and
end lines say the same k whatever order trials finish in (``n_jobs``, Ray); the progress
fields count the trials finished and those running in this process.

Progress (``progress="auto"``): on a terminal a live bar (trials finished of ``max_trials``,
elapsed time, ETA, best so far, running trials) is redrawn every second and whenever a trial
starts or ends, with the trials' lines printed above it. When the reporter prints to
``sys.stdout`` (the default) the terminal is shared (:mod:`._terminal`): the bar stays on the
row below what the process prints, so Keras's epoch lines and ``print`` output appear above it,
whole, while the bar stays live. With another stream the bar stays on the last line; when
other code writes to that terminal during a trial (``foreign_output=True``) the bar is then
printed once as each trial starts, above that output, and never redrawn over it. When the
output is not a terminal (CI logs, files, notebooks, ``TERM=dumb``) there is no bar and no
control character: each trial's line ends with the same progress fields instead.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import weakref
from typing import IO, TYPE_CHECKING, Any

from ..trial import FrozenTrial, TrialState
from ._progress import Progress, render_bar, render_fields
from ._terminal import SharedTerminal, _StreamProxy

#: Seconds between redraws of the live bar while a trial runs.
REDRAW_INTERVAL_S = 1.0
_CLEAR_LINE = "\r\x1b[2K"
_PROGRESS_MODES = ("auto", "bar", "lines", "off")

if TYPE_CHECKING:
    from ..objective import MultiObjective, Objective
    from ..trial import Trial

logger = logging.getLogger("tunewise")


def _call(ref: weakref.ref[ConsoleReporter], method: str) -> None:
    reporter = ref()
    if reporter is not None:
        getattr(reporter, method)()


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_values(values: dict[str, Any], limit: int = 8) -> str:
    items = [f"{k}={format_value(v)}" for k, v in values.items()]
    if len(items) > limit:
        items = items[:limit] + [f"... (+{len(items) - limit})"]
    return ", ".join(items) or "(no hyperparameters)"


def _trial_value(trial: FrozenTrial, objective: Any) -> str:
    """``name=score``, or for a Pareto study each objective's value at the trial's step."""
    names = getattr(objective, "names", ())
    if trial.score is None and len(names) > 1:
        step = next((s for s in trial.steps if s.step == trial.best_step), None)
        if step is not None:
            return ", ".join(f"{n}={format_value(step.metrics.get(n))}" for n in names)
    return f"{objective.name}={format_value(trial.score)}"


def _infeasible_text(trial: FrozenTrial) -> str:
    from ..pareto import constraint_values, feasibility

    if feasibility(trial) is not False:
        return ""
    values = constraint_values(trial) or {}
    broken = [f"{k}={format_value(v)}" for k, v in values.items() if not v <= 0.0]
    return f" (infeasible: {', '.join(broken)})" if broken else " (infeasible)"


def first_line(text: str | None) -> str:
    if not text:
        return ""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


class ConsoleReporter:
    """Prints a search's progress; ``verbose=0`` silences it.

    Args:
        verbose: 0 silent, 1 notes, one line per trial, progress.
        stream: where to print (default: ``sys.stdout`` at the time of printing).
        progress: ``"auto"`` (a live bar on a terminal, progress fields in each trial's line
            otherwise), ``"bar"``, ``"lines"`` or ``"off"`` (trial lines without progress).
    """

    def __init__(
        self, verbose: int = 1, stream: IO[str] | None = None, progress: str = "auto"
    ) -> None:
        if progress not in _PROGRESS_MODES:
            raise ValueError(f"progress={progress!r} is not one of {_PROGRESS_MODES}.")
        self.verbose = int(verbose)
        self.stream = stream
        self.progress = progress
        self.foreign_output = False
        """True while other code (Keras's epoch output) writes to the terminal during trials."""
        self.announce_starts = False
        """Print a line, with the hyperparameters, as each trial starts (long trials)."""
        self._lock = threading.RLock()
        self._bar_shown = False
        self._terminal: SharedTerminal | None = None  # the shared sys.stdout during a search
        self._run: dict[str, Any] | None = None
        self._ticker: threading.Thread | None = None
        self._stop_ticker = threading.Event()
        self._suspended = False  # no bar drawn until the next search (a fork: the child may print)
        if hasattr(os, "register_at_fork"):
            ref = weakref.ref(self)
            os.register_at_fork(
                before=lambda: _call(ref, "_before_fork"),
                after_in_child=lambda: _call(ref, "_after_fork_in_child"),
            )

    def _before_fork(self) -> None:
        """This process forks (user code): the child may print, so stop the bar for this search
        (the streams are given back first, so the child starts with the real ones)."""
        if self._ticker is not None or self._bar_shown or self._terminal is not None:
            self._stop_ticker.set()
            ticker, self._ticker = self._ticker, None
            if ticker is not None and ticker is not threading.current_thread():
                ticker.join(timeout=5)
            with self._lock:
                self._clear_bar()
                self._release_terminal()
                self._suspended = True

    def _after_fork_in_child(self) -> None:
        self._lock = threading.RLock()  # another thread may have held it at the fork
        self._ticker = None
        self._bar_shown = False
        self._terminal = None
        self._suspended = True

    # ------------------------------------------------------------------ where and how
    @property
    def _out(self) -> IO[str]:
        return self.stream or sys.stdout

    def _mode(self) -> str:
        """``bar``, ``lines`` or ``off`` for the current stream."""
        if self.progress != "auto":
            return self.progress
        if os.environ.get("TERM") == "dumb":  # no cursor control (Emacs' shell, some CIs)
            return "lines"
        isatty = getattr(self._out, "isatty", None)
        try:
            return "bar" if isatty is not None and isatty() else "lines"
        except ValueError:  # a closed stream
            return "lines"

    def _unicode(self) -> bool:
        encoding = (getattr(self._out, "encoding", None) or "").lower().replace("-", "")
        return encoding in ("utf8", "utf_8")

    def snapshot(self) -> Progress | None:
        """The progress of the search in this process, or None outside ``optimize``."""
        run = self._run
        if run is None:
            return None
        now = time.monotonic()
        return Progress(
            done=run["done"],
            total=run["total"],
            done_this_run=run["done_this_run"],
            elapsed_s=now - run["started"],
            best=run["best"],
            running=len(run["running"]),
            timeout_s=run["timeout"],
            since_last_s=now - run["last_finish"],
        )

    def _status_line(self, width: int) -> str:
        """The bar as the shared terminal draws it, at most ``width`` characters."""
        p = self.snapshot()
        return "" if p is None else render_bar(p, width, self._unicode())

    def _share_terminal(self) -> None:
        """Share ``sys.stdout`` with the bar when the reporter prints there (a terminal)."""
        if self.stream is not None and self.stream is not sys.stdout:
            return  # another stream: the bar stays on its last line
        if isinstance(sys.stdout, _StreamProxy):
            return  # a search inside a search's trial: the outer one holds the terminal
        self._terminal = SharedTerminal(sys.stdout, self._status_line)
        self._terminal.install()

    def _release_terminal(self) -> None:
        terminal, self._terminal = self._terminal, None
        if terminal is not None:
            terminal.uninstall()

    def _draw_bar(self) -> None:
        """Redraw the bar (terminal mode only); caller holds the lock."""
        if self._terminal is not None:
            self._terminal.refresh()
            return
        p = self.snapshot()
        if p is None or self.verbose <= 0 or self._suspended or self._mode() != "bar":
            return
        import shutil

        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        self._out.write(_CLEAR_LINE + render_bar(p, width, self._unicode()))
        self._out.flush()
        self._bar_shown = True

    def _clear_bar(self) -> None:
        if self._bar_shown:
            self._out.write(_CLEAR_LINE)
            self._out.flush()
            self._bar_shown = False

    def _tick(self) -> None:
        while not self._stop_ticker.wait(REDRAW_INTERVAL_S):
            with self._lock:
                run = self._run
                if run is None:
                    return
                if self.foreign_output and self._terminal is None:
                    continue  # drawn once as each trial starts, never over its output
                self._draw_bar()

    # ------------------------------------------------------------------ search events
    def search_started(
        self,
        max_trials: int | None,
        done: int,
        best: FrozenTrial | None,
        timeout: float | None = None,
    ) -> None:
        """A search begins with ``done`` trials finished (of ``max_trials``)."""
        with self._lock:
            self._suspended = False
            self._run = {
                "total": max_trials,
                "done": done,
                "done_this_run": 0,
                "started": time.monotonic(),
                "last_finish": time.monotonic(),
                "best": best.score if best is not None else None,
                "running": set(),  # numbers of the trials in flight in this process
                "timeout": timeout,
            }
            if self.verbose > 0 and self._mode() == "bar":
                self._share_terminal()  # draws the bar when it shares the terminal
                if self._terminal is None:
                    self._draw_bar()
                self._stop_ticker.clear()
                self._ticker = threading.Thread(
                    target=self._tick, name="tunewise-progress", daemon=True
                )
                self._ticker.start()

    def trial_started(
        self,
        trial: Trial,
        slot: int,
        max_trials: int | None = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        """``trial`` starts in this process as the ``slot``-th trial of the study (of
        ``max_trials``) with ``values`` chosen for it (default: those it holds); with
        ``announce_starts``, its line says so: ``Trial 3/10 (#2) started: units=64, lr=0.001``
        (hyperparameters that the trial's code defines as it runs are not known yet)."""
        line = None
        if self.announce_starts and self.enabled:
            of = f"/{max_trials}" if max_trials else ""
            rerun = f" (re-run of #{trial.retry_of})" if trial.retry_of is not None else ""
            if values is None:
                values = dict(trial.hyperparameters.values)
            shown = f": {format_values(values)}" if values else ""
            line = f"Trial {slot}{of} (#{trial.number}) started{rerun}{shown}"
        with self._lock:
            if self._run is not None:
                self._run["running"].add(trial.number)
                if self._terminal is None or line is None or self.verbose <= 0:
                    self._draw_bar()  # else the line's printing redraws it
                if self.foreign_output and self._bar_shown and self._terminal is None:
                    # The trial prints its own lines (Keras's epochs): leave the bar above them.
                    self._out.write("\n")
                    self._out.flush()
                    self._bar_shown = False
            if line is not None:
                self._emit(line, redraw=not self.foreign_output)

    def trial_lost(self, number: int) -> None:
        """Trial ``number`` left this process unfinished (another worker took it over)."""
        with self._lock:
            if self._run is not None:
                self._run["running"].discard(number)
                self._draw_bar()

    def _stop(self) -> None:
        self._stop_ticker.set()
        ticker, self._ticker = self._ticker, None
        if ticker is not None and ticker is not threading.current_thread():
            ticker.join(timeout=5)
        with self._lock:
            self._clear_bar()
            self._release_terminal()
            self._run = None

    @property
    def enabled(self) -> bool:
        """Whether a line would be printed or logged (skip formatting work otherwise)."""
        return self.verbose > 0 or logger.isEnabledFor(logging.INFO)

    def _emit(self, line: str, level: int = logging.INFO, redraw: bool = True) -> None:
        logger.log(level, line)
        if self.verbose > 0:
            with self._lock:
                if self._terminal is not None:
                    self._terminal.print_line(line)  # above the bar, which stays live
                    return
                self._clear_bar()
                print(line, file=self._out, flush=True)
                if redraw and not (self.foreign_output and self._run and self._run["running"]):
                    self._draw_bar()

    def note(self, line: str) -> None:
        self._emit(line)

    def warn(self, line: str) -> None:
        self._emit(line, logging.WARNING)

    def trial_finished(
        self,
        trial: FrozenTrial,
        slot: int,
        max_trials: int | None,
        best: FrozenTrial | None,
        objective: Objective | MultiObjective,
        retry_note: str = "",
        done: int | None = None,
        front: int | None = None,
    ) -> None:
        """``trial`` finished; ``slot`` is its place among the study's trials (``Trial
        slot/max_trials``), ``done`` the number of the study's trials finished now (re-runs
        aside; default ``slot``); ``front``: the size of a Pareto study's front."""
        of = f"/{max_trials}" if max_trials else ""
        head = f"Trial {slot}{of} (#{trial.number}) {trial.state.value}"
        if trial.state is TrialState.COMPLETED:
            step = f" at step {trial.best_step}" if trial.best_step is not None else ""
            body = f"{_trial_value(trial, objective)}{step}{_infeasible_text(trial)}"
        else:
            body = first_line(trial.reason)
        if front is not None:
            best_text = f"Pareto front: {front} trial{'s' if front != 1 else ''}"
        else:
            best_text = (
                f"best {format_value(best.score)} (trial #{best.number})"
                if best else "best: none yet"
            )
        took = f"{trial.duration:.2f}s" if trial.duration is not None else ""
        line = f"{head}: {body} | {best_text} | {took} | {format_values(trial.values)}{retry_note}"
        with self._lock:
            run = self._run
            if run is not None:
                run["running"].discard(trial.number)
                run["done"] = slot if done is None else done
                run["done_this_run"] += 1
                run["last_finish"] = time.monotonic()
                run["best"] = best.score if best is not None else None
                if self._mode() == "lines":
                    line += f" | {render_fields(self.snapshot(), best=False)}"  # type: ignore[arg-type]
            level = logging.WARNING if trial.state is TrialState.FAILED else logging.INFO
            self._emit(line, level, redraw=not self.foreign_output)

    def search_finished(
        self,
        ran: list[FrozenTrial],
        seconds: float,
        best: FrozenTrial | None,
        objective: Objective | MultiObjective,
        front: int | None = None,
        infeasible: int = 0,
    ) -> None:
        """The closing line; ``front``: a Pareto study's front size, ``infeasible``: the
        completed trials that violate a constraint (named when no trial is feasible)."""
        counts = {s: sum(t.state is s for t in ran) for s in TrialState}
        detail = ", ".join(f"{n} {s.value.lower()}" for s, n in counts.items() if n) or "none"
        if front is not None:
            best_text = f"Pareto front: {front} trial{'s' if front != 1 else ''}"
            if not front and infeasible:
                best_text += f" (each of the {infeasible} completed trials violates a constraint)"
        elif best:
            best_text = (
                f"best {objective.name}={format_value(best.score)} (trial #{best.number}): "
                f"{format_values(best.values)}"
            )
        elif infeasible:
            best_text = (
                f"no feasible trial: each of the {infeasible} completed trials violates a "
                "constraint"
            )
        else:
            best_text = "no trial has completed yet"
        self._stop()
        self._emit(
            f"Search done: {len(ran)} trials run ({detail}) in {seconds:.1f}s; {best_text}.",
            redraw=False,
        )
