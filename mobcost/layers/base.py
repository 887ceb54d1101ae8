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
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import ShapeError
from ..ir import Layer, Node, Shape


@dataclass(frozen=True)
class Key:
    """A spec key a layer type accepts: its value kind and default (``REQUIRED`` if it has none).

    ``from_defaults``: whether the spec's top-level ``defaults:`` fill the key when a layer leaves it out.
    False where leaving it out chooses a mode no value stands for (a global ``avgpool`` has no ``kernel``).
    """

    kind: str  # "posint" | "nonneg" | "bool" | "act"
    default: Any = None
    required: bool = False
    from_defaults: bool = True


# Activation names a spec may use, and the ``torch.nn`` class each builds (in place, as MobileNet
# implementations write it: one allocation less per layer).
ACTIVATIONS = ("relu", "relu6", "none")
TORCH_ACTIVATIONS = {"relu": "ReLU", "relu6": "ReLU6"}

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


def norm_and_activation(layer: Layer, channels: int) -> list[TorchPart]:
    """The BatchNorm and activation a layer declares after itself."""
    parts = [TorchPart("bn", "BatchNorm2d", (channels,))] if layer.bn else []
    if layer.act in TORCH_ACTIVATIONS:
        parts.append(TorchPart("act", TORCH_ACTIVATIONS[layer.act], kwargs={"inplace": True}))
    return parts


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
