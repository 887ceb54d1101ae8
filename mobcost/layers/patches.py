"""MobileViT's unfold and fold (Mehta & Rastegari 2022, §3.1, Fig. 1b; timm's ``MobileVitBlock``): a C×H×W map cut
into p×p patches and read as P = p·p sequences — one per pixel position inside a patch — of N = (H/p)·(W/p) tokens
each, which a transformer attends to separately (a batch of P); ``fold`` puts them back.

The graph keeps the P sequences in one shape (``Shape.patch``): elements C·N·P, area N·P, so ``ln``, ``linear``,
``act``, ``add`` and ``dropout`` cost them exactly as one sequence of N·P tokens, and ``attention`` counts each of
the P sequences on its own — P·2·N²·h·d for Q·Kᵀ and A·V, not (N·P)²: a pixel attends only to the pixels at its
own position in the other patches. Unfold and fold are moves: no Mult-Adds, no weights, memory in + out.

A side the patch does not divide (MobileViT-XS at 224 px: a 7×7 map in 2×2 patches) is resized as timm resizes
it: bilinear interpolation up to ⌈H/p⌉·p before the unfold and back to H×W after the fold (``F.interpolate``,
align_corners=False). Interpolation is no multiply-add under the paper's convention; the tools that count it do
so per output element (fvcore, onnx-tool) or per output pixel (ptflops' functional patch), which the
conventions' ``upsample.resize`` rule follows.
"""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import TOKENS, Key, LayerKind, TorchPart, register


def resized(h: int, w: int, patch: tuple[int, int]) -> tuple[int, int]:
    """The map's size after timm's resize: each side up to the next multiple of the patch."""
    return -(-h // patch[0]) * patch[0], -(-w // patch[1]) * patch[1]


@register("unfold")
class Unfold(LayerKind):
    """C×H×W → P = p·p sequences of N = ⌈H/p⌉·⌈W/p⌉ tokens of C channels (timm's reshape and transpose; a
    bilinear resize first where p does not divide H or W). No cost beyond memory access."""

    keys = {"patch": Key("posint", required=True, from_defaults=False)}
    doc = ("MobileViT's unfold: a map cut into patch×patch patches, read as patch² sequences (one per position in "
           "a patch) of H·W/patch² tokens; no cost")
    label = "Unfold"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        p = layer.patch or 1
        out = Shape(x.c, x.h, x.w, tokens=True, patch=(p, p))
        return Node(layer, inputs, out, x.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Tokens"

    def filter_shape(self, node: Node) -> str:
        p, out = node.layer.patch, node.output
        return f"{p}×{p} patches: {out.sequences}×{out.length}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        x, patch = node.input, node.output.patch
        return [TorchPart("tokens", "Unfold", (x.c, x.h, x.w, patch))]


@register("fold")
class Fold(LayerKind):
    """The P sequences of an ``unfold`` back to the C×H×W map (resized back where the unfold resized). No cost
    beyond memory access."""

    doc = "MobileViT's fold: the sequences of an `unfold` back to its C×H×W map; no cost"
    label = "Fold"
    takes = TOKENS

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        if x.patch is None:
            raise ShapeError(f"fold takes the patches of an `unfold`, got the sequence {x}; `pool_tokens` ends a "
                             "sequence of tokens")
        return Node(layer, inputs, Shape(x.c, x.h, x.w), x.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Tokens"

    def filter_shape(self, node: Node) -> str:
        x = node.input
        return f"{x.sequences}×{x.length} → {x.h}×{x.w}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        x = node.input
        return [TorchPart("tokens", "Fold", (x.c, x.h, x.w, x.patch))]
