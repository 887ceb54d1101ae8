"""Read a ``.tflite`` file with the ``tflite`` package (the flatbuffer classes generated from TFLite's schema; an
optional extra, imported here only) into plain data: tensors, operators with their options, inputs, outputs.

The generated classes trust the file: a declared vector length is iterated as given and an offset is followed
wherever it points. So every vector's length is checked against the file's size before it is read, and all the
elements read share one budget proportional to the file (a file whose operators all point at one long vector
cannot make the reading quadratic); a read past the end is caught. Any of these is one located line.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MissingExtraError
from ..files import note_input
from .model import ModelImportError, printable

# Elements of a constant read for their values (a reshape's shape, a mean's axes, a pad's paddings); weights'
# values are never needed, only their dims.
_READ_VALUES = 64
_TYPES = {0: ("FLOAT32", 4), 1: ("FLOAT16", 2), 2: ("INT32", 4), 3: ("UINT8", 1), 4: ("INT64", 8), 5: ("STRING", 0),
          6: ("BOOL", 1), 7: ("INT16", 2), 9: ("INT8", 1), 10: ("FLOAT64", 8), 16: ("UINT32", 4), 17: ("INT4", 0.5)}
_UNPACK = {"INT32": "i", "INT64": "q", "FLOAT32": "f"}
# Each operator's options: the options table's class in the schema and the fields read from it.
OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "CONV_2D": ("Conv2DOptions", ("Padding", "StrideW", "StrideH", "FusedActivationFunction", "DilationWFactor",
                                  "DilationHFactor")),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptions", ("Padding", "StrideW", "StrideH", "DepthMultiplier",
                                                     "FusedActivationFunction", "DilationWFactor", "DilationHFactor")),
    "AVERAGE_POOL_2D": ("Pool2DOptions", ("Padding", "StrideW", "StrideH", "FilterWidth", "FilterHeight",
                                          "FusedActivationFunction")),
    "FULLY_CONNECTED": ("FullyConnectedOptions", ("FusedActivationFunction", "WeightsFormat", "KeepNumDims")),
    "CONCATENATION": ("ConcatenationOptions", ("Axis", "FusedActivationFunction")),
    "ADD": ("AddOptions", ("FusedActivationFunction",)),
    "MUL": ("MulOptions", ("FusedActivationFunction",)),
    "MEAN": ("ReducerOptions", ("KeepDims",)),
    "LEAKY_RELU": ("LeakyReluOptions", ("Alpha",)),
}
OPTIONS["MAX_POOL_2D"] = OPTIONS["AVERAGE_POOL_2D"]
OPTIONS["BATCH_MATMUL"] = ("BatchMatMulOptions", ("AdjX", "AdjY"))
OPTIONS["RESIZE_BILINEAR"] = ("ResizeBilinearOptions", ("AlignCorners", "HalfPixelCenters"))
OPTIONS["RESIZE_NEAREST_NEIGHBOR"] = ("ResizeNearestNeighborOptions", ("AlignCorners", "HalfPixelCenters"))


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    type: str
    buffer: int  # 0 (the schema's empty sentinel) for tensors computed at run time
    const: bool  # its buffer holds data: a weight, a bias, a shape, axes
    values: tuple[Any, ...] | None = None  # flat, when small and of a type read here
    variable: bool = False  # a variable tensor (state kept across invokes, allocated apart from the arena)
    scales: int = 0  # quantization parameters stored: float32 scales and int64 zero points
    zero_points: int = 0


@dataclass(frozen=True)
class Operator:
    index: int
    code: str  # CONV_2D, or CUSTOM 'name'
    inputs: tuple[int, ...]  # tensor indices; -1 for an absent optional input
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"operator {self.index} ({self.code})"


@dataclass(frozen=True)
class TfliteModel:
    source: str
    version: int
    description: str
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def _tflite() -> Any:
    try:
        import tflite
    except ImportError:
        raise MissingExtraError("importing .tflite models needs the tflite package: pip install 'mobcost[tflite]'") \
            from None
    return tflite


def read_tflite(model: str | Path | bytes, source: str | None = None) -> TfliteModel:
    """The first subgraph of a .tflite file (a path or its bytes) as plain data; ``source`` names it in messages."""
    if isinstance(model, bytes | bytearray):
        data, source = bytes(model), source or "<bytes>"
    else:
        path = Path(model)
        if not path.is_file():
            raise ModelImportError("no such file", file=str(path))
        note_input(path)  # an output of this command may not replace it
        data, source = path.read_bytes(), source or path.name
    tflite = _tflite()
    if len(data) < 8 or not tflite.Model.ModelBufferHasIdentifier(data, 0):
        if len(data) < 8:
            raise ModelImportError(f"not a TFLite model: {len(data)} bytes, shorter than a FlatBuffer's header",
                                   file=source)
        found = printable(data[4:8].decode("latin-1"))
        raise ModelImportError(f"not a TFLite model (file identifier {found!r}, expected 'TFL3')", file=source)
    return _Reader(tflite, data, source).model()


class _Reader:
    def __init__(self, tflite: Any, data: bytes, source: str) -> None:
        self.t, self.data, self.source = tflite, data, source
        self.left = 4 * len(data) + 4096  # elements still to read, all vectors together
        self.where = "the model"

    def fail(self, message: str) -> ModelImportError:
        return ModelImportError(message, file=self.source, where=self.where)

    def vector(self, length: Callable[[], int], item: Callable[[int], Any], size: float, what: str) -> list[Any]:
        n = length()
        if n < 0 or n * size > len(self.data) or n > self.left:
            raise self.fail(f"{what} declares {n:,} elements of {size:g} bytes in a file of {len(self.data):,} bytes")
        self.left -= n
        return [item(j) for j in range(n)]

    def model(self) -> TfliteModel:
        try:
            return self._model()
        except ModelImportError:
            raise
        except (struct.error, IndexError, ValueError, TypeError, AttributeError, UnicodeDecodeError,
                OverflowError) as exc:
            raise self.fail(f"malformed flatbuffer ({type(exc).__name__}: {exc})".splitlines()[0]) from None

    def _model(self) -> TfliteModel:
        m = self.t.Model.GetRootAsModel(self.data, 0)
        codes = self.vector(m.OperatorCodesLength, m.OperatorCodes, 4, "operator_codes")
        names = [self._code_name(c) for c in codes]
        subgraphs = self.vector(m.SubgraphsLength, m.Subgraphs, 4, "subgraphs")
        if not subgraphs:
            raise self.fail("the model has no subgraph")
        g = subgraphs[0]  # the main one; others are bodies of control flow, whose operators are refused
        buffers = self.vector(m.BuffersLength, m.Buffers, 4, "buffers")
        tensors = []
        for i, t in enumerate(self.vector(g.TensorsLength, g.Tensors, 4, "tensors")):
            self.where = f"tensor {i}"
            tensors.append(self._tensor(i, t, buffers))
        operators = []
        for i, op in enumerate(self.vector(g.OperatorsLength, g.Operators, 4, "operators")):
            self.where = f"operator {i}"
            operators.append(self._operator(i, op, names, len(tensors)))
        self.where = "subgraph 0"
        inputs = self._indices(g.InputsLength, g.Inputs, "inputs", len(tensors))
        outputs = self._indices(g.OutputsLength, g.Outputs, "outputs", len(tensors))
        description = printable((m.Description() or b"").decode(errors="replace"))
        return TfliteModel(self.source, m.Version(), description, tuple(tensors), tuple(operators), inputs, outputs)

    def _code_name(self, code: Any) -> str:
        # the schema's int8 field holds codes below 127; later ones sit in the int32 field (TFLite's own rule)
        value = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = _builtin_names(self.t).get(value, f"BUILTIN_{value}")
        if name == "CUSTOM":
            return f"CUSTOM {printable((code.CustomCode() or b'').decode(errors='replace'))!r}"
        return name

    def _indices(self, length: Callable[[], int], item: Callable[[int], int], what: str, count: int,
                 optional: bool = False) -> tuple[int, ...]:
        values = tuple(self.vector(length, item, 4, what))
        bad = next((v for v in values if not (-1 if optional else 0) <= v < count), None)
        if bad is not None:
            raise self.fail(f"{what} names tensor {bad}; the subgraph has {count}")
        return values

    def _operator(self, index: int, op: Any, names: list[str], count: int) -> Operator:
        opcode = op.OpcodeIndex()
        if not 0 <= opcode < len(names):
            raise self.fail(f"opcode index {opcode}; the model has {len(names)} operator codes")
        code = names[opcode]
        self.where = f"operator {index} ({code})"
        inputs = self._indices(op.InputsLength, op.Inputs, "inputs", count, optional=True)
        outputs = self._indices(op.OutputsLength, op.Outputs, "outputs", count)
        return Operator(index, code, inputs, outputs, self._options(op, code))

    def _options(self, op: Any, code: str) -> dict[str, Any]:
        if code not in OPTIONS:
            return {}
        kind, fields = OPTIONS[code]
        table = op.BuiltinOptions()
        if table is None or op.BuiltinOptionsType() == 0:
            return {}  # absent: each field takes the schema's default, checked by the operator's mapping
        if op.BuiltinOptionsType() != getattr(self.t.BuiltinOptions, kind):
            raise self.fail(f"options of type {op.BuiltinOptionsType()}, expected {kind}")
        options = getattr(self.t, kind)()
        options.Init(table.Bytes, table.Pos)
        return {f: getattr(options, f)() for f in fields}

    def _tensor(self, index: int, t: Any, buffers: list[Any]) -> Tensor:
        shape = tuple(self.vector(t.ShapeLength, t.Shape, 4, "shape"))
        if any(d < 0 for d in shape):
            raise self.fail(f"negative dimension in {list(shape)}")
        type_name, size = _TYPES.get(t.Type(), (f"type {t.Type()}", 0))
        b = t.Buffer()
        if not 0 <= b < max(len(buffers), 1):
            raise self.fail(f"buffer {b}; the model has {len(buffers)}")
        data = self._buffer(buffers[b], b) if b and not t.IsVariable() else None
        name = printable((t.Name() or b"").decode(errors="replace")) or f"tensor_{index}"
        q = t.Quantization()
        scales, zero_points = (q.ScaleLength(), q.ZeroPointLength()) if q else (0, 0)
        if not (0 <= scales * 4 <= len(self.data) and 0 <= zero_points * 8 <= len(self.data)):
            raise self.fail(f"quantization declares {scales:,} scales and {zero_points:,} zero points in a file of "
                            f"{len(self.data):,} bytes")
        extra = {"variable": bool(t.IsVariable()), "scales": scales, "zero_points": zero_points}
        if data is None:
            return Tensor(index, name, shape, type_name, b, False, **extra)
        numel = math.prod(shape)
        if size and t.Sparsity() is None and len(data) < numel * size:
            raise self.fail(f"buffer {b} holds {len(data):,} bytes for a {type_name} tensor of shape {list(shape)}")
        values = None
        if type_name in _UNPACK and numel <= _READ_VALUES:
            values = struct.unpack_from(f"<{numel}{_UNPACK[type_name]}", data, 0)
        return Tensor(index, name, shape, type_name, b, True, values, **extra)

    def _buffer(self, buffer: Any, index: int) -> bytes | memoryview | None:
        """A buffer's bytes (a view: weights are not copied), or None when it is empty (a computed tensor)."""
        offset, size = buffer.Offset(), buffer.Size()
        if offset > 1:  # stored after the flatbuffer (models over 2 GB)
            if offset + size > len(self.data):
                raise self.fail(f"buffer {index} lies at {offset:,}+{size:,}, past the file's {len(self.data):,} bytes")
            return memoryview(self.data)[offset:offset + size]
        n = buffer.DataLength()
        if n <= 0:
            return None
        if n > len(self.data):
            raise self.fail(f"buffer {index} declares {n:,} bytes in a file of {len(self.data):,} bytes")
        start = buffer._tab.Vector(buffer._tab.Offset(4))  # the data vector's first byte (field 0's slot)
        if start + n > len(self.data):
            raise self.fail(f"buffer {index} lies at {start:,}+{n:,}, past the file's {len(self.data):,} bytes")
        return memoryview(self.data)[start:start + n]


_NAMES: dict[int, str] = {}


def _builtin_names(tflite: Any) -> dict[int, str]:
    if not _NAMES:
        _NAMES.update({v: k for k, v in vars(tflite.BuiltinOperator).items() if isinstance(v, int)})
    return _NAMES
