"""Normalisation and per-channel scaling: a standalone BatchNorm (pre-activation designs, DenseNet), LayerNorm
over channels (ConvNeXt), GroupNorm (and InstanceNorm, its one channel per group), L2 normalisation (SSD's L2Norm)
and layer scale. No Mult-Adds.

BatchNorm after a convolution is that layer's ``bn`` key. Under the paper's convention BatchNorm is folded
into the convolution before it and costs no Mult-Adds; a standalone one folds likewise (into the next
convolution), so it adds only its γ, β to ``bn_params``.
"""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .activations import same_shape
from .base import EITHER, Key, LayerKind, TorchPart, activation_part, norm_and_activation, register


@register("bn")
class BatchNorm(LayerKind):
    """BatchNorm2d on the input's C channels (bn_params 2·C, no Mult-Adds), then the optional activation."""

    keys = {"act": Key("act", "none")}
    doc = "a standalone BatchNorm on the input channels (bn_params 2·C, no Mult-Adds), then act"
    label = "BN"
    fixed = {"bn": True}
    flattened_ok = True
    takes = EITHER  # over the channels of every token too (LeViT's BatchNorm1d on the flattened tokens)

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        return same_shape(layer, inputs)

    def bn_params(self, node: Node) -> int:
        return 2 * node.input.c

    def category(self, node: Node) -> str:
        return "BatchNorm"

    def filter_shape(self, node: Node) -> str:
        return f"BN {node.input.c}" + (f" + {node.layer.act}" if node.layer.act != "none" else "")

    def torch_parts(self, node: Node) -> list[TorchPart]:
        if node.input.tokens:
            return [TorchPart("bn", "TokenBatchNorm", (node.input.c,)), *activation_part(node.layer.act)]
        return norm_and_activation(node.layer, node.input.c)  # layer.bn is True: BatchNorm2d, then act


class _ElementPass(LayerKind):
    """A normalisation that cannot be folded into a convolution as BatchNorm is (LayerNorm, GroupNorm, L2 norm):
    zero Mult-Adds, but one pass of arithmetic over every input element, which is its work (what latency scales
    with, as pooling's window reads; calibration times it at elements per second)."""

    def work(self, node: Node) -> int:
        return node.input.numel

    def work_area(self, node: Node) -> int:
        return node.input.area  # C·area = numel for a sequence, an unfold's sequences and a map alike


@register("ln")
class LayerNorm(_ElementPass):
    """LayerNorm over the channels of each pixel (ConvNeXt's LayerNorm2d) or token (a transformer's LayerNorm):
    γ, β per channel, no Mult-Adds. Its work (what latency scales with, as pooling's window reads) is the
    elements it normalises: mean, variance, scale and shift are a few operations on each of them, and calibration
    times them at elements per second (``measure.micro.TOKEN_KINDS``).

    Its 2·C γ, β are reported with BatchNorm's as ``bn_params`` (normalisation parameters, apart from the
    convolution and FC weights the paper counts; ``--bn-in-params`` adds them, as torchvision totals do).
    """

    keys = {"act": Key("act", "none")}
    doc = "LayerNorm over the channels of each pixel (ConvNeXt) or token: bn_params 2·C, no Mult-Adds, then act"
    label = "LN"
    takes = EITHER  # over the channels of each token too (nn.LayerNorm)

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        return same_shape(layer, inputs)

    def bn_params(self, node: Node) -> int:
        return 2 * node.input.c

    def category(self, node: Node) -> str:
        return "LayerNorm"

    def filter_shape(self, node: Node) -> str:
        return f"LN {node.input.c}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        # a sequence's tokens are its last axis already (N×C): torch's own LayerNorm, as vision transformers use
        module = "LayerNorm" if node.input.tokens else "LayerNorm2d"
        return [TorchPart("ln", module, (node.input.c,)), *activation_part(node.layer.act)]


