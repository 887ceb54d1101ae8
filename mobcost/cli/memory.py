"""`mobcost memory`: will it fit — the activation arena as a planner lays it out, the RAM beside it and the
weights' flash, at one design point."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ..report.formats import Format
from ..report.table import Dtype
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


class Planner(StrEnum):
    lower_bound = "lower-bound"
    tflm = "tflm"


@app.command()
@friendly
def memory(
    spec: SpecArg = None,
    alpha: AlphaOpt = 1.0,
    rho: RhoOpt = None,
    resolution: ResolutionOpt = None,
    planner: Annotated[Planner, typer.Option(
        "--planner", "-p", help="lower-bound: the most activation bytes alive at once (an ideal planner); tflm: "
        "TensorFlow Lite Micro's greedy planner, emulated exactly.")] = Planner.tflm,
    dtype: Annotated[Dtype | None, typer.Option("--dtype", help="Element type of activations and weights (int8: "
                                                "int32 biases and per-channel quantization parameters); default: the "
                                                "spec's `dtype:` (a .tflite's own), else int8.",
                                                show_default=False)] = None,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Will it fit? Activation arena, RAM and flash of one design point.

    JSON keys: `arena_bytes` (the arena as --planner lays it out), `persistent_bytes` and `total_ram_bytes`
    (null until modelled), `weights_bytes` (weights, biases and quantization parameters as a .tflite stores
    them) and `activation_peak_bytes` (the lower bound), with the planned buffers and notes on what is counted.
    """
    from ..analysis.memory import plan_memory
    from ..graph import build
    from ..report.formats import records_text
    from ..report.memory import document_records, memory_dict, memory_records, memory_title, memory_views

    loaded = load(spec)
    element = dtype.value if dtype else loaded.dtype or "int8"  # a spec's (an imported .tflite's) own by default
    m = plan_memory(build(loaded, alpha, rho, resolution), planner.value, element)
    if fmt == Format.json:
        emit_json(memory_dict(m), output)
    elif fmt == Format.csv:
        emit(records_text(memory_records(m), fmt), output)
    elif fmt in (Format.markdown, Format.latex):
        emit(records_text(document_records(m), fmt, title=memory_title(m), label=m.graph.spec.name), output)
    else:
        render_rich(*memory_views(m), output=output)
