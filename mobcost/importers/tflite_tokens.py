"""TFLite operators of the attention hybrids litert-torch writes (DeiT, MobileViT, EfficientFormer), translated into
the ONNX operators the token and attention mapping knows:

* LayerNorm over the last axis, which litert-torch writes as MEAN over that axis (and the batch's axis of 1) to a
  flat vector → RESHAPE → SQUARED_DIFFERENCE → MEAN → ADD ε → RSQRT → x·rstd + RESHAPE(c − mean·rstd) [→ MUL γ →
  ADD β]: one ONNX ``LayerNormalization`` over the last axis (the constant c is β when the converter folded a
  uniform β into it; γ = 1 and β = 0 leave no operator). Its other operators are consumed.
* BATCH_MATMUL → MatMul (AdjX / AdjY: a Transpose of the last two axes first); SQUARED_DIFFERENCE → Sub, then
  Mul of the difference by itself; RSQRT → Sqrt, then Reciprocal; SUB → Sub; GELU → Gelu.
* A rank-2 N×C tensor that is a batch-1 sequence flattened (a RESHAPE of a 1×… tensor, or a FULLY_CONNECTED of a
  1×N×I sequence without keep_num_dims) is viewed as 1×N×C, as the ONNX exporter leaves it; a FULLY_CONNECTED of
  such rows is the per-token `linear`.
* SLICE of a sequence's first token (x[:, :1]) → Gather of token 0 (``x[:, 0]``: the class token the head reads).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .model import Const, Op
from .tflite_file import Operator

if TYPE_CHECKING:
    from .tflite_graph import Translator


def _users(tr: Translator, index: int) -> list[Operator]:
    return [op for op in tr.model.operators if index in op.inputs and op.index not in tr.skip]


def _sole(tr: Translator, index: int, code: str) -> Operator | None:
    users = _users(tr, index)
    return users[0] if len(users) == 1 and users[0].code == code else None


def _scalar_const(tr: Translator, index: int) -> bool:
    t = tr.stored(index)
    return t is not None and math.prod(t.shape) == 1


def _other(op: Operator, index: int) -> int:
    return next((i for i in op.inputs if i != index), -1)


def layer_norm(tr: Translator, mean: Operator) -> bool:
    """The LayerNorm that starts at ``mean`` emitted as one LayerNormalization; False when it is not one."""
    chain = _norm_chain(tr, mean)
    if chain is None:
        return False
    ops, tail, affine = chain
    tr.skip.update(op.index for op in ops)
    x = mean.inputs[0]
    if viewed(tr, x) != tr.t[x].shape:
        tr.views[tail] = viewed(tr, x)  # type: ignore[assignment]
    inputs = (tr.data(mean, 0), *(tr.const(i, "ln", (tr.t[x].shape[-1],)) for i in affine))
    out = tr.name(tail)
    path, _ = tr.scope(mean)
    tr.ops.append(Op("LayerNormalization", f"{mean.where}, LayerNorm written out", inputs, (out,), {"axis": -1},
                     path, "layernormalization"))
    return True


def _norm_axes(tr: Translator, mean: Operator) -> bool:
    """MEAN over the last axis and only axes of 1 besides, of a tensor of rank 3 or more."""
    x = mean.inputs[0] if mean.inputs else -1
    axes = tr.values(mean, 1)
    if x < 0 or axes is None or len(tr.t[x].shape) < 3:
        return False
    shape = tr.t[x].shape
    axes_set = {int(a) % len(shape) for a in axes}
    return len(shape) - 1 in axes_set and all(shape[a] == 1 for a in axes_set - {len(shape) - 1})


def _norm_chain(tr: Translator, mean: Operator) -> tuple[list[Operator], int, tuple[int, ...]] | None:
    """[its operators], the tensor it ends at, (γ, β) stored tensors, or None."""
    if not _norm_axes(tr, mean):
        return None
    x, mu = mean.inputs[0], mean.outputs[0]
    rows = math.prod(tr.t[x].shape[:-1])
    mu_users = _users(tr, mu)
    shaped = next((u for u in mu_users if u.code == "RESHAPE"), None)
    scaled_mean = next((u for u in mu_users if u.code == "MUL"), None)
    if len(mu_users) != 2 or shaped is None or scaled_mean is None or math.prod(tr.t[mu].shape) != rows:
        return None
    sq = _sole(tr, shaped.outputs[0], "SQUARED_DIFFERENCE")
    if sq is None or set(sq.inputs) != {x, shaped.outputs[0]}:
        return None
    var = _sole(tr, sq.outputs[0], "MEAN")
    if var is None or tr.values(var, 1) != tr.values(mean, 1):
        return None
    eps = _sole(tr, var.outputs[0], "ADD")
    if eps is None or not _scalar_const(tr, _other(eps, var.outputs[0])):
        return None
    root = _sole(tr, eps.outputs[0], "RSQRT")
    if root is None:
        return None
    r = root.outputs[0]
    r_users = _users(tr, r)
    r_shaped = next((u for u in r_users if u.code == "RESHAPE"), None)
    if len(r_users) != 2 or r_shaped is None or scaled_mean not in r_users:
        return None
    scale = _sole(tr, r_shaped.outputs[0], "MUL")
    shift = _sole(tr, scaled_mean.outputs[0], "SUB")
    if scale is None or set(scale.inputs) != {x, r_shaped.outputs[0]} or shift is None \
            or shift.inputs[1] != scaled_mean.outputs[0] or not _scalar_const(tr, shift.inputs[0]):
        return None
    shift_shaped = _sole(tr, shift.outputs[0], "RESHAPE")
    end = _sole(tr, scale.outputs[0], "ADD")
    if shift_shaped is None or end is None or set(end.inputs) != {scale.outputs[0], shift_shaped.outputs[0]}:
        return None
    ops = [mean, shaped, scaled_mean, sq, var, eps, root, r_shaped, scale, shift, shift_shaped, end]
    tail, affine = end.outputs[0], ()
    gamma = _sole(tr, tail, "MUL")
    beta = _sole(tr, gamma.outputs[0], "ADD") if gamma is not None else None
    channels = tr.t[x].shape[-1]
    stored = [tr.stored(_other(o, t)) if o is not None else None
              for o, t in ((gamma, tail), (beta, gamma.outputs[0] if gamma else -1))]
    if gamma is not None and beta is not None and all(s is not None and math.prod(s.shape) == channels
                                                      and s.shape[-1] == channels for s in stored):
        ops += [gamma, beta]
        tail, affine = beta.outputs[0], (_other(gamma, end.outputs[0]), _other(beta, gamma.outputs[0]))
    return ops, tail, affine


def batch_matmul(tr: Translator, op: Operator) -> None:
    if len(op.inputs) != 2:
        raise tr.fail(op, f"{len(op.inputs)} inputs; BATCH_MATMUL takes 2")
    inputs = []
    for position, flag in enumerate(("AdjX", "AdjY")):
        source = tr.data(op, position)
        if op.options.get(flag):
            dims = tr.dims[source]
            moved = f"{source} transposed for {op.where}"
            tr.dims[moved] = (*dims[:-2], dims[-1], dims[-2])
            perm = [*range(len(dims) - 2), len(dims) - 1, len(dims) - 2]
            tr.ops.append(Op("Transpose", f"{op.where}, its {flag}", (source,), (moved,), {"perm": perm},
                             tr.scope(op)[0], "transpose"))
            source = moved
        inputs.append(source)
    tr.emit(op, "MatMul", tuple(inputs))


def _step(tr: Translator, op: Operator, kind: str, inputs: tuple[str, ...], what: str) -> str:
    """An intermediate ONNX operator of a translation, on a tensor of the output's dims."""
    out = f"{tr.name(op.outputs[0])} {what}"
    tr.dims[out] = tr.dims[tr.name(op.outputs[0])]
    tr.ops.append(Op(kind, f"{op.where}, its {what}", inputs, (out,), {}, tr.scope(op)[0], kind.lower()))
    return out


