"""`mobcost sweep`: every (α, resolution) design point as arrays, with budgets and the Pareto front."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import OptionError
from ..explore.hardware import load_hardware
from ..explore.ranges import grid_axes
from ..report.formats import TABULAR, Format, clean
from ..report.table import Dtype
from ..spec import Spec
from ..units import parse_si
from .common import (
    ConventionOpt,
    FormatOpt,
    OutputOpt,
    SpecArg,
    app,
    emit,
    emit_json,
    emit_records,
    friendly,
    load,
    progress_bar,
    render_rich,
)
from .timing import interactive

if TYPE_CHECKING:
    from ..explore.budgets import Budgets
    from ..explore.stream import StreamedBest


class ParetoCost(StrEnum):
    mult_adds = "mult_adds"
    latency = "latency"
    params = "params"
    peak_activation = "peak_activation"
    energy = "energy"


EnergyBudgetOpt = Annotated[float | None, typer.Option(help="Budget: energy per inference in µJ (needs --hardware).",
                                                      show_default=False)]
BestOpt = Annotated[bool, typer.Option("--best", help="Print only the best point that meets every budget, by the "
                                       "first objective: the highest top-1, or, when no accuracy is known, the most "
                                       "Mult-Adds (then params).")]
ObjectivesOpt = Annotated[str | None, typer.Option("--objectives", help="The Pareto front's objectives, a comma list "
                                                   "of up to 3: accuracy, capacity (Mult-Adds, maximised), "
                                                   "mult_adds, params, peak_activation, weight_bytes, memory_access, "
                                                   "latency, energy. The first ranks --best.", show_default=False)]
ParetoCostOpt = Annotated[ParetoCost | None, typer.Option(help="Cost axis of the Pareto front against accuracy "
                                                          "(default mult_adds), or against capacity when no accuracy "
                                                          "is known (default latency with --hardware, else params).",
                                                          show_default=False)]


HARDWARE_HELP = ("Hardware profile: a bundled name (cortex_m7, rpi4, pixel1, edgetpu, or one of ten MLPerf Tiny boards "
                 "fitted to their results, e.g. nucleo_u575zi_q_st) or a YAML file. Adds latency, energy and its "
                 "memory budgets.")


@app.command()
@friendly
def sweep(
    spec: SpecArg = None,
    alpha: Annotated[str, typer.Option("--alpha", "-a", help="α values: START:STOP:STEP (inclusive) or a comma "
                                       "list.")] = "0.25:1.0:0.25",
    resolution: Annotated[str, typer.Option("--resolution", "-R", help="Input sizes: START:STOP:STEP or a "
                                            "comma list.")] = "128:224:32",
    hardware: Annotated[str | None, typer.Option("--hardware", "-H", help=HARDWARE_HELP, show_default=False)] = None,
    dtype: Annotated[Dtype | None, typer.Option("--dtype", help="Element type for bytes (default: the "
                                                "profile's, else fp32).", show_default=False)] = None,
    max_mult_adds: Annotated[str | None, typer.Option(help="Budget, e.g. 150M.", show_default=False)] = None,
    max_params: Annotated[str | None, typer.Option(help="Budget, e.g. 1.5M.", show_default=False)] = None,
    max_weight_bytes: Annotated[str | None, typer.Option(help="Budget, e.g. 1MB or 1MiB.", show_default=False)] = None,
    max_peak_activation: Annotated[str | None, typer.Option(help="Budget in bytes, e.g. 320KiB.",
                                                            show_default=False)] = None,
    max_latency_ms: Annotated[float | None, typer.Option(help="Budget (needs --hardware).",
                                                         show_default=False)] = None,
    max_energy_uj: EnergyBudgetOpt = None, max_ram: MaxRamOpt = None, max_flash: MaxFlashOpt = None,
    planner: PlannerOpt = None, best: BestOpt = False,
    objectives: ObjectivesOpt = None,
    pareto_cost: ParetoCostOpt = None,
    convention: ConventionOpt = None,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Evaluate every (α, resolution) design point: costs, peak activation, latency, energy, accuracy, budgets.

    Points are computed as arrays (170,000 points in well under a second): up to 10⁷ with `--format csv` or
    `--best` (streamed), 10⁶ in the rich view, 10⁵ as json, markdown or latex. `fits`: the point meets every
    budget (none does: exit 1, the tightest named); `pareto`: none matches or beats it on every objective.
    """
    check_output(output)
    s = load(spec)
    alphas, resolutions = grid_axes(alpha, resolution, layers=len(s.layers), **grid_limit(fmt, best))
    budgets = replace(sweep_budgets(max_mult_adds, max_params, max_weight_bytes, max_peak_activation,
                                    max_latency_ms, max_energy_uj), **fit_budgets(max_ram, max_flash, planner))
    options = sweep_options(budgets, hardware, dtype, pareto_cost, objectives, convention)
    warn_lower_bound(budgets, options["hardware"])
    total = len(alphas) * len(resolutions)
    with progress_bar(total, "sweeping", enabled=total > 100_000 and interactive()) as advance:
        if best:
            from ..explore.stream import stream_best

            return render_best(stream_best(s, alphas, resolutions, progress=advance, **options), fmt, output)
        if fmt == Format.csv:
            return stream_sweep_csv(s, alphas, resolutions, options, output, advance)
        from ..explore.grid import sweep as run_sweep

        result = run_sweep(s, alphas, resolutions, progress=advance, **options)
    render_sweep(result, fmt, output)


