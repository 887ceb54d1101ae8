"""Cross-covariance attention (XCiT, EdgeNeXt) and the Fourier position encoding, found in the graph before the walk
and mapped to one `xca` and one `pos_fourier` layer.

Exporters write timm's ``XCA`` / ``CrossCovarianceAttn`` as: the q, k, v projection of the B×N×C tokens (one MatMul
by a stored C×3C weight, + bias), a Reshape to B×N×3×h×d and a Transpose to 3×B×h×d×N (with Split + Squeeze, or
Gather, to take q, k and v apart), q and k L2-normalised along the tokens (``ReduceL2`` over the last axis → ``Clip``
(the ε floor) → [``Expand``] → ``Div``), the product q̂·k̂ᵀ (a B×h×d×d map), a ``Mul`` by the stored h×1×1
temperature, ``Softmax``, the product by v, a Transpose and Reshape back to B×N×C and the output projection (a
stored C×C weight + bias). The anchor is a Softmax over d×d scores between two products of activations; from it the
match walks back to the projection and forward to the output projection, reusing attention's walks. Heads h and d
come from the scores' shape, N from the normalised axis: the layer's closed form (4·N·C² + 2·N·C·d) is the file's
arithmetic when d·h = C and the norms run over the N tokens. A block that differs (no temperature, norms over the
channels, unlike projections) is a located error at its first operator saying why.

``pos_fourier``: a stored-weight 1×1 Conv applied to constants (the sin/cos grid) is folded by the loader into a
constant that remembers the weights it read (``Const.weights``); the ``Add`` of that constant to an N×C sequence is
the position encoding, 2·hidden·C weights and C biases read from the conv's weight and bias.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .attention import _VIEWS, _back, _output, _projection
from .model import Op
from .patterns import Mapper, closed_block, plan_blocks, sequence, walk_back

_NORM_STEPS = frozenset({"Clip", "Max", "Expand"})


def plan(m: Mapper) -> dict[str, Callable[[], None]]:
    """Every XCA block (its first operator → the call emitting `xca` or the located error) and every Fourier
    position encoding (its Add → the call emitting `pos_fourier`)."""
    planned = plan_blocks(m, "Softmax", _match, lambda block: block[0], _emitter)
    for op in m.g.ops:
        keys = _fourier(m, op) if op.op == "Add" else None
        if keys is not None:
            planned[op.name] = _position(m, op, keys)
    return planned


Block = tuple[list[Op], dict[str, Any] | str, str, str]  # ops, keys (or why not), the sequence read, the end


def _emitter(m: Mapper, softmax: Op, first: Op, block: Block) -> Callable[[], None]:
    ops, keys, x, tail = block

    def emit() -> None:
        if isinstance(keys, str):
            m.leave_out(first, f"cross-covariance attention around Softmax {softmax.name!r}: {keys}; nearest: xca "
                               "(q, k, v projection, q and k L2-normalised over the tokens, softmax(q·kᵀ·τ)·v per "
                               "head, output projection with its bias)")
        else:
            m.emit(softmax, "xca", keys, (x,), tail, tuple(o for o in ops if o is not softmax), part="xca")
    return emit


def _temperature(m: Mapper, scores: str, producer: dict[str, Op], heads: int) -> tuple[Op, Op] | None:
    """(Mul by the stored h×1×1 temperature, the product q̂·k̂ᵀ before it), or None."""
    mul = producer.get(scores)
    if mul is None or mul.op != "Mul" or len(m.g.dynamic_inputs(mul)) != 1:
        return None
    const = next((m.g.const(t) for t in mul.inputs if t and t not in m.g.dynamic_inputs(mul)), None)
    qk = producer.get(m.g.dynamic_inputs(mul)[0])
    if const is None or not const.initializer or const.dims not in ((heads, 1, 1), (1, heads, 1, 1)) \
            or qk is None or qk.op != "MatMul" or len(m.g.dynamic_inputs(qk)) != 2:
        return None
    return mul, qk


def _match(m: Mapper, softmax: Op, producer: dict[str, Op]) -> Block | None:
    """The block around ``softmax`` if its scores are B×h×d×d, a temperature times a product of two activations."""
    dims = m.dims(softmax.inputs[0])
    if len(dims) != 4 or None in dims[1:] or dims[2] != dims[3] \
            or softmax.attrs.get("axis", -1) % 4 != 3:
        return None
    heads, d = dims[1], dims[3]
    found = _temperature(m, softmax.inputs[0], producer, heads)  # type: ignore[arg-type]
    av = m.sole_user(softmax.outputs[0], "MatMul")
    if found is None or av is None or av.inputs[0] != softmax.outputs[0] or len(m.g.dynamic_inputs(av)) != 2:
        return None
    mul, qk = found
    ops: list[Op] = [softmax, mul, qk, av]
    ends, reasons = [], []
    for tensor, normed in ((qk.inputs[0], True), (qk.inputs[1], True), (av.inputs[1], False)):
        walked, end, reason = _path(m, tensor, normed, producer)
        ops += walked
        reasons += [reason] if reason else []
        ends.append(_projection(m, end, producer))
    if reasons:
        ops += [o for e in ends if e is not None for o in e if o is not None]
        return ops, reasons[0], "", ""
    return _finish(m, ops, ends, (qk, av), (heads, d))  # type: ignore[arg-type]


def _path(m: Mapper, tensor: str, normed: bool, producer: dict[str, Op]) -> tuple[list[Op], Op | None, str]:
    """(the operators, the operator that made q, k or v, why its L2 norm is not one or "") from a product's operand
    back through views — and, for q and k, through the norm. Past a norm that is not one the walk goes on, so that
    the error names the block's first operator."""
    ops, end = _back(m, tensor, producer, _VIEWS)
    if not normed:
        return ops, end, ""
    norm = _token_norm(m, end, producer)
    if isinstance(norm, str):
        more, before = _back(m, end.inputs[0], producer, _VIEWS) if end is not None else ([], None)
        return [*ops, *([end] if end is not None else []), *more], before, norm
    more, end = _back(m, norm[1], producer, _VIEWS)
    return [*ops, *norm[0], *more], end, ""


