"""`mobcost plot`: accuracy against cost (the paper's Figures 4–5), a hardware budget map, a Pareto chart,
and predicted against measured latency."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..analysis import analyze
from ..errors import OptionError
from ..explore.hardware import load_hardware
from ..explore.ranges import grid_axes
from ..graph import build
from ..spec import Spec
from ..units import parse_si, plural
from .common import SpecArg, ThreadsOpt, app, friendly, load
from .sweep import latency_budget
from .timing import host_hardware, latency_grid, timed


class PlotKind(StrEnum):
    accuracy_macs = "accuracy-macs"
    accuracy_params = "accuracy-params"
    budget = "budget"
    pareto = "pareto"
    latency = "latency"
    time_share = "time-share"


@app.command()
@friendly
def plot(
    kind: Annotated[PlotKind, typer.Argument(help="accuracy-macs (the paper's Figure 4), accuracy-params "
                                             "(Figure 5), budget (α × resolution map for a hardware profile), "
                                             "pareto (the bundled networks, cost vs accuracy).")],
    spec: SpecArg = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Image file: .png, .svg or .pdf.")] = Path(
        "mobcost.png"),
    hardware: Annotated[str, typer.Option("--hardware", "-H", help="budget: hardware profile (name or file).")]
    = "cortex_m7",
    alpha: Annotated[str, typer.Option("--alpha", "-a", help="budget: α range.")] = "0.1:1.0:0.025",
    resolution: Annotated[str, typer.Option("--resolution", "-R", help="budget: resolution range.")] = "96:256:4",
    max_latency_ms: Annotated[float | None, typer.Option(help="budget: latency budget.", show_default=False)] = None,
    max_mult_adds: Annotated[str | None, typer.Option(help="budget: Mult-Adds budget.", show_default=False)] = None,
    threads: ThreadsOpt = 1,
) -> None:
    """Draw a figure (png, svg or pdf).

    Accuracy vs cost (the paper's Figures 4–5), a hardware budget map, a Pareto chart of the bundled
    networks, or predicted vs measured latency (`latency`: the 16 models; `time-share`: per layer type).
    """
    from ..explore.budgets import Budgets

    if Path(output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise OptionError("use a .png, .svg or .pdf file name", file=str(output), where="--output")
    from .. import plots

    if kind == PlotKind.budget:
        budgets = Budgets(mult_adds=parse_si(max_mult_adds, where="--max-mult-adds") if max_mult_adds else None,
                          latency_ms=latency_budget(max_latency_ms))
        fig = plots.budget_figure(load(spec), load_hardware(hardware), *grid_axes(alpha, resolution), budgets)
    elif kind == PlotKind.pareto:
        fig = plots.pareto_figure()
    elif kind in (PlotKind.latency, PlotKind.time_share):
        fig = measured_figure(kind, load(spec), threads)
    else:
        fig = plots.accuracy_figure("mult_adds" if kind == PlotKind.accuracy_macs else "params")
    plots.save(fig, output)
    print(f"wrote {output}", file=sys.stderr)


def measured_figure(kind: PlotKind, s: Spec, threads: int) -> Any:
    """The latency plots: measurements on this host (cached), predictions from its calibrated profile."""
    from .. import plots
    from ..pytorch import require_torch

    require_torch()
    from ..explore.hardware import predict_layers
    from ..report.latency import type_shares

    hw = host_hardware(threads)
    if kind == PlotKind.time_share:
        graph = build(s)
        measured = timed(graph, threads)
        types = type_shares(analyze(s), predict_layers(graph, hw), measured.layers_s)
        return plots.time_share_figure(types, f"{s.name}: where the Mult-Adds and the time go "
                                              f"({plural(threads, 'thread')}, {hw.name.split(' (')[0]})")
    doc = latency_grid(s, hw, threads, with_measure=True)
    return plots.latency_figure(doc["points"], hw.name, threads, doc["spearman"], doc["median_ape"])
