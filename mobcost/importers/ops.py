"""One handler per ONNX operator type that costs or shapes something: convolutions, fully connected layers,
pooling, joins and activations. Channel splits, shuffles, reshapes and pass-throughs are in ``layout.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..layers import ACTIVATIONS, REGISTRY
from .model import Op
from .norms import difference
from .patterns import ACT_OPS, Mapper, chw, layer_shape, shown

Handler = Callable[[Mapper, Op], None]
_ISSUE12 = "not in the vocabulary yet"


def _pair(h: int, w: int) -> int | list[int]:
    """A spec's size value: one integer when height and width agree, else [height, width]."""
    return h if h == w else [h, w]


def _non_square() -> bool:
    """Whether this mobcost's spec takes [height, width] kernels and strides (issue 12's non-square work)."""
    return REGISTRY["conv"].keys["kernel"].kind == "size"


def window(m: Mapper, op: Op, kernel: tuple[int, int], *, conv: bool = False
           ) -> tuple[Any, Any, Any, int] | str:
    """(kernel, stride, padding, dilation) of a 2-D convolution (``conv``) or pool as spec values — an integer
    when height and width agree, else [height, width]; a convolution's padding may also be TensorFlow's
    ``same`` or [[top, bottom], [left, right]] — or why mobcost cannot express it."""
    kh, kw = kernel
    strides = list(op.attrs.get("strides", [1, 1]))
    dilations = list(op.attrs.get("dilations", [1, 1]))
    if (kh != kw or len(set(strides)) != 1) and not _non_square():
        return f"a {kh}×{kw} kernel with strides {strides}: non-square kernels and strides are {_ISSUE12}"
    if len(set(dilations)) != 1 or (dilations[0] != 1 and not conv):
        return f"dilation {dilations}: only an equal dilation of a convolution maps (conv `dilation`)"
    d = dilations[0]
    span = (d * (kh - 1) + 1, d * (kw - 1) + 1)
    pads = _pads(m, op, span, (strides[0], strides[1]))
    if isinstance(pads, str):
        return pads
    extra = m.pads.get(op.inputs[0], (0, 0, 0, 0))
    top, left, bottom, right = (p + e for p, e in zip(pads, extra, strict=True))
    k, s = _pair(kh, kw), _pair(strides[0], strides[1])
    if top == bottom and left == right and (top == left or _non_square()):
        return k, s, _pair(top, left), d
    source = m.alias.get(op.inputs[0], op.inputs[0]) if any(extra) else op.inputs[0]  # the map before a Pad
    if [top, left, bottom, right] == _tf_same(m, source, span, (strides[0], strides[1])):
        return k, s, "same", d
    if _non_square():
        return k, s, [[top, bottom], [left, right]], d
    return f"padding {pads} (top, left, bottom, right): padding that differs before and after is {_ISSUE12}"


def _pads(m: Mapper, op: Op, span: tuple[int, int], stride: tuple[int, int]) -> list[int] | str:
    auto = op.attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        return list(op.attrs.get("pads", [0, 0, 0, 0]))
    if auto == "VALID":
        return [0, 0, 0, 0]
    x, y = m.dims(op.inputs[0]), m.dims(op.outputs[0])
    if len(x) != 4 or len(y) != 4 or None in (x[2], x[3], y[2], y[3]):
        return f"auto_pad {auto} on an input of unknown size"
    totals = [max(0, (y[i] - 1) * stride[i - 2] + span[i - 2] - x[i]) for i in (2, 3)]  # type: ignore[operator]
    before = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in totals]
    return [before[0], before[1], totals[0] - before[0], totals[1] - before[1]]


