"""Operators that move data without computing on it: channel split (``Split``, ``Slice``, torch's ``chunk``),
channel shuffle (``Reshape → Transpose → Reshape``), explicit ``Pad`` before a convolution or pool, and the
pass-throughs (Identity, Dropout, Flatten, a reshape to the flattened vector, Softmax), which are no layer:
``fc`` flattens its input itself."""

from __future__ import annotations

import math
from typing import Any

from .model import Op
from .ops import HANDLERS, Handler, layer_scale
from .patterns import Mapper, chw
from .resampling import resize

_PASS = ("Identity", "Dropout", "Cast", "Flatten", "Reshape", "Squeeze", "Unsqueeze")
_ZERO_COST = ("Softmax", "LogSoftmax")


def passthrough(m: Mapper, op: Op) -> None:
    """No layer: the output stands for the input when it holds the same values in a shape mobcost treats alike
    (the flattened vector of a C×H×W map, or C ↔ C×1×1)."""
    if op.op == "Reshape" and (_shuffle(m, op) or _scoring_head(m, op)):
        return
    x = op.inputs[0]
    src, dst = m.dims(x), m.dims(op.outputs[0])
    # the batch dimension may be symbolic (dynamic batch exports): only C·H·W must match
    flat = len(dst) == 2 and None not in src[1:] and None not in dst[1:] and _numel(src[1:]) == _numel(dst[1:])
    copy = op.op in ("Identity", "Dropout", "Cast") and src == dst and None not in src  # any rank: a copy
    if not (flat or copy or (chw(dst) is not None and chw(dst) == chw(src))):
        m.leave_out(op, f"{op.op} from {list(src)} to {list(dst)}: only flattening (before fc) and C ↔ C×1×1 "
                        "map; nearest: fc (flattens its input)")
        return
    m.alias[op.outputs[0]] = x
    m.done.add(op.name)


def zero_cost(m: Mapper, op: Op) -> None:
    """Softmax: costs nothing under the paper's convention and changes no shape; named in the spec's notes."""
    m.alias[op.outputs[0]] = op.inputs[0]
    m.done.add(op.name)
    named = f"{op.name} ({op.op})" if m.g.kind == "ONNX" else op.name  # a TFLite name says its type already
    m.notes.append(f"{named} is not a layer: it costs nothing under the paper's convention")


def _scoring_head(m: Mapper, op: Op) -> bool:
    """An SSD head map's reshape into the network output (torchvision's ``SSDScoringHead``): (N, A·K, H, W) viewed
    as (N, A, K, H, W), permuted to (N, H, W, A, K), reshaped to (N, H·W·A, K), then concatenated over the levels
    (axis 1) into a graph output. Moves, no layer: the head map itself becomes a network output (kept under α, as
    a predictor is), and the note names the concatenation."""
    src, dst = m.dims(op.inputs[0]), m.dims(op.outputs[0])
    if len(src) != 4 or len(dst) != 5 or None in src[1:] or None in dst[1:]:
        return False
    perm = m.sole_user(op.outputs[0], "Transpose")
    if perm is None or list(perm.attrs.get("perm", [])) != [0, 3, 4, 1, 2]:
        return False
    copy = m.sole_user(perm.outputs[0], "Identity")  # the dynamo exporter's clone before the reshape
    flat = m.sole_user((copy or perm).outputs[0], "Reshape")
    users = m.g.users(flat.outputs[0]) if flat is not None and len(m.dims(flat.outputs[0])) == 3 else []
    cat = users[0] if len(users) == 1 and m.g.readers(flat.outputs[0]) == 1 and users[0].op == "Concat" else None
    if cat is None or cat.attrs.get("axis") not in (1, -2) or cat.outputs[0] not in m.g.outputs:
        return False
    m.done.update({op.name, perm.name, flat.name, *([copy.name] if copy else [])})
    m.head_maps.append(op.inputs[0])
    if cat.name not in m.done:
        m.done.add(cat.name)
        m.notes.append(f"{cat.name} (Concat) and the view/permute/reshape before it are not layers: SSD's head maps "
                       f"reshaped and concatenated into output {cat.outputs[0]} "
                       f"({'×'.join(str(d) for d in m.dims(cat.outputs[0]))}), moves without Mult-Adds; the spec "
                       "returns the maps")
    return True


