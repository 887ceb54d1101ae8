"""Self-attention whose q, k and v are the channel parts of one 1×1 conv (+ BatchNorm) of a map, with no output
projection of its own (SHViT's single-head attention, timm ``SHSA``), mapped to one `conv_attention` layer.

The exporter writes it as: ``Conv`` 1×1 → [``BatchNormalization``] → ``Split`` into q, k, v along the channels →
each part reshaped to heads channels-first (B×C×H×W → B×(h)×d×N) → q transposed (its N×d, or k transposed, or
either scaled by a scalar) → the scores ``MatMul`` Qᵀ·K (or Q·Kᵀ) → [``Mul``/``Div`` by the scale] → ``Softmax``
→ A·V, written V·Aᵀ (``Transpose`` of the scores, the values d_v×N first) or A·Vᵀ → reshapes and transposes back to
the h·d_v×H×W map. The anchor is a Softmax between two products of activations whose three operands trace back
(through moves only) to the three outputs of one Split of such a conv; heads h, head width d and value width d_v
are read from the Split's parts and the products' sizes, so the layer's closed form (N·C·h(2d + d_v) +
N²·h(d + d_v)) is the file's arithmetic. What the block does after (SHViT's concat with the untouched channels,
ReLU and conv + BN projection) are ordinary layers. Once the operands are known to be one conv's split, a block
the layer cannot express (products of other sizes, a part read outside the block, no map at its end) is a located
error at its first operator, never a zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .attention import _back
from .layout import _channel_start
from .model import Op
from .mqa import _pointwise
from .patterns import Mapper, closed_block, plan_blocks

_MOVES = frozenset({"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Mul", "Div"})
_MAX_WALK = 8
_LAYER = "conv_attention (q, k, v one 1×1 conv + BN split by channels, softmax(Qᵀ·K/√d), V·Aᵀ back to the map)"

Found = tuple[list[Op], dict[str, Any], str, str]  # its operators, the layer's keys, the map it reads, its end


def plan(m: Mapper) -> dict[str, Callable[[], None]]:
    """For every such block: its first operator in file order → the call that emits the layer (or, for one the
    layer cannot express, the located error) when the walk reaches it."""
    return plan_blocks(m, "Softmax", _match, lambda found: found[0], _emitter)


def _emitter(m: Mapper, softmax: Op, first: Op, found: tuple[list[Op], str | Found]) -> Callable[[], None]:
    def emit() -> None:
        ops, result = found
        if isinstance(result, str):
            m.leave_out(first, f"attention on a map around Softmax {softmax.name!r}: {result}; nearest: {_LAYER}")
            return
        _, keys, x, tail = result
        m.emit(softmax, "conv_attention", keys, (x,), tail, tuple(o for o in ops if o is not softmax),
               part="attention")
    return emit


def _products(m: Mapper, softmax: Op, producer: dict[str, Op]) -> tuple[list[Op], Op, Op, str] | None:
    """(the scale and transpose between, the scores MatMul, the A·V MatMul, its value operand) around
    ``softmax``: the scores (after a scalar scale) make it and a MatMul reads it (after a transpose of its last two
    axes) with one other activation; None otherwise."""
    dims = m.dims(softmax.inputs[0])
    if len(dims) < 3 or softmax.attrs.get("axis", -1) % len(dims) != len(dims) - 1:
        return None
    scaled, qk = _back(m, softmax.inputs[0], producer, frozenset({"Mul", "Div"}))
    between: list[Op] = list(scaled)
    scores, user = softmax.outputs[0], m.sole_user(softmax.outputs[0])
    if user is not None and user.op == "Transpose" and _swaps_last(user, len(dims)):
        between.append(user)
        scores, user = user.outputs[0], m.sole_user(user.outputs[0])
    if qk is None or qk.op != "MatMul" or user is None or user.op != "MatMul" or scores not in user.inputs[:2] \
            or len(m.g.dynamic_inputs(qk)) != 2 or len(m.g.dynamic_inputs(user)) != 2:
        return None
    value = next(t for t in user.inputs[:2] if t != scores)
    return between, qk, user, value


def _swaps_last(op: Op, rank: int) -> bool:
    perm = list(op.attrs.get("perm", []))
    return len(perm) == rank and perm[:-2] == list(range(rank - 2)) and perm[-2:] == [rank - 1, rank - 2]


def _match(m: Mapper, softmax: Op, producer: dict[str, Op]) -> tuple[list[Op], str | Found] | None:
    """The block around ``softmax`` (its operators and the layer, or why the layer cannot express it) if its
    operands are channel parts of one conv's output; None if they are not (another form of attention, or none)."""
    found = _products(m, softmax, producer)
    if found is None:
        return None
    between, qk, av, value = found
    operands = (qk.inputs[0], qk.inputs[1], value)
    paths = [_back(m, t, producer, _MOVES) for t in operands]
    starts = [m.g.dynamic_inputs(walked[-1])[0] if walked else t for (walked, _), t in zip(paths, operands,
                                                                                           strict=True)]
    parts = _parts(m, [end for _, end in paths], starts, producer)
    conv, bn = _source(m, parts[0], producer) if parts is not None else (None, [])
    if parts is None or conv is None:
        return None
    _, ranges, cut = parts
    ops = [softmax, qk, av, *between, *(o for walked, _ in paths for o in walked), *cut, conv, *bn]
    result = _layer(m, conv, ranges, qk, av)
    if isinstance(result, str):
        return ops, result
    keys, x, forward, tail = result
    ops = list({o.name: o for o in (*ops, *forward)}.values())
    reason = closed_block(m, ops, tail)
    return ops, (reason or (ops, {**keys, "bn": bool(bn)}, x, tail))


