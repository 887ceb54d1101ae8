"""The ``mobcost`` command: each command loads, computes and renders; errors become one line, exit 2."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from . import __version__
from .analysis import Analysis, Convention, analyze
from .bundled import bundled_names, load_bundled, resolve_spec_path
from .errors import MobcostError, OptionError
from .graph import Graph, build, check_multiplier
from .hardware import Hardware, load_hardware
from .report import By, Dtype, Format, Section, analysis_dict, human, layer_table, step_dicts, type_table
from .spec import Spec, load_spec
from .units import parse_si, plural

if TYPE_CHECKING:  # torch-backed: imported only where timing happens
    from .measure import Measurement

app = typer.Typer(
    help="Closed-form cost model and architecture explorer for efficient CNNs (MobileNets, Howard et al. 2017).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstring paragraphs wrap to the terminal; `code` renders as code
    context_settings={"help_option_names": ["-h", "--help"]},
)

F = TypeVar("F", bound=Callable[..., Any])

SpecArg = Annotated[
    str | None,
    typer.Argument(help="Spec file, or a bundled spec's name (see `mobcost specs`). Default: mobilenet_v1.",
                   show_default=False),
]
AlphaOpt = Annotated[float, typer.Option("--alpha", "-a", help="Width multiplier α in (0, 1].")]
RhoOpt = Annotated[float | None, typer.Option("--rho", "-r", help="Resolution multiplier ρ in (0, 1]: "
                                              "input size becomes round(ρ·size).", show_default=False)]
ResolutionOpt = Annotated[int | None, typer.Option("--resolution", "-R", help="Input size in pixels "
                                                   "(instead of --rho).", show_default=False)]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (atomically) "
                                                "instead of standard output.", show_default=False)]


def friendly(func: F) -> F:
    """Turn a MobcostError into ``mobcost: error: <place>: <message>`` on stderr and exit status 2."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MobcostError as exc:
            print(f"mobcost: error: {exc}", file=sys.stderr)
            raise typer.Exit(2) from None

    return run  # type: ignore[return-value]


def load(spec: str | None) -> Spec:
    return load_spec(resolve_spec_path(spec))


def emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    from .output import write_atomic

    write_atomic(output, text if text.endswith("\n") else text + "\n")
    print(f"wrote {output}", file=sys.stderr)


TABULAR = (Format.csv, Format.markdown, Format.latex)
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="rich, json, csv, markdown or latex.")]


def emit_records(records: list[dict[str, Any]], fmt: Format, output: Path | None) -> None:
    """Flat records as one table through pandas: tidy CSV (a row per record), Markdown or LaTeX.
    A list or mapping inside a record becomes one ``;``-separated cell."""
    import pandas as pd

    def cell(value: Any) -> Any:
        if isinstance(value, dict):
            return ";".join(f"{k}={v}" for k, v in value.items())
        return ";".join(map(str, value)) if isinstance(value, list) else value

    frame = pd.DataFrame.from_records([{k: cell(v) for k, v in r.items()} for r in records])
    text = {Format.csv: lambda: frame.to_csv(index=False, lineterminator="\n"),
            Format.markdown: lambda: frame.to_markdown(index=False, missingval="") + "\n",
            Format.latex: lambda: frame.to_latex(index=False, na_rep="")}[fmt]()
    emit(text, output)


def render_rich(*tables: Any, output: Path | None) -> None:
    from rich.console import Console

    if output is None:
        console = Console()
        for t in tables:
            console.print(t)
        return
    console = Console(record=True, width=120, file=io.StringIO())  # recorded, exported as plain text
    for t in tables:
        console.print(t)
    emit(console.export_text(), output)


