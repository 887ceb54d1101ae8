"""LeViT's attention (timm/models/levit.py ``Attention``, ``AttentionDownsample``) and its ``LinearNorm``: a token
linear layer followed by BatchNorm1d over the flattened tokens, which the TorchScript exporter writes as
MatMul → Flatten (B·N × C) → BatchNormalization → Reshape (back to B×N×C).

``token_bn`` finds that Flatten → BN → Reshape after a token-wise MatMul (a `linear` with ``bn``) or alone (a `bn`
on the sequence). ``match_levit`` maps the attention blocks ``attention.py``'s matcher leaves out: q, k, v
projections each followed by a BatchNorm (one projection for all three, or q and kv apart), queries taken from a
strided subsample of the token grid (Reshape to B×R×R×C, a Slice of step s on each axis, Reshape to B×N_q×C:
``q_stride``), an activation on the merged heads before the output projection (``proj_act``), an output projection
to another width (``out``) without bias and with its BatchNorm. What it finds is one `attention` layer; a block it
recognises as LeViT's but cannot express is a located error saying why.
"""

from __future__ import annotations

import math
from typing import Any

from . import attention as core
from .model import Op
from .patterns import Mapper, closed_block, sequence


def token_bn(m: Mapper, tensor: str) -> tuple[tuple[Op, ...], str] | None:
    """(Flatten or Reshape, BatchNormalization, Reshape) reading the B×N×C ``tensor`` alone as B·N×C, normalising
    its C channels and reshaping it back; the tensor they end at. None where there is no such chain."""
    dims, flat = m.dims(tensor), m.sole_user(tensor)
    seq = sequence(dims)
    if seq is None or flat is None or flat.op not in ("Flatten", "Reshape") or flat.inputs[0] != tensor \
            or m.dims(flat.outputs[0])[-1:] != (seq[1],) or len(m.dims(flat.outputs[0])) != 2:
        return None
    norm = m.sole_user(flat.outputs[0], "BatchNormalization")
    back = m.sole_user(norm.outputs[0], "Reshape") if norm is not None and norm.inputs[0] == flat.outputs[0] \
        else None
    if norm is None or back is None or m.dims(back.outputs[0]) != dims:
        return None
    return (flat, norm, back), back.outputs[0]


def _through_bn(m: Mapper, end: Op | None, producer: dict[str, Op]) -> tuple[Op | None, tuple[Op, ...]]:
    """Where a path back from a product ends at the BatchNormalization of a LinearNorm: the operator before its
    Flatten (the projection's MatMul or bias Add) and the (Flatten, BN); else (``end``, ())."""
    if end is None or end.op != "BatchNormalization":
        return end, ()
    flat = producer.get(end.inputs[0])
    before = producer.get(flat.inputs[0]) if flat is not None and flat.op in ("Flatten", "Reshape") else None
    if flat is None or before is None or token_bn(m, before.outputs[0]) is None:
        return None, ()
    return before, (flat, end)


def strided_queries(m: Mapper, tensor: str, x: str, producer: dict[str, Op]) -> tuple[int, list[Op]] | str:
    """``tensor`` = x.view(B, R, R, C)[:, ::s, ::s].reshape(B, N_q, C) (timm levit's Subsample): (s, its
    operators), else why not."""
    ops: list[Op] = []
    op = producer.get(tensor)
    if op is None or op.op != "Reshape":
        return "queries from another sequence than keys and values, not a strided subsample of its grid"
    ops.append(op)
    steps: dict[int, int] = {}
    op = producer.get(op.inputs[0])
    while op is not None and op.op in ("Slice", "Identity") and len(ops) < 5:  # dynamo's clone: Identity
        found = _slice_steps(m, op) if op.op == "Slice" else {}
        if found is None:
            return f"queries sliced by {op.name!r} otherwise than from the first token every s-th one"
        steps.update(found)
        ops.append(op)
        op = producer.get(op.inputs[0])
    n, c = sequence(m.dims(x)) or (0, 0)
    side = math.isqrt(n)
    if op is None or op.op != "Reshape" or op.inputs[0] != x or m.dims(op.outputs[0])[1:] != (side, side, c) \
            or set(steps) != {1, 2} or len(set(steps.values())) != 1:
        return "queries are not the tokens of every s-th row and column of the keys' square grid"
    return steps[1], [*ops, op]


def _slice_steps(m: Mapper, op: Op) -> dict[int, int] | None:
    """{axis: step} of a Slice from index 0 to the end of each axis it slices; None otherwise."""
    values = [m.g.const(t).values if t and m.g.const(t) is not None else None for t in op.inputs[1:5]]
    if len(values) < 4 or any(v is None for v in values):
        return None
    starts, ends, axes, steps = values
    size = m.dims(op.inputs[0])
    rank = len(size)
    out: dict[int, int] = {}
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):  # type: ignore[arg-type]
        length = size[axis % rank]
        if start != 0 or step < 1 or length is None or end < length:
            return None
        out[axis % rank] = step
    return out


