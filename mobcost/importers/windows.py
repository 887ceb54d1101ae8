"""Channels-last maps and window partition (Swin, TinyViT): a map permuted to N×H×W×C that stays so across several
operators (a residual sum, a window partition, per-pixel LayerNorm and Linear layers) is the same map to mobcost —
the permute is no layer, and the operators on it become the layers they are on the C×H×W map (`ln`, `pw` with its
bias, `act`, `add`). Its tensors keep the file's N×H×W×C dims while the walk reads them and are held as N×C×H×W for
the final shape check.

Window partition and merge, a sequence read back into a map: exporters write each as three to five Reshape and
Transpose operators, so — as MobileViT's unfold (``patches.py``) — the chain's index movement is replayed on the
element numbers and compared with the layer's; only a chain that moves every value as `window` (P > 1 windows),
`tokens` (the whole map as one sequence), `unwindow` or `untokens` does maps.
"""

from __future__ import annotations

import math

from .layout import _channels_last_step
from .model import Emitted, Op
from .patches import _arange, _replay, _Values
from .patterns import Mapper, sequence

_TO_NHWC, _TO_NCHW = [0, 2, 3, 1], [0, 3, 1, 2]


def _windowed(v: _Values, w: int) -> _Values:
    """timm's window_partition of a 1×H×W×C array: P×w²×C, windows row by row, each read row by row."""
    _, h, wd, c = v.shape
    return v.reshape((h // w, w, wd // w, w, c)).transpose((0, 2, 1, 3, 4)).reshape(((h // w) * (wd // w), w * w, c))


def channels_last_view(m: Mapper, op: Op) -> bool:
    """``permute(0, 2, 3, 1)`` of a map whose channels-last form several operators read: no layer, the map itself
    (the N×H×W×C dims kept for the walk)."""
    dims = m.dims(op.inputs[0])
    if op.op != "Transpose" or list(op.attrs.get("perm", [])) != _TO_NHWC or len(dims) != 4 or None in dims[1:]:
        return False
    m.alias[op.outputs[0]] = op.inputs[0]
    m.nhwc.add(op.outputs[0])
    m.done.add(op.name)
    return True


def on_channels_last(m: Mapper, op: Op) -> bool:
    """``op`` reads a channels-last map: map it as the layer it is on the C×H×W map; False when it reads none."""
    if not any(t in m.nhwc for t in op.inputs if t):
        return False
    x = next(t for t in op.inputs if t in m.nhwc)
    if op.op == "Transpose" and list(op.attrs.get("perm", [])) == _TO_NCHW:
        m.alias[op.outputs[0]] = x  # back to N×C×H×W: the map it always was
        m.done.add(op.name)
    elif op.op in ("Reshape", "Transpose"):
        if not (_partition(m, op, x) or _space_to_depth(m, op, x)):
            m.leave_out(op, f"a {op.op} of the channels-last map {list(m.dims(x))} that is no window partition "
                            "(timm's window_partition) nor a reading as tokens; nearest: window, tokens")
    elif op.op == "Slice":
        if not _roll(m, op, x):
            m.leave_out(op, f"a Slice of the channels-last map {list(m.dims(x))} that is no roll (Swin's "
                            "torch.roll: two slices concatenated in the other order); nearest: window's shift")
    elif any(t in m.rolls for t in op.inputs):
        m.leave_out(op, f"{op.op} reads a rolled map: only a window partition (window's shift) or a second roll "
                        "takes one")
    elif op.op in ("Add", "Sum") and all(t in m.nhwc for t in m.g.dynamic_inputs(op)):
        m.nhwc.add(op.outputs[0])
        return False  # the CNN's sum of two maps
    elif op.op == "ReduceMean" and _global_mean(m, op, x):
        pass
    else:
        _per_pixel(m, op, x)
    return True


def _per_pixel(m: Mapper, op: Op, x: str) -> None:
    """LayerNorm over C, a Linear (MatMul by a stored C×O weight, + bias), an activation, a per-channel scale: the
    ConvNeXt block's steps (`ln`, `pw`, `act`, `layerscale`), on a map that stays channels-last after them."""
    step = _channels_last_step(m, op, x) if op.inputs[0] == x or op.op == "Mul" else None
    if not isinstance(step, tuple):
        m.leave_out(op, f"{op.op} on the channels-last map {list(m.dims(x))}: only LayerNorm over C, Linear, "
                        "activations, per-channel scales, sums, window partitions and permutes back map")
        return
    first, kind, keys, tail, folded = step
    m.emit(first, kind, keys, (x,), tail, folded)
    m.nhwc.add(tail)


def _roll(m: Mapper, op: Op, x: str) -> bool:
    """``torch.roll`` along H or W as exporters write it: Concat(x[k:], x[:k]) along that axis, a roll by −k. No
    layer: the rolled map stands for ``x``, its shift kept for the window partition that reads it or, rolled by
    +s after an `unwindow`, given to that layer as its ``shift``."""
    parts = [u for u in m.g.users(x) if u.op == "Slice"]
    cat = m.sole_user(op.outputs[0], "Concat")
    if cat is None or len(cat.inputs) != 2 or len(parts) < 2:
        return False
    first, second = (next((u for u in parts if u.outputs[0] == t), None) for t in cat.inputs)
    bounds = [_slice_bounds(m, s) for s in (first, second) if s is not None]
    axis = cat.attrs.get("axis", 0) % 4
    size = m.dims(x)[axis]
    if len(bounds) != 2 or axis not in (1, 2) or size is None or any(b[0] != axis for b in bounds):
        return False
    (_, start, end), (_, start2, end2) = bounds

    def at(v: int) -> int:  # an index as Slice reads it: negative from the end, clamped to the axis
        return max(0, min(v + size if v < 0 else v, size))

    k = at(start)
    if not 0 < k < size or at(end) != size or (at(start2), at(end2)) != (0, k):
        return False
    rolled = {**m.rolls.get(x, {}), axis: k}
    out = cat.outputs[0]
    m.alias[out] = x
    m.nhwc.add(out)
    m.done.update({first.name, second.name, cat.name})  # type: ignore[union-attr]
    if not _shifts_unwindow(m, x, rolled, size):
        m.rolls[out] = rolled
    return True


def _slice_bounds(m: Mapper, op: Op) -> tuple[int, int, int] | None:
    """(axis, start, end) of a one-axis Slice with constant bounds and step 1."""
    args = [m.g.const(t) if t else None for t in op.inputs[1:5]]
    values = [list(a.values) if a is not None and a.values is not None else None for a in args]
    if len(values) < 3 or None in values[:3] or len(values[0]) != 1 or (len(values) > 3 and values[3] not in
                                                                        (None, [1])):
        return None
    return int(values[2][0]) % 4, int(values[0][0]), int(values[1][0])  # type: ignore[index]


def _shifts_unwindow(m: Mapper, x: str, rolled: dict[int, int], size: int) -> bool:
    """Rolled by the same +s along H and W right after an `unwindow`: that layer's ``shift`` (Swin)."""
    source = m.resolve(x)
    merge = next((e for e in reversed(m.layers) if e.output == source), None)
    if merge is None or merge.type != "unwindow" or set(rolled) != {1, 2} or len(set(rolled.values())) != 1:
        return False
    merge.keys["shift"] = size - rolled[1]
    return True


def _global_mean(m: Mapper, op: Op, x: str) -> bool:
    """``x.mean((1, 2))`` of a channels-last map (Swin's head): the global `avgpool`."""
    axes = op.attrs.get("axes")
    if axes is None and len(op.inputs) > 1 and op.inputs[1]:
        const = m.g.const(op.inputs[1])
        axes = list(const.values) if const is not None and const.values is not None else None
    if axes is None or sorted(a % 4 for a in axes) != [1, 2]:
        return False
    m.emit(op, "avgpool", {}, (x,), op.outputs[0])
    if op.attrs.get("keepdims", 1):
        m.nhwc.add(op.outputs[0])
    return True


def _partition(m: Mapper, op: Op, x: str) -> bool:
    """The channels-last map ``x`` cut into windows (P > 1: `window`) or read whole as one sequence (`tokens`)."""
    _, h, w, c = m.dims(x)
    start = _arange(1, c, h, w).transpose((0, 2, 3, 1))  # type: ignore[arg-type]

    def windows(v: _Values) -> bool:
        size = math.isqrt(v.shape[1]) if v.ndim == 3 else 0
        return size > 0 and size * size == v.shape[1] and not h % size and not w % size \
            and v.shape == ((h // size) * (w // size), size * size, c) and v.flat == _windowed(start, size).flat

    found = _replay(m, op, start, windows)
    if found is None:
        return False
    chain, values = found
    size = math.isqrt(values.shape[1])
    rolled = m.rolls.get(x, {})
    if rolled and (set(rolled) != {1, 2} or len(set(rolled.values())) != 1):
        return False
    shift = {"shift": rolled[1]} if rolled else {}
    if values.shape[0] == 1 and not rolled and h != w:  # one square window is still a window (at another ρ, several)
        m.emit(op, "tokens", {}, (x,), chain[-1].outputs[0], tuple(chain[1:]), part="tokens")
    else:
        m.emit(op, "window", {"window": size, **shift}, (x,), chain[-1].outputs[0], tuple(chain[1:]), part="window")
    return True


def _space_to_depth(m: Mapper, op: Op, x: str) -> bool:
    """Swin's patch merging of the channels-last map ``x``: each p×p block's pixels in the channels, as timm orders
    them (`space_to_depth`; the map stays channels-last)."""
    _, h, w, c = m.dims(x)
    start = _arange(1, c, h, w).transpose((0, 2, 3, 1))  # type: ignore[arg-type]

    def merged(v: _Values, p: int) -> bool:
        blocks = start.reshape((h // p, p, w // p, p, c)).transpose((0, 2, 3, 1, 4))  # type: ignore[operator]
        return v.flat == blocks.reshape((1, h // p, w // p, p * p * c)).flat  # type: ignore[operator]

    def done(v: _Values) -> bool:
        p = math.isqrt(v.shape[3] // c) if v.ndim == 4 and v.shape[3] % c == 0 else 0  # type: ignore[operator]
        return p > 1 and v.shape == (1, h // p, w // p, p * p * c) and merged(v, p)  # type: ignore[operator]

    found = _replay(m, op, start, done)
    if found is None:
        return False
    chain, values = found
    out = chain[-1].outputs[0]
    m.emit(op, "space_to_depth", {"patch": math.isqrt(values.shape[3] // c)}, (x,), out,  # type: ignore[operator]
           tuple(chain[1:]), part="merge")
    m.nhwc.add(out)
    return True


def map_merge(m: Mapper, op: Op) -> bool:
    """``op`` starts the merge of P×w²×C windows back into a channels-last map (`unwindow`), or of one sequence
    of H·W tokens (`untokens`, its H×W read from the map the tokens were read from)."""
    src = m.dims(op.inputs[0])
    if op.op not in ("Reshape", "Transpose") or len(src) != 3 or None in src:
        return False
    p, n, c = src
    start = _arange(p, n, c)  # type: ignore[arg-type]

    def merged(v: _Values) -> bool:
        if v.ndim != 4 or v.shape[0] != 1 or v.shape[3] != c or v.size != start.size:
            return False
        size = math.isqrt(n)  # type: ignore[arg-type]
        if p == 1:
            return v.flat == start.flat
        return size * size == n and not v.shape[1] % size and not v.shape[2] % size \
            and _windowed(v, size).flat == start.flat

    found = _replay(m, op, start, merged)
    if found is None:
        return False
    chain = found[0]
    out = chain[-1].outputs[0]
    source = _source(m, n) if p == 1 else None  # type: ignore[arg-type]
    if source is not None and source.type == "tokens":
        m.emit(op, "untokens", {"size_of": source.inputs[0]}, (op.inputs[0],), out, tuple(chain[1:]),
               part="untokens")
    elif p > 1 or source is not None:
        m.emit(op, "unwindow", {}, (op.inputs[0],), out, tuple(chain[1:]), part="unwindow")
    else:
        return False
    m.nhwc.add(out)
    return True


def _source(m: Mapper, n: int) -> Emitted | None:
    """The layer one sequence of N tokens was read from a map by: the latest `window` (one window) or `tokens`
    layer of N tokens (TinyViT reads its local conv's map as tokens, then views them back)."""
    for e in reversed(m.layers):
        if e.type in ("window", "tokens") and sequence(m.dims(e.output)) is not None \
                and sequence(m.dims(e.output))[0] == n:  # type: ignore[index]
            return e
    return None


def held_as_maps(m: Mapper) -> None:
    """After the walk: every channels-last tensor a layer ends at as N×C×H×W, as mobcost holds the map."""
    for t in m.nhwc:
        dims = m.dims(t)
        if len(dims) == 4:
            n, h, w, c = dims
            m.g.dims[t] = (n, c, h, w)
