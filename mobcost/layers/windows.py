"""Window partition and merge (Swin, Liu et al. 2021 §3.2; TinyViT; EfficientViT-M's local windows): a C×H×W map cut
into w×w windows, each read as one sequence of N = w² tokens, which a transformer attends to separately; ``unwindow``
puts them back. Swin's shifted windows roll the map by −⌊w/2⌋ pixels along H and W before the partition and by
+⌊w/2⌋ after the merge (``torch.roll``): ``shift``.

The graph keeps the P = (H/w)·(W/w) windows in one shape (``Shape.window``): elements C·H·W, area H·W, so ``ln``,
``linear``, ``act`` and ``add`` cost them as one sequence of H·W tokens, and ``attention`` counts each window on its
own — P·N²·(d + d_v) per head for Q·Kᵀ and A·V, H·W·w²·(d + d_v): linear in the map's area, not quadratic as
global attention's. Partition, merge and the roll are moves: no Mult-Adds, no weights, memory in + out. Swin's mask
between the rolled regions is a buffer added to the scores (no Mult-Adds, no params). The windows must divide the
map (timm pads a map they do not; those pixels would be counted as tokens): a map they do not divide is an error.
"""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import TOKENS, Key, LayerKind, TorchPart, pair, register


def _check_window(layer: Layer, x: Shape) -> int:
    w = layer.window or 1
    if x.h % w or x.w % w:
        raise ShapeError(f"{layer.type} of {w}×{w} windows needs a map they divide, got {x.h}×{x.w} (timm pads to "
                         "whole windows; a spec states the padded map)")
    if layer.shift >= w:
        raise ShapeError(f"{layer.type}'s shift {layer.shift} must be less than its window {w} (Swin rolls by ⌊w/2⌋)")
    return w


@register("window")
class Window(LayerKind):
    """C×H×W → P = (H/w)·(W/w) sequences of N = w² tokens of C channels, rolled by −shift first. No cost beyond
    memory access."""

    keys = {"window": Key("posint", required=True, from_defaults=False),
            "shift": Key("nonneg", 0, from_defaults=False)}
    doc = ("window partition (Swin, TinyViT): a map cut into window×window windows, each a sequence of window² "
           "tokens attended to separately; shift rolls the map by −shift pixels first (Swin's shifted windows); "
           "no cost")
    label = "Window"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        w = _check_window(layer, x)
        out = Shape(x.c, x.h, x.w, tokens=True, window=(w, w))
        return Node(layer, inputs, out, x.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Tokens"

    def filter_shape(self, node: Node) -> str:
        w, out = node.layer.window, node.output
        rolled = f", shift {node.layer.shift}" if node.layer.shift else ""
        return f"{w}×{w} windows{rolled}: {out.sequences}×{out.length}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        x = node.input
        return [TorchPart("tokens", "Window", (x.c, x.h, x.w, node.output.window, node.layer.shift))]


@register("unwindow")
class Unwindow(LayerKind):
    """The windows of a ``window`` back to the C×H×W map, rolled by +shift after. No cost beyond memory access."""

    keys = {"shift": Key("nonneg", 0, from_defaults=False)}
    doc = "window merge: the windows of a `window` back to its C×H×W map, rolled by +shift after; no cost"
    label = "Unwindow"
    takes = TOKENS

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        if x.window is None:
            raise ShapeError(f"unwindow takes the windows of a `window`, got the sequence {x}; `fold` ends an "
                             "`unfold`, `pool_tokens` a sequence")
        if layer.shift >= x.window[0]:
            raise ShapeError(f"unwindow's shift {layer.shift} must be less than the window {x.window[0]}")
        return Node(layer, inputs, Shape(x.c, x.h, x.w), x.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Tokens"

    def filter_shape(self, node: Node) -> str:
        x = node.input
        return f"{x.sequences}×{x.length} → {x.h}×{x.w}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        x = node.input
        return [TorchPart("tokens", "Unwindow", (x.c, x.h, x.w, x.window, node.layer.shift))]


@register("untokens")
class Untokens(LayerKind):
    """A sequence of H·W tokens back to the C×H×W map it was read from, row by row (``x.view(B, H, W, C)``: TinyViT
    between its MLP and the next block's windows): ``size_of: X`` gives H×W, layer X's (or ``input``'s) at every
    design point. No cost beyond memory access."""

    keys = {"size_of": Key("ref", required=True, from_defaults=False)}
    doc = ("a sequence of H·W tokens back to a C×H×W map, H×W those of layer `size_of` (or `input`) at every "
           "design point; no cost")
    label = "Untokens"
    takes = TOKENS

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        h, w = pair(layer.size if layer.size is not None else 1)  # the graph builder filled `size` in
        if x.patch or x.window:
            raise ShapeError(f"untokens takes one sequence, got the {x.sequences} sequences of {x}; `unwindow` "
                             "ends a `window`, `fold` an `unfold`")
        if x.length != h * w:
            raise ShapeError(f"untokens to the {h}×{w} map of {layer.size_of} needs {h * w} tokens, got {x.length}")
        return Node(layer, inputs, Shape(x.c, h, w), x.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Tokens"

    def filter_shape(self, node: Node) -> str:
        return f"{node.input.length} tokens → {node.output.h}×{node.output.w}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        out = node.output
        return [TorchPart("tokens", "Untokens", (out.c, out.h, out.w))]


@register("space_to_depth")
class SpaceToDepth(LayerKind):
    """C×H×W → p²·C × H/p × W/p: each p×p block's pixels side by side in the channels (Swin's patch merging before its
    LayerNorm and Linear: timm's ``reshape(B, H/2, 2, W/2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3)``, channel
    (x·p + y)·C + c for the pixel at row y, column x of the block). No cost beyond memory access."""

    keys = {"patch": Key("posint", required=True, from_defaults=False)}
    doc = ("space to depth (Swin's patch merging): each patch×patch block of pixels concatenated in the channels, "
           "patch²·C × H/patch × W/patch; no cost")
    label = "Space to Depth"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        p = layer.patch or 1
        if x.h % p or x.w % p:
            raise ShapeError(f"space_to_depth of {p}×{p} blocks needs a map they divide, got {x.h}×{x.w} (timm pads "
                             "to even sides; a spec states the padded map)")
        out = Shape(x.c * p * p, x.h // p, x.w // p)
        return Node(layer, inputs, out, out.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Tokens"

    def filter_shape(self, node: Node) -> str:
        p = node.layer.patch
        return f"{p}×{p} blocks → {node.output.c} channels"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        x = node.input
        return [TorchPart("tokens", "SpaceToDepth", (x.c, x.h, x.w, node.layer.patch))]
