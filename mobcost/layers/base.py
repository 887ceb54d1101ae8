"""The one registry of closed-form costs, one class per layer type.

Counting rule, stated once (the paper's convention, Howard et al. 2017, §3):

* **Mult-Adds**: multiply-adds of convolution and fully connected layers (squeeze-and-excitation's two
  1×1 convolutions included, token-wise ``linear`` layers and attention's q/k/v and output projections too)
  and of matrix products of two activations (attention's Q·Kᵀ and A·V: N·N·d per head each), batch 1 — what
  fvcore counts as conv, linear, matmul, bmm and einsum at one per multiply-add, and ``FlopCounterMode`` as
  convolution, mm, addmm, bmm and scaled-dot-product attention at two. BatchNorm is folded into the
  convolution, and activations, pooling, additions, elementwise products (``mul``, SE's x · gate, layer
  scale, attention's 1/√d scaling), LayerNorm, channel and token moves and softmax add nothing.
* **Params**: convolution and fully connected weights plus the biases a layer declares. BatchNorm's
  (and LayerNorm's) γ and β (2 per channel) are reported apart as ``bn_params``; running statistics are
  buffers.
* **Memory access** (elements): every input activation read + the output activation written + the
  weights read; biases excluded. Pooling, joins and the layers that only move values have no weights.

The paper's symbols: D_K kernel size, M input channels, N output channels, D_F output feature map
size. The width multiplier α and resolution multiplier ρ (eqs. 6–7) are applied when the graph is
built (channels and input size), never here, so every formula below stays an exact integer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar

from ..errors import ShapeError
from ..ir import Layer, Node, Shape


@dataclass(frozen=True)
class Key:
    """A spec key a layer type accepts: its value kind and default (``REQUIRED`` if it has none).

    ``from_defaults``: whether the spec's top-level ``defaults:`` fill the key when a layer leaves it out.
    False where leaving it out chooses a mode no value stands for (a global ``avgpool`` has no ``kernel``),
    and for keys that say what one layer is (``out``, ``expand``, ``group_width``, a shuffle's ``groups``).
    """

    # "posint" | "nonneg" | "bool" | "act" (an activation or none) | "activation" (not none) | "choice" |
    # "padding" (an integer ≥ 0, "same", or [height, width] with each an integer or [before, after]) | "size" (a
    # positive integer or [height, width]: kernel, stride) | "pads" (an integer ≥ 0 or [height, width]: the same
    # padding before and after, as transposed convolutions take it) | "scale" (true, false or "up") | "sizes" (two
    # or more positive integers: a split's proportions) | "ref" (a layer name or ``input``: a resize's ``size_of``)
    kind: str
    default: Any = None
    required: bool = False
    from_defaults: bool = True
    choices: tuple[str, ...] = ()  # the values of a "choice" key


# How a layer's width follows α: scaled (true), kept (false: a classifier), or kept up to α = 1 and scaled above
# ("up": MobileNetV2's last 1×1 conv); the graph builder applies it, never a formula.
SCALE = Key("scale", True)

# Activation names a spec may use (``swish`` is another name of ``silu``). Under the paper's convention an
# activation costs nothing: its multiplies and comparisons are not convolution or FC multiply-adds.
ACTIVATIONS = ("relu", "relu6", "hswish", "hsigmoid", "sigmoid", "silu", "swish", "gelu", "tanh", "leaky_relu",
               "none")
# The ``torch.nn`` class each builds, its arguments, and whether torch lets it work in place (as MobileNet
# implementations write it: one allocation less per layer). ``leaky_relu``: torch's default slope, 0.01.
TORCH_ACTIVATIONS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "relu": ("ReLU", {}, True), "relu6": ("ReLU6", {}, True), "hswish": ("Hardswish", {}, True),
    "hsigmoid": ("Hardsigmoid", {}, True), "sigmoid": ("Sigmoid", {}, False), "silu": ("SiLU", {}, True),
    "swish": ("SiLU", {}, True), "gelu": ("GELU", {}, False), "tanh": ("Tanh", {}, False),
    "leaky_relu": ("LeakyReLU", {"negative_slope": 0.01}, True),
}


def make_divisible(value: int | Fraction, divisor: int) -> int:
    """torchvision's ``_make_divisible``, exactly (``value`` may be a Fraction such as α·out): the multiple of
    ``divisor`` nearest to ``value`` (halves up), at least ``divisor``, and one ``divisor`` more if rounding
    down lost over 10% of ``value``."""
    v = Fraction(value)
    new = max(divisor, math.floor(v + Fraction(divisor, 2)) // divisor * divisor)
    return new + divisor if new < Fraction(9, 10) * v else new


REGISTRY: dict[str, LayerKind] = {}

# What a layer type takes as input: feature maps (every type before attention), token sequences
# (``Shape.tokens``: the layers of a vision transformer), or either (elementwise layers and joins).
MAPS, TOKENS, EITHER = "maps", "tokens", "either"

# A count as a sum of terms, each (count, area): ``area`` is its resolution-dependent factor and divides it, so
# ``count // area`` depends on α alone (the sweep's factorisation). Most layers have one term; attention has two,
# its projections (∝ N) and its two products of activations (∝ N²).
Terms = tuple[tuple[int, int], ...]


def register(name: str) -> Callable[[type[LayerKind]], type[LayerKind]]:
    """Class decorator adding a layer type to ``REGISTRY``; a second type of the same name is a bug."""

    def add(cls: type[LayerKind]) -> type[LayerKind]:
        if name in REGISTRY:
            raise ValueError(f"layer type {name!r} registered twice")
        cls.type_name = name
        REGISTRY[name] = cls()
        return cls

    return add


@dataclass(frozen=True)
class TorchPart:
    """One submodule of a layer's torch build: a ``torch.nn`` class by name and its arguments.

    The registry describes the build as data, so the layer's formulas and its torch module are written in
    one place while only the torch side imports torch. ``name`` is what counters attribute ops and
    parameters to (``conv``, ``fc``, ``bn``, ``act``, ``pool``); ``module`` ``add`` and ``concat`` are joins.
    """

    name: str
    module: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def activation_part(act: str, *, inplace: bool = True, name: str = "act") -> list[TorchPart]:
    """The torch module of an activation (none for ``none``), in place where torch allows and ``inplace``."""
    if act not in TORCH_ACTIVATIONS:
        return []
    module, kwargs, can = TORCH_ACTIVATIONS[act]
    return [TorchPart(name, module, kwargs={**kwargs, **({"inplace": True} if can and inplace else {})})]


def norm_and_activation(layer: Layer, channels: int) -> list[TorchPart]:
    """The BatchNorm and activation a layer declares after itself (in place: it acts on the layer's own,
    freshly written output)."""
    parts = [TorchPart("bn", "BatchNorm2d", (channels,))] if layer.bn else []
    return parts + activation_part(layer.act)


Pair = tuple[int, int]
Pads = tuple[int, int, int, int]  # top, bottom, left, right


def same_padding(size: int, out: int, stride: int, span: int) -> tuple[int, int]:
    """TensorFlow's "same" padding of one axis: (before, after), the odd pixel after."""
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def pad_part(padding: Pads, value: float = 0.0) -> TorchPart:
    """The explicit (left, right, top, bottom) padding with ``value`` before a convolution or pool whose sides
    differ ("same"), or of a ``pad`` layer."""
    top, bottom, left, right = padding
    return TorchPart("pad", "ZeroPad", ((left, right, top, bottom),), {"value": value} if value else {})


def pair(value: int | tuple[int, ...]) -> Pair:
    """A decoded ``kernel`` or ``stride`` (an int, or the pair (height, width)) as (height, width)."""
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def pads(value: int | tuple[int, ...]) -> Pads:
    """A decoded ``padding`` (an int, or (top, bottom, left, right)) as (top, bottom, left, right)."""
    return (value,) * 4 if isinstance(value, int) else (value[0], value[1], value[2], value[3])


def square(value: tuple[int, ...]) -> int | None:
    """The one integer of a pair (or four sides) that are all equal; None if they differ."""
    return value[0] if len(set(value)) == 1 else None


def torch_window(value: tuple[int, int]) -> int | tuple[int, int]:
    """A kernel, stride or padding as torch takes it: an int when square (as every square layer always was), else
    the pair (height, width)."""
    one = square(value)
    return one if one is not None else value


def hw_text(value: Pair, sep: str = "×") -> str:
    """``3`` for a square window, ``1×7`` for another (height first)."""
    return str(value[0]) if value[0] == value[1] else f"{value[0]}{sep}{value[1]}"


def conv_output_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool = False,
                     padding_after: int | None = None) -> int:
    """floor((H + padding + padding_after − kernel) / stride) + 1 (padding_after defaults to padding), or
    ceil(...) for ceil-mode pooling."""
    span = size + padding + (padding if padding_after is None else padding_after) - kernel
    if span < 0:
        return 0
    steps = -(-span // stride) if ceil_mode else span // stride
    if ceil_mode and steps * stride >= size + padding:
        steps -= 1  # PyTorch's rule: the last window must start inside the input or left padding
    return steps + 1


def spatial(node_layer: Layer, x: Shape, span: Pair, stride: Pair, padding: Pads) -> tuple[int, int]:
    """Output height and width of a window of ``span`` pixels (height, width), refusing a feature map that
    shrinks to nothing."""
    top, bottom, left, right = padding
    h = conv_output_size(x.h, span[0], stride[0], top, node_layer.ceil_mode, bottom)
    w = conv_output_size(x.w, span[1], stride[1], left, node_layer.ceil_mode, right)
    if h < 1 or w < 1:
        shown = square(padding)
        raise ShapeError(
            f"{node_layer.type} with kernel {hw_text(span)}, stride {hw_text(stride)}, padding "
            f"{shown if shown is not None else list(padding)} turns a {x.h}×{x.w} input into nothing"
        )
    return h, w


def window_node(layer: Layer, inputs: tuple[Shape, ...], output: Shape, kernel: Pair, stride: Pair,
                padding: Pads, groups: int | None, *, padding_int: int | None = None) -> Node:
    """A node of a windowed layer (convolution, pool): the pairs, and the single integers where square."""
    int_padding = square(padding) if padding_int is None else padding_int
    return Node(layer, inputs, output, output.c, square(kernel), square(stride), int_padding, groups,
                kernel, stride, padding)


class LayerKind:
    """Base of every layer type: costs default to zero, memory access to inputs + output + weights."""

    type_name: ClassVar[str] = ""
    keys: ClassVar[Mapping[str, Key]] = {}
    arity: ClassVar[int] = 1  # number of inputs; 0 means "two or more" (add, concat), 2 exactly two (mul)
    doc: ClassVar[str] = ""
    label: ClassVar[str] = ""  # Table 1's name for the type ("Conv dw", "Avg Pool", "FC")
    one_of: ClassVar[tuple[tuple[str, ...], ...]] = ()  # groups of keys of which exactly one must be given
    not_together: ClassVar[tuple[tuple[str, ...], ...]] = ()  # groups of keys of which at most one may be given
    fixed: ClassVar[Mapping[str, Any]] = {}  # ``Layer`` fields the type sets itself (a ``bn`` layer is a BN)
    # Whether the layer takes a flattened map (C·H·W×1×1 from a ``flatten`` of a map larger than 1×1): its
    # channels then grow with the resolution, which only layers whose counts follow ``Shape.area`` can cost
    # in the vectorised sweep; the others refuse it.
    flattened_ok: ClassVar[bool] = False
    takes: ClassVar[str] = MAPS  # MAPS, TOKENS or EITHER: the graph builder refuses any other input

    def check(self, values: Mapping[str, Any]) -> tuple[str, str] | None:
        """A relation between the decoded keys that does not hold: ``(key, message)``, else None."""
        return None

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

    def table_params(self, node: Node) -> int:
        """The part of :meth:`biases` that follows the resolution and not α (attention-bias tables, heads × N):
        the sweep adds it as a resolution-only row."""
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
        if node.stride_hw is None:
            return self.label
        return f"{self.label} / s{hw_text(node.stride_hw)}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        """The layer's torch build, in order (see :class:`TorchPart`)."""
        raise NotImplementedError

    # The vectorised form (explore's sweeps): every count is a width part × a resolution part, so a
    # grid of (α, resolution) is a few matrix products. These give each count's resolution part.

    def mult_adds_area(self, node: Node) -> int:
        """The resolution-dependent factor of the Mult-Adds: the output area."""
        return node.output.h * node.output.w

    def work_area(self, node: Node) -> int:
        """The resolution-dependent factor of :meth:`work`."""
        return self.mult_adds_area(node)

    def weights_area(self, node: Node) -> int:
        """The resolution-dependent factor of the weights: 1 (a kernel does not grow with the map)."""
        return 1

    def mult_adds_terms(self, node: Node) -> Terms:
        """The Mult-Adds as a sum of (count, area) terms (see :data:`Terms`); one term unless a type's Mult-Adds
        grow with two powers of the resolution (attention)."""
        return ((self.mult_adds(node), self.mult_adds_area(node)),)

    def work_terms(self, node: Node) -> Terms:
        """:meth:`work` as a sum of (count, area) terms."""
        return ((self.work(node), self.work_area(node)),)
