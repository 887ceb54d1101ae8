"""Operators that move data without computing on it: channel split (``Split``, ``Slice``, torch's ``chunk``),
channel shuffle (``Reshape → Transpose → Reshape``), explicit ``Pad`` before a convolution or pool, and the
pass-throughs (Identity, Dropout, Flatten, a reshape to the flattened vector, Softmax), which are no layer:
``fc`` flattens its input itself."""

from __future__ import annotations

from .model import Op
from .ops import HANDLERS, Handler
from .patterns import Mapper, chw

_PASS = ("Identity", "Dropout", "Cast", "Flatten", "Reshape", "Squeeze", "Unsqueeze")
_ZERO_COST = ("Softmax", "LogSoftmax")


def passthrough(m: Mapper, op: Op) -> None:
    """No layer: the output stands for the input when it holds the same values in a shape mobcost treats alike
    (the flattened vector of a C×H×W map, or C ↔ C×1×1)."""
    if op.op == "Reshape" and _shuffle(m, op):
        return
    x = op.inputs[0]
    src, dst = m.dims(x), m.dims(op.outputs[0])
    # the batch dimension may be symbolic (dynamic batch exports): only C·H·W must match
    flat = len(dst) == 2 and None not in src[1:] and None not in dst[1:] and _numel(src[1:]) == _numel(dst[1:])
    if not (flat or (chw(dst) is not None and chw(dst) == chw(src))):
        m.leave_out(op, f"{op.op} from {list(src)} to {list(dst)}: only flattening (before fc) and C ↔ C×1×1 "
                        "map; nearest: fc (flattens its input)")
        return
    m.alias[op.outputs[0]] = x
    m.done.add(op.name)


def zero_cost(m: Mapper, op: Op) -> None:
    """Softmax: costs nothing under the paper's convention and changes no shape; named in the spec's notes."""
    m.alias[op.outputs[0]] = op.inputs[0]
    m.done.add(op.name)
    m.notes.append(f"{op.name} ({op.op}) is not a layer: it costs nothing under the paper's convention")


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
    """Equal channel parts; one `split` layer per part some operator reads."""
    x = op.inputs[0]
    rank = len(m.dims(x))
    widths = [m.dims(out)[1] if len(m.dims(out)) == 4 else None for out in op.outputs]
    total = m.dims(x)[1] if rank == 4 else None
    if rank != 4 or op.attrs.get("axis", 0) % rank != 1 or None in widths or len(set(widths)) != 1 \
            or total != sum(widths):  # type: ignore[arg-type]
        m.leave_out(op, f"Split into channel widths {widths} along axis {op.attrs.get('axis', 0)}: only equal "
                        "channel parts map (split)")
        return
    for index, out in enumerate(op.outputs):
        if m.g.readers(out):
            m.emit(op, "split", {"parts": len(widths), "index": index}, (x,), out, part=f"{op.part}_{index}")
    m.done.add(op.name)


def split_to_sequence(m: Mapper, op: Op) -> None:
    """The dynamo exporter's ``chunk``: SplitToSequence, then SequenceAt per part read."""
    x, dims = op.inputs[0], m.dims(op.inputs[0])
    const = m.g.const(op.inputs[1]) if len(op.inputs) > 1 and op.inputs[1] else None
    sizes = list(const.values) if const is not None and const.values is not None else [1]
    users = m.g.users(op.outputs[0])
    at = [_position(m, u) for u in users]
    channels = dims[1] if len(dims) == 4 else None
    if channels is None or op.attrs.get("axis", 0) % 4 != 1 or len(set(sizes)) != 1 \
            or channels % sizes[0] or None in at or not op.attrs.get("keepdims", 1):
        m.leave_out(op, f"SplitToSequence of {list(dims)} by {sizes}: only equal channel parts read by "
                        "SequenceAt map (split)")
        return
    parts = channels // sizes[0] if len(sizes) == 1 else len(sizes)
    for user, index in zip(users, at, strict=True):
        m.emit(user, "split", {"parts": parts, "index": index % parts}, (x,), user.outputs[0])  # type: ignore
    m.done.add(op.name)


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
        m.leave_out(op, f"channels {start}:{start + width} of {total}: only one of equal parts maps (split)")
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
    """Explicit zero padding before convolutions or pools (timm, TensorFlow ports) becomes their ``padding``."""
    pads = op.attrs.get("pads")
    if pads is None and len(op.inputs) > 1 and op.inputs[1]:
        const = m.g.const(op.inputs[1])
        pads = list(const.values) if const is not None and const.values is not None else None
    users = m.g.users(op.outputs[0])
    ok = pads is not None and len(pads) == 8 and not any(pads[i] for i in (0, 1, 4, 5)) and len(set(
        pads[i] for i in (2, 3, 6, 7))) == 1 and users and all(u.op in ("Conv", "MaxPool", "AveragePool")
                                                                for u in users)
    if not ok:
        m.leave_out(op, f"padding {pads}: only equal padding on all four sides before a convolution or pool "
                        f"maps; asymmetric padding is not in the vocabulary yet (issue 12)")
        return
    m.pads[op.outputs[0]] = int(pads[2])  # type: ignore[index]
    m.alias[op.outputs[0]] = op.inputs[0]
    m.done.add(op.name)


LAYOUT: dict[str, Handler] = {
    **{name: passthrough for name in _PASS}, **{name: zero_cost for name in _ZERO_COST},
    "Split": split, "Slice": slice_, "Pad": pad, "SplitToSequence": split_to_sequence,
}
ALL_HANDLERS: dict[str, Handler] = {**HANDLERS, **LAYOUT}
