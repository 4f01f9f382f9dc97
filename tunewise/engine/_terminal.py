"""One terminal shared by the search's status line and whatever else the process prints.

While a search runs on a terminal, :class:`SharedTerminal` stands in for ``sys.stdout`` (and
for ``sys.stderr`` when that is a terminal too). The cursor stays on the row where the process
prints; the status line lives on the row just below it. What the process writes (Keras's epoch
lines, whose progress bar is rewritten in place with ``\\r``; ``print``; warnings) is passed
through unchanged, so it is never mixed with the status line:

* a write without a newline goes straight through: a line rewritten in place stays on its
  row, the status line below it is untouched;
* a write with a newline first erases the status line, is passed through (finished lines
  scroll up as usual), then a spare row is opened below the cursor's row (``\\n`` then cursor
  up, so that a scroll at the screen's bottom keeps the rows right) and the status line is
  drawn there again;
* the status line is drawn with the cursor saved and restored (``ESC 7``/``ESC 8``), so the
  row being written keeps its cursor, column included.

The text written is followed, not interpreted: :class:`RowTracker` keeps the visible column of
the cursor's row. When a row runs past the terminal's width (it wraps onto the status line's
row) the status line is left alone (neither erased nor redrawn) until the next newline, where
it is drawn below again. Text that moves the cursor itself (escape sequences other than
colours and line erases: another live display) gets the terminal to itself: the status line
is erased before it and not drawn again in this search.

Writes through ``sys.stdout``/``sys.stderr`` are seen, and those of the ``logging`` stream
handlers that write to them (``logging.basicConfig()``'s, created before the search with the
real stream: their stream is switched for the search). Text written to the file descriptors
directly (C++ logging) or through another stream object saved before the search can land on
the status line's row; the next line printed through the streams draws the status line below
again.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import threading
import unicodedata
from collections.abc import Callable
from typing import IO, Any

_SAVE, _RESTORE = "\x1b7", "\x1b8"
_DOWN, _UP = "\x1b[1B", "\x1b[1A"
_ERASE_ROW = "\r\x1b[2K"
#: Final bytes of the control sequences that leave the cursor where it was: colours (``m``)
#: and line erases (``K``).
_HARMLESS_CSI = "mK"
#: A control sequence (group 1: its final byte) or another escape (group 2: its letter).
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*([@-~])|([^\[]))")


def char_width(ch: str) -> int:
    """Columns a printable character takes: 2 for East Asian wide ones, 0 for combining."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


class RowTracker:
    """The visible column of the cursor's row, followed through the text written to it.

    ``\\r`` returns to column 0, ``\\b`` steps back one, ``\\t`` goes to the next multiple of
    8, ``\\n`` starts a blank row; escape sequences take no room (split across writes too).
    ``lost`` is True once, since the last newline, the row ran past ``width`` columns (it
    wrapped onto the next row); ``moved`` once an escape sequence moved the cursor (for good:
    where the rows are is no longer known). Either way the row below the cursor is then not
    known to be the status line's.
    """

    def __init__(self) -> None:
        self.col = 0
        self.blank = True
        """No visible character written since the last newline."""
        self.lost = False
        self.moved = False
        self._escape = ""  # "esc" after ESC, "csi" after ESC [, "osc" after ESC ], "charset"

    def newline(self) -> None:
        self.col, self.blank, self.lost = 0, True, False  # moved stays

    def feed(self, text: str, width: int) -> None:
        for ch in text:
            if self._escape:
                self._escape_char(ch)
            elif ch == "\x1b":
                self._escape = "esc"
            elif ch == "\n":
                self.newline()
            elif ch == "\r":
                self.col = 0
            elif ch == "\b":
                self.col = max(0, self.col - 1)
            elif ch == "\t":
                self.col = self.col // 8 * 8 + 8
            elif ch >= " " and ch != "\x7f":
                self.col += char_width(ch)
                self.blank = False
            if self.col > width:
                self.lost = True

    def _escape_char(self, ch: str) -> None:
        if self._escape == "esc":
            self._escape = {"[": "csi", "]": "osc", "(": "charset", ")": "charset"}.get(ch, "")
            if ch not in "[]()\\":
                self.moved = True  # ESC 7, ESC 8, ESC M...: the cursor may have moved
        elif self._escape == "charset":  # ESC ( B: a character set, one more byte
            self._escape = ""
        elif self._escape == "csi":
            if "\x40" <= ch <= "\x7e":  # the final byte
                self._escape = ""
                if ch not in _HARMLESS_CSI:
                    self.moved = True
        elif ch == "\x07":  # an operating system command ends with BEL or ESC \
            self._escape = ""
        elif ch == "\x1b":
            self._escape = "esc"


def moves_cursor(text: str) -> bool:
    """Whether ``text`` holds an escape sequence that may move the cursor (all but colours,
    ``CSI ... m``, and line erases, ``CSI ... K``)."""
    return any(
        m.group(1) not in _HARMLESS_CSI if m.group(1) else m.group(2) not in "[]()\\"
        for m in _ESCAPES.finditer(text)
    )


