"""`mobcost plot`: accuracy against cost (the paper's Figures 4–5), a hardware budget map, a Pareto chart,
and predicted against measured latency. Every option is used by the kinds it names, and refused by the
others (a one-line error, never silently ignored); every one is checked before any slow work."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..analysis import analyze
from ..errors import OptionError
from ..explore.hardware import DEFAULT_HARDWARE, Hardware, load_hardware
from ..explore.ranges import grid_axes
from ..graph import Graph, build
from ..report.formats import clean
from ..spec import Spec
from ..units import parse_si, plural
from .common import Runtime, RuntimeOpt, SpecArg, ThreadsOpt, app, friendly, load
from .sweep import MaxFlashOpt, MaxRamOpt, check_output, energy_budget, fit_budgets, latency_budget
from .timing import grid_graphs, latency_grid, predictor, prepare_measure, timed, warn_if_elsewhere


class PlotKind(StrEnum):
    accuracy_macs = "accuracy-macs"
    accuracy_params = "accuracy-params"
    budget = "budget"
    pareto = "pareto"
    latency = "latency"
    time_share = "time-share"
    memory = "memory"


class Metric(StrEnum):
    latency = "latency"
    energy = "energy"


METRIC_COLUMNS = {Metric.latency: "latency_ms", Metric.energy: "energy_uj"}
MEASURED = (PlotKind.latency, PlotKind.time_share)
# Which kinds use each option; any other kind refuses it.
ONE_POINT = (PlotKind.time_share, PlotKind.memory)
USES = {"--hardware": (PlotKind.budget, *MEASURED), "--alpha": (PlotKind.budget, *ONE_POINT),
        "--resolution": (PlotKind.budget, *ONE_POINT), "--max-latency-ms": (PlotKind.budget,),
        "--max-mult-adds": (PlotKind.budget,), "--threads": MEASURED, "--max-energy-uj": (PlotKind.budget,),
        "--metric": (PlotKind.budget,), "--runtime": MEASURED, "--max-ram": (PlotKind.budget,),
        "--max-flash": (PlotKind.budget,), "--planner": (PlotKind.budget, PlotKind.memory)}
BUDGET_GRID = ("0.1:1.0:0.025", "96:256:4")  # the budget map's default α and resolution ranges
BUDGET_POINTS = 250_000  # cells of a budget map (a 500 × 500 image is already finer than any screen)


@app.command()
@friendly
def plot(
    kind: Annotated[PlotKind, typer.Argument(help="accuracy-macs (the paper's Figure 4), accuracy-params "
                                             "(Figure 5), budget (α × resolution map for a hardware profile: "
                                             "latency or energy), "
                                             "pareto (SPEC among the bundled networks, cost vs accuracy), "
                                             "latency (16 models, predicted vs measured), time-share (per "
                                             "layer type), memory (the arena over execution steps).")],
    spec: SpecArg = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Image file: .png, .svg or .pdf.")] = Path(
        "mobcost.png"),
    hardware: Annotated[str | None, typer.Option("--hardware", "-H", help="budget: hardware profile (name or "
                                                 f"file; default {DEFAULT_HARDWARE}); latency, time-share: the "
                                                 "profile to predict with (default: this host's, calibrated "
                                                 "first when there is none).", show_default=False)] = None,
    alpha: Annotated[str | None, typer.Option("--alpha", "-a", help=f"budget: α range (default {BUDGET_GRID[0]}); "
                                              "time-share: one α (default 1).", show_default=False)] = None,
    resolution: Annotated[str | None, typer.Option("--resolution", "-R", help="budget: resolution range (default "
                                                   f"{BUDGET_GRID[1]}); time-share: one input size (default the "
                                                   "spec's).", show_default=False)] = None,
    max_latency_ms: Annotated[float | None, typer.Option(help="budget: latency budget.", show_default=False)] = None,
    max_mult_adds: Annotated[str | None, typer.Option(help="budget: Mult-Adds budget.", show_default=False)] = None,
    max_energy_uj: Annotated[float | None, typer.Option(help="budget: energy budget per inference, in µJ.",
                                                        show_default=False)] = None,
    metric: Annotated[Metric | None, typer.Option(help="budget: what colours the map and ranks the Pareto points "
                                                  "(default latency).", show_default=False)] = None,
    threads: Annotated[int | None, ThreadsOpt.__metadata__[0]] = None,  # type: ignore[attr-defined]
    runtime: Annotated[Runtime | None, RuntimeOpt.__metadata__[0]] = None,  # type: ignore[attr-defined]
    max_ram: MaxRamOpt = None, max_flash: MaxFlashOpt = None,
    planner: Annotated[str | None, typer.Option(help="memory: the planner drawn (default tflm; "
                                                "lower-bound, tflm, tflite, inplace-dw, patch); budget: of "
                                                "--max-ram (lower-bound, tflm or tflite).", show_default=False)] = None,
) -> None:
    """Draw a figure (png, svg or pdf).

    Accuracy vs cost (the paper's Figures 4–5, for MobileNetV1's architecture), a hardware budget map (colour:
    latency or energy per inference; --max-ram / --max-flash bound a planner's RAM and the flash), a Pareto chart
    of SPEC among the bundled networks, predicted vs measured latency (`latency`: 16 models; `time-share`: per
    layer type), or the arena as a planner lays it out (`memory`: buffers over their lifetimes, lower bound).
    """
    # the options by their command-line names (every parameter but these three is one)
    given = {"--" + k.replace("_", "-"): v for k, v in dict(locals()).items() if k not in ("kind", "spec", "output")}
    check_image(output)
    check_uses(kind, given)
    s = load(spec)
    budget = BudgetOptions(max_latency_ms, max_mult_adds, max_energy_uj, metric or Metric.latency,
                           fit_budgets(max_ram, max_flash, planner) if kind == PlotKind.budget else {}, planner)
    save(figure(kind, s, spec is not None, hardware, alpha, resolution, budget, threads or 1,
                Runtime(runtime or Runtime.torch).value, spec), output)


def save(fig: Any, output: Path) -> None:
    from .. import plots

    plots.save(fig, output)
    print(f"wrote {clean(output)}", file=sys.stderr)


def check_image(output: Path) -> None:
    """-o names an image file that may be written (before any slow work)."""
    if Path(output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise OptionError("use a .png, .svg or .pdf file name", file=str(output), where="--output")
    check_output(output)


def check_uses(kind: PlotKind, given: dict[str, Any]) -> None:
    """Each option given is one this kind of plot uses (``USES``)."""
    for option, value in given.items():
        if value is not None and kind not in USES[option]:
            users = ", ".join(str(k) for k in USES[option])
            raise OptionError(f"plot {kind} does not use {option} (it is for: {users})", where=option)


@dataclass(frozen=True)
class BudgetOptions:
    """The budget map's own options: its budgets and what colours it."""

    max_latency_ms: float | None
    max_mult_adds: str | None
    max_energy_uj: float | None
    metric: Metric
    fit: dict[str, Any]  # --max-ram, --max-flash and --planner as ``Budgets`` fields
    planner: str | None = None  # memory: the planner drawn


def figure(kind: PlotKind, s: Spec, named: bool, hardware: str | None, alpha: str | None, resolution: str | None,
           budget: BudgetOptions, threads: int, runtime: str = "torch", source: str | None = None) -> Any:
    """The ``kind`` plot; ``source`` is the SPEC argument as given (`plot memory` of a .tflite plans the file)."""
    from .. import plots

    if kind == PlotKind.budget:
        from ..explore.budgets import Budgets

        budgets = Budgets(mult_adds=parse_si(budget.max_mult_adds, where="--max-mult-adds")
                          if budget.max_mult_adds else None, latency_ms=latency_budget(budget.max_latency_ms),
                          energy_uj=energy_budget(budget.max_energy_uj), **budget.fit)
        axes = grid_axes(alpha or BUDGET_GRID[0], resolution or BUDGET_GRID[1], max_points=BUDGET_POINTS,
                         why=" cells in a budget map", layers=len(s.layers))
        return plots.budget_figure(s, load_hardware(hardware or DEFAULT_HARDWARE), *axes, budgets,
                                   METRIC_COLUMNS[budget.metric])
    if kind == PlotKind.pareto:
        return plots.pareto_figure(s if named else None)
    if kind == PlotKind.memory:
        return memory_figure(s, alpha, resolution, budget.planner, source)
    if kind in MEASURED:
        return measured_figure(kind, s, hardware, threads, one_point(s, alpha, resolution, kind.value), runtime)
    plots.check_accuracy_spec(s)
    return plots.accuracy_figure("mult_adds" if kind == PlotKind.accuracy_macs else "params", s)


def one_point(s: Spec, alpha: str | None, resolution: str | None, plot: str) -> Graph:
    """The network of a one-network plot (time-share, memory): one α and one input size, built now to check it."""
    alphas, sizes = grid_axes(alpha or "1", resolution or str(s.size), max_points=1,
                              why=f": plot {plot} draws one network (give one --alpha and one --resolution)")
    return build(s, alphas[0], resolution=sizes[0])


def measured_figure(kind: PlotKind, s: Spec, hardware: str | None, threads: int, graph: Graph,
                    runtime: str = "torch") -> Any:
    """The latency plots: measurements on this host under ``runtime`` (cached), predictions from a profile
    (default: the host's for that runtime, calibrated first when there is none). The networks, the profile and
    the cache are checked first."""
    from .. import plots

    graphs = grid_graphs(s) if kind == PlotKind.latency else [graph]
    given = predictor(hardware, threads, runtime) if hardware is not None else None
    if kind == PlotKind.time_share and given is not None and given.runtime != runtime:
        return predicted_share_figure(s, graph, given, runtime)
    prepare_measure(runtime)
    hw = given or predictor(hardware, threads, runtime)
    warn_if_elsewhere(hw, runtime)
    if kind == PlotKind.time_share:
        from ..explore.hardware import predict_layers
        from ..report.latency import type_shares

        measured = timed(graph, threads, runtime=runtime)
        types = type_shares(analyze(s, graph.alpha, resolution=graph.resolution), predict_layers(graph, hw),
                            measured.layers_s)
        return plots.time_share_figure(types, f"{s.name} (α={graph.alpha:g}, {graph.resolution} px): where the "
                                              f"Mult-Adds and the time go\n{runtime}, {plural(threads, 'thread')}, "
                                              f"predicted on {hw.name.split(' (')[0]}")
    doc = latency_grid(graphs, hw, threads, with_measure=True, runtime=runtime)
    return plots.latency_figure(doc["points"], hw.name, threads, doc["spearman"], doc["median_ape"], s.name,
                                runtime)


def predicted_share_figure(s: Spec, graph: Graph, hw: Hardware, runtime: str) -> Any:
    """time-share on a profile of another machine (a datasheet) or another runtime: this host's measurements
    under ``runtime`` would sit beside predictions for something else as if comparable, so only the Mult-Adds
    and the predictions are drawn (nothing is timed), and the title and one line on stderr say why."""
    from .. import plots
    from ..explore.hardware import predict_layers
    from ..report.latency import type_shares

    short = hw.name.split(" (")[0]
    why = ("the profile is another machine (a datasheet's)" if hw.runtime is None
           else f"the profile is of {hw.runtime}, not {runtime}")
    print(f"mobcost: note: measured time left out: {why}; this host's timings under {runtime} would not compare "
          f"with predictions on {clean(short)}", file=sys.stderr)
    types = type_shares(analyze(s, graph.alpha, resolution=graph.resolution), predict_layers(graph, hw), None)
    return plots.time_share_figure(types, f"{s.name} (α={graph.alpha:g}, {graph.resolution} px): where the "
                                          f"Mult-Adds and the time go\npredicted on {short} ({hw.dtype})\n"
                                          f"measured time left out: {why}")


def memory_figure(s: Spec, alpha: str | None, resolution: str | None, planner: str | None,
                  source: str | None = None) -> Any:
    """`plot memory`: one design point (one --alpha, one --resolution) under --planner (default tflm); a .tflite
    ``source`` planned on its own tensors, as `memory` plans it (the same function)."""
    from ..analysis.planners import PLANNERS
    from ..importers.tflite_memory import plan_source
    from ..plots.memory import memory_figure as draw
    from .memory import Planner, refuse_rescaled_file

    if planner is not None and planner not in PLANNERS:
        raise OptionError(f"must be one of {', '.join(PLANNERS)}, got {planner!r}", where="--planner")
    graph = one_point(s, alpha, resolution, "memory")
    refuse_rescaled_file(source, Planner(planner or "tflm"), False, graph, s.dtype or "int8", s)
    return draw(plan_source(source, graph, planner or "tflm", s.dtype or "int8"))
