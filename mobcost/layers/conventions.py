"""How every counter counts: the rules of the paper, of "FLOPs", of the seed notes and of six tools, as data.

A layer's torch build (``LayerKind.torch_parts``) is a short list of primitive operations — a convolution, its
bias, a BatchNorm, an activation, a pool, a join. :func:`layer_ops` lists them with their sizes, each size as
``(value, area)``: the value and its resolution-dependent factor (the vectorised sweep splits every count into
an α part ``value // area`` and a resolution part ``area``). A convention is then one table, per operation
kind, of integer coefficients per quantity; a layer's count is Σ coefficient × value over its operations.

Quantities: ``macs`` (k·k·(M/g)·N·H′·W′ of a convolution, C_in·C_out of a fully connected layer), ``out``
(output elements), ``in`` (input elements), ``window`` (output elements × kernel area: a pool's reads),
``channels`` (a BatchNorm's C).

Every tool's rules were read from its source (cited per convention, with the version the tests run) and then
checked against the tool's own count of mobcost's torch build (tests/test_peer_counters.py). Where a tool
counts one operation twice, the rule says so (ptflops' pytorch backend hooks ``nn.ReLU`` and, while counting,
also patches ``F.relu``, which ``nn.ReLU.forward`` calls: two per element).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..ir import Node, Shape
from .base import REGISTRY, TORCH_ACTIVATIONS, TorchPart, conv_output_size
from .convention_names import CONVENTION_NAMES

# Operation kinds, in the order tables list them, and the cause each one's difference is filed under.
ACTIVATION_KINDS = tuple(f"act.{name}" for name in TORCH_ACTIVATIONS if name != "swish")  # swish is silu
KINDS = ("conv", "deconv", "conv_bias", "fc", "fc_bias", "bn", "ln", *ACTIVATION_KINDS, "maxpool", "avgpool", "gap",
         "adaptive", "upsample.nearest", "upsample.bilinear", "add", "mul", "scale", "concat", "pad", "reshape",
         "dropout")
QUANTITIES = ("macs", "out", "in", "window", "channels", "positions", "out_x_in", "out_x_out", "count",
              "thop_adaptive")

# Causes of a difference between two conventions: which (kind, quantity) terms each one collects.
CAUSES = {
    "factor_of_two": "multiply-adds counted twice (2 FLOPs per multiply-add)",
    "minus_one": "the seed's −1 per output (k·k·M multiplies need k·k·M − 1 additions)",
    "transposed": "transposed convolutions counted on their output map instead of their input",
    "biases": "bias additions (convolutions, FC layers, SE)",
    "batchnorm": "BatchNorm (folded into the convolution under the paper's convention) and LayerNorm",
    "activations": "activations (ReLU, hard-swish, sigmoid, …)",
    "pooling": "pooling (average, max, global, adaptive)",
    "upsampling": "upsampling (nearest, bilinear)",
    "joins": "elementwise joins and products (residual add, SE's x · gate, mul, layer scale; concat)",
    "moves": "padding, reshapes, slices, shuffles, dropout",
}


def cause_of(kind: str, quantity: str) -> str:
    """The cause a (kind, quantity) term of a difference is filed under."""
    if kind in ("conv", "fc", "deconv"):
        return {"macs": "factor_of_two", "out": "minus_one"}.get(quantity, "transposed")
    if kind in ("conv_bias", "fc_bias"):
        return "biases"
    if kind in ("bn", "ln"):
        return "batchnorm"
    if kind.startswith("act."):
        return "activations"
    if kind in ("maxpool", "avgpool", "gap", "adaptive"):
        return "pooling"
    if kind.startswith("upsample."):
        return "upsampling"
    return "joins" if kind in ("add", "mul", "scale", "concat") else "moves"


Rules = Mapping[str, Mapping[str, int]]  # kind → quantity → coefficient; a kind left out counts zero


@dataclass(frozen=True)
class FlopConvention:
    """One way of counting a network's operations: its rules, its unit and where the rules come from."""

    name: str
    unit: str  # what one unit of the count is
    source: str  # the files the rules were read from (repository path, version tested)
    rules: Rules
    note: str = ""
    tool: str = ""  # the package that counts this way (checked against it), "" for a paper's convention

    def coefficient(self, kind: str, quantity: str) -> int:
        return self.rules.get(kind, {}).get(quantity, 0)