def warn_lower_bound(budgets: Budgets, hw: Any) -> None:
    """An energy budget against a profile with no active power compares a lower bound (the per-operation table)
    with it: a point may fit it and still draw far more on the device."""
    if budgets.energy_uj is not None and hw is not None and hw.active_power_mw is None:
        print(f"mobcost: warning: {clean(hw.file or hw.name)} has no active power: its energy is the per-operation "
              "table's lower bound, so a point within --max-energy-uj may still exceed it on the device",
              file=sys.stderr)


def energy_basis(hw: Any) -> dict[str, Any]:
    """The JSON keys saying what a sweep's energy_uj is (with a profile only)."""
    if hw is None:
        return {}
    basis = "table_lower_bound" if hw.active_power_mw is None else "active_power"
    return {"energy_basis": basis, "active_power_mw": hw.active_power_mw}


def sweep_options(budgets: Budgets, hardware: str | None, dtype: Dtype | None, pareto_cost: ParetoCost | None,
                  objectives: str | None, convention: Any) -> dict[str, Any]:
    """The keyword arguments of the explore functions (the budgets parsed first, then the profile read)."""
    names = None if objectives is None else [o for o in objectives.split(",") if o.strip()]
    if objectives is not None and not names:
        raise OptionError("name at least one objective, e.g. capacity,latency", where="--objectives")
    return {"hardware": load_hardware(hardware) if hardware else None, "budgets": budgets,
            "dtype": str(dtype) if dtype else None, "pareto_cost": str(pareto_cost) if pareto_cost else None,
            "objectives": names, "convention": str(convention.value) if convention else None}


# Points a view may hold: JSON, Markdown and LaTeX records take ~1–3 KB a point in memory; the rich view
# keeps every column (~100 bytes a point) but prints 40 rows; CSV and --best stream.
RECORD_POINTS = 100_000


def grid_limit(fmt: Format, best: bool) -> dict[str, Any]:
    from ..explore.grid import MAX_MEMORY_POINTS
    from ..explore.ranges import MAX_POINTS, STREAM_HINT

    if best or fmt == Format.csv:
        return {"max_points": MAX_POINTS}
    limit = MAX_MEMORY_POINTS if fmt == Format.rich else RECORD_POINTS
    return {"max_points": limit, "why": f" with --format {fmt} (every point is held in memory); {STREAM_HINT}"}


