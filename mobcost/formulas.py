"""The one registry of closed-form costs, one class per layer type.

Counting rule, stated once (the paper's convention, Howard et al. 2017, §3):

* **Mult-Adds**: multiply-adds of convolution and fully connected layers, batch 1. BatchNorm is folded
  into the convolution, and activations, pooling, additions and softmax add nothing.
* **Params**: convolution and fully connected weights plus the biases a layer declares. BatchNorm's
  γ and β (2 per channel) are reported apart as ``bn_params``; its running statistics are buffers.
* **Memory access** (elements): every input activation read + the output activation written + the
  weights read; biases excluded. Pooling, ``add`` and ``concat`` have no weights.

The paper's symbols: D_K kernel size, M input channels, N output channels, D_F output feature map
size. The width multiplier α and resolution multiplier ρ (eqs. 6–7) are applied when the graph is
built (channels and input size), never here, so every formula below stays an exact integer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import ShapeError
from .layers import Layer, Node, Shape


@dataclass(frozen=True)
class Key:
    """A spec key a layer type accepts: its value kind and default (``REQUIRED`` if it has none)."""

    kind: str  # "posint" | "nonneg" | "bool" | "act"
    default: Any = None
    required: bool = False


ACTIVATIONS = ("relu", "relu6", "none")

REGISTRY: dict[str, LayerKind] = {}


def register(name: str) -> Callable[[type[LayerKind]], type[LayerKind]]:
    """Class decorator adding a layer type to ``REGISTRY``; a second type of the same name is a bug."""

    def add(cls: type[LayerKind]) -> type[LayerKind]:
        if name in REGISTRY:
            raise ValueError(f"layer type {name!r} registered twice")
        cls.type_name = name
        REGISTRY[name] = cls()
        return cls

    return add


def conv_output_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool = False) -> int:
    """floor((H + 2·padding − kernel) / stride) + 1, or ceil(...) for ceil-mode pooling."""
    span = size + 2 * padding - kernel
    if span < 0:
        return 0
    steps = -(-span // stride) if ceil_mode else span // stride
    if ceil_mode and steps * stride >= size + padding:
        steps -= 1  # PyTorch's rule: the last window must start inside the input or left padding
    return steps + 1


def conv_mult_adds(kernel: int, in_channels: int, out_channels: int, groups: int, out: Shape) -> int:
    """Eq. (2) generalised to groups: D_K·D_K·(M/g)·N·D_G·D_G (g=1: eq. 2; g=M=N: eq. 4's first term)."""
    return kernel * kernel * (in_channels // groups) * out_channels * out.h * out.w


def conv_weights(kernel: int, in_channels: int, out_channels: int, groups: int) -> int:
    """D_K·D_K·(M/g)·N weights in the kernel K."""
    return kernel * kernel * (in_channels // groups) * out_channels


def spatial(node_layer: Layer, x: Shape, kernel: int, stride: int, padding: int) -> tuple[int, int]:
    """Output height and width, refusing a feature map that shrinks to nothing."""
    h = conv_output_size(x.h, kernel, stride, padding, node_layer.ceil_mode)
    w = conv_output_size(x.w, kernel, stride, padding, node_layer.ceil_mode)
    if h < 1 or w < 1:
        raise ShapeError(
            f"{node_layer.type} with kernel {kernel}, stride {stride}, padding {padding} "
            f"turns a {x.h}×{x.w} input into nothing"
        )
    return h, w


class LayerKind:
    """Base of every layer type: costs default to zero, memory access to inputs + output + weights."""

    type_name: ClassVar[str] = ""
    keys: ClassVar[Mapping[str, Key]] = {}
    arity: ClassVar[int] = 1  # number of inputs; 0 means "two or more"
    doc: ClassVar[str] = ""
    label: ClassVar[str] = ""  # Table 1's name for the type ("Conv dw", "Avg Pool", "FC")

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        raise NotImplementedError

    def mult_adds(self, node: Node) -> int:
        return 0

    def weights(self, node: Node) -> int:
        return 0

    def work(self, node: Node) -> int:
        """The arithmetic a processor does (what latency scales with): Mult-Adds, but for pooling, which
        has none, the window reads."""
        return self.mult_adds(node)

    def biases(self, node: Node) -> int:
        return 0

    def bn_params(self, node: Node) -> int:
        return 0

    def params(self, node: Node) -> int:
        return self.weights(node) + self.biases(node)

    def memory_access(self, node: Node) -> int:
        """The seeds' rule: input activations + output activations + weights, biases excluded."""
        return sum(x.numel for x in node.inputs) + node.output.numel + self.weights(node)

    def category(self, node: Node) -> str:
        """The row this layer adds to in the paper's Table 2 (resource per layer type)."""
        raise NotImplementedError

    def filter_shape(self, node: Node) -> str:
        """Table 1's "Filter Shape" column."""
        return ""

    def type_label(self, node: Node) -> str:
        """Table 1's "Type / Stride" column."""
        return f"{self.label} / s{node.stride}" if node.stride is not None else self.label


CONV_KEYS: Mapping[str, Key] = {
    "kernel": Key("posint", 3),
    "stride": Key("posint", 1),
    "padding": Key("nonneg", None),
    "bias": Key("bool", False),
    "bn": Key("bool", True),
    "act": Key("act", "relu"),
}


class _Conv(LayerKind):
    """Shared placement and costs of the three convolution types."""

    def _groups(self, layer: Layer, in_channels: int, out_channels: int) -> int:
        return layer.groups

    def _kernel(self, layer: Layer) -> int:
        return layer.kernel if layer.kernel is not None else 3

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        n = out_channels if out_channels is not None else x.c
        k, s = self._kernel(layer), layer.stride or 1
        p = layer.padding if layer.padding is not None else k // 2
        g = self._groups(layer, x.c, n)
        if x.c % g or n % g:
            raise ShapeError(f"groups={g} must divide both input channels ({x.c}) and output channels ({n})")
        h, w = spatial(layer, x, k, s, p)
        return Node(layer, inputs, Shape(n, h, w), n, k, s, p, g)

    def mult_adds(self, node: Node) -> int:
        return conv_mult_adds(node.kernel, node.input.c, node.out_channels, node.groups, node.output)

    def weights(self, node: Node) -> int:
        return conv_weights(node.kernel, node.input.c, node.out_channels, node.groups)

    def biases(self, node: Node) -> int:
        return node.out_channels if node.layer.bias else 0

    def bn_params(self, node: Node) -> int:
        return 2 * node.out_channels if node.layer.bn else 0


@register("conv")
class Conv(_Conv):
    """Standard convolution, optionally grouped. Eq. (2): D_K·D_K·M·N·D_F·D_F; grouped D_K²·(M/g)·N·D_G²."""

    keys = {"out": Key("posint", required=True), **CONV_KEYS, "groups": Key("posint", 1), "scale": Key("bool", True)}
    doc = "standard convolution (groups allowed)"
    label = "Conv"

    def category(self, node: Node) -> str:
        k = node.kernel
        return f"Conv {k}×{k}" if node.groups == 1 else f"Conv {k}×{k} g{node.groups}"

    def filter_shape(self, node: Node) -> str:
        k, m = node.kernel, node.input.c // node.groups
        return f"{k}×{k}×{m}×{node.out_channels}" + (f" g{node.groups}" if node.groups > 1 else "")


@register("dw")
class Depthwise(_Conv):
    """Depthwise convolution, one D_K×D_K filter per channel. Eq. (4), first term: D_K·D_K·M·D_F·D_F."""

    keys = {**CONV_KEYS}
    doc = "depthwise convolution (out channels = in channels)"
    label = "Conv dw"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        return super().place(layer, inputs, inputs[0].c)

    def _groups(self, layer: Layer, in_channels: int, out_channels: int) -> int:
        return in_channels

    def category(self, node: Node) -> str:
        return f"Conv DW {node.kernel}×{node.kernel}"

    def filter_shape(self, node: Node) -> str:
        return f"{node.kernel}×{node.kernel}×{node.input.c} dw"


@register("pw")
class Pointwise(Conv):
    """1×1 pointwise convolution. Eq. (4), second term: M·N·D_F·D_F."""

    keys = {k: v for k, v in Conv.keys.items() if k not in ("kernel", "padding", "groups")}
    doc = "1×1 pointwise convolution"

    def _kernel(self, layer: Layer) -> int:
        return 1


class Pool(LayerKind):
    """Pooling: no Mult-Adds and no weights; memory access is input + output."""

    keys = {"kernel": Key("posint", None), "stride": Key("posint", None), "padding": Key("nonneg", 0)}

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        if layer.kernel is None:  # global pool over the whole feature map
            return Node(layer, inputs, Shape(x.c, 1, 1), x.c, x.h, 1, 0, 1)
        k, p = layer.kernel, layer.padding or 0
        s = layer.stride or k
        if 2 * p > k:
            raise ShapeError(f"padding {p} must be at most half the kernel {k}")
        h, w = spatial(layer, x, k, s, p)
        return Node(layer, inputs, Shape(x.c, h, w), x.c, k, s, p, 1)

    def work(self, node: Node) -> int:
        return node.output.numel * self.window(node)

    def window(self, node: Node) -> int:
        """Input elements per output element: the kernel's area, or the whole map for a global pool."""
        return node.input.h * node.input.w if node.layer.kernel is None else (node.kernel or 1) ** 2

    def category(self, node: Node) -> str:
        return self.label

    def filter_shape(self, node: Node) -> str:
        if node.input.h != node.input.w and node.layer.kernel is None:
            return f"Pool {node.input.h}×{node.input.w}"
        return f"Pool {node.kernel}×{node.kernel}"


@register("avgpool")
class AvgPool(Pool):
    """Average pooling; global (output 1×1) unless ``kernel`` is given. Not counted in Mult-Adds."""

    doc = "average pooling (global unless kernel is given)"
    label = "Avg Pool"


@register("maxpool")
class MaxPool(Pool):
    """Max pooling with floor (default) or ceil rounding of the output size."""

    keys = {**Pool.keys, "kernel": Key("posint", required=True), "ceil_mode": Key("bool", False)}
    doc = "max pooling (ceil_mode for Caffe-style rounding)"
    label = "Max Pool"


@register("fc")
class FullyConnected(LayerKind):
    """Fully connected layer on the flattened input: C_i·C_o Mult-Adds and weights, plus C_o biases."""

    keys = {"out": Key("posint", required=True), "bias": Key("bool", True), "act": Key("act", "none"),
            "scale": Key("bool", True)}
    doc = "fully connected layer on the flattened input"
    label = "FC"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        if out_channels is None:
            raise ShapeError("fc needs 'out'")
        return Node(layer, inputs, Shape(out_channels, 1, 1), out_channels, 1, 1, 0, 1)

    def mult_adds(self, node: Node) -> int:
        return node.input.numel * node.out_channels

    def weights(self, node: Node) -> int:
        return node.input.numel * node.out_channels

    def biases(self, node: Node) -> int:
        return node.out_channels if node.layer.bias else 0

    def category(self, node: Node) -> str:
        return "Fully Connected"

    def filter_shape(self, node: Node) -> str:
        return f"{node.input.numel}×{node.out_channels}"


@register("add")
class Add(LayerKind):
    """Element-wise sum of two or more equal-shaped inputs (a residual join). No Mult-Adds."""

    keys = {"act": Key("act", "none")}
    arity = 0
    doc = "element-wise sum of its inputs (residual)"
    label = "Add"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        first = inputs[0]
        for i, x in enumerate(inputs[1:], start=1):
            if x != first:
                raise ShapeError(f"add needs equal shapes; input {i} is {x}, input 0 is {first}")
        return Node(layer, inputs, first, first.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Add"


@register("concat")
class Concat(LayerKind):
    """Channel concatenation of two or more inputs with equal H×W. No Mult-Adds."""

    arity = 0
    doc = "channel concatenation of its inputs"
    label = "Concat"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        first = inputs[0]
        for i, x in enumerate(inputs[1:], start=1):
            if (x.h, x.w) != (first.h, first.w):
                raise ShapeError(f"concat needs equal H×W; input {i} is {x}, input 0 is {first}")
        out = Shape(sum(x.c for x in inputs), first.h, first.w)
        return Node(layer, inputs, out, out.c, None, None, None, None)

    def category(self, node: Node) -> str:
        return "Concat"