def _acts(per_element: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """Activation rules from {name: count per output element}; activations left out count zero."""
    return {f"act.{name}": {"out": n} for name, n in per_element.items() if n}


MACS = {"conv": {"macs": 1}, "deconv": {"macs": 1}, "fc": {"macs": 1}}
TWICE = {"conv": {"macs": 2}, "deconv": {"macs": 2}, "fc": {"macs": 2}}
BIASES = {"conv_bias": {"out": 1}, "fc_bias": {"out": 1}}

_CONVENTIONS = (
    FlopConvention(
        "paper", "Mult-Adds", "Howard et al. 2017 (arXiv:1704.04861), §3, eqs. 2 and 4", MACS,
        "multiply-adds of convolutions and FC layers only; BatchNorm folded; activations, pooling and joins free"),
    FlopConvention(
        "flops", "FLOPs", "the convention of most later papers: a multiply-add is two floating-point operations",
        TWICE, "2 × Mult-Adds; nothing else counted"),
    FlopConvention(
        "seed", "FLOPs", "the project's seed notes: conv FLOPs = (2·k·k·M − 1)·H′·W′·N without bias, "
        "2·k·k·M·H′·W′·N with it; FC FLOPs = (2·C_i − 1)·C_o",
        {"conv": {"macs": 2, "out": -1}, "deconv": {"macs": 2, "out": -1}, "conv_bias": {"out": 1},
         "fc": {"macs": 2, "out": -1}},
        "k·k·M multiplies and k·k·M − 1 additions per output (the bias adds the missing one); grouped and "
        "depthwise convolutions use M/g; FC (2·C_i − 1)·C_o with or without bias, as the notes write it for an FC "
        "layer whose parameters include the bias; the notes give no rule for BatchNorm, activations, pooling, "
        "joins or transposed convolutions: the first four count zero, a transposed convolution counts as a "
        "convolution of its Mult-Adds (2 per multiply-add, −1 per output element, +1 with a bias)"),
    FlopConvention(
        "fvcore", "flops",
        "facebookresearch/fvcore fvcore/nn/flop_count.py (_DEFAULT_SUPPORTED_OPS), fvcore/nn/jit_handles.py "
        "(conv_flop_jit, linear_flop_jit, batchnorm_flop_jit, elementwise_flop_counter), fvcore/nn/jit_analysis.py "
        "(_IGNORED_OPS); fvcore 0.1.5.post20221221",
        {**MACS, "bn": {"out": 2}, "ln": {"out": 5}, "gap": {"in": 1}, "adaptive": {"in": 1},
         "upsample.nearest": {"out": 1}, "upsample.bilinear": {"out": 4}},
        "conv (transposed: on its input map) and linear without bias; eval-mode BatchNorm 2 per element (affine), "
        "LayerNorm 5; adaptive average pool 1 per input element; nearest upsampling 1, bilinear 4 per output; max "
        "and windowed average pools, activations, add and mul are not counted (listed as unsupported or ignored "
        "ops)", tool="fvcore"),
    FlopConvention(
        "flop-counter", "FLOPs", "pytorch/pytorch torch/utils/flop_counter.py (conv_flop_count, mm_flop, addmm_flop: "
        "the bias is not counted); torch 2.13",
        TWICE, "2 per multiply-add of convolutions (transposed: on the input map) and matrix products; nothing "
        "else", tool="torch"),
    FlopConvention(
        "ptflops-pytorch", "MACs", "sovrasov/flops-counter.pytorch ptflops/pytorch_ops.py (MODULES_MAPPING, "
        "FUNCTIONAL_MAPPING: conv_, linear_, bn_, relu_, pool_flops_counter_hook), ptflops/pytorch_engine.py "
        "(patch_functional, patch_tensor_ops); ptflops 0.7.5, backend='pytorch' (its default)",
        {**MACS, **BIASES, "bn": {"in": 2}, **_acts({"relu": 2, "relu6": 1, "leaky_relu": 1, "gelu": 2, "silu": 1}),
         "maxpool": {"in": 2}, "avgpool": {"in": 2}, "gap": {"in": 2}, "adaptive": {"in": 2},
         "upsample.nearest": {"out": 2}, "upsample.bilinear": {"out": 2}},
        "module hooks count biases, BatchNorm (2 per element, affine), ReLU/ReLU6/LeakyReLU/GELU outputs, pool "
        "inputs and upsampling outputs; the functional patches it applies at the same time count F.relu, F.gelu, "
        "F.silu, F.interpolate and the pools' F.* calls again (nn.ReLU6 and nn.LeakyReLU call unpatched "
        "functions); transposed convolutions on their input map; hard-swish, hard-sigmoid, sigmoid, tanh, "
        "LayerNorm subclasses and the `+` and `*` operators count zero", tool="ptflops"),
    FlopConvention(
        "ptflops-aten", "MACs", "sovrasov/flops-counter.pytorch ptflops/aten_ops.py (ATEN_OPS_MAPPING: conv_flop "
        "and addmm_flop count the bias, mm/matmul/bmm), ptflops/aten_engine.py; ptflops 0.7.5, backend='aten'",
        {**MACS, **BIASES}, "multiply-adds plus one addition per output for a bias; nothing else", tool="ptflops"),
    FlopConvention(
        "thop", "MACs", "Lyken17/pytorch-OpCounter thop/profile.py (register_hooks), thop/vision/basic_hooks.py, "
        "thop/vision/calc_func.py; thop 0.1.1.post2209072238",
        {"conv": {"macs": 1}, "deconv": {"out_x_in": 1}, "fc": {"macs": 1}, "bn": {"in": 4}, "avgpool": {"out": 1},
         "gap": {"thop_adaptive": 1}, "adaptive": {"thop_adaptive": 1}, "upsample.nearest": {"out": 1},
         "upsample.bilinear": {"out": 11}},
        "conv and linear without bias; a transposed convolution as output elements × k·k·M/g; BatchNorm 2 per "
        "element, doubled when affine (4); average pool 1 per output; adaptive average pool "
        "(H·W/(H′·W′) + 1) per output, computed in float64 and truncated (so in + out, or one less); upsampling "
        "1 (nearest) or 11 (bilinear) per output; ReLU, ReLU6, LeakyReLU and max pools zero; modules without a "
        "rule (hard-swish, sigmoid, SiLU, GELU, tanh, LayerNorm subclasses) and tensor operators zero",
        tool="thop"),
    FlopConvention(
        "torchinfo", "mult-adds", "TylerYep/torchinfo torchinfo/layer_info.py (LayerInfo.calculate_macs), "
        "torchinfo/model_statistics.py (leaf layers summed); torchinfo 1.8.0",
        {"conv": {"macs": 1}, "deconv": {"out_x_in": 1}, "fc": {"macs": 1}, **BIASES, "bn": {"channels": 2},
         "ln": {"channels": 2}},
        "parameters × output positions for a Conv (the bias once per output; a transposed convolution's "
        "k·k·M·N/g weights on its output map), parameters × batch for other layers with parameters named "
        "weight or bias: FC weights and bias, BatchNorm's and LayerNorm's γ and β (2·C, not per element); "
        "layers without such parameters zero", tool="torchinfo"),
    FlopConvention(
        "onnx-tool", "MACs", "ThanatosShinji/onnx-tool onnx_tool/node.py (ConvNode, GemmNode, MatMulNode, "
        "BatchNormalizationNode, PWNode and its activations, PoolBase, GlobalAveragePoolNode, AddNode, MulNode; "
        "MUL/ADD/CMP 1, DIV 4, EXP 32, SQRT 24, TANH 38), onnx_tool/graph.py (Graph.profile); onnx-tool 1.0.1",
        {"conv": {"macs": 1}, "deconv": {"out_x_out": 1}, "fc": {"macs": 1}, **BIASES, "bn": {"out": 31},
         "ln": {"out": 7, "positions": 29},
         **_acts({"relu": 1, "relu6": 2, "hswish": 5, "hsigmoid": 4, "sigmoid": 32, "silu": 33, "gelu": 34,
                  "tanh": 76, "leaky_relu": 2}),
         "maxpool": {"window": 1}, "avgpool": {"window": 1}, "gap": {"in": 1, "out": 4}, "adaptive": {"in": 1},
         "upsample.bilinear": {"out": 4}, "add": {"out": 1}, "mul": {"out": 1}, "scale": {"out": 1},
         "pad": {"count": 1}},
        "on the ONNX graph torch.onnx.export writes in eval mode with BatchNorm kept (TorchScript exporter, "
        "do_constant_folding=False, torch 2.13's default opset): BatchNormalization 31 per element (add, sqrt, "
        "div, add, mul); Relu 1, Clip (ReLU6) 2, HardSwish 5, HardSigmoid 4, Sigmoid 32, SiLU as Sigmoid + Mul "
        "33, Gelu 34, Tanh 2 × 38, LeakyRelu 2 per element; pools 1 per window read (an adaptive pool exports "
        "as one, when its output size divides the input's; otherwise the exporter refuses it); "
        "GlobalAveragePool 1 per input + 4 per output; LayerNormalization 7 per element + 29 per pixel; a "
        "transposed convolution as output elements × k·k·N/g (ConvTranspose's weight is M × N/g × k × k); "
        "Resize 4 per output when bilinear, 0 when nearest; each Add and Mul (joins, x · gate, layer scale) 1 "
        "per output; an explicit zero padding (a \"same\" convolution) 1, the Sub of the shape arithmetic the "
        "exporter writes for it. With BatchNorm folded into the convolutions (the exporters' default), each "
        "folded BatchNorm becomes one bias addition per output instead",
        tool="onnx_tool"),
)
CONVENTIONS: dict[str, FlopConvention] = {c.name: c for c in _CONVENTIONS}
if tuple(CONVENTIONS) != CONVENTION_NAMES:  # the command line's choices come from the light list
    raise ValueError(f"convention_names.CONVENTION_NAMES {CONVENTION_NAMES} != {tuple(CONVENTIONS)}")
DEFAULT_CONVENTION = "paper"


# --- a layer's operations, from its torch build -------------------------------------------------------------

Size = tuple[int, int]  # (value, area): area is the resolution-dependent factor of value


@dataclass(frozen=True)
class Op:
    """One primitive operation of a layer's torch build, with its sizes. A size whose area is 0 is not a product
    of a width part and a resolution part (thop's float count of an adaptive pool): the sweep evaluates it from
    ``float_sizes`` (channels, input H, W, output H, W)."""

    kind: str
    sizes: Mapping[str, Size] = field(default_factory=dict)
    float_sizes: tuple[int, int, int, int, int] | None = None


def _elements(x: Shape) -> Size:
    return x.numel, x.area


def _hw(value: int | tuple[int, ...]) -> tuple[int, int]:
    """A torch window argument (an int, or the pair (height, width)) as (height, width)."""
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def _conv(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    cin, cout = part.args[:2]
    (kh, kw), (sh, sw), (ph, pw) = (_hw(v) for v in part.args[2:5])
    groups, (dh, dw) = part.kwargs.get("groups", 1), _hw(part.kwargs.get("dilation", 1))
    h = conv_output_size(x.h, dh * (kh - 1) + 1, sh, ph)
    w = conv_output_size(x.w, dw * (kw - 1) + 1, sw, pw)
    out = Shape(cout, h, w)
    ops = [Op("conv", {"macs": (kh * kw * (cin // groups) * cout * h * w, h * w), "out": _elements(out)})]
    return ops + _bias(part, out), out


def _bias(part: TorchPart, out: Shape) -> list[Op]:
    return [Op("conv_bias", {"out": _elements(out)})] if part.kwargs.get("bias", True) else []


def _deconv(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """ConvTranspose2d: k·k·(M/g)·N multiply-adds per *input* pixel; counters that apply a convolution's formula
    to its output map get output elements × k·k·M/g (or × k·k·N/g, its weight's reduce volume)."""
    cin, cout = part.args[:2]
    (kh, kw), (sh, sw), (ph, pw), (eh, ew) = (_hw(v) for v in (*part.args[2:6], 0, 0)[:4])
    groups, k = part.kwargs.get("groups", 1), kh * kw
    h, w = (x.h - 1) * sh - 2 * ph + kh + eh, (x.w - 1) * sw - 2 * pw + kw + ew
    out = Shape(cout, h, w)
    ops = [Op("deconv", {"macs": (k * (cin // groups) * cout * x.h * x.w, x.h * x.w), "out": _elements(out),
                         "out_x_in": (out.numel * k * (cin // groups), h * w),
                         "out_x_out": (out.numel * k * (cout // groups), h * w)})]
    return ops + _bias(part, out), out


def _linear(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    cin, cout = part.args
    out = Shape(cout, 1, 1)
    ops = [Op("fc", {"macs": (cin * cout, x.area), "out": _elements(out)})]
    if part.kwargs.get("bias", True):
        ops.append(Op("fc_bias", {"out": _elements(out)}))
    return ops, out


def _pool(kind: str) -> Callable[[TorchPart, Shape], tuple[list[Op], Shape]]:
    def pool(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
        (kh, kw), (sh, sw), (ph, pw) = (_hw(v) for v in part.args[:3])
        ceil = part.kwargs.get("ceil_mode", False)
        out = Shape(x.c, conv_output_size(x.h, kh, sh, ph, ceil), conv_output_size(x.w, kw, sw, pw, ceil))
        window = (out.numel * kh * kw, out.area * kh * kw)
        return [Op(kind, {"in": _elements(x), "out": _elements(out), "window": window})], out

    return pool


def thop_adaptive(channels: int, ih: int, iw: int, oh: int, ow: int) -> int:
    """thop's count of an adaptive average pool, as it computes it: ``int((ih/oh · iw/ow + 1) · outputs)`` in
    float64 — in + out exactly where the float product is exact, one less where it falls just short."""
    return int(((ih / oh) * (iw / ow) + 1) * float(channels * oh * ow))


def _adaptive(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """AdaptiveAvgPool2d(n): global (``gap``) for n = 1, else ``adaptive``."""
    oh, ow = _hw(part.args[0] if part.args else 1)
    out = Shape(x.c, oh, ow)
    sizes: dict[str, Size] = {"in": _elements(x), "out": _elements(out), "window": _elements(x),
                              "thop_adaptive": (thop_adaptive(x.c, x.h, x.w, oh, ow), 0)}
    return [Op("gap" if oh == ow == 1 else "adaptive", sizes, float_sizes=(x.c, x.h, x.w, oh, ow))], out


def _global_pool(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    return _adaptive(TorchPart(part.name, part.module, (1,)), x)


def _upsample(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    fh, fw = _hw(part.kwargs.get("scale_factor", 2))
    out = Shape(x.c, x.h * int(fh), x.w * int(fw))
    return [Op(f"upsample.{part.kwargs.get('mode', 'nearest')}", {"in": _elements(x), "out": _elements(out)})], out


def _pad(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    left, right, top, bottom = part.args[0]
    out = Shape(x.c, x.h + top + bottom, x.w + left + right)
    return [Op("pad", {"out": _elements(out), "count": (1, 1)})], out


def _layer_norm(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    return [Op("ln", {**_elementwise("ln", x).sizes, "positions": (x.h * x.w, x.h * x.w)})], x


def _elementwise(kind: str, x: Shape) -> Op:
    """An operation whose output has its input's shape (BatchNorm, an activation, dropout, a shuffle)."""
    return Op(kind, {"out": _elements(x), "in": _elements(x), "channels": (x.c, x.folded)})


def _same(kind: str) -> Callable[[TorchPart, Shape], tuple[list[Op], Shape]]:
    def same(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
        return [_elementwise(kind, x)], x

    return same


def _flatten(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    out = Shape(x.numel, 1, 1, folded=x.area)
    return [Op("reshape", {"out": _elements(out)})], out


def _slice(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    out = Shape(part.args[1], x.h, x.w)
    return [Op("reshape", {"out": _elements(out)})], out


def _squeeze_excite(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """torch build's SqueezeExcite: global pool, 1×1 conv C→s with bias, act, 1×1 conv s→C with bias, gate, x·gate."""
    channels, squeeze = part.args
    ops, pooled = _global_pool(part, x)
    for cin, cout, act in ((channels, squeeze, part.kwargs.get("act", "relu")),
                           (squeeze, channels, part.kwargs.get("gate", "sigmoid"))):
        conv_ops, pooled = _conv(TorchPart("conv", "Conv2d", (cin, cout, 1, 1, 0), {"bias": True}), pooled)
        ops += conv_ops + _activation_ops(act, pooled)
    return [*ops, Op("mul", {"out": _elements(x)})], x


def _activation_ops(act: str, x: Shape) -> list[Op]:
    if act not in TORCH_ACTIVATIONS:
        return []
    return [_elementwise(f"act.{MODULE_ACTIVATION[TORCH_ACTIVATIONS[act][0]]}", x)]


# torch module name → spec activation name (swish builds SiLU too: it is silu)
MODULE_ACTIVATION = {module: name for name, (module, _, _) in TORCH_ACTIVATIONS.items() if name != "swish"}

PART_OPS: dict[str, Callable[[TorchPart, Shape], tuple[list[Op], Shape]]] = {
    "Conv2d": _conv, "ConvTranspose2d": _deconv, "Linear": _linear, "BatchNorm2d": _same("bn"),
    "LayerNorm2d": _layer_norm, "LayerScale": _same("scale"), "MaxPool2d": _pool("maxpool"),
    "AvgPool2d": _pool("avgpool"), "AdaptiveAvgPool2d": _adaptive, "Upsample": _upsample, "ZeroPad": _pad,
    "Flatten": _flatten, "FlattenMap": _flatten, "ChannelSlice": _slice, "ChannelShuffle": _same("reshape"),
    "Dropout": _same("dropout"), "SqueezeExcite": _squeeze_excite,
    **{module: _same(f"act.{name}") for module, name in MODULE_ACTIVATION.items()},
}


def _join(how: str, node: Node) -> list[Op]:
    """A join's own operations: n − 1 pairwise sums, one product x · gate, or a concatenation."""
    out = _elements(node.output)
    if how == "add":
        return [Op("add", {"out": out}) for _ in node.inputs[1:]]
    return [Op("mul" if how == "mul" else "concat", {"out": out})]


def layer_ops(node: Node) -> list[Op]:
    """The primitive operations of ``node``'s torch build, in order, with their sizes."""
    parts = REGISTRY[node.type].torch_parts(node)
    ops: list[Op] = []
    x = node.input
    if parts and parts[0].name == "join":
        ops, x, parts = _join(parts[0].module, node), node.output, parts[1:]
    for part in parts:
        if part.module not in PART_OPS:
            raise KeyError(f"no counting rule for the torch part {part.module!r} of layer type {node.type!r}: "
                           "add it to mobcost.layers.conventions.PART_OPS")
        more, x = PART_OPS[part.module](part, x)
        ops += more
    if (x.c, x.h, x.w) != (node.output.c, node.output.h, node.output.w):  # the parts must build the layer's shape
        raise ValueError(f"the torch parts of layer {node.name!r} give {x}, its shape is {node.output}: "
                         "mobcost.layers.conventions.PART_OPS is out of date")
    return ops


def op_count(op: Op, convention: FlopConvention) -> int:
    """Σ coefficient × value over the operation's sizes, under ``convention``."""
    rule = convention.rules.get(op.kind, {})
    return sum(c * op.sizes[q][0] for q, c in rule.items() if c)
