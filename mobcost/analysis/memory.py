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
last step is that of its last reader, the network output's the last step. A layer is one operator with one
output tensor (BatchNorm, ReLU and ReLU6 fused into their convolution, as the TFLite converter fuses them), plus
the operators a conversion adds (:mod:`.converted`: a PAD where SAME cannot say the padding, an activation TFLite
cannot fuse); tensors are added to the planner in the order they are created, as the converter numbers them,
which decides TFLM's tie between equal sizes. Scratch buffers (one step long, added after
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
from .converted import converted_buffers, tensor_bytes, tensor_names
from .litert import litert_buffers, litert_layer_nodes
from .planners import FOREVER, PLANNERS, Buffer, aligned, litert_arena, tflm_arena  # noqa: F401
from .tflm_tail import (  # noqa: F401  (the tables, read as memory.X by the .tflite side)
    ACT_OP_DATA,
    BUILTIN_BYTES,
    CODE_BUILTIN,
    CODE_OP_DATA,
    EVAL_TENSOR_BYTES,
    IO_TENSOR_BYTES,
    KV_DOWN_OPS,
    NODE_BYTES,
    OP_DATA_BYTES,
    OTHER_OP_DATA,
    PER_CHANNEL_KERNELS,
    PER_CHANNEL_OP_DATA,
    PERSISTENT_NOTE,
    RUNTIME_FIXED,
    SE_OP_DATA,
    TOKEN_OP_DATA,
    WEIGHTED_CODES,
    aligned_16,
    attention_channels,
    converted_ops,
    token_ops,
    transposed_copy_bytes,
)
from .whatif import Recompute, default_split, inplace_totals, patch_totals

# int8 models keep their biases in int32 (the TFLite 8-bit quantization spec); float models in the weights' type
BIAS_BYTES = {"int8": 4}
# a quantization parameter as a TFLite file stores it: a float32 scale and an int64 zero point
QUANT_PARAM_BYTES = 4 + 8
# layers whose weights are quantized per tensor (one scale): none. ai-edge-quantizer, the LiteRT family's quantizer
# (and mobcost's `export --int8`), quantizes convolutions and fully connected layers per output channel; TF's own
# converter keeps a fully connected layer per tensor, 24 B × (classes − 1) less on a classifier head.
PER_TENSOR: frozenset[str] = frozenset()
CONVERTED_WITH_BIAS = frozenset({"conv", "pw", "dw"})  # CONV_2D and DEPTHWISE_CONV_2D always carry an int32 bias
# int8 reference kernels' scratch requests, in bytes per output element (TRANSPOSE_CONV's int32 accumulator)
SCRATCH_PER_OUTPUT = {"deconv": 4}

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
    # a .tflite planned on its own operators: a row per operator (in_use and layer_steps are then per operator)
    step_names: tuple[str, ...] = ()

    @property
    def total_ram_bytes(self) -> int | None:
        return None if self.persistent_bytes is None else self.arena_bytes + self.persistent_bytes

    @property
    def weights_bytes(self) -> int:
        return self.weights.total


def activation_peak(graph: Graph, dtype: str) -> tuple[int, int, list[int]]:
    """(peak bytes, the layer running then, the tensors alive then) by the liveness rule."""
    sizes = tensor_bytes(graph, dtype)
    _, live = liveness(graph)
    totals = [sum(sizes[t] for t in alive) for alive in live]
    step = max(range(len(totals)), key=totals.__getitem__) if totals else 0
    return (totals[step], step, live[step]) if totals else (sizes[0], 0, [0])


