"""Pooling: average (global, windowed or adaptive to N×N) and max. No Mult-Adds and no weights; their work is
window reads."""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import Key, LayerKind, TorchPart, pads, pair, register, spatial, square, torch_window, window_node


class Pool(LayerKind):
    """Pooling: no Mult-Adds and no weights; memory access is input + output."""

    # without a kernel an avgpool is global, a mode no kernel value stands for: `defaults: {kernel: 5}` (meant
    # for the convolutions) leaves it global
    # `kernel`, `stride`: an integer or [height, width]; `padding`: an integer or [height, width], the same before
    # and after (torch's pools take no other)
    keys = {"kernel": Key("size", None, from_defaults=False), "stride": Key("size", None),
            "padding": Key("pads", 0)}

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        if layer.kernel is None:  # global pool over the whole feature map
            return window_node(layer, inputs, Shape(x.c, 1, 1), (x.h, x.w), (1, 1), (0, 0, 0, 0), 1)
        k, p = pair(layer.kernel), pads(layer.padding or 0)
        s = pair(layer.stride) if layer.stride is not None else k
        for axis, (pad, kernel) in enumerate(((p[0], k[0]), (p[2], k[1]))):
            if 2 * pad > kernel:
                same = square(p) is not None and square(k) is not None
                which = "" if same else (" of the height", " of the width")[axis]
                raise ShapeError(f"padding {pad} must be at most half the kernel {kernel}{which}")
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


def window_args(node: Node) -> tuple[int | tuple[int, int], ...]:
    """(kernel, stride, padding) of a windowed pool as torch takes them: ints when square, else pairs."""
    top, _, left, _ = node.padding_hw
    return torch_window(node.kernel_hw), torch_window(node.stride_hw), torch_window((top, left))


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
        return [TorchPart("pool", "AvgPool2d", window_args(node))]


@register("maxpool")
class MaxPool(Pool):
    """Max pooling with floor (default) or ceil rounding of the output size."""

    keys = {**Pool.keys, "kernel": Key("size", required=True), "ceil_mode": Key("bool", False)}
    doc = "max pooling (ceil_mode for Caffe-style rounding)"
    label = "Max Pool"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("pool", "MaxPool2d", window_args(node),
                          {"ceil_mode": node.layer.ceil_mode})]
