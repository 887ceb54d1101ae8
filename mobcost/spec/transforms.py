"""Spec → spec transforms: the paper's architecture variants, derived rather than hand-copied.

* :func:`densify` replaces every depthwise separable pair (``dw`` then the ``pw`` that reads only it)
  by one full convolution of the same kernel, stride and output width: the "Convolution" row of Table 3
  and the Conv MobileNet of Table 4.
* :func:`with_classes` changes the classifier's width (the last layer with ``out``): 1000 ImageNet
  classes, 1001 with TF-Slim's background class, 120 for Stanford Dogs (Table 10); in a detector, the classes
  every class predictor scores per anchor (``predict`` with ``classes``), background included.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from ..errors import OptionError
from ..ir import INPUT, Layer
from .decode import MAX_INT
from .model import Spec


def densify(spec: Spec) -> Spec:
    """Each ``dw`` whose only reader is the ``pw`` right after it (stride 1) becomes, with that ``pw``, one full
    convolution of the dw's kernel, stride and padding and the pw's width, named as the pw: the output shape is
    the pair's, so every later layer sees the same input. Relative ``from`` offsets are turned into names
    first, so they still point at the same layers once pairs are fused."""
    layers = _named_refs(spec.layers)
    reads = Counter(name for i in range(len(layers)) for name in _reads(layers, i))
    out: list[Layer] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if (layer.type == "dw" and nxt is not None and nxt.type == "pw" and nxt.stride in (None, 1)
                and _reads(layers, i + 1) == (layer.name,) and reads[layer.name] == 1):
            out.append(replace(nxt, type="conv", kernel=layer.kernel, stride=layer.stride, padding=layer.padding,
                               dilation=layer.dilation, groups=1, inputs=layer.inputs))
            i += 2
        else:
            out.append(layer)
            i += 1
    return replace(spec, name=f"{spec.name} (full convolutions)", layers=tuple(out))


def _named_refs(layers: tuple[Layer, ...]) -> list[Layer]:
    """Relative offsets (-1: the previous layer) replaced by the names they point at. An offset reaching before
    the network input stays as written: building the spec reports it."""
    def name(i: int, ref: str | int) -> str | int:
        if isinstance(ref, str) or i + ref < -1:
            return ref
        return layers[i + ref].name if i + ref >= 0 else INPUT

    return [replace(layer, inputs=tuple(name(i, r) for r in layer.inputs)) if layer.inputs else layer
            for i, layer in enumerate(layers)]


def _reads(layers: list[Layer], i: int) -> tuple[str | int, ...]:
    """What layer ``i`` reads: its ``from``, or the layer before it (the network input for the first)."""
    return layers[i].inputs or ((layers[i - 1].name if i else INPUT),)


def with_classes(spec: Spec, classes: int) -> Spec:
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise OptionError(f"classes must be a positive integer, got {classes!r}", where="classes")
    if classes > MAX_INT:
        raise OptionError(f"classes must be at most {MAX_INT:,}", where="classes")
    layers = list(spec.layers)
    if any(layer.predicts == "classes" for layer in layers):  # a detector: each class predictor, per anchor
        return replace(spec, layers=tuple(_with_predicted_classes(layer, classes) for layer in layers))
    for i in range(len(layers) - 1, -1, -1):
        if layers[i].out is not None:
            for j in _joined_heads(layers, i):
                layers[j] = replace(layers[j], out=classes)
            return replace(spec, layers=tuple(layers))
    raise OptionError("the spec has no layer with `out` to use as the classifier", file=spec.file,
                      where="classes")


def _joined_heads(layers: list[Layer], i: int) -> list[int]:
    """Layer ``i`` (the last with ``out``) and, where the network ends in a join of it with other classifiers of
    its width (a distilled model's head and head_dist, averaged: DeiT, EfficientFormer, LeViT), those too."""
    last = layers[-1]
    if i == len(layers) - 1 or not last.inputs or layers[i].name not in last.inputs:
        return [i]
    return [j for j, layer in enumerate(layers)
            if layer.name in last.inputs and layer.out is not None and layer.out == layers[i].out]


def _with_predicted_classes(layer: Layer, classes: int) -> Layer:
    if layer.predicts != "classes" or layer.anchors is None:
        return layer
    if layer.anchors * classes > MAX_INT:
        raise OptionError(f"{classes:,} classes × {layer.anchors} anchors of layer {layer.name!r} is more than "
                          f"{MAX_INT:,} outputs", where="classes")
    return replace(layer, out=layer.anchors * classes)


def with_proposals(spec: Spec, proposals: int) -> Spec:
    """``--proposals``: the region proposals a two-stage detector's ``per_roi`` layers run for."""
    if isinstance(proposals, bool) or not isinstance(proposals, int) or not 1 <= proposals <= MAX_INT:
        raise OptionError(f"proposals must be a positive integer up to {MAX_INT:,}, got {proposals!r}",
                          where="proposals")
    if spec.proposals is None:
        raise OptionError("the spec has no `per_roi` layers for --proposals to repeat", file=spec.file,
                          where="proposals")
    return replace(spec, proposals=proposals)
