"""Rich output that is safe and readable: a console that never reads markup in data, and tables that choose
their columns for the width they get.

* :class:`SafeConsole` renders every string with markup and emoji codes off and control characters removed
  (:func:`report.text.clean`), so a name such as ``[/]``, ``[link=…]`` or one holding ESC or a bidi
  override is shown as text, never run. Views style their own cells with :class:`rich.text.Text`.
* :class:`FitTable` is a rich table whose columns say how they may give way: a *whole* column (a number, a
  name to type) is never split; a folding column (free text, a layer name) may wrap; columns with a ``drop``
  rank leave, highest rank first, when the table would not otherwise fit. It is built when rendered, for the
  width it is given: a file gets the full 120-column table, an 80-column terminal or a pipe fewer columns.
"""

from __future__ import annotations

import errno
import io
from dataclasses import dataclass, field
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from .text import UNSAFE, clean


class SafeConsole(Console):
    """A rich console for data: strings are text (no markup, no emoji codes), without control characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        kwargs.setdefault("emoji", False)
        super().__init__(**kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs["markup"] = False
        kwargs["emoji"] = False
        return super().render_str(clean(text, newlines=True), **kwargs)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(safe_renderable(o) for o in objects), **kwargs)

    def on_broken_pipe(self) -> None:
        """The reader went away (``| head``): stop quietly, as the command line does for any closed pipe."""
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def safe_renderable(obj: Any) -> Any:
    """A top-level :class:`Text` without control characters (strings are cleaned as they render)."""
    if isinstance(obj, Text) and UNSAFE.search(obj.plain):
        return Text(clean(obj.plain, newlines=True), style=obj.style, justify=obj.justify)
    return obj


def plain_text(*renderables: Any, width: int = 120) -> str:
    """Renderables as plain text (for a file), on a console of ``width`` columns."""
    console = SafeConsole(record=True, width=width, file=io.StringIO())
    for r in renderables:
        console.print(r)
    return console.export_text()


@dataclass
class Col:
    header: str
    justify: str = "left"
    whole: bool = True  # never split a cell: numbers, names one types
    drop: int = 0  # 0: always shown; otherwise the highest rank leaves first when the width is short
    fold_min: int = 10  # the narrowest a folding column may become
    style: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # more rich Column options (max_width, ratio)


@dataclass
class _Row:
    cells: list[Any]
    style: str | None = None
    end_section: bool = False


@dataclass
class FitTable:
    """A table that drops and folds columns to fit the width it is rendered at (see the module docstring).
    ``options`` are :class:`rich.table.Table` keyword arguments (title, caption, box, …)."""

    options: dict[str, Any] = field(default_factory=dict)
    columns: list[Col] = field(default_factory=list)
    rows: list[_Row] = field(default_factory=list)

    def add_column(self, header: str, *, justify: str = "left", whole: bool = True, drop: int = 0,
                   fold_min: int = 10, style: str | None = None, **extra: Any) -> None:
        self.columns.append(Col(header, justify, whole, drop, fold_min, style, extra))

    def add_row(self, *cells: Any, style: str | None = None) -> None:
        padded = [safe_renderable(c) for c in (*cells, *([""] * (len(self.columns) - len(cells))))]
        self.rows.append(_Row(padded, style))

    def add_section(self) -> None:
        if self.rows:
            self.rows[-1].end_section = True

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.build(options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.build(options.max_width))

    def build(self, width: int) -> Table:
        """The rich table for ``width`` columns: all of it if it fits; otherwise drop ranked columns until the
        rest fit with every whole column at its widest cell (its header wrapping) and the others folding."""
        active = list(range(len(self.columns)))
        if self._needed(active, natural=True) <= width:
            return self._table(active, fixed=False)
        while self._needed(active, natural=False) > width:
            ranked = [i for i in active if self.columns[i].drop > 0]
            if not ranked:  # even the essential columns do not fit: fold everything rather than crop
                return self._table(active, fixed=False, fold=True)
            active.remove(max(reversed(ranked), key=lambda i: self.columns[i].drop))
        return self._table(active, fixed=True)

    def _needed(self, active: list[int], *, natural: bool) -> int:
        """The table's width with its columns at their natural (or narrowest unsplit) widths, counting rich's
        own edges, separators and padding."""
        table = Table(**self.options)
        for _ in active:
            table.add_column()
        total = table._extra_width
        for position, i in enumerate(active):
            total += table._get_padding_width(position) + (self._natural(i) if natural else self._min_width(i))
        return total

    def _natural(self, i: int) -> int:
        return max([_width(self.columns[i].header)] + [_width(r.cells[i]) for r in self.rows])

    def _min_width(self, i: int) -> int:
        """A whole column: its widest cell, and its header's longest word up to 12 (headers wrap and fold)."""
        col = self.columns[i]
        cells = max([_width(r.cells[i]) for r in self.rows] + [1])
        if col.whole:
            return max([cells] + [min(cell_len(word), 12) for word in col.header.split()])
        return min(self._natural(i), col.fold_min)

    def _table(self, active: list[int], *, fixed: bool, fold: bool = False) -> Table:
        table = Table(**self.options)
        for i in active:
            col = self.columns[i]
            keep = col.whole and not fold
            header = Text(clean(col.header), no_wrap=False, overflow="fold")  # a header may wrap; cells may not
            table.add_column(header, justify=col.justify, style=col.style,  # type: ignore[arg-type]
                             no_wrap=keep, overflow="fold", width=self._min_width(i) if keep and fixed else None,
                             **col.extra)
        for row in self.rows:
            table.add_row(*(row.cells[i] for i in active), style=row.style, end_section=row.end_section)
        return table


def _width(cell: Any) -> int:
    if isinstance(cell, Text):
        return max((cell_len(line) for line in cell.plain.split("\n")), default=0)
    return max((cell_len(line) for line in clean(cell, newlines=True).split("\n")), default=0)
