"""A standalone activation (pre-activation designs: BN → act → conv). No Mult-Adds, no weights.

An activation after a convolution is that layer's ``act`` key; this type is for one that follows a join, a
standalone ``bn`` or the network input. Under the paper's convention activations count zero Mult-Adds
(their multiplies, e.g. hard-swish's x·relu6(x + 3)/6, are not convolution or FC multiply-adds).
"""

from __future__ import annotations

from ..ir import Layer, Node, Shape
from .base import EITHER, Key, LayerKind, TorchPart, activation_part, register


def same_shape(layer: Layer, inputs: tuple[Shape, ...]) -> Node:
    """A layer whose output is its input's shape (activations, BN, dropout, SE): no kernel, stride or groups."""
    (x,) = inputs
    return Node(layer, inputs, x, x.c, None, None, None, None)


@register("act")
class Activation(LayerKind):
    """``act`` on its input, elementwise: the output has the input's shape. Zero Mult-Adds."""

    keys = {"act": Key("activation", required=True, from_defaults=False)}
    doc = "a standalone activation (pre-activation designs); zero Mult-Adds"
    label = "Act"
    flattened_ok = True
    takes = EITHER  # elementwise: a token sequence too

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        return same_shape(layer, inputs)

    def category(self, node: Node) -> str:
        return "Activation"

    def filter_shape(self, node: Node) -> str:
        return node.layer.act

    def torch_parts(self, node: Node) -> list[TorchPart]:
        # not in place: the input is another layer's output, which a residual branch may still read
        return activation_part(node.layer.act, inplace=False)