def render_frame(a: Analysis, fmt: Format, by: By, dtype: Dtype) -> str:
    from .report import analysis_frame, document_frame, title

    if fmt == Format.csv:
        return analysis_frame(a, by, dtype).to_csv(index=False, lineterminator="\n")
    frame = document_frame(a, by, dtype)
    if fmt == Format.markdown:
        return f"**{title(a)}**\n\n" + frame.to_markdown(index=False, missingval="") + "\n"
    return frame.to_latex(index=False, na_rep="", caption=title(a).replace("α", r"$\alpha$").replace("ρ", r"$\rho$"),
                          label=f"tab:{a.network.lower()}")


@app.command()
@friendly
def table(
    spec: SpecArg = None,
    alpha: AlphaOpt = 1.0,
    rho: RhoOpt = None,
    resolution: ResolutionOpt = None,
    fmt: FormatOpt = Format.rich,
    by: Annotated[By, typer.Option("--by", help="One row per layer, or per layer type (the paper's Table 2).")]
    = By.layer,
    dtype: Annotated[Dtype | None, typer.Option("--dtype", help="Also show bytes for this element type.",
                                                show_default=False)] = None,
    sections: Annotated[list[Section] | None, typer.Option(
        "--section", "-s", help="Rich view: which sections to show (repeatable). Default: layers, types "
        "(Table 2) and shrink (Table 3); with --by type, types only.", show_default=False)] = None,
    classes: Annotated[int | None, typer.Option("--classes", help="Classifier width (the last layer with "
                                                "`out`): e.g. 1001, or 120 for Stanford Dogs.",
                                                show_default=False)] = None,
    fc_bias: Annotated[bool, typer.Option("--fc-bias/--no-fc-bias", help="Count FC biases as parameters "
                                          "(the paper's Table 2 does not).")] = True,
    bn_in_params: Annotated[bool, typer.Option("--bn-in-params", help="Count BatchNorm γ, β as parameters "
                                               "(as torchvision and Keras summaries do).")] = False,
    first_layer: Annotated[bool, typer.Option("--first-layer/--no-first-layer", help="Count the first layer "
                                              "with weights (some papers leave it out).")] = True,
    output: OutputOpt = None,
) -> None:
    """Mult-Adds, parameters and memory access of a network at width α and resolution ρ.

    The rich view shows the per-layer table (the paper's Table 1 columns plus costs), the per-type
    view (Table 2) and the shrinking steps (Table 3) for the given α and ρ.
    """
    s = load(spec)
    if classes is not None:
        from .variants import with_classes

        s = with_classes(s, classes)
    a = analyze(s, alpha, rho, resolution,
                Convention(fc_bias=fc_bias, bn_in_params=bn_in_params, first_layer=first_layer))
    if fmt == Format.rich:
        chosen = sections or ([Section.types] if by == By.type else list(Section))
        render_rich(*rich_sections(a, chosen, dtype, rho, resolution), output=output)
    elif fmt == Format.json:
        doc = analysis_dict(a, by, dtype or Dtype.fp32)
        example, network = shrink_views(a, rho, resolution)
        doc["table3"] = {"example_layer": step_dicts(example), "network": step_dicts(network)}
        emit(json.dumps(doc, indent=2, ensure_ascii=False), output)
    else:
        emit(render_frame(a, fmt, by, dtype or Dtype.fp32), output)


def shrink_views(a: Analysis, rho: float | None, resolution: int | None) -> tuple[Any, Any]:
    from .analysis import shrink_steps

    example = load_bundled("table3_separable")
    if resolution is not None:  # the example layer's 14×14 map scales like the network's input
        rho, resolution = resolution / a.graph.spec.size, None
    return (shrink_steps(example, a.graph.alpha, rho, thin_input=True),
            shrink_steps(a.graph.spec, a.graph.alpha, rho, resolution))


def rich_sections(a: Analysis, chosen: list[Section], dtype: Dtype | None, rho: float | None,
                  resolution: int | None) -> list[Any]:
    from .report import shrink_table

    out: list[Any] = []
    for section in dict.fromkeys(chosen):
        if section == Section.layers:
            out.append(layer_table(a, dtype))
        elif section == Section.types:
            out.append(type_table(a, dtype))
        else:
            out.append(shrink_table(*shrink_views(a, rho, resolution), a.network))
    return out


