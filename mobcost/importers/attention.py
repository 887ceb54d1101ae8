"""Multi-head self-attention, found in the graph before the walk and mapped to one `attention` layer.

Exporters write timm's ``Attention`` as some twenty operators: the q, k, v projection (one MatMul by a stored C×3hd
weight, or three by C×hd, each + bias), reshapes and transposes to heads (with Split, Slice, Squeeze or Gather to
take q, k and v apart), the scale (Mul or Div by a scalar, on q, on k or on the scores), the scores MatMul Q·Kᵀ,
Softmax, the MatMul by V, the transpose and reshape back to N×hd and the output projection (a MatMul by a stored
hd×C weight + its bias). The anchor is a Softmax between two products of activations; from it the match walks back
to the projections and forward to the output projection. Heads h and head width d are read from the shapes of the
products, so the layer's closed form (4·N·C·hd + 2·N²·hd) is the file's arithmetic; values wider than queries and
keys (EfficientFormer's and LeViT's attention ratio) are its ``value_dim``, and a stored h×N table gathered by an
N×N index and added to the scores (timm's ``attention_biases``) its ``bias_table``; Swin's (2w − 1)²×h
relative-position table, gathered the same way, its ``relative_table``, and Swin's shifted-window mask (a stored
buffer of 0 and −100 added between two reshapes of the scores) is walked over (no params, no Mult-Adds). Products
whose q, k and v come from 1×1 convs of a map are MobileNetV4's multi-query attention (``mqa.py``). A match claims
its operators only if nothing outside reads what they compute in between. A block the layer cannot express (keys of
another length, another bias, an output projection without bias, q, k, v from unlike projections) is a located
error at its first operator saying why — with ``allow_unknown``, that operator is left out and what reads it after
it — never a zero; a product of two activations outside any such block is the MatMul handler's located error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import Op
from .mqa import match_map
from .patterns import Mapper, closed_block, sequence

# operators that only move or select the values of q, k and v (and the scale, a scalar Mul or Div)
_VIEWS = frozenset({"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Slice", "Split", "Gather",
                    "SplitToSequence", "SequenceAt", "Mul", "Div"})
# between the scores' product and the Softmax: the scale, litert-torch's reshape of B·h×N×N to B×h×N×N and a
# quantizer's copy
_SCORE_VIEWS = frozenset({"Mul", "Div", "Reshape", "Identity"})
_MAX_WALK = 16  # views between a projection and a product: timm writes 4; a longer chain is not attention


@dataclass(frozen=True)
class _Block:
    """A block found (``keys`` set: its layer) or one that the layer cannot express (``reason`` set)."""

    ops: list[Op]  # its operators; on a miss, those found before the reason
    keys: dict[str, Any] | None = None
    x: str = ""  # the sequence it reads
    tail: str = ""  # the tensor it ends at
    reason: str = ""


Matcher = Callable[[Mapper, Op, dict[str, Op]], "_Block | None"]


def plan(m: Mapper, *others: Matcher) -> dict[str, Callable[[], None]]:
    """For every attention block: the name of its first operator in file order → the call that emits the layer
    when the walk reaches it (so layers stay in the order their inputs are made) or, for a block the layer
    cannot express, the located error (with ``allow_unknown``, the note) saying why, at the same place.
    ``others``: matchers tried, in turn, around a Softmax this module's finds no layer around (LeViT's:
    attention_levit.py); a block one finds (a layer, or a more precise reason) replaces its."""
    producer = {t: op for op in m.g.ops for t in op.outputs if t}
    order = {op.name: i for i, op in enumerate(m.g.ops)}
    planned: dict[str, Callable[[], None]] = {}
    for op in m.g.ops:
        block = _match(m, op, producer) if op.op == "Softmax" else None
        for other in others if op.op == "Softmax" and (block is None or block.keys is None) else ():
            block = other(m, op, producer) or block
            if block is not None and block.keys is not None:
                break
        if block is not None:
            first = min(block.ops, key=lambda o: order[o.name])
            planned[first.name] = _emitter(m, op, first, block)
    return planned


def _emitter(m: Mapper, softmax: Op, first: Op, block: _Block) -> Callable[[], None]:
    def emit() -> None:
        if block.keys is None:
            m.leave_out(first, f"multi-head attention around Softmax {softmax.name!r}: {block.reason}; nearest: "
                               "attention (q, k, v and output projections with its bias, softmax(Q·Kᵀ/√d)·V)")
        else:
            folded = tuple(o for o in block.ops if o is not softmax)
            m.emit(softmax, "attention", block.keys, (block.x,), block.tail, folded, part="attention")
    return emit


def _match(m: Mapper, softmax: Op, producer: dict[str, Op]) -> _Block | None:
    """The block around ``softmax`` if it sits between two products of activations (scores, then by V)."""
    dims = m.dims(softmax.inputs[0])
    if len(dims) < 3 or None in dims[-2:] or softmax.attrs.get("axis", -1) % len(dims) != len(dims) - 1:
        return None
    # B×h×N×N: B is the batch (free or 1) or the P sequences of an unfold, which the layer's input holds
    n, heads = dims[-1], (dims[1] if len(dims) == 4 else math.prod(d or 1 for d in dims[:-2])) or 1
    masked, mask = _mask(m, softmax.inputs[0], producer)
    table = _bias_table(m, masked, producer, heads, n)
    scores = masked
    if table:  # the scores before the table was added
        scores = next(t for t in table[0].inputs if t != table[1])
    scaled, qk = _back(m, scores, producer, _SCORE_VIEWS)
    reshaped, av = _forward(m, softmax.outputs[0])
    probabilities = reshaped[-1].outputs[0] if reshaped else softmax.outputs[0]
    if qk is None or qk.op != "MatMul" or av is None or av.inputs[0] != probabilities \
            or len(m.g.dynamic_inputs(qk)) != 2 or len(m.g.dynamic_inputs(av)) != 2:
        return None
    paths = [_back(m, t, producer, _VIEWS) for t in (*qk.inputs[:2], av.inputs[1])]
    ops = [softmax, qk, av, *scaled, *reshaped, *(o for walked, _ in paths for o in walked), *table[:1], *mask]
    if not table and all(end is not None and end.op == "Conv" for _, end in paths):  # on a map: MobileNetV4's
        return _on_map(m, ops, qk, av, [end for _, end in paths], producer)
    width, key_width = m.dims(av.outputs[0])[-1], m.dims(qk.inputs[0])[-1]
    if dims[-2] != n or width is None or key_width is None:
        return _Block(ops, reason=f"scores of {list(dims)}: keys of another length than the queries")
    projections = [_projection(m, end, producer) for _, end in paths]
    if any(p is None for p in projections):
        return _Block(ops, reason="q, k and v are not all projections of a token sequence by stored weights")
    ops += [o for p in projections for o in p if o is not None]  # type: ignore[union-attr]
    output = _output(m, av.outputs[0], n, heads * width)
    if isinstance(output, str):
        return _Block(ops, reason=output)
    found = _inputs(m, projections, heads, (key_width, width), output[2])  # type: ignore[arg-type]
    if isinstance(found, str):
        return _Block(ops, reason=found)
    keys, x = found
    if table:
        keys["relative_table" if m.g.const(table[1]).table != (heads, n) else "bias_table"] = True  # type: ignore
    if sequence(m.dims(x)) != (n, output[2]):
        return _Block(ops, reason=f"its input {list(m.dims(x))} is not the {n} tokens of {output[2]} it returns")
    ops = list({o.name: o for o in (*ops, *output[0])}.values())
    reason = closed_block(m, ops, output[1])
    return _Block(ops, reason=reason) if reason else _Block(ops, keys, x, output[1])


def _on_map(m: Mapper, ops: list[Op], qk: Op, av: Op, ends: list[Op | None], producer: dict[str, Op]) -> _Block:
    found = match_map(m, qk, av, ends, producer)
    if isinstance(found, str):
        return _Block(ops, reason=found)
    more, keys, x, tail = found
    ops = list({o.name: o for o in (*ops, *more)}.values())
    reason = closed_block(m, ops, tail)
    return _Block(ops, reason=reason) if reason else _Block(ops, keys, x, tail)


def _forward(m: Mapper, tensor: str) -> tuple[list[Op], Op | None]:
    """The product by V reading the probabilities, through reshapes (litert-torch multiplies B·h×N×N batches:
    the scores come to the Softmax reshaped to B×h×N×N and leave it reshaped back): (the reshapes, the MatMul)."""
    walked, user, _ = m.walk_forward(tensor, ("Reshape",), 2)
    return walked, user if user is not None and user.op == "MatMul" else None


def _back(m: Mapper, tensor: str, producer: dict[str, Op], views: frozenset[str]) -> tuple[list[Op], Op | None]:
    """Walk from ``tensor`` back through ``views`` (Mul and Div only by a scalar): the views, and the operator
    that made the tensor they start from."""
    walked: list[Op] = []
    op = producer.get(tensor)
    while op is not None and op.op in views and len(walked) < _MAX_WALK:
        data = m.g.dynamic_inputs(op)
        if len(data) != 1 or not (_scaling(m, op, data[0]) if op.op in ("Mul", "Div") else data[0] == op.inputs[0]):
            break
        walked.append(op)
        op = producer.get(data[0])
    return walked, op


def _scaling(m: Mapper, op: Op, x: str) -> bool:
    """x · s or x / s with s a scalar constant: the 1/√d of attention (free of Mult-Adds in the layer)."""
    others = [t for t in op.inputs if t and t != x]
    return len(others) == 1 and m.scalar(others[0]) and (op.op == "Mul" or op.inputs[0] == x)


def _projection(m: Mapper, op: Op | None, producer: dict[str, Op]) -> tuple[Op, Op | None] | None:
    """(MatMul, bias Add or None) of a token-wise linear layer ending at ``op``: B×N×C times a stored C×O."""
    bias = None
    if op is not None and op.op == "Add":
        data = m.g.dynamic_inputs(op)
        const = next((m.g.const(t) for t in op.inputs if t and t not in data), None)
        one = len(data) == 1 and const is not None and len(const.dims) == 1
        bias, op = (op, producer.get(data[0])) if one else (None, None)
    if op is None or op.op != "MatMul":
        return None
    weight = m.g.const(op.inputs[1])
    if weight is None or len(weight.dims) != 2 or sequence(m.dims(op.inputs[0])) is None:
        return None
    if bias is not None and m.g.const(next(t for t in bias.inputs if t != op.outputs[0])).dims != weight.dims[1:]:
        return None
    return op, bias


def _output(m: Mapper, tensor: str, n: int, inner: int) -> tuple[list[Op], str, int] | str:
    """From A·V (heads × N × d) forward through transposes and reshapes to N × hd, then the output projection
    (a stored hd×C weight + its C biases): (its operators, the block's end, C)."""
    walked, user, tensor = m.walk_forward(tensor, ("Transpose", "Reshape", "Identity"), _MAX_WALK)
    weight = m.g.const(user.inputs[1]) if user is not None and user.op == "MatMul" else None
    if user is None or weight is None or len(weight.dims) != 2 or sequence(m.dims(tensor)) != (n, inner) \
            or weight.dims[0] != inner:
        return f"the heads merged back to {n}×{inner} are not read by one projection by a stored weight"
    plus = m.sole_user(user.outputs[0], "Add")
    other = next((t for t in plus.inputs if t != user.outputs[0]), "") if plus is not None else ""
    bias = m.g.const(other) if other else None
    if plus is None or bias is None or bias.dims != weight.dims[1:]:
        return "its output projection has no bias (the layer's has one per channel)"
    return [*walked, user, plus], plus.outputs[0], weight.dims[1]


def _inputs(m: Mapper, projections: list[tuple[Op, Op | None]], heads: int, widths: tuple[int, int],
            channels: int) -> tuple[dict, str] | str:
    """(the layer's keys, the sequence read) when q, k and v come from one C×h(2d + d_v) projection or from
    three (C×hd, C×hd, C×hd_v) of the same sequence with biases alike; else why not. ``widths``: (d, d_v)."""
    d, dv = widths
    distinct = {mm.name: (mm, bias) for mm, bias in projections}
    if len(distinct) not in (1, 3):
        return f"q, k and v come from {len(distinct)} projections (one for all three, or one each, map)"
    outs = [m.g.const(mm.inputs[1]).dims[1] for mm, _ in distinct.values()]  # type: ignore[union-attr]
    want = [heads * (2 * d + dv)] if len(distinct) == 1 else [heads * d, heads * d, heads * dv]
    xs = {mm.inputs[0] for mm, _ in distinct.values()}
    biased = {bias is not None for _, bias in distinct.values()}
    if outs != want or len(xs) != 1 or len(biased) != 1:
        return (f"projections of widths {outs} from {len(xs)} sequence(s), biases {sorted(biased)}: not "
                f"{heads} heads of q, k {d} and v {dv} wide from one sequence, biases alike")
    (x,) = xs
    keys: dict = {"heads": heads, "bias": biased.pop()}
    if channels % heads or channels // heads != d:
        keys["head_dim"] = d  # d is not C/h: written out
    if dv != d:
        keys["value_dim"] = dv  # EfficientFormer's and LeViT's attention ratio: values wider than keys
    return keys, x


def _bias_table(m: Mapper, scores: str, producer: dict[str, Op], heads: int, n: int) -> tuple[Op, str] | tuple[()]:
    """(Add, the bias) where the scores get a stored h×N table gathered by a constant N×N index (timm's
    ``attention_biases[:, attention_bias_idxs]``: EfficientFormer, LeViT, TinyViT; the Gather of two constants is
    folded on loading, its table's dims kept); () otherwise."""
    plus = producer.get(scores)
    if plus is None or plus.op != "Add" or len(plus.inputs) != 2:
        return ()
    queries = m.dims(scores)[-2]  # N, or LeViT's subsampled N_q
    for i, t in enumerate(plus.inputs):
        bias = m.g.const(t)
        relative = (2 * math.isqrt(n) - 1) ** 2, heads  # Swin's table: one row per offset in a √N×√N window
        if bias is not None and bias.table in ((heads, n), relative) \
                and bias.dims in ((heads, queries, n), (1, heads, queries, n)) \
                and producer.get(plus.inputs[1 - i]) is not None:
            return plus, t
    return ()


def _mask(m: Mapper, scores: str, producer: dict[str, Op]) -> tuple[str, list[Op]]:
    """Swin's shifted-window mask — ``(attn.view(B, P, h, N, N) + mask).view(B·P, h, N, N)``, a stored buffer of
    0 and −100 added to the scores (no params, no Mult-Adds) — walked back over: (the scores before, its
    operators); (scores, []) where there is none."""
    after = producer.get(scores)
    plus = producer.get(after.inputs[0]) if after is not None and after.op == "Reshape" else None
    if plus is None or plus.op != "Add" or len(m.g.dynamic_inputs(plus)) != 1:
        return scores, []
    const = next((m.g.const(t) for t in plus.inputs if t and t not in m.g.dynamic_inputs(plus)), None)
    before = producer.get(m.g.dynamic_inputs(plus)[0])
    if const is None or const.table is not None or before is None or before.op != "Reshape" \
            or m.dims(before.inputs[0]) != m.dims(scores):
        return scores, []
    return before.inputs[0], [after, plus, before]
