"""Folding one constant node (everything it reads is known without the network input): its dims, and its values
where they are small and computable (``constants.evaluate``). A value that cannot be computed — 1/0, √−1, an
index out of range, a number past the bounds — is a located error, not a traceback: a dead node still has to
be a valid one."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from . import constants
from .model import Const, ModelImportError

if TYPE_CHECKING:
    from onnx import NodeProto


# operators that move or pick the values of their first input: a stored table read through them keeps its dims
_PICKS = frozenset({"Gather", "GatherND", "GatherElements", "Transpose", "Reshape", "Identity", "Squeeze",
                    "Unsqueeze"})
# operators with a stored weight: folded on constants (a convolution of a fixed grid), their weights are still params
_WEIGHTED = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm"})
# operators whose output holds their first input's values, in another shape
_VIEWS = frozenset({"Identity", "Reshape", "Unsqueeze", "Squeeze", "Flatten"})


def value_inputs(op_type: str) -> int | None:
    """How many leading inputs decide a node's value: CastLike's second input only lends its element type."""
    return 1 if op_type == "CastLike" else None


def fold(node: NodeProto, attrs: dict[str, Any], dims: dict, consts: dict[str, Const], *, where: str,
         source: str) -> None:
    try:
        _fold(node, attrs, dims, consts)
    except (ArithmeticError, ValueError, IndexError, TypeError) as exc:
        raise ModelImportError(f"cannot compute this constant: {exc}", file=source, where=where) from None


def _fold(node: NodeProto, attrs: dict[str, Any], dims: dict, consts: dict[str, Const]) -> None:
    if node.op_type == "Constant":
        const = _constant_attr(attrs)
        consts[node.output[0]] = const
        dims[node.output[0]] = const.dims
        return
    ins = [consts[t] for t in [t for t in node.input if t][:value_inputs(node.op_type)]]
    if node.op_type == "Clip" and len(node.input) > 1:  # opset 11's bounds are inputs, either may be absent ("")
        attrs = {**attrs, **_clip_bounds(node, consts)}
        ins = ins[:1]
    if node.op_type == "Split" and ins and len(ins[0].dims) == 1 and ins[0].values is not None:
        _split(node, attrs, ins, dims, consts)
        return
    for i, out in enumerate(node.output):
        shape = dims.get(out, ()) if i else _refined(node.op_type, ins, dims.get(out, ()))
        known = tuple(d for d in shape if d is not None)
        out_dims = known if len(known) == len(shape) else ()
        values = constants.evaluate(node.op_type, attrs, ins, out_dims) if i == 0 and out_dims == shape else None
        if values is not None and len(values) != math.prod(out_dims):
            values = None  # dims shape inference left unknown (a reshaped γ of the dynamo exporter): values unsure
        # the TorchScript exporter stores equal weights once and reads the copies through Identity, and a module
        # may view its parameter at run time (torchvision SSD's γ.view(1, -1, 1, 1)): the same stored values
        stored = node.op_type in _VIEWS and bool(ins) and ins[0].initializer
        # rows of a stored table picked by a stored index (timm's attention_biases[:, idx]): its params are the
        # table's, however many times the index repeats them
        table = None
        if node.op_type in _PICKS and i == 0 and ins and (ins[0].initializer or ins[0].table):
            table = ins[0].table or ins[0].dims  # the dynamo exporter transposes it first, then GatherND
        consts[out] = Const(out_dims, values, stored, table, _weights(node, ins, consts))


def _weights(node: NodeProto, ins: list[Const], consts: dict[str, Const]) -> tuple[str, ...]:
    """The stored weights and biases folded into a node's value: those of its constant inputs, and its own when it
    is a Conv, ConvTranspose, MatMul or Gemm reading a stored weight."""
    names = [w for c in ins for w in c.weights]
    if node.op_type in _WEIGHTED and len(node.input) > 1 and consts[node.input[1]].initializer:
        names += [t for t in node.input[1:3] if t and consts[t].initializer]
    return tuple(dict.fromkeys(names))


def _split(node: NodeProto, attrs: dict[str, Any], ins: list[Const], dims: dict, consts: dict[str, Const]) -> None:
    """A Split of a small 1-D constant (the exporter's ``x.size()[-2:]`` as a tensor): every part's values."""
    sizes = attrs.get("split")
    if sizes is None and len(ins) > 1:
        sizes = None if ins[1].values is None else [int(v) for v in ins[1].values]
    parts = constants.split_1d(ins[0].values or (), sizes, len(node.output))
    for out, values in zip(node.output, parts, strict=True):
        consts[out] = Const((len(values),) if values is not None else dims.get(out, ()), values)


def _clip_bounds(node: NodeProto, consts: dict[str, Const]) -> dict[str, Any]:
    """Clip's min and max inputs as the attributes older opsets gave (None: no bound, or not known)."""
    bounds: dict[str, Any] = {}
    for key, name in zip(("min", "max"), node.input[1:3], strict=False):
        values = consts[name].values if name else None
        bounds[key] = values[0] if values else None
    return bounds


def _refined(op_type: str, ins: list[Const], shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
    """Dims shape inference left open but the constant inputs decide (Expand to a computed shape)."""
    if None not in shape and shape:
        return shape
    if op_type == "Expand" and len(ins) == 2 and ins[1].values is not None:
        target, own = [int(v) for v in ins[1].values], list(ins[0].dims)
        width = max(len(target), len(own))
        target, own = [1] * (width - len(target)) + target, [1] * (width - len(own)) + own
        return _dims(tuple(max(a, b) for a, b in zip(target, own, strict=True)))
    if op_type == "ConstantOfShape" and ins and ins[0].values is not None:
        return _dims(tuple(int(v) for v in ins[0].values))
    return shape


def _dims(shape: tuple[int, ...]) -> tuple[int, ...]:
    if any(d < 0 for d in shape):
        raise ValueError(f"a negative dimension in the computed shape {list(shape)}")
    return shape


def _constant_attr(attrs: dict[str, Any]) -> Const:
    if "value" in attrs:
        return attrs["value"]
    for key in ("value_float", "value_int"):
        if key in attrs:
            return Const((), (attrs[key],))
    for key in ("value_floats", "value_ints"):
        if key in attrs:
            return Const((len(attrs[key]),), tuple(attrs[key]))
    return Const(())
