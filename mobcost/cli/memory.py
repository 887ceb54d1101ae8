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
    measure: Annotated[bool, typer.Option("--measure", help="MODEL.tflite only: also allocate it in TensorFlow Lite "
                                          "Micro's interpreter (the tflm extra) and print its recorded arena head, "
                                          "tail and total beside the prediction.")] = False,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Will it fit? Activation arena, RAM and flash of one design point.

    JSON keys: `arena_bytes` (the arena as --planner lays it out), `persistent_bytes` and `total_ram_bytes`
    (TFLM's; null under the other planners), `weights_bytes` (weights, biases and quantization parameters as a
    .tflite stores them) and `activation_peak_bytes` (the lower bound), with the planned buffers, `recompute`
    (patch: the Mult-Adds its overlapping patches add) and notes. --layers: a row per execution step instead.
    A .tflite under --planner tflm is planned on its own tensors (the converter's PAD, RESHAPE, … too). With
    --measure: `measured_arena_bytes`, `measured_persistent_bytes`, `measured_total_ram_bytes` (TFLM's recorded
    head, tail, total) and `file_weights_bytes` (the weights, biases and quantization parameters the file stores).
    """
    from ..analysis.memory import plan_memory
    from ..graph import build

    check_options(planner, patches, split, layers and measure)
    loaded = load(spec)
    element = dtype.value if dtype else loaded.dtype or "int8"  # a spec's (an imported .tflite's) own by default
    graph = build(loaded, alpha, rho, resolution)
    m = plan_memory(graph, planner.value, element, patches=patches, split=split_index(graph, split))
    m, measured = on_tflite(spec, m, measure)
    if layers:
        render_steps(m, fmt, output)
    else:
        show(m, measured, fmt, output)


def show(m: Any, measured: dict[str, int], fmt: Format, output: Any) -> None:
    """``m`` in ``fmt``, with TFLM's measured figures (``--measure``) beside it when there are any."""
    from ..report.formats import records_text
    from ..report.memory import (
        document_records,
        measured_records,
        measured_view,
        memory_dict,
        memory_records,
        memory_title,
        memory_views,
    )

    if fmt == Format.json:
        emit_json({**memory_dict(m), **measured}, output)
    elif fmt == Format.csv:
        emit(records_text([{**r, **measured} for r in memory_records(m)], fmt), output)
    elif fmt in (Format.markdown, Format.latex):
        rows = document_records(m) + measured_records(measured)
        emit(records_text(rows, fmt, title=memory_title(m), label=m.graph.spec.name), output)
    else:
        render_rich(*memory_views(m), *([measured_view(measured)] if measured else []), output=output)


def on_tflite(spec: str | None, m: Any, measure: bool) -> tuple[Any, dict[str, int]]:
    """A .tflite's memory planned on its own tensors, and with ``measure`` TFLM's figures for it."""
    is_tflite = spec is not None and spec.lower().endswith(".tflite")
    if measure and not is_tflite:
        raise OptionError("--measure allocates a .tflite in TFLM; write one with `mobcost export SPEC --int8 -o "
                          "m.tflite` and pass m.tflite", where="--measure")
    if not is_tflite:
        return m, {}
    from ..importers.tflite_file import read_tflite
    from ..importers.tflite_memory import on_file, stored_weights

    model = read_tflite(spec)  # type: ignore[arg-type]
    m = on_file(m, model)
    if not measure:
        return m, {}
    from pathlib import Path

    from ..measure.tflm import measure_tflm

    got = measure_tflm(Path(spec).read_bytes(), spec, m.arena_bytes)  # type: ignore[arg-type]
    return m, {"measured_arena_bytes": got["head"], "measured_persistent_bytes": got["tail"],
               "measured_total_ram_bytes": got["total"], "file_weights_bytes": stored_weights(model).total}



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


def check_options(planner: Planner, patches: int, split: str | None, layers_and_measure: bool) -> None:
    """--patches and --split are the patch planner's; given with another, they are refused, not ignored.
    --layers (the plan step by step) and --measure (totals beside TFLM's) go one at a time."""
    if layers_and_measure:
        raise OptionError("--layers shows the plan step by step, --measure compares totals: one at a time",
                          where="--layers")
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
