"""Multi-head self-attention as one layer (Vaswani et al. 2017, §3.2; ViT and DeiT's ``Attention``): q, k, v
projections of the N tokens, per head the scores softmax(Q·Kᵀ/√d) and their product with V, and the output
projection.

With C channels, h heads of width d (inner width h·d, C when d = C/h):

* Mult-Adds: projections N·C·3hd (q, k, v) + N·hd·C (output) = 4·N·C·hd, and the two products of activations
  Q·Kᵀ and A·V, N·N·d per head each: 2·N²·hd. Softmax, the 1/√d scaling and the biases count zero (the
  paper's convention; fvcore counts the projections as linear and the products as matmul, FlopCounterMode
  as addmm and bmm at two flops per multiply-add).
* Params: 4·C·hd weights, 3·hd biases on q, k, v (``bias``) and C on the output projection.
* Memory access: the seeds' rule — the sequence in, the sequence out and the weights; the h·N·N scores are
  internal to the layer, as SE's pooled vector is.

On the P sequences of an ``unfold`` (MobileViT) each sequence of N tokens attends only to itself: the projections
count N·P tokens and the products P·2·N²·hd.

Width α: ``heads`` keep their count (like ``groups``); the head width d = C/h follows the layer's input, so it
scales with α (DeiT's C = 192 with 3 heads at α = 0.5 is 96 channels, 3 heads of 32); a given ``head_dim``
keeps its width (like ``group_width``). Resolution ρ: N follows ρ², so the projections scale as ρ² and the
products as ρ⁴ — two terms, which the sweep keeps apart (:meth:`Attention.mult_adds_terms`).
"""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .attention_levit import check_levit, output_shape, projection_bn_params, query_length
from .base import EITHER, SCALE, Key, LayerKind, Terms, TorchPart, conv_output_size, register

KV_KERNEL = 3  # MobileNetV4's dw_kernel_size for the K/V down-sampling (timm MultiQueryAttention2d)


def head_width(node: Node) -> int:
    """d (d_k): the given ``head_dim``, else the channels per head."""
    return node.layer.head_dim or node.input.c // (node.layer.heads or 1)


def value_width(node: Node) -> int:
    """d_v: the given ``value_dim`` (EfficientFormer's attn_ratio · key_dim), else d."""
    return node.layer.value_dim or head_width(node)


def relative_entries(x: Shape) -> int:
    """(2w_h − 1)·(2w_w − 1): the relative offsets between two tokens of a w_h×w_w window (Swin)."""
    assert x.window is not None  # _check_options refuses relative_table elsewhere
    return (2 * x.window[0] - 1) * (2 * x.window[1] - 1)


def kv_heads(node: Node) -> int:
    """g: the key/value heads — h, 1 for multi-query, a divisor of h for grouped-query."""
    return node.layer.kv_heads or node.layer.heads or 1


def kv_area(node: Node) -> int:
    """N′: the key/value tokens — N, or the map after MobileNetV4's k×k depthwise conv of stride s, padding
    (k−1)/2 (⌈H/s⌉·⌈W/s⌉)."""
    x, s = node.input, node.layer.kv_stride or 1
    if s == 1:
        return x.length
    pad = (KV_KERNEL - 1) // 2
    return conv_output_size(x.h, KV_KERNEL, s, pad) * conv_output_size(x.w, KV_KERNEL, s, pad)


def _check_options(layer: Layer, x: Shape) -> None:
    if layer.kv_stride is None and not x.tokens:
        raise ShapeError(f"attention takes a token sequence, got the map {x}; `tokens` or `patch_embed` turns a "
                         "map into one (a map is taken with `kv_stride`, as MobileNetV4's attention)")
    if layer.kv_stride is not None and x.tokens:
        raise ShapeError(f"attention's kv_stride down-samples keys and values on a map (MobileNetV4), got the "
                         f"sequence {x}")
    heads = layer.heads or 1
    if layer.head_dim is None and x.c % heads:
        raise ShapeError(f"attention with {heads} heads needs channels divisible by {heads} (or a head_dim), "
                         f"got {x.c}")
    if layer.kv_heads is not None and heads % layer.kv_heads:
        raise ShapeError(f"attention with {heads} heads cannot share keys and values among {layer.kv_heads} "
                         "kv_heads: kv_heads must divide heads")
    if layer.relative_table and (x.window is None or layer.bias_table):
        raise ShapeError("attention's relative_table (Swin's (2w − 1)²·heads table) takes the windows of a `window`"
                         f"{' and replaces bias_table' if x.window else f', got {x}'}")
    if layer.bias_table and (layer.kv_stride or 1) > 1:
        raise ShapeError("attention's bias_table (EfficientFormer, LeViT) is defined for keys on the queries' own "
                         "grid; with kv_stride > 1 its offsets are not (a separate table per query grid)")


