"""What the progress display shows, as plain data, and how it is written as text.

:class:`Progress` is a snapshot of a running search; :func:`render_bar` draws it as a one-line
bar for a terminal and :func:`render_fields` as plain text for logs. Both are pure: the
console reporter decides where and when to write them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """A snapshot of a search.

    ``done`` counts the study's finished trials toward ``total`` (``max_trials``; None for no
    limit; a trial and its re-runs count once), including those stored before this run; ``done_this_run`` only those this ``optimize`` call
    finished, in ``elapsed_s - since_last_s`` seconds (the rate the ETA extrapolates);
    ``since_last_s`` is the time since the last of them finished (the trial running now has
    been going that long). ``running`` is the number of trials in progress in this process;
    ``best`` the best score so far (None before a trial completes); ``timeout_s`` the run's
    timeout, if any.
    """

    done: int
    total: int | None
    done_this_run: int
    elapsed_s: float
    best: float | None = None
    running: int = 0
    timeout_s: float | None = None
    since_last_s: float = 0.0

    @property
    def fraction(self) -> float | None:
        """Share of ``total`` done, in [0, 1]; None without a trial limit."""
        if not self.total:
            return None
        return min(1.0, max(0.0, self.done / self.total))

    @property
    def eta_s(self) -> float | None:
        """Seconds left, capped by the time left before the timeout.

        With ``m`` the mean time of this run's finished trials and ``k`` trials left, the
        trial under way is taken to need ``m`` minus the ``since_last_s`` it has run (at least
        nothing more), the ``k - 1`` others ``m`` each. None until one trial of this run has
        finished (or with neither a trial limit nor a timeout).
        """
        left_by_timeout = (
            max(0.0, self.timeout_s - self.elapsed_s) if self.timeout_s is not None else None
        )
        if self.total is not None and self.done_this_run > 0:
            per_trial = max(0.0, self.elapsed_s - self.since_last_s) / self.done_this_run
            left = max(0, self.total - self.done)
            eta = 0.0 if left == 0 else per_trial * (left - 1) + max(
                0.0, per_trial - self.since_last_s
            )
            return eta if left_by_timeout is None else min(eta, left_by_timeout)
        return left_by_timeout


def format_duration(seconds: float | None) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` above; ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    total = round(max(0.0, seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _format_score(value: float | None) -> str:
    return "none yet" if value is None else f"{value:.6g}"


def render_fields(p: Progress, best: bool = True) -> str:
    """The plain-text form: ``3/10 trials, 0:12 elapsed, ETA 0:28, best 0.42, 1 running``
    (without the best with ``best=False``, for lines that show it already)."""
    of = f"/{p.total}" if p.total else ""
    best_text = f"best {_format_score(p.best)}, " if best else ""
    return (
        f"{p.done}{of} trials, {format_duration(p.elapsed_s)} elapsed, "
        f"ETA {format_duration(p.eta_s)}, {best_text}{p.running} running"
    )


def render_bar(p: Progress, width: int = 80, unicode: bool = True) -> str:
    """The terminal form, at most ``width`` characters:
    ``[██████░░░░░░]  30% 3/10 trials | 0:12 elapsed | ETA 0:28 | best 0.42 | 1 running``.

    Without a trial limit the bar is left out. Fields are dropped from the right, then the bar
    is shortened, so that the line fits ``width``.
    """
    full, empty = ("█", "░") if unicode else ("#", "-")
    of = f"/{p.total}" if p.total else ""
    fields = [
        f"{p.done}{of} trials",
        f"{format_duration(p.elapsed_s)} elapsed",
        f"ETA {format_duration(p.eta_s)}",
        f"best {_format_score(p.best)}",
        f"{p.running} running",
    ]
    fraction = p.fraction
    while True:
        text = " | ".join(fields)
        if fraction is None:
            line = text
        else:
            room = width - len(text) - 8  # "[" + "] " + "100% " + a space
            bar_width = min(30, room)
            if bar_width >= 5:
                filled = round(fraction * bar_width)
                bar = full * filled + empty * (bar_width - filled)
                line = f"[{bar}] {fraction * 100:3.0f}% {text}"
            else:
                line = f"{fraction * 100:3.0f}% {text}"
        if len(line) <= width or len(fields) == 1:
            return line[:width]
        fields.pop()
