"""One translation per TFLite operator that has a window, weights or axes: each checks what the file says (a
weight that does not fit its input, a stride of 0, an axis past the rank is a located error) and writes the ONNX
operator the mapping knows, in the NCHW view. Operators that are only an activation or a pass-through are in
``tflite_graph._ACTS``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import tflite_tokens as tok
from .model import Const, Op
from .tflite_file import Operator

if TYPE_CHECKING:
    from .tflite_graph import Translator

Translate = Callable[["Translator", Operator], None]
_SAME, _VALID = 0, 1
TO_NCHW, TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)


def _fused(op: Operator) -> int:
    """The activation fused into the operator (ActivationFunctionType; 0: none)."""
    return int(op.options.get("FusedActivationFunction", 0))


def _image(tr: Translator, op: Operator) -> tuple[int, int, int, int]:
    """The N×H×W×C input a windowed operator reads (TFLite's convolutions and pools read NHWC only)."""
    index = op.inputs[0] if op.inputs else -1
    if index < 0 or len(tr.t[index].shape) != 4 or index in tr.nchw:
        shape = list(tr.t[index].shape) if index >= 0 else "absent"
        raise tr.fail(op, f"the input is {shape}; {op.code} reads an N×H×W×C image")
    n, h, w, c = tr.t[index].shape
    return n, h, w, c


def _window(tr: Translator, op: Operator, x: tuple[int, int, int, int], kernel: tuple[int, int]) -> dict[str, Any]:
    """strides, dilations and the explicit pads (top, left, bottom, right) of SAME or VALID padding."""
    o = op.options
    strides = [o.get("StrideH", 0), o.get("StrideW", 0)]
    dilations = [o.get("DilationHFactor", 1), o.get("DilationWFactor", 1)]
    if min(*strides, *dilations, *kernel) < 1:
        raise tr.fail(op, f"kernel {kernel[0]}×{kernel[1]}, strides {strides}, dilations {dilations}: each must be "
                          "at least 1")
    padding = o.get("Padding", _SAME)
    if padding not in (_SAME, _VALID):
        raise tr.fail(op, f"padding {padding}: the schema has SAME (0) and VALID (1)")
    pads = [0, 0, 0, 0]
    if padding == _SAME:  # TensorFlow's: output ⌈in / stride⌉, the odd pixel after
        for axis, size in enumerate(x[1:3]):
            span = dilations[axis] * (kernel[axis] - 1) + 1
            total = max(0, (-(-size // strides[axis]) - 1) * strides[axis] + span - size)
            pads[axis], pads[axis + 2] = total // 2, total - total // 2
    return {"strides": strides, "dilations": dilations, "pads": pads}


def _weight(tr: Translator, op: Operator, rank: int) -> tuple[int, ...]:
    index = op.inputs[1] if len(op.inputs) > 1 else -1
    w = tr.stored(index)
    if w is None and index >= 0 and op.code == "FULLY_CONNECTED":
        raise tr.fail(op, "a product by a computed tensor (attention's A·V written as a FULLY_CONNECTED by V) is "
                          "not mapped; nearest: attention")
    if w is None or len(w.shape) != rank:
        raise tr.fail(op, f"the weight (input 1) is not a stored rank-{rank} tensor")
    return w.shape


def _bias(tr: Translator, op: Operator, out: int) -> tuple[str, ...]:
    index = op.inputs[2] if len(op.inputs) > 2 else -1
    if index < 0:
        return ()
    b = tr.stored(index)
    if b is not None and math.prod(b.shape) != out:
        raise tr.fail(op, f"a bias of shape {list(b.shape)} for {out} outputs")
    return (tr.const(index, "bias", b.shape),) if b is not None else (tr.name(index),)


def conv(tr: Translator, op: Operator) -> None:
    x = _image(tr, op)
    out, kh, kw, per_group = _weight(tr, op, 4)
    if not per_group or x[3] % per_group:
        raise tr.fail(op, f"a {out}×{kh}×{kw}×{per_group} weight (O×KH×KW×I) does not fit an input of {x[3]} "
                          "channels")
    attrs = {**_window(tr, op, x, (kh, kw)), "group": x[3] // per_group}
    weight = tr.const(op.inputs[1], "conv", (out, per_group, kh, kw))
    tr.emit(op, "Conv", (tr.data(op, 0), weight, *_bias(tr, op, out)), attrs, _fused(op))


def depthwise(tr: Translator, op: Operator) -> None:
    x = _image(tr, op)
    one, kh, kw, out = _weight(tr, op, 4)
    multiplier = op.options.get("DepthMultiplier", 0)
    if one != 1 or out % x[3] or (multiplier and out != x[3] * multiplier):
        raise tr.fail(op, f"a {one}×{kh}×{kw}×{out} depthwise weight (1×KH×KW×C·m, depth multiplier {multiplier}) "
                          f"does not fit an input of {x[3]} channels")
    attrs = {**_window(tr, op, x, (kh, kw)), "group": x[3]}
    weight = tr.const(op.inputs[1], "depthwise", (out, 1, kh, kw))
    tr.emit(op, "Conv", (tr.data(op, 0), weight, *_bias(tr, op, out)), attrs, _fused(op))


def pool(tr: Translator, op: Operator) -> None:
    x = _image(tr, op)
    kernel = (op.options.get("FilterHeight", 0), op.options.get("FilterWidth", 0))
    attrs = {"kernel_shape": list(kernel), **_window(tr, op, x, kernel)}
    del attrs["dilations"]
    kind = "MaxPool" if op.code == "MAX_POOL_2D" else "AveragePool"
    tr.emit(op, kind, (tr.data(op, 0),), attrs, _fused(op))


def fully_connected(tr: Translator, op: Operator) -> None:
    if len(op.inputs) > 1 and op.inputs[1] >= 0 and tr.stored(op.inputs[1]) is None:
        tok.computed_product(tr, op)
        return
    out, features = _weight(tr, op, 2)
    x = op.inputs[0] if op.inputs else -1
    if x < 0 or not features or tr.numel(x) % features:
        shape = list(tr.t[x].shape) if x >= 0 else "absent"
        raise tr.fail(op, f"a {out}×{features} weight (O×I) does not fit an input of shape {shape}")
    tok.token_rows(tr, op)
    dims = tr.dims[tr.name(x)]
    if len(dims) == 3 and dims != tr.t[x].shape and math.prod(tr.t[op.outputs[0]].shape) == math.prod(dims[:-1]) * out:
        tr.views[op.outputs[0]] = (*dims[:-1], out)  # type: ignore[assignment]  # the sequences of its input
    rows = x in tr.rows or (len(tr.t[x].shape) == 3 and tr.t[x].shape[0] == 1 and tr.t[x].shape[1] > 1)
    if rows or (op.options.get("KeepNumDims") and len(tr.t[x].shape) == 3):
        token_linear(tr, op, out, features)
        return
    if op.options.get("KeepNumDims") and len(tr.t[x].shape) > 3:
        raise tr.fail(op, "a product at every position of a rank-4+ input (keep_num_dims) is not mapped; "
                          "nearest: pw")
    source = tr.data(op, 0)
    if len(tr.t[x].shape) != 2:  # TFLite flattens the input to rows of I features: Flatten, then Gemm
        flat = f"{source} flattened"
        tr.dims[flat] = (tr.numel(x) // features, features)
        tr.ops.append(tr_op(tr, op, "Flatten", (source,), flat))
        source = flat
    weight = tr.const(op.inputs[1], "fc", (out, features))
    tr.emit(op, "Gemm", (source, weight, *_bias(tr, op, out)), {"transB": 1},
            _fused(op))


def token_linear(tr: Translator, op: Operator, out: int, features: int) -> None:
    """A FULLY_CONNECTED on a B×N×C sequence that keeps its dims (litert-torch's ``nn.Linear`` on tokens): ONNX's
    MatMul by the C×O weight, then the bias's Add, which the token mapping reads as `linear`."""
    weight = tr.const(op.inputs[1], "linear", (features, out))
    bias = _bias(tr, op, out)
    if not bias:
        tr.emit(op, "MatMul", (tr.data(op, 0), weight), {}, _fused(op))
        return
    product = f"{tr.name(op.outputs[0])} before its bias"
    tr.dims[product] = tr.dims[tr.name(op.outputs[0])]
    path, _ = tr.scope(op)
    tr.ops.append(Op("MatMul", f"{op.where}, its product", (tr.data(op, 0), weight), (product,), {}, path, "matmul"))
    tr.emit(op, "Add", (product, *bias), {}, _fused(op))


def tr_op(tr: Translator, op: Operator, kind: str, inputs: tuple[str, ...], output: str) -> Op:
    path, _ = tr.scope(op)
    return Op(kind, f"{op.where}, its input flattened", inputs, (output,), {}, path, kind.lower())


def concatenation(tr: Translator, op: Operator) -> None:
    first = op.inputs[0] if op.inputs else -1
    if first < 0:
        raise tr.fail(op, "no input")
    axis = tr.layout_axis(op, first, op.options.get("Axis", 0))
    inputs = tuple(tr.data(op, i) for i in range(len(op.inputs)))
    tr.emit(op, "Concat", inputs, {"axis": axis}, _fused(op))


def binary(tr: Translator, op: Operator) -> None:
    if op.code == "ADD" and len(op.inputs) == 1 and tok.requantized(tr, op):
        if op.inputs[0] in tr.nchw:  # a copy keeps its input's layout
            tr.nchw.add(op.outputs[0])
        tr.emit(op, "Identity", (tr.data(op, 0),))
        return
    if len(op.inputs) != 2:
        raise tr.fail(op, f"{len(op.inputs)} inputs; {op.code} takes 2")
    kind = "Add" if op.code == "ADD" else "Mul"
    tr.emit(op, kind, (tr.data(op, 0), tr.data(op, 1)), {}, _fused(op))


def mean(tr: Translator, op: Operator) -> None:
    if tok.layer_norm(tr, op):
        return
    axes = tr.values(op, 1)
    if axes is None or not op.inputs or op.inputs[0] < 0:
        raise tr.fail(op, "the axes (input 1) are not a stored constant")
    mapped = [tr.layout_axis(op, op.inputs[0], int(a)) for a in axes]
    tr.emit(op, "ReduceMean", (tr.data(op, 0),), {"axes": mapped, "keepdims": int(bool(op.options.get("KeepDims")))})


def pad(tr: Translator, op: Operator) -> None:
    values = tr.values(op, 1)
    x = op.inputs[0] if op.inputs else -1
    rank = len(tr.t[x].shape) if x >= 0 else 0
    if values is None or len(values) != 2 * rank or rank != 4:
        raise tr.fail(op, "the paddings (input 1) are not a stored 4×2 constant for a rank-4 input")
    begins, ends = [0] * 4, [0] * 4
    for axis in range(4):
        view = tr.layout_axis(op, x, axis)
        begins[view], ends[view] = int(values[2 * axis]), int(values[2 * axis + 1])
    if x in tr.nchw:  # litert-torch pads in the torch layout, between a TRANSPOSE to NCHW and one back
        tr.nchw.add(op.outputs[0])
    tr.emit(op, "Pad", (tr.data(op, 0),), {"pads": begins + ends})


def reshape(tr: Translator, op: Operator) -> None:
    """A reshape of a tensor in the torch layout stays in it (ShuffleNet's view to N×g×C/g×H×W and back, after a
    TRANSPOSE to NCHW); and litert-torch writes a permute of a 1×1 map (N×1×1×C ↔ N×C×1×1, the same bytes) as a
    RESHAPE: an output of N×C×1×1 from C channels is the torch layout too."""
    x, out = op.inputs[0] if op.inputs else -1, op.outputs[0]
    if x >= 0 and tok.regroup(tr, op):
        return
    tok.token_rows(tr, op)
    shape = tr.t[out].shape
    flat_1x1 = len(shape) == 4 and shape[2:] == (1, 1) and shape[1] > 1 \
        and tr.t[x].shape in ((shape[0], shape[1]), (shape[0], 1, 1, shape[1]))
    xs = tr.t[x].shape if x >= 0 else ()
    # a 4-D view of a tensor of another rank (attention's heads B×h×N×d) is in the torch layout: litert-torch
    # writes a reshape of a map only after a TRANSPOSE to NCHW
    viewed = len(shape) == 4 and (len(xs) not in (2, 4) or (len(xs) == 2 and shape != (xs[0], 1, 1, xs[1])))
    if x >= 0 and (x in tr.nchw or flat_1x1 or viewed):
        tr.nchw.add(out)
    if len(xs) == 4 and x not in tr.nchw and shape == (xs[0], xs[1] * xs[2], xs[3]) and not flat_1x1:
        # an N×H×W×C map read as N×(H·W)×C tokens: in the NCHW view, ONNX's permute to N×H×W×C, then the reshape
        moved = f"{tr.name(x)} as N×H×W×C"
        tr.dims[moved] = xs
        path, _ = tr.scope(op)
        tr.ops.append(Op("Transpose", f"{op.where}, its layout", (tr.data(op, 0),), (moved,), {"perm": list(TO_NHWC)},
                         path, "transpose"))
        tr.emit(op, "Reshape", (moved,))
        return
    tr.emit(op, "Reshape", (tr.data(op, 0),))


def slice_(tr: Translator, op: Operator) -> None:
    """SLICE(x, begin, size) → ONNX's Slice(x, starts, ends, axes) in the NCHW view (a size of −1: to the end):
    ShuffleNetV2's halves of the channels."""
    x, begin, size = op.inputs[0] if op.inputs else -1, tr.values(op, 1), tr.values(op, 2)
    rank = len(tr.t[x].shape) if x >= 0 else 0
    if begin is None or size is None or len(begin) != rank or len(size) != rank:
        raise tr.fail(op, f"begin and size (inputs 1, 2) are not stored constants of {rank} values")
    if tok.first_token(tr, op):
        return
    if x in tr.nchw:
        tr.nchw.add(op.outputs[0])
    starts, ends, axes = [], [], []
    for axis in range(rank):
        whole = tr.t[x].shape[axis]
        end = whole if size[axis] == -1 else int(begin[axis]) + int(size[axis])
        if begin[axis] != 0 or end != whole:
            starts.append(int(begin[axis]))
            ends.append(end)
            axes.append(tr.layout_axis(op, x, axis))
    names = []
    for role, values in (("starts", starts), ("ends", ends), ("axes", axes)):
        name = f"{op.where} {role}"
        tr.consts[name] = Const((len(values),), tuple(values))
        tr.dims[name] = (len(values),)
        names.append(name)
    tr.emit(op, "Slice", (tr.data(op, 0), *names))


def resize(tr: Translator, op: Operator) -> None:
    """RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR of an N×H×W×C image to the size its output has (input 1 holds it):
    ONNX's Resize, which the mapping makes an `upsample` or a `resize` (Faster R-CNN's RoI stand-in, 6×6 → 14×14)."""
    _image(tr, op)
    mode = "linear" if op.code == "RESIZE_BILINEAR" else "nearest"
    corners = "align_corners" if op.options.get("AlignCorners") else "half_pixel"
    tr.emit(op, "Resize", (tr.data(op, 0),), {"mode": mode, "coordinate_transformation_mode": corners})


def transpose(tr: Translator, op: Operator) -> None:
    """NHWC ↔ NCHW is a change of layout, not of data: the NCHW view stays, later axes follow the new layout."""
    perm, x = tr.values(op, 1), op.inputs[0] if op.inputs else -1
    if x >= 0 and len(tr.t[x].shape) == 4 and perm in (TO_NCHW, TO_NHWC) \
            and (perm == TO_NHWC) == (x in tr.nchw):
        if perm == TO_NCHW:
            tr.nchw.add(op.outputs[0])
        tr.emit(op, "Identity", (tr.data(op, 0),))
        return
    if x >= 0 and perm is not None and (len(tr.t[x].shape) != 4 or x in tr.nchw):
        if x in tr.nchw:  # a permutation in the torch layout (the file's order is the view's)
            tr.nchw.add(op.outputs[0])
        tr.emit(op, "Transpose", (tr.data(op, 0),), {"perm": [int(p) for p in perm]})  # ShuffleNet's 5-D swap
        return
    tr.emit(op, op.code, tuple(tr.data(op, i) for i, t in enumerate(op.inputs) if t >= 0))


TRANSLATE: dict[str, Translate] = {
    "CONV_2D": conv, "DEPTHWISE_CONV_2D": depthwise, "AVERAGE_POOL_2D": pool, "MAX_POOL_2D": pool,
    "FULLY_CONNECTED": fully_connected, "CONCATENATION": concatenation, "ADD": binary, "MUL": binary,
    "MEAN": mean, "PAD": pad, "RESHAPE": reshape, "SLICE": slice_, "RESIZE_BILINEAR": resize,
    "RESIZE_NEAREST_NEIGHBOR": resize, "PADV2": pad, "TRANSPOSE": transpose, "BATCH_MATMUL": tok.batch_matmul,
    "REDUCE_MAX": lambda tr, op: None if tok.softmax(tr, op) else tr.emit(op, op.code, (tr.data(op, 0),)),
    "SQUARED_DIFFERENCE": tok.squared_difference, "RSQRT": tok.rsqrt, "SUB": tok.sub, "GELU": tok.gelu,
}