@register("attention")
class Attention(LayerKind):
    """Multi-head self-attention with q, k, v and output projections; output = input shape (N tokens, C)."""

    keys = {"heads": Key("posint", required=True, from_defaults=False),
            "head_dim": Key("posint", from_defaults=False), "bias": Key("bool", True),
            "kv_heads": Key("posint", from_defaults=False), "value_dim": Key("posint", from_defaults=False),
            "kv_stride": Key("posint", from_defaults=False), "bias_table": Key("bool", False),
            "out_bias": Key("bool", True), "relative_table": Key("bool", False),
            "out": Key("posint", from_defaults=False), "scale": SCALE, "bn": Key("bool", False, from_defaults=False),
            "proj_act": Key("act", "none", from_defaults=False), "q_stride": Key("posint", from_defaults=False)}
    doc = ("multi-head self-attention: q, k, v projections (`bias`), softmax(Q·Kᵀ/√d)·V per head, output "
           "projection (`out_bias`); head_dim defaults to channels / heads, value_dim to head_dim; kv_heads < heads "
           "shares keys and values (multi-/grouped-query); kv_stride takes a map and down-samples K and V by a "
           "3×3 depthwise conv + BN each (MobileNetV4); bias_table adds heads × N learned biases (EfficientFormer, "
           "TinyViT); relative_table on the windows of a `window` adds Swin's (2·window − 1)²·heads table; LeViT's: bn "
           "after every projection, proj_act on the heads before the output projection, out channels, q_stride "
           "(queries every s-th token of the √N×√N grid, N_q = ⌈√N/s⌉² out)")
    label = "Attention"
    takes = EITHER  # a sequence; a map only with kv_stride (MobileNetV4's attention works on C×H×W)

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        _check_options(layer, x)
        check_levit(layer, x)
        out = output_shape(layer, x, out_channels)
        return Node(layer, inputs, out, out.c, None, None, None, None)

    def _widths(self, node: Node) -> tuple[int, int]:
        """(C·h·d + h·d_v·C_o, C·g·(d + d_v)): the query + output projections' and the key + value projections'
        weights per token (C_o = C unless ``out``)."""
        c, h, d, dv = node.input.c, node.layer.heads or 1, head_width(node), value_width(node)
        return c * h * d + h * dv * node.out_channels, c * kv_heads(node) * (d + dv)

    def _down_weights(self, node: Node) -> int:
        """2·k²·C: the K and V paths' depthwise convs (none without kv_stride > 1)."""
        return 2 * KV_KERNEL**2 * node.input.c if (node.layer.kv_stride or 1) > 1 else 0

    def projection_terms(self, node: Node) -> Terms:
        """(N·P·(q + output + k + v widths), N·P), or with kv_stride the k and v side apart on N′ tokens, with
        the depthwise convs' k²·C per token each."""
        qo, kv = self._widths(node)
        tokens = node.input.area
        if node.layer.q_stride is not None:  # LeViT's subsample: q and output on N_q tokens, k and v on N
            queries = query_length(node)
            return (queries * qo, queries), (tokens * kv, tokens)
        if not self._down_weights(node):
            return ((tokens * (qo + kv), tokens),)
        n_kv = kv_area(node)
        return (tokens * qo, tokens), (n_kv * (kv + self._down_weights(node)), n_kv)

    def product_terms(self, node: Node) -> tuple[int, int]:
        """(P·N·N′·h·(d + d_v), P·N·N′): Q·Kᵀ (N·N′·d per head) and A·V (N·N′·d_v), in each of the P sequences;
        shared key/value heads change neither (every query head still meets all N′ keys)."""
        pairs = node.input.sequences * query_length(node) * kv_area(node)
        return pairs * (node.layer.heads or 1) * (head_width(node) + value_width(node)), pairs

    def mult_adds_terms(self, node: Node) -> Terms:
        return (*self.projection_terms(node), self.product_terms(node))

    def score_elements(self, node: Node) -> int:
        """h·P·N·N′: the scores softmax normalises (none are Mult-Adds; a calibrated profile prices them,
        ``Hardware.activation_rates['softmax']``). The product term's area times the heads."""
        return (node.layer.heads or 1) * self.product_terms(node)[1]

    def work_terms(self, node: Node) -> Terms:
        return self.mult_adds_terms(node)

    def mult_adds(self, node: Node) -> int:
        return sum(count for count, _ in self.mult_adds_terms(node))

    def mult_adds_area(self, node: Node) -> int:
        return node.input.area  # N·P divides the first term; the sweep reads the terms (N·P, N′, P·N·N′) instead

    def weights(self, node: Node) -> int:
        return sum(self._widths(node)) + self._down_weights(node)

    def table_params(self, node: Node) -> int:
        """h·N: EfficientFormer's and LeViT's attention_biases, one per head per distinct |offset| on the queries'
        grid — R_h·R_w = N of them. Sized to the grid at this resolution, as a model built (or its table
        interpolated) for it; timm builds EfficientFormer's for 7×7 only. Params, not Mult-Adds (an addition).
        Swin's relative_table: h·(2w_h − 1)·(2w_w − 1), one per head per relative offset within a window, gathered
        into the h·N·N scores (a gather, no Mult-Adds)."""
        if node.layer.relative_table:
            return (node.layer.heads or 1) * relative_entries(node.input)
        return (node.layer.heads or 1) * node.input.length if node.layer.bias_table else 0

    def biases(self, node: Node) -> int:
        h, g = node.layer.heads or 1, kv_heads(node)
        qkv = h * head_width(node) + g * (head_width(node) + value_width(node)) if node.layer.bias else 0
        return qkv + (node.out_channels if node.layer.out_bias else 0) + self.table_params(node)

    def bn_params(self, node: Node) -> int:
        levit = projection_bn_params(node, kv_heads(node), (head_width(node), value_width(node)))
        return levit + (4 * node.input.c if self._down_weights(node) else 0)  # + the K and V paths' γ, β

    def category(self, node: Node) -> str:
        return "Attention"

    def filter_shape(self, node: Node) -> str:
        shared = f", {kv_heads(node)} kv" if node.layer.kv_heads else ""
        widened = f" → {node.out_channels}" if node.out_channels != node.input.c else ""
        return f"{node.layer.heads}×{head_width(node)} heads{shared}, {node.input.c}{widened}"

    def type_label(self, node: Node) -> str:
        strided = f" / q s{node.layer.q_stride}" if node.layer.q_stride else ""  # LeViT's attention-subsample
        return f"{self.label} / {node.layer.heads}h{strided}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        x, layer = node.input, node.layer
        args = (x.c, x.length, layer.heads or 1, head_width(node))
        table = "relative" if layer.relative_table else layer.bias_table
        extra = {"kv_heads": kv_heads(node), "value_dim": value_width(node), "bias_table": table,
                 "out_bias": layer.out_bias}
        if layer.kv_stride is not None:
            return [TorchPart("attn", "MapAttention", (x.c, x.h, x.w, *args[2:]),
                              {"bias": layer.bias, "kv_stride": layer.kv_stride, **extra})]
        if layer.bn or layer.q_stride or layer.proj_act != "none" or node.out_channels != x.c:  # LeViT's
            levit = {"out": node.out_channels, "bn": layer.bn, "proj_act": layer.proj_act, "q_stride": layer.q_stride}
            return [TorchPart("attn", "LevitAttention", args, {"bias": layer.bias, **extra, **levit})]
        plain = extra == {"kv_heads": layer.heads or 1, "value_dim": head_width(node), "bias_table": False,
                          "out_bias": True}
        return [TorchPart("attn", "Attention", args, {"bias": layer.bias, **({} if plain else extra)})]
