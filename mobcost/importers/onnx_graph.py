"""Read an ONNX model with the ``onnx`` package alone and reduce it to an :class:`OpGraph`.

Steps: load (weights' data is never needed, only their dims, so external data stays on disk), inline local
functions (the dynamo exporter may emit them), ONNX shape inference with data propagation, then one pass that
splits the nodes into constants (everything that does not depend on the network input: initializers, shape
arithmetic, ``Shape`` of a statically shaped tensor) and the data path. ``onnx`` is imported here, inside the
functions, so ``import mobcost`` never pays for it.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MissingExtraError
from ..files import note_input
from .checks import check_attributes, check_declared, decode_tensor, dims_of, node_where, take_declared
from .control import MAX_NESTING, implicit_inputs, inline_taken
from .folding import fold, value_inputs
from .input_dims import settle_input
from .model import MAX_CONST_VALUES, Const, ModelImportError, Op, OpGraph, printable

if TYPE_CHECKING:
    from onnx import ModelProto, NodeProto

# The suffix of a computed constant pinned as an initializer (``_pin_constants``)
PINNED = ":pinned"
# Initializers are read for their values only when this small (Clip bounds, axes): reading a weight's data
# would cost time and memory for nothing.
_READ_INITIALIZER = 64
# Rounds of pinning computed constants and inferring shapes again: TensorFlow "same" padding computes each
# strided layer's pads from the shape the previous computed pad gave (MobileNetV3's and EfficientNet-B0's 5
# strided stages), so every round settles one more link of the chain.
MAX_PIN_ROUNDS = 32


def load_graph(model: str | Path | bytes | ModelProto, source: str | None = None,
               input_shape: tuple[int, int, int] | None = None) -> OpGraph:
    """The normalised graph of an ONNX file, its bytes, or a loaded ``ModelProto``; ``source`` names it in
    messages and the spec header (default: the file name); ``input_shape`` (C, H, W) fixes the input's free
    dimensions (see ``input_dims``)."""
    proto, source = _load(model, source)
    settle_input(proto, source, input_shape)  # before inference: every shape after it depends on these
    weights = _strip_weights(proto)
    declared = take_declared(proto)
    proto, graph = _settled(proto, source, weights)
    every_pin: dict[str, Const] = {}
    for _ in range(MAX_PIN_ROUNDS):  # a round per chain link: a pad computed from the shape a pinned one gives
        proto, pins = _pin_constants(proto, graph)
        if not pins:
            break
        graph = _normalise(_prepare(proto, source), source, weights)
        every_pin.update(pins)
    # still computed, not stored: no parameter (a zero bias built by Expand stays no bias), values kept
    graph.consts.update({name + PINNED: const for name, const in every_pin.items()})
    check_declared(declared, graph.dims, proto.graph.node, source)
    return graph


def _settled(proto: ModelProto, source: str, weights: dict[str, Const]) -> tuple[ModelProto, OpGraph]:
    """The model prepared and normalised, every ``If`` whose condition is a known constant replaced by the
    branch it takes (one level of nesting per round; see ``control``)."""
    for _ in range(MAX_NESTING):
        prepared = _prepare(proto, source)
        graph = _normalise(prepared, source, weights)
        inlined = inline_taken(prepared, graph)
        if inlined is None:
            break
        proto = inlined
    # past the depth, the Ifs left are operators with no layer (a located error): the graph matches ``prepared``
    return prepared, graph


def _strip_weights(proto: ModelProto) -> dict[str, Const]:
    """Take the large initializers out of the graph (declared as inputs of their dims instead): shape inference
    serialises the whole model, and copying a ResNet-50's 100 MB of weights was most of an import's time."""
    from onnx import TensorProto, helper

    graph = proto.graph
    heavy = [t for t in graph.initializer if math.prod(t.dims) > _READ_INITIALIZER]
    if not heavy:
        return {}
    weights = {t.name: Const(tuple(int(d) for d in t.dims), None, True) for t in heavy}
    declared = {vi.name for vi in graph.input}
    graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in heavy
                       if t.name not in declared)
    kept = []
    for t in graph.initializer:
        if t.name not in weights:
            copy = TensorProto()
            copy.CopyFrom(t)
            kept.append(copy)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return weights


def _pin_constants(proto: ModelProto, graph: OpGraph) -> tuple[ModelProto, dict[str, Const]]:
    """ONNX's data propagation stops at some shape arithmetic (integer Div, as in the TorchScript exporter's
    ``chunk``), leaving the shapes after it unknown. Where a data-path operator's output shape is unknown but
    its computed inputs' values are known here, a copy of the model takes those values as initializers, and
    shape inference runs once more on it."""
    from onnx import TensorProto, helper

    pins: dict[str, Const] = {}
    for op in graph.ops:
        if all(_static(graph.dims.get(o)) for o in op.outputs if o):
            continue
        for t in op.inputs:
            const = graph.consts.get(t)
            if const is not None and not const.initializer and const.values is not None:
                pins[t] = const
    if not pins:
        return proto, pins
    copy = type(proto)()
    copy.CopyFrom(proto)
    for name, const in pins.items():
        kind = TensorProto.INT64 if all(isinstance(v, int) for v in const.values or ()) else TensorProto.FLOAT
        copy.graph.initializer.append(helper.make_tensor(name + PINNED, kind, const.dims, const.values or ()))
    for node in copy.graph.node:
        for i, t in enumerate(node.input):
            if t in pins:
                node.input[i] = t + PINNED
    return copy, pins


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise MissingExtraError("importing ONNX models needs the onnx package: pip install 'mobcost[onnx]'") \
            from None
    return onnx


def _load(model: str | Path | bytes | ModelProto, source: str | None) -> tuple[ModelProto, str]:
    onnx = _onnx()
    if isinstance(model, onnx.ModelProto):
        copy = onnx.ModelProto()
        copy.CopyFrom(model)  # the caller's model stays as it was
        return copy, source or "<model>"
    if isinstance(model, bytes | bytearray):
        return _parse(lambda: onnx.load_from_string(bytes(model)), source or "<bytes>"), source or "<bytes>"
    if not isinstance(model, str | Path):
        raise ModelImportError(f"expected an ONNX file path, bytes or ModelProto, got {type(model).__name__}")
    path = Path(model)
    if not path.is_file():
        raise ModelImportError("no such file", file=str(path))
    note_input(path)  # an output of this command may not replace it
    return _parse(lambda: onnx.load(str(path), load_external_data=False), str(path)), source or path.name


def _parse(read: Any, source: str) -> ModelProto:
    try:
        return read()
    except Exception as exc:  # protobuf's DecodeError and friends: the file is not an ONNX model
        raise ModelImportError(f"not a readable ONNX model ({type(exc).__name__}: {exc})", file=source) from None


def _prepare(proto: ModelProto, source: str) -> ModelProto:
    """Inline local functions, then infer every tensor's shape (constant shape arithmetic propagated)."""
    onnx = _onnx()
    if len(proto.functions):
        import onnx.inliner

        proto = onnx.inliner.inline_local_functions(proto)
    try:
        return onnx.shape_inference.infer_shapes(proto, check_type=False, strict_mode=False, data_prop=True)
    except Exception as exc:  # InferenceError, or a malformed graph
        raise ModelImportError(f"ONNX shape inference failed: {exc}".splitlines()[0], file=source) from None


