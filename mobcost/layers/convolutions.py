"""Convolutions: standard (grouped), depthwise and pointwise — the paper's equations (2) and (4) — and the
transposed convolution of detection and segmentation heads.

Symbols as in the paper: D_K kernel size, M input channels, N output channels, D_F output feature map size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import (
    SCALE,
    Key,
    LayerKind,
    Pair,
    TorchPart,
    hw_text,
    norm_and_activation,
    pad_part,
    pads,
    pair,
    register,
    same_padding,
    spatial,
    torch_window,
    window_node,
)


def conv_mult_adds(kernel: Pair, in_channels: int, out_channels: int, groups: int, out: Shape) -> int:
    """Eq. (2) generalised to groups and non-square kernels: K_h·K_w·(M/g)·N·H′·W′ (a square D_K×D_K kernel on
    a D_G×D_G map: D_K·D_K·(M/g)·N·D_G·D_G; g=1: eq. 2; g=M=N: eq. 4's first term)."""
    return conv_weights(kernel, in_channels, out_channels, groups) * out.h * out.w


def conv_weights(kernel: Pair, in_channels: int, out_channels: int, groups: int) -> int:
    """K_h·K_w·(M/g)·N weights in the kernel K (D_K·D_K·(M/g)·N for a square one)."""
    return kernel[0] * kernel[1] * (in_channels // groups) * out_channels


# `kernel` and `stride`: an integer, or [height, width] (Inception v3's 1×7 and 7×1); `padding`: an integer on
# every side (default: half the dilated kernel, per axis), [height, width] (each side of that axis), [[top,
# bottom], [left, right]] (either axis may be a pair), or `same` — TensorFlow's padding, output ⌈H/stride⌉, the
# odd pixel of the total padding at the bottom and right; `dilation`: kernel taps `dilation` pixels apart (a k×k
# kernel spans dilation·(k − 1) + 1 pixels; its Mult-Adds stay k·k per output).
CONV_KEYS: Mapping[str, Key] = {
    "kernel": Key("size", 3),
    "stride": Key("size", 1),
    "padding": Key("padding", None),
    "dilation": Key("posint", 1),
    "bias": Key("bool", False),
    "bn": Key("bool", True),
    "act": Key("act", "relu"),
}


def kernel_text(node: Node) -> str:
    """``3×3``, ``1×7``: a kernel as Table 1's Filter Shape writes it (height first)."""
    kh, kw = node.kernel_hw
    return f"{kh}×{kw}"


# `out: N` or `expand: t` (out = t × the actual input channels: an expansion layer that follows its block's
# input under α); neither comes from `defaults:`, each says what one layer is.
WIDTH_KEYS: Mapping[str, Key] = {
    "out": Key("posint", from_defaults=False),
    "expand": Key("posint", from_defaults=False),
}


class _Kernel(LayerKind):
    """A layer with a k_h×k_w×(M/g)×N kernel, a bias per output channel if it declares one, and an optional
    BatchNorm after it: the weights and parameters every convolution type shares."""

    def weights(self, node: Node) -> int:
        return conv_weights(node.kernel_hw, node.input.c, node.out_channels, node.groups)

    def biases(self, node: Node) -> int:
        return node.out_channels if node.layer.bias else 0

    def bn_params(self, node: Node) -> int:
        return 2 * node.out_channels if node.layer.bn else 0


class _Conv(_Kernel):
    """Shared placement and costs of the three convolution types."""

    def _groups(self, layer: Layer, in_channels: int, out_channels: int) -> int:
        if layer.group_width is None:
            return layer.groups
        if in_channels % layer.group_width:
            raise ShapeError(f"group_width={layer.group_width} must divide the input channels ({in_channels})")
        return in_channels // layer.group_width

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        n = out_channels if out_channels is not None else x.c
        k, s = pair(self._kernel(layer)), pair(layer.stride or 1)
        span = (layer.dilation * (k[0] - 1) + 1, layer.dilation * (k[1] - 1) + 1)  # the pixels a dilated kernel covers
        g = self._groups(layer, x.c, n)
        if x.c % g or n % g:
            raise ShapeError(f"groups={g} must divide both input channels ({x.c}) and output channels ({n})")
        if layer.padding == "same":
            h, w = -(-x.h // s[0]), -(-x.w // s[1])
            p = (*same_padding(x.h, h, s[0], span[0]), *same_padding(x.w, w, s[1], span[1]))
            top = p[0] if k[0] == k[1] and s[0] == s[1] else None  # as a square layer's always was
            return window_node(layer, inputs, Shape(n, h, w), k, s, p, g, padding_int=top)
        p = pads(layer.padding) if layer.padding is not None else (span[0] // 2,) * 2 + (span[1] // 2,) * 2
        h, w = spatial(layer, x, span, s, p)
        return window_node(layer, inputs, Shape(n, h, w), k, s, p, g)

    def _kernel(self, layer: Layer) -> int | tuple[int, int]:
        return layer.kernel if layer.kernel is not None else 3

    def mult_adds(self, node: Node) -> int:
        return conv_mult_adds(node.kernel_hw, node.input.c, node.out_channels, node.groups, node.output)

    def torch_parts(self, node: Node) -> list[TorchPart]:
        top, bottom, left, right = node.padding_hw
        # sides that differ (or TensorFlow's "same", always): an explicit zero padding first
        apart = node.layer.padding == "same" or top != bottom or left != right
        conv = TorchPart("conv", "Conv2d", (node.input.c, node.out_channels, torch_window(node.kernel_hw),
                                            torch_window(node.stride_hw), 0 if apart else torch_window((top, left))),
                         {"groups": node.groups, "bias": node.layer.bias, "dilation": node.layer.dilation})
        pad = [pad_part(node.padding_hw)] if apart else []
        return [*pad, conv, *norm_and_activation(node.layer, node.out_channels)]

    def filter_shape(self, node: Node) -> str:
        return self._filter(node) + (f" d{node.layer.dilation}" if node.layer.dilation > 1 else "")

    def _filter(self, node: Node) -> str:
        return ""


@register("conv")
class Conv(_Conv):
    """Standard convolution, optionally grouped. Eq. (2): D_K·D_K·M·N·D_F·D_F; grouped D_K²·(M/g)·N·D_G²."""

    keys = {**WIDTH_KEYS, **CONV_KEYS, "groups": Key("posint", 1), "group_width": Key("posint", from_defaults=False),
            "scale": SCALE}
    doc = ("standard convolution; grouped by `groups` (kept under α) or `group_width` (channels per group, kept "
           "under α); `expand: t` instead of `out` makes it t × its input channels")
    label = "Conv"
    one_of = (("out", "expand"),)
    not_together = (("groups", "group_width"),)

    def category(self, node: Node) -> str:
        k = kernel_text(node)
        return f"Conv {k}" if node.groups == 1 else f"Conv {k} g{node.groups}"

    def _filter(self, node: Node) -> str:
        k, m = kernel_text(node), node.input.c // node.groups
        return f"{k}×{m}×{node.out_channels}" + (f" g{node.groups}" if node.groups > 1 else "")


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
        return f"Conv DW {kernel_text(node)}"

    def _filter(self, node: Node) -> str:
        return f"{kernel_text(node)}×{node.input.c} dw"


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
class TransposedConv(_Kernel):
    """Transposed convolution (``ConvTranspose2d``; upsampling in detection and segmentation heads).

    Every input pixel scatters a D_K×D_K×N patch: D_K·D_K·(M/g)·N·H_in·W_in Mult-Adds — counted on the
    *input* map, as fvcore and torch's FlopCounterMode count it (products cropped away by ``padding`` count
    too); D_K·D_K·(M/g)·N weights. ``groups`` keep their count under α.
    """

    keys = {**WIDTH_KEYS, "kernel": Key("size", required=True), "stride": Key("size", 1),
            "padding": Key("pads", 0), "output_padding": Key("nonneg", 0), "groups": Key("posint", 1),
            "bias": Key("bool", False), "bn": Key("bool", True), "act": Key("act", "relu"),
            "scale": SCALE}
    doc = ("transposed convolution (ConvTranspose2d): output (H − 1)·stride − 2·padding + kernel + output_padding "
           "per axis; Mult-Adds k_h·k_w·(M/g)·N·H_in·W_in")
    label = "Conv T"
    one_of = (("out", "expand"),)

    def check(self, values: Mapping[str, Any]) -> tuple[str, str] | None:
        stride = min(pair(values["stride"]))
        if values["output_padding"] >= stride:
            return "output_padding", f"must be less than stride ({stride}), got {values['output_padding']}"
        return None

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        n, k, s = out_channels or x.c, pair(layer.kernel or 1), pair(layer.stride or 1)
        p = pads(layer.padding or 0)
        if x.c % layer.groups or n % layer.groups:
            raise ShapeError(f"groups={layer.groups} must divide both input channels ({x.c}) and output channels ({n})")
        h, w = (transposed_output_size(d, k[i], s[i], p[2 * i], layer.output_padding) for i, d in enumerate((x.h, x.w)))
        if h < 1 or w < 1:
            raise ShapeError(f"deconv with kernel {hw_text(k)}, stride {hw_text(s)}, padding {hw_text(p[::2])} "
                             f"turns a {x.h}×{x.w} input into nothing")
        return window_node(layer, inputs, Shape(n, h, w), k, s, p, layer.groups)

    def mult_adds(self, node: Node) -> int:
        return self.weights(node) * node.input.h * node.input.w

    def mult_adds_area(self, node: Node) -> int:
        return node.input.h * node.input.w

    def category(self, node: Node) -> str:
        return f"Conv Transpose {kernel_text(node)}"

    def filter_shape(self, node: Node) -> str:
        k, m = kernel_text(node), node.input.c // node.groups
        return f"{k}×{m}×{node.out_channels} T" + (f" g{node.groups}" if node.groups > 1 else "")

    def torch_parts(self, node: Node) -> list[TorchPart]:
        top, _, left, _ = node.padding_hw
        conv = TorchPart("conv", "ConvTranspose2d", (node.input.c, node.out_channels, torch_window(node.kernel_hw),
                                                     torch_window(node.stride_hw), torch_window((top, left)),
                                                     node.layer.output_padding),
                         {"groups": node.groups, "bias": node.layer.bias})
        return [conv, *norm_and_activation(node.layer, node.out_channels)]
