"""The calibration microbenchmarks every runtime times: single layers of generic shapes — 1×1 convolutions
(GEMM), depthwise and full convolutions at strides 1 and 2, fully connected, pooling, BatchNorm and ReLU, and on
token sequences linear layers, multi-head attention and LayerNorm — never a bundled network. Each is a
one-layer spec, so its work, its torch module and its exported model come from the same registry and builders
as the networks'."""

from __future__ import annotations

import functools

from ..graph import Graph, build
from ..ir import Node
from ..layers import ACTIVATIONS, REGISTRY
from ..spec import parse_spec

# Channel counts and feature sizes of the microbenchmarks: enough shapes per layer type that each
# type's fixed cost and rate can be fitted; none is read off a bundled network.
CHANNELS = (16, 64, 256, 1024)
SIZES = (4, 14, 56)
MAX_MICRO_MULT_ADDS = 400e6  # keep each microbenchmark short
MAX_MICRO_ELEMENTS = 1 << 20  # no input beyond the largest activations of mobile networks (4 MiB fp32)

# Layer kinds calibrated apart (profile keys): strided depthwise and full convolutions run at other rates
# than stride 1 (their cost follows the input more than the output), larger kernels do more work per
# byte (5×5 depthwise as in MnasNet, 5×5 and 7×7 convolutions as in GoogLeNet), and a 3-channel image
# input is a case of its own. Kernels not calibrated fall back to the 3×3 figures.
KINDS = ("pw", "dw", "dw/s2", "dw/k5", "dw/k5/s2", "conv", "conv/s2", "conv/k5", "conv/k7/s2", "fc")
# No Mult-Adds: their work is window reads (formulas' ``work``). "maxpool" is 3×3/2, "maxpool/s1" 3×3/1.
POOLS = ("avgpool", "maxpool", "maxpool/s1")
# BatchNorm (eval) and in-place ReLU, timed apart from the convolutions: eager torch runs each as a pass
# over the layer's output, and networks differ in which layers have them (AlexNet and VGG have no BN).
ELEMENTWISE = ("bn", "relu")
# Activations other than ReLU cost deployment runtimes a pass over the convolution's output (ORT's MLAS
# applies them after the kernel): each is timed after a depthwise 3×3 at these shapes, less the same layer
# with ReLU.
ACT_SHAPES = tuple((c, c, size) for c in (16, 64, 256) for size in (14, 56))

# Layers on token sequences (vision transformers, the attention of hybrids), each timed as one layer on a plain
# sequence of N tokens of C channels and fitted like the rest (time = fixed + work / rate):
# - ``linear``: a GEMM of the N×C_in sequence by C_in×C_out weights; square and MLP-shaped (×4 and ÷4) widths.
# - ``attention``: the whole layer — q, k, v projections, Q·Kᵀ, softmax, A·V, merged heads, output projection —
#   against its Mult-Adds (projections and both products). Its parts are not timed apart: eager torch's hooks
#   and LiteRT see one layer, and one rate over the whole keeps the sweep's closed form as it is. Softmax, the
#   1/√d scaling and the head reshapes ride in that rate; the shapes span head widths 24 to 64 and products
#   from 3% to 67% of the layer's Mult-Adds, as DeiT-Tiny (d = 64) and MobileViT (d = 24 to 36) have.
# - ``ln``: LayerNorm, work = the elements it normalises.
# The job's shape is (C_in, C_out, N) for ``linear``, (C, heads, N) for ``attention`` and (C, C, N) for ``ln``.
TOKEN_KINDS = ("linear", "attention", "ln")
TOKENS = (16, 64, 256)
TOKEN_WIDTHS = (64, 192, 384)
ATTENTION_HEADS = ((32, 2), (64, 2), (96, 4), (192, 3), (256, 4))  # (C, heads): head widths 16, 32, 24, 64, 64


def token_shapes(kind: str) -> list[tuple[int, int, int]]:
    """The microbenchmarks of a token kind (``TOKEN_KINDS``), within the same limits as the rest."""
    if kind == "attention":
        shapes = [(c, h, n) for c, h in ATTENTION_HEADS for n in TOKENS]
    elif kind == "linear":
        shapes = [(c, c, n) for c in TOKEN_WIDTHS for n in TOKENS]
        shapes += [(c, 4 * c, n) for c in (64, 192) for n in (64, 256)] + [(4 * c, c, n) for c in (64, 192)
                                                                            for n in (64, 256)]
    else:
        shapes = [(c, c, n) for c in TOKEN_WIDTHS for n in TOKENS]
    return [sh for sh in shapes if micro_work(kind, *sh) <= MAX_MICRO_MULT_ADDS and sh[0] * sh[2] <= MAX_MICRO_ELEMENTS]


