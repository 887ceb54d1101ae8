"""Cascaded group attention on a map (EfficientViT-M, Liu et al. CVPR 2023, §3.2 and eq. 2; timm
``efficientvit_msra.CascadedGroupAttention`` and ``LocalWindowAttention``), as one layer.

The C channels are cut into h chunks of c = C/h. Head i reads chunk i — plus head i−1's output from head 1 on (the
cascade: X̃ᵢ = Xᵢ + X̃ᵢ₋₁ᵒᵘᵗ, an addition) — and a 1×1 conv + BN gives its queries, keys and values (d, d, d_v
channels); the queries pass a k×k depthwise conv + BN (padding k // 2); the scores (q·d^−½)ᵀk plus a learned
attention-bias table (h × N: one per head per distinct |offset|), a softmax, and the head's output v·Aᵀ, a d_v×N
map. The h outputs are concatenated, and ReLU, a 1×1 conv + BN projects them back to C.

``window`` w (``LocalWindowAttention``): a map larger than w on a side is padded at the bottom and right to whole
windows, Hp = ⌈H/w⌉·w by Wp = ⌈W/w⌉·w, and each of the P = (Hp/w)·(Wp/w) windows (N = w² pixels) is attended to
on its own, held as a C×w×w map (the convs run per window, with zero padding at its edges); a map no larger than w,
or no ``window``, is attended to whole (P = 1, N = H·W). With A = Hp·Wp = P·N pixels attended:

* Mult-Adds: A·[C·(2d + d_v) + h·k²·d + h·d_v·C] (the h q/k/v convs of c → 2d + d_v, the h query dw convs, the
  projection) + P·N²·h·(d + d_v) (Q·Kᵀ and A·V per head). Softmax, the scale, the table, the cascade's additions,
  ReLU and the BatchNorms count zero (the paper's convention; fvcore counts the convs as conv and the products as
  matmul, FlopCounterMode as convolution and bmm at two flops per multiply-add).
* Params: the weights above, h·N table entries, and with ``bn: false`` (a BN-folded export) a bias per conv output
  instead of the BatchNorms' γ, β — bn_params 2·(h·(2d + d_v) + h·d + C) with ``bn``.
* Memory access: the seeds' rule, the map in, the map out and the weights (scores, q, k, v are internal).

Width α: ``heads`` and the key width ``head_dim`` keep their value (EfficientViT-M0…M5 all use d = 16); the value
width d_v is the chunk's, C/h, and follows α: the cascade adds each head's output to the next head's chunk, so timm
sets attn_ratio = C / (d·h) for every model. Resolution ρ: the convs scale with A (ρ²); the products with P·N², ρ²
under windows and ρ⁴ on a whole map (two terms, as attention's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import Key, LayerKind, Terms, TorchPart, register
from .operations import PART_OPS
from .operations_attention import _products
from .primitives import Op, _conv, _elementwise


def grid(node: Node) -> tuple[int, int, int]:
    """(Hp, Wp, N): the padded map attended to and the pixels of each window (the whole map without windows)."""
    x, w = node.input, node.layer.window
    if w is None or (x.h <= w and x.w <= w):
        return x.h, x.w, x.h * x.w
    return -(-x.h // w) * w, -(-x.w // w) * w, w * w


def widths(node: Node) -> tuple[int, int, int, int, int]:
    """(h, c, d, d_v, k): heads, the chunk each reads, key and value widths, the query dw conv's kernel."""
    layer, c = node.layer, node.input.c
    h = layer.heads or 1
    return h, c // h, layer.head_dim or 1, c // h, layer.kernel or 1  # type: ignore[return-value]


