"""`mobcost check`: every layer's closed-form counts against fvcore and FlopCounterMode on a torch build."""

from __future__ import annotations

import sys
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
    progress_bar,
    render_rich,
)
from .timing import interactive


@app.command()
@friendly
def check(
    spec: SpecArg = None,
    alpha: AlphaOpt = 1.0,
    rho: RhoOpt = None,
    resolution: ResolutionOpt = None,
    every: Annotated[bool, typer.Option("--all", help="Every bundled spec × α ∈ {1, .75, .5, .25} × four "
                                        "resolutions (224…128, or the same ratios of a spec's own size).")] = False,
    peers: Annotated[bool | None, typer.Option(
        "--peers/--no-peers", help="Also run the other counters installed (ptflops' two backends, thop, torchinfo, "
        "onnx-tool) and compare each total with mobcost's under that counter's rules. Default: on for one "
        "spec, off with --all.", show_default=False)] = None,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Cross-check every layer's closed-form counts against fvcore and torch's FlopCounterMode.

    Builds the network in torch (BN and activations included), counts it with fvcore (one flop per
    multiply-add) and torch.utils.flop_counter (two per multiply-add), and compares per layer; then each
    other counter installed (ptflops, thop, torchinfo, onnx-tool) in total, against mobcost's figure under
    that counter's rules (`mobcost table --convention`). Exit status 0 only if everything agrees exactly, 1
    otherwise.
    """
    from ..torchside import require_torch

    require_torch()
    ok = (check_all(fmt, output, bool(peers)) if every
          else check_one(load(spec), alpha, rho, resolution, fmt, output, peers is not False))
    if not ok:
        raise typer.Exit(1)


def check_one(spec: Spec, alpha: float, rho: float | None, resolution: int | None, fmt: Format,
              output: Path | None, peers: bool = True) -> bool:
    from ..graph import build
    from ..report.check import check_dict, check_table, peers_table
    from ..torchside.crosscheck import check_graph
    from ..torchside.peers import peer_counts

    graph = build(spec, alpha, rho, resolution)
    report = check_graph(graph)
    others = peer_counts(graph) if peers else []
    doc = check_dict(report, others)
    if fmt == Format.json:
        emit_json(doc, output)
    elif fmt in TABULAR:  # one row per layer (the other counters count whole networks: json and rich show them)
        point = {k: doc[k] for k in ("network", "alpha", "resolution")}
        emit_records([{**point, **layer} for layer in doc["layers"]], fmt, output)
    else:
        render_rich(check_table(report), *([peers_table(others)] if others else []), output=output)
    return report.all_match and all(p.match is not False for p in others)


def check_all(fmt: Format, output: Path | None, peers: bool = False) -> bool:
    from ..graph import build
    from ..report.check import point_dict, points_table
    from ..torchside.crosscheck import check_point, grid
    from ..torchside.peers import peer_counts

    todo = grid([load_bundled(name) for name in bundled_names()])
    points, others = [], []
    label = f"cross-checking {len(todo)} points (every bundled spec × 4 α × 4 resolutions)"
    if not interactive():  # no bar off a terminal: one line says what the minutes of silence are
        print(f"mobcost: {label}, a few minutes", file=sys.stderr, flush=True)
    with progress_bar(len(todo), label, enabled=interactive()) as advance:
        for spec, alpha, res in todo:
            advance(0, label=f"cross-checking {spec.name} α={alpha:g} {res}px")
            points.append(check_point(spec, alpha, res))
            others.append(peer_counts(build(spec, alpha, resolution=res)) if peers and points[-1].report else [])
            advance(1)
    ok = all(p.report.all_match for p in points if p.report is not None)
    ok = ok and all(q.match is not False for found in others for q in found)
    records = [point_dict(p, found if peers else None) for p, found in zip(points, others, strict=True)]
    if fmt == Format.json:
        emit_json({"all_match": ok, "points": records}, output)
    elif fmt in TABULAR:
        emit_records(records, fmt, output)
    else:
        render_rich(points_table(points, others if peers else None), output=output)
    return ok