def terminal_width(stream: IO[str]) -> int:
    """Columns of the terminal ``stream`` writes to; when it cannot be asked, ``$COLUMNS``
    or 80."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return shutil.get_terminal_size((80, 24)).columns


class _StreamProxy:
    """What ``sys.stdout``/``sys.stderr`` are while the terminal is shared: writes go through
    the :class:`SharedTerminal`; everything else is the real stream's."""

    def __init__(self, terminal: SharedTerminal, stream: IO[str]) -> None:
        self._terminal = terminal
        self._stream = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            return self._stream.write(text)
        return self._terminal.write(self._stream, text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class SharedTerminal:
    """The status line below the cursor's row, and ``sys.stdout``/``sys.stderr`` around it.

    Args:
        out: the terminal's stream (the real ``sys.stdout``); the status line and the lines of
            :meth:`print_line` are written to it.
        status: ``status(width)`` returns the status line, at most ``width`` characters.

    :meth:`install` replaces the streams and draws the status line; :meth:`uninstall` erases
    it and puts the streams back (only those still replaced by this object). Every method is
    thread-safe.
    """

    def __init__(self, out: IO[str], status: Callable[[int], str]) -> None:
        self.out = out
        self._status = status
        self._lock = threading.RLock()
        self._row = RowTracker()
        self._shown = False  # the status line is drawn on the row below the cursor's
        self._proxies: dict[str, _StreamProxy] = {}
        self._saved: dict[str, Any] = {}
        self._handlers: list[tuple[logging.StreamHandler[Any], Any, _StreamProxy]] = []

    @property
    def active(self) -> bool:
        return bool(self._proxies)

    # ------------------------------------------------------------------ streams
    def install(self) -> None:
        """Replace ``sys.stdout`` (and ``sys.stderr`` when it is a terminal) and draw the
        status line below the cursor's row (taken to be blank: the last output ended a line)."""
        with self._lock:
            if self.active:
                return
            for name in ("stdout", "stderr"):
                stream = getattr(sys, name)
                if name == "stdout" or _isatty(stream):
                    self._saved[name] = stream
                    self._proxies[name] = _StreamProxy(self, stream)
                    setattr(sys, name, self._proxies[name])
            self._switch_handlers()
            self._row.newline()
            self._open_row_below()
            self._draw()

    def uninstall(self) -> None:
        """Erase the status line, end the cursor's row if it holds text (what is printed next
        starts a row of its own) and put back the streams this object replaced."""
        with self._lock:
            if not self.active:
                return
            self._erase()
            if not self._row.blank:
                self.out.write("\n")
                self.out.flush()
            for name, proxy in self._proxies.items():
                if getattr(sys, name) is proxy:
                    setattr(sys, name, self._saved[name])
            for handler, real, proxy in self._handlers:
                if handler.stream is proxy:
                    handler.setStream(real)
            self._handlers.clear()
            self._proxies.clear()
            self._saved.clear()

    def _switch_handlers(self) -> None:
        """Point the logging stream handlers that write to a replaced stream at its proxy."""
        loggers = [logging.getLogger()] + [
            lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
        ]
        for lg in loggers:
            for handler in lg.handlers:
                if not isinstance(handler, logging.StreamHandler):
                    continue
                name = next(  # files never match
                    (n for n, real in self._saved.items() if real is handler.stream), None
                )
                if name is not None:
                    self._handlers.append((handler, handler.stream, self._proxies[name]))
                    handler.setStream(self._proxies[name])  # type: ignore[arg-type]

    # ------------------------------------------------------------------ writing
    def write(self, stream: IO[str], text: str) -> int:
        """Pass ``text`` through to ``stream``, keeping the status line below (see the module
        docstring); returns ``len(text)``."""
        with self._lock:
            if not self.active:
                return stream.write(text)
            width = terminal_width(self.out)
            if "\n" not in text:
                self._through(stream, text, width)
                return len(text)
            self._erase()
            head, _, tail = text.rpartition("\n")
            self._through(stream, head + "\n", width)
            if not self._row.moved:
                self._open_row_below()
                self._draw()
            if tail:
                self._through(stream, tail, width)
            return len(text)

    def print_line(self, line: str) -> None:
        """Print one whole line above the status line (on a fresh row if the cursor's row
        holds text) and draw the status line below again."""
        with self._lock:
            if not self.active:
                print(line, file=self.out, flush=True)
                return
            prefix = "" if self._row.blank else "\n"
            self.write(self.out, f"{prefix}{line}\n")

    def refresh(self) -> None:
        """Redraw the status line (new numbers), unless the row below is not known to be its."""
        with self._lock:
            if self.active:
                self._draw()

    # ------------------------------------------------------------------ the status row
    def _through(self, stream: IO[str], text: str, width: int) -> None:
        if "\x1b" in text and moves_cursor(text):
            self._erase()  # another live display: the terminal is its from now on
        if stream is not self.out:
            self.out.flush()
        stream.write(text)
        stream.flush()
        self._row.feed(text, width)
        if self._row.lost or self._row.moved:
            self._shown = False  # the row below now holds the process's text: leave it

    def _open_row_below(self) -> None:
        """From column 0 of the cursor's row: make sure a row exists below it (scrolling the
        screen up at its bottom) and come back."""
        self.out.write(f"\n{_UP}\r")
        self.out.flush()

    def _draw(self) -> None:
        width = terminal_width(self.out)
        if self._row.lost or self._row.moved or self._row.col >= width:
            return  # the row below may hold the process's text, or the cursor waits to wrap
        text = self._status(max(10, width - 1))
        self.out.write(f"{_SAVE}{_DOWN}{_ERASE_ROW}{text}{_RESTORE}")
        self.out.flush()
        self._shown = True

    def _erase(self) -> None:
        if self._shown:
            self.out.write(f"{_SAVE}{_DOWN}{_ERASE_ROW}{_RESTORE}")
            self.out.flush()
            self._shown = False


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