def squared_difference(tr: Translator, op: Operator) -> None:
    if len(op.inputs) != 2:
        raise tr.fail(op, f"{len(op.inputs)} inputs; SQUARED_DIFFERENCE takes 2")
    d = _step(tr, op, "Sub", (tr.data(op, 0), tr.data(op, 1)), "difference")
    tr.emit(op, "Mul", (d, d))


def rsqrt(tr: Translator, op: Operator) -> None:
    root = _step(tr, op, "Sqrt", (tr.data(op, 0),), "square root")
    tr.emit(op, "Reciprocal", (root,))


def _per_channel(tr: Translator, index: int, channels: int) -> bool:
    t = tr.stored(index)
    return t is not None and math.prod(t.shape) == channels and t.shape[-1] == channels


def batch_norm(tr: Translator, op: Operator) -> bool:
    """A BatchNorm the converter could not fold into a convolution (one before anything but a convolution:
    MobileNetV4's before its attention), written as SUB of the mean and MUL by γ/σ per channel [then ADD β]: ONNX's
    BatchNormalization, the mapping's standalone `bn`. False for any other SUB."""
    x = op.inputs[0]
    shape = tr.t[x].shape
    if len(shape) != 4 or x in tr.nchw or not _per_channel(tr, op.inputs[1], shape[-1]):
        return False
    scale = _sole(tr, op.outputs[0], "MUL")
    if scale is None or not _per_channel(tr, _other(scale, op.outputs[0]), shape[-1]):
        return False
    shift = _sole(tr, scale.outputs[0], "ADD")
    if shift is not None and not _per_channel(tr, _other(shift, scale.outputs[0]), shape[-1]):
        shift = None
    last = shift or scale
    tr.skip.update(o.index for o in (scale, last))
    c = (shape[-1],)
    gamma, mean = tr.const(_other(scale, op.outputs[0]), "bn", c), tr.const(op.inputs[1], "bn", c)
    beta = tr.const(_other(shift, scale.outputs[0]), "bn", c) if shift is not None else gamma
    path, _ = tr.scope(op)
    tr.ops.append(Op("BatchNormalization", f"{op.where}, a BatchNorm written out", (tr.name(x), gamma, beta, mean,
                                                                                      gamma),
                     (tr.name(last.outputs[0]),), {}, path, "batchnormalization"))
    return True


