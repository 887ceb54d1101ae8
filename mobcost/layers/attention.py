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
from .base import TOKENS, Key, LayerKind, Terms, TorchPart, register


def head_width(node: Node) -> int:
    """d: the given ``head_dim``, else the channels per head."""
    return node.layer.head_dim or node.input.c // (node.layer.heads or 1)


def inner_width(node: Node) -> int:
    """h·d: the width of q, k and v."""
    return (node.layer.heads or 1) * head_width(node)


@register("attention")
class Attention(LayerKind):
    """Multi-head self-attention with q, k, v and output projections; output = input shape (N tokens, C)."""

    keys = {"heads": Key("posint", required=True, from_defaults=False),
            "head_dim": Key("posint", from_defaults=False), "bias": Key("bool", True)}
    doc = ("multi-head self-attention: q, k, v projections (`bias`), softmax(Q·Kᵀ/√d)·V per head, output "
           "projection; head_dim defaults to channels / heads")
    label = "Attention"
    takes = TOKENS

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        heads = layer.heads or 1
        if layer.head_dim is None and x.c % heads:
            raise ShapeError(f"attention with {heads} heads needs channels divisible by {heads} (or a head_dim), "
                             f"got {x.c}")
        return Node(layer, inputs, x, x.c, None, None, None, None)

    def projection_terms(self, node: Node) -> tuple[int, int]:
        """(4·N·P·C·hd, N·P): q, k, v and the output projection, one FC layer per token each."""
        tokens = node.input.area
        return 4 * tokens * node.input.c * inner_width(node), tokens

    def product_terms(self, node: Node) -> tuple[int, int]:
        """(2·P·N²·hd, P·N²): Q·Kᵀ and A·V, N·N·d multiply-adds per head each, in each of the P sequences."""
        pairs = node.input.sequences * node.input.length**2
        return 2 * pairs * inner_width(node), pairs

    def mult_adds_terms(self, node: Node) -> Terms:
        return self.projection_terms(node), self.product_terms(node)

    def work_terms(self, node: Node) -> Terms:
        return self.mult_adds_terms(node)

    def mult_adds(self, node: Node) -> int:
        return sum(count for count, _ in self.mult_adds_terms(node))

    def mult_adds_area(self, node: Node) -> int:
        return node.input.area  # N·P divides both terms; the sweep reads the terms (N·P and P·N²) instead

    def weights(self, node: Node) -> int:
        return 4 * node.input.c * inner_width(node)

    def biases(self, node: Node) -> int:
        return (3 * inner_width(node) if node.layer.bias else 0) + node.input.c

    def category(self, node: Node) -> str:
        return "Attention"

    def filter_shape(self, node: Node) -> str:
        return f"{node.layer.heads}×{head_width(node)} heads, {node.input.c}"

    def type_label(self, node: Node) -> str:
        return f"{self.label} / {node.layer.heads}h"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        x = node.input
        args = (x.c, x.length, node.layer.heads or 1, head_width(node))
        return [TorchPart("attn", "Attention", args, {"bias": node.layer.bias})]
