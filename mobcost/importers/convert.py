"""ONNX model → spec: load and normalise, map every operator, write the YAML, then build the spec with mobcost
and check each layer's output shape against ONNX shape inference (a mismatch is an error naming the node)."""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MobcostError
from ..layers import ACTIVATIONS
from ..spec import Spec, parse_spec
from .additive import plan as plan_additive
from .attention import plan as plan_attention
from .attention_levit import match_levit
from .cascaded import plan as plan_cascaded
from .conv_attention import plan as plan_conv_attention
from .emit import rectangular, render
from .input_dims import FreeInputError
from .layout import ALL_HANDLERS
from .linear_attention import plan as plan_linear_attention
from .model import Emitted, ImportResult, ModelImportError, Op, OpGraph
from .norms import group_norm, instance_norm, l2_norm
from .norms import plan as plan_norms
from .onnx_graph import load_graph
from .ops import Handler
from .patterns import Mapper, layer_shape, shown
from .separable import held_as_tokens, on_patches
from .separable import plan as plan_separable
from .tokens import TOKENS
from .windows import held_as_maps, on_channels_last
from .xca import plan as plan_xca

if TYPE_CHECKING:
    from onnx import ModelProto

# What a user can write instead, for operators with no handler (the error names it).
_NEAREST = {
    "LRN": "local response normalisation is not in the vocabulary; nearest: bn",
    "Einsum": "no layer computes an einsum; nearest: fc",
    "If": "a branch on a condition computed from the data: mobcost counts a branch only when its condition is a "
          "constant (the branch taken is then imported)",
    "Loop": "a loop on the data path: mobcost does not unroll loops, and its body's costs are not counted",
    "Scan": "a scan on the data path: mobcost does not unroll scans, and its body's costs are not counted",
}
_SUPPORTED = ("Conv, ConvTranspose, Gemm/MatMul, pools, Pad, Add, Sub, Mul, Div, Concat, BatchNormalization, "
              "LayerNormalization, GroupNorm/InstanceNormalization, ReduceL2 (L2 norm), Resize, activations, "
              "Split/Slice, shuffle, token sequences and multi-head attention")
# a CNN's handlers, and those that map token sequences first (each falls back to its CNN handler)
_HANDLERS: dict[str, Handler] = {**ALL_HANDLERS, **TOKENS, "InstanceNormalization": instance_norm,
                                 "GroupNormalization": group_norm, "ReduceL2": l2_norm}
_OTHER_ACTIVATIONS = {"Elu", "Selu", "Celu", "Softplus", "Softsign", "Mish", "PRelu", "ThresholdedRelu", "Shrink",
                      "HardShrink", "SoftShrink"}


def onnx_to_spec(model: str | Path | bytes | ModelProto, *, allow_unknown: bool = False,
                 name: str | None = None, source: str | None = None,
                 input_shape: tuple[int, int, int] | None = None) -> ImportResult:
    """The spec of an ONNX model (a path, its bytes or a loaded ``ModelProto``) as YAML text.

    An operator mobcost cannot map raises :class:`ModelImportError` naming the node, its op type, its inputs'
    shapes and the nearest supported construct; with ``allow_unknown`` the rest is imported (wired around the
    left-out node when its output has its input's shape, else everything that reads it is left out too) and
    the result lists what was left out, as does the YAML. ``name`` is the spec's name (default: the file's
    stem); ``source`` how the header and messages name the model (default: the file name). ``input_shape``
    (C, H, W) fixes the input's free dimensions (an exporter's dynamic axes; a free batch is 1 either way);
    without it a free C, H or W is an error naming them, and with it a fixed one that differs is.
    """
    return _to_spec(load_graph(model, source, input_shape), allow_unknown, name)


