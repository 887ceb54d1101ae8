"""Token sequences (ViT, DeiT): a map read as tokens (``flatten(2).transpose(1, 2)``, or ``permute(0, 2, 3, 1)``
then a reshape), the patch embedding (a p×p convolution of stride p read as tokens), class tokens concatenated
before the sequence, a stored position embedding added to it, LayerNorm and Linear layers on every token, and
the sequence pooled to one vector (its first token, or the mean over tokens).

Each handler here takes a B×N×C tensor (or the map before one); anything else goes on to the handler a CNN
uses for that operator, so every pattern those map is unchanged. Multi-head attention is found before the walk
(``attention.py``)."""

from __future__ import annotations

from .attention_levit import token_bn
from .layout import channels_last, passthrough
from .layout import transpose as map_transpose
from .model import Op
from .ops import HANDLERS, Handler, conv, elementwise, layer_norm, matmul, reduce
from .patches import map_fold, map_unfold
from .patterns import Mapper, sequence, shown
from .untokens import map_untokens
from .windows import channels_last_view, map_merge


def _follow(m: Mapper, tensor: str, op_type: str) -> tuple[Op | None, tuple[Op, ...]]:
    """The one operator of ``op_type`` reading ``tensor``, through the dynamo exporter's Identity copies."""
    copies: list[Op] = []
    user = m.sole_user(tensor)
    while user is not None and user.op == "Identity":
        copies.append(user)
        user = m.sole_user(user.outputs[0])
    return (user, tuple(copies)) if user is not None and user.op == op_type else (None, ())


def _tokens_chain(m: Mapper, first: Op) -> tuple[tuple[Op, ...], str] | None:
    """The operators that read a B×C×H×W map as B×(H·W)×C tokens, row by row, starting at ``first``, and the
    sequence they end at: Reshape to B×C×(H·W) then Transpose(0, 2, 1), or Transpose(0, 2, 3, 1) then Reshape."""
    src = m.dims(first.inputs[0])
    if len(src) != 4 or None in src[1:]:
        return None
    _, c, h, w = src
    if first.op == "Reshape" and m.dims(first.outputs[0])[1:] == (c, h * w):  # type: ignore[operator]
        second, copies = _follow(m, first.outputs[0], "Transpose")
        ok = second is not None and list(second.attrs.get("perm", [])) == [0, 2, 1]
    elif first.op == "Transpose" and list(first.attrs.get("perm", [])) == [0, 2, 3, 1]:
        second, copies = _follow(m, first.outputs[0], "Reshape")
        ok = second is not None
    else:
        return None
    if not ok or second is None or sequence(m.dims(second.outputs[0])) != (h * w, c):  # type: ignore[operator]
        return None
    return (first, *copies, second), second.outputs[0]


def map_tokens(m: Mapper, op: Op) -> bool:
    """``op`` starts reading a map as tokens: the `tokens` layer (no cost)."""
    chain = _tokens_chain(m, op)
    if chain is None:
        return False
    m.emit(op, "tokens", {}, (op.inputs[0],), chain[1], chain[0][1:], part="tokens")
    return True


def reshape(m: Mapper, op: Op) -> None:
    if not (map_tokens(m, op) or map_unfold(m, op) or map_fold(m, op) or map_merge(m, op) or token_bn_alone(m, op)):
        passthrough(m, op)


def transpose(m: Mapper, op: Op) -> None:
    if map_tokens(m, op) or map_unfold(m, op) or map_fold(m, op) or map_merge(m, op) or map_untokens(m, op):
        return
    # a channels-last block (ConvNeXt), else the map held channels-last across several operators (Swin, TinyViT)
    if list(op.attrs.get("perm", [])) != [0, 2, 3, 1] or not (channels_last(m, op) or channels_last_view(m, op)):
        map_transpose(m, op)


