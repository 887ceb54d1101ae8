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
from .whatif import Recompute, default_split, inplace_totals, patch_totals

# int8 models keep their biases in int32 (the TFLite 8-bit quantization spec); float models in the weights' type
BIAS_BYTES = {"int8": 4}
# a quantization parameter as a TFLite file stores it: a float32 scale and an int64 zero point
QUANT_PARAM_BYTES = 4 + 8
# layers whose weights are quantized per tensor (one scale): none. ai-edge-quantizer, the LiteRT family's quantizer
# (and mobcost's `export --int8`), quantizes convolutions and fully connected layers per output channel; TF's own
# converter keeps a fully connected layer per tensor, 24 B × (classes − 1) less on a classifier head.
PER_TENSOR: frozenset[str] = frozenset()
# int8 reference kernels' scratch requests, in bytes per output element (TRANSPOSE_CONV's int32 accumulator)
SCRATCH_PER_OUTPUT = {"deconv": 4}

# TFLM's persistent tail (the arena's tail, 64-bit host build), itemised as its RecordingMicroAllocator does:
EVAL_TENSOR_BYTES = 24  # TfLiteEvalTensor per tensor, constants too: data and dims pointers, a type (8 + 8 + 4 → 24)
NODE_BYTES = 64  # NodeAndRegistration per operator: TfLiteNode (its pointers) and its registration's pointer
IO_TENSOR_BYTES = 64 + 32  # a persistent TfLiteTensor per model input and output, and its quantization structs
# each kernel's op data (AllocatePersistentBuffer in Init/Prepare, 16-byte aligned): OpDataConv for conv and
# depthwise (padding, zero points, multiplier, shift, activation range, two pointers: 72 B on a 64-bit host → 80),
# OpDataFullyConnected (nine ints, two pointers, a bool: 57 → 64), OpDataAdd (a bool, fourteen ints: 60 → 64),
# OpDataMul (nine: 36 → 48), concatenation's OpData (ConcatenationParams: two pointers among five fields: 36 → 48);
# others ~32 B (pooling's OpDataPooling: padding, activation range, its float range)
OP_DATA_BYTES = {"conv": 80, "pw": 80, "dw": 80, "deconv": 80, "fc": 64, "linear": 64, "add": 64, "mul": 48,
                 "concat": 48}
OTHER_OP_DATA = 32
PER_CHANNEL_OP_DATA = 4 + 4  # conv/dw/fc: an int32 output multiplier and an int32 shift per output channel
# the operator's builtin options (TfLiteConvParams, …) from the flatbuffer, kept for the kernel
BUILTIN_BYTES = {"conv": 28, "pw": 28, "dw": 28, "deconv": 16, "fc": 16, "linear": 16, "maxpool": 48,
                 "avgpool": 48, "add": 8, "mul": 4, "concat": 8}
# the allocator, its arena allocator and planner objects and the subgraph tables: what the recording allocator
# does not itemise (2,288 − 1,688 − 112 B of builtin options on tests/data/tflm_chain_int8.tflite)
RUNTIME_FIXED = 488
# kernels keeping an int32 multiplier and shift per output channel (fully connected too, when per channel)
PER_CHANNEL_KERNELS = {"conv", "pw", "dw", "fc", "linear"}
PERSISTENT_NOTE = ("persistent_bytes: TFLM's tail on its 64-bit host build (tensor and node structs, op data "
                   "with per-channel multipliers and shifts, builtin options, allocator objects); a 32-bit MCU "
                   "build halves the pointers: 12 B per tensor, 32 B per operator and 16 B per convolution's "
                   "or fully connected layer's op data less, the arena unchanged")


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
        extra_fixed, extra_tensors, extra_channel = _converted_ops(node, dtype)
        fixed, tensors, per_channel[i + 1] = fixed + extra_fixed, tensors + extra_tensors, \
            per_channel[i + 1] + extra_channel
    return fixed + EVAL_TENSOR_BYTES * tensors, per_channel


# op data of the operators a conversion adds for an activation TFLite cannot fuse (LOGISTIC's OpDataLogistic 16 B,
# MUL's 48 B, others ~32 B); a squeeze-excite layer is MEAN, two CONV_2Ds, its activation's and gate's operators
# and the MUL by the input (litert-torch folds hard-sigmoid into the second convolution and a MUL by 1/6)
ACT_OP_DATA = {"silu": (16, 48), "swish": (16, 48), "sigmoid": (16,), "hswish": (32,), "gelu": (32,),
               "tanh": (32,), "leaky_relu": (32,), "hsigmoid": (48,)}
SE_OP_DATA = 48 + 80 + 80 + 48  # MEAN, the two convolutions, the MUL by the input


def _converted_ops(node: Node, dtype: str) -> tuple[int, int, int]:
    """What the operators a TFLite conversion adds to ``node`` keep in TFLM's tail: (fixed bytes, tensors, bytes
    per output channel). Not counted: the squeeze convolution's multipliers (8 B per squeeze channel, not a
    multiple of any tensor's channels) and a PAD's 152 B (whether there is one depends on the resolution)."""
    layer = node.layer
    if layer.type != "se":
        ops = ACT_OP_DATA.get(layer.act, ())
        return sum(NODE_BYTES + d for d in ops), len(ops), 0
    inner = ACT_OP_DATA.get(layer.act, ()) + ACT_OP_DATA.get(getattr(layer, "gate", ""), ())
    fixed = 4 * NODE_BYTES + SE_OP_DATA + 2 * BUILTIN_BYTES["conv"] + BUILTIN_BYTES["mul"] + \
        sum(NODE_BYTES + d for d in inner)
    # MEAN's output and axes, each convolution's weights, bias and output, the inner operators' outputs
    return fixed, 2 + 6 + len(inner), PER_CHANNEL_OP_DATA if dtype == "int8" else 0


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
    steps = list(range(len(graph.nodes)))
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