@register("gn")
class GroupNorm(_ElementPass):
    """GroupNorm: the C channels in ``groups`` groups (kept under α), or groups of ``group_width`` channels
    (``group_width: 1`` is InstanceNorm with affine γ, β), each normalised over its channels and pixels; γ, β per
    channel. No Mult-Adds (normalisation is not a convolution's or FC layer's multiply-add, and unlike a BatchNorm
    it cannot be folded: its work is real, listed by the conventions that count it).

    Its 2·C γ, β are reported with BatchNorm's as ``bn_params``, as LayerNorm's are.
    """

    keys = {"groups": Key("posint", None, from_defaults=False), "group_width": Key("posint", None, from_defaults=False),
            "act": Key("act", "none")}
    doc = ("GroupNorm over `groups` groups (kept under α) or groups of `group_width` channels (1: InstanceNorm with "
           "affine γ, β): bn_params 2·C, no Mult-Adds, then act")
    label = "GN"
    one_of = (("groups", "group_width"),)
    takes = EITHER  # a sequence's tokens too: each group over its channels and every token (MobileViTv2)

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        width = layer.group_width
        groups = x.c // width if width is not None else layer.groups
        if (width is not None and x.c % width) or x.c % groups:
            given = f"group_width={width}" if width is not None else f"groups={groups}"
            raise ShapeError(f"GroupNorm's {given} must divide the input channels ({x.c})")
        return Node(layer, inputs, x, x.c, None, None, None, groups)

    def bn_params(self, node: Node) -> int:
        return 2 * node.input.c

    def category(self, node: Node) -> str:
        return "GroupNorm"

    def filter_shape(self, node: Node) -> str:
        return f"GN {node.input.c} g{node.groups}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        if node.input.tokens:  # over every token of every sequence of one image (the P of an unfold included)
            x = node.input
            norm = TorchPart("gn", "TokenGroupNorm", (node.groups, x.c, x.sequences, x.length))
            return [norm, *activation_part(node.layer.act)]
        return [TorchPart("gn", "GroupNorm", (node.groups, node.input.c)), *activation_part(node.layer.act)]


@register("l2norm")
class L2Norm(_ElementPass):
    """L2 normalisation over the channels of each pixel (or token), x / ‖x‖₂, then with ``gamma`` a learned scale
    per channel (SSD300's L2Norm on conv4_3, C weights, as ``layerscale``'s). No Mult-Adds: the squares, sum and
    division are not a convolution's or FC layer's multiply-adds."""

    keys = {"gamma": Key("bool", False)}
    doc = "x / ‖x‖₂ over the channels of each pixel; `gamma`: a learned scale per channel (C weights); zero Mult-Adds"
    label = "L2Norm"
    takes = EITHER

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        return same_shape(layer, inputs)

    def weights(self, node: Node) -> int:
        return node.input.c if node.layer.gamma else 0

    def mult_adds_area(self, node: Node) -> int:
        return 1  # no Mult-Adds; the sweep divides by this

    def category(self, node: Node) -> str:
        return "L2 Norm"

    def filter_shape(self, node: Node) -> str:
        return f"L2 {node.input.c}" + (" γ" if node.layer.gamma else "")

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("scale" if node.layer.gamma else "l2norm", "L2Norm", (node.input.c, node.layer.gamma),
                          {"tokens": True} if node.input.tokens else {})]


@register("layerscale")
class LayerScale(LayerKind):
    """Layer scale (CaiT, ConvNeXt): x · γ with one learned γ per channel. C weights; the multiply is not
    counted in Mult-Adds (the paper counts conv and FC multiply-adds only)."""

    doc = "per-channel learned scale x·γ (layer scale): C weights, zero Mult-Adds"
    label = "Scale"
    takes = EITHER  # per channel of each token too (EfficientFormer's and CaiT's transformer blocks)

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        return same_shape(layer, inputs)

    def weights(self, node: Node) -> int:
        return node.input.c

    def mult_adds_area(self, node: Node) -> int:
        return 1  # no Mult-Adds; the sweep divides by this

    def category(self, node: Node) -> str:
        return "Layer Scale"

    def filter_shape(self, node: Node) -> str:
        return f"γ {node.input.c}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        # a sequence's γ is (C,), broadcast over (1, N, C); a map's (C, 1, 1) as before
        return [TorchPart("scale", "LayerScale", (node.input.c,), {"tokens": True} if node.input.tokens else {})]