def levit_output(m: Mapper, tensor: str, n: int, inner: int) -> tuple[list[Op], str, int, dict[str, Any]] | str:
    """From A·V through the transposes and reshapes to N_q × h·d_v, an activation (``proj_act``), the output
    projection by a stored weight, its bias if any and its BatchNorm if any: (operators, end, C_o, keys)."""
    walked, user, tensor = m.walk_forward(tensor, ("Transpose", "Reshape", "Identity"), 16)
    if sequence(m.dims(tensor)) != (n, inner):
        return f"the heads are not merged back to {n}×{inner}"
    act = m.match_act(tensor)
    if act is not None:
        walked += act[2]
        tensor = act[1]
        user = m.sole_user(tensor)
    weight = m.g.const(user.inputs[1]) if user is not None and user.op == "MatMul" else None
    if user is None or weight is None or len(weight.dims) != 2 or weight.dims[0] != inner:
        return f"the merged heads ({n}×{inner}) are not read by one projection by a stored weight"
    plus = m.sole_user(user.outputs[0], "Add")
    bias = m.g.const(next((t for t in plus.inputs if t != user.outputs[0]), "")) if plus is not None else None
    end = plus.outputs[0] if bias is not None and bias.dims == weight.dims[1:] else user.outputs[0]
    ops = [*walked, user, *([plus] if end != user.outputs[0] else [])]  # type: ignore[list-item]
    norm = token_bn(m, end)
    keys = {"proj_act": act[0] if act else "none", "out_bias": end != user.outputs[0], "bn": norm is not None}
    return [*ops, *(norm[0] if norm else ())], norm[1] if norm else end, weight.dims[1], keys


def match_levit(m: Mapper, softmax: Op, producer: dict[str, Op]) -> core._Block | None:
    """The LeViT block around ``softmax`` (see the module's doc); None where it has none of LeViT's traits (BN
    after the projections, strided queries), so ``attention.py``'s own reason stands."""
    dims = m.dims(softmax.inputs[0])
    after, av = _kept_shape(m, softmax.outputs[0])
    if len(dims) != 4 or None in dims[1:] or av is None:
        return None
    heads, nq, n = dims[1:]  # type: ignore[misc]
    table = core._bias_table(m, softmax.inputs[0], producer, heads, n)  # type: ignore[arg-type]
    scores = next(t for t in table[0].inputs if t != table[1]) if table else softmax.inputs[0]
    while (back := producer.get(scores)) is not None and back.op == "Reshape" and m.dims(back.inputs[0]) == dims:
        after.append(back)
        scores = back.inputs[0]
    scaled, qk = core._back(m, scores, producer, frozenset({"Mul", "Div"}))
    if qk is None or qk.op != "MatMul" or len(m.g.dynamic_inputs(qk)) != 2 or len(m.g.dynamic_inputs(av)) != 2:
        return None
    paths = [core._back(m, t, producer, core._VIEWS) for t in (*qk.inputs[:2], av.inputs[1])]
    normed = [_through_bn(m, end, producer) for _, end in paths]
    ops = [softmax, qk, av, *after, *scaled, *(o for walked, _ in paths for o in walked), *table[:1],
           *(o for _, norm in normed for o in norm)]
    projections = [core._projection(m, end, producer) for end, _ in normed]
    if any(p is None for p in projections):
        return None
    ops += [o for p in projections for o in p if o is not None]  # type: ignore[union-attr]
    widths = (m.dims(qk.inputs[0])[-1] or _split_width(m, paths[0][0]),
              m.dims(av.outputs[0])[-1] or _split_width(m, paths[2][0]))
    if None in widths:
        return core._Block(ops, reason="the heads' widths are unknown (no shape inferred for q or v)")
    found = _layout(m, projections, [bool(norm) for _, norm in normed], heads, widths, producer)  # type: ignore
    if found is None:
        return None
    if isinstance(found, str):
        return core._Block(ops, reason=found)
    keys, x, more = found
    inner = heads * widths[1]  # type: ignore[operator]
    return _finish(m, ops + more, keys, x, (n, nq, inner), av.outputs[0], table)  # type: ignore[arg-type]


def _kept_shape(m: Mapper, tensor: str) -> tuple[list[Op], Op | None]:
    """From the attention weights through Reshapes that keep their shape (mobcost's own build stacks query heads
    so) to the MatMul by V: (the Reshapes, the MatMul or None)."""
    walked: list[Op] = []
    user = m.sole_user(tensor)
    while user is not None and user.op == "Reshape" and m.dims(user.outputs[0]) == m.dims(tensor):
        walked.append(user)
        tensor = user.outputs[0]
        user = m.sole_user(tensor)
    return walked, user if user is not None and user.op == "MatMul" and user.inputs[0] == tensor else None


