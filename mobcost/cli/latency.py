"""`mobcost calibrate` and `mobcost latency`: a host profile from microbenchmarks; predicted (and measured)
latency per layer, per type and in total."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..analysis import Analysis, analyze
from ..errors import OptionError
from ..explore.hardware import Hardware
from ..graph import Graph, build, check_multiplier
from ..report.formats import TABULAR, Format, clean
from ..units import plural
from .common import (
    AlphaOpt,
    FormatOpt,
    OutputOpt,
    ResolutionOpt,
    RhoOpt,
    Runtime,
    RuntimeOpt,
    SpecArg,
    ThreadsOpt,
    app,
    emit_json,
    emit_records,
    friendly,
    load,
    progress_bar,
    render_rich,
)
from .devices import warn_unexercised
from .sweep import check_output
from .timing import (
    grid_graphs,
    interactive,
    latency_grid,
    predictor,
    prepare_measure,
    require_runtime,
    say_calibrating,
    timed,
    warn_if_elsewhere,
)

if TYPE_CHECKING:
    from ..measure.timing import Measurement


@app.command()
@friendly
def calibrate(
    threads: ThreadsOpt = 1,
    runtime: RuntimeOpt = Runtime.torch,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the profile here instead of the "
                                                "per-user default that `mobcost latency` reads.",
                                                show_default=False)] = None,
    from_measurements: Annotated[Path | None, typer.Option(
        "--from-measurements", help="Fit a device's profile to networks measured on it instead: a CSV with the header "
        "spec,alpha,resolution,classes,latency_ms,energy_uj (needs --output).", show_default=False)] = None,
    base: Annotated[str | None, typer.Option("--base", help="With --from-measurements: the profile whose figures are "
                                             "the fit's prior (default cortex_m7).", show_default=False)] = None,
) -> None:
    """Measure this machine with microbenchmarks and write a hardware profile for a runtime.

    Times single layers of generic shapes (1×1; depthwise 3×3 and 5×5; full 3×3, 5×5 and 7×7; fully
    connected; pooling; on token sequences linear layers, whole attention layers and LayerNorm), run one after
    another as inside a network, and memory bandwidth — never the networks it will predict — and writes peak
    rate, per-type efficiency and fixed costs, with the date, threads, runtime and its version. Eager torch
    also times BatchNorm and ReLU passes and each other activation's extra over ReLU (about 30 s). ONNX
    Runtime and LiteRT run each layer exported as deployed (BatchNorm folded, ReLU fused); ORT also times
    each activation's extra pass and widths its blocked layout cannot take (about 55 s); LiteRT converts
    every layer first (about 70 s, 25 s once its conversions are cached).
    """
    if from_measurements is not None:  # a device measured elsewhere: nothing is timed here
        from .devices import calibrate_from_measurements

        return calibrate_from_measurements(from_measurements, output, base)
    from ..measure.profiles import check_profile_path, host_profile_path, save_profile
    from ..measure.schedule import CALIBRATION_STEPS
    from ..measure.timing import calibrate as run_calibration
    from ..runtimes import runtime as runtime_named

    runtime = Runtime(runtime).value  # type: ignore[assignment]  # a plain string from here on
    require_runtime(runtime)
    path = output or host_profile_path(threads, runtime)
    where = "--output" if output else None
    check_output(output)
    check_profile_path(path, where)  # before the timing
    label = f"calibrating {runtime} ({plural(threads, 'thread')})"
    say_calibrating(label, runtime)
    with progress_bar(CALIBRATION_STEPS, label, enabled=interactive()) as advance:
        profile = run_calibration(threads, runtime_named(runtime), advance)
    save_profile(profile, path, where)
    say_written(path, profile)
    warn_unsteady(profile["measured"].get("round_spread"))


@app.command()
@friendly
def latency(
    spec: SpecArg = None,
    alpha: AlphaOpt = 1.0,
    rho: RhoOpt = None,
    resolution: ResolutionOpt = None,
    hardware: Annotated[str | None, typer.Option("--hardware", "-H", help="Profile to predict with (default: "
                                                 "this host's, calibrated on first use, ~30 s).",
                                                 show_default=False)] = None,
    do_measure: Annotated[bool, typer.Option("--measure", help="Also time the network on this CPU under the "
                                             "runtime (whole and per layer) and compare.")] = False,
    grid: Annotated[bool, typer.Option("--grid", help="The paper's 16 α × resolution models (α 1, 0.75, 0.5, "
                                       "0.25 × 224, 192, 160, 128 px) of the spec (an attention model's too: "
                                       "deit_tiny, mobilevit_xs), predicted "
                                       "(and with --measure, measured: ~40 s), with Spearman and median error. "
                                       "Without --hardware it predicts with this host's profile, calibrating "
                                       "first when there is none.")] = False,
    threads: ThreadsOpt = 1,
    runtime: RuntimeOpt = Runtime.torch,
    remeasure: Annotated[bool, typer.Option("--remeasure", help="Ignore cached measurements.")] = False,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Predicted latency per layer, per layer type and in total; measured beside it with --measure.

    Predictions are the roofline of a hardware profile (default: this host's for --runtime, calibrated on
    first use). Every argument is checked before any calibration or timing.
    """
    check_output(output)
    runtime = Runtime(runtime).value  # type: ignore[assignment]  # a plain string from here on
    s = load(spec)
    check_multiplier("alpha", alpha)
    if grid and (alpha != 1.0 or rho is not None or resolution is not None):
        raise OptionError("--grid runs the paper's 16 α × resolution models; --alpha, --rho and --resolution do "
                          "not apply", where="--grid")
    graphs = grid_graphs(s) if grid else [build(s, alpha, rho, resolution)]
    if do_measure:
        prepare_measure(runtime)
    hw = predictor(hardware, threads, runtime)
    warn_unexercised(graphs[0], hw)
    if do_measure:
        warn_if_elsewhere(hw, runtime)
    shown = runtime if do_measure else hw.runtime  # the runtime the figures describe (none: a datasheet's)
    if grid:
        render_latency_grid(graphs, hw, threads, do_measure, not remeasure, fmt, output, runtime, shown)
        return
    measured = timed(graphs[0], threads, use_cache=not remeasure, runtime=runtime) if do_measure else None
    render_latency(analyze(s, alpha, rho, resolution), hw, threads, measured, fmt, output, shown)


