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
    from ..explore.budgets import Budgets, Tally
    from ..explore.grid import SweepResult
    from ..explore.hardware import Hardware


SWEEP_ROWS = 40  # a terminal view; json and csv carry every point


def sweep_tables(result: SweepResult, indices: list[int] | None = None, note: str | None = None) -> list[Any]:
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
    energy_used = "energy" in result.objectives or result.budgets.energy_uj is not None
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
    return [table, _sweep_caption(result, table, best, len(indices), note)]


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


def counts_line(points: int, shown: int, fits: int, pareto: int, objectives: tuple[str, ...]) -> str:
    from ..explore.objectives import describe

    return (f"{points:,} points ({shown} shown), {fits:,} fit the budgets, {pareto:,} on the Pareto front "
            f"({describe(objectives)}). ★ best, P Pareto.")


def best_line(objectives: tuple[str, ...], accuracy: bool) -> str:
    """What ★ marks: a reader must see when it is not the most accurate point, and why."""
    from ..explore.objectives import best_by

    return f"★ best: {best_by(objectives[0], accuracy)}."


def _sweep_caption(result: SweepResult, table: FitTable, best: int | None, shown: int,
                   note: str | None = None) -> ColumnNotes:
    c = result.columns
    lines = [counts_line(len(result), shown, int(c["fits"].sum()), int(c["pareto"].sum()), result.objectives),
             best_line(result.objectives, result.accuracy is not None)]
    if result.accuracy:
        lo, hi = (f"{m / 1e6:,.0f}" for m in result.accuracy.fit_range)
        lines.append(f"Top-1: TF-Slim MobileNetV1 release where published; * {result.accuracy.fit.label}; "
                     f"† extrapolated, outside its {lo}–{hi} M Mult-Adds.")
    b = result.budgets
    bounds = [f"{name} ≤ {human(v, unit)}" for name, v, unit in (
        ("Mult-Adds", b.mult_adds, ""), ("params", b.params, ""), ("weights", b.weight_bytes, "B"),
        ("peak activation", b.peak_activation_bytes, "B"), (f"RAM ({b.ram_planner})", b.ram_bytes, "B"),
        ("flash", b.flash_bytes, "B")) if v is not None]
    if b.latency_ms is not None:
        bounds.append(f"latency ≤ {b.latency_ms:g} ms")
    if b.energy_uj is not None:
        bounds.append(f"energy ≤ {energy_text(b.energy_uj)}")
    lines.append("Budgets: " + (", ".join(bounds) if bounds else "none"))
    notes: list[tuple[str | None, str]] = [(None, line) for line in lines]
    if "energy_uj" in result.columns:
        power = result.hardware.active_power_mw if result.hardware else None
        notes.append(("Energy", f"Energy: the profile's active power ({power:g} mW) × the predicted latency."
                      if power is not None else
                      "Energy: Horowitz's 45 nm figures (ISSCC 2014) unless the profile sets its own; "
                      "compute + memory, bytes from on-chip memory when a layer's working set fits, else DRAM "
                      "(no active power in the profile: a lower bound)."))
    if result.factors.dropped:
        notes.append((None, "Left out (no valid network): " + "; ".join(result.factors.dropped[:5])))
    if best is None:
        text = note or "no point meets every budget"
        notes.append((None, text[0].upper() + text[1:] + "."))
    return ColumnNotes(table, notes)


BUDGET_WORDS = {"mult_adds": ("Mult-Adds", ""), "params": ("params", ""), "weight_bytes": ("weights", "B"),
                "peak_activation_bytes": ("peak activation", "B"), "latency_ms": ("latency", ""),
                "energy_uj": ("energy", ""), "ram_bytes": ("RAM", "B"), "flash_bytes": ("flash", "B")}


def no_fit_note(tally: Tally, budgets: Budgets, hardware: Hardware | None) -> str:
    """Why no point fits, naming the tightest budget: the one excluding the most points (or the one missed
    by the widest margin, when several exclude every point alone)."""
    name = tally.tightest(budgets)
    if name is None or not tally.points:
        return "no design point is valid in this grid"
    what = f"{_budget_source(name, budgets, hardware)} ({_bound_text(name, getattr(budgets, name))})"
    if tally.over[name] == tally.points:
        every = "the only point" if tally.points == 1 else f"all {tally.points:,} points"
        return (f"no design point meets the budgets: the tightest, {what}, excludes {every} alone (the least "
                f"{BUDGET_WORDS[name][0]} in the grid is {_bound_text(name, tally.least[name], 0)})")
    return (f"no design point meets every budget at once: the tightest, {what}, excludes {tally.over[name]:,} of "
            f"{tally.points:,} points")


def _bound_text(name: str, value: float, with_words: int = 1) -> str:
    word, unit = BUDGET_WORDS[name]
    text = (f"{value:g} ms" if name == "latency_ms" else energy_text(value) if name == "energy_uj"
            else human(value, unit))
    return f"{word} ≤ {text}" if with_words else text


def _budget_source(name: str, budgets: Budgets, hardware: Hardware | None) -> str:
    """The option that set a budget, or the profile's memory it came from (``Budgets.with_hardware``)."""
    from ..explore.budgets import BOUNDS

    if hardware is not None:
        memory = {"weight_bytes": ("storage", hardware.storage_bytes), "flash_bytes": ("flash",
                  hardware.storage_bytes), "peak_activation_bytes": ("RAM", hardware.ram_bytes),
                  "ram_bytes": ("RAM", hardware.ram_bytes)}
        kind, size = memory.get(name, ("", None))
        if size is not None and size == getattr(budgets, name):
            return f"{hardware.name.split(' (')[0]}'s {kind}"
    return next(option for field, _, option in BOUNDS if field == name)
