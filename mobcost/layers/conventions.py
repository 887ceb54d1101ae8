"""How every counter counts: the rules of the paper, of "FLOPs", of the seed notes and of six tools, as data.

A layer's torch build (``LayerKind.torch_parts``) is a short list of primitive operations — a convolution, its
bias, a BatchNorm, an activation, a pool, a join. :func:`layer_ops` lists them with their sizes, each size as
``(value, area)``: the value and its resolution-dependent factor (the vectorised sweep splits every count into
an α part ``value // area`` and a resolution part ``area``). A convention is then one table, per operation
kind, of integer coefficients per quantity; a layer's count is Σ coefficient × value over its operations.

The operations and their quantities are listed by :mod:`.operations`.

Every tool's rules were read from its source (cited per convention, with the version the tests run) and then
checked against the tool's own count of mobcost's torch build (tests/test_peer_counters.py). Where a tool
counts one operation twice, the rule says so (ptflops' pytorch backend hooks ``nn.ReLU`` and, while counting,
also patches ``F.relu``, which ``nn.ReLU.forward`` calls: two per element).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .base import TORCH_ACTIVATIONS
from .convention_names import CONVENTION_NAMES
from .operations import Op, layer_ops, thop_adaptive

__all__ = ["CAUSES", "CONVENTIONS", "KINDS", "QUANTITIES", "FlopConvention", "Op", "cause_of", "layer_ops",
           "op_count", "thop_adaptive"]

# Operation kinds, in the order tables list them, and the cause each one's difference is filed under.
ACTIVATION_KINDS = tuple(f"act.{name}" for name in TORCH_ACTIVATIONS if name != "swish")  # swish is silu
KINDS = ("conv", "deconv", "conv_bias", "fc", "fc_bias", "linear", "linear_bias", "matmul", "bn", "ln", "ln_seq", "gn",
         "l2norm",
         *ACTIVATION_KINDS, "softmax", "maxpool", "avgpool", "gap", "adaptive", "token_mean", "upsample.nearest",
         "upsample.bilinear", "upsample.resize", "add", "sub", "mul", "div", "scale", "concat", "pad", "reshape",
         "dropout")
QUANTITIES = ("macs", "out", "in", "window", "channels", "positions", "out_x_in", "out_x_out", "count",
              "thop_adaptive", "weights")

# Causes of a difference between two conventions: which (kind, quantity) terms each one collects.
CAUSES = {
    "factor_of_two": "multiply-adds counted twice (2 FLOPs per multiply-add)",
    "minus_one": "the seed's −1 per output (k·k·M multiplies need k·k·M − 1 additions)",
    "transposed": "transposed convolutions counted on their output map instead of their input",
    "biases": "bias additions (convolutions, FC layers, SE)",
    "batchnorm": "BatchNorm (folded into the convolution under the paper's convention), LayerNorm, GroupNorm and L2 "
                 "normalisation",
    "activations": "activations (ReLU, hard-swish, sigmoid, …)",
    "pooling": "pooling (average, max, global, adaptive)",
    "upsampling": "upsampling (nearest, bilinear)",
    "joins": "elementwise joins and products (residual add, sub, div, SE's x · gate, mul, layer scale; concat)",
    "moves": "padding, reshapes, slices, shuffles, dropout",
    "products": "products of two activations (attention's Q·Kᵀ and A·V) and by a parameter outside any module "
                "(SwiftFormer's q·w_g)",
    "per_token": "token-wise layers counted once per sequence rather than once per token",
}


def cause_of(kind: str, quantity: str) -> str:
    """The cause a (kind, quantity) term of a difference is filed under."""
    if kind == "matmul":
        return "products"
    if kind in ("conv", "fc", "deconv", "linear"):
        return {"macs": "factor_of_two", "out": "minus_one", "weights": "per_token"}.get(quantity, "transposed")
    if kind in ("conv_bias", "fc_bias", "linear_bias"):
        return "biases"
    if kind in ("bn", "ln", "ln_seq", "gn", "l2norm"):
        return "batchnorm"
    if kind.startswith("act.") or kind == "softmax":
        return "activations"
    if kind in ("maxpool", "avgpool", "gap", "adaptive", "token_mean"):
        return "pooling"
    if kind.startswith("upsample."):
        return "upsampling"
    return "joins" if kind in ("add", "sub", "mul", "div", "scale", "concat") else "moves"


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


# ``linear``: a fully connected layer on each token (``linear``, attention's projections); ``matmul``: a product
# of two activations (attention's Q·Kᵀ and A·V), counted as Mult-Adds under the paper's convention as fvcore
# (matmul, bmm, einsum) and FlopCounterMode (bmm, scaled-dot-product attention) count it.
LAYER_MACS = {"conv": {"macs": 1}, "deconv": {"macs": 1}, "fc": {"macs": 1}, "linear": {"macs": 1}}
MACS = {**LAYER_MACS, "matmul": {"macs": 1}}
TWICE = {"conv": {"macs": 2}, "deconv": {"macs": 2}, "fc": {"macs": 2}, "linear": {"macs": 2}, "matmul": {"macs": 2}}
BIASES = {"conv_bias": {"out": 1}, "fc_bias": {"out": 1}, "linear_bias": {"out": 1}}

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
         "fc": {"macs": 2, "out": -1}, "linear": {"macs": 2, "out": -1}, "matmul": {"macs": 2, "out": -1}},
        "k·k·M multiplies and k·k·M − 1 additions per output (the bias adds the missing one); grouped and "
        "depthwise convolutions use M/g; FC (2·C_i − 1)·C_o with or without bias, as the notes write it for an FC "
        "layer whose parameters include the bias; the notes give no rule for BatchNorm, activations, pooling, "
        "joins or transposed convolutions: the first four count zero, a transposed convolution counts as a "
        "convolution of its Mult-Adds (2 per multiply-add, −1 per output element, +1 with a bias), and a product of "
        "two activations (attention's Q·Kᵀ, A·V) as an FC layer: (2·K − 1) per output of a K-long dot product"),
    FlopConvention(
        "no-products", "Mult-Adds", "the paper's convention over layers with weights only, as counters that hook "
        "modules (thop, ptflops' pytorch backend, torchinfo) and papers counting them leave attention's products out",
        LAYER_MACS, "multiply-adds of convolutions, FC layers and token-wise linear layers; the products of two "
        "activations (attention's Q·Kᵀ and A·V) count zero, so a CNN counts as under the paper's convention"),
    FlopConvention(
        "fvcore", "flops",
        "facebookresearch/fvcore fvcore/nn/flop_count.py (_DEFAULT_SUPPORTED_OPS), fvcore/nn/jit_handles.py "
        "(conv_flop_jit, linear_flop_jit, batchnorm_flop_jit, elementwise_flop_counter), fvcore/nn/jit_analysis.py "
        "(_IGNORED_OPS); fvcore 0.1.5.post20221221",
        {**MACS, "bn": {"out": 2}, "ln": {"out": 5}, "ln_seq": {"out": 5}, "gn": {"out": 5}, "gap": {"in": 1},
         "adaptive": {"in": 1},
         "upsample.nearest": {"out": 1}, "upsample.bilinear": {"out": 4}, "upsample.resize": {"out": 4}},
        "conv (transposed: on its input map) and linear without bias; eval-mode BatchNorm 2 per element (affine), "
        "LayerNorm and GroupNorm 5; adaptive average pool 1 per input element; nearest upsampling 1, bilinear 4 per "
        "output (an unfold's resize to whole patches too); max "
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
        {**LAYER_MACS, **BIASES, "bn": {"in": 2}, "gn": {"in": 2}, "ln_seq": {"in": 1},
         **_acts({"relu": 2, "relu6": 1, "leaky_relu": 1, "gelu": 2, "silu": 1}),
         "maxpool": {"in": 2}, "avgpool": {"in": 2}, "gap": {"in": 2}, "adaptive": {"in": 2},
         "upsample.nearest": {"out": 2}, "upsample.bilinear": {"out": 2}, "upsample.resize": {"out": 1}},
        "module hooks count biases, BatchNorm and GroupNorm (2 per element, affine), ReLU/ReLU6/LeakyReLU/GELU "
        "outputs, pool inputs and upsampling outputs; the functional patches it applies at the same time count "
        "F.relu, F.gelu, F.silu, F.interpolate (alone, 1 per output, in an unfold's or fold's resize) and the "
        "pools' F.* calls again (nn.ReLU6 and nn.LeakyReLU call unpatched "
        "functions); transposed convolutions on their input map; hard-swish, hard-sigmoid, sigmoid, tanh, "
        "LayerNorm subclasses and the `+` and `*` operators count zero; nn.LayerNorm itself 1 per element (its "
        "`elementwise_affine` is not the `affine` the hook doubles for); Linear on tokens per token, its bias too; "
        "attention's `@` products and Tensor.softmax are not patched: zero", tool="ptflops"),
    FlopConvention(
        "ptflops-aten", "MACs", "sovrasov/flops-counter.pytorch ptflops/aten_ops.py (ATEN_OPS_MAPPING: conv_flop "
        "and addmm_flop count the bias, mm/matmul/bmm), ptflops/aten_engine.py; ptflops 0.7.5, backend='aten'",
        {**MACS, **BIASES}, "multiply-adds (attention's products included: bmm) plus one addition per output for a "
        "bias; nothing else", tool="ptflops"),
    FlopConvention(
        "thop", "MACs", "Lyken17/pytorch-OpCounter thop/profile.py (register_hooks), thop/vision/basic_hooks.py, "
        "thop/vision/calc_func.py; thop 0.1.1.post2209072238",
        {"conv": {"macs": 1}, "deconv": {"out_x_in": 1}, "fc": {"macs": 1}, "linear": {"macs": 1}, "bn": {"in": 4},
         "ln_seq": {"in": 4}, "avgpool": {"out": 1},
         "gap": {"thop_adaptive": 1}, "adaptive": {"thop_adaptive": 1}, "upsample.nearest": {"out": 1},
         "upsample.bilinear": {"out": 11}},
        "conv and linear without bias; a transposed convolution as output elements × k·k·M/g; BatchNorm 2 per "
        "element, doubled when affine (4); average pool 1 per output; adaptive average pool "
        "(H·W/(H′·W′) + 1) per output, computed in float64 and truncated (so in + out, or one less); upsampling "
        "1 (nearest) or 11 (bilinear) per output; ReLU, ReLU6, LeakyReLU and max pools zero; modules without a "
        "rule (hard-swish, sigmoid, SiLU, GELU, tanh, LayerNorm subclasses) and tensor operators zero; nn.LayerNorm "
        "on tokens 4 per element; Linear on tokens per token; attention's products (the `@` operator) zero",
        tool="thop"),
    FlopConvention(
        "torchinfo", "mult-adds", "TylerYep/torchinfo torchinfo/layer_info.py (LayerInfo.calculate_macs), "
        "torchinfo/model_statistics.py (leaf layers summed); torchinfo 1.8.0",
        {"conv": {"macs": 1}, "deconv": {"out_x_in": 1}, "fc": {"macs": 1}, **BIASES, "bn": {"channels": 2},
         "ln": {"channels": 2}, "ln_seq": {"channels": 2}, "gn": {"channels": 2},
         "linear": {"weights": 1}, "linear_bias": {"channels": 1}},
        "parameters × output positions for a Conv (the bias once per output; a transposed convolution's "
        "k·k·M·N/g weights on its output map), parameters × batch for other layers with parameters named "
        "weight or bias: FC weights and bias, BatchNorm's, LayerNorm's and GroupNorm's γ and β (2·C, not per element; "
        "2·C·N for LeViT's BatchNorm1d on N flattened tokens, whose batch is the tokens); "
        "layers without such parameters zero; so a Linear on N tokens counts its weights and bias once, not N times, "
        "and attention's products zero", tool="torchinfo"),
    FlopConvention(
        "onnx-tool", "MACs", "ThanatosShinji/onnx-tool onnx_tool/node.py (ConvNode, GemmNode, MatMulNode, "
        "BatchNormalizationNode, PWNode and its activations, PoolBase, GlobalAveragePoolNode, AddNode, MulNode; "
        "MUL/ADD/CMP 1, DIV 4, EXP 32, SQRT 24, TANH 38), onnx_tool/graph.py (Graph.profile); onnx-tool 1.0.1",
        {**MACS, "deconv": {"out_x_out": 1}, **BIASES, "bn": {"out": 31},
         "ln": {"out": 7, "positions": 29}, "ln_seq": {"out": 7, "positions": 29}, "gn": {"out": 9},
         "l2norm": {"in": 25, "out": 4, "count": 2}, "softmax": {"out": 36},
         "token_mean": {"in": 1},
         **_acts({"relu": 1, "relu6": 2, "hswish": 5, "hsigmoid": 4, "sigmoid": 32, "silu": 33, "gelu": 34,
                  "tanh": 76, "leaky_relu": 2}),
         "maxpool": {"window": 1}, "avgpool": {"window": 1}, "gap": {"in": 1, "out": 4}, "adaptive": {"in": 1},
         "upsample.bilinear": {"out": 4}, "upsample.resize": {"out": 4}, "add": {"out": 1}, "sub": {"out": 1},
         "mul": {"out": 1}, "div": {"out": 4}, "scale": {"out": 1}, "pad": {"count": 1}},
        "on the ONNX graph torch.onnx.export writes in eval mode with BatchNorm kept (TorchScript exporter, "
        "do_constant_folding=False, torch 2.13's default opset): BatchNormalization 31 per element (add, sqrt, "
        "div, add, mul); Relu 1, Clip (ReLU6) 2, HardSwish 5, HardSigmoid 4, Sigmoid 32, SiLU as Sigmoid + Mul "
        "33, Gelu 34, Tanh 2 × 38, LeakyRelu 2 per element; pools 1 per window read (an adaptive pool exports "
        "as one, when its output size divides the input's; otherwise the exporter refuses it); "
        "GlobalAveragePool 1 per input + 4 per output; LayerNormalization 7 per element + 29 per pixel; a "
        "transposed convolution as output elements × k·k·N/g (ConvTranspose's weight is M × N/g × k × k); "
        "Resize 4 per output when bilinear (MobileViT's resize to whole patches too), 0 when nearest; each Add "
        "and Mul (joins, x · gate, layer scale) and Sub 1, Div 4 "
        "per output; an explicit zero padding (a \"same\" convolution) 1, the Sub of the shape arithmetic the "
        "exporter writes for it. With BatchNorm folded into the convolutions (the exporters' default), each "
        "folded BatchNorm becomes one bias addition per output instead. Sequences: MatMul 1 per multiply-add (a "
        "Linear on tokens, attention's Q·Kᵀ and A·V), its bias Add 1 per output, Softmax 36 per element (exp, "
        "div), ReduceMean 1 per input; GroupNorm as InstanceNormalization (7 per element) on the grouped view, then "
        "Mul and Add by γ, β: 9 per element; L2 normalisation as ReduceL2 (25 per input), Clip of the norm (2 in "
        "all, as onnx-tool sizes it) and Div (4 per output)",
        tool="onnx_tool"),
)
CONVENTIONS: dict[str, FlopConvention] = {c.name: c for c in _CONVENTIONS}
if tuple(CONVENTIONS) != CONVENTION_NAMES:  # the command line's choices come from the light list
    raise ValueError(f"convention_names.CONVENTION_NAMES {CONVENTION_NAMES} != {tuple(CONVENTIONS)}")
DEFAULT_CONVENTION = "paper"


def op_count(op: Op, convention: FlopConvention) -> int:
    """Σ coefficient × value over the operation's sizes, under ``convention``."""
    rule = convention.rules.get(op.kind, {})
    return sum(c * op.sizes[q][0] for q, c in rule.items() if c)
