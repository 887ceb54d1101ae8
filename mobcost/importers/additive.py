"""SwiftFormer's efficient additive attention (timm ``EfficientAdditiveAttention``), found in the graph before the
walk and mapped to one `additive_attention` layer.

The TorchScript exporter writes it (``from_torch`` exports the same way) as: q = MatMul(x, W_q) + b_q and
k = MatMul(x, W_k) + b_k on one B×N×C sequence; each ``F.normalize(·, dim=-1)`` as ReduceL2 over the channels →
Clip (the ε floor) → Expand → Div; the scores MatMul(q̂, w_g) by a stored C×1 tensor, [Mul or Div by the scalar
C^(−1/2)], normalised over the tokens the same way (ReduceL2 over axis 1); Mul(scores, q̂) (either order) →
ReduceSum over the tokens (keepdims) → Mul(G, k̂) → MatMul + Add (proj) → Add q̂ → MatMul + Add (final). The anchor
is the MatMul of an L2-normalised sequence by a stored C×1 tensor whose output is L2-normalised over the tokens:
from it the match walks back to q and k and forward to the final projection. A block that starts so but ends
otherwise (another combination, a projection without bias or of another width, q and k of different sequences)
is a located error at its first operator saying why — with ``allow_unknown``, that operator is left out — never a
zero. A match claims its operators only if nothing outside reads what they compute in between.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .model import Op
from .patterns import Mapper, closed_block, plan_blocks, sequence, walk_back

_FLOOR = frozenset({"Clip", "Max", "Expand", "Add"})  # between ReduceL2 and Div: the ε floor, the broadcast
_NEAREST = ("nearest: additive_attention (q and k projections L2-normalised per token, scores q·w_g normalised "
            "over the tokens, Σ score·q, final(proj(G·k) + q), every projection C×C with bias)")


@dataclass(frozen=True)
class _Block:
    """A block found (``x`` set: the sequence it reads) or one the layer cannot express (``reason`` set)."""

    ops: list[Op]  # its operators; on a miss, those found before the reason
    x: str = ""
    tail: str = ""
    reason: str = ""


def plan(m: Mapper) -> dict[str, Callable[[], None]]:
    """For every additive attention block: its first operator in file order → the call that emits the layer (or,
    for a block the layer cannot express, the located error saying why) when the walk reaches it."""
    return plan_blocks(m, "MatMul", _match, lambda b: b.ops, _emitter)


def _emitter(m: Mapper, anchor: Op, first: Op, block: _Block) -> Callable[[], None]:
    def emit() -> None:
        if block.reason:
            m.leave_out(first, f"additive attention around MatMul {anchor.name!r}: {block.reason}; {_NEAREST}")
        else:
            folded = tuple(o for o in block.ops if o is not anchor)
            m.emit(anchor, "additive_attention", {}, (block.x,), block.tail, folded, part="attention")
    return emit


def _match(m: Mapper, mm: Op, producer: dict[str, Op]) -> _Block | None:
    """The block anchored at ``mm`` if it is q̂ · w_g (w_g a stored C×1) normalised over the tokens; else None."""
    w_g = m.g.const(mm.inputs[1]) if len(mm.inputs) > 1 else None
    seq = sequence(m.dims(mm.inputs[0]))
    if w_g is None or seq is None or w_g.dims != (seq[1], 1) or mm.inputs[0] in m.g.consts:
        return None
    q_hat = mm.inputs[0]
    q_norm = _normalised(m, q_hat, producer, 2)
    scaled, scale = _scaled(m, mm.outputs[0])
    div = next((u for u in m.g.users(scaled) if u.op == "Div" and u.inputs[0] == scaled), None)
    a_norm = _normalised(m, div.outputs[0], producer, 1) if div is not None else None
    if q_norm is None or a_norm is None:
        return None  # not additive attention: a token-wise linear layer to one output, left to the walk
    ops = [mm, *scale, *q_norm[0], *a_norm[0]]
    return _rest(m, ops, div.outputs[0], q_hat, q_norm[1], producer)  # type: ignore[union-attr]


def _rest(m: Mapper, ops: list[Op], scores: str, q_hat: str, q: str, producer: dict[str, Op]) -> _Block:
    """From the normalised scores to the final projection, and back from q and k to their projections."""
    n, c = sequence(m.dims(q_hat))  # type: ignore[misc]
    weigh = m.sole_user(scores, "Mul")
    if weigh is None or set(weigh.inputs) != {scores, q_hat}:
        return _Block(ops, reason="the normalised scores are not multiplied by the normalised queries alone")
    total = m.sole_user(weigh.outputs[0], "ReduceSum")
    ops += [weigh, *([total] if total is not None else [])]
    if total is None or _axes(m, total) != [1] or not total.attrs.get("keepdims", 1):
        return _Block(ops, reason="score × query is not summed over the tokens (ReduceSum over axis 1, keepdims)")
    mix = m.sole_user(total.outputs[0], "Mul")
    k_hat = next((t for t in mix.inputs if t != total.outputs[0]), "") if mix is not None else ""
    k_norm = _normalised(m, k_hat, producer, 2) if k_hat else None
    if mix is None or k_norm is None:
        return _Block(ops, reason="the global query does not multiply L2-normalised keys")
    ops += [mix, *k_norm[0]]
    projections = [_linear(m, producer.get(t), c, producer) for t in (q, k_norm[1])]
    if any(p is None for p in projections) or len({p[0].inputs[0] for p in projections}) != 1:  # type: ignore[index]
        return _Block(ops, reason=f"q and k are not both {c}×{c} projections with bias of one sequence")
    ops += [o for p in projections for o in p]  # type: ignore[union-attr]
    return _output(m, ops, mix.outputs[0], q_hat, projections[0][0].inputs[0], (n, c))  # type: ignore[index]


def _output(m: Mapper, ops: list[Op], mixed: str, q_hat: str, x: str, shape: tuple[int, int]) -> _Block:
    """proj(G · k̂) + q̂, then the final projection: the block's end."""
    c = shape[1]
    proj = _forward_linear(m, mixed, c)
    residual = m.sole_user(proj[-1].outputs[0], "Add") if proj else None
    if proj is None or residual is None or set(residual.inputs) != {proj[-1].outputs[0], q_hat}:
        return _Block(ops, reason=f"G·k is not read by a {c}×{c} projection with bias whose sum with q̂ follows")
    final = _forward_linear(m, residual.outputs[0], c)
    ops += [*proj, residual, *(final or [])]
    if final is None:
        return _Block(ops, reason=f"proj(G·k) + q is not read by a final {c}×{c} projection with bias")
    tail = final[-1].outputs[0]
    if sequence(m.dims(x)) != shape:
        return _Block(ops, reason=f"its input {list(m.dims(x))} is not the {shape[0]} tokens of {c} it returns")
    reason = closed_block(m, ops, tail)
    return _Block(ops, reason=reason) if reason else _Block(ops, x, tail)