def render_latency(a: Analysis, hw: Hardware, threads: int, measured: Measurement | None, fmt: Format,
                   output: Path | None, runtime: str | None = "torch") -> None:
    from ..explore.hardware import predict_layers
    from ..report.latency import latency_dict, latency_tables

    predicted = predict_layers(a.graph, hw)
    doc = latency_dict(a, hw, threads, predicted, measured, runtime)
    if fmt == Format.json:
        emit_json(doc, output)
    elif fmt in TABULAR:  # tidy: one row per layer, the design point repeated on each
        point = {k: doc[k] for k in ("network", "alpha", "resolution", "threads", "hardware", "runtime")}
        emit_records([{**point, **layer} for layer in doc["layers"]], fmt, output)
    else:
        render_rich(*latency_tables(a, hw, predicted, measured, runtime), output=output)


def render_latency_grid(graphs: list[Graph], hw: Any, threads: int, with_measure: bool, use_cache: bool,
                        fmt: Format, output: Path | None, runtime: str = "torch", shown: str | None = None) -> None:
    from ..report.latency import grid_table

    doc = latency_grid(graphs, hw, threads, with_measure, use_cache, runtime)
    doc["runtime"] = shown
    if fmt == Format.json:
        emit_json(doc, output)
    elif fmt in TABULAR:
        emit_records([{"threads": doc["threads"], "hardware": doc["hardware"], "runtime": doc["runtime"], **p}
                      for p in doc["points"]], fmt, output)
    else:
        render_rich(grid_table(doc), output=output)


UNSTEADY = 0.10  # round_spread above which a calibration says the machine was busy (0.05 quiet, 0.2 busy here)


def warn_unsteady(spread: float | None) -> None:
    """Say so when the large microbenchmarks' times spread widely between rounds: another tenant was using the
    cache, and a calibration taken then predicts differently from one taken on a quiet machine."""
    if spread is not None and spread > UNSTEADY:
        print(f"warning: the machine was busy during calibration: large layers' times spread {100 * spread:.0f}% "
              f"between rounds (about 5% on a quiet machine); predictions from this profile can differ from a "
              "quiet calibration's by several percent: calibrate again when the machine is quiet", file=sys.stderr)


def say_written(path: Path, profile: dict[str, Any]) -> None:
    """The calibrated profile's path and its main figures, on stderr."""
    # Mult-Adds rates only: pooling's are window reads, LayerNorm's elements
    rates = {k: v for k, v in profile["measured"]["work_per_s"].items() if "pool" not in k and k != "ln"}
    activations = profile.get("activation_bandwidth_bytes_per_s")
    print(f"wrote {clean(path)}: peak {profile['peak_mult_adds_per_s'] / 1e9:.1f} G Mult-Adds/s "
          f"({', '.join(f'{k} {v / 1e9:.1f} G' for k, v in rates.items())}), "
          f"bandwidth {profile['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s"
          + (f", activations {activations / 1e9:.1f} GB/s" if activations else ""), file=sys.stderr)
