"""`mobcost check`: every layer's closed-form counts against fvcore and FlopCounterMode on a torch build."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..report.formats import TABULAR, Format
from ..spec import Spec, bundled_names, load_bundled
from .common import (
    AlphaOpt,
    FormatOpt,
    OutputOpt,
    ResolutionOpt,
    RhoOpt,
    SpecArg,
    app,
    emit_json,
    emit_records,
    friendly,
    load,
    render_rich,
)


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
    from ..pytorch import require_torch

    require_torch()
    ok = check_all(fmt, output) if every else check_one(load(spec), alpha, rho, resolution, fmt, output)
    if not ok:
        raise typer.Exit(1)


def check_one(spec: Spec, alpha: float, rho: float | None, resolution: int | None, fmt: Format,
              output: Path | None) -> bool:
    from ..graph import build
    from ..pytorch.crosscheck import check_graph
    from ..report.check import check_dict, check_table

    report = check_graph(build(spec, alpha, rho, resolution))
    doc = check_dict(report)
    if fmt == Format.json:
        emit_json(doc, output)
    elif fmt in TABULAR:  # one row per layer
        point = {k: doc[k] for k in ("network", "alpha", "resolution")}
        emit_records([{**point, **layer} for layer in doc["layers"]], fmt, output)
    else:
        render_rich(check_table(report), output=output)
    return report.all_match


def check_all(fmt: Format, output: Path | None) -> bool:
    from rich.console import Console
    from rich.progress import Progress

    from ..pytorch.crosscheck import check_point, grid
    from ..report.check import point_dict, points_table

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
        emit_json({"all_match": ok, "points": [point_dict(p) for p in points]}, output)
    elif fmt in TABULAR:
        emit_records([point_dict(p) for p in points], fmt, output)
    else:
        render_rich(points_table(points), output=output)
    return ok

