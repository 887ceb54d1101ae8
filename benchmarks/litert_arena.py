"""Measured beside predicted: where LiteRT's interpreter puts each tensor of a .tflite in its arena, against
mobcost's emulation of its ``ArenaPlanner`` (``mobcost.analysis.planners.litert_arena``) on the file's own
tensors, operators and lifetimes.

    python benchmarks/litert_arena.py MODEL.tflite   # every arena tensor: predicted and measured offset

The interpreter (``ai-edge-litert``) runs without its default XNNPACK delegate, which would take the graph
and keep its own buffers; the builtin kernels' arena is then what ``AllocateTensors`` plans. Measured offsets
are the tensors' data addresses less the graph input's (always placed first, at offset 0). Lifetimes follow
``arena_planner.cc``'s ``PlanAllocations``: operator i allocates its outputs at node i, a tensor is freed at
its last reader, graph inputs and outputs never; ADD, SUB, MUL, DIV write over an input of their output's
bytes that nothing else reads, RESHAPE over its input (``IdentifyInPlaceTensors``). Temporaries, which the
kernels add in Prepare, are predicted by rule (:func:`temporaries`) and checked against the tensors the
interpreter added beyond the file's.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mobcost.analysis.planners import FOREVER, Buffer, litert_arena

IN_PLACE = {"ADD", "SUB", "MUL", "DIV"}  # kTfLiteInplaceOpInput0Shared | kTfLiteInplaceOpInput1Shared
UNMODIFIED = {"RESHAPE", "BITCAST", "SQUEEZE", "EXPAND_DIMS"}  # … | kTfLiteInplaceOpDataUnmodified


def interpreter(model: str | bytes) -> Any:
    """LiteRT's interpreter on a file (path) or its bytes, builtin kernels only, tensors allocated."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    where = {"model_content": model} if isinstance(model, bytes) else {"model_path": model}
    it = Interpreter(**where, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    return it


def _bytes(detail: dict[str, Any]) -> int:
    return math.prod(int(d) for d in detail["shape"]) * detail["dtype"]().itemsize


def temporaries(ops: list[dict[str, Any]], details: dict[int, dict[str, Any]]) -> list[tuple[int, int]]:
    """(node, bytes) of each temporary the builtin kernels add, in the order they add them: CONV_2D's im2col
    unless 1×1 stride 1 (out H·W × k_h·k_w·C_in elements, ``conv.cc``), MEAN's three (``reduce.cc``: the
    input's rank and the axes in int32, and an accumulator per output element, int32 for int8, else float)."""
    out = []
    for node, op in enumerate(ops):
        x, y = details[int(op["inputs"][0])], details[int(op["outputs"][0])]
        if op["op_name"] == "CONV_2D":
            w = details[int(op["inputs"][1])]["shape"]
            kh, kw, cin = int(w[1]), int(w[2]), int(w[3])
            strided = tuple(x["shape"][1:3]) != tuple(y["shape"][1:3])
            if (kh, kw) != (1, 1) or strided:
                out.append((node, math.prod(int(d) for d in y["shape"][:3]) * kh * kw * cin * x["dtype"]().itemsize))
        elif op["op_name"] == "MEAN":
            axes = details[int(op["inputs"][1])]
            out += [(node, 4 * len(x["shape"])), (node, 4 * math.prod(int(d) for d in axes["shape"])),
                    (node, 4 * math.prod(int(d) for d in y["shape"]))]
    return out


def plan(it: Any) -> tuple[list[int], list[Buffer], list[int]]:
    """(tensor index of each buffer, the buffers as LiteRT plans them, their predicted offsets)."""
    ops = it._get_ops_details()
    details = {d["index"]: d for d in it.get_tensor_details()}
    inputs = [int(t) for t in it._interpreter.InputIndices()]
    outputs = [int(t) for t in it._interpreter.OutputIndices()]
    refs = {t: 1 for t in inputs + outputs}
    for op in ops:
        for t in op["inputs"]:
            refs[int(t)] = refs.get(int(t), 0) + 1
    owner: dict[int, int] = {}
    first = {t: 0 for t in inputs}
    for node, op in enumerate(ops):
        y = int(op["outputs"][0])
        for t in op["outputs"]:
            first[int(t)] = node
        if op["op_name"] in IN_PLACE | UNMODIFIED and y not in outputs:
            for t in [int(t) for t in op["inputs"]][:2]:
                changed = op["op_name"] in IN_PLACE
                if t in inputs or (changed and (_bytes(details[t]) != _bytes(details[y]) or _bytes(details[y]) <= 4
                                                or refs[t] > 1 or refs[owner.get(t, t)] > 1)):
                    continue
                if t in first:  # an arena tensor, not a constant
                    owner[y] = owner.get(t, t)
                    break
    last = {t: (FOREVER if t in inputs or t in outputs else first[t]) for t in first}
    for node, op in enumerate(ops):
        for t in [int(t) for t in op["inputs"]]:
            o = owner.get(t, t)
            if o in last and last[o] != FOREVER:
                last[o] = max(last[o], node)
    for t, o in owner.items():
        if t in outputs:
            last[o] = FOREVER
    tensors = [t for t in sorted(first) if t not in owner]
    buffers = [Buffer(_bytes(details[t]), first[t], last[t], details[t]["name"]) for t in tensors]
    predicted = temporaries(ops, details)
    # the tensors the kernels added in Prepare: after the file's, which every operator names or holds constants
    named = {int(t) for op in ops for t in [*op["inputs"], *op["outputs"]]} | set(inputs) | set(outputs)
    extra = [i for i in sorted(details) if i > max(named)]
    if len(extra) != len(predicted):
        kinds = sorted({op["op_name"] for op in ops})
        raise ValueError(f"LiteRT added {len(extra)} temporaries, the rules predict {len(predicted)}: an operator "
                         f"among {', '.join(kinds)} asks for temporaries not emulated")
    for t, (node, size) in zip(extra, predicted, strict=True):
        tensors.append(t)
        buffers.append(Buffer(size, node, node, f"temporary {t}"))
    offsets, _ = litert_arena(buffers)
    return tensors, buffers, offsets


def measured_offsets(it: Any, tensors: list[int]) -> list[int]:
    """Each tensor's data address less the graph input's (the arena's first buffer)."""
    base = it.tensor(int(it._interpreter.InputIndices()[0]))().__array_interface__["data"][0]
    return [it.tensor(t)().__array_interface__["data"][0] - base for t in tensors]


def main(argv: list[str]) -> None:
    it = interpreter(argv[0])
    tensors, buffers, offsets = plan(it)
    measured = measured_offsets(it, tensors)
    for t, b, o, m in zip(tensors, buffers, offsets, measured, strict=True):
        print(f"{t:4d} {b.size:10,d} [{b.first}, {'∞' if b.last == FOREVER else b.last}] predicted {o:10,d} "
              f"measured {m:10,d} {'' if o == m else '  ← differs'}  {b.name[:40]}")
    print(f"predicted arena {max(o + b.size for b, o in zip(buffers, offsets, strict=True)):,} B")


if __name__ == "__main__":
    main(sys.argv[1:])