def sub(tr: Translator, op: Operator) -> None:
    if len(op.inputs) != 2:
        raise tr.fail(op, f"{len(op.inputs)} inputs; SUB takes 2")
    if op.inputs[0] >= 0 and op.inputs[1] >= 0 and batch_norm(tr, op):
        return
    tr.emit(op, "Sub", (tr.data(op, 0), tr.data(op, 1)), {}, int(op.options.get("FusedActivationFunction", 0)))


def gelu(tr: Translator, op: Operator) -> None:
    tr.emit(op, "Gelu", (tr.data(op, 0),))


def first_token(tr: Translator, op: Operator) -> bool:
    """SLICE of token 0 of a batch-1 1×N×C sequence (whole along the other axes): Gather of token 0, a 1×C
    vector, as ``x[:, 0]`` exports. False for any other slice."""
    x, begin, size = op.inputs[0], tr.values(op, 1), tr.values(op, 2)
    shape = tr.t[x].shape
    if len(shape) != 3 or shape[0] != 1 or shape[1] < 2 or begin != (0, 0, 0) \
            or size not in ((1, 1, shape[2]), (1, 1, -1), (-1, 1, -1), (-1, 1, shape[2])):
        return False
    out = tr.name(op.outputs[0])
    tr.dims[out] = (1, shape[2])
    index = f"{op.where} index"
    tr.consts[index] = Const((), (0,))
    tr.dims[index] = ()
    tr.emit(op, "Gather", (tr.data(op, 0), index), {"axis": 1})
    return True


def token_rows(tr: Translator, op: Operator) -> None:
    """Mark a RESHAPE's or FULLY_CONNECTED's N×C output (N > 1) from a batch-1 tensor as the 1×N×C sequence it
    is (see the module's docstring)."""
    x, out = op.inputs[0] if op.inputs else -1, op.outputs[0]
    shape = tr.t[out].shape
    if x < 0 or len(shape) != 2 or shape[0] < 2 or f"t{out}" in tr.dims:
        return
    source = tr.t[x].shape
    if (len(source) >= 3 and source[0] == 1) or x in tr.rows:
        tr.rows.add(out)


def viewed(tr: Translator, index: int) -> tuple[int | None, ...]:
    """The dims tensor ``index`` has in the graph (its view)."""
    return tr.dims[tr.name(index)]


def keep_view(tr: Translator, op: Operator) -> None:
    """An elementwise operator's output of its input's shape keeps the input's view of B×N×C sequences."""
    for out in op.outputs:
        shape = tr.t[out].shape
        for i in op.inputs:
            if i >= 0 and len(shape) == 3 and tr.t[i].shape == shape and not tr.t[i].const \
                    and viewed(tr, i) != shape and f"t{out}" not in tr.dims:
                tr.views[out] = viewed(tr, i)  # type: ignore[assignment]
                break


def regroup(tr: Translator, op: Operator) -> bool:
    """A RESHAPE between B×N×C sequences and the 1×(B·N)×C view litert-torch takes of them to normalise or
    project every token at once (MobileViT's P sequences of N tokens): the same tokens, so the output is the
    input in the view (or an earlier RESHAPE of the same input to those sequences) and no operator is written.
    False for any other reshape."""
    x, out = op.inputs[0], op.outputs[0]
    shape, source = tr.t[out].shape, viewed(tr, x)
    while len(source) > 3 and source[0] == 1:
        source = source[1:]
    if len(source) != 3 or None in source or source[0] == 1:
        return False
    b, n, c = source
    if shape == (1, b * n, c) or (shape == (b, n, c) and tr.t[x].shape != shape):
        twin = next((o.outputs[0] for o in tr.model.operators if o.index < op.index and o.code == "RESHAPE"
                     and o.inputs[:1] == (x,) and tr.t[o.outputs[0]].shape == source), None)
        if viewed(tr, x) == source:
            tr.alias[out] = x
        elif twin is not None:
            tr.alias[out] = twin
        else:
            return False
        return True
    return False


