"""LiteRT's buffers for a graph: the tensors, lifetimes and temporaries its ``ArenaPlanner`` places, as
mobcost's export (litert-torch) converts the graph. :mod:`.planners` places them (``litert_arena``)."""

from __future__ import annotations

from ..graph import Graph
from ..graph.build import input_names
from ..units import DTYPE_BYTES
from .converted import ONE_OP, TWO_OPS, explicit_pad, tensor_bytes, tensor_names
from .planners import FOREVER, Buffer


def _litert_ops(graph: Graph, dtype: str) -> tuple[list[tuple[str, list[int], int]], list[int], list[str], list[int]]:
    """The operators a converter writes for ``graph`` in execution order, as (kind, input tensors, output tensor),
    with the tensors' bytes and names (tensor 0 the input, k layer k - 1's output, then the tensors the
    converter adds) and each layer's own operator's node. What :mod:`.converted` adds for TFLM, LiteRT gets too:
    a PAD before a window whose padding SAME cannot say; an activation TFLite cannot fuse after the layer (one
    operator, or SiLU's LOGISTIC then MUL, whose MUL may write in place)."""
    names, sizes = tensor_names(graph), tensor_bytes(graph, dtype)
    index = {n.name: i + 1 for i, n in enumerate(graph.nodes)}
    ops: list[tuple[str, list[int], int]] = []
    own: list[int] = []

    def tensor(size: int, name: str) -> int:
        sizes.append(size)
        names.append(name)
        return len(sizes) - 1

    for i, node in enumerate(graph.nodes):
        reads = [index.get(x, 0) for x in input_names(graph.spec, i)]
        pads = explicit_pad(node)  # a padding TFLite's SAME cannot say: a PAD operator first (analysis.converted)
        if pads is not None:
            top, bottom, left, right = pads
            x = node.input
            padded = tensor((x.h + top + bottom) * (x.w + left + right) * x.c * DTYPE_BYTES[dtype], f"{node.name} pad")
            ops.append(("pad", reads[:1], padded))
            reads = [padded, *reads[1:]]
        act = node.layer.act if node.layer.act in ONE_OP | TWO_OPS and node.type != "se" else None
        out = tensor(sizes[i + 1], f"{node.name} pre-activation") if act else i + 1
        own.append(len(ops))
        ops.append((node.type, reads, out))
        if act in TWO_OPS:
            gate = tensor(sizes[i + 1], f"{node.name} logistic")
            ops += [("act", [out], gate), ("mul", [out, gate], i + 1)]
        elif act:
            ops.append(("act", [out], i + 1))
    return ops, sizes, names, own


def litert_buffers(graph: Graph, dtype: str) -> list[Buffer]:
    """The buffers LiteRT's ``ArenaPlanner`` places for this graph as mobcost's export converts it (one
    operator per layer, a PAD before a window whose padding is not TensorFlow's SAME; ``PlanAllocations``):
    operator j allocates its output at node j; the network input is allocated at node 0 and, as every graph
    input, never freed; a tensor is freed at its last reader's node, the network outputs never. ADD and MUL
    write in place (``IdentifyInPlaceTensors``): their output takes the buffer of an input of the same bytes
    that no other operator reads (nor the buffer's owner) and that is not the network input, unless the output
    is a network output; that buffer then lives to the output's last reader. Temporaries, one node long: a
    convolution other than 1×1 stride 1 asks for an im2col buffer of H_out·W_out·k_h·k_w·C_in/groups elements
    (``conv.cc``, generic optimized kernel, float and int8 alike) — unless its input has one channel, which
    the converter writes as a DEPTHWISE_CONV_2D (no temporaries); a global average pool, which the converter
    writes as MEAN, for the input's rank and its two axes in int32 and a 4-byte accumulator per output element
    (``reduce.cc``); depthwise, fully connected, pooling and PAD ask for none."""
    ops, sizes, names, own = _litert_ops(graph, dtype)
    outputs = {len(graph.nodes)} | {i + 1 for i, n in enumerate(graph.nodes) if n.name in graph.spec.outputs}
    readers = [0] * len(sizes)
    for _, reads, _ in ops:
        for t in reads:
            readers[t] += 1
    owner = list(range(len(sizes)))  # the tensor whose buffer each tensor uses
    first = [0] * len(sizes)
    for j, (kind, reads, y) in enumerate(ops):
        first[y] = j
        if kind in ("add", "mul") and y not in outputs:
            for t in reads:
                if sizes[t] == sizes[y] > 4 and readers[t] == readers[owner[t]] == 1 and t and t not in outputs:
                    owner[y] = owner[t]
                    break
    last = [FOREVER if t in outputs or t == 0 else first[t] for t in range(len(sizes))]
    for j, (_, reads, _) in enumerate(ops):
        for t in reads:
            o = owner[t]
            last[o] = last[o] if last[o] == FOREVER else max(last[o], j)
    for t in range(len(sizes)):
        if owner[t] != t and last[t] == FOREVER:
            last[owner[t]] = FOREVER
    buffers = [Buffer(sizes[t], first[t], last[t], names[t]) for t in range(len(sizes)) if owner[t] == t]
    return buffers + _litert_temporaries(graph, dtype, own)


def litert_layer_nodes(graph: Graph) -> list[int]:
    """Each layer's last node in LiteRT's execution plan (the operator writing its output): a PAD before it
    and an activation after it are nodes of their own."""
    ops = _litert_ops(graph, "int8")[0]
    writes = {out: j for j, (_, _, out) in enumerate(ops)}
    return [writes[i + 1] for i in range(len(graph.nodes))]


def _litert_temporaries(graph: Graph, dtype: str, own: list[int]) -> list[Buffer]:
    out = []
    for i, node in enumerate(graph.nodes):
        j = own[i]  # the layer's own operator's node
        one_channel = node.input.c == 1  # the converter writes it as a DEPTHWISE_CONV_2D: no im2col
        if node.type in ("conv", "pw") and node.kernel_hw and not one_channel and (
                node.kernel_hw != (1, 1) or node.stride_hw != (1, 1) or node.layer.dilation != 1):
            kh, kw = node.kernel_hw
            cols = node.output.h * node.output.w * kh * kw * (node.input.c // (node.groups or 1))
            out.append(Buffer(cols * DTYPE_BYTES[dtype], j, j, f"{node.name} im2col"))
        elif node.type == "avgpool" and (node.output.h, node.output.w) == (1, 1) < (node.input.h, node.input.w):
            out += [Buffer(4 * 4, j, j, f"{node.name} rank"), Buffer(4 * 2, j, j, f"{node.name} axes"),
                    Buffer(4 * node.output.numel, j, j, f"{node.name} sum")]
    return out