def _numel(dims: tuple) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def _shuffle(m: Mapper, op: Op) -> bool:
    """``view(N, g, C/g, H, W) → transpose(1, 2) → view(N, C, H, W)``: ShuffleNet's channel shuffle."""
    mid = m.dims(op.outputs[0])
    swap = m.sole_user(op.outputs[0], "Transpose")
    if len(mid) != 5 or swap is None or list(swap.attrs.get("perm", [])) != [0, 2, 1, 3, 4]:
        return False
    copies = []  # the dynamo exporter's clone() between the two: Identity
    back = m.sole_user(swap.outputs[0])
    while back is not None and back.op == "Identity":
        copies.append(back)
        back = m.sole_user(back.outputs[0])
    if back is None or back.op != "Reshape" or m.dims(back.outputs[0]) != m.dims(op.inputs[0]):
        return False
    m.emit(op, "shuffle", {"groups": mid[1]}, (op.inputs[0],), back.outputs[0], (swap, *copies, back),
           part="shuffle")
    return True


def split(m: Mapper, op: Op) -> None:
    """Channel parts, equal or not (FasterNet's 1/4 partial convolution); one `split` layer per part some operator
    reads."""
    x = op.inputs[0]
    rank = len(m.dims(x))
    widths = [m.dims(out)[1] if len(m.dims(out)) == 4 else None for out in op.outputs]
    total = m.dims(x)[1] if rank == 4 else None
    if rank != 4 or op.attrs.get("axis", 0) % rank != 1 or None in widths or not _counts(widths) \
            or total != sum(widths):  # type: ignore[arg-type]
        m.leave_out(op, f"Split into channel widths {widths} along axis {op.attrs.get('axis', 0)}: only channel "
                        "parts map (split)")
        return
    for index, out in enumerate(op.outputs):
        if m.g.readers(out):
            m.emit(op, "split", {**_parts(widths), "index": index}, (x,), out,  # type: ignore[arg-type]
                   part=f"{op.part}_{index}")
    m.done.add(op.name)


