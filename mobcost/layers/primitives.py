"""The primitive operations every layer's build is made of (see :mod:`.operations`): :class:`Op` with its sizes,
and the convolution, fully connected, bias and activation operations the layer families share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ..ir import Shape
from .base import TORCH_ACTIVATIONS, TorchPart, conv_output_size

Size = tuple[int, int]  # (value, area): area is the resolution-dependent factor of value

@dataclass(frozen=True)
class Op:
    """One primitive operation of a layer's torch build, with its sizes. A size whose area is 0 is not a product
    of a width part and a resolution part (thop's float count of an adaptive pool): the sweep evaluates it from
    ``float_sizes`` (channels, input H, W, output H, W)."""

    kind: str
    sizes: Mapping[str, Size] = field(default_factory=dict)
    float_sizes: tuple[int, int, int, int, int] | None = None
    # the α part of a size whose area is 0 at some resolutions (a resize that MobileViT's unfold needs only where
    # the patch does not divide the map): the sweep's term is then this × the area, present at every point
    widths: Mapping[str, int] = field(default_factory=dict)

def _elements(x: Shape) -> Size:
    return x.numel, x.area

def _hw(value: int | tuple[int, ...]) -> tuple[int, int]:
    """A torch window argument (an int, or the pair (height, width)) as (height, width)."""
    return (value, value) if isinstance(value, int) else (value[0], value[1])

def _conv(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    cin, cout = part.args[:2]
    (kh, kw), (sh, sw), (ph, pw) = (_hw(v) for v in part.args[2:5])
    groups, (dh, dw) = part.kwargs.get("groups", 1), _hw(part.kwargs.get("dilation", 1))
    h = conv_output_size(x.h, dh * (kh - 1) + 1, sh, ph)
    w = conv_output_size(x.w, dw * (kw - 1) + 1, sw, pw)
    out = Shape(cout, h, w)
    ops = [Op("conv", {"macs": (kh * kw * (cin // groups) * cout * h * w, h * w), "out": _elements(out)})]
    return ops + _bias(part, out), out

def _bias(part: TorchPart, out: Shape) -> list[Op]:
    return [Op("conv_bias", {"out": _elements(out)})] if part.kwargs.get("bias", True) else []

def _linear(part: TorchPart, x: Shape) -> tuple[list[Op], Shape]:
    """nn.Linear: on the flattened map (an ``fc``), or on each of a sequence's N tokens (``linear``, attention's
    projections)."""
    cin, cout = part.args
    if x.tokens:  # "weights", "channels": torchinfo counts a layer's parameters once per batch item, and an
        # unfold's P sequences are a batch of P
        out, p = replace(x, c=cout), x.sequences
        ops = [Op("linear", {"macs": (x.area * cin * cout, x.area), "out": _elements(out),
                             "weights": (p * cin * cout, 1)})]
        bias = Op("linear_bias", {"out": _elements(out), "channels": (p * cout, 1)})
    else:
        out = Shape(cout, 1, 1)
        ops = [Op("fc", {"macs": (cin * cout, x.area), "out": _elements(out)})]
        bias = Op("fc_bias", {"out": _elements(out)})
    return ops + ([bias] if part.kwargs.get("bias", True) else []), out

def _elementwise(kind: str, x: Shape) -> Op:
    """An operation whose output has its input's shape (BatchNorm, an activation, dropout, a shuffle)."""
    return Op(kind, {"out": _elements(x), "in": _elements(x), "channels": (x.c, x.folded)})

def _activation_ops(act: str, x: Shape) -> list[Op]:
    if act not in TORCH_ACTIVATIONS:
        return []
    return [_elementwise(f"act.{MODULE_ACTIVATION[TORCH_ACTIVATIONS[act][0]]}", x)]

MODULE_ACTIVATION = {module: name for name, (module, _, _) in TORCH_ACTIVATIONS.items() if name != "swish"}
