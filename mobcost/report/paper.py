"""The `paper` command's views: each published figure beside the computed one, with status and note."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich import box
from rich.text import Text

from .terminal import FitTable

if TYPE_CHECKING:
    from ..analysis.paper import Figure


def figure_dict(f: Figure) -> dict[str, Any]:
    return {"table": f.table, "row": f.row, "metric": f.metric, "paper": f.paper, "computed": f.computed,
            "unit": f.unit, "status": f.status, "note": f.note,
            "difference": None if f.difference is None else round(f.difference, 6)}


def _value(x: float | str, decimals: int) -> str:
    if isinstance(x, str):
        return x
    return f"{x:,.{max(decimals, 0) + 2}f}".rstrip("0").rstrip(".") if isinstance(x, float) else f"{x:,}"


def figure_document(f: Figure, again: float | None = None, convention: str = "") -> dict[str, Any]:
    """One figure for a document (markdown, LaTeX), as the rich view shows it, under its headers: the paper's
    figure as printed, the computed one and Δ at two more decimals (fixed: 94.8574, never 94.85740726903795 or
    4.7e-05), the unit beside them; with ``convention``, its recount in millions."""
    unit = f" {f.unit}" if f.unit in ("M", "%") else ""
    places = max(f.decimals, 0) + 2
    computed = f.computed if isinstance(f.computed, str) else _fixed(f.computed, places)
    if f.difference is None:
        delta = ""
    else:
        delta = f"{f.difference:+,}" if isinstance(f.difference, int) else f"{f.difference:+,.{places}f}"
    record = {"Table": f.table, "Row": f.row, "Metric": f.metric, "Paper": f"{_fixed(f.paper, f.decimals)}{unit}",
              "Computed": computed if isinstance(f.computed, str) else f"{computed}{unit}", "Δ": delta}
    if convention:
        record[convention.replace("-", " ")] = "" if again is None else f"{again:,.2f} M"
    return {**record, "Status": f.status, "Note": f.note}


def _fixed(x: float | str, places: int) -> str:
    """A figure at ``places`` decimals (none for an integer or a negative count), with thousands separators."""
    if isinstance(x, str):
        return x
    return f"{x:,}" if isinstance(x, int) else f"{x:,.{max(places, 0)}f}"


STATUS = {"match": Text("match", style="green"), "differs": Text("differs", style="yellow")}


def paper_tables(figs: list[Figure], recount: Callable[[Figure], float | None] | None = None,
                 convention: str = "") -> list[FitTable]:
    """One rich table per paper table: published beside computed, with status and explanation. A narrow
    terminal loses Δ first, then Metric; the notes fold. With ``recount`` (``--convention``), a model's
    Mult-Adds counted under ``convention`` follow the computed figure."""
    tables: list[FitTable] = []
    for number in dict.fromkeys(f.table for f in figs):
        rows = [f for f in figs if f.table == number]
        t = FitTable({"title": f"Table {number}", "box": box.SIMPLE_HEAD, "pad_edge": False,
                      "collapse_padding": True, "title_justify": "left"})
        t.add_column("Row", whole=False, max_width=26)
        t.add_column("Metric", drop=1)
        for header, drop in (("Paper", 0), ("Computed", 0), ("Δ", 2)):
            t.add_column(header, justify="right", drop=drop)
        if recount:
            t.add_column(convention.replace("-", " "), justify="right")
        t.add_column("Status")
        t.add_column("Note", whole=False, fold_min=16, ratio=1)
        for f in rows:
            unit = f" {f.unit}" if f.unit in ("M", "%") else ""
            diff = "" if f.difference is None else f"{f.difference:+,.2f}"
            status = STATUS["match"] if f.status == "match" else STATUS["differs"]
            paper, computed = _value(f.paper, f.decimals), _value(f.computed, f.decimals)
            again = recount(f) if recount else None
            extra = ([] if not recount else [""] if again is None else [f"{again:,.2f} M"])
            shown = computed if isinstance(f.computed, str) else f"{computed}{unit}"  # "not computed": no unit
            t.add_row(f.row, f.metric, f"{paper}{unit}", shown, diff, *extra, status, f.note)
        tables.append(t)
    return tables


def paper_summary(figs: list[Figure]) -> str:
    differs = [f for f in figs if f.status == "differs"]
    unexplained = [f for f in differs if f.note == "unexplained"]
    return (f"{len(figs)} published figures: {len(figs) - len(differs)} match at the paper's printed precision, "
            f"{len(differs)} differ ({len(differs) - len(unexplained)} explained).")
