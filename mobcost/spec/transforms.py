"""Spec → spec transforms: the paper's architecture variants, derived rather than hand-copied.

* :func:`densify` replaces every depthwise separable pair (``dw`` then the ``pw`` that reads only it)
  by one full convolution of the same kernel, stride and output width: the "Convolution" row of Table 3
  and the Conv MobileNet of Table 4.
* :func:`with_classes` changes the classifier's width (the last layer with ``out``): 1000 ImageNet
  classes, 1001 with TF-Slim's background class, 120 for Stanford Dogs (Table 10).
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import OptionError
from ..ir import Layer
from .model import Spec


def densify(spec: Spec) -> Spec:
    layers = list(spec.layers)
    referenced = {ref for layer in layers for ref in layer.inputs if isinstance(ref, str)}
    out: list[Layer] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if (layer.type == "dw" and nxt is not None and nxt.type == "pw" and not nxt.inputs
                and layer.name not in referenced):
            out.append(replace(nxt, type="conv", kernel=layer.kernel, stride=layer.stride, padding=layer.padding,
                               groups=1, inputs=layer.inputs))
            i += 2
        else:
            out.append(layer)
            i += 1
    if any(isinstance(ref, int) for layer in out for ref in layer.inputs) and len(out) != len(layers):
        raise OptionError("cannot fuse separable pairs in a spec that uses relative `from` offsets",
                          file=spec.file)
    return replace(spec, name=f"{spec.name} (full convolutions)", layers=tuple(out))


def with_classes(spec: Spec, classes: int) -> Spec:
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise OptionError(f"classes must be a positive integer, got {classes!r}", where="--classes")
    layers = list(spec.layers)
    for i in range(len(layers) - 1, -1, -1):
        if layers[i].out is not None:
            layers[i] = replace(layers[i], out=classes)
            return replace(spec, layers=tuple(layers))
    raise OptionError("the spec has no layer with `out` to use as the classifier", file=spec.file,
                      where="--classes")
