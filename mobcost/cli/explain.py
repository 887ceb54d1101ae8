"""`mobcost explain`: why two counters' totals of the same network differ, cause by cause."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..report.formats import Format
from .common import (
    AlphaOpt,
    FormatOpt,
    OutputOpt,
    ResolutionOpt,
    RhoOpt,
    SpecArg,
    app,
    emit,
    emit_json,
    friendly,
    load,
    render_rich,
)

CONVENTION_HELP = ("A convention: paper, flops, seed, fvcore, flop-counter, ptflops-pytorch, ptflops-aten, thop, "
                   "torchinfo or onnx-tool; optionally followed by `,classes=N` (another classifier width) and "
                   "`,no-first-layer`.")


@app.command()
@friendly
def explain(
    spec: SpecArg = None,
    source: Annotated[str, typer.Option("--from", help=CONVENTION_HELP)] = "paper",
    targets: Annotated[list[str] | None, typer.Option(
        "--to", help="The convention to compare with (repeatable). Default: every convention but --from's.",
        show_default=False)] = None,
    alpha: AlphaOpt = 1.0,
    rho: RhoOpt = None,
    resolution: ResolutionOpt = None,
    rules: Annotated[bool, typer.Option("--rules", help="Print what each convention counts per operation, with "
                                        "the source files the rules were read from, instead.")] = False,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Break the difference between two conventions' totals into named causes that sum to it exactly.

    Causes: the classifier width, the first layer, the factor of two, the seed's −1 terms, biases, BatchNorm,
    activations, pooling and elementwise joins — each with its amount and share of the difference. `--from`
    defaults to the paper's Mult-Adds, `--to` to every other convention (fvcore, thop, ptflops, …).
    """
    from ..analysis.explain import explain_all
    from ..report.explain import document_records, explain_dict, explain_records, explain_title, explain_views
    from ..report.formats import records_text

    if rules:
        return show_rules(fmt, output)
    explanations = explain_all(load(spec), source, targets, alpha, rho, resolution)
    if fmt == Format.json:
        emit_json(explain_dict(explanations), output)
    elif fmt == Format.csv:
        emit(records_text(explain_records(explanations), fmt), output)
    elif fmt in (Format.markdown, Format.latex):
        emit(records_text(document_records(explanations), fmt, title=explain_title(explanations),
                          label=explanations[0].graph.spec.name), output)
    else:
        render_rich(*explain_views(explanations), output=output)


def show_rules(fmt: Format, output: Path | None) -> None:
    from ..report.explain import rules_dict, rules_records, rules_table
    from ..report.formats import records_text

    if fmt == Format.json:
        emit_json(rules_dict(), output)
    elif fmt == Format.rich:
        render_rich(rules_table(), output=output)
    else:
        emit(records_text(rules_records(), fmt, title="What each convention counts, per operation"), output)
