"""Will it fit? A network's RAM and flash at one design point, as a runtime would lay them out.

* ``activation_peak_bytes`` — the lower bound: the most activation bytes alive while one layer runs, by the
  liveness rule of :mod:`mobcost.graph.liveness` (the sweep's ``peak_activation``).
* ``arena_bytes`` — the activation arena as a planner lays it out: ``lower-bound`` (an ideal planner: the
  peak itself) or ``tflm``, TensorFlow Lite Micro's greedy planner emulated exactly (:mod:`.planners`) on the
  tensors and lifetimes TFLM assigns, plus the scratch buffers its reference kernels request.
* ``persistent_bytes`` — what TFLM keeps beside the arena (tensor structs, node structs, kernels' op data), an
  estimate for its 64-bit host build (:func:`persistent_terms`); ``None`` under ``lower-bound``, which models no
  runtime, and ``total_ram_bytes`` with it.
* ``weights_bytes`` — what goes to flash, counted as a TFLite file stores it (below).

How a graph becomes TFLM's buffers (``micro_allocation_info.cc``, ``MarkAllocationLifetimes``): the network
input is created at step 0; layer ``i`` (0-based) runs at step ``i + 1``, creating its output then; a tensor's
last step is that of its last reader, the network output's the last step. Every layer is one operator with one
output tensor, as mobcost's layers are (BatchNorm and activations fused into their convolution, as the TFLite
converter fuses them); tensors are added to the planner in execution order (input first), as the converter
numbers them, which decides TFLM's tie between equal sizes. Scratch buffers (one step long, added after
every tensor): the int8 reference ``TRANSPOSE_CONV`` asks for an int32 accumulator per output element
(``transpose_conv.cc``); the int8 convolutions, depthwise convolutions, fully connected layers and pools ask
for none (``conv_common.cc``, ``depthwise_conv_common.cc``, ``fully_connected.cc`` request one only for int4
weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..graph import Graph
from ..graph.build import input_names
from ..graph.liveness import liveness
from ..ir import Node
from ..layers import REGISTRY
from ..units import DTYPE_BYTES
from .planners import FOREVER, PLANNERS, Buffer, aligned, litert_arena, tflm_arena  # noqa: F401
from .whatif import Recompute, default_split, inplace_totals, patch_totals

# int8 models keep their biases in int32 (the TFLite 8-bit quantization spec); float models in the weights' type
BIAS_BYTES = {"int8": 4}
# a quantization parameter as a TFLite file stores it: a float32 scale and an int64 zero point
QUANT_PARAM_BYTES = 4 + 8
# layers whose weights TFLite quantizes per tensor (one scale): fully connected; convolutions are per channel
PER_TENSOR = {"fc", "linear"}
# int8 reference kernels' scratch requests, in bytes per output element (TRANSPOSE_CONV's int32 accumulator)
SCRATCH_PER_OUTPUT = {"deconv": 4}

# TFLM's persistent tail (the arena's tail, 64-bit host build), itemised as its RecordingMicroAllocator does:
EVAL_TENSOR_BYTES = 24  # TfLiteEvalTensor per tensor, constants too: data and dims pointers, a type (8 + 8 + 4 → 24)
NODE_BYTES = 64  # NodeAndRegistration per operator: TfLiteNode (its pointers) and its registration's pointer
IO_TENSOR_BYTES = 64 + 32  # a persistent TfLiteTensor per model input and output, and its quantization structs
# each kernel's op data (AllocatePersistentBuffer in Init/Prepare): OpDataConv for conv and depthwise (padding,
# zero points, multiplier, shift, activation range, two pointers), OpDataFullyConnected; other kernels ~32 B
OP_DATA_BYTES = {"conv": 80, "pw": 80, "dw": 80, "deconv": 80, "fc": 48, "linear": 48}
OTHER_OP_DATA = 32
PER_CHANNEL_OP_DATA = 4 + 4  # conv/dw: an int32 output multiplier and an int32 shift per output channel
# the operator's builtin options (TfLiteConvParams, …) from the flatbuffer, kept for the kernel
BUILTIN_BYTES = {"conv": 28, "pw": 28, "dw": 28, "deconv": 16, "fc": 16, "linear": 16, "maxpool": 48,
                 "avgpool": 48, "add": 8, "mul": 4, "concat": 8}
# the allocator, its arena allocator and planner objects and the subgraph tables: what the recording allocator
# does not itemise (2,288 − 1,688 − 112 B of builtin options on tests/data/tflm_chain_int8.tflite)
RUNTIME_FIXED = 488
PER_CHANNEL_KERNELS = {"conv", "pw", "dw"}
PERSISTENT_NOTE = ("persistent_bytes: TFLM's tail on its 64-bit host build (tensor and node structs, op data "
                   "with per-channel multipliers and shifts, builtin options, allocator objects); a 32-bit MCU "
                   "build halves the pointers: about 12 B per tensor and 36 B per operator less")


@dataclass(frozen=True)
class Weights:
    """Flash, in bytes: weights, biases and the quantization parameters an int8 file stores beside them."""

    weights: int
    biases: int
    quantization: int

    @property
    def total(self) -> int:
        return self.weights + self.biases + self.quantization


@dataclass(frozen=True)
class Memory:
    """RAM and flash of one design point under one planner (see the module docstring)."""

    graph: Graph
    planner: str
    dtype: str
    activation_peak_bytes: int
    peak_layer: int  # the layer running at the peak (index into graph.nodes)
    peak_tensors: tuple[str, ...]  # the tensors alive then
    arena_bytes: int
    buffers: tuple[Buffer, ...]  # what the planner lays out (sizes as it sees them)
    offsets: tuple[int, ...]
    weights: Weights
    persistent_bytes: int | None
    notes: tuple[str, ...]
    # bytes in use while each layer runs: the live tensors (lower bound, what-ifs), or the highest byte of the
    # buffers the planner placed that are alive then (tflm, tflite)
    in_use: tuple[int, ...] = ()
    layer_steps: tuple[int, ...] = ()  # the planner's step of each layer (tflm: i + 1; tflite: its node)
    recompute: Recompute | None = None  # patch: what the overlapping patches cost

    @property
    def total_ram_bytes(self) -> int | None:
        return None if self.persistent_bytes is None else self.arena_bytes + self.persistent_bytes

    @property
    def weights_bytes(self) -> int:
        return self.weights.total


def tensor_names(graph: Graph) -> list[str]:
    """Tensor 0 is the network input, tensor ``k`` the output of layer ``k - 1`` (liveness's numbering)."""
    return ["input", *(n.name for n in graph.nodes)]


def tensor_bytes(graph: Graph, dtype: str) -> list[int]:
    size = DTYPE_BYTES[dtype]
    return [graph.input.numel * size, *(n.output.numel * size for n in graph.nodes)]


def activation_peak(graph: Graph, dtype: str) -> tuple[int, int, list[int]]:
    """(peak bytes, the layer running then, the tensors alive then) by the liveness rule."""
    sizes = tensor_bytes(graph, dtype)
    _, live = liveness(graph)
    totals = [sum(sizes[t] for t in alive) for alive in live]
    step = max(range(len(totals)), key=totals.__getitem__) if totals else 0
    return (totals[step], step, live[step]) if totals else (sizes[0], 0, [0])


def tflm_buffers(graph: Graph, dtype: str) -> list[Buffer]:
    """The buffers TFLM's allocator hands its planner for this graph, unaligned, in the order it adds them."""
    index = {n.name: i + 1 for i, n in enumerate(graph.nodes)}
    names, sizes = tensor_names(graph), tensor_bytes(graph, dtype)
    first = list(range(len(sizes)))  # the input at step 0, layer i's output at step i + 1
    last = list(first)
    for i in range(len(graph.nodes)):
        for name in input_names(graph.spec, i):
            t = index.get(name, 0)
            last[t] = max(last[t], i + 1)
    last[-1] = len(graph.nodes)  # the network output lives to the end of the invocation
    buffers = [Buffer(sizes[t], first[t], last[t], names[t]) for t in range(len(sizes))]
    if dtype == "int8":
        for i, node in enumerate(graph.nodes):
            per = SCRATCH_PER_OUTPUT.get(node.layer.type)
            if per:
                buffers.append(Buffer(per * node.output.numel, i + 1, i + 1, f"{node.name} scratch"))
    return buffers


def layer_weights(node: Node, dtype: str) -> Weights:
    """One layer's flash. A BatchNorm folded into its convolution leaves a bias per output channel."""
    kind = REGISTRY[node.layer.type]
    weights = 0 if node.layer.shares else kind.weights(node)
    if not weights:
        return Weights(0, 0, 0)
    biases = kind.biases(node) or (node.out_channels if node.layer.bn else 0)
    size = DTYPE_BYTES[dtype]
    quantization = 0
    if dtype == "int8":  # the weights' scales and zero points, and the bias's (scale = input × weight scale)
        channels = 1 if node.layer.type in PER_TENSOR else node.out_channels
        quantization = QUANT_PARAM_BYTES * channels * (2 if biases else 1)
    return Weights(weights * size, biases * BIAS_BYTES.get(dtype, size), quantization)


def network_weights(graph: Graph, dtype: str) -> Weights:
    parts = [layer_weights(n, dtype) for n in graph.nodes]
    return Weights(*(sum(getattr(p, f) for p in parts) for f in ("weights", "biases", "quantization")))


def persistent_terms(graph: Graph, dtype: str) -> tuple[int, list[int]]:
    """TFLM's tail as ``fixed + channels @ per_channel`` (``per_channel`` over liveness's tensors: layer i's
    output is tensor i + 1), so a sweep can evaluate it over α. Every layer is one operator; a weighted layer
    adds a weights tensor and, with a bias (a folded BatchNorm leaves one), a bias tensor."""
    per_channel = [0] * (len(graph.nodes) + 1)
    tensors, fixed = 1 + len(graph.nodes), RUNTIME_FIXED + 2 * IO_TENSOR_BYTES
    for i, node in enumerate(graph.nodes):
        kind, t = REGISTRY[node.layer.type], node.layer.type
        if not node.layer.shares and kind.weights(node):
            tensors += 2 if (kind.biases(node) or node.layer.bn) else 1
        fixed += NODE_BYTES + OP_DATA_BYTES.get(t, OTHER_OP_DATA) + BUILTIN_BYTES.get(t, 0)
        if t in PER_CHANNEL_KERNELS and dtype == "int8":  # float kernels keep no per-channel multipliers
            per_channel[i + 1] += PER_CHANNEL_OP_DATA
    return fixed + EVAL_TENSOR_BYTES * tensors, per_channel


def persistent_bytes(graph: Graph, dtype: str) -> int:
    fixed, per_channel = persistent_terms(graph, dtype)
    return fixed + sum(c * n.out_channels for c, n in zip(per_channel[1:], graph.nodes, strict=True))


def same_padding(node: Node) -> tuple[int, int, int, int]:
    """TensorFlow's SAME padding for ``node``'s window: (top, bottom, left, right), the odd pixel at the end."""
    pads = []
    for size, out, k, s in zip((node.input.h, node.input.w), (node.output.h, node.output.w), node.kernel_hw or (1, 1),
                               node.stride_hw or (1, 1), strict=True):
        total = max((out - 1) * s + (k - 1) * node.layer.dilation + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return pads[0], pads[1], pads[2], pads[3]


def needs_pad(node: Node) -> bool:
    """A convolution or pool whose padding is neither VALID nor TensorFlow's SAME: the converter (litert-torch,
    as Keras' ZeroPadding2D) writes a PAD operator before it, whose padded map is a tensor of its own."""
    pads = node.padding_hw or (0, 0, 0, 0)
    return node.type in ("conv", "pw", "dw", "maxpool", "avgpool") and any(pads) and pads != same_padding(node)


def _litert_ops(graph: Graph, dtype: str) -> tuple[list[tuple[str, list[int], int]], list[int], list[str]]:
    """The operators a converter writes for ``graph`` in execution order, as (layer type, input tensors, output
    tensor), with the tensors' bytes and names: tensor 0 the input, k layer k - 1's output, then PAD outputs."""
    names, sizes = tensor_names(graph), tensor_bytes(graph, dtype)
    index = {n.name: i + 1 for i, n in enumerate(graph.nodes)}
    ops = []
    for i, node in enumerate(graph.nodes):
        reads = [index.get(x, 0) for x in input_names(graph.spec, i)]
        if needs_pad(node):
            top, bottom, left, right = node.padding_hw or (0, 0, 0, 0)
            x = node.input
            sizes.append((x.h + top + bottom) * (x.w + left + right) * x.c * DTYPE_BYTES[dtype])
            names.append(f"{node.name} pad")
            ops.append(("pad", reads[:1], len(sizes) - 1))
            reads = [len(sizes) - 1, *reads[1:]]
        ops.append((node.type, reads, i + 1))
    return ops, sizes, names


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
    ops, sizes, names = _litert_ops(graph, dtype)
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
    return buffers + _litert_temporaries(graph, dtype, first)


def litert_layer_nodes(graph: Graph) -> list[int]:
    """Each layer's node in LiteRT's execution plan: its index plus the PAD operators before it (its own too)."""
    nodes, pads = [], 0
    for node in graph.nodes:
        pads += needs_pad(node)
        nodes.append(len(nodes) + pads)
    return nodes


def _litert_temporaries(graph: Graph, dtype: str, first: list[int]) -> list[Buffer]:
    out = []
    for i, node in enumerate(graph.nodes):
        j = first[i + 1]  # the layer's own node
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


def buffer_in_use(buffers: Sequence[Buffer], offsets: Sequence[int], steps: Sequence[int]) -> list[int]:
    """While each layer runs: the highest byte of the placed buffers alive at its planner step, or at the steps
    of operators the converter added for it (a PAD before it), so that the largest is the arena."""
    spans = [(steps[i - 1] + 1 if i else 0, step) for i, step in enumerate(steps)]
    return [max((o + b.size for b, o in zip(buffers, offsets, strict=True) if b.first <= hi and lo <= b.last),
                default=0) for lo, hi in spans]


def live_totals(graph: Graph, dtype: str) -> list[int]:
    sizes = tensor_bytes(graph, dtype)
    return [sum(sizes[t] for t in alive) for alive in liveness(graph)[1]]


def plan_memory(graph: Graph, planner: str = "tflm", dtype: str = "int8", *, patches: int = 4,
                split: int | None = None) -> Memory:
    """RAM and flash of ``graph`` under ``planner`` (one of ``PLANNERS``) with ``dtype`` tensors; ``patches``
    and ``split`` (the stage's last layer, default :func:`.whatif.default_split`) for ``patch``."""
    peak, step, alive = activation_peak(graph, dtype)
    names = tensor_names(graph)
    notes = [PERSISTENT_NOTE if planner == "tflm" else
             f"{planner} models no runtime's own RAM: persistent_bytes and total_ram_bytes are left out"]
    persistent, rec = None, None
    steps = list(range(len(graph.nodes)))
    buffers: list[Buffer] = []
    offsets: list[int] = []
    if planner == "tflm":
        persistent = persistent_bytes(graph, dtype)
        raw = tflm_buffers(graph, dtype)
        offsets, arena = tflm_arena(raw)
        buffers, steps = aligned(raw), [i + 1 for i in steps]
        notes.append("tflm: one operator and one output tensor per layer; 16-byte alignment; scratch buffers of "
                     "the int8 reference kernels")
        in_use = buffer_in_use(buffers, offsets, steps)
    elif planner == "tflite":
        buffers = litert_buffers(graph, dtype)
        offsets, arena = litert_arena(buffers)
        steps = litert_layer_nodes(graph)
        notes.append("tflite: LiteRT's arena planner without delegates (XNNPACK, the default on a phone, keeps "
                     "its own buffers), on the operators mobcost's export writes (a PAD before a window padded "
                     "otherwise than SAME); 64-byte aligned offsets; im2col and MEAN temporaries; ADD, MUL in place")
        in_use = buffer_in_use(buffers, offsets, steps)
    elif planner == "inplace-dw":
        in_use = inplace_totals(graph, dtype)
        arena = max(in_use, default=peak)
        notes.append("inplace-dw: a depthwise layer writes over its input when no later layer reads it, through "
                     "a one-channel buffer (MCUNet's in-place depthwise); otherwise the lower bound's rule")
    elif planner == "patch":
        cut = default_split(graph) if split is None else split
        in_use, rec = patch_totals(graph, dtype, cut, patches)
        arena = max(in_use)
        notes.append(f"patch: layers up to {graph.nodes[cut].name!r} run in {patches}×{patches} patches "
                     f"(MCUNetV2), in-place depthwise throughout; the patches recompute "
                     f"{rec.extra_mult_adds:,} Mult-Adds ({rec.percent:.1f}% of the network's)")
    else:
        in_use = live_totals(graph, dtype)
        arena = peak
    if any(node.type == "attention" for node in graph.nodes):
        # One layer here is several operators in a runtime: its Q, K, V and h·N² scores are tensors of their own.
        notes.append("attention layers' inner tensors (Q, K, V, the heads' N×N scores) are not counted: the "
                     "lower bound and the arena cover the layers' inputs and outputs only, and a runtime needs more")
    return Memory(graph, planner, dtype, peak, step, tuple(names[t] for t in alive), arena, tuple(buffers),
                  tuple(offsets), network_weights(graph, dtype), persistent, tuple(notes), tuple(in_use),
                  tuple(steps), rec)


@dataclass(frozen=True)
class StepRow:
    """One execution step of the per-layer view: the layer running, the tensors alive, the bytes they hold
    (the lower bound's rule) and the bytes the planner has in use then."""

    step: int
    layer: str
    live: tuple[str, ...]
    live_bytes: int
    in_use_bytes: int
    peak: bool


def memory_steps(m: Memory) -> list[StepRow]:
    """The per-layer view (``mobcost memory --layers``): one row per layer in execution order. Under a planner
    that places buffers (tflm, tflite) the live tensors are its buffers alive then (scratch included, sizes as
    it sees them); otherwise the liveness rule's tensors. ``peak`` marks where ``arena_bytes`` is reached."""
    names, sizes = tensor_names(m.graph), tensor_bytes(m.graph, m.dtype)
    _, live = liveness(m.graph)
    top = max(m.in_use, default=0)
    peak_at = m.in_use.index(top) if m.in_use else 0
    rows = []
    for i, node in enumerate(m.graph.nodes):
        if m.buffers:
            alive = [b for b in m.buffers if b.first <= m.layer_steps[i] <= b.last]
            tensors, held = tuple(b.name for b in alive), sum(b.size for b in alive)
        else:
            tensors, held = tuple(names[t] for t in live[i]), sum(sizes[t] for t in live[i])
        rows.append(StepRow(i, node.name, tensors, held, m.in_use[i] if m.in_use else 0, i == peak_at))
    return rows