def patch_conv(m: Mapper, op: Op) -> None:
    """A p×p convolution of stride p, no padding, read as tokens right after: `patch_embed` (ViT's
    ``PatchEmbed``); any other convolution is a `conv`/`dw`/`pw` as in a CNN."""
    weight = m.g.const(op.inputs[1]) if len(op.inputs) > 1 else None
    user = m.sole_user(op.outputs[0])
    chain = _tokens_chain(m, user) if user is not None and user.inputs[0] == op.outputs[0] else None
    if weight is None or len(weight.dims) != 4 or chain is None:
        conv(m, op)
        return
    p = weight.dims[2]
    square = weight.dims[3] == p and list(op.attrs.get("strides", [1, 1])) == [p, p]
    plain = not any(op.attrs.get("pads", [0])) and set(op.attrs.get("dilations", [1])) == {1} \
        and op.attrs.get("group", 1) == 1 and op.attrs.get("auto_pad", "NOTSET") in ("NOTSET", "", "VALID") \
        and not m.pads.get(op.inputs[0])
    if not (square and plain):
        conv(m, op)
        return
    m.fits(op, weight.dims[1], m.dims(op.inputs[0])[1], f"a {shown(weight.dims)} weight")
    bias = len(op.inputs) > 2 and bool(op.inputs[2])
    keys = {"out": weight.dims[0], "patch": p, "bias": bias}
    m.emit(op, "patch_embed", keys, (op.inputs[0],), chain[1], chain[0])


def concat(m: Mapper, op: Op) -> None:
    """Stored 1×k×C tokens concatenated before a B×N×C sequence (ViT's class token; DeiT's distillation token
    is a second one): one `cls_token` per token, C params each. Other concats: `concat` of channels."""
    out, data = op.outputs[0], m.g.dynamic_inputs(op)
    seq = sequence(m.dims(data[0])) if len(data) == 1 else None
    inputs = [t for t in op.inputs if t]
    consts = [m.g.const(t) for t in inputs[:-1]]
    tokens = [c.dims[1] for c in consts if c is not None and len(c.dims) == 3 and c.dims[0] == 1 and
              seq is not None and c.dims[2] == seq[1]]
    if seq is None or inputs[-1] != data[0] or len(tokens) != len(consts) or not tokens \
            or op.attrs.get("axis", 0) % 3 != 1:
        HANDLERS["Concat"](m, op)
        return
    n, c = seq
    if sequence(m.dims(out)) is None:  # shape inference lost N at the exporter's expand(B, -1, -1)
        m.g.dims[out] = (1, n + sum(tokens), c)
    current = data[0]
    for i in range(sum(tokens)):
        step = out if i == sum(tokens) - 1 else f"{out}#token{i}"
        m.emit(op, "cls_token", {}, (current,), step, part="cls_token")
        current = step


def add(m: Mapper, op: Op) -> None:
    """A stored N×C (or 1×N×C) table added to an N×C sequence: `pos_embed`, N·C params. Other sums as a CNN's."""
    data = m.g.dynamic_inputs(op)
    other = next((t for t in op.inputs if t and t not in data), "")
    const = m.g.const(other) if other else None
    seq = sequence(m.dims(data[0])) if len(data) == 1 and len(op.inputs) == 2 else None
    if seq is not None and const is not None and const.initializer and const.dims in ((1, *seq), seq):
        m.emit(op, "pos_embed", {}, (data[0],), op.outputs[0], part="pos_embed")
        return
    elementwise(m, op)