def check_output(output: Path | None) -> None:
    """The output's folder must exist, and the output must not be a folder: checked before any slow work."""
    if output is None:
        return
    target = Path(output)
    try:
        if target.is_dir():
            raise OptionError("is a directory", file=str(target), where="--output")
        folder = target.parent
        if not folder.is_dir():
            raise OptionError(f"folder {str(folder)!r} does not exist", file=str(target), where="--output")
    except (OSError, ValueError) as exc:
        raise OptionError(f"cannot use this path: {getattr(exc, 'strerror', None) or exc}", file=str(target),
                          where="--output") from None


def sweep_budgets(mult_adds: str | None, params: str | None, weight_bytes: str | None, peak_activation: str | None,
                  latency_ms: float | None, energy_uj: float | None = None) -> Budgets:
    from ..explore.budgets import Budgets

    return Budgets(*(None if v is None else parse_si(v, where=w, unit="B" if "bytes" in w or "peak" in w else "")
                     for v, w in ((mult_adds, "--max-mult-adds"), (params, "--max-params"),
                                  (weight_bytes, "--max-weight-bytes"), (peak_activation, "--max-peak-activation"))),
                   latency_ms=latency_budget(latency_ms), energy_uj=energy_budget(energy_uj))


MaxRamOpt = Annotated[str | None, typer.Option(help="Budget on RAM, e.g. 256KiB: --planner's arena plus TFLM's "
                                             "persistent bytes (the planner runs once a point).",
                                             show_default=False)]
MaxFlashOpt = Annotated[str | None, typer.Option(help="Budget on flash, e.g. 1MiB: weights, biases and "
                                               "quantization parameters as a TFLite file stores them.",
                                               show_default=False)]
PlannerOpt = Annotated[str | None, typer.Option(help="Planner of --max-ram: lower-bound, tflm or tflite (default: "
                                                "the profile's, else tflm).", show_default=False)]


def fit_budgets(ram: str | None, flash: str | None, planner: str | None) -> dict[str, Any]:
    """--max-ram, --max-flash and --planner as ``Budgets`` fields (sizes as the other byte budgets take them)."""
    from ..analysis.planners import RUNTIME_PLANNERS as PLANNERS

    if planner is not None and planner not in PLANNERS:
        raise OptionError(f"must be {' or '.join(PLANNERS)}, got {planner!r}", where="--planner")
    return {"ram_bytes": None if ram is None else parse_si(ram, where="--max-ram", unit="B"),
            "flash_bytes": None if flash is None else parse_si(flash, where="--max-flash", unit="B"),
            "planner": planner}


def latency_budget(ms: float | None) -> float | None:
    if ms is not None and (not math.isfinite(ms) or ms <= 0):
        raise OptionError("must be a positive number of milliseconds", where="--max-latency-ms")
    return ms


def energy_budget(uj: float | None) -> float | None:
    if uj is not None and (not math.isfinite(uj) or uj <= 0):
        raise OptionError("must be a positive number of microjoules", where="--max-energy-uj")
    return uj


def stream_sweep_csv(s: Spec, alphas: list[float], resolutions: list[int], options: dict[str, Any],
                     output: Path | None, advance: Callable[[float], None]) -> None:
    from ..explore.budgets import Tally
    from ..explore.stream import stream_csv

    tally = Tally()
    if output is None:
        stream_csv(s, alphas, resolutions, sys.stdout.write, progress=advance, tally=tally, **options)
    else:
        from ..files import atomic_stream

        with atomic_stream(output) as f:
            rows = stream_csv(s, alphas, resolutions, f.write, progress=advance, tally=tally, **options)
        print(f"wrote {clean(output)}: {rows:,} design points", file=sys.stderr)
    say_left_out(tally.dropped)
    if not tally.fits:
        from ..report.sweep import no_fit_note

        finish(no_fit_note(tally, options["budgets"].with_hardware(options["hardware"]), options["hardware"]),
               Format.csv)