def load_onnx(path: str | Path, *, allow_unknown: bool = False,
              input_shape: tuple[int, int, int] | None = None) -> Spec:
    """An ONNX file as a :class:`Spec`, for every command that takes SPEC (``mobcost table model.onnx``)."""
    try:
        result = onnx_to_spec(path, allow_unknown=allow_unknown, input_shape=input_shape)
    except FreeInputError as exc:
        # these commands have no --input (their --resolution scales a spec's size, it does not give C): the
        # way out is a spec imported once, with the size written in it
        command = f"mobcost import {shlex.quote(str(path))} --input CxHxW -o SPEC.yaml"
        raise FreeInputError(f"input {exc.input_name!r} has free dimensions {exc.names} (shape {exc.shape}): "
                             f"import it first with `{command}`",
                             file=exc.file or str(path), input_name=exc.input_name, names=exc.names,
                             shape=exc.shape) from None
    return parse_spec(result.yaml, file=f"{path} (imported)", default_name=result.name)


def tflite_to_spec(model: str | Path | bytes, *, allow_unknown: bool = False, name: str | None = None,
                   source: str | None = None) -> ImportResult:
    """The spec of a .tflite model (a path or its bytes), int8 or float, as YAML text with its ``dtype``: the
    same mapping, checks and errors as :func:`onnx_to_spec`, operators named ``operator 12 (CONV_2D)``."""
    from .tflite_file import read_tflite
    from .tflite_graph import tflite_graph

    graph = tflite_graph(read_tflite(model, source))
    return _to_spec(graph, allow_unknown, name)


def _to_spec(graph: OpGraph, allow_unknown: bool, name: str | None) -> ImportResult:
    check_input(graph)
    mapper = map_graph(graph, allow_unknown)
    layers = _classifier_fixed(graph, mapper)
    spec_name = name or _default_name(graph)
    text, names = render(graph, layers, mapper.resolve, mapper.unmapped, mapper.notes, spec_name)
    check_shapes(text, graph, layers, names)
    return ImportResult(text, tuple(mapper.unmapped), tuple(mapper.notes), len(layers), spec_name)


def load_tflite(path: str | Path, *, allow_unknown: bool = False) -> Spec:
    """A .tflite file as a :class:`Spec`, for every command that takes SPEC (``mobcost memory model.tflite``)."""
    result = tflite_to_spec(path, allow_unknown=allow_unknown)
    return parse_spec(result.yaml, file=f"{path} (imported)", default_name=result.name)


def map_graph(graph: OpGraph, allow_unknown: bool) -> Mapper:
    mapper = Mapper(graph, allow_unknown)
    # found whole before the walk: its first operator emits the layer
    blocks = {**plan_attention(mapper, match_levit), **plan_norms(mapper), **plan_conv_attention(mapper),
              **plan_additive(mapper), **plan_xca(mapper), **plan_separable(mapper),
              **plan_cascaded(mapper)}
    blocks.update(plan_linear_attention(mapper))  # EfficientViT's linear attention: anchored at its Div
    for op in graph:
        if op.name in mapper.done or mapper.skip_tainted(op):
            continue
        if op.name in blocks:
            blocks[op.name]()
            continue
        if mapper.nhwc and on_channels_last(mapper, op):
            continue
        if mapper.cfirst and on_patches(mapper, op):
            continue
        handler = _HANDLERS.get(op.op) if op.domain in ("", "ai.onnx") else None
        if handler is None:
            supported = graph.supported or _SUPPORTED
            reason = _NEAREST.get(op.op, f"mobcost has no layer for {op.op}; supported: {supported}")
            if op.op in _OTHER_ACTIVATIONS:
                known = ", ".join(a for a in ACTIVATIONS if a != "none")
                reason = f"{op.op} is an activation mobcost does not have; nearest: act ({known})"
            mapper.leave_out(op, reason if not op.domain else f"{reason} (domain {op.domain})")
        else:
            _run(handler, mapper, op)
    held_as_maps(mapper)
    held_as_tokens(mapper)
    return mapper


