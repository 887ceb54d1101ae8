"""The fully connected layer: C_in·C_out Mult-Adds and weights on the flattened input."""

from __future__ import annotations

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import SCALE, Key, LayerKind, TorchPart, activation_part, register


@register("fc")
class FullyConnected(LayerKind):
    """Fully connected layer on the flattened input: C_i·C_o Mult-Adds and weights, plus C_o biases."""

    # `bn`: a BatchNorm after the layer (Keras Dense + BatchNormalization, MLPerf Tiny's autoencoder), folded at
    # deployment like a convolution's: its γ, β go to bn_params, never to the Mult-Adds.
    keys = {"out": Key("posint", required=True), "bias": Key("bool", True), "bn": Key("bool", False),
            "act": Key("act", "none"), "scale": SCALE}
    doc = "fully connected layer on the flattened input"
    label = "FC"
    flattened_ok = True

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

    def bn_params(self, node: Node) -> int:
        return 2 * node.out_channels if node.layer.bn else 0

    def mult_adds_area(self, node: Node) -> int:
        return node.input.area  # C·H·W inputs, each to every output (H·W also if a flatten folded it into C)

    def weights_area(self, node: Node) -> int:
        return node.input.area

    def torch_parts(self, node: Node) -> list[TorchPart]:
        fc = TorchPart("fc", "Linear", (node.input.numel, node.out_channels), {"bias": node.layer.bias})
        after = [TorchPart("bn", "BatchNorm1d", (node.out_channels,))] if node.layer.bn else []  # on N×C
        return [TorchPart("flatten", "Flatten"), fc, *after, *activation_part(node.layer.act)]

    def category(self, node: Node) -> str:
        return "Fully Connected"

    def filter_shape(self, node: Node) -> str:
        return f"{node.input.numel}×{node.out_channels}"