def _attrs(node: NodeProto, where: str, source: str) -> dict[str, Any]:
    from onnx import AttributeProto, helper

    out: dict[str, Any] = {}
    for a in node.attribute:
        if a.type == AttributeProto.TENSOR:
            out[a.name] = decode_tensor(a.t, where=f"{where}: attribute {a.name!r}", source=source,
                                        limit=MAX_CONST_VALUES)
        elif a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
            out[a.name] = "<subgraph>"  # If/Loop/Scan: never mapped, only named in the error
        else:
            value = helper.get_attribute_value(a)
            # strings only name things in messages: bytes that are not UTF-8 must not stop the import
            out[a.name] = value.decode(errors="replace") if isinstance(value, bytes) else value
    return out


def _normalise(proto: ModelProto, source: str, weights: dict[str, Const]) -> OpGraph:
    graph = proto.graph
    dims: dict[str, tuple[int | None, ...]] = {}
    for vi in (*graph.input, *graph.value_info, *graph.output):
        dims[vi.name] = dims_of(vi)
    consts = {t.name: decode_tensor(t, where=f"initializer {printable(t.name)!r}", source=source, initializer=True,
                                    limit=_READ_INITIALIZER) for t in graph.initializer}
    consts.update(weights)
    for name, c in consts.items():
        dims[name] = c.dims
    inputs = [vi.name for vi in graph.input if vi.name not in consts]
    if len(inputs) != 1:
        names = printable(", ".join(inputs))
        raise ModelImportError(f"the graph takes {len(inputs)} inputs ({names}); a mobcost network takes one image",
                               file=source)
    ops, paths = _split(graph.node, consts, dims, source, _opset(proto))
    ops, image = _nchw_input(ops, inputs[0])
    return OpGraph(ops=ops, dims=dims, consts=consts, input=image,
                   outputs=tuple(vi.name for vi in graph.output), source=source,
                   producer=printable(f"{proto.producer_name} {proto.producer_version}".strip()) or "unknown producer",
                   opset=_opset(proto), scope_paths=frozenset(paths))


