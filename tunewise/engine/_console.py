"""The console reporter: the only place the library prints.

``verbose=0`` prints nothing; ``verbose>=1`` prints notes (resume, changes), one line per
finished trial with its score and the best so far, and a closing summary. Everything printed
is also logged through ``logging`` (logger ``tunewise``).
"""

from __future__ import annotations

import logging
import sys
from typing import IO, TYPE_CHECKING, Any

from ..trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from ..objective import MultiObjective, Objective

logger = logging.getLogger("tunewise")


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_values(values: dict[str, Any], limit: int = 8) -> str:
    items = [f"{k}={format_value(v)}" for k, v in values.items()]
    if len(items) > limit:
        items = items[:limit] + [f"... (+{len(items) - limit})"]
    return ", ".join(items) or "(no hyperparameters)"


def first_line(text: str | None) -> str:
    if not text:
        return ""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


class ConsoleReporter:
    """Prints a search's progress; ``verbose=0`` silences it."""

    def __init__(self, verbose: int = 1, stream: IO[str] | None = None) -> None:
        self.verbose = int(verbose)
        self.stream = stream

    @property
    def enabled(self) -> bool:
        """Whether a line would be printed or logged (skip formatting work otherwise)."""
        return self.verbose > 0 or logger.isEnabledFor(logging.INFO)

    def _emit(self, line: str, level: int = logging.INFO) -> None:
        logger.log(level, line)
        if self.verbose > 0:
            print(line, file=self.stream or sys.stdout, flush=True)

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
        objective: "Objective | MultiObjective",
        retry_note: str = "",
    ) -> None:
        of = f"/{max_trials}" if max_trials else ""
        head = f"Trial {slot}{of} (#{trial.number}) {trial.state.value}"
        if trial.state is TrialState.COMPLETED:
            step = f" at step {trial.best_step}" if trial.best_step is not None else ""
            body = f"{objective.name}={format_value(trial.score)}{step}"
        else:
            body = first_line(trial.reason)
        best_text = (
            f"best {format_value(best.score)} (trial #{best.number})" if best else "best: none yet"
        )
        took = f"{trial.duration:.2f}s" if trial.duration is not None else ""
        line = f"{head}: {body} | {best_text} | {took} | {format_values(trial.values)}{retry_note}"
        level = logging.WARNING if trial.state is TrialState.FAILED else logging.INFO
        self._emit(line, level)

    def search_finished(
        self,
        ran: list[FrozenTrial],
        seconds: float,
        best: FrozenTrial | None,
        objective: "Objective | MultiObjective",
    ) -> None:
        counts = {s: sum(t.state is s for t in ran) for s in TrialState}
        detail = ", ".join(f"{n} {s.value.lower()}" for s, n in counts.items() if n) or "none"
        best_text = (
            f"best {objective.name}={format_value(best.score)} (trial #{best.number}): "
            f"{format_values(best.values)}"
            if best
            else "no trial has completed yet"
        )
        self._emit(f"Search done: {len(ran)} trials run ({detail}) in {seconds:.1f}s; {best_text}.")