def within_limits(kind: str, shapes: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The shapes whose microbenchmark stays short and whose input is no larger than a mobile network's."""
    return [sh for sh in shapes
            if micro_work(kind, *sh) <= MAX_MICRO_MULT_ADDS and sh[0] * sh[2] ** 2 <= MAX_MICRO_ELEMENTS]


def micro_shapes(kind: str) -> list[tuple[int, int, int]]:
    """(in channels, out channels, input size) for each microbenchmark of a kind; for a token kind, see
    ``TOKEN_KINDS``."""
    if kind in TOKEN_KINDS:
        return token_shapes(kind)
    if kind == "fc":
        return [(c, c, 1) for c in CHANNELS] + [(4096, 1000, 1), (4096, 4096, 1)]
    shapes = [(c, c, s) for c in CHANNELS for s in SIZES]
    if kind.startswith("conv/") and kind.endswith("/s2"):
        shapes += [(3, c, s) for c in (16, 32, 64) for s in (64, 128, 256)]  # image inputs
    return within_limits(kind, shapes)


def _stride(kind: str) -> int:
    return 2 if kind.endswith("/s2") or kind == "maxpool" else 1


def _kernel(kind: str) -> int:
    """The kernel of a convolution kind: ``/k<n>`` in its name, else 3 (1 for ``pw``)."""
    for part in kind.split("/")[1:]:
        if part.startswith("k"):
            return int(part[1:])
    return 1 if kind == "pw" else 3


def _layer_yaml(kind: str, cout: int, fused: bool) -> str:
    """A microbenchmark as one spec layer: the convolution alone (its BatchNorm and ReLU are timed apart), or
    for a runtime that fuses them (``fused``) the convolution with its BatchNorm and ReLU, as deployed."""
    base, stride, k = kind.split("/")[0], _stride(kind), _kernel(kind)
    extra = "bn: true, act: relu" if fused else "bn: false, act: none"
    return {"pw": f"{{type: pw, out: {cout}, {extra}}}",
            "dw": f"{{type: dw, kernel: {k}, stride: {stride}, {extra}}}",
            "conv": f"{{type: conv, out: {cout}, kernel: {k}, stride: {stride}, {extra}}}",
            "fc": f"{{type: fc, out: {cout}}}",
            "avgpool": "{type: avgpool}",
            "maxpool": f"{{type: maxpool, kernel: 3, stride: {stride}, padding: {1 if stride == 1 else 0}}}"}[base]


def _token_yaml(kind: str, second: int) -> str:
    """A token microbenchmark's layer (``second``: C_out of a linear layer, the heads of attention)."""
    return {"linear": f"{{type: linear, out: {second}}}", "attention": f"{{type: attention, heads: {second}}}",
            "ln": "{type: ln}"}[kind]


@functools.cache  # each shape is asked for when filtering, building and fitting
def micro_graph(kind: str, cin: int, cout: int, size: int, fused: bool = False) -> Graph:
    """The one-layer graph of a microbenchmark. A token kind's graph reads an N×1 map as N tokens first
    (``tokens``, a view in torch): a spec's input is a map; the layer timed is the last (``micro_node``)."""
    if kind in TOKEN_KINDS:
        text = (f"input: {{channels: {cin}, size: [{size}, 1]}}\nlayers:\n  - {{type: tokens}}\n"
                f"  - {_token_yaml(kind, cout)}\n")
    else:
        text = f"input: {{channels: {cin}, size: {size}}}\nlayers:\n  - {_layer_yaml(kind, cout, fused)}\n"
    return build(parse_spec(text, file=f"<microbenchmark {kind}>"))


def micro_node(kind: str, cin: int, cout: int, size: int) -> Node:
    """The layer a microbenchmark times (after the ``tokens`` view of a token kind)."""
    return micro_graph(kind, cin, cout, size).nodes[-1]


def micro_work(kind: str, cin: int, cout: int, size: int) -> int:
    """The work of one microbenchmark (formulas' ``work``); for BatchNorm and ReLU, the elements."""
    if kind in ELEMENTWISE:
        return cin * size * size
    node = micro_node(kind, cin, cout, size)
    return REGISTRY[node.type].work(node)


def act_probes() -> tuple[str, ...]:
    """The activations whose extra pass is timed (ReLU is the baseline; swish is silu)."""
    return tuple(a for a in ACTIVATIONS if a not in ("none", "relu", "swish"))


def act_graph(act: str, shape: tuple[int, int, int]) -> Graph:
    """A depthwise 3×3 with BatchNorm and ``act``: the probe of that activation's pass."""
    c, _, size = shape
    text = f"input: {{channels: {c}, size: {size}}}\nlayers:\n  - {{type: dw, bn: true, act: {act}}}\n"
    return build(parse_spec(text, file=f"<microbenchmark dw+{act}>"))
