"""Explicit padding (``F.pad``): a standalone ``pad`` layer, for padding no convolution or pool takes as its own
(TensorFlow ports pad before a layer with per-side pads; a convolution's or pool's ``padding`` takes those too).
No Mult-Adds and no weights; memory access is input + output (the padded map is written)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ir import Layer, Node, Shape
from .base import Key, LayerKind, TorchPart, pad_part, pads, register


@register("pad")
class Pad(LayerKind):
    """Zero padding of ``padding`` pixels: an integer on every side, or [height, width] with each an integer or
    [before, after] (top and bottom, left and right). Output (H + top + bottom) × (W + left + right) × C."""

    keys = {"padding": Key("padding", required=True, from_defaults=False)}
    doc = ("zero padding (F.pad): `padding` on every side, or [height, width] with each an integer or [before, "
           "after]; no Mult-Adds, no weights")
    label = "Pad"

    def check(self, values: Mapping[str, Any]) -> tuple[str, str] | None:
        if values["padding"] == "same":
            return "padding", ('"same" depends on the layer after the padding: give that convolution or pool '
                               "`padding: same`, or give the pixels here")
        return None

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        top, bottom, left, right = pads(layer.padding)  # type: ignore[arg-type]
        out = Shape(x.c, x.h + top + bottom, x.w + left + right)
        return Node(layer, inputs, out, x.c, None, None, None, None, padding_hw=(top, bottom, left, right))

    def category(self, node: Node) -> str:
        return "Pad"

    def filter_shape(self, node: Node) -> str:
        top, bottom, left, right = node.padding_hw
        return f"pad {top},{bottom},{left},{right}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [pad_part(node.padding_hw)]