def _split_width(m: Mapper, walked: list[Op]) -> int | None:
    """The width of the part a path takes of a split by SequenceAt, where shape inference left it unknown (the
    dynamo exporter's ``split``: SplitToSequence by stored sizes, SequenceAt by a constant index)."""
    for op in walked:
        split = next((s for s in walked if op.op == "SequenceAt" and s.outputs[0] == op.inputs[0]), None)
        sizes = m.g.const(split.inputs[1]) if split is not None and len(split.inputs) > 1 else None
        index = m.g.const(op.inputs[1]) if split is not None and len(op.inputs) > 1 else None
        if sizes is not None and sizes.values and index is not None and isinstance(index.scalar, int) \
                and 0 <= index.scalar < len(sizes.values):  # a single size (chunk) is not a width table
            return sizes.values[index.scalar]
    return None


def _layout(m: Mapper, projections: list[tuple[Op, Op | None]], normed: list[bool], heads: int,
            widths: tuple[Any, Any], producer: dict[str, Op]) -> tuple[dict[str, Any], str, list[Op]] | str | None:
    """The keys q, k and v's projections say (heads, widths, bias, bn, q_stride), the sequence they read and the
    subsample's operators; None where the block is not LeViT's (no BN, one sequence read), else why not."""
    d, dv = widths
    mms = [mm for mm, _ in projections]
    q, kv = mms[0], mms[1]
    same = [mm.name for mm in mms]
    x = kv.inputs[0]
    strided = None if q.inputs[0] == x else strided_queries(m, q.inputs[0], x, producer)
    if not any(normed) and strided is None:
        return None
    if isinstance(strided, str):
        return strided
    if len(set(normed)) != 1:
        return "a BatchNorm after some of the q, k, v projections only (the layer's `bn` is after each)"
    layout = [heads * (2 * d + dv)] if len(set(same)) == 1 else [heads * d, heads * (d + dv)] \
        if same[1] == same[2] != same[0] else [heads * d, heads * d, heads * dv]
    outs = [m.g.const(mm.inputs[1]).dims[1] for mm in {mm.name: mm for mm in mms}.values()]  # type: ignore[union-attr]
    if outs != layout or mms[2].inputs[0] != x or len({bias is None for _, bias in projections}) != 1:
        return (f"projections of widths {outs}: not {heads} heads of q, k {d} and v {dv} wide from one sequence "
                "(one projection, q and kv, or q, k and v), biases alike")
    c = m.g.const(kv.inputs[1]).dims[0]  # type: ignore[union-attr]
    keys: dict[str, Any] = {"heads": heads, "bias": projections[0][1] is not None}
    keys.update({"bn": True} if normed[0] else {})
    keys.update({"head_dim": d} if c % heads or c // heads != d else {})
    keys.update({"value_dim": dv} if dv != d else {})
    keys.update({"q_stride": strided[0]} if strided else {})
    return keys, x, (strided[1] if strided else [])


def _finish(m: Mapper, ops: list[Op], keys: dict[str, Any], x: str, sizes: tuple[int, int, int], av: str,
            table: tuple[Op, str] | tuple[()]) -> core._Block:
    """The output projection, the bias table and the checks that the layer's shapes are the file's. ``sizes``:
    the keys N, the queries N_q and the merged heads' width h·d_v."""
    n, nq, inner = sizes
    seq = sequence(m.dims(x))
    s = keys.get("q_stride")
    if seq is None or seq[0] != n or nq != (n if s is None else (-(-math.isqrt(n) // s)) ** 2):
        return core._Block(ops, reason=f"{nq} queries and {n} keys from the sequence {m.dims(x)}")
    output = levit_output(m, av, nq, inner)
    if isinstance(output, str):
        return core._Block(ops, reason=output)
    more, tail, out, extra = output
    if extra.pop("bn") != keys.get("bn", False):
        return core._Block(ops, reason="a BatchNorm after the q, k, v projections but not the output one, or the "
                                       "other way round (the layer's `bn` is after each)")
    keys.update({k: v for k, v in extra.items() if v != {"proj_act": "none", "out_bias": True}[k]})
    keys.update({"out": out} if out != seq[1] else {})
    if table:
        keys["relative_table" if m.g.const(table[1]).table != (keys["heads"], n) else "bias_table"] = True  # type: ignore
    ops = list({o.name: o for o in (*ops, *more)}.values())
    reason = closed_block(m, ops, tail)
    return core._Block(ops, reason=reason) if reason else core._Block(ops, keys, x, tail)
