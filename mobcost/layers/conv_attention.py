"""Self-attention on a map whose queries, keys and values are one 1×1 convolution (+ BatchNorm) and which has no
output projection of its own: SHViT's single-head self-attention (Yun & Ro, CVPR 2024; timm ``shvit.py``
``SHSA``: ``qkv = Conv2d_BN(pdim, 2·qk_dim + pdim)``, ``attn = (qᵀ·k)·qk_dim^−½``, ``x = v·softmax(attn)ᵀ``).
The block's projection (ReLU + 1×1 conv + BN of the attended channels concatenated with the untouched ones) is
the layers after it: the `split`, `gn`, `concat`, `act` and `pw` a spec writes around it.

With C input channels on an H×W map (N = H·W tokens), h heads of query/key width d and value width d_v (default
C/h, so the output has the input's C channels):

* Mult-Adds: the 1×1 conv N·C·h(2d + d_v), and the two products of activations, Qᵀ·K (N·N·d per head) and V·Aᵀ
  (N·N·d_v per head): N²·h(d + d_v). Softmax, the 1/√d scaling and the BatchNorm (folded into the conv) count
  zero — the paper's convention, as for `attention`.
* Params: C·h(2d + d_v) weights, h(2d + d_v) biases with ``bias``; BatchNorm's γ, β (2·h(2d + d_v)) with ``bn``,
  reported apart.
* Memory access: the seeds' rule — the map in, the h·d_v map out and the weights; the h·N·N scores are internal.

Width α: ``heads`` and ``head_dim`` keep their size (SHViT's qk_dim is 16 at every width); d_v = C/h follows the
input, so it scales with α; a given ``value_dim`` keeps its width. Resolution ρ: N follows ρ², so the conv
scales as ρ² and the products as ρ⁴ — two terms, which the sweep keeps apart (:meth:`mult_adds_terms`).
"""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import Key, LayerKind, Terms, TorchPart, register


def value_width(layer: Layer, channels: int) -> int:
    """d_v: the given ``value_dim``, else the input's channels per head."""
    return layer.value_dim or channels // (layer.heads or 1)


def qkv_width(node: Node) -> int:
    """h(2d + d_v): the 1×1 conv's output channels, q, k and v stacked."""
    heads = node.layer.heads or 1
    return heads * (2 * (node.layer.head_dim or 1) + value_width(node.layer, node.input.c))


@register("conv_attention")
class ConvAttention(LayerKind):
    """Self-attention over a map's H·W positions: q, k, v from one 1×1 conv (+ BN), softmax(Qᵀ·K/√d) per head,
    V·Aᵀ; the output is the h·d_v-channel map of the heads (no output projection)."""

    keys = {"heads": Key("posint", 1, from_defaults=False), "head_dim": Key("posint", required=True,
                                                                            from_defaults=False),
            "value_dim": Key("posint", from_defaults=False), "bias": Key("bool", False), "bn": Key("bool", True)}
    doc = ("self-attention on a map's H·W positions (SHViT's single-head attention): q, k, v from one 1×1 conv "
           "(`bias`) + BatchNorm (`bn`) to heads·(2·head_dim + value_dim), softmax(Qᵀ·K/√head_dim)·V per head, "
           "no output projection: the output is the heads·value_dim map (value_dim defaults to channels / heads)")
    label = "Conv attention"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        heads = layer.heads or 1
        if layer.value_dim is None and x.c % heads:
            raise ShapeError(f"conv_attention with {heads} heads needs channels divisible by {heads} (or a "
                             f"value_dim), got {x.c}")
        out = heads * value_width(layer, x.c)
        return Node(layer, inputs, Shape(out, x.h, x.w), out, None, None, None, None)

    def mult_adds_terms(self, node: Node) -> Terms:
        """((N·C·h(2d + d_v), N), (N²·h(d + d_v), N²)): the 1×1 conv, then Qᵀ·K and V·Aᵀ."""
        n, heads = node.input.h * node.input.w, node.layer.heads or 1
        products = heads * ((node.layer.head_dim or 1) + value_width(node.layer, node.input.c))
        return (n * node.input.c * qkv_width(node), n), (n * n * products, n * n)

    def work_terms(self, node: Node) -> Terms:
        return self.mult_adds_terms(node)

    def mult_adds(self, node: Node) -> int:
        return sum(count for count, _ in self.mult_adds_terms(node))

    def score_elements(self, node: Node) -> int:
        """h·N·N: the scores softmax normalises (work for a calibrated profile, no Mult-Adds)."""
        return (node.layer.heads or 1) * self.mult_adds_terms(node)[1][1]

    def weights(self, node: Node) -> int:
        return node.input.c * qkv_width(node)

    def biases(self, node: Node) -> int:
        return qkv_width(node) if node.layer.bias else 0

    def bn_params(self, node: Node) -> int:
        return 2 * qkv_width(node) if node.layer.bn else 0

    def category(self, node: Node) -> str:
        return "Attention"

    def filter_shape(self, node: Node) -> str:
        d, dv = node.layer.head_dim, value_width(node.layer, node.input.c)
        return f"1×1×{node.input.c}×{qkv_width(node)}, {node.layer.heads}×(qk {d}, v {dv}) heads"

    def type_label(self, node: Node) -> str:
        return f"{self.label} / {node.layer.heads}h"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        x, width = node.input, qkv_width(node)
        norm = [TorchPart("bn", "BatchNorm2d", (width,))] if node.layer.bn else []
        core = (node.layer.heads or 1, node.layer.head_dim, value_width(node.layer, x.c), x.h, x.w)
        return [TorchPart("conv", "Conv2d", (x.c, width, 1, 1, 0), {"bias": node.layer.bias}), *norm,
                TorchPart("attn", "MapProducts", core)]