def _token_norm(m: Mapper, op: Op | None, producer: dict[str, Op]) -> tuple[list[Op], str] | str:
    """(its operators, the tensor normalised) of x / max(‖x‖, ε) along the last axis, or why it is not one."""
    if op is None or op.op != "Div" or len(m.g.dynamic_inputs(op)) != 2:
        return "q or k is not divided by its norm (F.normalize)"
    x = op.inputs[0]
    steps, step = walk_back(op.inputs[1], producer, _NORM_STEPS, 3)
    walked = [op, *steps]
    dims = m.dims(x)
    axes = step.attrs.get("axes") if step is not None else None
    if step is not None and axes is None and len(step.inputs) > 1 and step.inputs[1]:
        const = m.g.const(step.inputs[1])
        axes = list(const.values) if const is not None and const.values is not None else None
    if step is None or step.op != "ReduceL2" or step.inputs[0] != x or not step.attrs.get("keepdims", 1) \
            or axes is None or [a % len(dims) for a in axes] != [len(dims) - 1]:
        return "q and k are not L2-normalised along their last axis (ReduceL2, ε floor, Div)"
    return [*walked, step], x


def _finish(m: Mapper, ops: list[Op], ends: list[tuple[Op, Op | None] | None], products: tuple[Op, Op],
            hd: tuple[int, int]) -> Block:
    """The block's keys once q, k and v are traced to their projections: one C×3C projection of N tokens, h·d = C,
    the norms (and both products) along the N tokens, the heads merged back into the output projection."""
    (qk, av), (heads, d) = products, hd
    if any(e is None for e in ends) or len({e[0].name for e in ends if e is not None}) != 1:
        return ops, "q, k and v are not all parts of one projection of a token sequence by a stored weight", "", ""
    mm, bias = ends[0]  # type: ignore[misc]
    ops += [o for o in (mm, bias) if o is not None]
    seq, width = sequence(m.dims(mm.inputs[0])), m.g.const(mm.inputs[1]).dims[1]  # type: ignore[union-attr]
    if seq is None or seq[1] != heads * d or width != 3 * seq[1] \
            or {m.dims(qk.inputs[0])[-1], m.dims(av.inputs[1])[-1]} != {seq[0]}:
        return ops, (f"a projection to {width} of {seq} tokens × channels, scores of {heads} heads of {d}: not q, k, v "
                     "of h·d = C channels each, normalised along the tokens"), "", ""
    output = _output(m, av.outputs[0], seq[0], seq[1])
    if isinstance(output, str):
        return ops, output, "", ""
    ops = list({o.name: o for o in (*ops, *output[0])}.values())
    reason = closed_block(m, ops, output[1])
    return ops, reason or {"heads": heads, "bias": bias is not None}, mm.inputs[0], output[1]


def _fourier(m: Mapper, op: Op) -> dict[str, Any] | None:
    """`pos_fourier`'s keys where ``op`` adds to an N×C sequence a constant folded from one stored-weight 1×1 Conv
    (2·hidden → C, with bias) of constants; None otherwise."""
    data = m.g.dynamic_inputs(op)
    seq = sequence(m.dims(data[0])) if len(data) == 1 and len(op.inputs) == 2 else None
    const = next((m.g.const(t) for t in op.inputs if t and t not in data), None)
    if seq is None or const is None or not const.weights or const.dims not in ((), (1, *seq), seq):
        return None
    stored = [m.g.const(t) for t in const.weights]
    weight = [c.dims for c in stored if c is not None and len(c.dims) == 4]
    bias = [c.dims for c in stored if c is not None and len(c.dims) == 1]
    if len(weight) != 1 or len(stored) != 2 or bias != [(seq[1],)] or weight[0][0] != seq[1] \
            or weight[0][2:] != (1, 1) or weight[0][1] % 2:
        return None
    return {"hidden": weight[0][1] // 2}


def _position(m: Mapper, op: Op, keys: dict[str, Any]) -> Callable[[], None]:
    def emit() -> None:
        m.emit(op, "pos_fourier", keys, (m.g.dynamic_inputs(op)[0],), op.outputs[0], part="pos_fourier")
    return emit
