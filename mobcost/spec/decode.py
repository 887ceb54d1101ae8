"""Plain YAML values → a typed, located, expanded :class:`Spec`.

``repeat`` is checked against the layer limit *before* it is expanded; every key is checked against the
layer type's keys in the registry, so an unknown key is an error, never silently ignored. Grammar::

    name: MobileNet
    input: {channels: 3, size: 224}            # or size: [height, width]
    width: {divisor: 8}                        # optional: widths under α become make_divisible(α·out, 8)
    dtype: int8                                # optional: the element type it is deployed in (fp32, fp16, int8)
    layers:
      - {type: conv, out: 32, kernel: 3, stride: 2}
      - {type: dwsep, out: 64}                 # shorthand for dw 3×3 (stride) + pw (out)
      - {repeat: 5, layers: [{type: dwsep, out: 512}]}
      - {type: avgpool}
      - {type: fc, out: 1000, scale: false}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..ir import INPUT, SCALE_UP, Layer
from ..layers import ACTIVATIONS, REGISTRY, SCALE, Key, LayerKind
from . import heads
from .heads import PREDICT_DOC, PREDICT_KEYS, decode_outputs, decode_postprocess, expand_predict
from .model import Spec
from .pairs import decode_padding, decode_pads, decode_size, decode_sizes
from .reading import Doc, kind_name, parse_file, parse_yaml

MAX_LAYERS = 10_000  # layers after `repeat` and `dwsep` expansion
MAX_INT = 1_000_000_000  # channel counts and sizes beyond this are typos, not networks

SHORTHANDS = {"dwsep": "depthwise separable block: dw k×k (stride) then pw (out)", "predict": PREDICT_DOC}
DWSEP_KEYS: Mapping[str, Key] = {
    "out": Key("posint", required=True),
    "kernel": Key("size", 3),
    "stride": Key("size", 1),
    "bn": Key("bool", True),
    "act": Key("act", "relu"),
    "scale": SCALE,
}
SHORTHAND_KEYS: Mapping[str, Mapping[str, Key]] = {"dwsep": DWSEP_KEYS, "predict": PREDICT_KEYS}
COMMON_KEYS = ("type", "name", "from", "shares", "per_roi")
# layer types with weights, which `shares` can name: a layer reading another's stored weights again
SHARING = ("conv", "dw", "pw", "deconv", "fc")
TOP_KEYS = ("name", "input", "width", "layers", "defaults", "description", "source", "dtype", "outputs",
            "postprocess", "proposals")
# `dtype:` the element type a model is deployed in (an imported .tflite says it); commands counting bytes default
# to it. No Mult-Add or param count depends on it.
DTYPES = ("fp32", "fp16", "int8")
WIDTH_KEYS = {"divisor": Key("posint", required=True)}
# the values a key of each activation kind takes: "act" may be none, "activation" (a standalone one, a gate) not
ACTIVATION_KINDS = {"act": ACTIVATIONS, "activation": tuple(a for a in ACTIVATIONS if a != "none")}
# kinds that take [height, width] as well as an integer (pairs.py)
PAIR_KINDS = {"size": decode_size, "pads": decode_pads, "padding": decode_padding, "sizes": decode_sizes}


def load_spec_file(path: str | Path) -> Spec:
    """Read, parse and decode a spec file; every problem is a :class:`SpecError` naming the place. A file read
    before is parsed from the cache (:func:`~.reading.parse_file`); strings given to :func:`parse_spec` never are."""
    value, doc = parse_file(path)
    return _decode_spec(value, doc, Path(path).stem)


def parse_spec(text: str, *, file: str = "<spec>", default_name: str = "network") -> Spec:
    doc = Doc(file)
    value = parse_yaml(text, doc)
    return _decode_spec(value, doc, default_name)


# --- plain values → Spec -----------------------------------------------------------------------


def _decode_spec(value: Any, doc: Doc, default_name: str) -> Spec:
    if not isinstance(value, dict):
        raise doc.error("", f"the top level must be a mapping with 'input' and 'layers', got {kind_name(value)}")
    _check_keys(value, TOP_KEYS, "", doc)
    for key in ("input", "layers"):
        if key not in value:
            raise doc.error("", f"missing '{key}'")
    name = _text(value, "name", "", doc) or default_name
    inp = value["input"]
    if not isinstance(inp, dict):
        raise doc.error("input", f"must be a mapping like {{channels: 3, size: 224}}, got {kind_name(inp)}")
    _check_keys(inp, ("channels", "size"), "input", doc)
    channels = _field(inp, "channels", Key("posint", required=True), "input", doc)
    size = _field(inp, "size", Key("size", required=True), "input", doc)
    height, width = (size, None) if isinstance(size, int) else size
    divisor = _decode_width(value["width"], doc) if "width" in value else None
    doc.defaults = _decode_defaults(value.get("defaults", {}), doc)
    layers = _decode_list(value["layers"], "layers", doc, budget=[MAX_LAYERS])
    if not layers:
        raise doc.error("layers", "the network has no layers")
    layers = _name_layers(layers, doc)
    _check_shares(layers, doc)
    dtype = _text(value, "dtype", "", doc) or None
    if dtype is not None and dtype not in DTYPES:
        raise doc.error("dtype", f"unknown element type {dtype!r}; allowed: {', '.join(DTYPES)}")
    outputs = decode_outputs(value["outputs"], layers, doc) if "outputs" in value else ()
    post = decode_postprocess(value["postprocess"], doc) if "postprocess" in value else ()
    return Spec(name, channels, height, tuple(layers), doc.file, _text(value, "description", "", doc),
                _text(value, "source", "", doc), divisor, width, dtype, outputs, post,
                heads.decode_proposals(value, layers, doc))


def _decode_width(value: Any, doc: Doc) -> int:
    """``width: {divisor: 8}``: the network's width rule under α (every scaled ``out`` becomes
    ``make_divisible(α·out, divisor)``, as MobileNetV2/V3, MnasNet and EfficientNet define their widths)."""
    if not isinstance(value, dict):
        raise doc.error("width", f"must be a mapping like {{divisor: 8}}, got {kind_name(value)}")
    _check_keys(value, tuple(WIDTH_KEYS), "width", doc)
    return _field(value, "divisor", WIDTH_KEYS["divisor"], "width", doc)


def _decode_defaults(value: Any, doc: Doc) -> dict[str, Any]:
    """``defaults: {bias: true, bn: false}``: values for every layer whose type takes that key.

    A key is accepted if some layer type takes it as optional (``kernel``: conv, dw, dwsep, the pools); its
    value must then suit every type that takes the key, since it applies to each of them.
    """
    if not isinstance(value, dict):
        raise doc.error("defaults", f"must be a mapping like {{bias: true, bn: false}}, got {kind_name(value)}")
    accepted = default_keys()
    for key in value:
        if key not in accepted:
            raise doc.error(f"defaults.{key}", f"unknown key {key!r}; allowed: {', '.join(sorted(accepted))}")
    decoded: dict[str, Any] = {}
    for key in value:
        for spec in accepted[key]:  # the value must suit every type the default applies to
            decoded[key] = _field(value, key, spec, "defaults", doc)
    return decoded


def default_keys() -> dict[str, list[Key]]:
    """The keys ``defaults:`` takes: those some layer type (or shorthand) takes as optional, each with every
    distinct kind of value the types it applies to read."""
    kinds = [*(kind.keys for kind in REGISTRY.values()), *SHORTHAND_KEYS.values()]
    optional = {key for keys in kinds for key, spec in keys.items() if not spec.required and spec.from_defaults}
    accepted: dict[str, list[Key]] = {}
    for keys in kinds:
        for key, spec in keys.items():
            kind = Key(spec.kind, choices=spec.choices)
            if key in optional and spec.from_defaults and kind not in accepted.setdefault(key, []):
                accepted[key].append(kind)
    return accepted


def _decode_list(items: Any, path: str, doc: Doc, budget: list[int]) -> list[Layer]:
    if not isinstance(items, list):
        raise doc.error(path, f"must be a list of layers, got {kind_name(items)}")
    layers: list[Layer] = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        if isinstance(item, dict) and "repeat" in item:
            layers += _decode_repeat(item, where, doc, budget)
        else:
            new = _decode_layer(item, where, doc)
            _spend(budget, len(new), where, doc)
            layers += new
    return layers


def _decode_repeat(item: dict[str, Any], where: str, doc: Doc, budget: list[int]) -> list[Layer]:
    _check_keys(item, ("repeat", "layers"), where, doc)
    times = _field(item, "repeat", Key("posint", required=True), where, doc)
    if "layers" not in item:
        raise doc.error(where, "a repeat needs 'layers'")
    body = _decode_list(item["layers"], f"{where}.layers", doc, budget)
    if not body:
        raise doc.error(f"{where}.layers", "a repeat needs at least one layer")
    _spend(budget, len(body) * (times - 1), where, doc)  # checked before the copies are made
    return body * times


def _spend(budget: list[int], count: int, where: str, doc: Doc) -> None:
    budget[0] -= count
    if budget[0] < 0:
        raise doc.error(where, f"expands to more than {MAX_LAYERS:,} layers")


def _decode_layer(item: Any, where: str, doc: Doc) -> list[Layer]:
    if not isinstance(item, dict):
        raise doc.error(where, f"a layer must be a mapping like {{type: conv, out: 32}}, got {kind_name(item)}")
    if "type" not in item:
        raise doc.error(where, "missing 'type' (or 'repeat')")
    kind = item["type"]
    known = sorted([*REGISTRY, *SHORTHANDS])
    if not isinstance(kind, str) or kind not in known:
        raise doc.error(f"{where}.type", f"unknown layer type {kind!r}; known: {', '.join(known)}")
    keys = SHORTHAND_KEYS[kind] if kind in SHORTHANDS else REGISTRY[kind].keys
    _check_keys(item, (*COMMON_KEYS, *keys), where, doc)
    common = {
        "name": _layer_name(item, where, doc),
        "where": where,
        "line": doc.marks.get(where, (None, None))[0],
        "inputs": _refs(item, where, doc),
        "shares": _shares(item, kind, where, doc),
        "per_roi": heads.decode_per_roi(item, where, doc),
    }
    _check_arity(kind, common["inputs"], where, doc)
    defaulted = {k for k, spec in keys.items() if k not in item and k in doc.defaults and spec.from_defaults}
    values = {k: doc.defaults[k] if k in defaulted else _field(item, k, spec, where, doc) for k, spec in keys.items()}
    if kind == "dwsep":
        return _expand_dwsep(values, common)
    if kind == "predict":
        return expand_predict(values, {k for k in keys if k in item}, common, where, doc, MAX_INT)
    _check_together(REGISTRY[kind], values, {k for k in keys if k in item} | defaulted, where, doc)
    return [Layer(type=kind, **common, **values, **REGISTRY[kind].fixed)]


def _check_together(kind: LayerKind, values: dict[str, Any], given: set[str], where: str, doc: Doc) -> None:
    """Keys that exclude or need each other (``out`` or ``expand``; not ``groups`` with ``group_width``), and
    the type's own relations between values (a split's ``index`` below its ``parts``)."""
    for group in kind.one_of:
        present = [k for k in group if k in given]
        if not present:
            alternatives = " or ".join(repr(k) for k in group[1:])
            raise doc.error(where, f"missing '{group[0]}' (or {alternatives})")
        if len(present) > 1:
            raise doc.error(f"{where}.{present[1]}", f"give {' or '.join(repr(k) for k in group)}, not both")
    for group in kind.not_together:
        present = [k for k in group if k in given]
        if len(present) > 1:
            raise doc.error(f"{where}.{present[1]}", f"give {present[0]!r} or {present[1]!r}, not both")
    problem = kind.check(values)
    if problem is not None:
        raise doc.error(f"{where}.{problem[0]}", problem[1])


def _layer_name(item: dict[str, Any], where: str, doc: Doc) -> str:
    name = _text(item, "name", "", doc, where)
    if name == INPUT:
        raise doc.error(f"{where}.name", f"{INPUT!r} is reserved: it names the network input in `from`; "
                        "choose another name")
    return name


def _expand_dwsep(values: dict[str, Any], common: dict[str, Any]) -> list[Layer]:
    shared = {"bn": values["bn"], "act": values["act"]}
    name = common["name"]
    dw = Layer(type="dw", kernel=values["kernel"], stride=values["stride"], **shared,
               **{**common, "name": f"{name}.dw" if name else ""})
    pw = Layer(type="pw", out=values["out"], scale=values["scale"], stride=1, **shared,
               **{**common, "name": f"{name}.pw" if name else "", "inputs": ()})
    return [dw, pw]


def _check_arity(kind: str, inputs: tuple[str | int, ...], where: str, doc: Doc) -> None:
    arity = 1 if kind in SHORTHANDS else REGISTRY[kind].arity  # dwsep reads one input, as its dw does
    if arity == 0 and len(inputs) < 2:
        raise doc.error(f"{where}.from", f"{kind} needs 'from' with two or more layer names")
    if arity == 2 and len(inputs) != 2:
        raise doc.error(f"{where}.from", f"{kind} needs 'from' with exactly two layers ([x, gate]), "
                        f"got {len(inputs)}")
    if arity == 1 and len(inputs) > 1:
        raise doc.error(f"{where}.from", f"{kind} takes one input, got {len(inputs)}")


def _refs(item: dict[str, Any], where: str, doc: Doc) -> tuple[str | int, ...]:
    """``from``: layer names, or negative offsets counted back through the expanded layers (-1: previous)."""
    if "from" not in item:
        return ()
    refs = item["from"]
    refs = [refs] if isinstance(refs, str | int) and not isinstance(refs, bool) else refs
    valid = isinstance(refs, list) and refs and all(
        (isinstance(r, str) and r) or (type(r) is int and r < 0) for r in refs)
    if not valid:
        raise doc.error(f"{where}.from", "must be a layer name, a negative offset (-1: the previous layer), "
                        "or a list of them")
    return tuple(refs)


def _shares(item: dict[str, Any], kind: str, where: str, doc: Doc) -> str | None:
    """``shares: NAME``: this layer reads the weights of the earlier layer NAME again (checked once every
    layer is named, in ``_check_shares``)."""
    if "shares" not in item:
        return None
    if kind not in SHARING:
        raise doc.error(f"{where}.shares", f"a {kind} layer has no weights to share; `shares` is for "
                        f"{', '.join(SHARING)}")
    return _text(item, "shares", "", doc, where) or None


def _check_shares(layers: list[Layer], doc: Doc) -> None:
    """``shares`` names an earlier layer of the same type that holds its own weights (not a sharer itself:
    one owner per stored tensor)."""
    earlier: dict[str, Layer] = {}
    for layer in layers:
        owner = earlier.get(layer.shares) if layer.shares else None
        if layer.shares and (owner is None or owner.type != layer.type or owner.shares):
            raise doc.error(f"{layer.where}.shares", f"{layer.shares!r} is not an earlier {layer.type} layer "
                            "with weights of its own")
        earlier[layer.name] = layer


def _name_layers(layers: list[Layer], doc: Doc) -> list[Layer]:
    """Give unnamed layers ``<type><position>`` names; copies from ``repeat`` get ``.2``, ``.3``, …

    Every final name must be unique, or ``from`` would be ambiguous: a name written twice, or one that
    equals another layer's default name or a repeat copy's name, is an error at the name written.
    """
    taken: dict[str, tuple[Layer, int]] = {}  # final name → (layer, copy number)
    copies: dict[tuple[str, str], int] = {}  # (name, where it is written) → copies so far
    named = []
    for i, layer in enumerate(layers, start=1):
        base = layer.name or f"{layer.type}{i}"
        copy = copies[base, layer.where] = copies.get((base, layer.where), 0) + 1
        name = base if copy == 1 else f"{base}.{copy}"
        if name in taken:
            raise _name_clash(name, taken[name], (layer, copy), doc)
        taken[name] = (layer, copy)
        named.append(replace(layer, name=name))
    return named


def _name_clash(name: str, first: tuple[Layer, int], second: tuple[Layer, int], doc: Doc) -> SpecError:
    def which(layer: Layer, copy: int) -> str:
        if not layer.name:
            return f"the default name of {layer.where}"
        return f"{layer.where}" if copy == 1 else f"repeat copy {copy} of {layer.where}"

    # point at a name the user wrote: one written exactly so, else the second if written, else the first
    verbatim = [layer for layer, copy in (second, first) if layer.name == name and copy == 1]
    culprit = verbatim[0] if verbatim else second[0] if second[0].name else first[0]
    return doc.error(f"{culprit.where}.name", f"layer name {name!r} is taken twice ({which(*first)} and "
                     f"{which(*second)}); names must be unique")


def _check_keys(item: dict[str, Any], allowed: tuple[str, ...] | Any, where: str, doc: Doc) -> None:
    for key in item:
        if key not in allowed:
            child = f"{where}.{key}" if where else key
            raise doc.error(child, f"unknown key {key!r}; allowed: {', '.join(allowed)}")


def _field(item: dict[str, Any], key: str, spec: Key, where: str, doc: Doc) -> Any:
    path = f"{where}.{key}" if where else key
    if key not in item:
        if spec.required:
            raise doc.error(where, f"missing '{key}'")
        return spec.default
    value = item[key]
    if spec.kind in PAIR_KINDS:
        return PAIR_KINDS[spec.kind](value, path, doc, _integer)
    if spec.kind in ("posint", "nonneg"):
        return _integer(value, spec.kind == "posint", path, doc)
    if spec.kind == "scale":  # true, false, or `up`: kept for α ≤ 1, scaled above (MobileNetV2's last conv)
        if not isinstance(value, bool) and value != SCALE_UP:
            raise doc.error(path, f"must be true, false or {SCALE_UP} (kept for α ≤ 1, scaled above), got {value!r}")
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise doc.error(path, f"must be true or false, got {value!r}")
        return value
    if spec.kind == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            raise doc.error(path, f"must be one of {', '.join(spec.choices)}, got {value!r}")
        return value
    if spec.kind == "ref":  # a layer name (or `input`), checked against the layers by the graph builder
        if not isinstance(value, str) or not value:
            raise doc.error(path, f"must be a layer name or {INPUT!r}, got {kind_name(value)} {value!r}")
        return value
    if spec.kind in ACTIVATION_KINDS:
        allowed = ACTIVATION_KINDS[spec.kind]
        if not isinstance(value, str) or value not in allowed:
            raise doc.error(path, f"must be one of {', '.join(allowed)}, got {value!r}")
        return value
    raise AssertionError(f"unhandled key kind {spec.kind}")  # a registry bug, not user input


def _integer(value: Any, positive: bool, path: str, doc: Doc, alternative: str = "") -> int:
    # bool is an int subclass in Python; `true` as a channel count is a mistake, not 1.
    if type(value) is not int:
        raise doc.error(path, f"must be an integer{alternative}, got {kind_name(value)} {value!r}")
    low = 1 if positive else 0
    if value < low:
        raise doc.error(path, f"must be {'positive' if positive else 'zero or more'}, got {value}")
    if value > MAX_INT:
        raise doc.error(path, f"must be at most {MAX_INT:,}, got {value:,}")
    return value


def _text(item: dict[str, Any], key: str, default: str, doc: Doc, where: str = "") -> str:
    if key not in item:
        return default
    value = item[key]
    if not isinstance(value, str):
        raise doc.error(f"{where}.{key}" if where else key, f"must be a string, got {kind_name(value)} {value!r}")
    return value
