"""Upsampling (nearest or bilinear) by an integer factor: detection and segmentation heads (FPN, U-Net); and
a two-stage detector's RoI crop (``roi_crop``), a bilinear crop-and-resize of one proposal to a fixed size.

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


@register("roi_crop")
class RoiCrop(LayerKind):
    """H×W×C → size×size×C: one region proposal cropped and resized bilinearly (TF's crop_and_resize, torchvision's
    RoIAlign). Sampling is interpolation, not a multiply-add under the paper's convention, and has no weights;
    the size is fixed, so it follows neither α nor the resolution. The torch build resizes the whole map, the
    same cost as a crop of one box."""

    keys = {"size": Key("posint", 14, from_defaults=False)}
    doc = "crop one region proposal and resize it to size×size (bilinear); no cost beyond memory access"
    label = "RoI crop"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        s = layer.size or 14
        return Node(layer, inputs, Shape(x.c, s, s), x.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "RoI crop"

    def filter_shape(self, node: Node) -> str:
        return f"{node.output.h}×{node.output.w} bilinear"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        size = (node.output.h, node.output.w)
        return [TorchPart("crop", "Upsample", kwargs={"size": size, "mode": "bilinear", "align_corners": False})]
