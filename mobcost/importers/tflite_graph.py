"""A read ``.tflite`` model → the importer's :class:`OpGraph`, in the ONNX operators' vocabulary, so the mapping,
the folding rules, the YAML writer and the shape check are the ONNX importer's own.

TFLite holds images as N×H×W×C; every tensor here is given as N×C×H×W (a transpose to N×C×H×W, as a torch
converter leaves before a ``mean((2, 3))``, is followed: axes read after it are already NCHW; a PAD, RESHAPE,
SLICE or TRANSPOSE of such a tensor stays in the torch layout, as litert-torch writes ResNet-8's padding and
ShuffleNetV2's shuffle). Weights become
ONNX's layouts (O×KH×KW×I → O×I×KH×KW; a depthwise 1×KH×KW×C·m → C·m×1×KH×KW in C groups); a fused activation
becomes the activation operator after its layer, which the mapping folds back; SAME and VALID padding become
explicit pads (TensorFlow's SAME, the odd pixel after: the spec's ``padding: same`` where it is not symmetric).
A constant stored once and read by several operators keeps one name, so the mapping counts its params once.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from .model import Const, ModelImportError, Op, OpGraph
from .tflite_file import Operator, Tensor, TfliteModel
from .tflite_ops import TO_NCHW, TO_NHWC, TRANSLATE
from .tflite_tokens import keep_view

_NHWC_AXES = {0: 0, 1: 2, 2: 3, 3: 1}  # an NHWC axis → the same axis of the NCHW view
_FUSED = {1: ("Relu", {}), 3: ("Clip", {"min": 0.0, "max": 6.0}), 4: ("Tanh", {})}
_FUSED_UNKNOWN = {2: "RELU_N1_TO_1", 5: "SIGN_BIT"}
_ACTS = {"RELU": ("Relu", {}), "RELU6": ("Clip", {"min": 0.0, "max": 6.0}), "LOGISTIC": ("Sigmoid", {}),
         "HARD_SWISH": ("HardSwish", {}), "TANH": ("Tanh", {}), "LEAKY_RELU": ("LeakyRelu", {}),
         "SOFTMAX": ("Softmax", {}), "LOG_SOFTMAX": ("LogSoftmax", {}),
         "SQUEEZE": ("Squeeze", {}), "QUANTIZE": ("Identity", {}), "DEQUANTIZE": ("Identity", {})}
SUPPORTED = ("CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, ADD, MUL, "
             "CONCATENATION, RESHAPE, SQUEEZE, PAD, SLICE, RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR, SOFTMAX, "
             "QUANTIZE, DEQUANTIZE, RELU, RELU6, LOGISTIC, HARD_SWISH, TANH, LEAKY_RELU, a TRANSPOSE between NHWC "
             "and NCHW or in the torch layout (a channel shuffle)")
# elementwise operators: a rank-4 output of an input in the torch layout (attention's B×h×N×d) is in it too
_KEEPS_LAYOUT = frozenset({"ADD", "MUL", "SUB", "SQUARED_DIFFERENCE", "RSQRT", "GELU", "SOFTMAX", "LOGISTIC",
                           "HARD_SWISH", "RELU", "RELU6", "TANH", "QUANTIZE", "DEQUANTIZE", "BATCH_MATMUL",
                           "CONCATENATION", "FULLY_CONNECTED"})
_ACTIVATION_TYPES = {"INT8": "int8", "UINT8": "int8", "FLOAT32": "fp32", "FLOAT16": "fp16"}


def tflite_graph(model: TfliteModel) -> OpGraph:
    return Translator(model).graph()


class Translator:
    def __init__(self, model: TfliteModel) -> None:
        self.model, self.t = model, model.tensors
        self.ops: list[Op] = []
        self.dims: dict[str, tuple[int | None, ...]] = {}
        self.consts: dict[str, Const] = {}
        self.nchw: set[int] = set()  # rank-4 tensors laid out N×C×H×W (after a transpose), not N×H×W×C
        self.stored_as: dict[int, int] = {}  # a stored constant's (de)quantized copy → the stored tensor
        self.paths: set[str] = set()
        self.skip: set[int] = set()  # operators a translation consumed (a LayerNorm written out)
        self.rows: set[int] = set()  # N×C tensors viewed as the batch-1 1×N×C sequence they are
        self.views: dict[int, tuple[int, ...]] = {}  # 1×(B·N)×C tensors viewed as the B×N×C sequences they are
        self.alias: dict[int, int] = {}  # a RESHAPE's output that is its input (or another's output) in the view

    def fail(self, op: Operator, message: str) -> ModelImportError:
        return ModelImportError(message, file=self.model.source, where=op.where)

    def graph(self) -> OpGraph:
        image = self._input()
        for op in self.model.operators:
            if op.index not in self.skip:
                self._translate(op)
        return OpGraph(ops=self.ops, dims=self.dims, consts=self.consts, input=image,
                       outputs=tuple(self.name(i) for i in self.model.outputs), source=self.model.source,
                       producer=self.model.description or "unknown converter", opset=self.model.version,
                       scope_paths=frozenset(self.paths), kind="TFLite", dtype=self._dtype(), supported=SUPPORTED)

    def _input(self) -> str:
        data = [i for i in self.model.inputs if not self.t[i].const]
        if len(data) != 1:
            raise ModelImportError(f"the model takes {len(data)} inputs; a mobcost network takes one image",
                                   file=self.model.source)
        x = self.t[data[0]]
        readers = [op for op in self.model.operators if x.index in op.inputs]
        if len(x.shape) == 4 and len(readers) == 1 and readers[0].code == "TRANSPOSE" \
                and self.values(readers[0], 1) == TO_NHWC:
            self.nchw.add(x.index)  # an N×C×H×W input (a torch model converted as is), made NHWC first
        return self.name(x.index)

    def name(self, index: int) -> str:
        """A tensor's name in the graph (indices: TFLite does not ask for unique names); it declares its dims."""
        while index in self.alias:
            index = self.alias[index]
        name = f"t{index}"
        if name not in self.dims:
            shape: tuple[int | None, ...] = self.t[index].shape
            if len(shape) == 4 and index not in self.nchw:
                shape = tuple(shape[i] for i in TO_NCHW)
            if index in self.rows:
                shape = (1, *shape)
            shape = self.views.get(index, shape)
            self.dims[name] = shape
        return name

    def const(self, index: int, role: str, dims: tuple[int, ...]) -> str:
        """A stored constant in the layout ``role`` reads it as; one name per buffer, role and shape, so a weight
        stored once counts once however many operators read it."""
        t = self.t[self.stored_as.get(index, index)]
        name = f"buffer {t.buffer} {role} {'×'.join(map(str, dims))}"
        self.consts.setdefault(name, Const(dims, t.values, initializer=True))
        self.dims[name] = dims
        return name

    def data(self, op: Operator, position: int) -> str:
        index = op.inputs[position] if position < len(op.inputs) else -1
        if index < 0:
            raise self.fail(op, f"input {position} is absent")
        t = self.stored(index)
        return self.const(index, "value", t.shape) if t is not None else self.name(index)

    def stored(self, index: int) -> Tensor | None:
        """The stored constant tensor ``index`` is (or is a (de)quantized copy of), else None."""
        t = self.t[self.stored_as.get(index, index)] if index >= 0 else None
        return t if t is not None and t.const else None

    def values(self, op: Operator, position: int) -> tuple[Any, ...] | None:
        index = op.inputs[position] if position < len(op.inputs) else -1
        return tuple(self.t[index].values) if index >= 0 and self.t[index].values is not None else None

    def emit(self, op: Operator, kind: str, inputs: tuple[str, ...], attrs: dict[str, Any] | None = None,
             fused: int = 0) -> None:
        """The operator (and its fused activation after it, on a tensor of its own) in the graph."""
        out = self.name(op.outputs[0]) if op.outputs else f"operator {op.index} output"
        path, part = self.scope(op)
        name = op.where
        if fused:
            pre = f"{out} before its activation"
            self.dims[pre] = self.dims.get(out, ())
            self.ops.append(Op(kind, name, inputs, (pre,), attrs or {}, path, part))
            act, act_attrs = _FUSED.get(fused, (_FUSED_UNKNOWN.get(fused, f"activation {fused}"), {}))
            self.ops.append(Op(act, f"{name}, its fused {act}", (pre,), (out,), act_attrs, path, act.lower()))
            return
        outputs = tuple(self.name(o) for o in op.outputs)
        self.ops.append(Op(kind, name, inputs, outputs, attrs or {}, path, part))

    def scope(self, op: Operator) -> tuple[str, str]:
        """(module path, part) from the output tensor's name: a converter's names hold the layer's scope
        (``model/conv2d_1/Relu6``; litert-torch's ``__main__.Net/torch.nn.modules.conv.Conv2d_stem;…``)."""
        part = op.code.lower() if not op.code.startswith("CUSTOM") else "custom"
        if not op.outputs:
            return "", part
        pieces = [p for p in self.t[op.outputs[0]].name.split(";") if p]
        scoped = next((p for p in reversed(pieces) if "/" in p), "")
        steps = [s.rpartition(".")[2] for s in scoped.split("/")[1:]]
        steps = [s.partition("_")[2] if "." in scoped and "_" in s else s for s in steps]  # Conv2d_stem → stem
        path = ".".join(s for s in steps if s)
        self.paths.add(path)
        return path, part

    def _dtype(self) -> str | None:
        """The element type of the activations the weighted operators read (int8 for a fully quantized model;
        fp32 for dynamic-range quantization, whose activations stay float)."""
        kinds = Counter(self.t[op.inputs[0]].type for op in self.model.operators
                        if op.code in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and op.inputs
                        and op.inputs[0] >= 0)
        top = kinds.most_common(1)
        return _ACTIVATION_TYPES.get(top[0][0]) if top else None

    def _translate(self, op: Operator) -> None:
        if not op.outputs:
            raise self.fail(op, "the operator has no output")
        if op.code in _KEEPS_LAYOUT and any(i in self.nchw for i in op.inputs):
            self.nchw.update(o for o in op.outputs if len(self.t[o].shape) == 4)  # the torch layout carries on
        if op.code in _KEEPS_LAYOUT:
            keep_view(self, op)
        handler = TRANSLATE.get(op.code)
        if handler is not None:
            handler(self, op)
        elif op.code in _ACTS:
            kind, attrs = _ACTS[op.code]
            x = self.stored(op.inputs[0]) if op.inputs else None
            if kind == "Identity" and x is not None:
                self.stored_as[op.outputs[0]] = x.index  # a stored weight (de)quantized: still the stored one
                return
            self.emit(op, kind, (self.data(op, 0),), attrs)
        else:
            self.emit(op, op.code, tuple(self.data(op, i) for i, t in enumerate(op.inputs) if t >= 0))

    def layout_axis(self, op: Operator, index: int, axis: int) -> int:
        """An axis of tensor ``index`` as the NCHW view numbers it."""
        rank = len(self.t[index].shape)
        if not -rank <= axis < rank:
            raise self.fail(op, f"axis {axis} of a rank-{rank} tensor")
        axis %= max(rank, 1)
        return _NHWC_AXES[axis] if rank == 4 and index not in self.nchw else axis

    def numel(self, index: int) -> int:
        return math.prod(self.t[index].shape)
