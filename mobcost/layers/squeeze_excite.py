"""Squeeze-and-excitation (Hu et al. 2018; MobileNetV3, EfficientNet, MnasNet): a channel gate on its input.

On an input of C channels: global average pool → 1×1 conv C→s with bias → ``act`` → 1×1 conv s→C with bias
→ ``gate`` → multiply with the input. The squeeze width follows the rule the network uses:
s = max(1, C // reduction), then, if divisor > 1, torchvision's ``_make_divisible(s, divisor)``.

* MobileNetV3: ``{reduction: 4, divisor: 8, act: relu, gate: hsigmoid}`` on the expanded (depthwise) output.
* EfficientNet: the squeeze is the *block input* // 4, i.e. the expanded width // (4 · expand ratio):
  ``{reduction: 24, act: silu, gate: sigmoid}`` in an expand-6 block, ``reduction: 4`` in the expand-1 block.

Counts, under the paper's convention (conv and FC multiply-adds only): Mult-Adds 2·C·s, the two 1×1
convolutions on the 1×1 pooled map — the pool, the activations and the channel multiply x · gate are not
counted; params 2·C·s weights + s + C biases; memory access input + output + weights (the seeds' rule).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..ir import Layer, Node, Shape
from .activations import same_shape
from .base import Key, LayerKind, TorchPart, make_divisible, register


def squeeze_width(channels: int, reduction: int, divisor: int) -> int:
    """s = max(1, C // reduction), then ``make_divisible(s, divisor)`` when divisor > 1."""
    s = max(1, channels // reduction)
    return make_divisible(s, divisor) if divisor > 1 else s


@register("se")
class SqueezeExcite(LayerKind):
    """Squeeze-and-excitation: 2·C·s Mult-Adds (two 1×1 convs on a 1×1 map), 2·C·s + s + C params."""

    keys: Mapping[str, Key] = {"reduction": Key("posint", 4), "divisor": Key("posint", 1), "act": Key("act", "relu"),
                               "gate": Key("activation", "sigmoid")}
    doc = ("squeeze-and-excitation: global pool → 1×1 conv C→s (bias) → act → 1×1 conv s→C (bias) → gate → "
           "× input, s = max(1, C // reduction), made divisible by `divisor` when > 1; Mult-Adds 2·C·s")
    label = "SE"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        return same_shape(layer, inputs)

    def squeeze(self, node: Node) -> int:
        return squeeze_width(node.input.c, node.layer.reduction, node.layer.divisor)

    def mult_adds(self, node: Node) -> int:
        return 2 * node.input.c * self.squeeze(node)

    def weights(self, node: Node) -> int:
        return 2 * node.input.c * self.squeeze(node)

    def biases(self, node: Node) -> int:
        return self.squeeze(node) + node.input.c

    def mult_adds_area(self, node: Node) -> int:
        return 1  # the convolutions run on the pooled 1×1 map: no resolution part

    def category(self, node: Node) -> str:
        return "Squeeze-Excite"

    def filter_shape(self, node: Node) -> str:
        return f"SE {node.input.c}→{self.squeeze(node)}→{node.input.c}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("se", "SqueezeExcite", (node.input.c, self.squeeze(node)),
                          {"act": node.layer.act, "gate": node.layer.gate})]
