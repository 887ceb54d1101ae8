"""LeViT's options of `attention` (Graham et al. 2021, "LeViT: a Vision Transformer in ConvNet's Clothing for
Faster Inference", §4.2; timm/models/levit.py ``Attention`` and ``AttentionDownsample``): a BatchNorm after every
projection (``bn``: timm's ``LinearNorm``, a Linear without bias then BatchNorm1d over every token), an activation
on the merged heads before the output projection (``proj_act``: LeViT's hard-swish), an output width of the
layer's own (``out``: the downsampling block widens C to C′) and queries from a strided subsample of the token
grid (``q_stride``: attention-subsample, keys and values on the full √N×√N grid).

With C channels in, C_o out, h heads of key width d and value width d_v (g key/value heads, h in LeViT), N tokens
(the keys) and N_q = ⌈√N/s⌉² queries (N without ``q_stride``):

* Mult-Adds: q and output projections N_q·(C·h·d + h·d_v·C_o), k and v N·C·g·(d + d_v), the products Q·Kᵀ and A·V
  N_q·N·h·(d + d_v). A BatchNorm is folded into its projection and the activation is free (the paper's
  convention).
* bn_params: 2 per output channel of every projection, 2·(h·d + g·(d + d_v) + C_o); the bias table stays
  h·N (timm's ``attention_biases`` is (heads, resolution²) of the keys' grid in both blocks).
* LeViT-128S (timm ``levit_128s``) at 224 px: 304,660,832 Mult-Adds, 7,777,058 params with BatchNorms (timm: 0.31
  GMACs, 7.78 M), as fvcore counts the module (tests/test_import_attention_zoo.py at 128 px).

ρ: N_q and N both follow ρ², so the q/output term scales as ρ², the k/v term as ρ² and the products as ρ⁴
(⌈√N/s⌉ rounds as timm's ``(resolution − 1) // stride + 1`` does).
"""

from __future__ import annotations

import math
from dataclasses import replace

from ..errors import ShapeError
from ..ir import Layer, Node, Shape


def query_side(x: Shape, stride: int) -> int:
    """⌈R/s⌉: the queries along each axis of the keys' R×R grid (R = √N), taken every ``stride`` tokens from the
    first (timm's ``x.view(B, R, R, C)[:, ::s, ::s]``)."""
    return -(-math.isqrt(x.length) // stride)


def query_length(node: Node) -> int:
    """N_q: the queries of each sequence (N without ``q_stride``)."""
    s = node.layer.q_stride
    return node.input.length if s is None else query_side(node.input, s) ** 2


def output_shape(layer: Layer, x: Shape, out_channels: int | None) -> Shape:
    """The sequence out: C_o channels (``out``, else C) on N_q tokens."""
    c = out_channels or x.c
    if layer.q_stride is None:
        return replace(x, c=c)
    n = query_side(x, layer.q_stride) ** 2
    return Shape(c, n, 1, tokens=True)


def check_levit(layer: Layer, x: Shape) -> None:
    """``q_stride`` on one square grid of tokens; none of LeViT's options on MobileNetV4's map attention."""
    given = [k for k, on in (("bn", layer.bn), ("proj_act", layer.proj_act != "none"), ("out", layer.out),
                             ("q_stride", layer.q_stride)) if on]
    if layer.kv_stride is not None and given:
        raise ShapeError(f"attention's {given[0]} is LeViT's, on a token sequence; with kv_stride (MobileNetV4's "
                         "attention on a map) it is not defined")
    if layer.q_stride is None:
        return
    side = math.isqrt(x.length)
    if x.patch or x.window or side * side != x.length:
        raise ShapeError(f"attention's q_stride takes queries from a square grid of tokens (LeViT's "
                         f"attention-subsample), got {x}" + ("" if x.patch or x.window else
                                                             f": {x.length} tokens are no R×R grid"))


def projection_bn_params(node: Node, kv_heads: int, widths: tuple[int, int]) -> int:
    """2·(h·d + g·(d + d_v) + C_o): γ, β after the q, k, v and output projections (``bn``), else 0."""
    if not node.layer.bn:
        return 0
    d, dv = widths
    return 2 * ((node.layer.heads or 1) * d + kv_heads * (d + dv) + node.out_channels)
