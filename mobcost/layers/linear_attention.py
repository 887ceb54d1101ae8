"""ReLU linear attention on a map (EfficientViT, Cai et al. ICCV 2023, §3.1; timm ``efficientvit_mit.LiteMLA``):
softmax(Q·Kᵀ)·V replaced by φ(Q)·(φ(K)ᵀ·V) with the kernel φ = ReLU, each query's output divided by its sum of
similarities, φ(Q)·(φ(K)ᵀ·1). Products taken in that order cost N·d² per head instead of N²·d: linear in the tokens.

The layer reads q, k and v from the channels of a C×H×W map, as LiteMLA lays them out after its 1×1 qkv conv and
multi-scale aggregation (``reshape(B, −1, 3·d, H·W)``): h = C/(3d) heads of 3·d channels each, q the first d, k the
next d, v the last d, over N = H·W tokens. v is padded with a row of ones (``F.pad(v, (0, 1), value=1)``), so one
product gives both the numerator and the normaliser:

* kv = φ(K)ᵀ·[V 1]: d × (d + 1) per head, N·d·(d + 1) multiply-adds;
* out = φ(Q)·kv: N × (d + 1) per head, N·d·(d + 1) multiply-adds;
* out[..., :d] / (out[..., d] + ε): d divisions and one addition per token per head.

Mult-Adds 2·h·N·d·(d + 1) — what fvcore counts for the two ``matmul``s (one per multiply-add; FlopCounterMode's
``bmm`` at two). No weights: the qkv conv, the aggregation and the output projection are the convs around it. Work
(what latency scales with): the Mult-Adds and the normalisation's h·N·(d + 1) divisions and ε additions. Memory
access: the 3·h·d·N map in and the h·d·N map out (kv, h·d·(d + 1), stays inside the layer, as attention's scores).

Width α: a given ``head_dim`` keeps its width and the heads follow the channels, h = C/(3d) (EfficientViT's rule:
``heads = in_channels // dim``); given ``heads``, d = C/(3h) follows α instead. Resolution ρ: N follows ρ², and so
does every count — no N² term (the point of the construct), one term for the sweep.
"""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import Key, LayerKind, TorchPart, register


def _heads_and_width(layer: Layer, channels: int) -> tuple[int, int]:
    """(h, d) of a map of ``channels`` = 3·h·d: from the given ``head_dim`` or ``heads``."""
    if layer.head_dim is not None:
        width = 3 * layer.head_dim
        if channels % width:
            raise ShapeError(f"linear_attention with head_dim {layer.head_dim} reads q, k, v of {width} channels "
                             f"per head: its input's {channels} channels are not a multiple of {width}")
        return channels // width, layer.head_dim
    heads = layer.heads or 1
    if channels % (3 * heads):
        raise ShapeError(f"linear_attention with {heads} heads reads q, k, v of equal width per head: its input's "
                         f"{channels} channels are not a multiple of 3·{heads} = {3 * heads}")
    return heads, channels // (3 * heads)


def heads_and_width(node: Node) -> tuple[int, int]:
    """(h, d) of a placed node."""
    return _heads_and_width(node.layer, node.input.c)


@register("linear_attention")
class LinearAttention(LayerKind):
    """φ(Q)·(φ(K)ᵀ·[V 1]) per head, normalised, on a 3·h·d × H × W map; output h·d × H × W."""

    keys = {"heads": Key("posint", from_defaults=False), "head_dim": Key("posint", from_defaults=False),
            "act": Key("act", "relu", from_defaults=False)}
    one_of = (("head_dim", "heads"),)
    doc = ("ReLU linear attention on a map (EfficientViT's LiteMLA): each head's q, k, v the next 3·head_dim "
           "channels, φ(Q)·(φ(K)ᵀ·[V 1]) normalised by its last column, output heads·head_dim channels; "
           "Mult-Adds 2·h·N·d·(d + 1), no weights; `act` is the kernel φ on q and k; give head_dim (heads follow "
           "α) or heads")
    label = "Linear Attention"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs  # a map: the graph builder refuses a sequence (``takes`` MAPS)
        heads, width = _heads_and_width(layer, x.c)
        out = Shape(heads * width, x.h, x.w)
        return Node(layer, inputs, out, out.c, None, None, None, None)

    def mult_adds(self, node: Node) -> int:
        """2·h·N·d·(d + 1): φ(K)ᵀ·[V 1] and φ(Q)·kv, N·d·(d + 1) per head each."""
        heads, d = heads_and_width(node)
        return 2 * heads * node.input.h * node.input.w * d * (d + 1)

    def work(self, node: Node) -> int:
        """The Mult-Adds and the normalisation: d divisions and one ε addition per token per head."""
        heads, d = heads_and_width(node)
        return self.mult_adds(node) + heads * node.input.h * node.input.w * (d + 1)

    def category(self, node: Node) -> str:
        return "Attention"

    def filter_shape(self, node: Node) -> str:
        heads, d = heads_and_width(node)
        kernel = "" if node.layer.act == "relu" else f", φ {node.layer.act}"
        return f"{heads}×{d} heads{kernel}"

    def type_label(self, node: Node) -> str:
        return f"{self.label} / {heads_and_width(node)[0]}h"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        x = node.input
        heads, d = heads_and_width(node)
        return [TorchPart("attn", "LinearAttention", (x.h, x.w, heads, d), {"act": node.layer.act})]
