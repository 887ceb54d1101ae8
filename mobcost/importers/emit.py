"""Mapped layers → spec YAML text: names after the ONNX nodes (sanitised, unique), ``from`` where a layer does
not read the one before it, keys in a fixed order with the spec format's documented defaults left out, and a
header saying where the model came from."""

from __future__ import annotations

import bisect
import dataclasses
import re
import unicodedata
from collections import Counter
from typing import Any

from ..errors import MobcostError
from ..ir import INPUT
from ..layers import REGISTRY
from .model import Emitted, ModelImportError, OpGraph, Unmapped
from .patterns import shown

_ORDER = ("out", "kernel", "stride", "padding", "output_padding", "dilation", "groups", "ceil_mode", "output",
          "factor", "mode", "parts", "sizes", "index", "group_width", "gamma", "bias", "bn", "act", "scale", "shares")
# Folded exports (BatchNorm merged into biased convolutions) and VGG-style nets would repeat these on every
# convolution: written once under ``defaults:`` instead when most convolutions have them.
_FOLDED = {"bias": True, "bn": False}
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def layer_names(layers: list[Emitted], scope_paths: frozenset[str]) -> list[str]:
    """A module's path when the module is a leaf that became exactly one layer (``layer1.0.conv1``), else the
    path and the operator (``layer1.0.add``); unique, and never the reserved ``input``."""
    ordered = sorted(scope_paths)
    per_path = Counter(e.path for e in layers)
    taken = {INPUT}
    suffix: dict[str, int] = {}  # the next number to try per base: a name repeated n times costs n tries, not n²
    names = []
    for e in layers:
        leaf = e.path and not _is_parent(e.path, ordered) and per_path[e.path] == 1
        base = _sanitise(e.path if leaf else ".".join(p for p in (e.path, e.part.lower()) if p), e.type)
        name, n = base, suffix.get(base, 1)
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        suffix[base] = n
        taken.add(name)
        names.append(name)
    return names


def _is_parent(path: str, ordered: list[str]) -> bool:
    """Whether some module path lies under ``path`` (``layer1`` of ``layer1.0``): looked up in the sorted
    paths, where they follow ``path + "."`` — not by keeping every prefix of every path, which for one long
    dotted name costs its length squared in memory."""
    child = path + "."
    i = bisect.bisect_left(ordered, child)
    return i < len(ordered) and ordered[i].startswith(child)


