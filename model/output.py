"""Terminal or plain output: one place that decides how hipsem's commands print.

Every sub-command prints through an `Output` made by `output(plain)`:

* **terminal** (stdout is a terminal and `--plain` was not given): rich consoles, colours,
  box tables; lines are never broken by hipsem (the terminal folds long ones, so a replay
  command copied from it is one line). A table's columns are never narrower than their
  longest word (their longest value if they do not wrap), so a value (`5.4e-05`,
  `M/G/inf`) is never cut to `5.4e-…`; a table that cannot fit the terminal so is printed
  at the width it needs (the terminal folds its lines, no value is lost).
* **plain** (stdout is not a terminal: a pipe or a file, or `--plain`): no colour, no
  markup, no line wrapping at any width, and tables as tab-separated values: a `# title`
  line, a header line, one line per row (`cut -f2`, `awk -F'\t'` read them). A tab or
  newline inside a cell is written as one space, so one row is always one line.

Invariants: plain output never contains ANSI escapes or box-drawing characters, and no
line of it is split inside a value. stderr (progress bars, notes) follows stderr's own
terminal-ness, independently of stdout.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from rich.console import Console
from rich.errors import MarkupError
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["Output", "as_output", "is_plain", "output", "plain_rows", "table_text"]

_SPACES = re.compile(r"[\t\r\n]+")


def is_plain(flag: bool = False, stream: TextIO | None = None) -> bool:
    """Whether output to `stream` (default: stdout) should be plain: `flag` (`--plain`)
    or the stream is not a terminal."""
    stream = sys.stdout if stream is None else stream
    try:
        return flag or not stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return True


def _cell(value: Any) -> str:
    text = value.plain if isinstance(value, Text) else str(value)
    if not isinstance(value, Text) and "[" in text:
        text = _unmarked(text)
    return _SPACES.sub(" ", text)


def _unmarked(text: str) -> str:
    """`text` without rich markup (as a table would show it); unchanged if not markup."""
    try:
        return Text.from_markup(text).plain
    except MarkupError:
        return text


def plain_rows(table: Table) -> list[list[str]]:
    """The header and every row of a rich `table` as plain strings (markup removed)."""
    header = [_cell(c.header) for c in table.columns]
    columns = [[_cell(cell) for cell in c.cells] for c in table.columns]
    rows = [list(row) for row in zip(*columns, strict=True)] if columns else []
    return [header, *rows]


def table_text(table: Table) -> str:
    """A rich `table` as tab-separated text: `# title`, header, rows (see the module
    docstring)."""
    lines = [f"# {_cell(table.title)}"] if table.title else []
    lines += ["\t".join(row) for row in plain_rows(table)]
    return "\n".join(lines)


def _widen(console: Console, table: Table) -> int:
    """Give each column at least its longest word (its longest value if it does not
    wrap), so rich wraps between words but never cuts one; returns the least width at
    which the table fits so."""
    for column, values in zip(table.columns, zip(*plain_rows(table), strict=True),
                              strict=True):
        pieces = values if column.no_wrap else [w for v in values for w in v.split()]
        longest = max((len(p) for p in pieces), default=1)
        column.min_width = max(column.min_width or 0, longest)
    return Measurement.get(console, console.options.update(width=10_000), table).minimum


@dataclass(slots=True)
class Output:
    """How one command prints: `out` (stdout) and `err` (stderr) consoles; `plain` says
    whether stdout is plain (module docstring)."""

    plain: bool
    out: Console
    err: Console

    def print(self, text: Any = "", *, markup: bool = True) -> None:
        """A line (rich markup allowed unless `markup` is False) on stdout."""
        if self.plain:
            plain = _unmarked(text) if markup and isinstance(text, str) else text
            self.out.print(plain, markup=False, highlight=False, soft_wrap=True)
        else:  # soft wrap: the terminal folds a long line, no newline is inserted, so a
            # command copied from it (a replay line) stays one line
            self.out.print(text, markup=markup, highlight=False, soft_wrap=True)

    def table(self, table: Table) -> None:
        """A table on stdout: tab-separated when plain, a box table on a terminal."""
        if self.plain:  # written as is: rich would expand the tabs
            self.out.file.write(table_text(table) + "\n")
            self.out.file.flush()
            return
        need, width = _widen(self.out, table), self.out.width
        if need <= width:
            self.out.print(table)
            return
        self.out.width = need  # wider than the terminal: the terminal wraps, nothing is cut
        try:
            self.out.print(table)
        finally:
            self.out.width = width

    def note(self, text: str) -> None:
        """A line on stderr, never wrapped, no markup (file names may hold brackets)."""
        self.err.print(text, markup=False, highlight=False, soft_wrap=True)


def output(plain: bool = False) -> Output:
    """The `Output` for a command: plain when `plain` (`--plain`) or stdout is not a
    terminal; stderr plain when it is not a terminal."""
    plain = is_plain(plain)
    err_plain = is_plain(False, sys.stderr)
    return Output(plain, _console(plain, stderr=False), _console(err_plain, stderr=True))


def as_output(target: Output | Console) -> Output:
    """`target` itself, or an `Output` printing to the rich console `target` (plain when
    that console is not a terminal)."""
    if isinstance(target, Output):
        return target
    return Output(not target.is_terminal, target, _console(is_plain(False, sys.stderr), True))


def _console(plain: bool, stderr: bool) -> Console:
    if plain:
        return Console(stderr=stderr, color_system=None, highlight=False, emoji=False,
                       soft_wrap=True, width=10_000, force_terminal=False)
    return Console(stderr=stderr)
