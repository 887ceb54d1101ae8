"""A layer's operations, from its torch build: each primitive operation (a convolution, its bias, a BatchNorm, an
activation, a pool, a join, a product of activations) with its sizes, each size as ``(value, area)`` — the value
and its resolution-dependent factor (the vectorised sweep splits every count into an α part ``value // area`` and
a resolution part ``area``). The conventions (:mod:`.conventions`) say how much each counter counts per quantity.

Quantities: ``macs`` (k·k·(M/g)·N·H′·W′ of a convolution, C_in·C_out of a fully connected layer, N·C_in·C_out of a
token-wise one, N·N·d per head of an attention product), ``out`` (output elements), ``in`` (input elements),
``window`` (output elements × kernel area: a pool's reads), ``channels`` (a BatchNorm's C), ``weights`` (a
token-wise layer's C_in·C_out, counted once by counters that multiply parameters by the batch).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from ..ir import Node, Shape
from .base import REGISTRY, TORCH_ACTIVATIONS, TorchPart, conv_output_size

Size = tuple[int, int]  # (value, area): area is the resolution-dependent factor of value


@dataclass(frozen=True)
class Op:
    """One primitive operation of a layer's torch build, with its sizes. A size whose area is 0 is not a product
    of a width part and a resolution part (thop's float count of an adaptive pool): the sweep evaluates it from
    ``float_sizes`` (channels, input H, W, output H, W)."""

    kind: str
    sizes: Mapping[str, Size] = field(default_factory=dict)
    float_sizes: tuple[int, int, int, int, int] | None = None
    # the α part of a size whose area is 0 at some resolutions (a resize that MobileViT's unfold needs only where
    # the patch does not divide the map): the sweep's term is then this × the area, present at every point
    widths: Mapping[str, int] = field(default_factory=dict)


def _elements(x: Shape) -> Size:
    return x.numel, x.area


def _hw(value: int | tuple[int, ...]) -> tuple[int, int]:
    """A torch window argument (an int, or the pair (height, width)) as (height, width)."""
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def _conv(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    cin, cout = part.args[:2]
    (kh, kw), (sh, sw), (ph, pw) = (_hw(v) for v in part.args[2:5])
    groups, (dh, dw) = part.kwargs.get("groups", 1), _hw(part.kwargs.get("dilation", 1))
    h = conv_output_size(x.h, dh * (kh - 1) + 1, sh, ph)
    w = conv_output_size(x.w, dw * (kw - 1) + 1, sw, pw)
    out = Shape(cout, h, w)
    ops = [Op("conv", {"macs": (kh * kw * (cin // groups) * cout * h * w, h * w), "out": _elements(out)})]
    return ops + _bias(part, out), out


def _bias(part: TorchPart, out: Shape) -> list[Op]:
    return [Op("conv_bias", {"out": _elements(out)})] if part.kwargs.get("bias", True) else []


def _deconv(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """ConvTranspose2d: k·k·(M/g)·N multiply-adds per *input* pixel; counters that apply a convolution's formula
    to its output map get output elements × k·k·M/g (or × k·k·N/g, its weight's reduce volume)."""
    cin, cout = part.args[:2]
    (kh, kw), (sh, sw), (ph, pw), (eh, ew) = (_hw(v) for v in (*part.args[2:6], 0, 0)[:4])
    groups, k = part.kwargs.get("groups", 1), kh * kw
    h, w = (x.h - 1) * sh - 2 * ph + kh + eh, (x.w - 1) * sw - 2 * pw + kw + ew
    out = Shape(cout, h, w)
    ops = [Op("deconv", {"macs": (k * (cin // groups) * cout * x.h * x.w, x.h * x.w), "out": _elements(out),
                         "out_x_in": (out.numel * k * (cin // groups), h * w),
                         "out_x_out": (out.numel * k * (cout // groups), h * w)})]
    return ops + _bias(part, out), out


def _linear(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """nn.Linear: on the flattened map (an ``fc``), or on each of a sequence's N tokens (``linear``, attention's
    projections)."""
    cin, cout = part.args
    if x.tokens:  # "weights", "channels": torchinfo counts a layer's parameters once per batch item, and an
        # unfold's P sequences are a batch of P
        out, p = replace(x, c=cout), x.sequences
        ops = [Op("linear", {"macs": (x.area * cin * cout, x.area), "out": _elements(out),
                             "weights": (p * cin * cout, 1)})]
        bias = Op("linear_bias", {"out": _elements(out), "channels": (p * cout, 1)})
    else:
        out = Shape(cout, 1, 1)
        ops = [Op("fc", {"macs": (cin * cout, x.area), "out": _elements(out)})]
        bias = Op("fc_bias", {"out": _elements(out)})
    return ops + ([bias] if part.kwargs.get("bias", True) else []), out


def _pool(kind: str) -> Callable[[TorchPart, Shape], tuple[list[Op], Shape]]:
    def pool(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
        (kh, kw), (sh, sw), (ph, pw) = (_hw(v) for v in part.args[:3])
        ceil = part.kwargs.get("ceil_mode", False)
        out = Shape(x.c, conv_output_size(x.h, kh, sh, ph, ceil), conv_output_size(x.w, kw, sw, pw, ceil))
        window = (out.numel * kh * kw, out.area * kh * kw)
        return [Op(kind, {"in": _elements(x), "out": _elements(out), "window": window})], out

    return pool


def thop_adaptive(channels: int, ih: int, iw: int, oh: int, ow: int) -> int:
    """thop's count of an adaptive average pool, as it computes it: ``int((ih/oh · iw/ow + 1) · outputs)`` in
    float64 — in + out exactly where the float product is exact, one less where it falls just short."""
    return int(((ih / oh) * (iw / ow) + 1) * float(channels * oh * ow))


def _adaptive(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """AdaptiveAvgPool2d(n): global (``gap``) for n = 1, else ``adaptive``."""
    oh, ow = _hw(part.args[0] if part.args else 1)
    out = Shape(x.c, oh, ow)
    sizes: dict[str, Size] = {"in": _elements(x), "out": _elements(out), "window": _elements(x),
                              "thop_adaptive": (thop_adaptive(x.c, x.h, x.w, oh, ow), 0)}
    return [Op("gap" if oh == ow == 1 else "adaptive", sizes, float_sizes=(x.c, x.h, x.w, oh, ow))], out


def _global_pool(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    return _adaptive(TorchPart(part.name, part.module, (1,)), x)


def _upsample(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    if "size" in part.kwargs:  # a resize to a fixed size (a RoI crop), not by a factor
        out = Shape(x.c, *part.kwargs["size"])
    else:
        fh, fw = _hw(part.kwargs.get("scale_factor", 2))
        out = Shape(x.c, x.h * int(fh), x.w * int(fw))
    return [Op(f"upsample.{part.kwargs.get('mode', 'nearest')}", {"in": _elements(x), "out": _elements(out)})], out


def _pad(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    left, right, top, bottom = part.args[0]
    out = Shape(x.c, x.h + top + bottom, x.w + left + right)
    return [Op("pad", {"out": _elements(out), "count": (1, 1)})], out


def _l2norm(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """The build's L2Norm: the norm per pixel (in), the division (out), the scale γ (out) when it has one."""
    scale = [Op("scale", {"out": _elements(x)})] if part.args[1] else []
    return [Op("l2norm", {"in": _elements(x), "out": _elements(x), "count": (1, 1)}), *scale], x


def _map_tokens(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    out = Shape(x.c, x.h * x.w, 1, tokens=True)
    return [Op("reshape", {"out": _elements(out)})], out


def _class_token(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    out = Shape(x.c, x.h + 1, 1, tokens=True)
    return [Op("concat", {"out": _elements(out)})], out


def _position_embedding(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    return [Op("add", {"out": _elements(x)})], x


def _resize(x: Shape, h: int, w: int) -> list[Op]:
    """timm's bilinear ``F.interpolate`` to (h, w) around MobileViT's unfold and fold, where the patch does not
    divide the map; where the sizes agree, the same operation with no elements (so a layer lists the same
    operations at every resolution, as the sweep's terms need)."""
    area = h * w if (h, w) != (x.h, x.w) else 0
    return [Op("upsample.resize", {"out": (x.c * area, area)}, widths={"out": x.c})]


def _unfold(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    patch = part.args[3]
    h, w = -(-x.h // patch[0]) * patch[0], -(-x.w // patch[1]) * patch[1]
    out = Shape(x.c, x.h, x.w, tokens=True, patch=patch)
    return [*_resize(x, h, w), Op("reshape", {"out": _elements(out)})], out


def _fold(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    assert x.patch is not None  # the graph builder gives fold an unfold's sequences only
    h, w = -(-x.h // x.patch[0]) * x.patch[0], -(-x.w // x.patch[1]) * x.patch[1]
    grid, out = Shape(x.c, h, w), Shape(x.c, x.h, x.w)
    return [Op("reshape", {"out": _elements(grid)}), *_resize(grid, x.h, x.w)], out


def _window(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """Swin's roll (when shifted) and window partition: moves, elements out."""
    out = Shape(x.c, x.h, x.w, tokens=True, window=part.args[3])
    roll = [Op("reshape", {"out": _elements(x)})] if part.args[4] else []
    return [*roll, Op("reshape", {"out": _elements(out)})], out


def _unwindow(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    out = Shape(x.c, x.h, x.w)
    roll = [Op("reshape", {"out": _elements(out)})] if part.args[4] else []
    return [Op("reshape", {"out": _elements(out)}), *roll], out


def _untokens(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    out = Shape(*part.args)
    return [Op("reshape", {"out": _elements(out)})], out


def _space_to_depth(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    p = part.args[3]
    out = Shape(x.c * p * p, x.h // p, x.w // p)
    return [Op("reshape", {"out": _elements(out)})], out


def _pool_tokens(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    out = Shape(x.c, 1, 1)
    if part.args[1] == "cls":
        return [Op("reshape", {"out": _elements(out)})], out
    return [Op("token_mean", {"in": _elements(x), "out": _elements(out)})], out


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


def _layer_norm(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """LayerNorm2d (ConvNeXt) is ``ln``; torch's own LayerNorm on a sequence ``ln_seq``: tools that find modules by
    their exact class count the one and not the other."""
    kind = "ln_seq" if part.module == "LayerNorm" else "ln"
    # an unfold's P sequences: N·P tokens (H·W unless resized), and a batch of P for counters that count γ, β
    # once per batch item
    positions, p = (x.area, x.sequences) if x.tokens else (x.h * x.w, 1)
    sizes = {**_elementwise(kind, x).sizes, "positions": (positions, positions)}
    if p > 1:
        sizes["channels"] = (p * x.c, 1)
    return [Op(kind, sizes)], x


def _elementwise(kind: str, x: Shape) -> Op:
    """An operation whose output has its input's shape (BatchNorm, an activation, dropout, a shuffle)."""
    return Op(kind, {"out": _elements(x), "in": _elements(x), "channels": (x.c, x.folded)})


def _same(kind: str) -> Callable[[TorchPart, Shape], tuple[list[Op], Shape]]:
    def same(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
        return [_elementwise(kind, x)], x

    return same


def _flatten(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    out = Shape(x.numel, 1, 1, folded=x.area)
    return [Op("reshape", {"out": _elements(out)})], out


def _slice(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    out = Shape(part.args[1], x.h, x.w)
    return [Op("reshape", {"out": _elements(out)})], out


def _squeeze_excite(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """torch build's SqueezeExcite: global pool, 1×1 conv C→s with bias, act, 1×1 conv s→C with bias, gate, x·gate."""
    channels, squeeze = part.args
    ops, pooled = _global_pool(part, x)
    for cin, cout, act in ((channels, squeeze, part.kwargs.get("act", "relu")),
                           (squeeze, channels, part.kwargs.get("gate", "sigmoid"))):
        conv_ops, pooled = _conv(TorchPart("conv", "Conv2d", (cin, cout, 1, 1, 0), {"bias": True}), pooled)
        ops += conv_ops + _activation_ops(act, pooled)
    return [*ops, Op("mul", {"out": _elements(x)})], x


def _activation_ops(act: str, x: Shape) -> list[Op]:
    if act not in TORCH_ACTIVATIONS:
        return []
    return [_elementwise(f"act.{MODULE_ACTIVATION[TORCH_ACTIVATIONS[act][0]]}", x)]


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


# torch module name → spec activation name (swish builds SiLU too: it is silu)
MODULE_ACTIVATION = {module: name for name, (module, _, _) in TORCH_ACTIVATIONS.items() if name != "swish"}

PART_OPS: dict[str, Callable[[TorchPart, Shape], tuple[list[Op], Shape]]] = {
    "Conv2d": _conv, "ConvTranspose2d": _deconv, "Linear": _linear, "BatchNorm2d": _same("bn"),
    "BatchNorm1d": _same("bn"),
    "LayerNorm2d": _layer_norm, "LayerNorm": _layer_norm, "MapTokens": _map_tokens, "ClassToken": _class_token,
    "PositionEmbedding": _position_embedding, "PoolTokens": _pool_tokens, "Attention": _attention,
    "MapAttention": _map_attention, "LevitAttention": _levit_attention, "TokenBatchNorm": _token_bn,
    "MapProducts": _map_products,
    "LinearAttention": _linear_attention, "XCA": _xca, "FourierPosition": _fourier,
    "SeparableAttention": _separable_attention, "TokenGroupNorm": _same("gn"),
    "Unfold": _unfold, "Fold": _fold, "Window": _window, "Unwindow": _unwindow, "Untokens": _untokens,
    "SpaceToDepth": _space_to_depth,
    "LayerScale": _same("scale"), "GroupNorm": _same("gn"), "L2Norm": _l2norm, "MaxPool2d": _pool("maxpool"),
    "AvgPool2d": _pool("avgpool"), "AdaptiveAvgPool2d": _adaptive, "Upsample": _upsample, "ZeroPad": _pad,
    "Flatten": _flatten, "FlattenMap": _flatten, "ChannelSlice": _slice, "ChannelShuffle": _same("reshape"),
    "Dropout": _same("dropout"), "SqueezeExcite": _squeeze_excite,
    **{module: _same(f"act.{name}") for module, name in MODULE_ACTIVATION.items()},
}


def _join(how: str, node: Node) -> list[Op]:
    """A join's own operations: n − 1 pairwise sums, one product x · gate, a difference, a quotient, or a
    concatenation."""
    out = _elements(node.output)
    if how == "add":
        return [Op("add", {"out": out}) for _ in node.inputs[1:]]
    return [Op(how, {"out": out})]


def layer_ops(node: Node) -> list[Op]:
    """The primitive operations of ``node``'s torch build, in order, with their sizes."""
    parts = REGISTRY[node.type].torch_parts(node)
    ops: list[Op] = []
    x = node.input
    if parts and parts[0].name == "join":
        ops, x, parts = _join(parts[0].module, node), node.output, parts[1:]
    for part in parts:
        if part.module not in PART_OPS:
            raise KeyError(f"no counting rule for the torch part {part.module!r} of layer type {node.type!r}: "
                           "add it to mobcost.layers.conventions.PART_OPS")
        more, x = PART_OPS[part.module](part, x)
        ops += more
    if (x.c, x.h, x.w) != (node.output.c, node.output.h, node.output.w):  # the parts must build the layer's shape
        raise ValueError(f"the torch parts of layer {node.name!r} give {x}, its shape is {node.output}: "
                         "mobcost.layers.conventions.PART_OPS is out of date")
    return ops
