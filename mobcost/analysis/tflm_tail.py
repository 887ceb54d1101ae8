"""TensorFlow Lite Micro's persistent tail (the arena's tail on its 64-bit host build) as its structs size it: per
tensor, per operator, per kernel's op data and builtin options, and the operators a conversion writes for a layer
beyond its own (an activation TFLite cannot fuse, a squeeze-excite, LayerNorm and attention as tens of operators).
Used by :mod:`mobcost.analysis.memory` on a spec's layers and by the ``.tflite`` side on a file's operators."""

from __future__ import annotations

from ..ir import Node
from ..layers.attention import head_width, kv_area, kv_heads, value_width

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
# op data of the operators a conversion writes for token layers (LayerNorm, attention; 64-bit host, 16-byte aligned):
# SOFTMAX's SoftmaxParams (a double, five ints, five pointers: 72 → 80), SUB's OpDataSub (as OpDataAdd: 64),
# SQUARED_DIFFERENCE's OpData (a bool and ArithmeticParams, sixteen ints, two floats, two int64s and a five-int
# broadcast shape: 108 → 112), RSQRT's OpDataRsqrt (seven ints: 28 → 32), BATCH_MATMUL's OpDataBatchMatmul (three
# pointers, three bools: 27 → 32) and its quantization struct (seven ints: 28 → 32); SLICE keeps none
TOKEN_OP_DATA = {"SOFTMAX": 80, "SUB": 64, "SQUARED_DIFFERENCE": 112, "RSQRT": 32, "BATCH_MATMUL": 32 + 32,
                 "SLICE": 0}
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


def attention_channels(node: Node) -> int:
    """The output channels of an attention layer's projections: Q (h·d), K (g·d), V (g·d_v), the output (C), and
    with kv_stride > 1 the keys' and values' down-sampling depthwise convolutions (C each)."""
    layer = node.layer
    h, d, dv, g = layer.heads or 1, head_width(node), value_width(node), kv_heads(node)
    down = 2 * node.input.c if (layer.kv_stride or 1) > 1 else 0
    return h * d + g * (d + dv) + node.out_channels + down


# op data of the operators a conversion adds for an activation TFLite cannot fuse (LOGISTIC's OpDataLogistic 16 B,
# MUL's 48 B, others ~32 B); a squeeze-excite layer is MEAN, two CONV_2Ds, its activation's and gate's operators
# and the MUL by the input (litert-torch folds hard-sigmoid into the second convolution and a MUL by 1/6)
ACT_OP_DATA = {"silu": (16, 48), "swish": (16, 48), "sigmoid": (16,), "hswish": (32,), "gelu": (32,),
               "tanh": (32,), "leaky_relu": (32,), "hsigmoid": (48,)}
SE_OP_DATA = 48 + 80 + 80 + 48  # MEAN, the two convolutions, the MUL by the input


def converted_ops(node: Node, dtype: str) -> tuple[int, int, int]:
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


def transposed_copy_bytes(size: int, rank: int) -> int:
    """A persistent transposed copy of a BATCH_MATMUL operand (TFLM's ``AllocInitTransposeTensorFromTfLiteTensor``):
    a TfLiteEvalTensor (24 → 32 B), its dims (a count and ``rank`` ints), its data, each 16-byte aligned."""
    return aligned_16(EVAL_TENSOR_BYTES) + aligned_16(4 + 4 * rank) + aligned_16(size)


