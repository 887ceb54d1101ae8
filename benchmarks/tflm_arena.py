"""Measured beside predicted: TFLM's recorded arena head for an int8 .tflite against mobcost's emulation of its
GreedyMemoryPlanner (``mobcost.analysis.planners``) on the same file's tensors and lifetimes.

    python benchmarks/tflm_arena.py make OUT.tflite   # the chain of tests/data/tflm_chain_int8.tflite (needs
                                                      # litert-torch and ai-edge-quantizer)
    python benchmarks/tflm_arena.py MODEL.tflite      # predicted head, lower bound, TFLM's head/tail/total

The file is read with the flatbuffer schema module the ``tflite-micro`` package ships, and run by its Python
interpreter (reference kernels, 64-bit host build) with the recording allocator; ``pip install tflite-micro``.
Lifetimes follow ``micro_allocation_info.cc``: subgraph inputs from step 0, operator i at step i + 1, subgraph
outputs to the last step; planned are the tensors without constant data, not variable, of non-zero size. Scratch
buffers: the int8 MEAN/SUM requests of ``reduce_common.cc`` (an int32 accumulator per output element, the input
rank and the axis count in ints); other operators of such files request none.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mobcost.analysis.planners import Buffer, lower_bound, tflm_arena

ELEMENT_BYTES = {"INT8": 1, "UINT8": 1, "BOOL": 1, "INT16": 2, "FLOAT16": 2, "INT32": 4, "FLOAT32": 4, "INT64": 8}


def _schema() -> Any:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated

    return schema_py_generated


def _tensor_bytes(s: Any, tensor: Any) -> int:
    types = {v: k for k, v in vars(s.TensorType).items() if not k.startswith("_")}
    shape = [] if tensor.shape is None else [int(d) for d in tensor.shape]
    return math.prod(shape) * ELEMENT_BYTES[types[tensor.type]]


def _lifetimes(graph: Any) -> tuple[dict[int, int], dict[int, int]]:
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in graph.inputs:
        first.setdefault(int(t), 0)
        last[int(t)] = 0
    for step, op in enumerate(graph.operators, start=1):
        for t in op.outputs:
            first.setdefault(int(t), step)
        for t in [*op.inputs, *op.outputs]:
            if t >= 0:
                last[int(t)] = step
    for t in graph.outputs:
        first.setdefault(int(t), len(graph.operators))
        last[int(t)] = len(graph.operators)
    return first, last


def file_buffers(data: bytes) -> list[Buffer]:
    """The buffers TFLM's allocator plans for the file's first subgraph, in the order it adds them."""
    s = _schema()
    model = s.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = model.subgraphs[0]
    first, last = _lifetimes(graph)
    out = []
    for i, t in enumerate(graph.tensors):
        stored = model.buffers[t.buffer] if t.buffer < len(model.buffers) else None
        constant = stored is not None and ((stored.data is not None and len(stored.data) > 0) or stored.size)
        if constant or t.isVariable or i not in first or not _tensor_bytes(s, t):
            continue
        out.append(Buffer(_tensor_bytes(s, t), first[i], last[i], (t.name or b"").decode()))
    return out + _scratch(s, model, graph)


def _scratch(s: Any, model: Any, graph: Any) -> list[Buffer]:
    codes = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    out = []
    for step, op in enumerate(graph.operators, start=1):
        code = model.operatorCodes[op.opcodeIndex]
        name = codes[max(code.builtinCode, code.deprecatedBuiltinCode)]
        x = graph.tensors[op.inputs[0]] if op.inputs is not None and len(op.inputs) else None
        if name in ("MEAN", "SUM") and x is not None and x.type == s.TensorType.INT8:
            y, axis = graph.tensors[op.outputs[0]], graph.tensors[op.inputs[1]]
            for size in (4 * math.prod(int(d) for d in y.shape), 4 * len(x.shape), 4 * math.prod(axis.shape)):
                out.append(Buffer(size, step, step, f"{name} scratch"))
    return out


# TFLite operators as mobcost's layer types, for the persistent estimate's per-type tables
OP_TYPES = {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "dw", "FULLY_CONNECTED": "fc", "MAX_POOL_2D": "maxpool",
            "AVERAGE_POOL_2D": "avgpool", "ADD": "add", "MUL": "mul", "CONCATENATION": "concat",
            "TRANSPOSE_CONV": "deconv"}


def file_persistent(data: bytes) -> int:
    """mobcost's estimate of TFLM's tail (``memory.persistent_terms``' tables) on the file's own operators and
    tensors: a TfLiteEvalTensor per tensor, a node and op data per operator, per-channel multipliers and shifts."""
    from mobcost.analysis import memory as m

    s = _schema()
    model = s.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = model.subgraphs[0]
    codes = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    total = m.RUNTIME_FIXED + m.IO_TENSOR_BYTES * (len(graph.inputs) + len(graph.outputs))
    total += m.EVAL_TENSOR_BYTES * len(graph.tensors)
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        kind = OP_TYPES.get(codes[max(code.builtinCode, code.deprecatedBuiltinCode)], "")
        total += m.NODE_BYTES + m.OP_DATA_BYTES.get(kind, m.OTHER_OP_DATA) + m.BUILTIN_BYTES.get(kind, 0)
        if kind in m.PER_CHANNEL_KERNELS:
            total += m.PER_CHANNEL_OP_DATA * int(graph.tensors[op.outputs[0]].shape[-1])
    return total


def measure(data: bytes) -> dict[str, int]:
    """TFLM's recorded arena: head (the planned arena), tail (persistent) and total, in bytes."""
    from tflite_micro.python.tflite_micro import runtime

    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)  # the recording allocator prints to the C library's stderr
        try:
            runtime.Interpreter.from_bytes(data, arena_size=64 << 20).print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        text = log.read().decode(errors="replace")
    return {k: int(v) for k, v in re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", text)}


def make(path: str) -> None:
    """MobileNetV1 0.25/96's first layers (conv 3→8 /2, dw 8, pw 8→16) and a 1×1 to 4 channels, int8."""
    import litert_torch
    import numpy as np
    import torch
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer, recipe

    class Chain(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            conv = torch.nn.Conv2d
            self.layers = torch.nn.ModuleList([conv(3, 8, 3, 2, 1), conv(8, 8, 3, 1, 1, groups=8), conv(8, 16, 1),
                                               conv(16, 4, 1)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x.permute(0, 3, 1, 2)  # an NHWC input, as TFLite models take
            for layer in self.layers:
                x = torch.relu(layer(x))
            return x

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        floating = os.path.join(tmp, "float.tflite")
        litert_torch.convert(Chain().eval(), (torch.randn(1, 96, 96, 3),)).export(floating)
        signature = Interpreter(floating).get_signature_list()
        key = next(iter(signature))
        name = signature[key]["inputs"][0]
        rng = np.random.default_rng(0)
        samples = [{name: rng.standard_normal((1, 96, 96, 3)).astype(np.float32)} for _ in range(4)]
        q = quantizer.Quantizer(floating, recipe.static_wi8_ai8())
        q.quantize(q.calibrate({key: samples})).export_model(path, overwrite=True)


def main(argv: list[str]) -> None:
    if argv[:1] == ["make"]:
        make(argv[1])
        return
    data = Path(argv[0]).read_bytes()
    buffers = file_buffers(data)
    _, head = tflm_arena(buffers)
    print(f"predicted head {head:,} B (lower bound {lower_bound(buffers):,} B), tail {file_persistent(data):,} B; "
          f"measured {measure(data)}")


if __name__ == "__main__":
    main(sys.argv[1:])
