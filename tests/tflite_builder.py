"""Small .tflite files written in the test with the tflite package's flatbuffer builders: graphs no converter
makes on purpose (an unknown operator, a weight that does not fit, one weight buffer read twice, names that
would break YAML), so each importer rule is checked on a file whose every byte the test chose."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flatbuffers
import tflite

FLOAT32, INT32, INT8 = 0, 2, 9


@dataclass
class T:
    """A tensor: its shape, type, and the buffer it reads (0: computed at run time) with that buffer's bytes."""

    name: str
    shape: tuple[int, ...]
    type: int = FLOAT32
    buffer: int = 0


@dataclass
class Op:
    """An operator: its builtin code (tflite.BuiltinOperator), tensor indices, and options (class, fields)."""

    code: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: tuple[str, dict[str, Any]] | None = None


@dataclass
class Model:
    tensors: list[T]
    ops: list[Op]
    inputs: tuple[int, ...] = (0,)
    outputs: tuple[int, ...] = ()
    buffers: list[bytes] = field(default_factory=list)  # buffer 1 onwards (buffer 0 is the empty sentinel)


def weights(n: int, type_: int = FLOAT32) -> bytes:
    return bytes(n * (4 if type_ in (FLOAT32, INT32) else 1))


def ints(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}i", *values)


def _vector(b: flatbuffers.Builder, start: Any, values: list[Any], prepend: Any) -> int:
    start(b, len(values))
    for v in reversed(values):
        prepend(v)
    return b.EndVector()


def build(model: Model) -> bytes:
    b = flatbuffers.Builder(1024)
    buffers = []
    for data in [b"", *model.buffers]:
        vec = b.CreateByteVector(data) if data else None
        tflite.BufferStart(b)
        if vec is not None:
            tflite.BufferAddData(b, vec)
        buffers.append(tflite.BufferEnd(b))
    tensors = []
    for t in model.tensors:
        name = b.CreateString(t.name)
        shape = _vector(b, tflite.TensorStartShapeVector, list(t.shape), b.PrependInt32)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, t.type)
        tflite.TensorAddBuffer(b, t.buffer)
        tflite.TensorAddName(b, name)
        tensors.append(tflite.TensorEnd(b))
    codes = sorted({op.code for op in model.ops})
    operators = [_operator(b, op, codes.index(op.code)) for op in model.ops]
    code_tables = []
    for code in codes:
        tflite.OperatorCodeStart(b)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        tflite.OperatorCodeAddBuiltinCode(b, code)
        tflite.OperatorCodeAddVersion(b, 1)
        code_tables.append(tflite.OperatorCodeEnd(b))
    outputs = model.outputs or model.ops[-1].outputs
    graph = _subgraph(b, tensors, operators, list(model.inputs), list(outputs))
    vectors = [_vector(b, start, items, b.PrependUOffsetTRelative) for start, items in (
        (tflite.ModelStartOperatorCodesVector, code_tables), (tflite.ModelStartSubgraphsVector, [graph]),
        (tflite.ModelStartBuffersVector, buffers))]
    description = b.CreateString("tests/tflite_builder.py")
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, vectors[0])
    tflite.ModelAddSubgraphs(b, vectors[1])
    tflite.ModelAddBuffers(b, vectors[2])
    tflite.ModelAddDescription(b, description)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _operator(b: flatbuffers.Builder, op: Op, index: int) -> int:
    inputs = _vector(b, tflite.OperatorStartInputsVector, list(op.inputs), b.PrependInt32)
    outputs = _vector(b, tflite.OperatorStartOutputsVector, list(op.outputs), b.PrependInt32)
    options = None
    if op.options is not None:
        kind, fields = op.options
        getattr(tflite, f"{kind}Start")(b)
        for name, value in fields.items():
            getattr(tflite, f"{kind}Add{name}")(b, value)
        options = getattr(tflite, f"{kind}End")(b)
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, index)
    tflite.OperatorAddInputs(b, inputs)
    tflite.OperatorAddOutputs(b, outputs)
    if options is not None:
        tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, op.options[0]))  # type: ignore[index]
        tflite.OperatorAddBuiltinOptions(b, options)
    return tflite.OperatorEnd(b)


def _subgraph(b: flatbuffers.Builder, tensors: list[int], operators: list[int], inputs: list[int],
              outputs: list[int]) -> int:
    t = _vector(b, tflite.SubGraphStartTensorsVector, tensors, b.PrependUOffsetTRelative)
    o = _vector(b, tflite.SubGraphStartOperatorsVector, operators, b.PrependUOffsetTRelative)
    i = _vector(b, tflite.SubGraphStartInputsVector, inputs, b.PrependInt32)
    out = _vector(b, tflite.SubGraphStartOutputsVector, outputs, b.PrependInt32)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, t)
    tflite.SubGraphAddOperators(b, o)
    tflite.SubGraphAddInputs(b, i)
    tflite.SubGraphAddOutputs(b, out)
    return tflite.SubGraphEnd(b)


def conv(stride: int = 1, padding: int = 0, act: int = 0) -> tuple[str, dict[str, Any]]:
    """Conv2DOptions (padding 0: SAME, 1: VALID; act 1: ReLU, 3: ReLU6)."""
    return "Conv2DOptions", {"Padding": padding, "StrideW": stride, "StrideH": stride, "FusedActivationFunction": act,
                             "DilationWFactor": 1, "DilationHFactor": 1}


def file_counts(path: Path) -> tuple[int, int]:
    """Mult-Adds and params counted on the flatbuffer itself (the tflite package's generated classes, not
    mobcost's reader): CONV_2D O×KH×KW×I and DEPTHWISE_CONV_2D 1×KH×KW×C weights × output H·W, FULLY_CONNECTED
    O×I × its output rows (elements / O), BATCH_MATMUL output elements × the shared dimension; params the
    elements of every stored weight and bias (input 1, 2) of those, each buffer once."""
    data = path.read_bytes()
    model = tflite.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if isinstance(v, int)}
    mult_adds, params, seen = 0, 0, set()
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        inputs = list(op.InputsAsNumpy())
        out = [int(d) for d in graph.Tensors(op.Outputs(0)).ShapeAsNumpy()]
        if kind == "BATCH_MATMUL":
            mult_adds += math.prod(out) * int(graph.Tensors(inputs[0]).ShapeAsNumpy()[-1])
        if kind not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        w = [int(d) for d in graph.Tensors(inputs[1]).ShapeAsNumpy()]
        mult_adds += w[0] * w[1] * (math.prod(out) // w[0]) if kind == "FULLY_CONNECTED" else \
            math.prod(w) * out[1] * out[2]
        for t in inputs[1:3]:
            buffer = graph.Tensors(t).Buffer() if t >= 0 else 0
            if buffer and buffer not in seen:
                seen.add(buffer)
                params += math.prod(int(d) for d in graph.Tensors(t).ShapeAsNumpy())
    return mult_adds, params
