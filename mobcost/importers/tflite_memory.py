"""A ``.tflite`` file's own tensors as TensorFlow Lite Micro plans them: the arena on the file's operators (a PAD,
a RESHAPE, a SOFTMAX the converter left are tensors TFLM plans too, which a spec's layers do not have), the
persistent tail estimated on its operators and tensors, and its flash as stored.

Which tensors TFLM plans and when they live (``micro_allocation_info.cc``, ``MarkAllocationLifetimes``): every
tensor without constant data, not a variable, of non-zero size, used by the subgraph; the subgraph's inputs are
created at step 0, operator ``i`` (0-based) runs at step ``i + 1`` and creates its outputs then, a tensor lives to
its last reader's step, the subgraph's outputs to the last step. Tensors are added to the planner in the file's
tensor order, then the scratch buffers kernels request in ``Prepare`` (one step long), in operator order:

* int8 ``MEAN``/``SUM`` (``reduce_common.cc``): an int32 accumulator per output element, the input's rank and
  the axis count in ints (three buffers);
* int8 ``TRANSPOSE_CONV`` (``transpose_conv.cc``): an int32 accumulator per output element;
* the int8 reference ``CONV_2D``, ``DEPTHWISE_CONV_2D``, ``FULLY_CONNECTED``, pools, ``ADD``, ``MUL``,
  ``SOFTMAX``, ``PAD``, ``RESHAPE``, ``QUANTIZE``, ``DEQUANTIZE`` request none (``conv_common.cc``: only int4
  weights unpack into a scratch buffer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..analysis import memory as mem
from ..analysis.planners import Buffer, aligned, tflm_arena
from ..graph import Graph
from .tflite_file import Operator, TfliteModel

_BYTES = {"INT8": 1, "UINT8": 1, "BOOL": 1, "INT16": 2, "FLOAT16": 2, "INT32": 4, "FLOAT32": 4, "INT64": 8,
          "UINT32": 4, "FLOAT64": 8, "INT4": 0.5}
# TFLite operators as mobcost's layer types, for the persistent estimate's per-type tables (analysis.memory)
OP_TYPES = {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "dw", "FULLY_CONNECTED": "fc", "MAX_POOL_2D": "maxpool",
            "AVERAGE_POOL_2D": "avgpool", "ADD": "add", "MUL": "mul", "CONCATENATION": "concat",
            "TRANSPOSE_CONV": "deconv"}
# op data of the operators a converter adds beside mobcost's layers (64-bit host, 16-byte aligned): PAD's OpData
# (PadParams: two counts and ten int32 paddings, a resizing category; the output zero point: 56 → 64), MEAN/SUM's
# OpDataReduce (ten ints: 40 → 48), LOGISTIC's OpDataLogistic (four ints: 16); RESHAPE, SQUEEZE and TRANSPOSE
# keep none
OP_DATA_BYTES = {"PAD": 64, "PADV2": 64, "MEAN": 48, "SUM": 48, "LOGISTIC": 16, "RESHAPE": 0, "SQUEEZE": 0,
                 "TRANSPOSE": 0, **mem.TOKEN_OP_DATA}
FILE_NOTE = ("tflm on the file's own operators and tensors (the converter's PAD, RESHAPE, SOFTMAX, QUANTIZE "
             "included), in its tensor order")


@dataclass(frozen=True)
class FilePlan:
    buffers: tuple[Buffer, ...]  # aligned, as the planner sees them
    offsets: tuple[int, ...]
    arena_bytes: int
    persistent_bytes: int
    stored: mem.Weights  # the file's constants as stored: weights, biases, their quantization parameters
    steps: tuple[int, ...]  # each operator's step (operator i runs at step i + 1; the input is step 0)
    in_use: tuple[int, ...]  # the highest byte of the placed buffers alive while each operator runs
    names: tuple[str, ...]  # each operator as a row: "operator 3 (PAD)"


def tensor_bytes(model: TfliteModel, index: int) -> int:
    t = model.tensors[index]
    return math.ceil(math.prod(t.shape) * _BYTES.get(t.type, 0))


def lifetimes(model: TfliteModel) -> tuple[dict[int, int], dict[int, int]]:
    """Each used tensor's first and last step (``MarkAllocationLifetimes``)."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in model.inputs:
        first.setdefault(t, 0)
        last[t] = 0
    for step, op in enumerate(model.operators, start=1):
        for t in op.outputs:
            first.setdefault(t, step)
        for t in (*op.inputs, *op.outputs):
            if t >= 0:
                last[t] = step
    end = len(model.operators)
    for t in model.outputs:
        first.setdefault(t, end)
        last[t] = end
    return first, last


def scratch_buffers(model: TfliteModel) -> list[Buffer]:
    """The scratch buffers the int8 reference kernels request (see the module docstring), in operator order."""
    out = []
    for step, op in enumerate(model.operators, start=1):
        x = model.tensors[op.inputs[0]] if op.inputs and op.inputs[0] >= 0 else None
        if x is None or x.type != "INT8":
            continue
        if op.code in ("MEAN", "SUM"):
            y, axis = model.tensors[op.outputs[0]], model.tensors[op.inputs[1]]
            sizes = [4 * math.prod(y.shape), 4 * len(x.shape), 4 * math.prod(axis.shape)]
        elif op.code == "TRANSPOSE_CONV":
            sizes = [4 * math.prod(model.tensors[op.outputs[0]].shape)]
        else:
            continue
        out += [Buffer(size, step, step, f"{op.code} {op.index} scratch") for size in sizes]
    return out