def _axes(m: Mapper, op: Op) -> list[int] | None:
    """A reduction's axes (an attribute before opset 13/18, a constant input since), non-negative on its input."""
    axes = op.attrs.get("axes")
    if axes is None and len(op.inputs) > 1 and op.inputs[1]:
        const = m.g.const(op.inputs[1])
        axes = list(const.values) if const is not None and const.values is not None else None
    rank = len(m.dims(op.inputs[0]))
    return None if axes is None or not rank else [int(a) % rank for a in axes]


def _normalised(m: Mapper, tensor: str, producer: dict[str, Op], axis: int) -> tuple[list[Op], str] | None:
    """(its operators, x) where ``tensor`` is x / max(‖x‖, ε) over ``axis`` of a B×N×C tensor (F.normalize: Div of x
    by [Expand of] the Clip of ReduceL2(x), keepdims); None otherwise."""
    div = producer.get(tensor)
    if div is None or div.op != "Div" or len(div.inputs) != 2:
        return None
    x = div.inputs[0]
    floor, step = walk_back(div.inputs[1], producer, _FLOOR, 3)
    walked = [div, *floor]
    if step is None or step.op != "ReduceL2" or step.inputs[0] != x or _axes(m, step) != [axis] \
            or not step.attrs.get("keepdims", 1) or len(m.dims(x)) != 3:
        return None
    return [*walked, step], x


def _scaled(m: Mapper, tensor: str) -> tuple[str, list[Op]]:
    """The scores after their scaling by a scalar constant (Mul, or Div by it), if there is one."""
    user = m.sole_user(tensor)
    if user is not None and user.op in ("Mul", "Div") and len(user.inputs) == 2:
        other = user.inputs[1] if user.inputs[0] == tensor else user.inputs[0]
        if m.scalar(other) and (user.op == "Mul" or user.inputs[0] == tensor):
            return user.outputs[0], [user]
    return tensor, []


def _weighted(m: Mapper, mm: Op | None, c: int) -> bool:
    weight = m.g.const(mm.inputs[1]) if mm is not None and mm.op == "MatMul" and len(mm.inputs) == 2 else None
    return weight is not None and weight.dims == (c, c) and mm.inputs[0] not in m.g.consts  # type: ignore[union-attr]


def _bias_of(m: Mapper, plus: Op | None, tensor: str, c: int) -> bool:
    other = next((t for t in plus.inputs if t != tensor), "") if plus is not None and len(plus.inputs) == 2 else ""
    bias = m.g.const(other) if other else None
    return bias is not None and bias.dims == (c,)


def _linear(m: Mapper, plus: Op | None, c: int, producer: dict[str, Op]) -> list[Op] | None:
    """[MatMul, Add] of a C×C projection with bias ending at ``plus``; None otherwise."""
    if plus is None or plus.op != "Add":
        return None
    data = m.g.dynamic_inputs(plus)
    mm = producer.get(data[0]) if len(data) == 1 else None
    if not _weighted(m, mm, c) or not _bias_of(m, plus, data[0], c):
        return None
    return [mm, plus]  # type: ignore[list-item]


def _forward_linear(m: Mapper, tensor: str, c: int) -> list[Op] | None:
    """[MatMul, Add] of a C×C projection with bias reading ``tensor`` alone; None otherwise."""
    mm = m.sole_user(tensor, "MatMul")
    plus = m.sole_user(mm.outputs[0], "Add") if mm is not None and mm.inputs[0] == tensor else None
    if not _weighted(m, mm, c) or not _bias_of(m, plus, mm.outputs[0] if mm else "", c):  # type: ignore[union-attr]
        return None
    return [mm, plus]  # type: ignore[list-item]
