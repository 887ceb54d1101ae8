"""Convolutions: standard (grouped), depthwise and pointwise — the paper's equations (2) and (4).

Symbols as in the paper: D_K kernel size, M input channels, N output channels, D_F output feature map size.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import Key, LayerKind, TorchPart, norm_and_activation, register, spatial


def conv_mult_adds(kernel: int, in_channels: int, out_channels: int, groups: int, out: Shape) -> int:
    """Eq. (2) generalised to groups: D_K·D_K·(M/g)·N·D_G·D_G (g=1: eq. 2; g=M=N: eq. 4's first term)."""
    return kernel * kernel * (in_channels // groups) * out_channels * out.h * out.w


def conv_weights(kernel: int, in_channels: int, out_channels: int, groups: int) -> int:
    """D_K·D_K·(M/g)·N weights in the kernel K."""
    return kernel * kernel * (in_channels // groups) * out_channels


CONV_KEYS: Mapping[str, Key] = {
    "kernel": Key("posint", 3),
    "stride": Key("posint", 1),
    "padding": Key("nonneg", None),
    "bias": Key("bool", False),
    "bn": Key("bool", True),
    "act": Key("act", "relu"),
}


class _Conv(LayerKind):
    """Shared placement and costs of the three convolution types."""

    def _groups(self, layer: Layer, in_channels: int, out_channels: int) -> int:
        return layer.groups

    def _kernel(self, layer: Layer) -> int:
        return layer.kernel if layer.kernel is not None else 3

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        n = out_channels if out_channels is not None else x.c
        k, s = self._kernel(layer), layer.stride or 1
        p = layer.padding if layer.padding is not None else k // 2
        g = self._groups(layer, x.c, n)
        if x.c % g or n % g:
            raise ShapeError(f"groups={g} must divide both input channels ({x.c}) and output channels ({n})")
        h, w = spatial(layer, x, k, s, p)
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
        conv = TorchPart("conv", "Conv2d", (node.input.c, node.out_channels, node.kernel, node.stride, node.padding),
                         {"groups": node.groups, "bias": node.layer.bias})
        return [conv, *norm_and_activation(node.layer, node.out_channels)]


@register("conv")
class Conv(_Conv):
    """Standard convolution, optionally grouped. Eq. (2): D_K·D_K·M·N·D_F·D_F; grouped D_K²·(M/g)·N·D_G²."""

    keys = {"out": Key("posint", required=True), **CONV_KEYS, "groups": Key("posint", 1), "scale": Key("bool", True)}
    doc = "standard convolution (groups allowed)"
    label = "Conv"

    def category(self, node: Node) -> str:
        k = node.kernel
        return f"Conv {k}×{k}" if node.groups == 1 else f"Conv {k}×{k} g{node.groups}"

    def filter_shape(self, node: Node) -> str:
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

    def filter_shape(self, node: Node) -> str:
        return f"{node.kernel}×{node.kernel}×{node.input.c} dw"


@register("pw")
class Pointwise(Conv):
    """1×1 pointwise convolution. Eq. (4), second term: M·N·D_F·D_F."""

    keys = {k: v for k, v in Conv.keys.items() if k not in ("kernel", "padding", "groups")}
    doc = "1×1 pointwise convolution"

    def _kernel(self, layer: Layer) -> int:
        return 1