def say_left_out(dropped: list[str]) -> None:
    """A table has no place for the grid's points that build no network: fewer rows, unexplained, would mislead."""
    if dropped:
        more = f"; and {len(dropped) - 5} more" if len(dropped) > 5 else ""
        print(f"mobcost: left out (no valid network): {'; '.join(dropped[:5])}{more}", file=sys.stderr)


def render_sweep(result: Any, fmt: Format, output: Path | None) -> None:
    from ..explore.grid import point_records
    from ..report.sweep import sweep_tables

    note = None
    if not result.columns["fits"].any():
        from ..explore.budgets import Tally
        from ..report.sweep import no_fit_note

        tally = Tally()
        tally.add(result.columns, result.budgets)
        note = no_fit_note(tally, result.budgets, result.hardware)
    dropped = list(result.factors.dropped)  # (α, size) points that build no valid network
    if fmt == Format.json:
        extra = {"objectives": list(result.objectives), "left_out": dropped, **energy_basis(result.hardware),
                 **({"note": note} if note else {})}
        emit_json({**convention_key(result), **extra, "points": point_records(result)}, output)
        say_left_out(dropped)
    elif fmt in TABULAR:
        emit_records(point_records(result), fmt, output)
        say_left_out(dropped)
    else:
        render_rich(*sweep_tables(result, note=note), output=output)
    finish(note, fmt)


# "No point meets the budgets" is an answer, not a mistake in the command: 1, as grep's "no match", where
# bad input is 2.
NO_FIT = 1


def finish(note: str | None, fmt: Format) -> None:
    """Exit 1 when no point fits, the reason on standard error too unless the rich view printed it."""
    if note is None:
        return
    if fmt != Format.rich:
        print(f"mobcost: {note}", file=sys.stderr)
    raise typer.Exit(NO_FIT)


def convention_key(result: Any) -> dict[str, str]:
    """``{"convention": NAME}`` first in the JSON document when ``--convention`` was given (else nothing)."""
    c = result.factors.convention
    return {} if c is None else {"convention": c.name}


def render_best(streamed: StreamedBest, fmt: Format, output: Path | None) -> None:
    """The best point alone, with what it was ranked by; the rich view's caption counts the whole grid
    (which was never held). No point fitting is a result: valid output, the tightest budget, exit 1."""
    from ..explore.grid import point_records
    from ..report.sweep import best_line, counts_line, no_fit_note, sweep_tables

    p = streamed.plan
    note = None if streamed.best else no_fit_note(streamed.tally, p.budgets, p.hardware)
    records = point_records(streamed.best) if streamed.best else []
    if fmt == Format.json:
        from ..explore.objectives import best_by

        emit_json({**convention_key(p), "objectives": list(p.objectives), "best_by": p.objectives[0],
                   **energy_basis(p.hardware), "note": note or best_by(p.objectives[0], p.accuracy is not None),
                   "points": records}, output)
    elif fmt in TABULAR:
        emit_best_records(records, p, fmt, output, note)
    else:
        counts = counts_line(streamed.points, len(records), streamed.fits, streamed.pareto, p.objectives)
        if streamed.best is None:
            render_rich("\n".join([counts, best_line(p.objectives, p.accuracy is not None),
                                   note[0].upper() + note[1:] + "."]),
                        output=output)
        else:
            table, caption = sweep_tables(streamed.best, [0])
            render_rich(table, caption.replace_first(counts), output=output)
    finish(note, fmt)


def emit_best_records(records: list[dict[str, Any]], p: Any, fmt: Format, output: Path | None,
                      note: str | None) -> None:
    """CSV, Markdown or LaTeX: the best point with a ``best_by`` column; with no point, CSV keeps its header
    (a reader of the file sees the columns it would have had) and the others say why."""
    if records:
        return emit_records([{**r, "best_by": p.objectives[0]} for r in records], fmt, output)
    if fmt == Format.csv:
        from ..explore.stream import csv_columns

        return emit(",".join((*csv_columns(p), "best_by")), output)
    emit(f"*{note}*" if fmt == Format.markdown else f"% {note}", output)