def token_matmul(m: Mapper, op: Op) -> None:
    """A B×N×C sequence times a stored C×O weight (+ an O bias, + an activation): `linear`, one FC per token."""
    weight = m.g.const(op.inputs[1])
    seq = sequence(m.dims(op.inputs[0]))
    if seq is None or weight is None or len(weight.dims) != 2:
        matmul(m, op)
        return
    m.fits(op, weight.dims[0], seq[1], f"a {shown(weight.dims)} weight")
    tail, bias = op.outputs[0], ()
    plus = m.sole_user(tail, "Add")
    other = next((t for t in plus.inputs if t != tail), "") if plus is not None else ""
    const = m.g.const(other) if other else None
    if plus is not None and const is not None and const.dims in ((weight.dims[1],), (1, 1, weight.dims[1])):
        tail, bias = plus.outputs[0], (plus,)
    norm = token_bn(m, tail)  # LeViT's LinearNorm: Flatten → BatchNormalization → Reshape
    tail, normed = (norm[1], norm[0]) if norm else (tail, ())
    _, act, tail, more = m.fold_tail(tail, bn=False)
    keys = {"out": weight.dims[1], "bias": bool(bias), "act": act, **({"bn": True} if norm else {})}
    m.emit(op, "linear", keys, (op.inputs[0],), tail, (*bias, *normed, *more))


def token_bn_alone(m: Mapper, op: Op) -> bool:
    """``op`` flattens a sequence to B·N×C for a BatchNorm over its channels, reshaped back after (LeViT's
    BatchNorm1d on the tokens, alone): `bn`."""
    norm = token_bn(m, op.inputs[0]) if m.sole_user(op.inputs[0]) is op else None
    if norm is None:
        return False
    _, act, tail, more = m.fold_tail(norm[1], bn=False)
    m.emit(norm[0][1], "bn", {"act": act}, (op.inputs[0],), tail, (op, norm[0][2], *more))
    return True


def token_flatten(m: Mapper, op: Op) -> None:
    if not token_bn_alone(m, op):
        passthrough(m, op)


def token_norm(m: Mapper, op: Op) -> None:
    """LayerNorm over the channels of every token (``nn.LayerNorm(C)`` on B×N×C): `ln`."""
    seq = sequence(m.dims(op.inputs[0]))
    scale = m.g.const(op.inputs[1]) if len(op.inputs) > 1 and op.inputs[1] else None
    if seq is None or op.attrs.get("axis", -1) % 3 != 2 or (scale is not None and scale.dims != (seq[1],)):
        layer_norm(m, op)
        return
    _, act, tail, folded = m.fold_tail(op.outputs[0], bn=False)
    m.emit(op, "ln", {"act": act}, (op.inputs[0],), tail, folded)


def gather(m: Mapper, op: Op) -> None:
    """``x[:, 0]`` of a sequence: its first (class) token, `pool_tokens` (mode cls)."""
    index = m.g.const(op.inputs[1]) if len(op.inputs) > 1 else None
    seq = sequence(m.dims(op.inputs[0]))
    if seq is None or op.attrs.get("axis", 0) % 3 != 1 or index is None or index.dims != () or index.scalar != 0:
        m.leave_out(op, f"Gather along axis {op.attrs.get('axis', 0)} of {shown(m.dims(op.inputs[0]))}: only the "
                        "first token of a sequence maps (pool_tokens, mode cls)")
        return
    m.emit(op, "pool_tokens", {"mode": "cls"}, (op.inputs[0],), op.outputs[0], part="pool")


def token_mean(m: Mapper, op: Op) -> None:
    """The mean over a sequence's tokens (``x.mean(dim=1)``): `pool_tokens` (mode mean); with keepdims, the
    reshape to a vector after it is part of it. The mean over its channels that starts a LayerNorm written out
    (below opset 17): `ln`."""
    seq = sequence(m.dims(op.inputs[0]))
    axes = op.attrs.get("axes")
    if axes is None and len(op.inputs) > 1 and op.inputs[1]:
        const = m.g.const(op.inputs[1])
        axes = const.values if const is not None else None
    if seq is not None and op.op == "ReduceMean" and axes is not None and [a % 3 for a in axes] == [2]:
        norm = _decomposed_norm(m, op)
        if norm is not None:
            _, act, tail, folded = m.fold_tail(norm[1], bn=False)
            m.emit(op, "ln", {"act": act}, (op.inputs[0],), tail, (*norm[0], *folded))
            return
    if seq is None or op.op != "ReduceMean" or axes is None or [a % 3 for a in axes] != [1]:
        reduce(m, op)
        return
    tail, folded = op.outputs[0], ()
    if op.attrs.get("keepdims", 1):
        flat = m.sole_user(tail)
        if flat is None or flat.op not in ("Squeeze", "Reshape", "Flatten") or m.dims(flat.outputs[0]) != (1, seq[1]):
            m.leave_out(op, f"a token mean kept as {shown(m.dims(tail))}: only its vector maps (pool_tokens)")
            return
        tail, folded = flat.outputs[0], (flat,)
    m.emit(op, "pool_tokens", {"mode": "mean"}, (op.inputs[0],), tail, folded, part="pool")


