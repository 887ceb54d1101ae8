"""What a model file says is checked before anything is computed from it: a tensor must decode to the dims it
declares, an attribute must have the type its operator's schema gives and, for windows (kernel, strides, pads,
dilations), the length of the window's rank. A file that breaks one is refused in one located line
(``node 'name' (OpType)`` or ``initializer 'name'``) — never a traceback, never a value guessed."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .model import Const, ModelImportError

if TYPE_CHECKING:
    from onnx import NodeProto, TensorProto

# Operators with a sliding window: the attributes that must have one entry per spatial axis (pads: two).
_WINDOWED = frozenset({"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "ConvInteger", "QLinearConv"})
_PER_AXIS = {"kernel_shape": 1, "strides": 1, "dilations": 1, "pads": 2, "output_padding": 1}
_POSITIVE = ("kernel_shape", "strides", "dilations")


def node_where(node: NodeProto, name: str) -> str:
    """How an error names a node: ``node 'conv1' (Conv)``."""
    return f"node {name!r} ({node.op_type})"


def decode_tensor(tensor: TensorProto, *, where: str, source: str, initializer: bool = False,
                  limit: int) -> Const:
    """A TensorProto's dims, and its values when it has at most ``limit`` elements and its data is inline."""
    from onnx import TensorProto, numpy_helper

    dims = tuple(int(d) for d in tensor.dims)
    if any(d < 0 for d in dims):
        raise ModelImportError(f"negative dimension in {list(dims)}", file=source, where=where)
    external = tensor.data_location == TensorProto.EXTERNAL or len(tensor.external_data) > 0
    if external and not any(e.key == "location" and e.value for e in tensor.external_data):
        raise ModelImportError("data stored outside the file, but no location given", file=source, where=where)
    if math.prod(dims) > limit or external:
        if tensor.data_type == TensorProto.UNDEFINED:
            raise ModelImportError("data type 0 (undefined)", file=source, where=where)
        return Const(dims, None, initializer)
    try:
        array = numpy_helper.to_array(tensor)
        values = tuple(array.reshape(-1).tolist())
    except Exception as exc:  # numpy's and onnx's many ways of saying the bytes do not decode
        raise ModelImportError(f"cannot decode its data ({type(exc).__name__}: {exc})".splitlines()[0],
                               file=source, where=where) from None
    if len(values) != math.prod(dims):
        raise ModelImportError(f"holds {len(values)} values for dims {list(dims)}", file=source, where=where)
    return Const(dims, values, initializer)


def check_attributes(node: NodeProto, opset: int, *, where: str, source: str) -> None:
    """Every attribute of a standard operator has its schema's type; window attributes fit the window's rank."""
    from onnx import AttributeProto, defs, helper

    try:
        schema = defs.get_schema(node.op_type, opset, node.domain)
    except Exception:  # an operator onnx does not know: the mapping names it if it matters
        schema = None
    for a in node.attribute:
        expected = schema.attributes.get(a.name) if schema is not None else None
        if a.type == AttributeProto.UNDEFINED or (expected is not None and int(expected.type) != a.type):
            kind = AttributeProto.AttributeType.Name(a.type) if a.type in AttributeProto.AttributeType.values() \
                else str(a.type)
            want = f", expected {AttributeProto.AttributeType.Name(int(expected.type))}" if expected else ""
            raise ModelImportError(f"attribute {a.name!r} is of type {kind}{want}", file=source, where=where)
    if node.op_type in _WINDOWED:
        _check_window({a.name: helper.get_attribute_value(a) for a in node.attribute}, where, source)


def _check_window(attrs: dict[str, Any], where: str, source: str) -> None:
    kernel = attrs.get("kernel_shape")
    rank = len(kernel) if kernel is not None else None
    for key, per in _PER_AXIS.items():
        value = attrs.get(key)
        if value is None:
            continue
        if rank is None:
            rank = len(value) // per
        if len(value) != per * rank or any(v < (1 if key in _POSITIVE else 0) for v in value):
            bound = "positive" if key in _POSITIVE else "non-negative"
            raise ModelImportError(f"attribute {key!r} is {list(value)}: {per * rank} {bound} integer(s) expected "
                                   f"for a {rank}-D window", file=source, where=where)
    if "group" in attrs and attrs["group"] < 1:
        raise ModelImportError(f"attribute 'group' is {attrs['group']}: a positive integer expected", file=source,
                               where=where)


def take_declared(proto: Any) -> dict[str, tuple[int | None, ...]]:
    """Remove the shapes the file declares for its intermediate tensors and outputs (``value_info``, the
    outputs' types) and return them: ONNX shape inference keeps a declared shape over the one it infers, so a
    file could give a ×2 Resize a ×4 output; here every shape comes from the operators, and the declarations
    are only checked against them (``check_declared``)."""
    graph = proto.graph
    declared = {vi.name: dims_of(vi) for vi in (*graph.value_info, *graph.output) if vi.type.HasField("tensor_type")
                and vi.type.tensor_type.HasField("shape")}
    del graph.value_info[:]
    for vi in graph.output:
        vi.type.tensor_type.ClearField("shape")
    return declared


def check_declared(declared: dict[str, tuple[int | None, ...]], dims: dict[str, tuple[int | None, ...]],
                   nodes: Any, source: str) -> None:
    """A declared shape that disagrees with the operators' is a located error naming the node that makes the
    tensor; where the operators leave a shape unknown, the declaration stays unused (never trusted)."""
    for name, shape in declared.items():
        inferred = dims.get(name)
        if not inferred:
            continue
        if len(shape) == len(inferred) and all(a is None or b is None or a == b for a, b in zip(shape, inferred,
                                                                                             strict=True)):
            continue
        node = next((n for n in nodes if name in n.output), None)
        where = node_where(node, node.name or node.op_type) if node is not None else f"tensor {name!r}"
        raise ModelImportError(f"the file declares {_shown(shape)} for {name!r}; the operator gives "
                               f"{_shown(inferred)}", file=source, where=where)


def dims_of(value_info: Any) -> tuple[int | None, ...]:
    tensor = value_info.type.tensor_type
    if not tensor.HasField("shape"):
        return ()
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)


def _shown(dims: tuple[int | None, ...]) -> str:
    return "×".join("?" if d is None else str(d) for d in dims) if dims else "a scalar"
