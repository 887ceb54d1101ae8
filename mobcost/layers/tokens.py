"""Token sequences (vision transformers, Dosovitskiy et al. 2021; DeiT, Touvron et al. 2021): a map turned into
N tokens of C channels, the class token and position embedding added to them, token-wise linear layers and the
pooling that ends the sequence in a vector for the classifier.

A sequence is a ``Shape`` with ``tokens`` set, laid out as a C×N×1 map (``ir.Shape``): elements C·N and area N,
so memory access and the sweep's width × resolution split hold as for maps. N follows the resolution: a
224×224 image in 16×16 patches is 14·14 = 196 tokens (197 with the class token), and ρ changes N by ρ².

Under the paper's convention a ``linear`` layer counts N·C_in·C_out Mult-Adds (an FC layer per token); the class
token and the position embedding are parameters (C and N·C) whose concatenation and addition count zero.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import ShapeError
from ..ir import Layer, Node, Shape
from .base import SCALE, TOKENS, Key, LayerKind, TorchPart, activation_part, register


def sequence(c: int, n: int) -> Shape:
    """A sequence of ``n`` tokens of ``c`` channels."""
    return Shape(c, n, 1, tokens=True)


def token_node(layer: Layer, inputs: tuple[Shape, ...], out: Shape) -> Node:
    """A node without a window: token layers have no kernel, stride or groups."""
    return Node(layer, inputs, out, out.c, None, None, None, None)


@register("tokens")
class Tokens(LayerKind):
    """A C×H×W map read as H·W tokens of C channels (row by row, as ``x.flatten(2).transpose(1, 2)``). No cost
    beyond memory access."""

    doc = "a C×H×W map as a sequence of H·W tokens of C channels; no cost"
    label = "Tokens"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        return token_node(layer, inputs, sequence(x.c, x.h * x.w))

    def category(self, node: Node) -> str:
        return "Tokens"

    def filter_shape(self, node: Node) -> str:
        return f"{node.input.h}×{node.input.w} → {node.output.h} tokens"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("tokens", "MapTokens")]


@register("patch_embed")
class PatchEmbed(LayerKind):
    """ViT's patch embedding: a p×p convolution of stride p (no padding) and its bias, its H′·W′ outputs read as
    tokens. Mult-Adds p·p·M·N·H′·W′ (eq. 2 with D_K = p on the H′×W′ grid of patches), weights p·p·M·N, N biases."""

    keys = {"out": Key("posint", required=True, from_defaults=False),
            "patch": Key("posint", required=True, from_defaults=False), "bias": Key("bool", True), "scale": SCALE}
    doc = "patch embedding (ViT): a patch×patch convolution of stride patch, its outputs as a token sequence"
    label = "Patch Embed"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        p = layer.patch or 1
        if x.h < p or x.w < p:
            raise ShapeError(f"patch_embed of {p}×{p} patches turns a {x.h}×{x.w} input into nothing")
        grid = (x.h // p) * (x.w // p)  # a partial patch at the bottom or right is dropped, as the convolution does
        out = sequence(out_channels or 1, grid)
        return Node(layer, inputs, out, out.c, p, p, 0, 1)

    def mult_adds(self, node: Node) -> int:
        return self.weights(node) * node.output.h

    def weights(self, node: Node) -> int:
        p = node.layer.patch or 1
        return p * p * node.input.c * node.out_channels

    def biases(self, node: Node) -> int:
        return node.out_channels if node.layer.bias else 0

    def category(self, node: Node) -> str:
        return "Patch Embedding"

    def filter_shape(self, node: Node) -> str:
        p = node.layer.patch
        return f"{p}×{p}×{node.input.c}×{node.out_channels}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        p = node.layer.patch or 1
        conv = TorchPart("conv", "Conv2d", (node.input.c, node.out_channels, p, p, 0), {"bias": node.layer.bias})
        return [conv, TorchPart("tokens", "MapTokens")]


class _TokenLayer(LayerKind):
    """A layer on token sequences only."""

    takes = TOKENS


class _OneSequenceLayer(_TokenLayer):
    """A layer on one sequence, which a class token, a position table or a pool over the tokens presumes: the P
    sequences of an ``unfold`` are refused (``fold`` first)."""

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        if x.patch or x.window:
            made, undo = ("unfold", "fold") if x.patch else ("window", "unwindow")
            raise ShapeError(f"{layer.type} takes one sequence, got the {x.sequences} sequences of an `{made}` "
                             f"({x}); `{undo}` them into a map first")
        return self.place_one(layer, x)

    def place_one(self, layer: Layer, x: Shape) -> Node:
        raise NotImplementedError


@register("cls_token")
class ClassToken(_OneSequenceLayer):
    """A learned class token put before the sequence (ViT, DeiT): N → N + 1 tokens, C parameters, no Mult-Adds."""

    doc = "a learned class token before the sequence: N + 1 tokens, C params"
    label = "Class Token"

    def place_one(self, layer: Layer, x: Shape) -> Node:
        return token_node(layer, (x,), sequence(x.c, x.h + 1))

    def weights(self, node: Node) -> int:
        return node.input.c

    def category(self, node: Node) -> str:
        return "Token Embedding"

    def filter_shape(self, node: Node) -> str:
        return f"cls {node.input.c}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("embed", "ClassToken", (node.input.c,))]


@register("pos_embed")
class PositionEmbedding(_OneSequenceLayer):
    """A learned position embedding added to the sequence: one C-vector per token, N·C parameters (they follow
    the token count, as a network resized to another resolution interpolates them), no Mult-Adds."""

    doc = "a learned position embedding added to the tokens: N·C params, zero Mult-Adds"
    label = "Pos Embed"

    def place_one(self, layer: Layer, x: Shape) -> Node:
        return token_node(layer, (x,), x)

    def weights(self, node: Node) -> int:
        return node.input.numel

    def weights_area(self, node: Node) -> int:
        return node.input.area  # N tokens: the table grows with the resolution

    def mult_adds_area(self, node: Node) -> int:
        return 1  # no Mult-Adds; the sweep divides by this

    def category(self, node: Node) -> str:
        return "Token Embedding"

    def filter_shape(self, node: Node) -> str:
        return f"pos {node.input.h}×{node.input.c}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("embed", "PositionEmbedding", (node.input.h, node.input.c))]


@register("linear")
class Linear(_TokenLayer):
    """A fully connected layer applied to every token (a transformer's MLP): N·C_in·C_out Mult-Adds (N·P·C_in·C_out
    on the P sequences of an ``unfold``), C_in·C_out weights and C_out biases."""

    keys = {"out": Key("posint", from_defaults=False), "expand": Key("posint", from_defaults=False),
            "bias": Key("bool", True), "act": Key("act", "none"), "scale": SCALE,
            "bn": Key("bool", False, from_defaults=False)}
    one_of = (("out", "expand"),)
    doc = ("a fully connected layer on every token: N·C_in·C_out Mult-Adds; `expand: t` makes it t × its input; "
           "`bn`: a BatchNorm over its C_out channels after it (LeViT's LinearNorm; bn_params 2·C_out, folded)")
    label = "Linear"

    def place(self, layer: Layer, inputs: tuple[Shape, ...], out_channels: int | None) -> Node:
        (x,) = inputs
        return token_node(layer, inputs, replace(x, c=out_channels or 1))  # an unfold's P sequences stay P

    def mult_adds(self, node: Node) -> int:
        return self.weights(node) * node.input.area  # every token of every sequence: N·P

    def mult_adds_area(self, node: Node) -> int:
        return node.input.area  # N·P tokens, which an unfold's resize makes more than the map's H·W

    def weights(self, node: Node) -> int:
        return node.input.c * node.out_channels

    def biases(self, node: Node) -> int:
        return node.out_channels if node.layer.bias else 0

    def bn_params(self, node: Node) -> int:
        return 2 * node.out_channels if node.layer.bn else 0  # γ, β of a BatchNorm over every token's C_out

    def category(self, node: Node) -> str:
        return "Linear"

    def filter_shape(self, node: Node) -> str:
        return f"{node.input.c}×{node.out_channels}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        fc = TorchPart("fc", "Linear", (node.input.c, node.out_channels), {"bias": node.layer.bias})
        bn = [TorchPart("bn", "TokenBatchNorm", (node.out_channels,))] if node.layer.bn else []
        return [fc, *bn, *activation_part(node.layer.act)]


POOLS = ("cls", "mean")


@register("pool_tokens")
class PoolTokens(_OneSequenceLayer):
    """The sequence as one C-vector (a C×1×1 map) for the classifier: the class token (ViT, DeiT) or the mean over
    the tokens. No Mult-Adds; a mean's work is its N·C reads, as a global average pool's."""

    keys = {"mode": Key("choice", "cls", choices=POOLS, from_defaults=False)}
    doc = "the sequence as a C-vector for the classifier: its first (class) token, or the mean over its tokens"
    label = "Token Pool"

    def place_one(self, layer: Layer, x: Shape) -> Node:
        return token_node(layer, (x,), Shape(x.c, 1, 1))

    def work(self, node: Node) -> int:
        return node.input.numel if node.layer.mode == "mean" else 0

    def work_area(self, node: Node) -> int:
        return node.input.area if node.layer.mode == "mean" else 1

    def category(self, node: Node) -> str:
        return "Token Pool"

    def filter_shape(self, node: Node) -> str:
        return "class token" if node.layer.mode == "cls" else f"mean of {node.input.h}"

    def torch_parts(self, node: Node) -> list[TorchPart]:
        return [TorchPart("pool", "PoolTokens", (node.input.c, node.layer.mode))]