def _parts(widths: list[int]) -> dict[str, Any]:
    """A split's parts: ``parts: n`` when equal, else ``sizes`` in lowest terms (10/30 → [1, 3])."""
    if len(set(widths)) == 1:
        return {"parts": len(widths)}
    unit = math.gcd(*widths)
    return {"sizes": [w // unit for w in widths]}


def split_to_sequence(m: Mapper, op: Op) -> None:
    """The dynamo exporter's ``chunk`` and ``split``: SplitToSequence, then SequenceAt per part read; equal parts
    or the widths it lists (FasterNet's [C/4, 3C/4])."""
    x, dims = op.inputs[0], m.dims(op.inputs[0])
    const = m.g.const(op.inputs[1]) if len(op.inputs) > 1 and op.inputs[1] else None
    sizes = list(const.values) if const is not None and const.values is not None else [1]
    users = m.g.users(op.outputs[0])
    at = [_position(m, u) for u in users]
    channels = dims[1] if len(dims) == 4 else None
    whole = channels is not None and _counts(sizes) and (sum(sizes) == channels if len(sizes) > 1
                                                         else channels % sizes[0] == 0)
    if not whole or op.attrs.get("axis", 0) % 4 != 1 or None in at or not op.attrs.get("keepdims", 1):
        m.leave_out(op, f"SplitToSequence of {list(dims)} by {sizes}: only channel parts read by SequenceAt map "
                        "(split)")
        return
    widths = sizes if len(sizes) > 1 else [sizes[0]] * (channels // sizes[0])  # type: ignore[operator]
    for user, index in zip(users, at, strict=True):
        m.emit(user, "split", {**_parts(widths), "index": index % len(widths)}, (x,),  # type: ignore[operator]
               user.outputs[0])
    m.done.add(op.name)


def _counts(values: list[Any]) -> bool:
    """Sizes from a constant are positive integers (not 0, inf, NaN or 0.5)."""
    return all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values)


def _position(m: Mapper, op: Op) -> int | None:
    const = m.g.const(op.inputs[1]) if op.op == "SequenceAt" and len(op.inputs) > 1 else None
    return int(const.scalar) if const is not None and const.scalar is not None else None


def slice_(m: Mapper, op: Op) -> None:
    """A channel slice [i·w, (i+1)·w) of a C-channel map is part i of C/w equal parts."""
    x, src, dst = op.inputs[0], m.dims(op.inputs[0]), m.dims(op.outputs[0])
    start = _channel_start(m, op)
    if len(src) != 4 or len(dst) != 4 or src[2:] != dst[2:] or start is None or None in (src[1], dst[1]):
        m.leave_out(op, "only a slice of channels (a torch.chunk / split along dim 1) maps (split)")
        return
    total, width = src[1], dst[1]
    if total == width:  # x[:, :C]: the whole map, no layer
        m.alias[op.outputs[0]] = x
        m.done.add(op.name)
        return
    if total % width or start % width:  # type: ignore[operator]
        # channels [start, start + width) of unequal parts: the slice before, this one, the slice after
        widths = [w for w in (start, width, total - start - width) if w]  # type: ignore[operator]
        index = 1 if start else 0
        m.emit(op, "split", {**_parts(widths), "index": index}, (x,), op.outputs[0])
        return
    m.emit(op, "split", {"parts": total // width, "index": start // width}, (x,), op.outputs[0])  # type: ignore


def _channel_start(m: Mapper, op: Op) -> int | None:
    args = [m.g.const(t) if t else None for t in op.inputs[1:5]]
    if len(args) < 2 or args[0] is None or args[0].values is None:
        return None
    starts = list(args[0].values)
    axes = list(args[2].values) if len(args) > 2 and args[2] is not None and args[2].values else \
        list(range(len(starts)))
    steps = list(args[3].values) if len(args) > 3 and args[3] is not None and args[3].values else [1] * len(axes)
    rank = len(m.dims(op.inputs[0]))
    picked = [(s, st) for s, a, st in zip(starts, axes, steps, strict=False) if a % rank == 1]
    if len(picked) != 1 or picked[0][1] != 1:
        return None
    channels = m.dims(op.inputs[0])[1] or 0
    return max(0, min(int(picked[0][0]) + (channels if picked[0][0] < 0 else 0), channels))


def pad(m: Mapper, op: Op) -> None:
    """Explicit padding of H and W (``F.pad``; timm's TensorFlow "same" ports compute the pads at run time) becomes
    the ``padding`` of the convolutions and pools that read it (sides that differ included), else a ``pad`` layer
    (reflect and edge padding cost what zeros cost: no Mult-Adds, the padded map written)."""
    pads = op.attrs.get("pads")
    if pads is None and len(op.inputs) > 1 and op.inputs[1]:
        const = m.g.const(op.inputs[1])
        pads = list(const.values) if const is not None and const.values is not None else None
    # whole pixels, none negative (a float pad of inf or NaN from a constant is no padding at all)
    whole = pads is not None and len(pads) == 8 and _counts([p + 1 for p in pads])
    if not whole or any(pads[i] for i in (0, 1, 4, 5)) or len(m.dims(op.inputs[0])) != 4:  # type: ignore[index]
        m.leave_out(op, f"padding {pads}: only whole-pixel padding of the height and width of a map maps (to a "
                        "convolution's or pool's padding, or a pad layer)")
        return
    sides = (int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7]))  # type: ignore[index]
    users = m.g.users(op.outputs[0])
    constant = op.attrs.get("mode", "constant") == "constant"
    if constant and users and all(u.op in ("Conv", "MaxPool", "AveragePool") for u in users):
        if any(sides):
            m.pads[op.outputs[0]] = sides
        m.alias[op.outputs[0]] = op.inputs[0]
        m.done.add(op.name)
        return
    top, left, bottom, right = sides
    padding = top if len(set(sides)) == 1 else [[top, bottom], [left, right]]
    m.emit(op, "pad", {"padding": padding}, (op.inputs[0],), op.outputs[0])


_TO_NHWC, _TO_NCHW = [0, 2, 3, 1], [0, 3, 1, 2]


def transpose(m: Mapper, op: Op) -> None:
    """A channels-last block: ``permute(0, 2, 3, 1)``, then per-pixel operators — LayerNorm over C, Linear
    layers (MatMul by a stored C×N weight, + bias), activations, a per-channel scale — then
    ``permute(0, 3, 1, 2)`` back (ConvNeXt's block and LayerNorm2d). A Linear applied to every pixel is a 1×1
    convolution: `ln`, `pw` (bias, no BN), `act`, `layerscale` layers. Any other transpose has no layer."""
    if list(op.attrs.get("perm", [])) == _TO_NHWC and channels_last(m, op):
        return
    m.leave_out(op, f"a transpose (perm {list(op.attrs.get('perm', []))}) outside a channel shuffle or a "
                    "channels-last block (permute to N×H×W×C, per-pixel LayerNorm / Linear / activations, permute "
                    "back) has no layer; nearest: shuffle")


def channels_last(m: Mapper, op: Op) -> bool:
    x = op.inputs[0]
    if chw(m.dims(x)) is None or len(m.dims(x)) != 4:
        return False
    plan: list[tuple[Op, str, dict[str, Any], str, tuple[Op, ...]]] = []
    t, claimed = op.outputs[0], {op.name}
    while True:
        user = m.sole_user(t)
        if user is None or user.name in claimed or (user.inputs[0] != t and user.op != "Mul"):
            return False
        step = _channels_last_step(m, user, t)
        if step == "end":
            break
        if step is None:
            return False
        plan.append(step)
        claimed.update({step[0].name, *(f.name for f in step[4])})
        t = step[3]
    # the block's tensors are N×H×W×C in the file; the layers mobcost builds hold them as C×H×W
    for _, _, _, out, _ in plan:
        n, h, w, c = m.dims(out)
        m.g.dims[out] = (n, c, h, w)
    current = x
    for first, kind, keys, out, folded in plan:
        m.emit(first, kind, keys, (current,), out, folded)
        current = out
    m.alias[user.outputs[0]] = current  # type: ignore[union-attr]
    m.done.update({op.name, user.name})  # type: ignore[union-attr]
    return True


def _channels_last_step(m: Mapper, op: Op, t: str) -> tuple[Op, str, dict[str, Any], str, tuple[Op, ...]] | str | None:
    """One per-pixel operator of a channels-last block reading ``t`` (N×H×W×C): the layer it becomes, "end" at
    the transpose back, None if it is none of these."""
    dims = m.dims(t)
    if len(dims) != 4 or None in dims[1:]:
        return None
    c = dims[3]
    if op.op == "Transpose":
        return "end" if list(op.attrs.get("perm", [])) == _TO_NCHW else None
    if op.op == "LayerNormalization":
        scale = m.g.const(op.inputs[1]) if len(op.inputs) > 1 else None
        if op.attrs.get("axis", -1) % 4 != 3 or scale is None or scale.dims != (c,):
            return None
        _, act, tail, folded = m.fold_tail(op.outputs[0], bn=False)
        return op, "ln", {"act": act}, tail, folded
    if op.op == "MatMul":
        weight = m.g.const(op.inputs[1])
        if weight is None or len(weight.dims) != 2 or weight.dims[0] != c:
            return None
        tail, bias = op.outputs[0], ()
        add = m.sole_user(tail, "Add")
        if add is not None:
            other = next((i for i in add.inputs if i != tail), "")
            const = m.g.const(other)
            if const is not None and const.dims == (weight.dims[1],):
                tail, bias = add.outputs[0], (add,)
        _, act, tail, folded = m.fold_tail(tail, bn=False)
        return op, "pw", {"out": weight.dims[1], "bias": bool(bias), "bn": False, "act": act}, tail, (*bias, *folded)
    if op.op == "Mul" and len(m.g.dynamic_inputs(op)) == 1:
        before = len(m.layers)
        if layer_scale(m, op, t, channels_last=True):  # emitted already: take it back, the plan emits in order
            e = m.layers.pop()
            m.done.discard(op.name)
            assert len(m.layers) == before
            return op, "layerscale", {}, e.output, ()
        return None
    match = m.match_act(t)
    if match is not None and op.name in {o.name for o in match[2]}:
        return op, "act", {"act": match[0]}, match[1], tuple(o for o in match[2] if o is not op)
    return None


LAYOUT: dict[str, Handler] = {
    **{name: passthrough for name in _PASS}, **{name: zero_cost for name in _ZERO_COST},
    "Split": split, "Slice": slice_, "Pad": pad, "SplitToSequence": split_to_sequence, "Transpose": transpose,
    "Resize": resize, "Upsample": resize,
}
ALL_HANDLERS: dict[str, Handler] = {**HANDLERS, **LAYOUT}
