"""Joins of several inputs: element-wise sum (residual), channel concatenation and the channel-wise
multiply x · gate (squeeze-and-excitation written out). No Mult-Adds: the paper counts the multiply-adds of
convolution and fully connected layers only, so a sum and an elementwise product count zero."""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import EITHER, Key, LayerKind, TorchPart, norm_and_activation, register


@register("add")
class Add(LayerKind):
    """Element-wise sum of two or more equal-shaped inputs (a residual join). No Mult-Adds."""

    keys = {"act": Key("act", "none")}
    arity = 0
    doc = "element-wise sum of its inputs (residual)"
    label = "Add"
    flattened_ok = True
    takes = EITHER  # elementwise: a token sequence too

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


@register("mul")
class Mul(LayerKind):
    """x · gate, ``from: [x, gate]``: a C×1×1 gate broadcast over x's H×W×C (or equal shapes). The output has
    x's shape. The elementwise multiply is not counted in Mult-Adds: the paper counts the multiply-adds of
    convolution and fully connected layers only. Memory access: x + gate + output."""

    arity = 2
    doc = "x · gate, from: [x, gate]: a C×1×1 gate broadcast over H×W (or equal shapes); zero Mult-Adds"
    label = "Mul"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        x, gate = inputs
        if gate.c != x.c or (gate.h, gate.w) not in ((1, 1), (x.h, x.w)):
            raise ShapeError(f"mul needs a gate of x's channels, 1×1 or x's H×W; x is {x}, the gate {gate}")
        return Node(layer, inputs, x, x.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Mul"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("join", "mul")]