Cut = tuple[str, list[tuple[int, int]], list[Op]]  # the tensor cut, q's, k's and v's channels [lo, hi), the cuts


def _parts(m: Mapper, ends: list[Op | None], starts: list[str], producer: dict[str, Op]) -> Cut | None:
    """(the tensor cut, the channel range [lo, hi) of q, k and v, the operators cutting it) when the three
    operands are the three outputs of one Split (TorchScript), three items of one SplitToSequence (dynamo), or
    three channel Slices of one tensor; None otherwise."""
    first = ends[0]
    if first is None or len(set(starts)) != 3 or any(end is None for end in ends):
        return None
    if first.op == "SequenceAt":
        return _sequence_parts(m, ends, producer.get(first.inputs[0]))  # type: ignore[arg-type]
    if first.op == "Split" and all(end is first for end in ends) and len(first.outputs) == 3:
        widths = [m.dims(t)[1] if len(m.dims(t)) == 4 else None for t in first.outputs]
        if None in widths:
            return None
        bounds = [sum(widths[:i]) for i in range(4)]  # type: ignore[arg-type]
        spans = [(bounds[i], bounds[i + 1]) for i in (first.outputs.index(t) for t in starts)]
        return first.inputs[0], spans, [first]
    cut = [end for end in ends if end is not None and end.op == "Slice"]
    if len(cut) != 3 or len({s.inputs[0] for s in cut}) != 1:
        return None
    spans = []
    for op in cut:
        lo, dims = _channel_start(m, op), m.dims(op.outputs[0])
        if lo is None or len(dims) != 4 or dims[1] is None or dims[2:] != m.dims(op.inputs[0])[2:]:
            return None
        spans.append((lo, lo + dims[1]))
    return cut[0].inputs[0], spans, cut


def _sequence_parts(m: Mapper, ends: list[Op], split: Op | None) -> Cut | None:
    """The parts of a SplitToSequence along the channels by constant sizes, taken by SequenceAt at constant
    positions (the dynamo exporter's ``torch.split``)."""
    sizes = m.g.const(split.inputs[1]) if split is not None and len(split.inputs) > 1 else None
    at = [m.g.const(end.inputs[1]) for end in ends]
    if split is None or split.op != "SplitToSequence" or split.attrs.get("axis", 0) != 1 or sizes is None \
            or sizes.values is None or any(a is None or a.scalar is None for a in at) \
            or any(end.inputs[0] != split.outputs[0] for end in ends) \
            or any(not 0 <= int(a.scalar) < len(sizes.values) for a in at):  # type: ignore[union-attr]
        return None
    bounds = [sum(sizes.values[:i]) for i in range(len(sizes.values) + 1)]
    spans = [(bounds[int(a.scalar)], bounds[int(a.scalar) + 1]) for a in at]  # type: ignore[union-attr]
    return split.inputs[0], spans, [split, *ends]


