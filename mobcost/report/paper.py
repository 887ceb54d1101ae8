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
            t.add_row(f.row, f.metric, f"{paper}{unit}", f"{computed}{unit}", diff, *extra, status, f.note)
        tables.append(t)
    return tables


def paper_summary(figs: list[Figure]) -> str:
    differs = [f for f in figs if f.status == "differs"]
    unexplained = [f for f in differs if f.note == "unexplained"]
    return (f"{len(figs)} published figures: {len(figs) - len(differs)} match at the paper's printed precision, "
            f"{len(differs)} differ ({len(differs) - len(unexplained)} explained).")