def _tf_same(m: Mapper, tensor: str, span: tuple[int, int], stride: tuple[int, int]) -> list[int] | None:
    """TensorFlow's "same" padding of this input (top, left, bottom, right): output ⌈H/stride⌉, the odd pixel
    at the bottom and right — the spec's ``padding: same``."""
    x = m.dims(tensor)
    if len(x) != 4 or None in x[2:]:
        return None
    totals = [max(0, (-(-d // st) - 1) * st + sp - d) for d, st, sp in zip(x[2:], stride, span, strict=True)]  # type: ignore
    return [totals[0] // 2, totals[1] // 2, totals[0] - totals[0] // 2, totals[1] - totals[1] // 2]


def conv(m: Mapper, op: Op) -> None:
    weight = m.g.const(op.inputs[1])
    if weight is None or len(weight.dims) != 4:
        m.leave_out(op, "only 2-D convolutions with stored weights map (to conv, dw or pw)")
        return
    geometry = window(m, op, (weight.dims[2], weight.dims[3]), conv=True)
    if isinstance(geometry, str):
        m.leave_out(op, geometry)
        return
    k, s, p, d = geometry
    x, out, groups = op.inputs[0], weight.dims[0], op.attrs.get("group", 1)
    cin = m.dims(x)[1]
    m.fits(op, weight.dims[1] * groups, cin, f"a {shown(weight.dims)} weight in {groups} group(s)")
    bn, act, tail, folded = m.fold_tail(op.outputs[0], bn=True)
    dilation = {"dilation": d} if d != 1 else {}
    if groups == 1 and k == 1 and p == 0 and isinstance(s, int):
        kind, keys = "pw", {"out": out, "stride": s}
    elif groups > 1 and groups == cin == out:
        kind, keys = "dw", {"kernel": k, "stride": s, "padding": p, **dilation}
    else:
        kind, keys = "conv", {"out": out, "kernel": k, "stride": s, "padding": p, **dilation, "groups": groups}
    keys.update(bias=_has_bias(m, op, 2), bn=bn, act=act)
    m.emit(op, kind, keys, (x,), tail, folded)


def _has_bias(m: Mapper, op: Op, index: int) -> bool:
    """A bias the file holds. A bias the exporter computes as zeros (the dynamo exporter's ``Expand`` of 0
    for a bias-less torch conv) is no parameter."""
    name = op.inputs[index] if len(op.inputs) > index else ""
    if not name:
        return False
    const = m.g.const(name)
    if const is None or const.initializer or const.values is None:
        return True
    return any(v != 0 for v in const.values)


def gemm(m: Mapper, op: Op) -> None:
    weight = m.g.const(op.inputs[1])
    x = op.inputs[0]
    if weight is None or len(weight.dims) != 2 or op.attrs.get("transA", 0) or len(m.dims(x)) != 2:
        m.leave_out(op, "only a Gemm of a flattened input and a stored weight maps (to fc)")
        return
    out, features = weight.dims if op.attrs.get("transB", 0) else weight.dims[::-1]
    m.fits(op, features, m.dims(x)[1], f"a {shown(weight.dims)} weight (transB={op.attrs.get('transB', 0)})")
    _fc(m, op, out, _has_bias(m, op, 2), op.outputs[0])


def matmul(m: Mapper, op: Op) -> None:
    weight = m.g.const(op.inputs[1])
    x = op.inputs[0]
    if weight is None or len(weight.dims) != 2 or len(m.dims(x)) != 2:
        m.leave_out(op, "a product of two data tensors (attention) or of a tensor above rank 2: only a MatMul "
                        "of a flattened input and a stored weight maps; nearest: fc")
        return
    m.fits(op, weight.dims[0], m.dims(x)[1], f"a {shown(weight.dims)} weight")
    tail, bias = op.outputs[0], ()
    add = m.sole_user(tail, "Add")
    if add is not None:
        other = next((t for t in add.inputs if t != tail), "")
        const = m.g.const(other)
        if const is not None and chw(const.dims if len(const.dims) == 2 else (1, *const.dims)):
            tail, bias = add.outputs[0], (add,)
    _fc(m, op, weight.dims[1], bool(bias), tail, bias)


def _fc(m: Mapper, op: Op, out: int, bias: bool, tail: str, folded: tuple[Op, ...] = ()) -> None:
    _, act, tail, more = m.fold_tail(tail, bn=False)
    m.emit(op, "fc", {"out": out, "bias": bias, "act": act}, (op.inputs[0],), tail, (*folded, *more))


def pool(m: Mapper, op: Op) -> None:
    kernel = list(op.attrs.get("kernel_shape", []))
    if len(kernel) != 2:
        m.leave_out(op, "only 2-D pooling maps")
        return
    geometry = window(m, op, (kernel[0], kernel[1]))
    if isinstance(geometry, str):
        m.leave_out(op, geometry)
        return
    k, s, p, _ = geometry
    keys: dict[str, Any] = {"kernel": k, "stride": s, "padding": p}
    ceil = bool(op.attrs.get("ceil_mode", 0))
    if op.op == "MaxPool":
        m.emit(op, "maxpool", {**keys, "ceil_mode": ceil}, (op.inputs[0],), op.outputs[0])
    elif ceil and _ceil_matters(m, op, k, s, p):
        m.leave_out(op, f"ceil-mode average pooling is {_ISSUE12}; nearest: avgpool (floor rounding)")
    else:
        m.emit(op, "avgpool", keys, (op.inputs[0],), op.outputs[0])


def _ceil_matters(m: Mapper, op: Op, k: Any, s: Any, p: Any) -> bool:
    """Whether ceil rounding gives another output size than floor rounding on this input."""
    x, y = m.dims(op.inputs[0]), m.dims(op.outputs[0])
    if len(x) != 4 or len(y) != 4 or None in (*x[2:], *y[2:]):
        return True
    if p == "same":
        return False  # output ⌈H/stride⌉ either way
    k, s = ([v, v] if isinstance(v, int) else v for v in (k, s))
    sides = [[p, p], [p, p]] if isinstance(p, int) else [v if isinstance(v, list) else [v, v] for v in p]
    return any(y[i] != (x[i] + sum(sides[i - 2]) - k[i - 2]) // s[i - 2] + 1 for i in (2, 3))  # type: ignore


def global_pool(m: Mapper, op: Op) -> None:
    x = op.inputs[0]
    if op.op in ("GlobalAveragePool", "ReduceMean"):
        m.emit(op, "avgpool", {}, (x,), op.outputs[0])
        return
    dims = chw(m.dims(x))
    if dims is None or (dims[1] != dims[2] and not _non_square()):
        m.leave_out(op, f"global max pooling of a non-square map is {_ISSUE12}")
        return
    m.emit(op, "maxpool", {"kernel": _pair(dims[1], dims[2])}, (x,), op.outputs[0])


def reduce(m: Mapper, op: Op) -> None:
    """ReduceMean / ReduceMax over H and W: global pooling (the dynamo exporter's ``mean(dim=(2, 3))``)."""
    axes = op.attrs.get("axes")
    if axes is None and len(op.inputs) > 1 and op.inputs[1]:
        const = m.g.const(op.inputs[1])
        axes = const.values if const is not None else None
    rank = len(m.dims(op.inputs[0]))
    if axes is None or rank != 4 or sorted(a % rank for a in axes) != [2, 3]:
        m.leave_out(op, f"{op.op} over axes {axes}: only a reduction over H×W (global pooling) maps")
        return
    global_pool(m, op)


def add(m: Mapper, op: Op) -> None:
    data = m.g.dynamic_inputs(op)
    if len(data) != len([t for t in op.inputs if t]):
        m.leave_out(op, "adding a constant tensor: only a bias of a conv or fc layer maps (`bias: true`)")
        return
    shapes = {layer_shape(m.dims(t)) for t in data}  # a residual sum of token sequences too
    if len(data) < 2 or len(shapes) != 1 or None in shapes:
        m.leave_out(op, f"a broadcasting sum of {', '.join(map(str, shapes))}: `add` needs equal shapes")
        return
    _, act, tail, folded = m.fold_tail(op.outputs[0], bn=False)
    m.emit(op, "add", {"from": tuple(data), "act": act}, tuple(data), tail, folded)


def mul(m: Mapper, op: Op) -> None:
    data = m.g.dynamic_inputs(op)
    if len(data) == 1 and layer_scale(m, op, data[0], channels_last=False):
        return
    if len(data) != 2:
        m.leave_out(op, "scaling by a constant tensor: only one stored weight per channel maps (layerscale); "
                        "nearest: bn")
        return
    a, b = (chw(m.dims(t)) for t in data)
    if a is not None and b is not None and b != a and a[0] == b[0] and a[1:] == (1, 1):
        data = [data[1], data[0]]  # gate first in the file: x · gate in the spec
        a, b = b, a
    if a is None or b is None or not (a == b or (a[0] == b[0] and b[1:] == (1, 1))):
        m.leave_out(op, f"a product of {a} and {b}: `mul` needs equal shapes or a C×1×1 gate")
        return
    m.emit(op, "mul", {"from": tuple(data)}, tuple(data), op.outputs[0])


def layer_scale(m: Mapper, op: Op, x: str, *, channels_last: bool) -> bool:
    """x · γ with γ a stored weight per channel (C×1×1 or 1×C×1×1; C in a channels-last block): `layerscale`."""
    const = next((m.g.const(t) for t in op.inputs if t and t != x), None)
    dims = m.dims(x)
    if const is None or not const.initializer or len(dims) != 4 or len(op.inputs) != 2:
        return False
    c = dims[3] if channels_last else dims[1]
    shape = tuple(d for d in const.dims)
    per_channel = shape in ((c,), (1, c)) if channels_last else shape in ((c, 1, 1), (1, c, 1, 1))
    if not per_channel:
        return False
    m.emit(op, "layerscale", {}, (x,), op.outputs[0])
    return True


def conv_transpose(m: Mapper, op: Op) -> None:
    """ConvTranspose → `deconv`: square kernel and stride, equal padding, no dilation."""
    weight = m.g.const(op.inputs[1])
    x, y = m.dims(op.inputs[0]), m.dims(op.outputs[0])
    if weight is None or len(weight.dims) != 4 or len(x) != 4 or len(y) != 4 or None in (*x[1:], *y[1:]):
        m.leave_out(op, "only a 2-D transposed convolution with stored weights and known shapes maps (deconv)")
        return
    groups = op.attrs.get("group", 1)
    m.fits(op, weight.dims[0], x[1], f"a {shown(weight.dims)} weight")
    kh, kw = weight.dims[2], weight.dims[3]
    strides = list(op.attrs.get("strides", [1, 1]))
    pads = list(op.attrs.get("pads", [0, 0, 0, 0]))
    dilations = list(op.attrs.get("dilations", [1, 1]))
    auto = op.attrs.get("auto_pad", "NOTSET")
    if kh != kw or len(set(strides)) != 1 or len(set(pads)) != 1 or set(dilations) != {1} \
            or auto not in ("NOTSET", ""):
        m.leave_out(op, f"a transposed convolution with kernel {kh}×{kw}, strides {strides}, pads {pads}, "
                        f"dilations {dilations}, auto_pad {auto}: only square kernels and strides, equal padding "
                        "and no dilation map (deconv)")
        return
    k, s, p = kh, strides[0], pads[0]
    output_padding = y[2] - ((x[2] - 1) * s - 2 * p + k)  # type: ignore[operator]
    if output_padding != y[3] - ((x[3] - 1) * s - 2 * p + k) or not 0 <= output_padding < s:  # type: ignore
        m.leave_out(op, f"a transposed convolution from {shown(x)} to {shown(y)}: the output size is not "
                        "(H − 1)·stride − 2·padding + kernel + output_padding with output_padding below stride")
        return
    bn, act, tail, folded = m.fold_tail(op.outputs[0], bn=True)
    keys = {"out": weight.dims[1] * groups, "kernel": k, "stride": s, "padding": p, "output_padding": output_padding,
            "groups": groups, "bias": _has_bias(m, op, 2), "bn": bn, "act": act}
    m.emit(op, "deconv", keys, (op.inputs[0],), tail, folded)


def layer_norm(m: Mapper, op: Op) -> None:
    """LayerNormalization over the channels of a flattened C-vector (N×C): `ln`. Channels-last blocks
    (N×H×W×C) are mapped from their Transpose (see ``layout.channels_last``)."""
    dims = m.dims(op.inputs[0])
    if len(dims) != 2 or op.attrs.get("axis", -1) % 2 != 1:
        m.leave_out(op, f"LayerNormalization of {shown(dims)} over axis {op.attrs.get('axis', -1)}: only LayerNorm "
                        "over the channels of each pixel maps (ln; channels last between two Transposes, as in "
                        "ConvNeXt)")
        return
    _, act, tail, folded = m.fold_tail(op.outputs[0], bn=False)
    m.emit(op, "ln", {"act": act}, (op.inputs[0],), tail, folded)


def concat(m: Mapper, op: Op) -> None:
    data = m.g.dynamic_inputs(op)
    rank = len(m.dims(op.outputs[0]))
    if len(data) != len([t for t in op.inputs if t]) or rank != 4 or op.attrs.get("axis", 1) % rank != 1:
        m.leave_out(op, f"Concat along axis {op.attrs.get('axis')}: only a channel concat of data tensors maps")
        return
    if len(data) == 1:
        m.alias[op.outputs[0]] = op.inputs[0]
        m.done.add(op.name)
        return
    m.emit(op, "concat", {"from": tuple(data)}, tuple(data), op.outputs[0])


def batchnorm(m: Mapper, op: Op) -> None:
    """A BatchNorm after anything but a convolution (pre-activation designs): the standalone `bn` layer."""
    _, act, tail, folded = m.fold_tail(op.outputs[0], bn=False)
    m.emit(op, "bn", {"act": act}, (op.inputs[0],), tail, folded)


def elementwise(m: Mapper, op: Op) -> None:
    """Activations (alone or written as several operators), joins, and scaling by a scalar constant."""
    for x in m.g.dynamic_inputs(op):
        match = m.match_act(x)
        if match is not None and op.name in {o.name for o in match[2]}:
            _activation(m, op, x, match)
            return
    data = m.g.dynamic_inputs(op)
    scalars = [t for t in op.inputs if t and t not in data and m.scalar(t)]
    if op.op in ACT_OPS:
        act = m.unary_act(op)
        _activation(m, op, op.inputs[0], (act, op.outputs[0], (op,)) if act else None)
    elif op.op in ("Add", "Sub", "Mul", "Div") and len(data) == 1 and len(scalars) == len(op.inputs) - 1:
        m.alias[op.outputs[0]] = data[0]  # no parameter, no Mult-Add: named in the notes, like a softmax
        m.done.add(op.name)
        m.notes.append(f"{op.name} ({op.op} by a scalar constant) is not a layer: it costs nothing under the "
                       "paper's convention")
    elif op.op in ("Add", "Sum"):
        add(m, op)
    elif op.op == "Mul":
        mul(m, op)
    elif op.op in ("Sub", "Div") and len(data) == 2:
        difference(m, op, data)  # x − y, x / y: `sub`, `div`
    else:
        m.leave_out(op, f"an elementwise {op.op} that is part of no activation mobcost knows; nearest: act")


def _activation(m: Mapper, op: Op, x: str, match: tuple[str, str, tuple[Op, ...]] | None) -> None:
    """An activation no layer before it can take (after a pool, a concat, the input): the `act` layer."""
    if match is None:
        m.leave_out(op, f"{op.op} with these parameters is no activation mobcost knows; nearest: act "
                        f"({', '.join(a for a in ACTIVATIONS if a != 'none')})")
    elif match[0] not in ACTIVATIONS or "act" not in REGISTRY:
        m.leave_out(op, f"activation {match[0]!r} is {_ISSUE12}", through=tuple(o for o in match[2] if o is not op),
                    output=match[1])
    else:
        m.emit(op, "act", {"act": match[0]}, (x,), match[1], tuple(o for o in match[2] if o is not op))


HANDLERS: dict[str, Handler] = {
    "Conv": conv, "Gemm": gemm, "MatMul": matmul, "MaxPool": pool, "AveragePool": pool,
    "GlobalAveragePool": global_pool, "GlobalMaxPool": global_pool, "ReduceMean": reduce, "ReduceMax": reduce,
    "Concat": concat, "BatchNormalization": batchnorm, "ConvTranspose": conv_transpose,
    "LayerNormalization": layer_norm,
    **{name: elementwise for name in (*ACT_OPS, "Add", "Sum", "Sub", "Mul", "Div", "Pow", "Erf")},
}
