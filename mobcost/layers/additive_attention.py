"""Efficient additive attention (SwiftFormer, Shaker et al., ICCV 2023, §3.3 and eqs. 4–6; timm
``swiftformer.py`` ``EfficientAdditiveAttention``): attention without Q·Kᵀ, linear in the token count.

On N tokens of C channels: q = x·W_q + b_q and k = x·W_k + b_k, each L2-normalised over its channels; the scores
α = q·w_g·C^(−1/2) (w_g a learned C×1 vector: one score per token), L2-normalised over the N tokens; the global
query G = Σ_n α_n·q_n (one C-vector); out = final(proj(G ⊙ k) + q), proj and final C×C linear layers with biases.

* Mult-Adds: the four projections q, k, proj, final, N·C·C each, and the scores q·w_g, N·C (a product by a stored
  C×1 tensor, which fvcore counts as matmul and FlopCounterMode as mm): N·C·(4·C + 1). The L2 norms, the scaling,
  α_n·q_n, the sum over tokens, G ⊙ k and the residual add are elementwise: work, not Mult-Adds, under the paper's
  convention, as fvcore and FlopCounterMode leave them uncounted.
* Params: 4·C·C + C weights (W_q, W_k, W_proj, W_final, w_g), 4·C biases.
* Memory access: the seeds' rule — the sequence in, the sequence out, the weights.

Every term is per token: the layer scales with the resolution as ρ² (N ∝ ρ², no N² term), and with the width as
α² (the projections) plus α (w_g), both within the one term of area N. The sum over tokens runs over one sequence:
the P sequences of an ``unfold`` or a ``window`` are refused.
"""

from __future__ import annotations

from ..ir import Layer, Node, Shape
from .base import TorchPart, register
from .operations import PART_OPS
from .primitives import Op, _elements, _linear
from .tokens import _OneSequenceLayer, token_node

PROJECTIONS = 4  # q, k, proj, final: C×C each, with biases


@register("additive_attention")
class AdditiveAttention(_OneSequenceLayer):
    """SwiftFormer's efficient additive attention on one sequence of N tokens of C channels; output N×C."""

    doc = ("efficient additive attention (SwiftFormer): q and k projections L2-normalised per token, scores q·w_g "
           "(C×1) L2-normalised over the tokens, global query Σ score·q, final(proj(G·k) + q); N·C·(4·C + 1) "
           "Mult-Adds, 4·C² + C weights, 4·C biases")
    label = "Additive Attention"

    def place_one(self, layer: Layer, x: Shape) -> Node:
        return token_node(layer, (x,), x)

    def mult_adds(self, node: Node) -> int:
        return node.input.area * self.weights(node)  # every weight, w_g's included, once per token

    def weights(self, node: Node) -> int:
        c = node.input.c
        return PROJECTIONS * c * c + c

    def biases(self, node: Node) -> int:
        return PROJECTIONS * node.input.c

    def category(self, node: Node) -> str:
        return "Attention"

    def filter_shape(self, node: Node) -> str:
        return f"additive, {node.input.c}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("attn", "AdditiveAttention", (node.input.c,))]


def _ops(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """The build's AdditiveAttention, in order: q and k (linear + bias, l2norm), the scores q·w_g (a product by a
    stored C×1 tensor: ``matmul``, N·C), their scaling, their l2norm over the N tokens, α_n·q_n, the sum over the
    tokens (``token_mean``'s reads: a ReduceSum costs as a ReduceMean), G ⊙ k, proj, + q, final."""
    (c,) = part.args
    fc = TorchPart("fc", "Linear", (c, c), {"bias": True})
    q, _ = _linear(fc, x)
    norm = Op("l2norm", {"in": _elements(x), "out": _elements(x), "count": (1, 1)})
    n = x.area
    scores = Shape(1, x.h, 1, tokens=True)
    ops = [*q, norm, *q, norm, Op("matmul", {"macs": (n * c, n), "out": _elements(scores)}),
           Op("mul", {"out": _elements(scores)}),
           Op("l2norm", {"in": _elements(scores), "out": _elements(scores), "count": (1, 1)}),
           Op("mul", {"out": _elements(x)}), Op("token_mean", {"in": _elements(x), "out": (c, 1)}),
           Op("mul", {"out": _elements(x)}), *q, Op("add", {"out": _elements(x)}), *q]
    return ops, x


PART_OPS["AdditiveAttention"] = _ops  # the family's own counting rule, beside its formula