def file_buffers(model: TfliteModel) -> list[Buffer]:
    """The buffers TFLM's allocator hands its planner, unaligned, in the order it adds them."""
    first, last = lifetimes(model)
    out = []
    for t in model.tensors:
        size = tensor_bytes(model, t.index)
        if t.const or t.variable or t.index not in first or not size:
            continue
        out.append(Buffer(size, first[t.index], last[t.index], t.name))
    return out + scratch_buffers(model)


def file_persistent(model: TfliteModel) -> int:
    """The estimate of TFLM's tail (:mod:`mobcost.analysis.memory`'s tables) on the file's own operators and
    tensors: a TfLiteEvalTensor per tensor, a node, op data and builtin options per operator, per-channel
    multipliers and shifts, persistent TfLiteTensors for the subgraph's inputs and outputs."""
    total = mem.RUNTIME_FIXED + mem.IO_TENSOR_BYTES * (len(model.inputs) + len(model.outputs))
    total += mem.EVAL_TENSOR_BYTES * len(model.tensors)
    for op in model.operators:
        kind = OP_TYPES.get(op.code, "")
        op_data = OP_DATA_BYTES.get(op.code, mem.OP_DATA_BYTES.get(kind, mem.OTHER_OP_DATA))
        total += mem.NODE_BYTES + op_data + mem.BUILTIN_BYTES.get(kind, 0)
        if kind in mem.PER_CHANNEL_KERNELS and per_channel(model, op):
            total += mem.PER_CHANNEL_OP_DATA * model.tensors[op.outputs[0]].shape[-1]
        if op.code == "BATCH_MATMUL":
            total += batch_matmul_copies(model, op)
    return total


def batch_matmul_copies(model: TfliteModel, op: Operator) -> int:
    """BATCH_MATMUL's transposed operands (``batch_matmul.cc``, ``InitializeTemporaries``): unless ``adj_y``, a
    persistent copy of the right-hand side (a TfLiteEvalTensor, its dims, its data), and of the left-hand side
    when ``adj_x`` — attention's K and V, as large as the tensors themselves, in the tail, not the arena."""
    sides = [op.inputs[1]] if not op.options.get("AdjY") else []
    sides += [op.inputs[0]] if op.options.get("AdjX") else []
    return sum(mem.transposed_copy_bytes(tensor_bytes(model, t), len(model.tensors[t].shape)) for t in sides)


def per_channel(model: TfliteModel, op: Operator) -> bool:
    """An int8 kernel with a multiplier and shift per output channel: convolutions always, a fully connected
    layer when its weights carry more than one scale."""
    weights = model.tensors[op.inputs[1]] if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
    int8 = model.tensors[op.inputs[0]].type == "INT8"
    return int8 and (op.code != "FULLY_CONNECTED" or (weights is not None and weights.scales > 1))


def stored_weights(model: TfliteModel) -> mem.Weights:
    """Flash as the file stores it: the constant inputs of the weighted operators (weights, then int32 biases)
    and their quantization parameters (a float32 scale and an int64 zero point each)."""
    weights = biases = quantization = 0
    seen: set[int] = set()
    for op in model.operators:
        if op.code not in OP_TYPES or OP_TYPES[op.code] not in mem.OP_DATA_BYTES:
            continue
        for slot, t in enumerate(op.inputs):
            tensor = model.tensors[t] if t >= 0 else None
            if tensor is None or not tensor.const or t in seen:
                continue
            seen.add(t)  # a constant read twice is stored once
            if slot == 2:
                biases += tensor_bytes(model, t)
            else:
                weights += tensor_bytes(model, t)
            quantization += 4 * tensor.scales + 8 * tensor.zero_points
    return mem.Weights(weights, biases, quantization)


def plan_file(model: TfliteModel) -> FilePlan:
    raw = file_buffers(model)
    offsets, arena = tflm_arena(raw)
    buffers = aligned(raw)
    steps = list(range(1, len(model.operators) + 1))
    names = [op.where for op in model.operators]
    return FilePlan(tuple(buffers), tuple(offsets), arena, file_persistent(model), stored_weights(model),
                    tuple(steps), tuple(mem.buffer_in_use(buffers, offsets, steps)), tuple(names))


def on_file(m: mem.Memory, model: TfliteModel) -> mem.Memory:
    """``m`` (planned on the spec imported from ``model``) with the arena and tail planned on the file's own
    tensors and operators instead, as TFLM plans them, its steps (``--layers``' rows) the file's operators; the
    lower bound and the weights stay the spec's."""
    if m.planner != "tflm":
        return m
    p = plan_file(model)
    notes = tuple(n for n in m.notes if not n.startswith("tflm: one operator"))  # the spec's layers, not used
    return replace(m, arena_bytes=p.arena_bytes, buffers=p.buffers, offsets=p.offsets,
                   persistent_bytes=p.persistent_bytes, in_use=p.in_use, layer_steps=p.steps, step_names=p.names,
                   notes=(*notes, FILE_NOTE))


def plan_source(source: str | None, graph: Graph, planner: str, dtype: str, *, patches: int = 4,
                split: int | None = None) -> mem.Memory:
    """``graph`` (built from ``source``) under ``planner``; a ``.tflite`` source under tflm planned on the
    file's own tensors (:func:`on_file`). One function, so `memory` and `plot memory` show the same plan."""
    m = mem.plan_memory(graph, planner, dtype, patches=patches, split=split)
    if source is None or not source.lower().endswith(".tflite") or planner != "tflm":
        return m
    from .tflite_file import read_tflite

    return on_file(m, read_tflite(source))