def tflm_buffers(graph: Graph, dtype: str) -> list[Buffer]:
    """The buffers of one operator per layer, unaligned, in execution order (``plan_memory`` plans
    :func:`.converted.converted_buffers`, which adds the operators a TFLite conversion writes)."""
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
    # a BatchNorm folded into the layer leaves one bias per channel it normalised (γ and β each: bn_params / 2;
    # SHViT's attention: its q, k, v conv's h(2d + d_v), not its h·d_v outputs)
    biases = kind.biases(node) or ((kind.bn_params(node) // 2 or node.out_channels) if node.layer.bn else 0)
    if dtype == "int8" and not biases and node.layer.type in CONVERTED_WITH_BIAS:
        biases = node.out_channels  # the converter writes a zero int32 bias (LR-ASPP's bias-free `scale` 1×1 conv)
    size = DTYPE_BYTES[dtype]
    if node.layer.type == "attention" and dtype == "int8":
        # each projection its own operator, quantized per output channel, with an int32 bias the conversion writes
        # whether or not the layer has one (MobileNetV4's bias-free Q, K, V, output convolutions)
        channels = attention_channels(node)
        return Weights(weights * size, channels * BIAS_BYTES[dtype], QUANT_PARAM_BYTES * channels * 2)
    quantization = 0
    if dtype == "int8":  # the weights' scales and zero points, and the bias's (scale = input × weight scale)
        # one scale and zero point per output channel of every convolution the layer is (SE: its squeeze's s and
        # its excite's C, the count of its biases)
        channels = 1 if node.layer.type in PER_TENSOR else (biases or node.out_channels)
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
        token = token_ops(node, dtype)
        if token is not None:  # a layer the converter writes as several operators, its weights among them
            fixed, tensors, per_channel[i + 1] = fixed + token[0], tensors + token[1] - 1, token[2]
            extra_fixed, extra_tensors, _ = converted_ops(node, dtype)
            fixed, tensors = fixed + extra_fixed, tensors + extra_tensors
            continue
        if not node.layer.shares and kind.weights(node):
            tensors += 2 if (kind.biases(node) or node.layer.bn) else 1
        fixed += NODE_BYTES + OP_DATA_BYTES.get(t, OTHER_OP_DATA) + BUILTIN_BYTES.get(t, 0)
        if t in PER_CHANNEL_KERNELS and dtype == "int8":  # float kernels keep no per-channel multipliers
            per_channel[i + 1] += PER_CHANNEL_OP_DATA
        extra_fixed, extra_tensors, extra_channel = converted_ops(node, dtype)
        fixed, tensors, per_channel[i + 1] = fixed + extra_fixed, tensors + extra_tensors, \
            per_channel[i + 1] + extra_channel
    return fixed + EVAL_TENSOR_BYTES * tensors, per_channel


def persistent_bytes(graph: Graph, dtype: str) -> int:
    fixed, per_channel = persistent_terms(graph, dtype)
    return fixed + sum(c * n.out_channels for c, n in zip(per_channel[1:], graph.nodes, strict=True))


def buffer_in_use(buffers: Sequence[Buffer], offsets: Sequence[int], steps: Sequence[int]) -> list[int]:
    """While each layer runs: the highest byte of the placed buffers alive at its planner step, or at the steps
    of operators the converter added for it (a PAD before it), so that the largest is the arena."""
    spans = [(steps[i - 1] + 1 if i else 0, step) for i, step in enumerate(steps)]
    return [max((o + b.size for b, o in zip(buffers, offsets, strict=True) if b.first <= hi and lo <= b.last),
                default=0) for lo, hi in spans]


def live_totals(graph: Graph, dtype: str) -> list[int]:
    sizes = tensor_bytes(graph, dtype)
    return [sum(sizes[t] for t in alive) for alive in liveness(graph)[1]]


PLACED_NOTES = {
    "tflm": "tflm: one operator and one output tensor per layer, and those a TFLite conversion adds (a PAD where "
            "TFLite's SAME cannot say the padding, an activation it cannot fuse, MEAN's scratch); 16-byte "
            "alignment; scratch buffers of the int8 reference kernels",
    "tflite": "tflite: LiteRT's arena planner without delegates (XNNPACK, the default on a phone, keeps its own "
              "buffers), on the operators mobcost's export writes (a PAD before a window padded otherwise than "
              "SAME); 64-byte aligned offsets; im2col and MEAN temporaries; ADD, MUL in place"}


def placed(graph: Graph, planner: str, dtype: str) -> tuple[list[Buffer], list[int], int, list[int]]:
    """tflm and tflite: the buffers the runtime's planner places (sizes as it sees them), their offsets, the
    arena, and each layer's step (its last operator's)."""
    if planner == "tflm":
        raw = converted_buffers(graph, dtype)
        offsets, arena = tflm_arena(raw)
        return aligned(raw), offsets, arena, [next(b.first for b in raw if b.name == n.name) for n in graph.nodes]
    buffers = litert_buffers(graph, dtype)
    offsets, arena = litert_arena(buffers)
    return buffers, offsets, arena, litert_layer_nodes(graph)


def plan_memory(graph: Graph, planner: str = "tflm", dtype: str = "int8", *, patches: int = 4,
                split: int | None = None) -> Memory:
    """RAM and flash of ``graph`` under ``planner`` (one of ``PLANNERS``) with ``dtype`` tensors; ``patches``
    and ``split`` (the stage's last layer, default :func:`.whatif.default_split`) for ``patch``."""
    peak, step, alive = activation_peak(graph, dtype)
    names = tensor_names(graph)
    notes = [PERSISTENT_NOTE if planner == "tflm" else
             f"{planner} models no runtime's own RAM: persistent_bytes and total_ram_bytes are left out"]
    persistent, rec = None, None
    steps = list(range(1, len(graph.nodes) + 1))  # as TFLM numbers them: 0 the input, layer i (1-based) step i
    buffers: list[Buffer] = []
    offsets: list[int] = []
    if planner in ("tflm", "tflite"):
        buffers, offsets, arena, steps = placed(graph, planner, dtype)
        notes.append(PLACED_NOTES[planner])
        in_use = buffer_in_use(buffers, offsets, steps)
        persistent = persistent_bytes(graph, dtype) if planner == "tflm" else None
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
    if any(node.type in ("attention", "conv_attention") for node in graph.nodes):
        # One layer here is several operators in a runtime: its Q, K, V and h·N² scores are tensors of their own.
        notes.append("attention layers' inner tensors (Q, K, V, the heads' N×N scores) are not counted: the "
                     "lower bound and the arena cover the layers' inputs and outputs only, and a runtime needs more")
    if any(node.type == "additive_attention" for node in graph.nodes):  # q, k (N×C each) and G·k live inside it
        notes.append("additive_attention layers' inner tensors (q, k, the N scores, G·k) are not counted: the "
                     "lower bound and the arena cover the layers' inputs and outputs only")
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
    """The per-layer view (``mobcost memory --layers``): one row per layer in execution order (a .tflite planned
    on its own operators: one per operator), numbered with the planner's steps, as its buffers' first and last
    are. Under a planner that places buffers (tflm, tflite) the live tensors are its buffers alive at that step
    (scratch included, sizes as it sees them); otherwise the liveness rule's tensors. ``peak`` marks the first
    row where the planner's bytes in use reach ``arena_bytes`` (the arena's high-water mark, which need not be
    where the live bytes peak)."""
    names, sizes = tensor_names(m.graph), tensor_bytes(m.graph, m.dtype)
    _, live = liveness(m.graph)
    labels = m.step_names or tuple(n.name for n in m.graph.nodes)
    top = max(m.in_use, default=0)
    peak_at = m.in_use.index(top) if m.in_use else 0
    rows = []
    for i, label in enumerate(labels):
        step = m.layer_steps[i] if m.layer_steps else i + 1
        if m.buffers:
            alive = [b for b in m.buffers if b.first <= step <= b.last]
            tensors, held = tuple(b.name for b in alive), sum(b.size for b in alive)
        else:
            tensors, held = tuple(names[t] for t in live[i]), sum(sizes[t] for t in live[i])
        rows.append(StepRow(step, label, tensors, held, m.in_use[i] if m.in_use else 0, i == peak_at))
    return rows
