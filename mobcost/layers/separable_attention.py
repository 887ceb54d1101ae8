"""Separable self-attention (Mehta & Rastegari 2022, "Separable Self-attention for Mobile Vision Transformers",
§3.2, Fig. 2c; MobileViTv2; timm ``LinearSelfAttention``): attention whose cost is linear in the tokens.

On each sequence of N tokens of C channels one projection gives, per token, a context score i (1 channel), a key
k and a value v (C channels each); the scores are softmax-normalised over the N tokens, the context vector is the
keys weighted by them and summed over the tokens (Σ_N k·softmax(i): C numbers per sequence), and the output is
ReLU(v) times that context vector (broadcast over the tokens), through a C → C output projection. With the P
sequences of an ``unfold`` (MobileViTv2's patches) each sequence has its own context vector.

* Mult-Adds: the two projections on every token, N·P·C·(1 + 2C) + N·P·C·C = N·P·C·(3C + 1) — what fvcore counts
  of timm's module (two 1×1 convolutions; conv, at one per multiply-add) and FlopCounterMode (convolution, at
  two). The context Σ_N k·softmax(i) and ReLU(v)·context are elementwise broadcast products and a sum over the
  tokens (timm writes them as ``*`` and ``sum``), which the paper's convention and fvcore leave out as they leave
  out SE's x · gate; softmax over the N·P scores counts zero, as attention's does. There is no N² term: the
  Mult-Adds follow ρ² (N), not ρ⁴ as multi-head attention's products do.
* Params: C·(1 + 2C) + C·C weights; 1 + 2C biases on the input projection (``bias``) and C on the output
  projection (``out_bias``).
* Memory access: the seeds' rule — the tokens in, the tokens out and the weights; the scores and the context
  vector are internal to the layer, as attention's scores are.

Width α: C follows the layer's input (the 1 + 2C projection with it). Resolution ρ: N follows ρ², P (the patch
positions) stays, so every count follows the token area N·P.
"""

from __future__ import annotations

from ..ir import Layer, Node, Shape
from .base import TOKENS, Key, LayerKind, TorchPart, register


@register("separable_attention")
class SeparableAttention(LayerKind):
    """Separable self-attention on a sequence (or an unfold's P sequences): output = input shape."""

    keys = {"bias": Key("bool", True), "out_bias": Key("bool", True)}
    doc = ("separable self-attention (MobileViTv2): a projection to 1 + 2·C (context score, key, value), the "
           "scores softmax-normalised over each sequence's tokens, context = Σ key·score, ReLU(value)·context, "
           "output projection; N·C·(3C + 1) Mult-Adds (`bias`: the input projection's 1 + 2C biases, `out_bias`: "
           "the output projection's C)")
    label = "Separable Attention"
    takes = TOKENS

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        return Node(layer, inputs, x, x.c, None, None, None, None)

    def weights(self, node: Node) -> int:
        c = node.input.c
        return c * (1 + 2 * c) + c * c

    def biases(self, node: Node) -> int:
        c = node.input.c
        return (1 + 2 * c if node.layer.bias else 0) + (c if node.layer.out_bias else 0)

    def mult_adds(self, node: Node) -> int:
        return self.weights(node) * node.input.area  # both projections on every token of every sequence: N·P

    def mult_adds_area(self, node: Node) -> int:
        return node.input.area

    def score_elements(self, node: Node) -> int:
        """N·P: the context scores softmax normalises, one per token (no Mult-Adds; a calibrated profile prices
        them, ``Hardware.activation_rates['softmax']``)."""
        return node.input.area

    def category(self, node: Node) -> str:
        return "Attention"

    def filter_shape(self, node: Node) -> str:
        c = node.input.c
        return f"{c}×{1 + 2 * c}, {c}×{c}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        layer = node.layer
        return [TorchPart("attn", "SeparableAttention", (node.input.c,),
                          {"bias": layer.bias, "out_bias": layer.out_bias})]