def _sanitise(name: str, kind: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", name).strip("._-")
    if not name:
        return kind
    return name if name[0].isalpha() or name[0] == "_" else f"{kind}_{name}"


def quoted(text: str) -> str:
    """The one way text from a model file (its name, producer, node names, string attributes) reaches the
    YAML: a double-quoted scalar in which ``\\`` and ``"`` are escaped and so is every character that is not
    plainly printable — controls (``\\n``, ``\\r``, NEL U+0085), line and paragraph separators (U+2028/9),
    format, surrogate, private-use and unassigned code points — as ``\\u`` escapes, which YAML reads back
    as the same characters. Nothing in it can end the string or, written in a comment, the comment's line."""
    return '"' + "".join(_escaped(c) for c in str(text)) + '"'


def _escaped(c: str) -> str:
    if c in '"\\':
        return "\\" + c
    kind = unicodedata.category(c)
    if kind[0] == "C" or kind in ("Zl", "Zp"):
        return f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"
    return c


def scalar(value: Any) -> str:
    if isinstance(value, list | tuple):  # [height, width] kernels, strides, paddings
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return quoted(text)


def spec_defaults(layers: list[Emitted]) -> dict[str, Any]:
    convs = [e for e in layers if e.type in ("conv", "dw", "pw")]
    folded = [e for e in convs if all(e.keys.get(k) == v for k, v in _FOLDED.items())]
    return dict(_FOLDED) if convs and 2 * len(folded) > len(convs) else {}


def _keys(e: Emitted, defaults: dict[str, Any]) -> dict[str, Any]:
    """The layer's keys minus those equal to what the spec would assume: the type's default (the registry's),
    or the spec's ``defaults:``, or kernel // 2 for a convolution's padding and the kernel for a pool's stride."""
    accepted = REGISTRY[e.type].keys
    keys = {}
    for k, v in e.keys.items():
        key = accepted.get(k)
        if k == "from" or key is None:
            if k != "from":
                keys[k] = v  # a key the type does not take: the build check names it
            continue
        default = defaults[k] if k in defaults and key.from_defaults else key.default
        if k == "padding" and e.type in ("conv", "dw"):
            kernel, d = e.keys.get("kernel", accepted["kernel"].default), e.keys.get("dilation", 1)
            halves = [(d * (k - 1) + 1) // 2 for k in ([kernel, kernel] if isinstance(kernel, int) else kernel)]
            default = halves[0] if halves[0] == halves[1] else halves  # half the dilated kernel, per axis
        elif k == "stride" and e.type in ("avgpool", "maxpool"):
            default = e.keys.get("kernel")
        if key.required or default is None or v != default:
            keys[k] = v
    return {k: keys[k] for k in sorted(keys, key=lambda k: _ORDER.index(k) if k in _ORDER else len(_ORDER))}


def layer_line(e: Emitted, name: str, sources: list[str], previous: str, defaults: dict[str, Any]) -> str:
    parts = [f"name: {scalar(name)}", f"type: {e.type}"]
    if len(sources) > 1 or "from" in e.keys:
        parts.append(f"from: [{', '.join(scalar(s) for s in sources)}]")
    elif sources[0] != previous:
        parts.append(f"from: {scalar(sources[0])}")
    parts += [f"{k}: {scalar(v)}" for k, v in _keys(e, defaults).items()]
    return "  - {" + ", ".join(parts) + "}"


def render(g: OpGraph, layers: list[Emitted], resolve: Any, unmapped: list[Unmapped], notes: list[str],
           name: str) -> tuple[str, list[str]]:
    """The spec text and the layer names, in the order of ``layers``."""
    if not layers:
        raise ModelImportError("no operator of the model maps to a layer", file=g.source)
    names = layer_names(layers, g.scope_paths)
    owner = {e.output: n for e, n in zip(layers, names, strict=True)}
    owner[g.input] = INPUT
    lines = _header(g, name, unmapped, notes)
    defaults = spec_defaults(layers)
    if defaults:
        lines.insert(-1, "defaults: {" + ", ".join(f"{k}: {scalar(v)}" for k, v in defaults.items()) + "}")
    previous = INPUT
    for e, layer_name in zip(layers, names, strict=True):
        sources = [_owner(owner, resolve(t), e, g.source) for t in e.inputs]
        if "shares" in e.keys:  # the layer whose weights it reads again, by its name
            e = dataclasses.replace(e, keys={**e.keys, "shares": owner[e.keys["shares"]]})
        if "size_of" in e.keys:  # the layer (or input) whose size a resize takes, by its name
            e = dataclasses.replace(e, keys={**e.keys, "size_of": _owner(owner, resolve(e.keys["size_of"]), e,
                                                                         g.source)})
        lines.append(layer_line(e, layer_name, sources, previous, defaults))
        previous = layer_name
    lines += _footer(unmapped, notes)
    return "\n".join(lines) + "\n", names


def rectangular() -> bool:
    """Whether this mobcost's spec takes ``size: [height, width]`` inputs (issue 12's rectangular inputs)."""
    from ..spec import parse_spec

    try:
        parse_spec("input: {channels: 1, size: [1, 2]}\nlayers: [{type: flatten}]\n")
    except MobcostError:
        return False
    return True


def _owner(owner: dict[str, str], tensor: str, e: Emitted, source: str) -> str:
    if tensor not in owner:  # a mapping bug, not the user's: still one located line
        raise ModelImportError(f"layer of node {e.nodes[0]!r} reads tensor {tensor!r}, which no layer produces",
                               file=source)
    return owner[tensor]


_ABOUT = {
    "ONNX": ["# One layer per ONNX operator that costs or shapes something, named after its node; BatchNormalization",
             "# and activations are folded into the layer before them. Params are what the file holds: a convolution",
             "# whose BatchNorm the exporter folded away keeps its bias (bias: true, bn: false)."],
    "TFLite": ["# One layer per TFLite operator that costs or shapes something, named after its output tensor's scope;",
               "# fused and following activations are folded into the layer. N×H×W×C tensors are read as C×H×W.",
               "# Params are what the file holds (a weight stored once counts once), in the model's dtype."],
}


def _header(g: OpGraph, name: str, unmapped: list[Unmapped], notes: list[str]) -> list[str]:
    dims = g.shape(g.input)
    version = f"ONNX opset {g.opset}" if g.kind == "ONNX" else f"{g.kind} schema version {g.opset}"
    where = f"{g.source} ({g.producer}, {version})"
    left = f"; {len(unmapped)} operator(s) left out, listed at the end" if unmapped else ""
    return [
        f"# Imported by mobcost from {quoted(g.source)}",
        f"# ({quoted(g.producer)}, {version}), input {shown(dims)}.",
        *_ABOUT[g.kind],
        f"name: {scalar(name)}",
        f"description: {quoted(f'imported from {g.source}{left}')}",
        f"source: {quoted(where)}",
        *([f"dtype: {g.dtype}"] if g.dtype else []),
        f"input: {{channels: {dims[1]}, size: {scalar(dims[2] if dims[2] == dims[3] else [dims[2], dims[3]])}}}",
        "layers:",
    ]


def _footer(unmapped: list[Unmapped], notes: list[str]) -> list[str]:
    lines = []
    if notes:
        lines += ["# notes:", *(f"#   {quoted(n)}" for n in notes)]
    if unmapped:
        lines += ["# unmapped: (left out with allow_unknown; their costs are NOT in this spec)",
                  *(f"#   {quoted(u.line())}" for u in unmapped)]
    return lines