def _decomposed_norm(m: Mapper, mean: Op) -> tuple[tuple[Op, ...], str] | None:
    """LayerNorm as exporters write it below opset 17: (x − mean) / √(mean((x − mean)²) + ε) · γ + β over the
    channels, γ and β stored per channel (``ln`` counts both). Its operators after ``mean`` and its output."""
    x, ops = mean.inputs[0], []
    sub = m.sole_user(mean.outputs[0], "Sub")
    if sub is None or list(sub.inputs) != [x, mean.outputs[0]] or len(m.g.users(sub.outputs[0])) != 2:
        return None
    square = next((u for u in m.g.users(sub.outputs[0]) if _squares(m, u)), None)
    div = next((u for u in m.g.users(sub.outputs[0]) if u.op == "Div" and u.inputs[0] == sub.outputs[0]), None)
    if square is None or div is None:
        return None
    ops, t = [sub, square], square.outputs[0]
    for kind in ("ReduceMean", "Add", "Sqrt"):  # the variance over the same axis, + ε, its root
        step = m.sole_user(t, kind)
        if step is None or (kind == "Add" and not any(m.scalar(i) for i in step.inputs)) \
                or (kind == "ReduceMean" and step.attrs.get("axes") != mean.attrs.get("axes")):
            return None
        ops.append(step)
        t = step.outputs[0]
    if div.inputs[1] != t:
        return None
    ops.append(div)
    t, c = div.outputs[0], m.dims(x)[-1]
    for kind in ("Mul", "Add"):  # γ, then β: both, or the spec's ln would count params the file lacks
        step = m.sole_user(t, kind)
        const = next((m.g.const(i) for i in step.inputs if i != t), None) if step is not None else None
        if const is None or not const.initializer or const.dims != (c,):
            return None
        ops.append(step)
        t = step.outputs[0]
    return tuple(ops), t


def _squares(m: Mapper, op: Op) -> bool:
    """d² as Pow(d, 2) or Mul(d, d)."""
    if op.op == "Mul":
        return len(op.inputs) == 2 and op.inputs[0] == op.inputs[1]
    exponent = m.g.const(op.inputs[1]) if op.op == "Pow" and len(op.inputs) == 2 else None
    return exponent is not None and exponent.scalar == 2


def token_scale(m: Mapper, op: Op) -> None:
    """A sequence times a stored weight per channel (C or 1×1×C: EfficientFormer's and CaiT's layer scale γ·x on
    B×N×C): `layerscale`, C params. Other products as a CNN's."""
    data = m.g.dynamic_inputs(op)
    other = next((t for t in op.inputs if t and t not in data), "")
    const = m.g.const(other) if other else None
    seq = sequence(m.dims(data[0])) if len(data) == 1 and len(op.inputs) == 2 else None
    if seq is not None and const is not None and const.initializer and const.dims in ((seq[1],), (1, 1, seq[1])):
        m.emit(op, "layerscale", {}, (data[0],), op.outputs[0])
        return
    elementwise(m, op)


TOKENS: dict[str, Handler] = {
    "Conv": patch_conv, "Reshape": reshape, "Transpose": transpose, "Concat": concat, "Add": add,
    "MatMul": token_matmul, "LayerNormalization": token_norm, "Gather": gather, "ReduceMean": token_mean,
    "Mul": token_scale, "Flatten": token_flatten,
}
