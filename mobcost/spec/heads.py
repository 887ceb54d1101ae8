"""Networks with several outputs (detection and segmentation heads) in a spec.

* The ``predict`` shorthand: a box or class predictor on one feature map, as SSD's (Liu et al. 2016, §2.1) and
  TensorFlow's Object Detection API's ``ConvolutionalBoxPredictor`` build it — a k×k convolution with a bias and
  nothing after it, of ``anchors`` × ``codes`` outputs (4 box coordinates per anchor) or ``anchors`` ×
  ``classes`` (class scores per anchor, background included). It decodes to a plain ``conv``, so every counter
  and the torch build see a convolution; its width is a count of predictions, never scaled by α, and
  ``--classes`` sets every class predictor's ``classes``.
* ``outputs: [names]``: what the network returns, in order. Every layer must then reach one (be listed, or be
  read by a later layer): a dead end would count Mult-Adds for a tensor nothing uses.
* ``per_roi: true`` on a layer, and ``proposals: N`` at the top: a two-stage detector's second stage (Faster
  R-CNN's box classifier, Ren et al. 2015) runs once per region proposal on a fixed-size crop (``roi_crop``).
  Such a layer's Mult-Adds and memory access count N times, its params once (one set of weights shared by every
  proposal), so per-image Mult-Adds = shared part + N × per-RoI part; ``--proposals`` sets N (300 in the
  MobileNets paper). A spec with a ``per_roi`` layer must give ``proposals``; one without may not.
* ``postprocess: [text]``: the steps after the raw outputs that have no Mult-Adds under the paper's convention
  (anchor decoding, non-maximum suppression): listed by the reports as not counted, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ir import INPUT, Layer
from ..layers import Key
from .reading import Doc, kind_name

PREDICT_DOC = ("box or class predictor: a k×k conv with bias, no BN or activation, of anchors × codes (box "
               "coordinates) or anchors × classes outputs, kept under α")
PREDICT_KEYS: Mapping[str, Key] = {
    "anchors": Key("posint", required=True, from_defaults=False),
    "codes": Key("posint", from_defaults=False),
    "classes": Key("posint", from_defaults=False),
    "kernel": Key("size", 1, from_defaults=False),
}
PREDICTS = ("codes", "classes")  # exactly one: what each anchor predicts


def expand_predict(values: dict[str, Any], given: set[str], common: dict[str, Any], where: str, doc: Doc,
                   limit: int) -> list[Layer]:
    """A ``predict`` shorthand as the ``conv`` it is (``limit``: the largest channel count a spec may reach)."""
    present = [k for k in PREDICTS if k in given]
    if len(present) != 1:
        raise doc.error(f"{where}.{present[1]}" if present else where,
                        "give 'codes' (values per anchor, 4 for a box) or 'classes' (scores per anchor), "
                        + ("not both" if present else "one of them"))
    what = present[0]
    out = values["anchors"] * values[what]
    if out > limit:
        raise doc.error(f"{where}.{what}", f"anchors × {what} is {out:,} outputs, more than {limit:,}")
    return [Layer(type="conv", out=out, kernel=values["kernel"], stride=1, bias=True, bn=False, act="none",
                  scale=False, anchors=values["anchors"], predicts=what, **common)]


def decode_outputs(value: Any, layers: list[Layer], doc: Doc) -> tuple[str, ...]:
    """``outputs:`` as layer names, each a layer of the spec, once; every other layer must reach one."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise doc.error("outputs", f"must be a list of layer names, got {kind_name(value)} {value!r}")
    names = {layer.name for layer in layers}
    for i, name in enumerate(value):
        if name not in names:
            raise doc.error(f"outputs[{i}]", f"unknown layer {name!r}")
        if name in value[:i]:
            raise doc.error(f"outputs[{i}]", f"{name!r} is listed twice")
    read = {ref for i in range(len(layers)) for ref in _reads(layers, i)}
    for layer in layers:
        if layer.name not in read and layer.name not in value:
            raise doc.error("outputs", f"layer {layer.name!r} ({layer.where}) is neither read by a later layer "
                            "nor listed in outputs: its cost would count for a tensor nothing uses")
    return tuple(value)


def _reads(layers: list[Layer], i: int) -> tuple[str, ...]:
    """The names layer ``i`` reads: its ``from`` (offsets resolved; the graph builder reports bad ones), or the
    layer before it."""
    refs = layers[i].inputs or (-1,)
    return tuple(ref if isinstance(ref, str) else layers[i + ref].name if i + ref >= 0 else INPUT for ref in refs)


def decode_postprocess(value: Any, doc: Doc) -> tuple[str, ...]:
    """``postprocess:`` as the uncounted steps' descriptions."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise doc.error("postprocess", f"must be a list of step descriptions, got {kind_name(value)} {value!r}")
    return tuple(value)


def decode_per_roi(item: Mapping[str, Any], where: str, doc: Doc) -> bool:
    """A layer's ``per_roi:``, a boolean (default false)."""
    value = item.get("per_roi", False)
    if not isinstance(value, bool):
        raise doc.error(f"{where}.per_roi", f"must be true or false, got {kind_name(value)} {value!r}")
    return value


def decode_proposals(value: Mapping[str, Any], layers: list[Layer], doc: Doc) -> int | None:
    """``proposals:``, required exactly when some layer is ``per_roi`` (a count nothing reads would mislead)."""
    per_roi = any(layer.per_roi for layer in layers)
    if "proposals" not in value:
        if per_roi:
            raise doc.error("", "a spec with `per_roi` layers must give `proposals:` (region proposals per image)")
        return None
    n = value["proposals"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise doc.error("proposals", f"must be a positive integer, got {kind_name(n)} {n!r}")
    if not per_roi:
        raise doc.error("proposals", "no layer is `per_roi: true`, so `proposals` would change nothing")
    return n
