"""EfficientViT-M's cascaded group attention (timm ``efficientvit_msra.CascadedGroupAttention``, in its
``LocalWindowAttention``), found in the graph before the walk and mapped to one `cascaded_attention` layer.

The anchor is the block's end: a Concat of h head outputs along the channels, ReLU, a 1×1 conv (+ BatchNorm) back
to C. From each head output the match walks back through moves to A·V (a product of two activations whose other
factor is a softmax, transposed or not), the softmax to the scores Q·Kᵀ + a stored h×N bias table (timm's
``attention_biases[:, idx][i]``, folded on loading), the queries through the scale and a k×k depthwise conv (+ BN)
to the q/k/v split of one 1×1 conv (+ BN) per head; that conv reads chunk i of the block input — a Slice, a Split
or the dynamo exporter's SequenceAt of a SplitToSequence, along the channels — plus, from head 1 on, head i − 1's
output (the cascade's Add). The sizes are read from the weights and the products (d, d_v, k, N), so the layer's
closed form is the file's arithmetic. The block input held as P windows of w×w maps (``LocalWindowAttention``'s
partition, and its merge after the projection) is recognised by replaying the moves on element numbers
(``cascaded_windows.py``): the layer then reads the map, with ``window``.

A block the layer cannot express (a head without its table, unequal chunks, a different kernel per head, BatchNorm
on some convs only) is a located error at its first operator saying why — with ``allow_unknown``, left out — never
a zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .cascaded_windows import merged_windows, partitioned_map
from .model import Op
from .ops import _has_bias as has_bias
from .patterns import Mapper, plan_blocks

_MOVES = frozenset({"Reshape", "Transpose", "Identity", "Squeeze", "Unsqueeze", "Flatten"})
_MAX_WALK = 8


@dataclass
class _Found:
    """What the walk has read so far; ``reason`` set once it cannot be the layer."""

    ops: list[Op] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)
    x: str = ""  # the block input (the map, or its windows)
    tail: str = ""
    reason: str = ""


def plan(m: Mapper) -> dict[str, Callable[[], None]]:
    """For every cascaded group attention block: its first operator's name → the call that emits the layer (or,
    for a block the layer cannot express, the located error) when the walk reaches it."""
    return plan_blocks(m, "Concat", _match, lambda found: found.ops, _emitter)


def _emitter(m: Mapper, concat: Op, first: Op, found: _Found) -> Callable[[], None]:
    def emit() -> None:
        if found.reason:
            m.leave_out(first, f"cascaded group attention ending at Concat {concat.name!r}: {found.reason}; nearest: "
                               "cascaded_attention (per head a 1×1 conv to q, k, v of its channel chunk plus the "
                               "previous head's output, a depthwise conv on q, a bias table; ReLU and a 1×1 conv)")
        else:
            folded = tuple(o for o in found.ops if o is not first)
            m.emit(first, "cascaded_attention", found.keys, (found.x,), found.tail, folded, part="attn")
    return emit


def _back(m: Mapper, tensor: str, producer: dict[str, Op], scale: bool = False) -> tuple[list[Op], Op | None]:
    """Walk back from ``tensor`` through moves (and a Mul or Div by a scalar where ``scale``): the moves, and the
    operator that made the tensor they start from."""
    walked: list[Op] = []
    op = producer.get(tensor)
    while op is not None and len(walked) < _MAX_WALK:
        data = m.g.dynamic_inputs(op)
        scaled = scale and op.op in ("Mul", "Div") and len(data) == 1 and data[0] == op.inputs[0] \
            and all(m.scalar(t) for t in op.inputs[1:] if t)
        if len(data) != 1 or data[0] != op.inputs[0] or not (op.op in _MOVES or scaled):
            break
        walked.append(op)
        op = producer.get(data[0])
    return walked, op


def _match(m: Mapper, concat: Op, producer: dict[str, Op]) -> _Found | None:
    """The block ending at ``concat`` → ReLU → 1×1 conv if every concatenated tensor is A·V of a softmax; else
    None (a CNN's concat, or products concatenated for something else: not this layer's to refuse)."""
    heads = [_head_product(m, t, producer) for t in concat.inputs if t]
    if not heads or any(h is None for h in heads) or concat.attrs.get("axis") not in (1, -3):
        return None
    found = _Found(ops=[concat])
    tail = _projection(m, concat, found)
    if tail is None:
        return None  # not this block's end: heads concatenated for another reader (attention.py, or an error there)
    shapes = []
    for i, (walked, av, softmax) in enumerate(heads):  # type: ignore[misc]
        found.ops += [*walked, av, softmax]
        shape = _head(m, i, av, softmax, producer, found)
        if shape is None:
            return found
        shapes.append(shape)
    if not _settle(m, concat, shapes, found):
        return found
    _windows(m, found, tail)
    return found


def _head_product(m: Mapper, tensor: str, producer: dict[str, Op]) -> tuple[list[Op], Op, Op] | None:
    """(moves, A·V, softmax) when ``tensor`` is a product of two activations one of which is a softmax."""
    walked, av = _back(m, tensor, producer)
    if av is None or av.op != "MatMul" or len(m.g.dynamic_inputs(av)) != 2:
        return None
    for t in av.inputs[:2]:
        moves, softmax = _back(m, t, producer)
        if softmax is not None and softmax.op == "Softmax":
            return [*walked, *moves], av, softmax
    return None


def _projection(m: Mapper, concat: Op, found: _Found) -> str | None:
    """ReLU, a 1×1 conv (+ BN) after the concat: the block's end, the projection's sizes in ``found.keys``."""
    relu = m.sole_user(concat.outputs[0], "Relu")
    conv = m.sole_user(relu.outputs[0], "Conv") if relu is not None else None
    weight = m.g.const(conv.inputs[1]) if conv is not None else None
    if relu is None or conv is None or weight is None or weight.dims[2:] != (1, 1) \
            or conv.attrs.get("group", 1) != 1 or set(conv.attrs.get("strides", [1])) != {1}:
        return None
    found.ops += [relu, conv]
    bn = m.sole_user(conv.outputs[0], "BatchNormalization")
    found.keys.update(channels=weight.dims[0], inner=weight.dims[1], bns=[bn is not None],
                      biases=[has_bias(m, conv, 2)], outs=[t for t in concat.inputs if t])
    if bn is not None:
        found.ops.append(bn)
    found.tail = (bn or conv).outputs[0]
    return found.tail


def _head(m: Mapper, i: int, av: Op, softmax: Op, producer: dict[str, Op], found: _Found
          ) -> tuple[int, int, int, int, int] | None:
    """Head i's sizes (c, d, d_v, k, N) from its scores back to its q/k/v conv and that conv's input."""
    plus = producer.get(softmax.inputs[0])
    table = next((m.g.const(t) for t in plus.inputs if m.g.const(t) is not None), None) \
        if plus is not None and plus.op == "Add" else None
    qk = producer.get(next((t for t in plus.inputs if m.g.const(t) is None), "")) if table is not None else None
    if table is None or table.table is None or qk is None or qk.op != "MatMul" \
            or len(m.g.dynamic_inputs(qk)) != 2:
        found.reason = f"head {i}'s scores are not Q·Kᵀ plus a stored bias table"
        return None
    found.ops += [plus, qk]
    ends = [_back(m, t, producer, scale=True) for t in qk.inputs[:2]]
    other = next((t for t in av.inputs[:2] if _back(m, t, producer)[1] is not softmax), "")
    value = _back(m, other, producer)
    for walked, _ in (*ends, value):
        found.ops += walked
    dw = next((end for _, end in ends if end is not None and end.op in ("Conv", "BatchNormalization")), None)
    sizes = _qkv(m, i, dw, [end for _, end in ends if end is not dw] + [value[1]], producer, found)
    if sizes is None:
        return None
    n = m.dims(softmax.outputs[0])[-1]
    if not _products_fit(m, qk, av, softmax, sizes[1], sizes[2]):
        found.reason = f"head {i}'s products {list(m.dims(qk.outputs[0]))} and {list(m.dims(av.outputs[0]))} are " \
                       f"not N×N scores of {sizes[1]}-wide queries and keys and a {sizes[2]}-wide output"
        return None
    found.keys.setdefault("tables", []).append(table.table)
    return (*sizes, n)  # type: ignore[return-value]


def _products_fit(m: Mapper, qk: Op, av: Op, softmax: Op, d: int, dv: int) -> bool:
    """Q·Kᵀ gives B×N×N scores of d-term dot products, A·V B·N·d_v outputs of N terms: the products the layer's
    closed form counts (B the windows)."""
    scores, out, q = m.dims(softmax.outputs[0]), m.dims(av.outputs[0]), m.dims(qk.inputs[0])
    if None in scores or None in out or None in q or len(scores) < 2 or scores[-1] != scores[-2]:
        return False
    batch, n = math.prod(scores[:-2]), scores[-1]  # type: ignore[arg-type]
    return math.prod(out) == batch * n * dv and math.prod(q) == batch * n * d  # type: ignore[arg-type]


def _conv_bn(m: Mapper, end: Op | None, producer: dict[str, Op], found: _Found) -> Op | None:
    """The conv ending at ``end`` (itself, or the conv a BatchNorm normalises), its BN and bias noted."""
    bn = end if end is not None and end.op == "BatchNormalization" else None
    conv = producer.get(bn.inputs[0]) if bn is not None else end
    if conv is None or conv.op != "Conv" or m.g.const(conv.inputs[1]) is None:
        return None
    found.ops += [conv, *([bn] if bn else [])]
    found.keys["bns"].append(bn is not None)
    found.keys["biases"].append(has_bias(m, conv, 2))
    return conv


def _qkv(m: Mapper, i: int, dw_end: Op | None, splits: list[Op | None], producer: dict[str, Op], found: _Found
         ) -> tuple[int, int, int, int] | None:
    """(c, d, d_v, k): the query's depthwise conv, and the one 1×1 conv whose split gives q, k and v."""
    dw = _conv_bn(m, dw_end, producer, found)
    pieces = [_split_of(m, op, producer) for op in (producer.get(dw.inputs[0]) if dw else None, *splits)]
    if dw is None or any(p is None for p in pieces):
        found.reason = f"head {i}'s queries are not a depthwise conv of a split of its q, k, v"
        return None
    sources = {source for _, source in pieces}  # type: ignore[misc]
    walked, end = _back(m, sources.pop(), producer) if len(sources) == 1 else ([], None)
    qkv = _conv_bn(m, end, producer, found)
    weight, dw_weight = (m.g.const(c.inputs[1]) if c is not None else None for c in (qkv, dw))
    if qkv is None or weight is None or dw_weight is None or weight.dims[2:] != (1, 1):
        found.reason = f"head {i}'s q, k and v are not split from one 1×1 conv"
        return None
    found.ops += [*(op for ops, _ in pieces for op in ops), *walked]  # type: ignore[union-attr]
    d, k = dw_weight.dims[0], dw_weight.dims[-1]
    if dw_weight.dims != (d, 1, k, k) or dw.attrs.get("group", 1) != d or k % 2 == 0 \
            or list(dw.attrs.get("pads", [0] * 4)) != [k // 2] * 4 or set(dw.attrs.get("strides", [1])) != {1}:
        found.reason = f"head {i}'s query conv is not a depthwise k×k conv (odd k, padding k // 2, stride 1)"
        return None
    if not _chunk(m, i, qkv, producer, found):
        return None
    return weight.dims[1], d, weight.dims[0] - 2 * d, k


def _chunk(m: Mapper, i: int, conv: Op, producer: dict[str, Op], found: _Found) -> bool:
    """Head i's conv reads chunk i of the block input, plus (from head 1 on) head i − 1's output."""
    walked, op = _back(m, conv.inputs[0], producer)
    found.ops += walked
    if i and op is not None and op.op == "Add" and found.keys["outs"][i - 1] in op.inputs:
        found.ops.append(op)
        op = producer.get(next(t for t in op.inputs if t != found.keys["outs"][i - 1]))
    piece = _split_of(m, op, producer)
    if piece is None:
        found.reason = f"head {i}'s q/k/v conv does not read a channel chunk of the block input" + \
            (" plus the previous head's output" if i else "")
        return False
    found.ops += piece[0]
    found.keys.setdefault("inputs", []).append(piece[1])
    return True


def _split_of(m: Mapper, op: Op | None, producer: dict[str, Op]) -> tuple[list[Op], str] | None:
    """(its operators, the tensor split) of a part taken by Slice or Split, or by SequenceAt of a SplitToSequence
    (the dynamo exporter's ``split``); None for anything else."""
    if op is not None and op.op in ("Slice", "Split"):
        return [op], op.inputs[0]
    seq = producer.get(op.inputs[0]) if op is not None and op.op == "SequenceAt" else None
    return ([op, seq], seq.inputs[0]) if op is not None and seq is not None and seq.op == "SplitToSequence" else None


def _settle(m: Mapper, concat: Op, shapes: list[tuple[int, int, int, int, int]], found: _Found) -> bool:
    """One input, equal chunks, the same sizes and table in every head, BatchNorm on all convs or none: the
    layer's keys."""
    keys, h = found.keys, len(shapes)
    c, d, dv, k, n = shapes[0]
    inputs, dims = set(keys["inputs"]), m.dims(keys["inputs"][0])
    if len(inputs) != 1 or len(set(shapes)) != 1 or len(dims) != 4 or dims[1] != c * h:
        found.reason = f"its {h} heads read {len(inputs)} input(s) in chunks of {sorted({s[0] for s in shapes})} " \
                       f"with sizes {sorted(set(shapes))}: not equal chunks of one map, the same sizes in each head"
        return False
    if set(keys["tables"]) != {(h, n)} or None in dims or dims[2] * dims[3] != n:  # type: ignore[operator]
        found.reason = f"its bias tables {sorted(set(keys['tables']))} are not one table of {h} heads × {n} offsets"
        return False
    if len(set(keys["bns"])) != 1 or any(b == keys["bns"][0] for b in keys["biases"]) \
            or keys["channels"] != c * h or keys["inner"] != h * dv or dv != c:
        found.reason = "BatchNorm after some of its convs only (or biases beside it), values of " \
                       f"{dv} for chunks of {c}, or a projection of {keys['inner']} → {keys['channels']} channels"
        return False
    found.x = keys["inputs"][0]
    found.keys = {"heads": h, "head_dim": d,
                  **({"kernel": k} if k != 5 else {}), **({} if keys["bns"][0] else {"bn": False})}
    found.ops = list({o.name: o for o in found.ops}.values())
    return True


def _windows(m: Mapper, found: _Found, tail: str) -> None:
    """A block on P > 1 windows of a map: read the map and write it back (``window``), the moves around it its own;
    on a batch-1 map, nothing to do. Then no tensor made inside may be read outside."""
    dims = m.dims(found.x)
    if dims[0] not in (1, None):
        before = partitioned_map(m, found.x)
        after = merged_windows(m, tail, before[2]) if before is not None else None
        if before is None or after is None:
            found.reason = f"it runs on {dims[0]} maps of {dims[2]}×{dims[3]} that are not the windows of one map " \
                           "(timm's LocalWindowAttention), partitioned before and merged after"
            return
        found.ops += [*before[0], *after[0]]
        found.x, found.tail = before[1], after[1]
        found.keys["window"] = dims[2]
    else:
        found.tail = tail
    names = {o.name for o in found.ops}
    for op in found.ops:
        for t in op.outputs:
            if t and t != found.tail and (t in m.g.outputs or any(u.name not in names for u in m.g.users(t))):
                found.reason = f"{t!r}, made inside it, is read outside it"
                return
