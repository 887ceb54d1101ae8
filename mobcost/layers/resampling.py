"""Upsampling (nearest or bilinear) by an integer factor: detection and segmentation heads (FPN, U-Net).

No Mult-Adds under the paper's convention (interpolation is not a convolution or FC multiply-add) and no
weights; memory access is input + output. Its work for the latency model is zero, as for ``add``: what it
costs is the memory it moves.
"""

from __future__ import annotations

from ..ir import Layer, Node, Shape
from .base import Key, LayerKind, TorchPart, register

MODES = ("nearest", "bilinear")


@register("upsample")
class Upsample(LayerKind):
    """H×W×C → (factor·H)×(factor·W)×C by nearest or bilinear interpolation (torch's align_corners=False)."""

    keys = {"factor": Key("posint", 2), "mode": Key("choice", "nearest", choices=MODES, from_defaults=False)}
    doc = "upsample H and W by an integer `factor` (nearest or bilinear); no cost beyond memory access"
    label = "Upsample"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        f = layer.factor or 1
        return Node(layer, inputs, Shape(x.c, x.h * f, x.w * f), x.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return f"Upsample {node.layer.mode}"

    def filter_shape(self, node: Node) -> str:
        return f"×{node.layer.factor} {node.layer.mode}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        extra = {"align_corners": False} if node.layer.mode == "bilinear" else {}
        return [TorchPart("upsample", "Upsample", kwargs={"scale_factor": node.layer.factor, "mode": node.layer.mode,
                                                          **extra})]