def _run(handler: Handler, mapper: Mapper, op: Op) -> None:
    """A handler on one operator. The checks before (attribute types, window lengths, the input's shape) keep
    malformed files out; a value no check foresaw still ends as one line naming the node, not a traceback."""
    try:
        handler(mapper, op)
    except (ArithmeticError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise ModelImportError(f"a malformed operator ({type(exc).__name__}: {exc})", file=mapper.g.source,
                               where=mapper.g.where(op.name, op.op)) from None


def _classifier_fixed(graph: OpGraph, mapper: Mapper) -> list[Emitted]:
    """The last layer with a width before each network output (through pools, activations, …) keeps it under
    α (``scale: false``): α never changes the number of classes."""
    producer = {e.output: i for i, e in enumerate(mapper.layers)}
    fixed = set()
    for out in (*graph.outputs, *mapper.head_maps):
        i = producer.get(mapper.resolve(out))
        while i is not None and "out" not in mapper.layers[i].keys and len(mapper.layers[i].inputs) == 1:
            i = producer.get(mapper.resolve(mapper.layers[i].inputs[0]))
        if i is not None and "out" in mapper.layers[i].keys:
            fixed.add(i)
    return [dataclasses.replace(e, keys={**e.keys, "scale": False}) if i in fixed else e
            for i, e in enumerate(mapper.layers)]


def check_input(g: OpGraph) -> None:
    """The network input is N×C×H×W with C, H and W known (every handler may rely on it), and square unless
    this mobcost takes rectangular inputs."""
    dims = g.shape(g.input)
    if len(dims) != 4 or None in dims[1:] or not all(d > 0 for d in dims[1:]):  # type: ignore[operator]
        raise ModelImportError(f"the input is {shown(dims)}; mobcost needs N×C×H×W with fixed C, H, W",
                               file=g.source, where=f"input {g.input!r}")
    if dims[2] != dims[3] and not rectangular():
        raise ModelImportError(f"the input is {dims[2]}×{dims[3]}: rectangular inputs are not in the vocabulary "
                               "yet; export the model at a square size", file=g.source)


def _default_name(graph: OpGraph) -> str:
    stem = Path(graph.source).stem if not graph.source.startswith("<") else "imported"
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", stem) or "imported"


def check_shapes(text: str, graph: OpGraph, layers: list[Emitted], names: list[str]) -> None:
    """Build the spec with mobcost and compare every layer's output with ONNX shape inference."""
    from ..graph import build

    by_name = dict(zip(names, layers, strict=True))
    try:
        built = build(parse_spec(text, file=f"{graph.source} (imported spec)"))
    except MobcostError as exc:
        node = _node_of(exc, layers)
        raise ModelImportError(f"the imported spec does not build: {exc.message}", file=graph.source,
                               where=graph.where(node) if node else None) from None
    for node in built.nodes:
        e = by_name[node.name]
        dims = graph.shape(e.output)
        expected = layer_shape(dims)
        got = (node.output.c, node.output.h, node.output.w)
        if (node.output.patch or node.output.window) and len(dims) == 3:  # P sequences: P×N×C, the map's H, W kept
            expected, got = tuple(dims), (node.output.sequences, node.output.length, node.output.c)
        if expected is None:
            continue  # ONNX inferred no shape here: nothing to compare with
        # a B×N×C tensor is a sequence, never a map that happens to be C×N×1
        if (got != expected or (len(dims) == 3) != node.output.tokens) \
                and not (len(dims) == 2 and node.output.numel == expected[0]):
            said = "ONNX shape inference" if graph.kind == "ONNX" else "the file (as N×C×H×W)"
            raise ModelImportError(f"mobcost infers {node.output.c}×{node.output.h}×{node.output.w} (C×H×W) for "
                                   f"layer {node.name!r}, {said} {shown(dims)}", file=graph.source,
                                   where=graph.where(e.nodes[0]))


def _node_of(exc: MobcostError, layers: list[Emitted]) -> str | None:
    match = re.match(r"layers\[(\d+)\]", exc.where or "")
    return layers[int(match.group(1))].nodes[0] if match and int(match.group(1)) < len(layers) else None