@register("cascaded_attention")
class CascadedAttention(LayerKind):
    """EfficientViT-M's cascaded group attention (optionally in local windows); output = input map."""

    keys = {"heads": Key("posint", required=True, from_defaults=False),
            "head_dim": Key("posint", required=True, from_defaults=False),
            "kernel": Key("posint", 5, from_defaults=False),
            "window": Key("posint", from_defaults=False), "bn": Key("bool", True, from_defaults=False)}
    doc = ("cascaded group attention (EfficientViT-M): heads chunks of the channels, each head (its chunk plus the "
           "previous head's output) a 1×1 conv to q, k, v (head_dim, head_dim and channels / heads wide: the "
           "cascade adds each head's output to the next one's chunk), a kernel×kernel depthwise conv on q, "
           "softmax(qᵀk/√d + bias table)·v; the outputs concatenated, ReLU, 1×1 conv back; window attends windows "
           "of the map separately (padded to whole windows); bn: BatchNorm after every conv (false: conv biases, as "
           "a BN-folded export)")
    label = "Cascaded Attention"

    def check(self, values: Mapping[str, Any]) -> tuple[str, str] | None:
        if values["kernel"] % 2 == 0:
            return "kernel", f"the query's depthwise conv keeps the map's size only with an odd kernel, got " \
                             f"{values['kernel']}"
        return None

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        heads = layer.heads or 1
        if x.c % heads:
            raise ShapeError(f"cascaded_attention with {heads} heads cuts the channels into {heads} equal chunks: "
                             f"{x.c} channels do not divide")
        return Node(layer, inputs, x, x.c, None, None, None, None)

    def weights(self, node: Node) -> int:
        """C·(2d + d_v) + h·k²·d + h·d_v·C: the q/k/v convs, the query dw convs, the projection."""
        h, c, d, dv, k = widths(node)
        return h * c * (2 * d + dv) + h * k * k * d + h * dv * node.input.c

    def product_terms(self, node: Node) -> tuple[int, int]:
        """(P·N²·h·(d + d_v), P·N²): Q·Kᵀ and A·V of every head in every window."""
        hp, wp, n = grid(node)
        h, _, d, dv, _ = widths(node)
        pairs = hp * wp * n  # P·N·N with P·N = Hp·Wp
        return pairs * h * (d + dv), pairs

    def mult_adds_terms(self, node: Node) -> Terms:
        hp, wp, _ = grid(node)
        return (hp * wp * self.weights(node), hp * wp), self.product_terms(node)

    def work_terms(self, node: Node) -> Terms:
        return self.mult_adds_terms(node)

    def mult_adds(self, node: Node) -> int:
        return sum(count for count, _ in self.mult_adds_terms(node))

    def work(self, node: Node) -> int:
        return self.mult_adds(node)

    def mult_adds_area(self, node: Node) -> int:
        hp, wp, _ = grid(node)
        return hp * wp  # divides the first term; the sweep reads the terms instead

    def score_elements(self, node: Node) -> int:
        """h·P·N²: the scores the softmax normalises (no Mult-Adds; a calibrated profile prices them)."""
        return (node.layer.heads or 1) * self.product_terms(node)[1]

    def table_params(self, node: Node) -> int:
        """h·N: timm's attention_biases, one per head per distinct |offset| in a window (N of them on a square
        grid), sized to the window (or the whole map) at this resolution."""
        return (node.layer.heads or 1) * grid(node)[2]

    def _conv_outputs(self, node: Node) -> int:
        """h·(2d + d_v) + h·d + C: the channels the convs write (one BatchNorm or bias each)."""
        h, _, d, dv, _ = widths(node)
        return h * (2 * d + dv) + h * d + node.input.c

    def biases(self, node: Node) -> int:
        return self.table_params(node) + (0 if node.layer.bn else self._conv_outputs(node))

    def bn_params(self, node: Node) -> int:
        return 2 * self._conv_outputs(node) if node.layer.bn else 0

    def category(self, node: Node) -> str:
        return "Attention"

    def filter_shape(self, node: Node) -> str:
        h, _, d, dv, k = widths(node)
        window = f", {node.layer.window}×{node.layer.window} windows" if node.layer.window else ""
        return f"{h}×(q, k {d}, v {dv}), dw {k}×{k}{window}, {node.input.c}"

    def type_label(self, node: Node) -> str:
        return f"{self.label} / {node.layer.heads}h"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        x, layer = node.input, node.layer
        h, _, d, _, k = widths(node)
        return [TorchPart("attn", "CascadedAttention", (x.c, x.h, x.w, h, d),
                          {"kernel": k, "window": layer.window, "bn": layer.bn})]


def _head_ops(part: TorchPart, x: Shape, first: bool, n: int) -> list[Op]:
    """One head on the Hp×Wp pixels of its windows: the cascade's addition (from head 1 on), the q/k/v conv, the
    query dw conv (each + BN), q·d^−½, Q·Kᵀ, + the table, softmax, A·V."""
    channels, _, _, heads, d = part.args
    dv, k, bn = channels // heads, part.kwargs["kernel"], part.kwargs["bn"]
    windows = x.h * x.w // n
    chunk = Shape(channels // heads, x.h, x.w)
    ops = [] if first else [Op("add", {"out": (chunk.numel, chunk.area)})]
    more, qkv = _conv(TorchPart("conv", "Conv2d", (chunk.c, 2 * d + dv, 1, 1, 0), {"bias": not bn}), chunk)
    ops += more + _norm(qkv, bn, windows)
    more, q = _conv(TorchPart("conv", "Conv2d", (d, d, k, 1, k // 2), {"groups": d, "bias": not bn}),
                    Shape(d, x.h, x.w))
    ops += more + _norm(q, bn, windows)
    return ops + _products(q, Shape(dv, x.h, x.w), 1, x.h * x.w * n, {"bias_table": True})


def _norm(x: Shape, bn: bool, windows: int) -> list[Op]:
    """A conv's BatchNorm over the windows, a batch of P (counters that count γ, β per batch item count P·C)."""
    op = _elementwise("bn", x)
    return [Op("bn", {**op.sizes, "channels": (windows * x.c, 1)})] if bn else []


def cascaded_ops(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """The build's CascadedAttention: the padding and window partition (moves), h heads, the concatenation, ReLU,
    the projection conv + BN, the windows merged and the padding cropped."""
    channels, h, w, heads, _ = part.args
    window = part.kwargs["window"]
    hp, wp, n = (h, w, h * w) if window is None or (h <= window and w <= window) else \
        (-(-h // window) * window, -(-w // window) * window, window * window)
    padded = Shape(channels, hp, wp)
    moves = [Op("pad", {"out": (padded.numel, padded.area), "count": (1, 1)})] if (hp, wp) != (h, w) else []
    if n != hp * wp:
        moves.append(Op("reshape", {"out": (padded.numel, padded.area)}))
    ops = list(moves)
    for i in range(heads):
        ops += _head_ops(part, padded, i == 0, n)
    cat = Shape(channels, hp, wp)  # h outputs of d_v = C/h
    ops += [Op("concat", {"out": (cat.numel, cat.area)}), _elementwise("act.relu", cat)]
    more, out = _conv(TorchPart("conv", "Conv2d", (cat.c, channels, 1, 1, 0), {"bias": not part.kwargs["bn"]}), cat)
    merge = [Op("reshape", {"out": (padded.numel, padded.area)}) for _ in moves]  # the merge, the crop
    ops += more + _norm(out, part.kwargs["bn"], hp * wp // n) + merge
    return ops, Shape(channels, h, w)


PART_OPS["CascadedAttention"] = cascaded_ops  # the counting rules of its torch part (see .operations)
