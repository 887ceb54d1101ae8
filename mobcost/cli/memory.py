"""`mobcost memory`: will it fit — the activation arena as a planner lays it out, the RAM beside it and the
weights' flash, at one design point."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..analysis.planners import PLANNERS
from ..errors import OptionError
from ..graph import Graph
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

# --planner's choices: the names live once, in analysis.planners.PLANNERS
Planner = StrEnum("Planner", {name.replace("-", "_"): name for name in PLANNERS})  # type: ignore[misc]


@app.command()
@friendly
def memory(
    spec: SpecArg = None,
    alpha: AlphaOpt = 1.0,
    rho: RhoOpt = None,
    resolution: ResolutionOpt = None,
    planner: Annotated[Planner, typer.Option(
        "--planner", "-p", help="lower-bound: the most activation bytes alive at once (an ideal planner); tflm: "
        "TensorFlow Lite Micro's greedy planner, emulated exactly; tflite: LiteRT's arena planner on a phone "
        "(best fit, 64-byte offsets); inplace-dw: the lower bound with depthwise layers written over their input "
        "(MCUNet); patch: MCUNetV2's patch-based first stage (and in-place depthwise), with its recompute.")] = (
        Planner.tflm),
    patches: Annotated[int, typer.Option("--patches", min=1, max=64, help="patch: an N×N grid of patches.")] = 4,
    split: Annotated[str | None, typer.Option("--split", help="patch: the patch stage's last layer (default: "
                                              "after the map first reaches 1/8 of the input's side, and the 1×1 "
                                              "layers right after it).", show_default=False)] = None,
    layers: Annotated[bool, typer.Option("--layers", "--per-layer", help="A row per execution step: the tensors "
                                         "alive, their bytes, the planner's bytes in use, the peak.")] = False,
    dtype: Annotated[Dtype | None, typer.Option("--dtype", help="Element type of activations and weights (int8: "
                                                "int32 biases and per-channel quantization parameters); default: the "
                                                "spec's `dtype:` (a .tflite's own), else int8.",
                                                show_default=False)] = None,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Will it fit? Activation arena, RAM and flash of one design point.

    JSON keys: `arena_bytes` (the arena as --planner lays it out), `persistent_bytes` and `total_ram_bytes`
    (TFLM's; null under the other planners), `weights_bytes` (weights, biases and quantization parameters as a
    .tflite stores them) and `activation_peak_bytes` (the lower bound), with the planned buffers, `recompute`
    (patch: the Mult-Adds its overlapping patches add) and notes. --layers: a row per execution step instead.
    """
    from ..analysis.memory import plan_memory
    from ..graph import build

    check_patch_options(planner, patches, split)
    loaded = load(spec)
    element = dtype.value if dtype else loaded.dtype or "int8"  # a spec's (an imported .tflite's) own by default
    graph = build(loaded, alpha, rho, resolution)
    m = plan_memory(graph, planner.value, element, patches=patches, split=split_index(graph, split))
    (render_steps if layers else render)(m, fmt, output)


def render(m: Any, fmt: Format, output: Path | None) -> None:
    """The figures, their parts and the planned buffers, in ``fmt``."""
    from ..report.formats import records_text
    from ..report.memory import document_records, memory_dict, memory_records, memory_title, memory_views

    if fmt == Format.json:
        emit_json(memory_dict(m), output)
    elif fmt == Format.csv:
        emit(records_text(memory_records(m), fmt), output)
    elif fmt in (Format.markdown, Format.latex):
        emit(records_text(document_records(m), fmt, title=memory_title(m), label=m.graph.spec.name), output)
    else:
        render_rich(*memory_views(m), output=output)


def render_steps(m: Any, fmt: Format, output: Path | None) -> None:
    """--layers: a row per execution step, in ``fmt`` (csv tidy: the design point on every row)."""
    from ..report.formats import records_text
    from ..report.memory import memory_title, step_records, steps_dict, steps_table

    if fmt == Format.json:
        emit_json(steps_dict(m), output)
    elif fmt == Format.csv:
        emit(records_text(step_records(m), fmt), output)
    elif fmt in (Format.markdown, Format.latex):
        emit(records_text(step_records(m, tidy=False), fmt, title=memory_title(m), label=m.graph.spec.name),
             output)
    else:
        render_rich(steps_table(m), output=output)


def check_patch_options(planner: Planner, patches: int, split: str | None) -> None:
    """--patches and --split are the patch planner's; given with another, they are refused, not ignored."""
    if planner != Planner.patch and (split is not None or patches != 4):
        raise OptionError(f"--patches and --split are for --planner patch, not {planner.value}",
                          where="--split" if split is not None else "--patches")


def split_index(graph: Graph, split: str | None) -> int | None:
    """--split's layer as its index in the graph."""
    if split is None:
        return None
    names = [n.name for n in graph.nodes]
    if split not in names:
        raise OptionError(f"no layer named {split!r} in {graph.spec.name}", where="--split")
    return names.index(split)