@app.command()
@friendly
def specs(fmt: FormatOpt = Format.rich) -> None:
    """List the bundled specs with their totals at α=1 and their own input size."""
    entries = []
    for name in bundled_names():
        s = load_bundled(name)
        t = analyze(s).totals
        entries.append({"name": name, "network": s.name, "description": s.description,
                        "input": [s.channels, s.size, s.size], "layers": len(s.layers),
                        "mult_adds": t.mult_adds, "params": t.params, "bn_params": t.bn_params,
                        "memory_access": t.memory_access, "source": s.source})
    if fmt == Format.json:
        emit(json.dumps({"specs": entries}, indent=2, ensure_ascii=False), None)
        return
    if fmt in TABULAR:
        emit_records(entries, fmt, None)
        return
    from rich.table import Table

    view = Table("Name", "Network", "Input", "Layers", "Mult-Adds", "Params", title="Bundled specs")
    for e in entries:
        c, h, w = e["input"]
        view.add_row(e["name"], e["network"], f"{h}×{w}×{c}", str(e["layers"]), human(e["mult_adds"]),
                     human(e["params"]))
    render_rich(view, output=None)


@app.command()
@friendly
def validate(spec: Annotated[str, typer.Argument(help="Spec file or bundled spec name.")],
             alpha: AlphaOpt = 1.0, rho: RhoOpt = None, resolution: ResolutionOpt = None) -> None:
    """Check a spec (syntax, keys, types, shapes) and say where it is wrong."""
    s = load(spec)
    a = analyze(s, alpha, rho, resolution)
    print(f"ok: {s.file}: {s.name}, {len(s.layers)} layers, {a.totals.mult_adds:,} Mult-Adds, "
          f"{a.totals.params:,} params at α={alpha:g}, {a.graph.resolution}×{a.graph.resolution}")


