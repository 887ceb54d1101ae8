"""The windows of a map held as a batch of P maps (timm ``efficientvit_msra.LocalWindowAttention``): the map
permuted channels-last, zero-padded at the bottom and right to whole w×w windows, cut into P = (Hp/w)·(Wp/w)
windows, each permuted back to C×w×w; after the attention the same moves backwards and the padding cropped.

Exporters write the partition and the merge as chains of Transpose and Reshape (with a Pad and a Slice where the
map is padded): as MobileViT's unfold (``patches.py``), each chain's index movement is replayed on element numbers
and compared with the partition's, so only a chain that moves every value as the windows do is taken.
"""

from __future__ import annotations

import math

from .model import Op
from .patches import _arange, _Values
from .patterns import Mapper

_MOVES = frozenset({"Reshape", "Transpose", "Identity", "Squeeze", "Unsqueeze", "Flatten"})
_MAX_CHAIN = 12
_PAD = -1  # the element number of a padded pixel


def _windows(c: int, h: int, w: int, ws: int) -> _Values:
    """The P×C×ws×ws windows of a C×H×W map of element numbers (padded pixels −1), row by row."""
    hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
    flat = [y * w + x + ch * h * w if y < h and x < w else _PAD for ch in range(c) for y in range(hp)
            for x in range(wp)]
    grid = _Values(tuple(flat), (c, hp // ws, ws, wp // ws, ws))
    return grid.transpose((1, 3, 0, 2, 4)).reshape(((hp // ws) * (wp // ws), c, ws, ws))


def _step(m: Mapper, op: Op, values: _Values) -> _Values | None:
    """``values`` after ``op``: a move, a zero Pad at the ends, or a Slice from 0 (the crop); None otherwise."""
    out = m.dims(op.outputs[0])
    if None in out:
        return None
    if op.op == "Transpose":
        perm = list(op.attrs.get("perm", reversed(range(values.ndim))))
        return values.transpose(perm) if sorted(perm) == list(range(values.ndim)) else None
    if op.op in _MOVES:
        return values.reshape(out) if math.prod(out) == values.size else None  # type: ignore[arg-type]
    if op.op in ("Pad", "Slice") and len(out) == values.ndim:
        return _resized(values, out) if _at_ends(m, op, values.shape, out) else None
    return None


def _at_ends(m: Mapper, op: Op, shape: tuple[int, ...], out: tuple[int | None, ...]) -> bool:
    """A Pad with zeros only after each axis (constant mode), or a Slice keeping each axis's first elements."""
    if op.op == "Slice":
        starts = m.g.const(op.inputs[1]) if len(op.inputs) > 1 else None
        steps = m.g.const(op.inputs[4]) if len(op.inputs) > 4 and op.inputs[4] else None
        return starts is not None and starts.values is not None and not any(starts.values) \
            and (steps is None or set(steps.values or [0]) == {1})
    pads = m.g.const(op.inputs[1]) if len(op.inputs) > 1 else None
    value = m.g.const(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] else None
    if op.attrs.get("mode", "constant") != "constant" or pads is None or pads.values is None \
            or (value is not None and value.values not in (None, (0,), (0.0,))) or len(op.inputs) > 3:
        return False
    return not any(pads.values[:len(shape)]) and all(o is not None and o >= s for s, o in zip(shape, out, strict=True))


def _resized(values: _Values, out: tuple[int | None, ...]) -> _Values:
    """``values`` cut (or padded with −1) to ``out``, keeping each axis's first elements."""
    shape = values.shape
    strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
    offsets: list[int | None] = [0]
    for axis, size in enumerate(out):
        offsets = [None if o is None or k >= shape[axis] else o + k * strides[axis] for o in offsets
                   for k in range(size or 0)]
    flat = tuple(_PAD if o is None else values.flat[o] for o in offsets)
    return _Values(flat, tuple(s or 0 for s in out))


def partitioned_map(m: Mapper, x: str) -> tuple[list[Op], str, tuple[int, int, int, int]] | None:
    """(the partition's operators, the map, (C, H, W, w)) when the P×C×w×w tensor ``x`` is the windows of a
    1×C×H×W map; else None."""
    producer = {t: op for op in m.g.ops for t in op.outputs if t}
    chain: list[Op] = []
    op = producer.get(x)
    while op is not None and (op.op in _MOVES or op.op == "Pad") and len(chain) < _MAX_CHAIN:
        chain.insert(0, op)
        op = producer.get(op.inputs[0])
    _, c, ws, _ = m.dims(x)
    for start in range(len(chain)):  # the longest chain from a 1×C×H×W map whose moves give the windows
        dims = m.dims(chain[start].inputs[0])
        if len(dims) != 4 or dims[0] != 1 or dims[1] != c or None in dims:
            continue
        values: _Values | None = _arange(*dims)  # type: ignore[arg-type]
        for step in chain[start:]:
            values = _step(m, step, values) if values is not None else None
        if values is not None and values.flat == _windows(c, dims[2], dims[3], ws).flat:  # type: ignore[arg-type]
            return chain[start:], chain[start].inputs[0], (c, dims[2], dims[3], ws)  # type: ignore[return-value]
    return None


def merged_windows(m: Mapper, tail: str, size: tuple[int, int, int, int]) -> tuple[list[Op], str] | None:
    """(the merge's operators, the map) when the moves after ``tail`` put its windows back into the C×H×W map
    (cropping any padding); else None."""
    c, h, w, ws = size
    inverse = {v: j for j, v in enumerate(_windows(c, h, w, ws).flat) if v != _PAD}
    target = tuple(inverse[i] for i in range(c * h * w))
    values: _Values | None = _arange(*m.dims(tail))  # type: ignore[arg-type]
    chain: list[Op] = []
    op = m.sole_user(tail)
    while op is not None and values is not None and len(chain) < _MAX_CHAIN and op.inputs[0] == (
            chain[-1].outputs[0] if chain else tail):
        values = _step(m, op, values)
        chain.append(op)
        if values is not None and values.shape == (1, c, h, w) and values.flat == target:
            return chain, op.outputs[0]
        op = m.sole_user(op.outputs[0])
    return None
