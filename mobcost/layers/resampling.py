"""Upsampling (nearest or bilinear) by an integer factor: detection and segmentation heads (FPN, U-Net); a
resize to any size (``resize``: a segmentation head's 33×33 → 65×65 at 520 px, or back to the input's size); and
a two-stage detector's RoI crop (``roi_crop``), a bilinear crop-and-resize of one proposal to a fixed size.

No Mult-Adds under the paper's convention (interpolation is not a convolution or FC multiply-add) and no
weights; memory access is input + output. ``upsample``'s and ``roi_crop``'s work for the latency model is zero,
as for ``add``: what they cost is the memory they move. ``resize`` counts its reads as work, as pooling does:
1 per output element (nearest) or 4 (bilinear: the four neighbours blended) — work, not Mult-Adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ir import Layer, Node, Shape
from .base import Key, LayerKind, TorchPart, pair, register

MODES = ("nearest", "bilinear")
TAPS = {"nearest": 1, "bilinear": 4}  # input elements each output element reads


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


@register("resize")
class Resize(LayerKind):
    """H×W×C → H′×W′×C by nearest or bilinear interpolation to any size (torch's ``F.interpolate(size=…)``, ONNX's
    ``Resize``): ``size`` gives H′×W′ in pixels, fixed under ρ (an FPN's or a head's fixed grid); ``size_of: X``
    takes H′×W′ from layer X or the network ``input`` at every design point (a segmentation head resized to the
    input's size follows ρ; X's tensor itself is not read, only its size). ``align_corners`` (bilinear only)
    changes where samples fall, not how many. No Mult-Adds and no weights; work = output elements × taps."""

    keys = {"size": Key("size", None, from_defaults=False), "size_of": Key("ref", None, from_defaults=False),
            "mode": Key("choice", "nearest", choices=MODES, from_defaults=False),
            "align_corners": Key("bool", False, from_defaults=False)}
    one_of = (("size", "size_of"),)
    doc = ("resize H and W to `size` (pixels, fixed under ρ) or to the size of layer `size_of` (or `input`), "
           "nearest or bilinear (`align_corners`); no Mult-Adds, work = 1 or 4 reads per output element")
    label = "Resize"

    def check(self, values: Mapping[str, Any]) -> tuple[str, str] | None:
        if values["align_corners"] and values["mode"] != "bilinear":
            return "align_corners", "align_corners applies to bilinear interpolation only (mode: bilinear)"
        return None

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        h, w = pair(layer.size if layer.size is not None else 1)  # size_of: the graph builder filled `size` in
        return Node(layer, inputs, Shape(x.c, h, w), x.c, None, None, None, None)

    def work(self, node: Node) -> int:
        return node.output.c * self.work_area(node)

    def work_area(self, node: Node) -> int:
        return node.output.h * node.output.w * TAPS[node.layer.mode]

    def category(self, node: Node) -> str:
        return f"Resize {node.layer.mode}"

    def filter_shape(self, node: Node) -> str:
        target = f"size of {node.layer.size_of}" if node.layer.size_of else f"{node.output.h}×{node.output.w}"
        corners = ", align_corners" if node.layer.align_corners else ""
        return f"→{target} {node.layer.mode}{corners}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        extra = {"align_corners": node.layer.align_corners} if node.layer.mode == "bilinear" else {}
        size = (node.output.h, node.output.w)
        return [TorchPart("resize", "Upsample", kwargs={"size": size, "mode": node.layer.mode, **extra})]
