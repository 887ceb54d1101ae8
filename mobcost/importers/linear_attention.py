"""EfficientViT's ReLU linear attention (timm ``efficientvit_mit.LiteMLA``), found in the graph before the walk and
mapped to one `linear_attention` layer.

Exporters write it as: the qkv map viewed as heads (Reshape to B×h×3d×N, Transpose), q, k and v taken apart
(Slice, Split or Gather), the kernel φ on q and on k (Relu), k transposed, v padded with a column of ones (Pad,
value 1), the products kv = φ(K)ᵀ·[V 1] and out = φ(Q)·kv (two MatMuls of activations), the normaliser out[..., d]
(Slice) + ε (Add of a scalar), the division of out[..., :d] by it (Div), and the heads back to a map (Transpose,
Reshape). The anchor is that Div; from it the match walks back through the products to the map q, k and v come
from, and forward to the map the heads become. How q, k, v and the output are arranged is not matched operator by
operator: their index movement is replayed on element numbers (as MobileViT's unfold, ``patches.py``) and compared
with the layer's — head i's q, k, v the channels [3di, 3di + d), [3di + d, 3di + 2d), [3di + 2d, 3di + 3d) of the
map, its output the channels [di, di + d) — so only a block that computes exactly what the layer does maps. A block
past the anchor that does not (another layout, padding or kernel) is a located error at its first operator saying
why; with ``allow_unknown``, that operator is left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import Op
from .patches import _arange, _Values
from .patterns import Mapper, closed_block, plan_blocks, walk_back

# operators that only move or select values, or apply φ elementwise, between the qkv map and the products
_VIEWS = frozenset({"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Flatten", "Cast", "Slice",
                    "Split", "Gather", "SplitToSequence", "SequenceAt"})
_PASS = frozenset({"Cast", "Identity"})  # no move: timm's ``.float()`` and ``.to(dtype)``, exporters' copies
_MOVES = frozenset({"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", *_PASS})
_MAX_WALK = 12  # timm writes 4 operators between the map and a product


@dataclass(frozen=True)
class _Block:
    """A block found (``keys`` set) or one the layer cannot express (``reason`` set)."""

    ops: list[Op]
    keys: dict[str, Any] | None = None
    x: str = ""
    tail: str = ""
    reason: str = ""


def plan(m: Mapper) -> dict[str, Callable[[], None]]:
    """For every linear-attention block: its first operator in file order → the call that emits the layer (or the
    located error saying why the layer cannot express it)."""
    return plan_blocks(m, "Div", _match, lambda b: b.ops, _emitter)


def _emitter(m: Mapper, div: Op, first: Op, block: _Block) -> Callable[[], None]:
    def emit() -> None:
        if block.keys is None:
            m.leave_out(first, f"linear attention around Div {div.name!r}: {block.reason}; nearest: linear_attention "
                               "(per head q, k, v the next 3·head_dim channels of a map, φ(Q)·(φ(K)ᵀ·[V 1]) "
                               "divided by its last column + ε)")
        else:
            m.emit(div, "linear_attention", block.keys, (block.x,), block.tail,
                   tuple(o for o in block.ops if o is not div), part="attention")
    return emit


def _match(m: Mapper, div: Op, producer: dict[str, Op]) -> _Block | None:
    """The block around ``div`` if it divides a slice of φ(Q)·(φ(K)ᵀ·V′) by another slice of it (+ ε)."""
    anchor = _anchor(m, div, producer)
    if anchor is None:
        return None
    ops, out_mm, kv_mm, num, den = anchor
    dims = m.dims(out_mm.outputs[0])
    if len(dims) < 3 or None in dims:
        return _Block(ops, reason=f"its product has dims {list(dims)}, not heads × N × (d + 1)")
    n, d = dims[-2], dims[-1] - 1  # type: ignore[operator]
    heads = math.prod(dims[:-2])  # type: ignore[arg-type]
    walked, pad, paths, x = _walk(m, out_mm, kv_mm, producer, 3 * heads * d, n)  # type: ignore[operator]
    ops += walked  # a block the layer cannot express is reported at its first operator, the map's first view
    reason = _normaliser(m, num, den, dims) or _products(m, out_mm, kv_mm, heads, n, d)  # type: ignore[arg-type]
    reason = reason or _ones_column(m, pad) or _sources(m, paths, x, (heads, n, d))  # type: ignore[arg-type]
    if reason:
        return _Block(ops, reason=reason)
    hw = m.dims(x)[2:]
    out = _output(m, div, (heads, n, d), hw)  # type: ignore[arg-type]
    if out is None:
        return _Block(ops, reason=f"the heads are not merged back into a {heads * d}×{hw[0]}×{hw[1]} map, head by "
                                  "head, each head's d channels together")
    ops = list({o.name: o for o in (*ops, *out)}.values())
    reason = closed_block(m, ops, out[-1].outputs[0])
    act = next((a for op, _, _ in paths[0] if (a := m.unary_act(op)) is not None), "none")
    keys: dict[str, Any] = {"head_dim": d, **({} if act == "relu" else {"act": act})}
    return _Block(ops, reason=reason) if reason else _Block(ops, keys, x, out[-1].outputs[0])


def _anchor(m: Mapper, div: Op, producer: dict[str, Op]) -> tuple[list[Op], Op, Op, Op, Op] | None:
    """(the anchor's operators, out = q·kv, kv = kᵀ·v′, the numerator Slice, the normaliser Slice) when ``div``
    divides a Slice of a MatMul of activations by [a Slice of the same + a scalar]; None otherwise."""
    if len(div.inputs) != 2 or len(m.g.dynamic_inputs(div)) != 2:
        return None
    num, plus = (producer.get(t) for t in div.inputs)
    ops = [div]
    if plus is not None and plus.op == "Add" and len(m.g.dynamic_inputs(plus)) == 1 \
            and any(m.scalar(t) for t in plus.inputs if t):
        ops.append(plus)
        plus = producer.get(m.g.dynamic_inputs(plus)[0])
    if num is None or plus is None or num.op != "Slice" or plus.op != "Slice" or num.inputs[0] != plus.inputs[0]:
        return None
    out_mm = producer.get(num.inputs[0])
    kv_mm = producer.get(out_mm.inputs[1]) if out_mm is not None and out_mm.op == "MatMul" else None
    if kv_mm is None or kv_mm.op != "MatMul" or len(m.g.dynamic_inputs(out_mm)) != 2 \
            or len(m.g.dynamic_inputs(kv_mm)) != 2:
        return None
    return [*ops, num, plus, out_mm, kv_mm], out_mm, kv_mm, num, plus


def _normaliser(m: Mapper, num: Op, den: Op, dims: tuple[int, ...]) -> str:
    """Why the two Slices are not out[..., :d] and out[..., d:] of the (…, N, d + 1) product; "" when they are."""
    whole = _arange(*dims)
    last = len(dims) - 1
    for op, columns in ((num, range(dims[-1] - 1)), (den, range(dims[-1] - 1, dims[-1]))):
        got = _slice(m, op, whole)
        if got is None or got.flat != _take(whole, last, columns).flat:
            return "it does not divide the first d columns of its product by the last (the ones' column)"
    return ""


def _products(m: Mapper, out_mm: Op, kv_mm: Op, heads: int, n: int, d: int) -> str:
    """Why the products are not kv = kᵀ (d×N) · v′ (N×(d + 1)) and out = q (N×d) · kv per head; "" if they are."""
    shapes = [m.dims(t) for t in (*kv_mm.inputs[:2], out_mm.inputs[0])]
    want = [(d, n), (n, d + 1), (n, d)]
    if any(len(s) < 2 or tuple(s[-2:]) != w or math.prod(x or 0 for x in s[:-2]) != heads
           for s, w in zip(shapes, want, strict=True)):
        return (f"products of {[list(s) for s in shapes]}: not {heads} heads of kᵀ ({d}×{n}) · [v 1] ({n}×{d + 1}) "
                f"and q ({n}×{d}) · kv")
    return ""


Step = tuple[Op, str, str]  # an operator of a path, the tensor it reads on it and the tensor it makes on it


def _walk(m: Mapper, out_mm: Op, kv_mm: Op, producer: dict[str, Op], channels: int, n: int
          ) -> tuple[list[Op], Op | None, list[list[Step]], str]:
    """From the products back to the map q, k and v are read from: (the operators walked, the Pad of v (or what
    stands there), the three paths from the map, first first, and the map — "" where the paths share none)."""
    casts, pad = walk_back(kv_mm.inputs[1], producer, _PASS, _MAX_WALK)  # timm's ``.float()``
    padded = pad is not None and pad.op == "Pad"
    v = pad.inputs[0] if padded else kv_mm.inputs[1]  # type: ignore[union-attr]
    backs = [_back(m, t, producer) for t in (out_mm.inputs[0], kv_mm.inputs[0], v)]
    x = _common_map(m, backs, channels, n)
    paths = [_from(back, x) if x else list(reversed(back)) for back in backs]
    walked = [*casts, *([pad] if padded else []), *(op for path in paths for op, _, _ in path)]
    return walked, pad, paths, x or ""  # type: ignore[return-value]


def _sources(m: Mapper, paths: list[list[Step]], x: str, size: tuple[int, int, int]) -> str:
    """Why q, k and v are not read from the 3·h·d × H × W map ``x`` as the layer reads them; "" when they are."""
    heads, n, d = size
    if not x:
        return f"q, k and v are not all read from one map of {3 * heads * d} channels and {n} pixels"
    acts = [[a for op, _, _ in path if (a := m.unary_act(op)) is not None] for path in paths]
    if acts[0] != acts[1] or len(acts[0]) > 1 or acts[2]:
        return f"the kernel φ is not one activation on q and on k alone (q {acts[0]}, k {acts[1]}, v {acts[2]})"
    for path, which, transposed in zip(paths, range(3), (False, True, False), strict=True):
        got = _replay_path(m, path, x)
        if got is None or got.flat != _expected(heads, n, d, which, transposed):
            return f"{'qkv'[which]} is not channels [{which * d}, {which * d + d}) of each head's {3 * d}" + \
                   (", transposed to d×N" if transposed else "")
    return ""


def _ones_column(m: Mapper, pad: Op | None) -> str:
    """Why ``pad`` is not v padded with one column of ones after its last axis; "" when it is."""
    if pad is None or pad.op != "Pad" or pad.attrs.get("mode", "constant") not in ("constant", b"constant"):
        return "the values are not padded by a constant Pad"
    rank = len(m.dims(pad.inputs[0]))
    pads = m.g.const(pad.inputs[1]) if len(pad.inputs) > 1 and pad.inputs[1] else None
    values = list(pads.values or ()) if pads is not None else list(pad.attrs.get("pads", []))
    value = m.g.const(pad.inputs[2]) if len(pad.inputs) > 2 and pad.inputs[2] else None
    fill = value.scalar if value is not None else pad.attrs.get("value", 0.0)
    axes = _ints(m, pad.inputs[3]) if len(pad.inputs) > 3 else None  # opset 18: pads of these axes only
    if axes is not None and len(values) == 2 * len(axes):
        full = [0] * (2 * rank)
        for i, axis in enumerate(axes):
            full[axis % rank], full[rank + axis % rank] = values[i], values[len(axes) + i]
        values = full
    if values != [0] * (2 * rank - 1) + [1] or fill != 1:
        return f"the values are padded by {values} with {fill}, not one column of ones after the last axis"
    return ""


def _back(m: Mapper, tensor: str, producer: dict[str, Op]) -> list[Step]:
    """Walk back from ``tensor`` through views and activations of one data input: (operator, the tensor it reads,
    the tensor it makes on this path), last first."""
    walked: list[Step] = []
    op = producer.get(tensor)
    while op is not None and (op.op in _VIEWS or m.unary_act(op)) and len(walked) < _MAX_WALK:
        data = m.g.dynamic_inputs(op)
        if len(data) != 1 or data[0] != op.inputs[0]:
            break
        walked.append((op, data[0], tensor))
        tensor = data[0]
        op = producer.get(tensor)
    return walked


def _common_map(m: Mapper, paths: list[list[Step]], channels: int, n: int) -> str | None:
    """The latest tensor the three paths all read that is a 1 × ``channels`` × H × W map of H·W = ``n``."""
    shared = {r for _, r, _ in paths[0]} & {r for _, r, _ in paths[1]} & {r for _, r, _ in paths[2]}
    for _, t, _ in paths[0]:
        dims = m.dims(t)
        if t in shared and len(dims) == 4 and dims[0] in (1, None) and dims[1] == channels \
                and None not in dims[2:] and dims[2] * dims[3] == n:  # type: ignore[operator]
            return t
    return None


def _from(path: list[Step], x: str) -> list[Step]:
    """The steps of a path after the map ``x``, first first."""
    start = next(i for i, (_, read, _) in enumerate(path) if read == x)
    return list(reversed(path[:start + 1]))


def _replay_path(m: Mapper, steps: list[Step], x: str) -> _Values | None:
    """The element numbers of the map ``x`` moved by ``steps``; None where one cannot be replayed."""
    values = _arange(*m.dims(x)[1:])  # type: ignore[arg-type]
    values = values.reshape((1, *values.shape))
    for i, (op, _, made) in enumerate(steps):
        if op.op == "SplitToSequence":  # the dynamo exporter's chunk: the part its SequenceAt takes
            index = _ints(m, steps[i + 1][0].inputs[1]) if i + 1 < len(steps) else None
            values = _split(m, op, values, index[0]) if index and len(index) == 1 else None  # type: ignore[arg-type]
        elif op.op != "SequenceAt":
            values = _step(m, op, values, made)  # type: ignore[assignment]
        if values is None:
            return None
    return values


def _step(m: Mapper, op: Op, values: _Values, made: str) -> _Values | None:
    """One operator of a path on element numbers (``made``: its output on the path): a move, a selection, or φ
    (which moves nothing)."""
    out = m.dims(made)
    if None in out:
        return None
    if op.op == "Transpose":
        perm = list(op.attrs.get("perm", reversed(range(values.ndim))))
        return values.transpose(perm) if sorted(perm) == list(range(values.ndim)) else None
    if op.op == "Slice":
        values = _slice(m, op, values)  # type: ignore[assignment]
    elif op.op == "Split":
        values = _split(m, op, values, op.outputs.index(made))  # type: ignore[assignment]
    elif op.op == "Gather":
        values = _gather(m, op, values)  # type: ignore[assignment]
    if values is None or math.prod(out) != values.size:  # type: ignore[arg-type]
        return None
    return values.reshape(out)  # type: ignore[arg-type]


def _take(values: _Values, axis: int, index: range | list[int]) -> _Values:
    """``values`` at positions ``index`` along ``axis``."""
    shape = values.shape
    inner, size = math.prod(shape[axis + 1:]), shape[axis]
    flat = tuple(values.flat[(o * size + i) * inner + r] for o in range(math.prod(shape[:axis])) for i in index
                 for r in range(inner))
    return _Values(flat, (*shape[:axis], len(index), *shape[axis + 1:]))


def _ints(m: Mapper, tensor: str) -> list[int] | None:
    const = m.g.const(tensor) if tensor else None
    return [int(v) for v in const.values] if const is not None and const.values is not None else None


def _slice(m: Mapper, op: Op, values: _Values) -> _Values | None:
    """ONNX Slice with constant starts, ends, axes and steps."""
    args = [_ints(m, t) for t in op.inputs[1:5]] + [None] * (5 - len(op.inputs))
    starts, ends, axes, steps = args[:4]
    if starts is None or ends is None or len(starts) != len(ends):
        return None
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        axis %= values.ndim
        values = _take(values, axis, range(*slice(start, end, step).indices(values.shape[axis])))
    return values


def _split(m: Mapper, op: Op, values: _Values, index: int) -> _Values | None:
    """The part of an ONNX Split (constant sizes, or equal parts) that is the path's tensor."""
    axis = op.attrs.get("axis", 0) % values.ndim
    sizes = _ints(m, op.inputs[1]) if len(op.inputs) > 1 else list(op.attrs.get("split", [])) or None
    count = len(op.outputs)
    if op.op == "SplitToSequence":  # one size: chunks of it (the last one shorter); none: chunks of 1
        if op.attrs.get("keepdims", 1) != 1 or sizes is None or len(sizes) != 1:
            return None
        whole, part = values.shape[axis], sizes[0]
        scalar = m.g.const(op.inputs[1]).dims == ()  # type: ignore[union-attr]
        sizes = [min(part, whole - k) for k in range(0, whole, part)] if scalar else sizes
    elif sizes is None:
        if values.shape[axis] % count:
            return None
        sizes = [values.shape[axis] // count] * count
    if index >= len(sizes):
        return None
    start = sum(sizes[:index])
    return _take(values, axis, range(start, start + sizes[index]))


def _gather(m: Mapper, op: Op, values: _Values) -> _Values | None:
    """ONNX Gather by constant indices along its axis."""
    index = _ints(m, op.inputs[1]) if len(op.inputs) > 1 else None
    if index is None:
        return None
    axis = op.attrs.get("axis", 0) % values.ndim
    return _take(values, axis, [i % values.shape[axis] for i in index])


def _expected(heads: int, n: int, d: int, which: int, transposed: bool) -> tuple[int, ...]:
    """The element numbers of q (which 0), k (1) or v (2) as the layer reads them from the 1×3hd×H×W map:
    per head N×d, d×N transposed."""
    def number(hh: int, t: int, j: int) -> int:
        return (hh * 3 * d + which * d + j) * n + t

    if transposed:
        return tuple(number(hh, t, j) for hh in range(heads) for j in range(d) for t in range(n))
    return tuple(number(hh, t, j) for hh in range(heads) for t in range(n) for j in range(d))


def _output(m: Mapper, div: Op, size: tuple[int, int, int], hw: tuple[int, ...]) -> list[Op] | None:
    """The Div and the moves after it that make its h×N×d heads the h·d × H × W map, channel hh·d + j ← head hh's
    column j; None when they do not."""
    heads, n, d = size
    want = tuple((hh * n + t) * d + j for hh in range(heads) for j in range(d) for t in range(n))
    values: _Values | None = _arange(*m.dims(div.outputs[0]))  # type: ignore[arg-type]
    chain = [div]
    op = m.sole_user(div.outputs[0])
    while op is not None and op.op in _MOVES and op.inputs[0] == chain[-1].outputs[0] and len(chain) <= _MAX_WALK:
        values = _step(m, op, values, op.outputs[0])  # type: ignore[arg-type]
        if values is None:
            return None
        chain.append(op)
        if values.shape == (1, heads * d, *hw) and values.flat == want:
            return chain
        op = m.sole_user(op.outputs[0])
    return None
