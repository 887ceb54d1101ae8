"""Joins of several inputs: element-wise sum (residual), channel concatenation, the channel-wise
multiply x · gate (squeeze-and-excitation written out), and the difference and quotient of two tensors (FastViT's
RepMixer x + γ·(mixer(x) − x), L2 normalisation's x / ‖x‖). No Mult-Adds: the paper counts the multiply-adds of
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


def broadcast_place(kind: str, layer: Layer, inputs: tuple[Shape, ...]) -> Node:
    """x ∘ y with y of x's shape, or broadcast over it: C×1×1 (per channel), 1×H×W (per pixel) or 1×1×1."""
    x, y = inputs
    if y.tokens != x.tokens or y.c not in (1, x.c) or (y.h, y.w) not in ((1, 1), (x.h, x.w)):
        raise ShapeError(f"{kind} needs a second input of the first's shape, or 1 channel and/or 1×1 broadcast "
                         f"over it; the first is {x}, the second {y}")
    return Node(layer, inputs, x, x.c, None, None, None, None)


@register("sub")
class Sub(LayerKind):
    """x − y, ``from: [x, y]``: equal shapes, or y broadcast (C×1×1, 1×H×W). The output has x's shape. Zero
    Mult-Adds (a subtraction is no multiply-add of a convolution or FC layer); FastViT's RepMixer."""

    keys = {"act": Key("act", "none")}
    arity = 2
    doc = "x − y, from: [x, y] (y of x's shape, or C×1×1 / 1×H×W broadcast); zero Mult-Adds"
    label = "Sub"
    takes = EITHER

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        return broadcast_place("sub", layer, inputs)

    def category(self, node: Node) -> str:
        return "Sub"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("join", "sub"), *norm_and_activation(node.layer, node.out_channels)]


@register("div")
class Div(LayerKind):
    """x / y, ``from: [x, y]``: equal shapes, or y broadcast (C×1×1, 1×H×W: a norm per pixel). The output has x's
    shape. Zero Mult-Adds."""

    arity = 2
    doc = "x / y, from: [x, y] (y of x's shape, or C×1×1 / 1×H×W broadcast); zero Mult-Adds"
    label = "Div"
    takes = EITHER

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        return broadcast_place("div", layer, inputs)

    def category(self, node: Node) -> str:
        return "Div"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("join", "div")]
