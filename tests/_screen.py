"""A small terminal emulator for the console tests: what a screen shows after some output.

It follows what the progress display and Keras write: printable characters (autowrap at the
last column, as xterm: the cursor waits there and the next character wraps), ``\\r``, ``\\n``
(a line feed: down one row, scrolling at the bottom; pass ``onlcr=True`` for text that did not
go through a terminal driver, which turns ``\\n`` into ``\\r\\n``), ``\\b``, ``ESC 7``/``ESC 8``
(save and restore the cursor, in screen coordinates), ``CSI n A/B`` (up/down, stopping at the
edges), ``CSI n G`` (column), ``CSI n K`` (erase in line) and ``CSI ... m`` (colours, ignored).
Any other escape sequence raises, so a test notices output it does not understand.
"""

from __future__ import annotations

import re

_CSI = re.compile(r"\x1b\[([0-9;?]*)([@-~])")


class Screen:
    """``rows`` x ``cols`` cells, and the rows scrolled off the top (``history``)."""

    def __init__(self, rows: int = 24, cols: int = 80) -> None:
        self.rows, self.cols = rows, cols
        self.grid = [[" "] * cols for _ in range(rows)]
        self.history: list[str] = []
        self.y = self.x = 0
        self.wrap_next = False
        self.saved = (0, 0)

    def feed(self, text: str, onlcr: bool = False) -> Screen:
        if onlcr:
            text = text.replace("\n", "\r\n")
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                i = self._escape(text, i)
                continue
            if ch == "\r":
                self.x, self.wrap_next = 0, False
            elif ch == "\n":
                self._line_feed()
            elif ch == "\b":
                self.x, self.wrap_next = max(0, self.x - 1), False
            elif ch >= " ":
                self._put(ch)
            i += 1
        return self

    def _put(self, ch: str) -> None:
        if self.wrap_next:
            self.x, self.wrap_next = 0, False
            self._line_feed()
        self.grid[self.y][self.x] = ch
        if self.x == self.cols - 1:
            self.wrap_next = True
        else:
            self.x += 1

    def _line_feed(self) -> None:
        self.wrap_next = False
        if self.y == self.rows - 1:
            self.history.append("".join(self.grid.pop(0)).rstrip())
            self.grid.append([" "] * self.cols)
        else:
            self.y += 1

    def _escape(self, text: str, i: int) -> int:
        nxt = text[i + 1 : i + 2]
        if nxt == "7":
            self.saved = (self.y, self.x)
            return i + 2
        if nxt == "8":
            self.y, self.x = self.saved
            self.wrap_next = False
            return i + 2
        match = _CSI.match(text, i)
        if match is None:
            raise ValueError(f"unknown escape sequence at {text[i:i + 12]!r}")
        params, final = match.groups()
        n = int(params) if params.isdigit() else None
        if final == "m":
            pass
        elif final == "A":
            self.y = max(0, self.y - (n or 1))
        elif final == "B":
            self.y = min(self.rows - 1, self.y + (n or 1))
        elif final == "G":
            self.x = min(self.cols - 1, (n or 1) - 1)
        elif final == "K":
            row = self.grid[self.y]
            start, stop = {0: (self.x, self.cols), 1: (0, self.x + 1), 2: (0, self.cols)}[n or 0]
            row[start:stop] = [" "] * (stop - start)
        else:
            raise ValueError(f"unknown escape sequence {match.group(0)!r}")
        if final in "ABG":
            self.wrap_next = False
        return match.end()

    def lines(self) -> list[str]:
        """Every row, scrolled-off ones first, without trailing blanks; trailing blank rows
        of the screen are left out."""
        rows = self.history + ["".join(r).rstrip() for r in self.grid]
        while rows and not rows[-1]:
            rows.pop()
        return rows

    def row(self, y: int) -> str:
        """Row ``y`` of the screen as shown now."""
        return "".join(self.grid[y]).rstrip()
