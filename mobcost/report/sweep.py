"""The `sweep` command's rich view: the design points (or the Pareto front and the best) and a summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from .energy import energy_text
from .formats import human
from .terminal import FitTable

if TYPE_CHECKING:
    from ..explore.grid import SweepResult


SWEEP_ROWS = 40  # a terminal view; json and csv carry every point


def sweep_tables(result: SweepResult, indices: list[int] | None = None) -> list[Any]:
    """The design points (all of a small grid; otherwise the Pareto front and the best), and a summary."""
    from ..explore.grid import point_records

    best = result.best()
    if indices is None:
        indices = list(range(len(result))) if len(result) <= SWEEP_ROWS else result.highlights(SWEEP_ROWS)
    hw = result.hardware
    title_text = f"Design points — {result.factors.spec.name}" + (f" on {hw.name}" if hw else "")
    table = FitTable({"title": title_text, "box": box.SIMPLE_HEAD, "pad_edge": False, "collapse_padding": True,
                      "title_justify": "left"})
    drops = {"Weights": 2, "Peak act.": 1}  # a narrow terminal keeps every cost a budget or the front uses
    energy_used = result.pareto_cost == "energy_uj" or result.budgets.energy_uj is not None
    drops["Energy"] = 0 if energy_used else 3
    convention = result.factors.convention  # --convention: its figure after the Mult-Adds
    ops = [convention.name.replace("-", " ")] if convention else []
    energy = ["Energy"] if "energy_uj" in result.columns else []  # with a hardware profile
    for header in ("α", "Res", "Mult-Adds", *ops, "Params", "Weights", "Peak act.", "Latency", *energy, "Top-1",
                   "Fits", ""):
        table.add_column(header, justify="right" if header not in ("Fits", "") else "center",
                         drop=drops.get(header, 0))
    for i, rec in zip(indices, point_records(result, indices), strict=True):
        top1 = "" if rec["top1"] is None else f"{rec['top1']:.1f}" + _estimate_mark(rec["top1_source"])
        latency = "" if rec["latency_ms"] is None else f"{rec['latency_ms']:.1f} ms"
        mark = ("★" if i == best else "") + ("P" if rec["pareto"] else "")
        table.add_row(f"{rec['alpha']:g}", str(rec["resolution"]), human(rec["mult_adds"]),
                      *([human(rec["ops"])] if ops else []), human(rec["params"]),
                      human(rec["weight_bytes"], "B"), human(rec["peak_activation_bytes"], "B"), latency,
                      *([energy_text(rec["energy_uj"])] if energy else []), top1,
                      Text("yes", style="green") if rec["fits"] else Text("no", style="red"), mark)
    return [table, _sweep_caption(result, table, best, len(indices))]


def _estimate_mark(source: str) -> str:
    """* for the fit's estimate, † where it is extrapolated (α > 1, or models smaller than any it was fitted to):
    a reader choosing by Top-1 must see which figures the fit does not cover."""
    return "†" if "extrapolated" in source else "*" if "estimate" in source else ""


@dataclass
class ColumnNotes:
    """A caption whose lines about a column (its header named) are shown only when ``table`` shows that column at
    the width it is rendered at: a pipe or a narrow terminal drops the Energy column, so its footnote goes too."""

    table: FitTable
    lines: list[tuple[str | None, str]]  # (the header of the column a line explains, or None; the line)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        shown = {col.header.plain if isinstance(col.header, Text) else str(col.header)
                 for col in self.table.build(options.max_width).columns}
        yield Text("\n".join(line for column, line in self.lines if column is None or column in shown))

    def replace_first(self, line: str) -> ColumnNotes:
        return ColumnNotes(self.table, [(None, line), *self.lines[1:]])

    def __str__(self) -> str:
        return "\n".join(line for _, line in self.lines)


def _sweep_caption(result: SweepResult, table: FitTable, best: int | None, shown: int) -> ColumnNotes:
    c = result.columns
    lines = [f"{len(result):,} points ({shown} shown), {int(c['fits'].sum()):,} fit the budgets, "
             f"{int(c['pareto'].sum()):,} on the Pareto front (cost: {result.pareto_cost}). ★ best, P Pareto."]
    if result.accuracy:
        lo, hi = (f"{m / 1e6:,.0f}" for m in result.accuracy.fit_range)
        lines.append(f"Top-1: TF-Slim MobileNetV1 release where published; * {result.accuracy.fit.label}; "
                     f"† extrapolated, outside its {lo}–{hi} M Mult-Adds.")
    b = result.budgets
    bounds = [f"{name} ≤ {human(v, unit)}" for name, v, unit in (
        ("Mult-Adds", b.mult_adds, ""), ("params", b.params, ""), ("weights", b.weight_bytes, "B"),
        ("peak activation", b.peak_activation_bytes, "B")) if v is not None]
    if b.latency_ms is not None:
        bounds.append(f"latency ≤ {b.latency_ms:g} ms")
    if b.energy_uj is not None:
        bounds.append(f"energy ≤ {energy_text(b.energy_uj)}")
    lines.append("Budgets: " + (", ".join(bounds) if bounds else "none"))
    notes: list[tuple[str | None, str]] = [(None, line) for line in lines]
    if "energy_uj" in result.columns:
        notes.append(("Energy", "Energy: Horowitz's 45 nm figures (ISSCC 2014) unless the profile sets its own; "
                      "compute + memory, bytes from on-chip memory when a layer's working set fits, else DRAM."))
    if result.factors.dropped:
        notes.append((None, "Left out (no valid network): " + "; ".join(result.factors.dropped[:5])))
    if best is None:
        notes.append((None, "No point meets every budget."))
    return ColumnNotes(table, notes)
