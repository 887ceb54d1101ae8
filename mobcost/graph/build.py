"""Spec × (α, resolution) → a shaped graph of nodes in execution order.

The multipliers are applied here, when the graph is built (as timm's builder does), so the formulas
only ever see concrete integer channel counts and sizes:

* width α (any α > 0: above 1 widens): every ``out`` becomes max(1, floor(α·out)) unless the layer says
  ``scale: false`` (kept) or ``scale: up`` (kept for α ≤ 1, scaled by α above); with the spec's
  ``width: {divisor: d}``, ``make_divisible(α·out, d)`` instead (torchvision's rule, exactly);
  ``expand: t`` makes a layer t × its actual input channels (then ``make_divisible`` when the spec has a
  divisor), so an expansion follows its block's input; ``groups`` keep their count and ``group_width``
  their channels per group (the layer types read them). The network's input channels never scale (eq. 6's
  αM applies to the *internal* M).
* resolution: the input size becomes round(ρ·size), halves rounded up (224 × 0.714 → 160), or is
  set directly; every internal feature map then follows from shape inference (eq. 7's ρD_F). A rectangular
  input (``size: [H, W]``) scales both sides by ρ (each rounded, halves up); a ``resolution`` sets its height,
  and the width keeps the spec's aspect ratio: round(resolution·W/H), halves up (320×192 at resolution 160:
  160×96). So every size stays a function of the resolution alone, as the sweep's factorisation needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

from ..errors import MobcostError, OptionError, ShapeError
from ..ir import INPUT, SCALE_UP, Layer, Node, Shape
from ..layers import EITHER, MAPS, REGISTRY, TOKENS, make_divisible
from ..spec import MAX_INT, Spec


@dataclass(frozen=True)
class Graph:
    """A network at one design point: its nodes in execution order."""

    spec: Spec
    alpha: float
    rho: float
    resolution: int  # the input's height (its side, for a square input)
    nodes: tuple[Node, ...]
    input_width: int | None = None  # the input's width, where it differs from the height

    @property
    def input(self) -> Shape:
        width = self.input_width if self.input_width is not None else self.resolution
        return Shape(self.spec.channels, self.resolution, width)


def exact(value: float | Fraction) -> Fraction:
    """The decimal the user typed, exactly: 0.29 is 29/100, not 0.28999999999999998."""
    return value if isinstance(value, Fraction) else Fraction(repr(value))


# α above 1 is published and deployed (MobileNetV2 1.4, MobileNetV3 1.25, EfficientNet-B1…B7); like ρ, it
# has no architectural bound, only the size limit every count has: 10⁹ (each width it gives is held to 10⁹
# channels by :func:`layer_width`, and α·out stays a finite float).
MAX_ALPHA = MAX_INT


def check_multiplier(name: str, value: float, *, upper: float | None = MAX_ALPHA) -> None:
    """A multiplier must be a finite number > 0, and at most ``upper`` (α ≤ 10⁹; ρ has no fixed bound:
    :func:`resolve_resolution` bounds the size it gives)."""
    bound = f"> 0 and at most {upper:,.0f}" if upper is not None else "> 0"
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or (isinstance(value, float) and not math.isfinite(value))):
        raise OptionError(f"{name} must be a number {bound}, got {value!r}", where=name)
    if value <= 0 or (upper is not None and value > upper):
        raise OptionError(f"{name} must be {bound}, got {_shown(value)}", where=name)


def _shown(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) or abs(value) < 10**15 else "an integer past 10¹⁵"


def scale_channels(out: int, alpha: float | Fraction) -> int:
    """max(1, floor(α·out)), computed exactly."""
    return out if alpha == 1 else max(1, math.floor(exact(alpha) * out))


def resolve_resolution(size: int, rho: float | None = None, resolution: int | None = None) -> tuple[int, float]:
    """The input size and the ρ it corresponds to, from either ρ or an explicit resolution (either may exceed
    the spec's own size; the result is at most ``MAX_INT`` pixels, like every size in a spec)."""
    if rho is not None and resolution is not None:
        raise OptionError("give rho or resolution, not both", where="rho/resolution")
    if resolution is not None:
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
            raise OptionError(f"resolution must be a positive integer, got {resolution!r}", where="resolution")
        if resolution > MAX_INT:
            raise OptionError(f"resolution must be at most {MAX_INT:,}, got {resolution:,}", where="resolution")
        return resolution, resolution / size
    if rho is None:
        return size, 1.0
    check_multiplier("rho", rho, upper=None)
    scaled = max(1, math.floor(exact(rho) * size + Fraction(1, 2)))
    if scaled > MAX_INT:
        raise OptionError(f"rho {_shown(rho)} makes the {size}-pixel input wider than {MAX_INT:,} pixels, the "
                          f"limit of every size (rho ≤ {MAX_INT / size:g} here)", where="rho")
    return scaled, rho


def input_width(spec: Spec, height: int, rho: float | None, resolution: int | None) -> int:
    """The input's width at a design point whose height is ``height``: the spec's own width scaled like its
    height — by ρ (rounded, halves up), or to the aspect ratio at an explicit resolution (rounded, halves up)."""
    h, w = spec.input_hw
    if h == w:
        return height
    scale = exact(rho) if resolution is None and rho is not None else Fraction(height, h)
    width = max(1, math.floor(scale * w + Fraction(1, 2)))
    if width > MAX_INT:
        where = "rho" if resolution is None else "resolution"
        raise OptionError(f"the {h}×{w} input becomes {height}×{width:,} pixels, wider than {MAX_INT:,}, the "
                          "limit of every size", where=where)
    return width


def build(spec: Spec, alpha: float = 1.0, rho: float | None = None, resolution: int | None = None) -> Graph:
    """Place every layer: resolve its inputs, scale its width, infer its output shape."""
    check_multiplier("alpha", alpha)
    size, rho_value = resolve_resolution(spec.size, rho, resolution)
    width = input_width(spec, size, rho, resolution)
    shapes: dict[str, Shape] = {INPUT: Shape(spec.channels, size, width)}
    positions = {layer.name: i for i, layer in enumerate(spec.layers)}
    nodes: list[Node] = []
    multiplier = exact(alpha)  # once, not per layer
    for i, layer in enumerate(spec.layers):
        refs = input_names(spec, i)
        _check_refs(spec, layer, i, refs, positions)
        if layer.size_of is not None:  # a resize to another tensor's size: that size at this design point
            _check_refs(spec, layer, i, (layer.size_of,), positions, f"{layer.where}.size_of")
            target = shapes[layer.size_of]
            layer = replace(layer, size=target.h if target.h == target.w else (target.h, target.w))
        node = _place(spec, layer, tuple(shapes[n] for n in refs), multiplier)
        shapes[layer.name] = node.output
        nodes.append(node)
    return Graph(spec, alpha, rho_value, size, tuple(nodes), width if width != size else None)


def input_names(spec: Spec, index: int) -> tuple[str, ...]:
    """The names of the layers (or ``input``) that layer ``index`` reads, offsets resolved."""
    layer = spec.layers[index]
    if not layer.inputs:
        return (spec.layers[index - 1].name if index else INPUT,)
    names = []
    for ref in layer.inputs:
        if isinstance(ref, int):
            target = index + ref
            if target < -1:
                raise _located(ShapeError(f"offset {ref} reaches before the network input"), spec, layer,
                               f"{layer.where}.from")
            names.append(spec.layers[target].name if target >= 0 else INPUT)
        else:
            names.append(ref)
    return tuple(names)


def _check_refs(spec: Spec, layer: Layer, index: int, refs: tuple[str, ...], positions: dict[str, int],
                where: str | None = None) -> None:
    where = where or f"{layer.where}.from"
    for ref in refs:
        if ref == INPUT:
            continue
        if ref not in positions:
            raise _located(ShapeError(f"unknown layer {ref!r}"), spec, layer, where)
        if positions[ref] == index:
            raise _located(ShapeError(f"layer {ref!r} cannot take its own output (a cycle)"), spec, layer, where)
        if positions[ref] > index:
            raise _located(ShapeError(f"layer {ref!r} comes later; inputs must come before (no cycles)"),
                           spec, layer, where)


def layer_width(spec: Spec, layer: Layer, inputs: tuple[Shape, ...], alpha: Fraction) -> int | None:
    """The output channels a layer asks for at width α (None where the type decides: dw, pools, joins)."""
    if layer.expand is not None:
        out = layer.expand * inputs[0].c
        return make_divisible(out, spec.divisor) if spec.divisor else out
    if layer.out is None or layer.scale is False:
        return layer.out
    if layer.scale == SCALE_UP:  # MobileNetV2's last conv: kept below α = 1, widened above (max(1, α))
        alpha = max(alpha, Fraction(1))
    if spec.divisor:
        # In floating point, as torchvision and timm compute it (`channels * width_mult`): 200 × 0.58 is
        # 115.99999999999999 there, which rounds to 112, where the exact 116 would round to 120.
        width = make_divisible(Fraction(float(alpha) * layer.out), spec.divisor)
    else:
        width = scale_channels(layer.out, alpha)
    if width > MAX_INT:  # named as α's doing, as ρ's too-large sizes are, not as the spec's
        raise OptionError(f"alpha {_shown(float(alpha))} makes layer {layer.name!r} {width:,} channels wide, more "
                          f"than {MAX_INT:,}, the limit of every channel count", where="alpha")
    return width


def _place(spec: Spec, layer: Layer, inputs: tuple[Shape, ...], alpha: Fraction) -> Node:
    kind = REGISTRY[layer.type]
    try:
        folded = next((x for x in inputs if x.folded > 1), None)
        if folded is not None and not kind.flattened_ok:
            raise ShapeError(f"{layer.type} cannot take a flattened map ({folded.c} = {folded.depth}×{folded.folded} "
                             "from a flatten of a map larger than 1×1); only "
                             f"{', '.join(k for k, v in REGISTRY.items() if v.flattened_ok)} can")
        _check_kind(layer, inputs)
        node = kind.place(layer, inputs, layer_width(spec, layer, inputs, alpha))
        _check_size(node.output)
    except ShapeError as exc:
        raise _located(exc, spec, layer, layer.where) from None
    return node


def _check_kind(layer: Layer, inputs: tuple[Shape, ...]) -> None:
    """A map where a layer takes token sequences, or a sequence where it takes maps: refused, naming the layers
    that convert (so no formula ever reads a sequence's N×1 as a map's H×W, or the reverse)."""
    takes = REGISTRY[layer.type].takes
    if takes == EITHER:
        return
    if takes == TOKENS and not all(x.tokens for x in inputs):
        raise ShapeError(f"{layer.type} takes a token sequence, got the map {next(x for x in inputs if not x.tokens)}"
                         "; `tokens` or `patch_embed` turns a map into one")
    if takes == MAPS and any(x.tokens for x in inputs):
        sequences = ", ".join(k for k, v in REGISTRY.items() if v.takes != MAPS)
        raise ShapeError(f"{layer.type} takes a feature map, got the sequence {next(x for x in inputs if x.tokens)}; "
                         f"only {sequences} take one (`pool_tokens` makes a vector of it)")


def _check_size(shape: Shape) -> None:
    """Every computed channel count and size stays within the limit a spec's own integers have (a concat chain
    doubles channels, padding grows a map): past it lie typos, not networks, and numbers too long to print."""
    for what, value in (("channels", shape.c), ("height", shape.h), ("width", shape.w)):
        if value > MAX_INT:
            unit = "channels" if what == "channels" else f"pixels of {what}"
            raise ShapeError(f"the output has {value:,} {unit}; at most {MAX_INT:,} are allowed")


def _located(exc: MobcostError, spec: Spec, layer: Layer, where: str) -> MobcostError:
    return type(exc)(f"{exc.message} (layer {layer.name!r})", file=spec.file, line=layer.line, where=where)
