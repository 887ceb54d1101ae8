"""`mobcost calibrate` and `mobcost latency`: a host profile from microbenchmarks; predicted (and measured)
latency per layer, per type and in total."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..analysis import Analysis, analyze
from ..explore.hardware import Hardware, load_hardware
from ..graph import build
from ..report.formats import TABULAR, Format
from ..spec import Spec
from ..units import plural
from .common import (
    AlphaOpt,
    FormatOpt,
    OutputOpt,
    ResolutionOpt,
    RhoOpt,
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
from .timing import host_hardware, latency_grid, timed

if TYPE_CHECKING:
    from ..pytorch.timing import Measurement


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
    from ..pytorch import require_torch

    require_torch()
    from ..pytorch.calibrate import CALIBRATION_STEPS, host_profile_path, save_profile
    from ..pytorch.calibrate import calibrate as run_calibration

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
    s = load(spec)  # arguments first: a bad one is reported before any calibration
    graph = None if grid else build(s, alpha, rho, resolution)
    hw = load_hardware(hardware) if hardware is not None else host_hardware_checked(threads)
    if graph is None:
        render_latency_grid(s, hw, threads, do_measure or hardware is None, not remeasure, fmt, output)
        return
    measured = None
    if do_measure:
        from ..pytorch import require_torch

        require_torch()
        measured = timed(graph, threads, use_cache=not remeasure)
    render_latency(analyze(s, alpha, rho, resolution), hw, threads, measured, fmt, output)


def host_hardware_checked(threads: int) -> Hardware:
    from ..pytorch import require_torch

    require_torch()
    return host_hardware(threads)


def render_latency(a: Analysis, hw: Hardware, threads: int, measured: Measurement | None, fmt: Format,
                   output: Path | None) -> None:
    from ..explore.hardware import predict_layers
    from ..report.latency import latency_dict, latency_tables

    predicted = predict_layers(a.graph, hw)
    doc = latency_dict(a, hw, threads, predicted, measured)
    if fmt == Format.json:
        emit_json(doc, output)
    elif fmt in TABULAR:  # tidy: one row per layer, the design point repeated on each
        point = {k: doc[k] for k in ("network", "alpha", "resolution", "threads", "hardware")}
        emit_records([{**point, **layer} for layer in doc["layers"]], fmt, output)
    else:
        render_rich(*latency_tables(a, hw, predicted, measured), output=output)


def render_latency_grid(s: Spec, hw: Any, threads: int, with_measure: bool, use_cache: bool, fmt: Format,
                        output: Path | None) -> None:
    from ..report.latency import grid_table

    doc = latency_grid(s, hw, threads, with_measure, use_cache)
    if fmt == Format.json:
        emit_json(doc, output)
    elif fmt in TABULAR:
        emit_records([{"threads": doc["threads"], "hardware": doc["hardware"], **p} for p in doc["points"]], fmt,
                     output)
    else:
        render_rich(grid_table(doc), output=output)

