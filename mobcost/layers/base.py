"""The one registry of closed-form costs, one class per layer type.

Counting rule, stated once (the paper's convention, Howard et al. 2017, §3):

* **Mult-Adds**: multiply-adds of convolution and fully connected layers (squeeze-and-excitation's two
  1×1 convolutions included), batch 1. BatchNorm is folded into the convolution, and activations,
  pooling, additions, elementwise products (``mul``, SE's x · gate, layer scale), channel moves and
  softmax add nothing.
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
    # "padding" (an integer ≥ 0 or "same")
    kind: str
    default: Any = None
    required: bool = False
    from_defaults: bool = True
    choices: tuple[str, ...] = ()  # the values of a "choice" key


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


def conv_output_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool = False) -> int:
    """floor((H + 2·padding − kernel) / stride) + 1, or ceil(...) for ceil-mode pooling."""
    span = size + 2 * padding - kernel
    if span < 0:
        return 0
    steps = -(-span // stride) if ceil_mode else span // stride
    if ceil_mode and steps * stride >= size + padding:
        steps -= 1  # PyTorch's rule: the last window must start inside the input or left padding
    return steps + 1

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
