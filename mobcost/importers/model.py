"""The plain data the importer passes between its steps: a normalised operator graph (no ``onnx`` types in
it, so folding and emitting never import onnx), the layers it becomes, and what had to be left out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import MobcostError

# A constant's values are kept only up to this many elements: enough for axes, shapes, Clip bounds and a
# computed zero bias; weights are never read (their dims come from the file without loading the data).
MAX_CONST_VALUES = 1 << 16


def printable(text: str) -> str:
    """Names from the file go into one-line errors and YAML comments: no control characters (a newline in a
    node name must not start a line of YAML)."""
    return re.sub(r"[\x00-\x1f\x7f]", "?", text)


class ModelImportError(MobcostError):
    """A model file cannot be turned into a spec: an operator with no layer, a shape mobcost cannot express,
    or a file that is not a single-input image network. One line, naming the ONNX node."""


@dataclass(frozen=True)
class Const:
    """A tensor whose value does not depend on the network input: its dims, and its values (flat, row-major)
    when small enough to know (see :data:`MAX_CONST_VALUES`), else None."""

    dims: tuple[int, ...]
    values: tuple[Any, ...] | None = None
    initializer: bool = False  # stored in the file (a parameter), not computed by constant nodes
    table: tuple[int, ...] | None = None  # gathered from a stored table of these dims (an attention-bias table)
    # the stored weights (and biases) of the Conv, MatMul or Gemm nodes folded into it: a convolution of constants
    # (XCiT's Fourier position encoding) still has parameters and Mult-Adds
    weights: tuple[str, ...] = ()

    @property
    def scalar(self) -> Any:
        """The single value of a one-element constant (or of one repeated everywhere), else None."""
        if not self.values or any(v != self.values[0] for v in self.values):
            return None
        return self.values[0]


@dataclass(frozen=True)
class Op:
    """One operator on the data path (its value depends on the network input)."""

    op: str
    name: str  # the ONNX node name (or ``<op>_<index>`` when the file has none)
    inputs: tuple[str, ...]  # tensor names; "" for an absent optional input
    outputs: tuple[str, ...]
    attrs: dict[str, Any]
    path: str = ""  # the module path it came from (``layer1.0.conv1``), when the exporter recorded one
    part: str = ""  # the operator's own part of the name (``Conv``, ``add_1``)
    domain: str = ""

    def __str__(self) -> str:
        return f"{self.name!r} ({self.op})"


@dataclass
class OpGraph:
    """An ONNX graph reduced to what the mapping needs: data-path operators in order, every tensor's dims
    (from ONNX shape inference; None where unknown), the constants, and where it came from."""

    ops: list[Op]
    dims: dict[str, tuple[int | None, ...]]
    consts: dict[str, Const]
    input: str
    outputs: tuple[str, ...]
    source: str  # file name, or "<model>" for an in-memory model
    producer: str  # "pytorch 2.13.0"
    opset: int
    scope_paths: frozenset[str] = frozenset()  # every module path that has operators (constants included)
    kind: str = "ONNX"  # the file's format: "ONNX", or "TFLite" (its operators named ``operator 12 (CONV_2D)``)
    dtype: str | None = None  # the element type the model computes in, where the file says (TFLite)
    supported: str = ""  # the file format's operators that map, for the error on one that does not
    consumers: dict[str, list[Op]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for op in self.ops:
            for t in op.inputs:
                if t and t not in self.consts:
                    self.consumers.setdefault(t, []).append(op)

    def where(self, name: str, op_type: str | None = None) -> str:
        """How an error names an operator: ``node 'conv1'`` (``node 'conv1' (Conv)`` given its type) in an ONNX
        graph; a TFLite operator's name says its index and type already (``operator 12 (SPLIT_V)``)."""
        if self.kind != "ONNX":
            return name
        return f"node {name!r} ({op_type})" if op_type else f"node {name!r}"

    def shape(self, tensor: str) -> tuple[int | None, ...]:
        return self.dims.get(tensor, ())

    def const(self, tensor: str) -> Const | None:
        return self.consts.get(tensor)

    def users(self, tensor: str) -> list[Op]:
        """The data-path operators reading ``tensor`` (a graph output counts as one more reader, via
        :meth:`readers`)."""
        return self.consumers.get(tensor, [])

    def readers(self, tensor: str) -> int:
        return len(self.users(tensor)) + (tensor in self.outputs)

    def dynamic_inputs(self, op: Op) -> list[str]:
        return [t for t in op.inputs if t and t not in self.consts]

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)


@dataclass(frozen=True)
class Unmapped:
    """An operator left out under ``allow_unknown``, and why."""

    node: str
    op: str
    input_shapes: tuple[str, ...]
    reason: str

    def line(self) -> str:
        shapes = ", ".join(self.input_shapes) or "no data inputs"
        return f"{self.node} ({self.op}; inputs {shapes}): {self.reason}"


@dataclass(frozen=True)
class Emitted:
    """One spec layer: its type and keys, the tensors it reads and writes, the ONNX nodes folded into it."""

    type: str
    keys: dict[str, Any]
    inputs: tuple[str, ...]
    output: str
    nodes: tuple[str, ...]
    path: str = ""
    part: str = ""


@dataclass(frozen=True)
class ImportResult:
    """The spec as YAML text, what was left out (``allow_unknown``), and notes on what the spec leaves
    implicit (e.g. a softmax, which costs nothing under the paper's convention)."""

    yaml: str
    unmapped: tuple[Unmapped, ...] = ()
    notes: tuple[str, ...] = ()
    layers: int = 0
    name: str = ""
