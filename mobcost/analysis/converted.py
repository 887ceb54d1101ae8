"""The operators a TFLite conversion makes of a graph's layers, as the buffers TFLM's planner gets: what a spec
says in one layer a ``.tflite`` may spell in several operators, each with an output tensor of its own.

* A convolution or max pool whose padding TFLite cannot say: TFLite's CONV_2D, DEPTHWISE_CONV_2D and
  MAX_POOL_2D pad ``SAME`` (the odd pixel after) or ``VALID`` only, so a symmetric padding that is neither — a
  3×3 stride-2 layer on an even input, padded 1 on every side — becomes a ``PAD`` operator (its padded map a
  tensor) before a ``VALID`` one (litert-torch and TF's converter alike; ResNet's stem pool too).
* An activation TFLite cannot fuse (a convolution fuses ReLU and ReLU6 only): hard-swish, sigmoid, GELU, tanh
  and leaky ReLU are one operator after the layer (its input, the layer's own output, a tensor); SiLU (swish)
  is two, ``LOGISTIC`` then ``MUL`` of the layer's output and the gate.
* A global average pool is ``MEAN``, whose int8 kernel asks for three scratch buffers (``reduce_common.cc``):
  an int32 accumulator per output element, the rank and the axes in ints.

Not expanded: a squeeze-excite layer (its pool, two 1×1 convolutions, gate and ``MUL``) and attention stay one
layer each, as :mod:`.memory` takes them. Tensors are added in the order the operators create them, the order
converters number them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..graph import Graph
from ..graph.build import input_names
from ..ir import Node
from ..layers.convolutions import same_padding
from ..units import DTYPE_BYTES
from .planners import Buffer

FUSED = {"relu", "relu6", "none"}
ONE_OP = {"hswish", "sigmoid", "gelu", "tanh", "leaky_relu", "hsigmoid"}
TWO_OPS = {"silu", "swish"}
PADDED = {"conv", "dw", "maxpool"}  # the kernels whose padding TFLite must say as SAME or VALID
SCRATCH_PER_OUTPUT = {"deconv": 4}  # int8 TRANSPOSE_CONV: an int32 accumulator per output element


@dataclass(frozen=True)
class Slot:
    """One buffer of a conversion: its lifetime, and its bytes as ``per_channel × channels(tensor) + fixed``
    (``tensor``: liveness's numbering, 0 the network input and ``i + 1`` layer ``i``'s output; -1 for none), so
    a sweep can size it at any α from the channels alone (the layout depends on the resolution only)."""

    first: int
    last: int
    tensor: int
    per_channel: int
    fixed: int
    name: str


@dataclass
class _Ops:
    """Tensors (what their bytes follow, name) and operators (the tensors each reads, the one it writes), in
    creation order, and the scratch buffers (slot, operator index)."""

    sizes: list[tuple[int, int, int]] = field(default_factory=list)  # (tensor, per channel, fixed)
    names: list[str] = field(default_factory=list)
    ops: list[tuple[tuple[int, ...], int]] = field(default_factory=list)
    scratch: list[tuple[tuple[int, int, int], int, str]] = field(default_factory=list)

    def tensor(self, size: tuple[int, int, int], name: str) -> int:
        self.sizes.append(size)
        self.names.append(name)
        return len(self.sizes) - 1

    def op(self, reads: tuple[int, ...], size: tuple[int, int, int], name: str) -> int:
        out = self.tensor(size, name)
        self.ops.append((reads, out))
        return out


def explicit_pad(node: Node) -> tuple[int, int, int, int] | None:
    """The (top, bottom, left, right) padding a ``PAD`` operator writes before ``node``, or None when TFLite's
    SAME or VALID says it."""
    if node.type not in PADDED or node.padding_hw is None or node.stride_hw is None or node.kernel_hw is None:
        return None
    pads = node.padding_hw
    if not any(pads) or getattr(node.layer, "dilation", 1) != 1:
        return None
    x, out = node.input, node.output
    same = (*same_padding(x.h, out.h, node.stride_hw[0], node.kernel_hw[0]),
            *same_padding(x.w, out.w, node.stride_hw[1], node.kernel_hw[1]))
    return None if tuple(pads) == same else tuple(pads)  # type: ignore[return-value]


def _layer(o: _Ops, i: int, node: Node, reads: tuple[int, ...], ins: tuple[int, ...], size: int) -> int:
    """Add layer ``i``'s operators (``reads``: the op tensors it reads, ``ins``: their liveness numbers); the
    op tensor that holds its output."""
    t, area = i + 1, node.output.h * node.output.w
    own = (t, area * size, 0)
    pads = explicit_pad(node)
    if pads is not None:
        top, bottom, left, right = pads
        x = node.input
        padded = (ins[0], (x.h + top + bottom) * (x.w + left + right) * size, 0)
        reads = (o.op(reads[:1], padded, f"{node.name} pad"), *reads[1:])
    # a squeeze-excite layer's `act` is its own, inside it on the pooled 1×1 map
    act = node.layer.act if node.layer.act in ONE_OP | TWO_OPS and node.type != "se" else None
    out = o.op(reads, own, f"{node.name} pre-activation" if act else node.name)
    step = len(o.ops) - 1
    if node.type == "avgpool" and node.output.h == node.output.w == 1 and size == 1:
        o.scratch += [((t, 4, 0), step, f"{node.name} MEAN scratch"), ((-1, 0, 16), step, f"{node.name} rank"),
                      ((-1, 0, 8), step, f"{node.name} axes")]
    per = SCRATCH_PER_OUTPUT.get(node.type) if size == 1 else None
    if per:
        o.scratch.append(((t, per * area, 0), step, f"{node.name} scratch"))
    if act in TWO_OPS:
        gate = o.op((out,), own, f"{node.name} logistic")
        return o.op((out, gate), own, node.name)
    if act:
        return o.op((out,), own, node.name)
    return out


def converted_slots(graph: Graph, dtype: str) -> list[Slot]:
    """The buffers TFLM's allocator hands its planner for a TFLite conversion of ``graph``, in the order it adds
    them: the input from step 0, operator ``k`` at step ``k + 1``, each tensor to its last reader's step, the
    network output to the end; then the scratch buffers, one step long."""
    size = DTYPE_BYTES[dtype]
    o = _Ops()
    final = {"input": o.tensor((0, graph.input.h * graph.input.w * size, 0), "input")}
    number = {"input": 0, **{n.name: i + 1 for i, n in enumerate(graph.nodes)}}
    for i, node in enumerate(graph.nodes):
        names = input_names(graph.spec, i)
        reads = tuple(final.get(name, 0) for name in names)
        final[node.name] = _layer(o, i, node, reads, tuple(number.get(name, 0) for name in names), size)
    first, last = [0] * len(o.sizes), [0] * len(o.sizes)
    for step, (reads, out) in enumerate(o.ops, start=1):
        first[out] = last[out] = step
        for r in reads:
            last[r] = max(last[r], step)
    if graph.nodes:
        last[final[graph.nodes[-1].name]] = len(o.ops)
    slots = [Slot(first[k], last[k], *o.sizes[k], o.names[k]) for k in range(len(o.sizes))]
    return slots + [Slot(step + 1, step + 1, *sz, name) for sz, step, name in o.scratch]


def tensor_names(graph: Graph) -> list[str]:
    """Tensor 0 is the network input, tensor ``k`` the output of layer ``k - 1`` (liveness's numbering)."""
    return ["input", *(n.name for n in graph.nodes)]


def tensor_bytes(graph: Graph, dtype: str) -> list[int]:
    size = DTYPE_BYTES[dtype]
    return [graph.input.numel * size, *(n.output.numel * size for n in graph.nodes)]


def tensor_channels(graph: Graph) -> list[int]:
    """The channels of liveness's tensors: the network input's, then each layer's output's."""
    return [graph.input.c, *(n.output.c for n in graph.nodes)]


def converted_buffers(graph: Graph, dtype: str) -> list[Buffer]:
    """:func:`converted_slots` sized at ``graph``'s own α."""
    channels = tensor_channels(graph)
    return [Buffer(s.per_channel * (channels[s.tensor] if s.tensor >= 0 else 0) + s.fixed, s.first, s.last, s.name)
            for s in converted_slots(graph, dtype)]