@app.command()
@friendly
def paper(
    tables: Annotated[list[str] | None, typer.Argument(help="Table numbers (1–10); default: all.",
                                                       show_default=False)] = None,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Regenerate the MobileNets paper's Tables 1–10 from specs, side by side with the published figures.

    Every figure is `match` (equal at the paper's printed precision, rounded or truncated) or `differs`,
    with a one-line explanation.
    """
    from .paper import TABLES, figures
    from .report import figure_dict, paper_summary, paper_tables

    wanted = [t.lower().removeprefix("table").strip() for t in tables or []]
    for t in wanted:
        if t not in TABLES:
            raise OptionError(f"no table {t!r}; the paper's resource tables are 1–10", where="TABLE")
    figs = figures(wanted or None)
    if fmt == Format.json:
        emit(json.dumps({"rows": [figure_dict(f) for f in figs]}, indent=2, ensure_ascii=False), output)
    elif fmt in TABULAR:
        emit_records([figure_dict(f) for f in figs], fmt, output)
    else:
        render_rich(*paper_tables(figs), paper_summary(figs), output=output)


class ParetoCost(StrEnum):
    mult_adds = "mult_adds"
    latency = "latency"
    params = "params"
    peak_activation = "peak_activation"


@app.command()
@friendly
def sweep(
    spec: SpecArg = None,
    alpha: Annotated[str, typer.Option("--alpha", "-a", help="α values: START:STOP:STEP (inclusive) or a comma "
                                       "list.")] = "0.25:1.0:0.25",
    resolution: Annotated[str, typer.Option("--resolution", "-R", help="Input sizes: START:STOP:STEP or a "
                                            "comma list.")] = "128:224:32",
    hardware: Annotated[str | None, typer.Option("--hardware", "-H", help="Hardware profile: a bundled name "
                                                 "(cortex_m7, rpi4, pixel1, edgetpu) or a YAML file. Adds "
                                                 "latency and its memory budgets.", show_default=False)] = None,
    dtype: Annotated[Dtype | None, typer.Option("--dtype", help="Element type for bytes (default: the "
                                                "profile's, else fp32).", show_default=False)] = None,
    max_mult_adds: Annotated[str | None, typer.Option(help="Budget, e.g. 150M.", show_default=False)] = None,
    max_params: Annotated[str | None, typer.Option(help="Budget, e.g. 1.5M.", show_default=False)] = None,
    max_weight_bytes: Annotated[str | None, typer.Option(help="Budget, e.g. 1MB or 1MiB.",
                                                         show_default=False)] = None,
    max_peak_activation: Annotated[str | None, typer.Option(help="Budget in bytes, e.g. 320KiB.",
                                                            show_default=False)] = None,
    max_latency_ms: Annotated[float | None, typer.Option(help="Budget (needs --hardware).",
                                                         show_default=False)] = None,
    best: Annotated[bool, typer.Option("--best", help="Print only the feasible point with the highest top-1 "
                                       "(the lowest cost when no accuracy is known).")] = False,
    pareto_cost: Annotated[ParetoCost, typer.Option(help="Cost axis of the Pareto front.")] = ParetoCost.mult_adds,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Evaluate every (α, resolution) design point: costs, peak activation memory, latency, accuracy, budgets.

    Points are computed as arrays (a 170,000-point grid takes well under a second). `fits` says whether a
    point meets every budget; `pareto` marks points no other point beats on both cost and top-1.
    """
    from .explore import Budgets

    alphas, resolutions = grid_axes(alpha, resolution)
    budgets = Budgets(*(None if v is None else parse_si(v, where=w, unit="B" if "bytes" in w or "peak" in w else "")
                        for v, w in ((max_mult_adds, "--max-mult-adds"), (max_params, "--max-params"),
                                     (max_weight_bytes, "--max-weight-bytes"),
                                     (max_peak_activation, "--max-peak-activation"))),
                      latency_ms=latency_budget(max_latency_ms))
    hw = load_hardware(hardware) if hardware else None
    cost = "latency_ms" if pareto_cost == ParetoCost.latency else str(pareto_cost)
    options = {"hardware": hw, "budgets": budgets, "dtype": str(dtype) if dtype else None, "pareto_cost": cost}
    s = load(spec)
    total = len(alphas) * len(resolutions)
    with progress_bar(total, "sweeping", enabled=total > 100_000) as advance:
        if fmt == Format.csv and not best:
            stream_sweep_csv(s, alphas, resolutions, options, output, advance)
            return
        from .explore import sweep as run_sweep

        result = run_sweep(s, alphas, resolutions, progress=advance, **options)
    render_sweep(result, fmt, best, output)


def grid_axes(alpha: str, resolution: str) -> tuple[list[float], list[int]]:
    """The α and resolution values of `--alpha` and `--resolution` ranges, each α checked to be in (0, 1]."""
    from .explore import parse_range

    alphas = parse_range(alpha, integer=False, where="--alpha")
    for a in alphas:
        check_multiplier("alpha", a)
    return alphas, parse_range(resolution, integer=True, where="--resolution")


def latency_budget(ms: float | None) -> float | None:
    if ms is not None and (not math.isfinite(ms) or ms <= 0):
        raise OptionError("must be a positive number of milliseconds", where="--max-latency-ms")
    return ms


def stream_sweep_csv(s: Spec, alphas: list[float], resolutions: list[int], options: dict[str, Any],
                     output: Path | None, advance: Callable[[float], None]) -> None:
    from .explore import stream_csv

    if output is None:
        stream_csv(s, alphas, resolutions, sys.stdout.write, progress=advance, **options)
        return
    from .output import atomic_stream

    with atomic_stream(output) as f:
        stream_csv(s, alphas, resolutions, f.write, progress=advance, **options)
    print(f"wrote {output}", file=sys.stderr)


def render_sweep(result: Any, fmt: Format, best: bool, output: Path | None) -> None:
    from .explore import point_records
    from .report import sweep_tables

    chosen = result.best()
    if best and chosen is None:
        raise OptionError("no design point meets the budgets", where="--best")
    indices = [chosen] if best else None
    if fmt == Format.json:
        emit(json.dumps({"points": point_records(result, indices)}, indent=2, ensure_ascii=False), output)
    elif fmt in TABULAR:
        emit_records(point_records(result, indices), fmt, output)
    else:
        render_rich(*sweep_tables(result, indices), output=output)


@contextlib.contextmanager
def progress_bar(total: int, label: str, *, enabled: bool) -> Iterator[Callable[[float], None]]:
    """A rich progress bar on stderr for long work; a no-op callback otherwise."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


ThreadsOpt = Annotated[int, typer.Option("--threads", "-t", min=1, help="CPU threads for torch (fixed, for "
                                          "repeatable timings).")]


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
    from .explore import Budgets

    if Path(output).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise OptionError("use a .png, .svg or .pdf file name", file=str(output), where="--output")
    from . import plots

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


@app.command()
@friendly
def calibrate(
    threads: ThreadsOpt = 1,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the profile here instead of the "
                                                "per-user default that `mobcost latency` reads.",
                                                show_default=False)] = None,
) -> None:
    """Measure this machine with microbenchmarks and write a hardware profile.

    Times single layers of generic shapes (1×1; depthwise 3×3 and 5×5; full 3×3, 5×5 and 7×7; fully
    connected; pooling; BatchNorm and ReLU), run one after another as inside a network, and memory
    bandwidth — never the networks it will predict — and writes peak rate, per-type efficiency and fixed
    costs, with the date, threads and torch version. Takes about 25 seconds.
    """
    from .crosscheck import require_torch

    require_torch()
    from .measure import CALIBRATION_STEPS, host_profile_path, save_profile
    from .measure import calibrate as run_calibration

    with progress_bar(CALIBRATION_STEPS, f"calibrating ({plural(threads, 'thread')})", enabled=True) as advance:
        profile = run_calibration(threads, advance)
    path = output or host_profile_path(threads)
    save_profile(profile, path)
    rates = {k: v for k, v in profile["measured"]["work_per_s"].items() if "pool" not in k}
    print(f"wrote {path}: peak {profile['peak_mult_adds_per_s'] / 1e9:.1f} G Mult-Adds/s "
          f"({', '.join(f'{k} {v / 1e9:.1f} G' for k, v in rates.items())}), "
          f"bandwidth {profile['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s", file=sys.stderr)


@app.command()
@friendly
def latency(
    spec: SpecArg = None,
    alpha: AlphaOpt = 1.0,
    rho: RhoOpt = None,
    resolution: ResolutionOpt = None,
    hardware: Annotated[str | None, typer.Option("--hardware", "-H", help="Profile to predict with (default: "
                                                 "this host's, calibrated on first use).",
                                                 show_default=False)] = None,
    do_measure: Annotated[bool, typer.Option("--measure", help="Also time the network on this CPU with torch "
                                             "(whole and per layer) and compare.")] = False,
    grid: Annotated[bool, typer.Option("--grid", help="The 16 α × resolution models of the paper, predicted "
                                       "(and with --measure, measured), with Spearman and median error.")] = False,
    threads: ThreadsOpt = 1,
    remeasure: Annotated[bool, typer.Option("--remeasure", help="Ignore cached measurements.")] = False,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Predicted latency per layer, per layer type and in total; measured beside it with --measure.

    Predictions are the roofline of a hardware profile (default: this host's, calibrated on first use).
    """
    from .hardware import predict_layers

    if hardware is not None:
        hw = load_hardware(hardware)
    else:
        from .crosscheck import require_torch

        require_torch()
        hw = host_hardware(threads)
    s = load(spec)
    if grid:
        render_latency_grid(s, hw, threads, do_measure or hardware is None, not remeasure, fmt, output)
        return
    graph = build(s, alpha, rho, resolution)
    measured = None
    if do_measure:
        from .crosscheck import require_torch

        require_torch()
        measured = timed(graph, threads, use_cache=not remeasure)
    from .report import latency_dict, latency_tables

    a = analyze(s, alpha, rho, resolution)
    predicted = predict_layers(graph, hw)
    doc = latency_dict(a, hw, threads, predicted, measured)
    if fmt == Format.json:
        emit(json.dumps(doc, indent=2, ensure_ascii=False), output)
    elif fmt in TABULAR:  # tidy: one row per layer, the design point repeated on each
        point = {k: doc[k] for k in ("network", "alpha", "resolution", "threads", "hardware")}
        emit_records([{**point, **layer} for layer in doc["layers"]], fmt, output)
    else:
        render_rich(*latency_tables(a, hw, predicted, measured), output=output)


def latency_grid(s: Spec, hw: Any, threads: int, with_measure: bool, use_cache: bool = True) -> dict[str, Any]:
    """The paper's 16 models: predicted totals, and measured ones (interleaved rounds) when asked."""
    from .hardware import predict_layers
    from .paper import GRID_ALPHAS, GRID_RESOLUTIONS
    from .report import grid_dict

    graphs = [build(s, a, resolution=r) for a in GRID_ALPHAS for r in GRID_RESOLUTIONS]
    if not with_measure:
        return grid_dict([(g.alpha, g.resolution, sum(predict_layers(g, hw)), None) for g in graphs], hw, threads)
    from .crosscheck import require_torch

    require_torch()
    from .measure import MEASURE_ROUNDS, compare_grid

    with progress_bar(MEASURE_ROUNDS * len(graphs), f"timing the 16 models ({MEASURE_ROUNDS} interleaved rounds)",
                      enabled=True) as advance:
        rows = compare_grid(graphs, hw, threads, use_cache=use_cache, progress=advance)
    return grid_dict([(c.alpha, c.resolution, c.predicted_total_s, c.measured.total_s) for c in rows], hw, threads)


def render_latency_grid(s: Spec, hw: Any, threads: int, with_measure: bool, use_cache: bool, fmt: Format,
                        output: Path | None) -> None:
    from .report import grid_table

    doc = latency_grid(s, hw, threads, with_measure, use_cache)
    if fmt == Format.json:
        emit(json.dumps(doc, indent=2, ensure_ascii=False), output)
    elif fmt in TABULAR:
        emit_records([{"threads": doc["threads"], "hardware": doc["hardware"], **p} for p in doc["points"]], fmt,
                     output)
    else:
        render_rich(grid_table(doc), output=output)


def timed(graph: Graph, threads: int, *, use_cache: bool = True) -> Measurement:
    """One network's measurement (cached), with a progress bar while it runs."""
    from .measure import MEASURE_ROUNDS, cache_has, measure

    fresh = not (use_cache and cache_has(graph, threads))
    label = f"timing {graph.spec.name} on {plural(threads, 'thread')} ({MEASURE_ROUNDS} rounds)"
    with progress_bar(MEASURE_ROUNDS, label, enabled=fresh) as advance:
        return measure(graph, threads, use_cache=use_cache, progress=advance)


def host_hardware(threads: int) -> Hardware:
    """This host's profile, calibrating first (with a progress bar) when there is none."""
    from .measure import CALIBRATION_STEPS, host_profile, host_profile_path

    missing = not host_profile_path(threads).exists()
    with progress_bar(CALIBRATION_STEPS, "no profile of this host yet: calibrating", enabled=missing) as advance:
        return host_profile(threads, advance)


def measured_figure(kind: PlotKind, s: Spec, threads: int) -> Any:
    """The latency plots: measurements on this host (cached), predictions from its calibrated profile."""
    from . import plots
    from .crosscheck import require_torch

    require_torch()
    from .hardware import predict_layers
    from .report import type_shares

    hw = host_hardware(threads)
    if kind == PlotKind.time_share:
        graph = build(s)
        measured = timed(graph, threads)
        types = type_shares(analyze(s), predict_layers(graph, hw), measured.layers_s)
        return plots.time_share_figure(types, f"{s.name}: where the Mult-Adds and the time go "
                                              f"({plural(threads, 'thread')}, {hw.name.split(' (')[0]})")
    doc = latency_grid(s, hw, threads, with_measure=True)
    return plots.latency_figure(doc["points"], hw.name, threads, doc["spearman"], doc["median_ape"])


@app.command()
@friendly
def check(
    spec: SpecArg = None,
    alpha: AlphaOpt = 1.0,
    rho: RhoOpt = None,
    resolution: ResolutionOpt = None,
    every: Annotated[bool, typer.Option("--all", help="Every bundled spec × α ∈ {1, .75, .5, .25} × four "
                                        "resolutions (224…128, or the same ratios of a spec's own size).")] = False,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Cross-check every layer's closed-form counts against fvcore and torch's FlopCounterMode.

    Builds the network in torch (BN and activations included), counts it with fvcore (one flop per
    multiply-add) and torch.utils.flop_counter (two per multiply-add), and compares per layer.
    Exit status 0 only if every layer agrees exactly, 1 otherwise.
    """
    from .crosscheck import require_torch

    require_torch()
    ok = check_all(fmt, output) if every else check_one(load(spec), alpha, rho, resolution, fmt, output)
    if not ok:
        raise typer.Exit(1)


def check_one(spec: Spec, alpha: float, rho: float | None, resolution: int | None, fmt: Format,
              output: Path | None) -> bool:
    from .crosscheck import check_graph
    from .graph import build
    from .report import check_dict, check_table

    report = check_graph(build(spec, alpha, rho, resolution))
    doc = check_dict(report)
    if fmt == Format.json:
        emit(json.dumps(doc, indent=2, ensure_ascii=False), output)
    elif fmt in TABULAR:  # one row per layer
        point = {k: doc[k] for k in ("network", "alpha", "resolution")}
        emit_records([{**point, **layer} for layer in doc["layers"]], fmt, output)
    else:
        render_rich(check_table(report), output=output)
    return report.all_match


def check_all(fmt: Format, output: Path | None) -> bool:
    from rich.console import Console
    from rich.progress import Progress

    from .crosscheck import check_point, grid
    from .report import point_dict, points_table

    todo = grid([load_bundled(name) for name in bundled_names()])
    points = []
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("cross-checking", total=len(todo))
        for spec, alpha, res in todo:
            progress.update(task, description=f"{spec.name} α={alpha:g} {res}px")
            points.append(check_point(spec, alpha, res))
            progress.advance(task)
    ok = all(p.report.all_match for p in points if p.report is not None)
    if fmt == Format.json:
        emit(json.dumps({"all_match": ok, "points": [point_dict(p) for p in points]}, indent=2,
                        ensure_ascii=False), output)
    elif fmt in TABULAR:
        emit_records([point_dict(p) for p in points], fmt, output)
    else:
        render_rich(points_table(points), output=output)
    return ok


@app.command()
@friendly
def schema(output: OutputOpt = None) -> None:
    """Print the JSON Schema of the spec format (for editor completion and validation)."""
    from .schema import spec_schema

    emit(json.dumps(spec_schema(), indent=2), output)


def version_callback(value: bool) -> None:
    if value:
        print(f"mobcost {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Closed-form cost model and architecture explorer for efficient CNNs."""
