"""Layers that move channels or values without arithmetic: channel split and shuffle (ShuffleNet V1/V2),
flatten and dropout. No Mult-Adds, no weights; memory access is input + output (the seeds' rule: the
vectorised sweep counts every tensor read and written, views included)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .activations import same_shape
from .base import EITHER, Key, LayerKind, TorchPart, register


@register("split")
class Split(LayerKind):
    """The ``index``-th of ``parts`` equal channel slices of the input (ShuffleNetV2's channel split)."""

    keys = {"parts": Key("posint", required=True, from_defaults=False),
            "index": Key("nonneg", required=True, from_defaults=False)}
    doc = "the index-th (0-based) of `parts` equal channel slices of the input (channel split)"
    label = "Split"

    def check(self, values: Mapping[str, Any]) -> tuple[str, str] | None:
        if values["index"] >= values["parts"]:
            return "index", f"must be less than parts ({values['parts']}), got {values['index']}"
        return None

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        parts = layer.parts or 1
        if x.c % parts:
            raise ShapeError(f"split into {parts} equal parts needs channels divisible by {parts}, got {x.c}")
        c = x.c // parts
        return Node(layer, inputs, Shape(c, x.h, x.w), c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Split"

    def filter_shape(self, node: Node) -> str:
        return f"part {node.layer.index} of {node.layer.parts}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        width = node.output.c
        return [TorchPart("split", "ChannelSlice", ((node.layer.index or 0) * width, width))]


@register("shuffle")
class Shuffle(LayerKind):
    """Channel shuffle (ShuffleNet): C = g·n channels read as g×n, transposed to n×g. Output = input shape."""

    keys = {"groups": Key("posint", required=True, from_defaults=False)}
    doc = "channel shuffle between `groups` groups (ShuffleNet); output = input shape, no cost"
    label = "Shuffle"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        if x.c % layer.groups:
            raise ShapeError(f"shuffle between {layer.groups} groups needs channels divisible by {layer.groups}, "
                             f"got {x.c}")
        return Node(layer, inputs, x, x.c, None, None, None, layer.groups)

    def category(self, node: Node) -> str:
        return "Shuffle"

    def filter_shape(self, node: Node) -> str:
        return f"shuffle g{node.groups}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("shuffle", "ChannelShuffle", (node.input.c, node.layer.groups))]


@register("flatten")
class Flatten(LayerKind):
    """C×H×W → (C·H·W)×1×1. No cost beyond memory access. (``fc`` flattens its input itself.)"""

    doc = "flatten to C·H·W×1×1; no cost"
    label = "Flatten"
    flattened_ok = True

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        out = Shape(x.numel, 1, 1, folded=x.area)  # the sweep keeps H·W as the tensor's resolution part
        return Node(layer, inputs, out, out.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Flatten"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("flatten", "FlattenMap", (node.output.c,))]  # (N, C·H·W, 1, 1), as the shape says


@register("dropout")
class Dropout(LayerKind):
    """Dropout: the identity at inference (eval mode). No cost beyond memory access."""

    doc = "dropout: the identity at inference; no cost"
    label = "Dropout"
    flattened_ok = True
    takes = EITHER  # elementwise: a token sequence too

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        return same_shape(layer, inputs)

    def category(self, node: Node) -> str:
        return "Dropout"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("dropout", "Dropout")]
