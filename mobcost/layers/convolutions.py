"""Convolutions: standard (grouped), depthwise and pointwise — the paper's equations (2) and (4) — and the
transposed convolution of detection and segmentation heads.

Symbols as in the paper: D_K kernel size, M input channels, N output channels, D_F output feature map size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import Key, LayerKind, TorchPart, norm_and_activation, register, spatial


def conv_mult_adds(kernel: int, in_channels: int, out_channels: int, groups: int, out: Shape) -> int:
    """Eq. (2) generalised to groups: D_K·D_K·(M/g)·N·D_G·D_G (g=1: eq. 2; g=M=N: eq. 4's first term)."""
    return kernel * kernel * (in_channels // groups) * out_channels * out.h * out.w


def conv_weights(kernel: int, in_channels: int, out_channels: int, groups: int) -> int:
    """D_K·D_K·(M/g)·N weights in the kernel K."""
    return kernel * kernel * (in_channels // groups) * out_channels


# `padding`: an integer on every side (default: half the dilated kernel), or `same` — TensorFlow's padding,
# output ⌈H/stride⌉, the odd pixel of the total padding at the bottom and right; `dilation`: kernel taps
# `dilation` pixels apart (a k×k kernel spans dilation·(k − 1) + 1 pixels; its Mult-Adds stay k·k per output).
CONV_KEYS: Mapping[str, Key] = {
    "kernel": Key("posint", 3),
    "stride": Key("posint", 1),
    "padding": Key("padding", None),
    "dilation": Key("posint", 1),
    "bias": Key("bool", False),
    "bn": Key("bool", True),
    "act": Key("act", "relu"),
}


# `out: N` or `expand: t` (out = t × the actual input channels: an expansion layer that follows its block's
# input under α); neither comes from `defaults:`, each says what one layer is.
def same_padding(size: int, out: int, stride: int, span: int) -> tuple[int, int]:
    """TensorFlow's "same" padding of one axis: (before, after), the odd pixel after."""
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def same_pad_part(node: Node) -> TorchPart:
    """The explicit (left, right, top, bottom) zero padding before a "same" convolution."""
    span = node.layer.dilation * ((node.kernel or 1) - 1) + 1
    top, bottom = same_padding(node.input.h, node.output.h, node.stride or 1, span)
    left, right = same_padding(node.input.w, node.output.w, node.stride or 1, span)
    return TorchPart("pad", "ZeroPad", ((left, right, top, bottom),))


WIDTH_KEYS: Mapping[str, Key] = {
    "out": Key("posint", from_defaults=False),
    "expand": Key("posint", from_defaults=False),
}


class _Conv(LayerKind):
    """Shared placement and costs of the three convolution types."""

    def _groups(self, layer: Layer, in_channels: int, out_channels: int) -> int:
        if layer.group_width is None:
            return layer.groups
        if in_channels % layer.group_width:
            raise ShapeError(f"group_width={layer.group_width} must divide the input channels ({in_channels})")
        return in_channels // layer.group_width

    def _kernel(self, layer: Layer) -> int:
        return layer.kernel if layer.kernel is not None else 3

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        n = out_channels if out_channels is not None else x.c
        k, s = self._kernel(layer), layer.stride or 1
        span = layer.dilation * (k - 1) + 1  # the pixels a dilated kernel covers
        g = self._groups(layer, x.c, n)
        if x.c % g or n % g:
            raise ShapeError(f"groups={g} must divide both input channels ({x.c}) and output channels ({n})")
        if layer.padding == "same":
            h, w = -(-x.h // s), -(-x.w // s)
            p = same_padding(x.h, h, s, span)[0]
        else:
            p = layer.padding if layer.padding is not None else span // 2
            h, w = spatial(layer, x, span, s, p)
        return Node(layer, inputs, Shape(n, h, w), n, k, s, p, g)

    def mult_adds(self, node: Node) -> int:
        return conv_mult_adds(node.kernel, node.input.c, node.out_channels, node.groups, node.output)

    def weights(self, node: Node) -> int:
        return conv_weights(node.kernel, node.input.c, node.out_channels, node.groups)

    def biases(self, node: Node) -> int:
        return node.out_channels if node.layer.bias else 0

    def bn_params(self, node: Node) -> int:
        return 2 * node.out_channels if node.layer.bn else 0

    def torch_parts(self, node: Node) -> list[TorchPart]:
        same = node.layer.padding == "same"
        conv = TorchPart("conv", "Conv2d", (node.input.c, node.out_channels, node.kernel, node.stride,
                                            0 if same else node.padding),
                         {"groups": node.groups, "bias": node.layer.bias, "dilation": node.layer.dilation})
        return [*([same_pad_part(node)] if same else []), conv, *norm_and_activation(node.layer, node.out_channels)]

    def filter_shape(self, node: Node) -> str:
        return self._filter(node) + (f" d{node.layer.dilation}" if node.layer.dilation > 1 else "")

    def _filter(self, node: Node) -> str:
        return ""


@register("conv")
class Conv(_Conv):
    """Standard convolution, optionally grouped. Eq. (2): D_K·D_K·M·N·D_F·D_F; grouped D_K²·(M/g)·N·D_G²."""

    keys = {**WIDTH_KEYS, **CONV_KEYS, "groups": Key("posint", 1), "group_width": Key("posint", from_defaults=False),
            "scale": Key("bool", True)}
    doc = ("standard convolution; grouped by `groups` (kept under α) or `group_width` (channels per group, kept "
           "under α); `expand: t` instead of `out` makes it t × its input channels")
    label = "Conv"
    one_of = (("out", "expand"),)
    not_together = (("groups", "group_width"),)

    def category(self, node: Node) -> str:
        k = node.kernel
        return f"Conv {k}×{k}" if node.groups == 1 else f"Conv {k}×{k} g{node.groups}"

    def _filter(self, node: Node) -> str:
        k, m = node.kernel, node.input.c // node.groups
        return f"{k}×{k}×{m}×{node.out_channels}" + (f" g{node.groups}" if node.groups > 1 else "")


@register("dw")
class Depthwise(_Conv):
    """Depthwise convolution, one D_K×D_K filter per channel. Eq. (4), first term: D_K·D_K·M·D_F·D_F."""

    keys = {**CONV_KEYS}
    doc = "depthwise convolution (out channels = in channels)"
    label = "Conv dw"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        return super().place(layer, inputs, inputs[0].c)

    def _groups(self, layer: Layer, in_channels: int, out_channels: int) -> int:
        return in_channels

    def category(self, node: Node) -> str:
        return f"Conv DW {node.kernel}×{node.kernel}"

    def _filter(self, node: Node) -> str:
        return f"{node.kernel}×{node.kernel}×{node.input.c} dw"


@register("pw")
class Pointwise(Conv):
    """1×1 pointwise convolution. Eq. (4), second term: M·N·D_F·D_F."""

    keys = {k: v for k, v in Conv.keys.items() if k not in ("kernel", "padding", "dilation", "groups", "group_width")}
    doc = "1×1 pointwise convolution; `expand: t` instead of `out` makes it t × its input channels"
    not_together = ()

    def _kernel(self, layer: Layer) -> int:
        return 1


def transposed_output_size(size: int, kernel: int, stride: int, padding: int, output_padding: int) -> int:
    """(H − 1)·stride − 2·padding + kernel + output_padding (torch's ConvTranspose2d)."""
    return (size - 1) * stride - 2 * padding + kernel + output_padding


@register("deconv")
class TransposedConv(LayerKind):
    """Transposed convolution (``ConvTranspose2d``; upsampling in detection and segmentation heads).

    Every input pixel scatters a D_K×D_K×N patch: D_K·D_K·(M/g)·N·H_in·W_in Mult-Adds — counted on the
    *input* map, as fvcore and torch's FlopCounterMode count it (products cropped away by ``padding`` count
    too); D_K·D_K·(M/g)·N weights. ``groups`` keep their count under α.
    """

    keys = {**WIDTH_KEYS, "kernel": Key("posint", required=True), "stride": Key("posint", 1),
            "padding": Key("nonneg", 0), "output_padding": Key("nonneg", 0), "groups": Key("posint", 1),
            "bias": Key("bool", False), "bn": Key("bool", True), "act": Key("act", "relu"),
            "scale": Key("bool", True)}
    doc = ("transposed convolution (ConvTranspose2d): output (H − 1)·stride − 2·padding + kernel + output_padding; "
           "Mult-Adds k·k·(M/g)·N·H_in·W_in")
    label = "Conv T"
    one_of = (("out", "expand"),)

    def check(self, values: Mapping[str, Any]) -> tuple[str, str] | None:
        if values["output_padding"] >= values["stride"]:
            return "output_padding", f"must be less than stride ({values['stride']}), got {values['output_padding']}"
        return None

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        n, k, s, p = out_channels or x.c, layer.kernel or 1, layer.stride or 1, layer.padding or 0
        if x.c % layer.groups or n % layer.groups:
            raise ShapeError(f"groups={layer.groups} must divide both input channels ({x.c}) and output channels ({n})")
        h, w = (transposed_output_size(d, k, s, p, layer.output_padding) for d in (x.h, x.w))
        if h < 1 or w < 1:
            raise ShapeError(f"deconv with kernel {k}, stride {s}, padding {p} turns a {x.h}×{x.w} input into nothing")
        return Node(layer, inputs, Shape(n, h, w), n, k, s, p, layer.groups)

    def mult_adds(self, node: Node) -> int:
        return conv_weights(node.kernel, node.input.c, node.out_channels, node.groups) * node.input.h * node.input.w

    def weights(self, node: Node) -> int:
        return conv_weights(node.kernel, node.input.c, node.out_channels, node.groups)

    def biases(self, node: Node) -> int:
        return node.out_channels if node.layer.bias else 0

    def bn_params(self, node: Node) -> int:
        return 2 * node.out_channels if node.layer.bn else 0

    def mult_adds_area(self, node: Node) -> int:
        return node.input.h * node.input.w

    def category(self, node: Node) -> str:
        return f"Conv Transpose {node.kernel}×{node.kernel}"

    def filter_shape(self, node: Node) -> str:
        k, m = node.kernel, node.input.c // node.groups
        return f"{k}×{k}×{m}×{node.out_channels} T" + (f" g{node.groups}" if node.groups > 1 else "")

    def torch_parts(self, node: Node) -> list[TorchPart]:
        conv = TorchPart("conv", "ConvTranspose2d", (node.input.c, node.out_channels, node.kernel, node.stride,
                                                     node.padding, node.layer.output_padding),
                         {"groups": node.groups, "bias": node.layer.bias})
        return [conv, *norm_and_activation(node.layer, node.out_channels)]