def _source(m: Mapper, cut: str, producer: dict[str, Op]) -> tuple[Op | None, list[Op]]:
    """(the 1×1 conv, [its BatchNorm] or []) the cut tensor comes from; (None, []) otherwise."""
    op = producer.get(cut)
    bn = [op] if op is not None and op.op == "BatchNormalization" and m.g.readers(op.inputs[0]) == 1 else []
    conv = producer.get(op.inputs[0]) if bn else op  # type: ignore[union-attr]
    return (conv, bn) if _pointwise(m, conv) is not None else (None, [])


def _layer(m: Mapper, conv: Op, spans: list[tuple[int, int]], qk: Op, av: Op
           ) -> tuple[dict[str, Any], str, list[Op], str] | str:
    """(the layer's keys, the map it reads, the moves after A·V, the tensor it ends at), or why not."""
    out, c, bias = _pointwise(m, conv)  # type: ignore[misc]
    x = conv.inputs[0]
    dims = m.dims(x)
    widths = [hi - lo for lo, hi in spans]
    if len(dims) != 4 or None in dims[1:] or not _covers(spans, out) or widths[0] != widths[1]:
        return (f"q, k, v read channels {spans} of the conv's {out}: not three parts covering them, q and k of "
                "equal widths")
    n = dims[2] * dims[3]  # type: ignore[operator]
    scores, done = math.prod(d or 1 for d in m.dims(qk.outputs[0])), math.prod(d or 1 for d in m.dims(av.outputs[0]))
    heads = scores // (n * n)
    if heads < 1 or scores != heads * n * n or widths[0] % heads or widths[2] % heads or done != n * widths[2] \
            or m.dims(qk.inputs[0])[-1:] != (widths[0] // heads,) or m.dims(av.inputs[0])[-1:] != (n,):
        return f"products of {list(m.dims(qk.outputs[0]))} and {list(m.dims(av.outputs[0]))}: not heads of {n} " \
               f"queries by {n} keys, {widths[0]} wide, of values {widths[2]} wide"
    forward, tail = _to_map(m, av.outputs[0], (widths[2], dims[2], dims[3]))  # type: ignore[arg-type]
    if tail is None:
        return f"V·Aᵀ is not moved back to the {widths[2]}×{dims[2]}×{dims[3]} map"
    keys: dict[str, Any] = {"head_dim": widths[0] // heads, "bias": bias}
    if heads != 1:
        keys["heads"] = heads
    if c % heads or widths[2] // heads != c // heads:  # type: ignore[operator]
        keys["value_dim"] = widths[2] // heads
    return keys, x, forward, tail


def _covers(spans: list[tuple[int, int]], channels: int) -> bool:
    """The ranges, in some order, tile [0, channels) without gap or overlap."""
    edge = 0
    for lo, hi in sorted(spans):
        if lo != edge:
            return False
        edge = hi
    return edge == channels


def _to_map(m: Mapper, tensor: str, chw: tuple[int, int, int]) -> tuple[list[Op], str | None]:
    """The moves (Transpose, Reshape) from A·V forward to the C×H×W map ``chw`` and that map's tensor."""
    walked: list[Op] = []
    while tuple(m.dims(tensor)[1:]) != chw or len(m.dims(tensor)) != 4:
        user = m.sole_user(tensor)
        if user is None or user.op not in ("Transpose", "Reshape", "Identity") or len(walked) >= _MAX_WALK:
            return walked, None
        walked.append(user)
        tensor = user.outputs[0]
    return walked, tensor
