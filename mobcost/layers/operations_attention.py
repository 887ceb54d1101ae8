"""The attention family's primitive operations (see :mod:`.operations`): softmax attention on sequences and maps,
LeViT's, linear, separable and cross-covariance attention, and their products of two activations, registered in
:data:`.operations.PART_OPS` for the torch modules that build them."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace

from ..ir import Shape
from .base import TorchPart
from .primitives import Op, _activation_ops, _conv, _elements, _elementwise, _linear


def _attention(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """The build's Attention: the q, k, v projection (h·d + g·(d + d_v) wide), q·(1/√d), Q·Kᵀ, the bias table's
    addition, softmax, A·V, the output projection; each of an unfold's P sequences on its own."""
    channels, n, heads, d = part.args
    g, dv = part.kwargs.get("kv_heads", heads), part.kwargs.get("value_dim", d)
    width = heads * d + g * (d + dv)
    ops, _ = _linear(TorchPart("fc", "Linear", (channels, width), {"bias": part.kwargs.get("bias", True)}), x)
    pairs = x.sequences * n * n
    ops += _products(replace(x, c=heads * d), replace(x, c=heads * dv), heads, pairs, part.kwargs)
    more, out = _linear(TorchPart("fc", "Linear", (heads * dv, channels), {"bias": part.kwargs.get("out_bias", True)}),
                        replace(x, c=heads * dv))
    return ops + more, out


def _products(q: Shape, out: Shape, heads: int, pairs: int, kwargs: Mapping[str, object]) -> list[Op]:
    """q·(1/√d), Q·Kᵀ (pairs·h·d), + the bias table, softmax over the h·pairs scores, A·V (pairs·h·d_v)."""
    scores = (heads * pairs, pairs)
    table = [Op("add", {"out": scores})] if kwargs.get("bias_table") else []
    return [Op("mul", {"out": _elements(q)}), Op("matmul", {"macs": (pairs * q.c, pairs), "out": scores}), *table,
            Op("softmax", {"out": scores, "in": scores}),
            Op("matmul", {"macs": (pairs * out.c, pairs), "out": _elements(out)})]


