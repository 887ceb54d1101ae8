"""Joins of several inputs: element-wise sum (residual) and channel concatenation. No Mult-Adds."""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import Key, LayerKind, TorchPart, norm_and_activation, register


@register("add")
class Add(LayerKind):
    """Element-wise sum of two or more equal-shaped inputs (a residual join). No Mult-Adds."""

    keys = {"act": Key("act", "none")}
    arity = 0
    doc = "element-wise sum of its inputs (residual)"
    label = "Add"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        first = inputs[0]
        for i, x in enumerate(inputs[1:], start=1):
            if x != first:
                raise ShapeError(f"add needs equal shapes; input {i} is {x}, input 0 is {first}")
        return Node(layer, inputs, first, first.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Add"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("join", "add"), *norm_and_activation(node.layer, node.out_channels)]


@register("concat")
class Concat(LayerKind):
    """Channel concatenation of two or more inputs with equal H×W. No Mult-Adds."""

    arity = 0
    doc = "channel concatenation of its inputs"
    label = "Concat"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        first = inputs[0]
        for i, x in enumerate(inputs[1:], start=1):
            if (x.h, x.w) != (first.h, first.w):
                raise ShapeError(f"concat needs equal H×W; input {i} is {x}, input 0 is {first}")
        out = Shape(sum(x.c for x in inputs), first.h, first.w)
        return Node(layer, inputs, out, out.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Concat"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("join", "concat")]
