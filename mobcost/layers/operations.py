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

from collections.abc import Callable

from ..ir import Node, Shape
from .base import REGISTRY, TorchPart, conv_output_size
from .operations_attention import ATTENTION_OPS
from .primitives import (
    MODULE_ACTIVATION,
    Op,
    Size,
    _activation_ops,
    _bias,
    _conv,
    _elements,
    _elementwise,
    _hw,
    _linear,
)


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


# torch module name → spec activation name (swish builds SiLU too: it is silu)
PART_OPS: dict[str, Callable[[TorchPart, Shape], tuple[list[Op], Shape]]] = {
    "Conv2d": _conv, "ConvTranspose2d": _deconv, "Linear": _linear, "BatchNorm2d": _same("bn"),
    "BatchNorm1d": _same("bn"),
    "LayerNorm2d": _layer_norm, "LayerNorm": _layer_norm, "MapTokens": _map_tokens, "ClassToken": _class_token,
    "PositionEmbedding": _position_embedding, "PoolTokens": _pool_tokens, "TokenGroupNorm": _same("gn"),
    **ATTENTION_OPS,
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