def _nchw_input(ops: list[Op], image: str) -> tuple[list[Op], str]:
    """A TensorFlow/Keras export takes N×H×W×C and transposes it first: the network's input is that transpose."""
    users = [op for op in ops if image in op.inputs]
    if len(users) == 1 and users[0].op == "Transpose" and list(users[0].attrs.get("perm", [])) == [0, 3, 1, 2]:
        return [op for op in ops if op is not users[0]], users[0].outputs[0]
    return ops, image


def _opset(proto: ModelProto) -> int:
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)


def _split(nodes: Any, consts: dict[str, Const], dims: dict[str, tuple[int | None, ...]], source: str,
           opset: int) -> tuple[list[Op], set]:
    """Constants are folded (values where small and computable), the rest become :class:`Op`s in file order
    (ONNX requires topological order)."""
    ops: list[Op] = []
    paths: set[str] = set()
    names: set[str] = set()
    for index, node in enumerate(nodes):
        kind = printable(node.op_type)
        name = printable(node.name) or f"{kind}_{index}"
        if name in names:  # ONNX asks for unique node names but does not check: operators are told apart by them
            name = f"{name}#{index}"
        names.add(name)
        where = node_where(node, name)
        check_attributes(node, opset, where=where, source=source)
        attrs = _attrs(node, where, source)
        path, part = _scope(node, index)
        paths.add(path)
        present = [t for t in node.input if t]
        # constant only if everything it reads is: a subgraph's reads from this graph count too
        reads = present[:value_inputs(node.op_type)] + implicit_inputs(node)
        if node.op_type in ("Shape", "Size") and present and _static(dims.get(present[0])):
            _shape_const(node, attrs, dims, consts)
        elif node.op_type == "Constant" or all(t in consts for t in reads):
            fold(node, attrs, dims, consts, where=where, source=source)
        else:
            ops.append(Op(kind, name, tuple(node.input), tuple(node.output), attrs, path, part, printable(node.domain)))
    return ops, paths


def _static(shape: tuple[int | None, ...] | None) -> bool:
    return bool(shape) and all(d is not None for d in shape)  # type: ignore[union-attr]


def _shape_const(node: NodeProto, attrs: dict[str, Any], dims: dict, consts: dict[str, Const]) -> None:
    shape = dims[node.input[0]]
    if node.op_type == "Size":
        consts[node.output[0]] = Const((), (math.prod(shape),))
        return
    values = tuple(shape[slice(attrs.get("start", 0), attrs.get("end"))])
    consts[node.output[0]] = Const((len(values),), values)
    dims[node.output[0]] = (len(values),)


def _scope(node: NodeProto, index: int) -> tuple[str, str]:
    """(module path, operator part) of a node's name, from the dynamo exporter's recorded name scopes or the
    TorchScript exporter's ``/layer1/layer1.0/conv1/Conv`` names; ("", name) for other producers."""
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = [s for s in ast.literal_eval(prop.value) if s]
            except (ValueError, SyntaxError):
                break
            if scopes:
                return (scopes[-2] if len(scopes) > 1 else ""), scopes[-1]
    name = printable(node.name) or f"{node.op_type}_{index}"
    if not name.startswith("/"):
        return "", name
    segments = [s for s in name.split("/") if s]
    path: list[str] = []
    for seg in segments[:-1]:
        # Sequential children repeat their parent's name as a prefix: layer1 / layer1.0 / conv1
        if path and seg.startswith(path[-1] + "."):
            path[-1] = seg
        else:
            path.append(seg)
    return ".".join(path), segments[-1] if segments else name