def aligned_16(size: int) -> int:
    return -(-size // 16) * 16


# What TFLM keeps per operator of a converted token layer, by TFLite operator code: op data (the tables above) and
# builtin options (TfLiteConvParams 28 B, TfLiteFullyConnectedParams 16, TfLiteAddParams 8, TfLiteMulParams 4)
CODE_OP_DATA = {"CONV_2D": 80, "DEPTHWISE_CONV_2D": 80, "FULLY_CONNECTED": 64, "ADD": 64, "MUL": 48, "PAD": 64,
                "MEAN": 48, "LOGISTIC": 16, "RESHAPE": 0, "TRANSPOSE": 0, **TOKEN_OP_DATA}
CODE_BUILTIN = {"CONV_2D": 28, "DEPTHWISE_CONV_2D": 28, "FULLY_CONNECTED": 16, "ADD": 8, "MUL": 4}
# The operators litert-torch writes for a token layer (counted on `export --int8` of MobileViT-XS and
# MobileNetV4-Hybrid-Medium, 672 and 306 operators): LayerNorm as mean, squared difference, rsqrt and an affine
# (13); an attention layer on a sequence as its qkv FULLY_CONNECTED, the split into heads, two BATCH_MATMULs and the
# softmax, the output FULLY_CONNECTED (22); MobileNetV4's multi-query attention on a map as 1×1 convolutions for
# Q, K, V and the output, the key/value down-sampling depthwise convs (and a PAD) with kv_stride, one BATCH_MATMUL
# for Q·Kᵀ and A·V as a FULLY_CONNECTED by V (21, 24 with kv_stride); the unfold and fold of MobileViT's patches as
# reshapes and transposes (5); a BatchNorm on a map the converter could not fold as SUB and MUL; a layer scale
# after a convolution folded into it (none).
TOKEN_OPS: dict[str, tuple[str, ...]] = {
    "ln": ("RESHAPE", "MEAN", "RESHAPE", "SQUARED_DIFFERENCE", "MEAN", "ADD", "RSQRT", "MUL", "SUB", "RESHAPE",
           "MUL", "RESHAPE", "ADD"),
    "attention": ("FULLY_CONNECTED", "RESHAPE", "TRANSPOSE", "SLICE", "SLICE", "SLICE", "RESHAPE", "RESHAPE", "MUL",
                  "TRANSPOSE", "RESHAPE", "RESHAPE", "BATCH_MATMUL", "RESHAPE", "SOFTMAX", "RESHAPE", "RESHAPE",
                  "BATCH_MATMUL", "RESHAPE", "TRANSPOSE", "RESHAPE", "FULLY_CONNECTED"),
    "map_attention": ("CONV_2D", "TRANSPOSE", "RESHAPE", "TRANSPOSE", "RESHAPE", "CONV_2D", "TRANSPOSE", "CONV_2D",
                      "TRANSPOSE", "MUL", "RESHAPE", "RESHAPE", "BATCH_MATMUL", "RESHAPE", "SOFTMAX", "RESHAPE",
                      "FULLY_CONNECTED", "TRANSPOSE", "RESHAPE", "TRANSPOSE", "CONV_2D"),
    "unfold": ("RESHAPE", "TRANSPOSE", "RESHAPE", "TRANSPOSE", "RESHAPE"),
    "fold": ("RESHAPE", "TRANSPOSE", "RESHAPE", "TRANSPOSE", "RESHAPE"),
    "bn": ("SUB", "MUL"),
    "layerscale": (),
}
KV_DOWN_OPS = ("PAD", "DEPTHWISE_CONV_2D", "DEPTHWISE_CONV_2D")
WEIGHTED_CODES = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def token_ops(node: Node, dtype: str) -> tuple[int, int, int] | None:
    """For a layer a conversion writes as several operators (:data:`TOKEN_OPS`): (fixed bytes, tensors, bytes per
    output channel) in place of the one operator :func:`persistent_terms` counts per layer — their nodes, op data,
    builtin options, an output tensor each and a weight and bias tensor per weighted one; per-channel multipliers
    and shifts of the weighted ones; BATCH_MATMUL's persistent transposed copy of its right-hand side (K for Q·Kᵀ,
    V for A·V: the tokens × channels each, int8)."""
    layer = node.layer
    kind = layer.type
    if kind == "attention" and layer.kv_stride is not None:
        kind = "map_attention"
    if kind not in TOKEN_OPS or (kind == "bn" and node.input.tokens):
        return None
    codes = TOKEN_OPS[kind] + (KV_DOWN_OPS if kind == "map_attention" and (layer.kv_stride or 1) > 1 else ())
    fixed = sum(NODE_BYTES + CODE_OP_DATA.get(c, OTHER_OP_DATA) + CODE_BUILTIN.get(c, 0) for c in codes)
    tensors = len(codes) + 2 * sum(c in WEIGHTED_CODES for c in codes) - (kind == "map_attention")  # A·V's V
    per_channel = 0
    if kind in ("attention", "map_attention") and dtype == "int8":
        d, dv, g = head_width(node), value_width(node), kv_heads(node)
        sequences = node.input.sequences if kind == "attention" else 1
        n_kv = kv_area(node)
        copies = [sequences * g * d * n_kv] + ([sequences * g * dv * n_kv] if kind == "attention" else [])  # Kᵀ, V
        if _widths_follow_channels(node):  # d = C/h: the Q, K, V multipliers and the copies scale with α
            per_channel += PER_CHANNEL_OP_DATA * attention_channels(node) // node.out_channels
            per_channel += sum(copies) // node.out_channels
            fixed += sum(transposed_copy_bytes(size, 3) - size for size in copies)
        else:
            downs = 2 if (node.layer.kv_stride or 1) > 1 else 0  # K's and V's depthwise convs, C channels each
            per_channel += PER_CHANNEL_OP_DATA * (1 + downs)  # and the output projection's
            fixed += PER_CHANNEL_OP_DATA * (attention_channels(node) - (1 + downs) * node.out_channels)  # Q, K, V
            fixed += sum(transposed_copy_bytes(size, 3) for size in copies)
    return fixed, tensors, per_channel


def _widths_follow_channels(node: Node) -> bool:
    """Heads of C/h channels each, every one with its own keys and values (MobileViT, ViT): every projection's
    width, and K's and V's copies, are the channels times a constant, so a sweep over α can scale them."""
    layer = node.layer
    return layer.head_dim is None and layer.value_dim is None and layer.kv_heads is None \
        and layer.kv_stride is None and node.out_channels == node.input.c
