"""MobileNetV4's mobile multi-query attention on a map (timm ``MultiQueryAttention2d``), mapped to one `attention`
layer with ``kv_heads: 1`` and ``kv_stride``: a 1×1 conv to h·d queries; keys and values each from their own
[3×3 depthwise conv of stride s (no bias) + BatchNorm] (s > 1 only) and a 1×1 conv to one head of d; the products
Q·Kᵀ and A·V over the heads stacked into one matrix; a 1×1 conv back to C. The arrangement of the heads between
the convs and the products (reshapes, transposes) is not matched operator by operator: the products' sizes are,
so the layer's closed form (h·N·N′·(d + d_v) for the products) is the file's arithmetic."""

from __future__ import annotations

import math
from typing import Any

from .model import Op
from .ops import _has_bias as has_bias
from .patterns import Mapper

_MOVES = frozenset({"Reshape", "Transpose", "Identity"})
_MAX_WALK = 8


def _pointwise(m: Mapper, op: Op | None) -> tuple[int, int, bool] | None:
    """(out, in, has bias) of a 1×1 conv of stride 1, no padding, no groups; None for anything else."""
    if op is None or op.op != "Conv" or op.attrs.get("group", 1) != 1 or any(op.attrs.get("pads", [0])) \
            or set(op.attrs.get("strides", [1])) != {1}:
        return None
    weight = m.g.const(op.inputs[1])
    if weight is None or len(weight.dims) != 4 or weight.dims[2:] != (1, 1):
        return None
    return weight.dims[0], weight.dims[1], has_bias(m, op, 2)


def _down(m: Mapper, tensor: str, producer: dict[str, Op], x: str) -> tuple[list[Op], int] | str:
    """How a key or value path reaches the block input ``x``: directly (stride 1), or through BatchNorm after a
    3×3 depthwise conv of stride s with padding 1 and no bias — or, as a .tflite holds it, that conv with the BN
    folded into its bias, its padding an explicit Pad — (its operators, s); else why not."""
    if tensor == x:
        return [], 1
    bn = producer.get(tensor)
    if bn is not None and bn.op == "BatchNormalization":
        dw = producer.get(bn.inputs[0])
    else:  # a converter's: the BN folded into the depthwise conv's bias
        dw, bn = bn, None
    pad = producer.get(dw.inputs[0]) if dw is not None and dw.inputs[0] != x else None
    # a BatchNorm of uniform statistics (a fresh build's) left as a Mul by a scalar before the Pad
    scaled = producer.get(pad.inputs[0]) if pad is not None and pad.op == "Pad" and pad.inputs[0] != x else None
    scaled = scaled if scaled is not None and scaled.op == "Mul" and scaled.inputs[0] == x \
        and m.scalar(scaled.inputs[1]) else None
    start = scaled.outputs[0] if scaled is not None else x
    if dw is None or dw.op != "Conv" \
            or (dw.inputs[0] != x and (pad is None or pad.op != "Pad" or pad.inputs[0] != start)):
        return "keys or values are not a 1×1 conv of its input, or of a depthwise conv + BN of it"
    weight, c = m.g.const(dw.inputs[1]), m.dims(x)[1]
    strides = list(dw.attrs.get("strides", [1, 1]))
    pads = list(dw.attrs.get("pads", [0] * 4))
    padded = pads == [1] * 4 or (pad is not None and not any(pads)
                                 and list(pad.attrs.get("pads", [])) == [0, 0, 1, 1, 0, 0, 1, 1])
    if weight is None or weight.dims != (c, 1, 3, 3) or dw.attrs.get("group", 1) != c or len(set(strides)) != 1 \
            or not padded or has_bias(m, dw, 2) == (bn is not None):
        return "the key/value down-sampling is not a 3×3 depthwise conv (padding 1, no bias) + BN of equal strides"
    return [o for o in (scaled, pad, dw, bn) if o is not None], strides[0]


def match_map(m: Mapper, qk: Op, av: Op, ends: list[Op | None], producer: dict[str, Op]
              ) -> tuple[list[Op], dict[str, Any], str, str] | str:
    """(its operators, the layer's keys, the map it reads, the tensor it ends at) of the multi-query block whose
    q, k and v paths start at the 1×1 convs ``ends``, or why it is not one the layer expresses."""
    convs = [_pointwise(m, op) for op in ends]
    if any(c is None for c in convs):
        return "q, k and v are not all 1×1 convs of a map"
    (hd, c, q_bias), (d, _, k_bias), (dv, _, v_bias) = convs  # type: ignore[misc]
    x = ends[0].inputs[0]  # type: ignore[union-attr]
    dims = m.dims(x)
    if len(dims) != 4 or None in dims[1:] or dims[1] != c or hd % d or len({q_bias, k_bias, v_bias}) != 1:
        return f"queries of {hd} are not whole heads of the keys' {d}, or the projections' biases differ"
    ops: list[Op] = [o for o in ends if o is not None]
    strides = set()
    for end in ends[1:]:
        found = _down(m, end.inputs[0], producer, x)  # type: ignore[union-attr]
        if isinstance(found, str):
            return found
        ops += found[0]
        strides.add(found[1])
    if len(strides) != 1:
        return "keys and values are down-sampled by different strides"
    (s,) = strides
    h, n, n_kv = hd // d, dims[2] * dims[3], math.ceil(dims[2] / s) * math.ceil(dims[3] / s)  # type: ignore[operator]
    # the products as the file computes them: h·N·N′ scores of d terms each, h·N outputs of N′ terms of d_v
    scores, out = m.dims(qk.outputs[0]), m.dims(av.outputs[0])
    if None in scores or None in out or math.prod(scores) != h * n * n_kv or m.dims(qk.inputs[0])[-1] != d \
            or math.prod(out) != h * n * dv or m.dims(av.inputs[0])[-1] != n_kv:  # type: ignore[arg-type]
        return f"products of {list(scores)} and {list(out)}: not {h} heads of {n} queries by {n_kv} keys"
    walked, proj, _ = m.walk_forward(av.outputs[0], _MOVES, _MAX_WALK)
    last = _pointwise(m, proj)
    if last is None or last[:2] != (c, h * dv) or m.dims(proj.inputs[0]) != (dims[0], h * dv, dims[2], dims[3]):
        return f"the heads merged back to {h * dv}×{dims[2]}×{dims[3]} are not read by a 1×1 conv back to {c}"
    keys: dict[str, Any] = {"heads": h, "kv_heads": 1, "kv_stride": s, "bias": q_bias, "out_bias": last[2]}
    if c % h or c // h != d:
        keys["head_dim"] = d
    if dv != d:
        keys["value_dim"] = dv
    return [*ops, *walked, proj], keys, x, proj.outputs[0]  # type: ignore[union-attr]