def _producer(tr: Translator, index: int) -> Operator | None:
    return next((o for o in tr.model.operators if index in o.outputs), None)


def requantized(tr: Translator, op: Operator) -> bool:
    """ai-edge-quantizer's requantization of a tensor another scale reads (ShuffleNetV2's passed-through half before
    its concat), or its dequantization for an operator left in float (SSD300's L2 normalisation): an operator it
    appends with an operator code the file stores as 0, ADD, of one input, whose output is the input's shape
    under the name ``…_quantized`` (int8 again) or ``…_dequant`` (float): a copy, no arithmetic."""
    x, y = tr.t[op.inputs[0]], tr.t[op.outputs[0]]
    return op.inputs[0] >= 0 and x.shape == y.shape and y.name.endswith(("_quantized", "_dequant"))


def _copied(tr: Translator, index: int) -> tuple[int, list[Operator]]:
    """``index`` followed forward through the quantizer's one-input ADD copies (dequantize, requantize)."""
    copies: list[Operator] = []
    user = _sole(tr, index, "ADD")
    while user is not None and len(user.inputs) == 1 and len(copies) < 2 and requantized(tr, user):
        copies.append(user)
        index = user.outputs[0]
        user = _sole(tr, index, "ADD")
    return index, copies


def softmax(tr: Translator, rmax: Operator) -> bool:
    """Softmax over the last axis written out, as the converter writes one over a single key (MobileViT's last
    stage at a small input: N = 1): REDUCE_MAX → [MAXIMUM by a constant] → [RESHAPE] → SUB from the scores → EXP
    → DIV by the sum (over one element: by itself, or by a SUM's RESHAPE), through the quantizer's copies: one
    ONNX Softmax of the scores. False when it is not one."""
    x, axes = rmax.inputs[0] if rmax.inputs else -1, tr.values(rmax, 1)
    if x < 0 or axes is None or [int(a) % len(tr.t[x].shape) for a in axes] != [len(tr.t[x].shape) - 1]:
        return False
    made = _producer(tr, x)
    scores = made.inputs[0] if made is not None and made.code == "ADD" and len(made.inputs) == 1 else x
    t, ops = _copied(tr, rmax.outputs[0])
    ops = [rmax, *ops]
    for code in ("MAXIMUM", "RESHAPE"):
        step = _sole(tr, t, code)
        if step is not None and (code == "RESHAPE" or _scalar_const(tr, _other(step, t))):
            t, more = _copied(tr, step.outputs[0])
            ops += [step, *more]
    sub_ = _sole(tr, t, "SUB")
    if sub_ is None or sub_.inputs[1] != t or sub_.inputs[0] not in (x, scores):
        return False
    t, more = _copied(tr, sub_.outputs[0])
    exp = _sole(tr, t, "EXP")
    if exp is None:
        return False
    e, last = _copied(tr, exp.outputs[0])
    users = _users(tr, e)
    div = next((u for u in users if u.code == "DIV" and u.inputs[0] == e), None)
    if div is None or not (div.inputs[1] == e and tr.t[x].shape[-1] == 1 and len(users) == 1):
        return False
    tr.skip.update(o.index for o in (*ops, sub_, *more, exp, *last, div))
    out = tr.name(div.outputs[0])
    tr.ops.append(Op("Softmax", f"{rmax.where}, a Softmax written out", (tr.name(x),), (out,), {"axis": -1},
                     tr.scope(rmax)[0], "softmax"))
    return True


def computed_product(tr: Translator, op: Operator) -> None:
    """A FULLY_CONNECTED by a computed O×I "weight" (MobileNetV4's multi-query A·V, V as the weight): x·Wᵀ, ONNX's
    Transpose of W, then MatMul, a product of two activations the attention mapping reads (and, outside
    attention, refuses)."""
    x, w = op.inputs[0], op.inputs[1]
    wshape, xshape = tr.t[w].shape, tr.t[x].shape if x >= 0 else ()
    if len(wshape) != 2 or not xshape or xshape[-1] != wshape[1] or (len(op.inputs) > 2 and op.inputs[2] >= 0):
        raise tr.fail(op, f"a product by a computed weight of shape {list(wshape)} (O×I) for an input of shape "
                          f"{list(xshape)}: only x·Wᵀ without a bias maps; nearest: attention")
    moved = f"{tr.name(w)} transposed for {op.where}"
    tr.dims[moved] = (wshape[1], wshape[0])
    tr.ops.append(Op("Transpose", f"{op.where}, its weight transposed", (tr.data(op, 1),), (moved,),
                     {"perm": [1, 0]}, tr.scope(op)[0], "transpose"))
    tr.emit(op, "MatMul", (tr.data(op, 0), moved), {}, int(op.options.get("FusedActivationFunction", 0)))
