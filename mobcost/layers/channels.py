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
    """The ``index``-th of ``parts`` equal channel slices of the input (ShuffleNetV2's channel split), or of parts in
    the proportions ``sizes`` (FasterNet's partial convolution on 1/4 of the channels, ``sizes: [1, 3]``; SHViT's
    48/176): part i has C·s_i/Σs channels, so the proportions hold under α. No Mult-Adds, no weights."""

    keys = {"parts": Key("posint", None, from_defaults=False), "sizes": Key("sizes", None, from_defaults=False),
            "index": Key("nonneg", required=True, from_defaults=False)}
    doc = ("the index-th (0-based) of `parts` equal channel slices of the input, or of parts in the proportions "
           "`sizes` (C·s_i/Σs channels each: [1, 3] splits 40 channels 10/30)")
    label = "Split"
    one_of = (("parts", "sizes"),)

    def check(self, values: Mapping[str, Any]) -> tuple[str, str] | None:
        sizes = values["sizes"]
        count, what = (len(sizes), "the number of sizes") if sizes is not None else (values["parts"], "parts")
        if values["index"] >= count:
            return "index", f"must be less than {what} ({count}), got {values['index']}"
        return None

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        _, c = split_range(layer, x.c)
        return Node(layer, inputs, Shape(c, x.h, x.w), c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Split"

    def filter_shape(self, node: Node) -> str:
        if node.layer.sizes is not None:
            return f"part {node.layer.index} of {':'.join(map(str, node.layer.sizes))}"
        return f"part {node.layer.index} of {node.layer.parts}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        start, width = split_range(node.layer, node.input.c)
        return [TorchPart("split", "ChannelSlice", (start, width))]


def split_range(layer: Layer, channels: int) -> tuple[int, int]:
    """(first channel, channels) of a split's part; a located ShapeError where the parts are not whole."""
    sizes = layer.sizes if layer.sizes is not None else (1,) * (layer.parts or 1)
    total, index = sum(sizes), layer.index or 0
    if channels % total:
        shown = f"{layer.parts} equal parts" if layer.sizes is None else f"parts {':'.join(map(str, sizes))}"
        raise ShapeError(f"split into {shown} needs channels divisible by {total}, got {channels}")
    unit = channels // total
    return sum(sizes[:index]) * unit, sizes[index] * unit


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