def _levit_attention(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """The build's LevitAttention: the q, k, v projection (or, with q_stride, q on the N_q subsampled tokens and
    k, v on all N), each + its BatchNorm (``bn``); the products; ``proj_act``; the output projection + its BN."""
    channels, n, heads, d = part.args
    kw = part.kwargs
    g, dv, s = kw.get("kv_heads", heads), kw.get("value_dim", d), kw.get("q_stride")
    nq = n if s is None else (-(-math.isqrt(n) // s)) ** 2
    queries = x if s is None else Shape(channels, nq, 1, tokens=True)
    widths = [(x, heads * d + g * (d + dv))] if s is None else [(queries, heads * d), (x, g * (d + dv))]
    norm: Callable[[Shape], list[Op]] = lambda y: _token_bn(part, y)[0] if kw.get("bn") else []  # noqa: E731
    ops: list[Op] = []
    for y, width in widths:
        more, out = _linear(TorchPart("fc", "Linear", (channels, width), {"bias": kw.get("bias", True)}), y)
        ops += more + norm(out)
    merged = replace(queries, c=heads * dv)
    ops += _products(replace(queries, c=heads * d), merged, heads, x.sequences * nq * n, kw)
    ops += _activation_ops(kw.get("proj_act", "none"), merged)
    more, y = _linear(TorchPart("fc", "Linear", (heads * dv, kw.get("out") or channels),
                                {"bias": kw.get("out_bias", True)}), merged)
    return ops + more + norm(y), y


def _token_bn(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """TokenBatchNorm: BatchNorm1d with the N·P tokens as its batch, so counters that count γ, β once per batch item
    (torchinfo) count them N·P times: its ``channels`` are the elements."""
    op = _elementwise("bn", x)
    return [replace(op, sizes={**op.sizes, "channels": _elements(x)})], x


def _map_attention(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """The build's MapAttention (MobileNetV4): 1×1 query conv; key and value each [3×3/s depthwise conv + BN] and a
    1×1 conv to g·d (g·d_v); the products; a 1×1 output conv."""
    channels, _, _, heads, d = part.args
    g, dv, s = part.kwargs.get("kv_heads", heads), part.kwargs.get("value_dim", d), part.kwargs.get("kv_stride", 1)
    bias = {"bias": part.kwargs.get("bias", True)}
    ops, q = _conv(TorchPart("conv", "Conv2d", (channels, heads * d, 1, 1, 0), bias), x)
    for width in (g * d, g * dv):
        y = x
        if s > 1:
            more, y = _conv(TorchPart("conv", "Conv2d", (channels, channels, 3, s, 1), {"groups": channels,
                                                                                      "bias": False}), x)
            ops += [*more, _elementwise("bn", y)]
        more, kv = _conv(TorchPart("conv", "Conv2d", (channels, width, 1, 1, 0), bias), y)
        ops += more
    pairs = x.h * x.w * kv.h * kv.w
    out = Shape(heads * dv, x.h, x.w)
    ops += _products(q, out, heads, pairs, part.kwargs)
    more, y = _conv(TorchPart("conv", "Conv2d", (heads * dv, channels, 1, 1, 0),
                              {"bias": part.kwargs.get("out_bias", True)}), out)
    return ops + more, y


def _separable_attention(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """The build's SeparableAttention: the projection to 1 + 2C, softmax over the N·P scores, key × score, the sum
    over the tokens (a reduction, as the mean over the tokens is), ReLU(value), × the context, the projection."""
    c = part.args[0]
    ops, _ = _linear(TorchPart("fc", "Linear", (c, 1 + 2 * c), {"bias": part.kwargs.get("bias", True)}), x)
    scores = (x.area, x.area)  # one per token
    context = (c * x.sequences, 1)
    ops += [Op("softmax", {"out": scores, "in": scores}), Op("mul", {"out": _elements(x)}),
            Op("token_mean", {"in": _elements(x), "out": context}), _elementwise("act.relu", x),
            Op("mul", {"out": _elements(x)})]
    more, out = _linear(TorchPart("fc", "Linear", (c, c), {"bias": part.kwargs.get("out_bias", True)}), x)
    return ops + more, out


def _map_products(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """The build's MapProducts (``conv_attention``'s core): the h(2d + d_v)-channel q, k, v map split, q·(1/√d),
    Qᵀ·K, softmax, V·Aᵀ: the products of :func:`_products` on the map's N² pairs."""
    heads, d, dv, h, w = part.args
    out = Shape(heads * dv, h, w)
    return _products(Shape(heads * d, h, w), out, heads, (h * w) ** 2, part.kwargs), out


def _linear_attention(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """The build's LinearAttention: φ on q and on k, v padded with ones, φ(K)ᵀ·[V 1] and φ(Q)·kv (N·d·(d + 1) per
    head each), + ε on the h·N normalisers, the h·N·d divisions."""
    h, w, heads, d = part.args
    qk, tokens, out = Shape(heads * d, h, w), heads * h * w, Shape(heads * d, h, w)
    kernel = _activation_ops(part.kwargs.get("act", "relu"), qk)
    products = [Op("matmul", {"macs": (tokens * d * (d + 1), h * w), "out": (heads * d * (d + 1), 1)}),
                Op("matmul", {"macs": (tokens * d * (d + 1), h * w), "out": (tokens * (d + 1), h * w)})]
    return [*kernel, *kernel, Op("pad", {"out": (tokens * (d + 1), h * w), "count": (1, 1)}), *products,
            Op("add", {"out": (tokens, h * w)}), Op("div", {"out": _elements(out)})], out


def _xca(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """The build's XCA: the q, k, v projection, q and k L2-normalised over the tokens, q̂·k̂ᵀ (h·d·d outputs of N
    terms), the temperature, softmax over the h·d·d scores, A·v (N·C outputs of d terms), the output projection."""
    channels, n, heads = part.args
    ops, _ = _linear(TorchPart("fc", "Linear", (channels, 3 * channels), {"bias": part.kwargs.get("bias", True)}), x)
    scores = (channels * (channels // heads), 1)  # d×d per head: no resolution factor
    norm = {"in": _elements(x), "out": _elements(x), "count": (1, 1)}
    ops += [Op("l2norm", norm), Op("l2norm", norm), Op("matmul", {"macs": (scores[0] * n, n), "out": scores}),
            Op("mul", {"out": scores}), Op("softmax", {"out": scores, "in": scores}),
            Op("matmul", {"macs": (scores[0] * n, n), "out": _elements(x)})]
    more, out = _linear(TorchPart("fc", "Linear", (channels, channels), {"bias": True}), x)
    return ops + more, out


def _fourier(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """The build's FourierPosition: a 1×1 conv (2·hidden → C, bias) of the N×1 grid's features, added to x."""
    channels, n, hidden = part.args
    ops, _ = _conv(TorchPart("conv", "Conv2d", (2 * hidden, channels, 1, 1, 0)), Shape(2 * hidden, n, 1))
    return [*ops, Op("add", {"out": _elements(x)})], x


ATTENTION_OPS: dict[str, Callable[[TorchPart, Shape], tuple[list[Op], Shape]]] = {
    "Attention": _attention, "MapAttention": _map_attention, "LevitAttention": _levit_attention,
    "TokenBatchNorm": _token_bn, "MapProducts": _map_products, "LinearAttention": _linear_attention, "XCA": _xca,
    "FourierPosition": _fourier, "SeparableAttention": _separable_attention,
}
