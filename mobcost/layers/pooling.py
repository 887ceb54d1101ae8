"""Pooling: average (global, windowed or adaptive to N×N) and max. No Mult-Adds and no weights; their work is
window reads."""

from __future__ import annotations

import math

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import (
    Key,
    LayerKind,
    TorchPart,
    pad_part,
    pads,
    pair,
    register,
    same_padding,
    spatial,
    square,
    torch_window,
    window_node,
)


class Pool(LayerKind):
    """Pooling: no Mult-Adds and no weights; memory access is input + output."""

    # without a kernel an avgpool is global, a mode no kernel value stands for: `defaults: {kernel: 5}` (meant
    # for the convolutions) leaves it global
    # `kernel`, `stride`: an integer or [height, width]; `padding`: an integer, [height, width] (each an integer or
    # [before, after]) or `same` (TensorFlow's: output ⌈H/stride⌉, the odd pixel after; timm's MaxPool2dSame).
    # Sides that differ are an explicit padding before torch's pool, which takes equal sides only.
    keys = {"kernel": Key("size", None, from_defaults=False), "stride": Key("size", None),
            "padding": Key("padding", 0)}

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        if layer.kernel is None:  # global pool over the whole feature map
            return window_node(layer, inputs, Shape(x.c, 1, 1), (x.h, x.w), (1, 1), (0, 0, 0, 0), 1)
        k = pair(layer.kernel)
        s = pair(layer.stride) if layer.stride is not None else k
        if layer.padding == "same":
            h, w = -(-x.h // s[0]), -(-x.w // s[1])
            p = (*same_padding(x.h, h, s[0], k[0]), *same_padding(x.w, w, s[1], k[1]))
            return window_node(layer, inputs, Shape(x.c, h, w), k, s, p, 1)
        p = pads(layer.padding or 0)
        for side, (pad, kernel) in enumerate(zip(p, (k[0], k[0], k[1], k[1]), strict=True)):
            if 2 * pad > kernel:
                raise ShapeError(f"padding {pad} must be at most half the kernel {kernel}{_side(p, k, side)}")
        h, w = spatial(layer, x, k, s, p)
        return window_node(layer, inputs, Shape(x.c, h, w), k, s, p, 1)

    def work(self, node: Node) -> int:
        return node.output.numel * self.window(node)

    def work_area(self, node: Node) -> int:
        return node.output.h * node.output.w * self.window(node)

    def window(self, node: Node) -> int:
        """Input elements per output element: the kernel's area, or the whole map for a global pool."""
        kh, kw = node.kernel_hw or (1, 1)
        return node.input.h * node.input.w if node.layer.kernel is None else kh * kw

    def category(self, node: Node) -> str:
        return self.label

    def filter_shape(self, node: Node) -> str:
        if node.input.h != node.input.w and node.layer.kernel is None:
            return f"Pool {node.input.h}×{node.input.w}"
        kh, kw = node.kernel_hw
        return f"Pool {kh}×{kw}"


def _side(p: tuple[int, int, int, int], k: tuple[int, int], side: int) -> str:
    """Which padding a message names: none for a square window, the axis where both its sides agree, else the
    side."""
    if square(p) is not None and square(k) is not None:
        return ""
    if p[side - side % 2] == p[side - side % 2 + 1]:
        return (" of the height", " of the width")[side // 2]
    return (" of the top", " of the bottom", " of the left", " of the right")[side]


def window_args(node: Node) -> tuple[int | tuple[int, int], ...]:
    """(kernel, stride, padding) of a windowed pool as torch takes them: ints when square, else pairs; no padding
    where an explicit one comes first (:func:`explicit_pad`)."""
    top, _, left, _ = node.padding_hw
    padding = (0, 0) if explicit_pad(node) else (top, left)
    return torch_window(node.kernel_hw), torch_window(node.stride_hw), torch_window(padding)


def explicit_pad(node: Node) -> list[TorchPart]:
    """The explicit padding before a pool whose sides differ (or TensorFlow's "same"): zeros before an average
    pool (counted, as ``count_include_pad`` counts torch's own), −∞ before a max pool (timm's pad_same)."""
    top, bottom, left, right = node.padding_hw
    if node.layer.padding != "same" and top == bottom and left == right:
        return []
    return [pad_part(node.padding_hw, -math.inf if node.type == "maxpool" else 0.0)]


def adaptive_reads(size: int, output: int) -> int:
    """Input rows (or columns) read over the ``output`` windows of adaptive pooling: window i spans
    [⌊i·H/N⌋, ⌈(i+1)·H/N⌉), so windows overlap where N does not divide H (and repeat rows where N > H)."""
    return sum(-(-(i + 1) * size // output) - i * size // output for i in range(output))


@register("avgpool")
class AvgPool(Pool):
    """Average pooling; global (output 1×1) unless ``kernel`` is given, or adaptive to ``output``×``output``
    (torch's AdaptiveAvgPool2d: VGG's and AlexNet's 7×7 and 6×6 before the classifier). Not counted in
    Mult-Adds."""

    keys = {**Pool.keys, "output": Key("posint", None, from_defaults=False)}
    doc = "average pooling (global unless kernel is given; adaptive to output×output with `output`)"
    label = "Avg Pool"
    not_together = (("kernel", "output"),)

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        if layer.output is None:
            return super().place(layer, inputs, out_channels)
        (x,) = inputs
        return Node(layer, inputs, Shape(x.c, layer.output, layer.output), x.c, None, None, None, 1)

    def work(self, node: Node) -> int:
        return node.output.c * self.work_area(node)

    def work_area(self, node: Node) -> int:
        if node.layer.output is None:
            return super().work_area(node)
        return adaptive_reads(node.input.h, node.layer.output) * adaptive_reads(node.input.w, node.layer.output)

    def filter_shape(self, node: Node) -> str:
        n = node.layer.output
        return f"Pool →{n}×{n}" if n is not None else super().filter_shape(node)

    def torch_parts(self, node: Node) -> list[TorchPart]:
        if node.layer.output is not None:
            return [TorchPart("pool", "AdaptiveAvgPool2d", (node.layer.output,))]
        if node.layer.kernel is None:
            return [TorchPart("pool", "AdaptiveAvgPool2d", (1,))]
        return [*explicit_pad(node), TorchPart("pool", "AvgPool2d", window_args(node))]


@register("maxpool")
class MaxPool(Pool):
    """Max pooling with floor (default) or ceil rounding of the output size."""

    keys = {**Pool.keys, "kernel": Key("size", required=True), "ceil_mode": Key("bool", False)}
    doc = "max pooling (ceil_mode for Caffe-style rounding)"
    label = "Max Pool"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [*explicit_pad(node), TorchPart("pool", "MaxPool2d", window_args(node),
                                               {"ceil_mode": node.layer.ceil_mode})]
