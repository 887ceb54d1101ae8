"""Cross-covariance attention (XCiT, El-Nouby et al. 2021, §3.1; EdgeNeXt's SDTA block, Maaz et al. 2022) and the
Fourier position encoding EdgeNeXt adds before it (XCiT's ``PositionalEncodingFourier``, §3.3).

**XCA** attends across channels instead of tokens: q, k, v = one C×3C projection of the N tokens; per head the
d×N matrices q̂, k̂ are L2-normalised along the tokens, A = softmax(q̂·k̂ᵀ · τ_h) is d×d (τ_h a learned temperature
per head), the output A·v is d×N; the heads are merged and projected back by a C×C linear layer (timm
``CrossCovarianceAttn``, timm/models/xcit.py and edgenext.py). With h heads of d = C/h channels:

* Mult-Adds: projections N·C·3C + N·C·C = 4·N·C², and the two products of activations, q̂·k̂ᵀ (d·d outputs of N
  terms per head) and A·v (d·N outputs of d terms per head): 2·h·d²·N = 2·N·C·d. Both grow as N — the attention
  map is d×d whatever the resolution — so XCA's Mult-Adds are one term ∝ N (ρ²), unlike softmax attention's N²
  (ρ⁴). The norms, the temperature, softmax and the biases count zero (the paper's convention; fvcore counts the
  projections as linear and the products as matmul, FlopCounterMode as addmm and bmm at two per multiply-add).
* Params: 4·C² weights, 3·C biases on q, k, v (``bias``), C on the output projection and h temperatures.
* Width α: ``heads`` keep their count, so d = C/h follows α (as ``attention``'s); resolution ρ: N follows ρ².

**pos_fourier** adds to every token of an H×W grid a 1×1 convolution (2·hidden → C, with bias) of fixed sin/cos
features of the token's normalised row and column (``hidden`` of each). The features are constants (an exporter
folds them, and the convolution on them, into one stored-looking table); the convolution is what costs: N·2·hidden·C
Mult-Adds (fvcore counts it as a conv), 2·hidden·C weights and C biases — unlike ``pos_embed``'s N·C table, which
grows with N, its parameters do not depend on the resolution. Width α scales C; ``hidden`` stays (XCiT and EdgeNeXt
use 32).
"""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import Key, TorchPart, register
from .tokens import _OneSequenceLayer, token_node

HIDDEN = 32  # timm PositionalEncodingFourier's hidden_dim (XCiT, EdgeNeXt)


def xca_head_width(node: Node) -> int:
    """d: the channels per head."""
    return node.input.c // (node.layer.heads or 1)


@register("xca")
class CrossCovarianceAttention(_OneSequenceLayer):
    """XCiT's cross-covariance attention on one token sequence; output = input shape (N tokens, C)."""

    keys = {"heads": Key("posint", required=True, from_defaults=False), "bias": Key("bool", True)}
    doc = ("cross-covariance attention (XCiT, EdgeNeXt): q, k, v projections (`bias`), per head q and k L2-normalised "
           "over the tokens, softmax(q·kᵀ · temperature) a d×d map, its product with v, output projection; "
           "4·N·C² + 2·N·C·d Mult-Adds, h temperatures")
    label = "XCA"

    def place_one(self, layer: Layer, x: Shape) -> Node:
        heads = layer.heads or 1
        if x.c % heads:
            raise ShapeError(f"xca with {heads} heads needs channels divisible by {heads}, got {x.c}")
        return token_node(layer, (x,), x)

    def product_mult_adds(self, node: Node) -> int:
        """q̂·k̂ᵀ and A·v: h·d·d·N each, 2·N·C·d."""
        return 2 * node.input.area * node.input.c * xca_head_width(node)

    def mult_adds(self, node: Node) -> int:
        return 4 * node.input.area * node.input.c**2 + self.product_mult_adds(node)

    def mult_adds_area(self, node: Node) -> int:
        return node.input.area  # both terms ∝ N: the d×d map does not grow with the resolution

    def weights(self, node: Node) -> int:
        return 4 * node.input.c**2

    def biases(self, node: Node) -> int:
        """3·C on q, k, v (``bias``), C on the output projection, and the h temperatures."""
        return (3 * node.input.c if node.layer.bias else 0) + node.input.c + (node.layer.heads or 1)

    def score_elements(self, node: Node) -> int:
        """h·d·d: the scores softmax normalises (none are Mult-Adds)."""
        return node.input.c * xca_head_width(node)

    def category(self, node: Node) -> str:
        return "Attention"

    def filter_shape(self, node: Node) -> str:
        return f"{node.layer.heads}×{xca_head_width(node)} heads, {node.input.c}"

    def type_label(self, node: Node) -> str:
        return f"{self.label} / {node.layer.heads}h"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        x = node.input
        return [TorchPart("attn", "XCA", (x.c, x.area, node.layer.heads or 1), {"bias": node.layer.bias})]


@register("pos_fourier")
class FourierPosition(_OneSequenceLayer):
    """XCiT's Fourier position encoding added to one sequence: a 1×1 convolution (2·hidden → C, bias) of sin/cos
    features of the token grid; N·2·hidden·C Mult-Adds."""

    keys = {"hidden": Key("posint", HIDDEN, from_defaults=False)}
    doc = ("Fourier position encoding (XCiT, EdgeNeXt) added to the tokens: a 1×1 conv (2·hidden → C, bias) of fixed "
           "sin/cos features of each token's row and column; N·2·hidden·C Mult-Adds, 2·hidden·C + C params")
    label = "Pos Fourier"

    def place_one(self, layer: Layer, x: Shape) -> Node:
        return token_node(layer, (x,), x)

    def features(self, node: Node) -> int:
        return 2 * (node.layer.hidden or HIDDEN)

    def mult_adds(self, node: Node) -> int:
        return node.input.area * self.weights(node)

    def mult_adds_area(self, node: Node) -> int:
        return node.input.area

    def weights(self, node: Node) -> int:
        return self.features(node) * node.input.c

    def biases(self, node: Node) -> int:
        return node.input.c

    def category(self, node: Node) -> str:
        return "Token Embedding"

    def filter_shape(self, node: Node) -> str:
        return f"fourier {self.features(node)}×{node.input.c}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        x = node.input
        return [TorchPart("embed", "FourierPosition", (x.c, x.area, node.layer.hidden or HIDDEN))]
