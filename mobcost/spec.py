"""YAML text → a typed, located, expanded :class:`Spec`.

Safety: the text is parsed by PyYAML's safe composer only; no tag is ever constructed (any tag outside
YAML's plain scalars, lists and mappings is refused), aliases are followed with a budget so an alias
"bomb" is an error rather than a hang, nesting depth and file size are bounded, and ``repeat`` is
checked against the layer limit *before* it is expanded.

Grammar (documented in full in ``docs/spec-format.md``)::

    name: MobileNet
    input: {channels: 3, size: 224}
    layers:
      - {type: conv, out: 32, kernel: 3, stride: 2}
      - {type: dwsep, out: 64}                 # shorthand for dw 3×3 (stride) + pw (out)
      - {repeat: 5, layers: [{type: dwsep, out: 512}]}
      - {type: avgpool}
      - {type: fc, out: 1000, scale: false}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError
from .formulas import ACTIVATIONS, REGISTRY, Key
from .layers import Layer

MAX_BYTES = 1 << 20  # a spec is a page of text; 1 MiB is generous and keeps parsing instant
MAX_DEPTH = 32  # YAML nesting (mappings and lists inside each other)
MAX_NODES = 100_000  # YAML values visited, aliases included: the alias-bomb guard
MAX_LAYERS = 10_000  # layers after `repeat` and `dwsep` expansion
MAX_INT = 1_000_000_000  # channel counts and sizes beyond this are typos, not networks

SHORTHANDS = {"dwsep": "depthwise separable block: dw k×k (stride) then pw (out)"}
DWSEP_KEYS: Mapping[str, Key] = {
    "out": Key("posint", required=True),
    "kernel": Key("posint", 3),
    "stride": Key("posint", 1),
    "bn": Key("bool", True),
    "act": Key("act", "relu"),
    "scale": Key("bool", True),
}
COMMON_KEYS = ("type", "name", "from")
TOP_KEYS = ("name", "input", "layers", "defaults", "description", "source")
BASE_TAG = "tag:yaml.org,2002:"
SCALAR_TAGS = {BASE_TAG + t for t in ("null", "bool", "int", "float", "str")}


@dataclass(frozen=True)
class Spec:
    """A decoded network: input shape and its expanded layers, before any multiplier."""

    name: str
    channels: int
    size: int
    layers: tuple[Layer, ...]
    file: str = "<spec>"
    description: str = ""
    source: str = ""


@dataclass
class _Doc:
    """Parsed YAML plus the line/column of every value, keyed by its path (``layers[3].stride``)."""

    file: str
    marks: dict[str, tuple[int, int]] = field(default_factory=dict)
    visited: int = 0
    defaults: dict[str, Any] = field(default_factory=dict)  # the spec's `defaults:` for every layer

    def error(self, where: str, message: str) -> SpecError:
        line, col = self._mark(where)
        return SpecError(message, file=self.file, line=line, column=col, where=where or None)

    def _mark(self, where: str) -> tuple[int | None, int | None]:
        path = where
        while path:
            if path in self.marks:
                return self.marks[path]
            path = _parent(path)
        return self.marks.get("", (None, None))


def _parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def load_spec(path: str | Path) -> Spec:
    """Read, parse and decode a spec file; every problem is a :class:`SpecError` naming the place."""
    text = read_text(path)
    return parse_spec(text, file=str(path), default_name=Path(path).stem)


def read_text(path: str | Path) -> str:
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise SpecError("no such file", file=name)
    if p.is_dir():
        raise SpecError("is a directory, not a spec file", file=name)
    try:
        with p.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror}", file=name) from None
    if len(data) > MAX_BYTES:
        raise SpecError(f"larger than {MAX_BYTES // 1024} KiB; a spec is a short text file", file=name)
    if b"\x00" in data:
        raise SpecError("binary data, not a YAML text file", file=name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text (byte {exc.start})", file=name) from None


def load_mapping(path: str | Path) -> tuple[dict[str, Any], _Doc]:
    """A YAML file that must hold a mapping, parsed with the spec's safety limits, and its locations."""
    doc = _Doc(str(path))
    value = _parse_yaml(read_text(path), doc)
    if not isinstance(value, dict):
        raise doc.error("", f"the top level must be a mapping, got {_kind(value)}")
    return value, doc


def parse_spec(text: str, *, file: str = "<spec>", default_name: str = "network") -> Spec:
    doc = _Doc(file)
    value = _parse_yaml(text, doc)
    return _decode_spec(value, doc, default_name)


# --- YAML → plain values with marks ------------------------------------------------------------


def _parse_yaml(text: str, doc: _Doc) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _check_depth(yaml.parse(text, Loader=loader), doc)
        root = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise SpecError(f"YAML syntax error: {problem}", file=doc.file, line=line, column=col) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", file=doc.file) from None
    if root is None:
        raise SpecError("empty file: expected a mapping with 'input' and 'layers'", file=doc.file)
    return _to_value(root, "", doc)


def _check_depth(events: Iterator[yaml.Event], doc: _Doc) -> None:
    """Refuse deep nesting before composing: PyYAML's composer recurses once per level."""
    depth = 0
    for event in events:
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                m = event.start_mark
                raise SpecError(f"nested more than {MAX_DEPTH} levels deep", file=doc.file,
                                line=m.line + 1, column=m.column + 1)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


_SCALARS = yaml.constructor.SafeConstructor()


def _to_value(node: yaml.Node, path: str, doc: _Doc) -> Any:
    doc.visited += 1
    if doc.visited > MAX_NODES:
        raise doc.error(path, f"more than {MAX_NODES:,} YAML values after following aliases (alias bomb?)")
    doc.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    tag = node.tag
    if isinstance(node, yaml.ScalarNode):
        if tag not in SCALAR_TAGS:
            raise doc.error(path, f"YAML tag {_short(tag)} is not allowed; use plain values")
        return _SCALARS.yaml_constructors[tag](_SCALARS, node)
    if isinstance(node, yaml.SequenceNode):
        if tag != BASE_TAG + "seq":
            raise doc.error(path, f"YAML tag {_short(tag)} is not allowed; use a plain list")
        return [_to_value(item, f"{path}[{i}]", doc) for i, item in enumerate(node.value)]
    if tag != BASE_TAG + "map":
        raise doc.error(path, f"YAML tag {_short(tag)} is not allowed; use a plain mapping")
    return _mapping(node, path, doc)


def _mapping(node: yaml.MappingNode, path: str, doc: _Doc) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == BASE_TAG + "merge":
            raise doc.error(path, "YAML merge keys (<<) are not supported; write the keys out")
        key = _to_value(key_node, path, doc)
        if not isinstance(key, str):
            raise doc.error(path, f"mapping keys must be strings, got {key!r}")
        child = f"{path}.{key}" if path else key
        if key in out:
            doc.marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            raise doc.error(child, f"duplicate key {key!r}")
        out[key] = _to_value(value_node, child, doc)
    return out


def _short(tag: str) -> str:
    return "!!" + tag[len(BASE_TAG):] if tag.startswith(BASE_TAG) else tag


# --- plain values → Spec -----------------------------------------------------------------------


def _decode_spec(value: Any, doc: _Doc, default_name: str) -> Spec:
    if not isinstance(value, dict):
        raise doc.error("", f"the top level must be a mapping with 'input' and 'layers', got {_kind(value)}")
    _check_keys(value, TOP_KEYS, "", doc)
    for key in ("input", "layers"):
        if key not in value:
            raise doc.error("", f"missing '{key}'")
    name = _text(value, "name", "", doc) or default_name
    inp = value["input"]
    if not isinstance(inp, dict):
        raise doc.error("input", f"must be a mapping like {{channels: 3, size: 224}}, got {_kind(inp)}")
    _check_keys(inp, ("channels", "size"), "input", doc)
    channels = _field(inp, "channels", Key("posint", required=True), "input", doc)
    size = _field(inp, "size", Key("posint", required=True), "input", doc)
    doc.defaults = _decode_defaults(value.get("defaults", {}), doc)
    layers = _decode_list(value["layers"], "layers", doc, budget=[MAX_LAYERS])
    if not layers:
        raise doc.error("layers", "the network has no layers")
    layers = _name_layers(layers, doc)
    return Spec(name, channels, size, tuple(layers), doc.file,
                _text(value, "description", "", doc), _text(value, "source", "", doc))


def _decode_defaults(value: Any, doc: _Doc) -> dict[str, Any]:
    """``defaults: {bias: true, bn: false}``: values for every layer whose type takes that key."""
    if not isinstance(value, dict):
        raise doc.error("defaults", f"must be a mapping like {{bias: true, bn: false}}, got {_kind(value)}")
    accepted = {k: spec for kind in REGISTRY.values() for k, spec in kind.keys.items()}
    for key in value:
        if key not in accepted or accepted[key].required:
            allowed = ", ".join(sorted(k for k, s in accepted.items() if not s.required))
            raise doc.error(f"defaults.{key}", f"unknown key {key!r}; allowed: {allowed}")
    return {k: _field(value, k, accepted[k], "defaults", doc) for k in value}


def _decode_list(items: Any, path: str, doc: _Doc, budget: list[int]) -> list[Layer]:
    if not isinstance(items, list):
        raise doc.error(path, f"must be a list of layers, got {_kind(items)}")
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


def _decode_repeat(item: dict[str, Any], where: str, doc: _Doc, budget: list[int]) -> list[Layer]:
    _check_keys(item, ("repeat", "layers"), where, doc)
    times = _field(item, "repeat", Key("posint", required=True), where, doc)
    if "layers" not in item:
        raise doc.error(where, "a repeat needs 'layers'")
    body = _decode_list(item["layers"], f"{where}.layers", doc, budget)
    if not body:
        raise doc.error(f"{where}.layers", "a repeat needs at least one layer")
    _spend(budget, len(body) * (times - 1), where, doc)  # checked before the copies are made
    return body * times


def _spend(budget: list[int], count: int, where: str, doc: _Doc) -> None:
    budget[0] -= count
    if budget[0] < 0:
        raise doc.error(where, f"expands to more than {MAX_LAYERS:,} layers")


def _decode_layer(item: Any, where: str, doc: _Doc) -> list[Layer]:
    if not isinstance(item, dict):
        raise doc.error(where, f"a layer must be a mapping like {{type: conv, out: 32}}, got {_kind(item)}")
    if "type" not in item:
        raise doc.error(where, "missing 'type' (or 'repeat')")
    kind = item["type"]
    known = sorted([*REGISTRY, *SHORTHANDS])
    if not isinstance(kind, str) or kind not in known:
        raise doc.error(f"{where}.type", f"unknown layer type {kind!r}; known: {', '.join(known)}")
    keys = DWSEP_KEYS if kind == "dwsep" else REGISTRY[kind].keys
    _check_keys(item, (*COMMON_KEYS, *keys), where, doc)
    values = {k: _field(item, k, spec, where, doc) if k in item or k not in doc.defaults else doc.defaults[k]
              for k, spec in keys.items()}
    common = {
        "name": _text(item, "name", "", doc, where),
        "where": where,
        "line": doc.marks.get(where, (None, None))[0],
        "inputs": _refs(item, where, doc),
    }
    if kind == "dwsep":
        return _expand_dwsep(values, common)
    _check_arity(kind, common["inputs"], where, doc)
    return [Layer(type=kind, **common, **values)]


def _expand_dwsep(values: dict[str, Any], common: dict[str, Any]) -> list[Layer]:
    shared = {"bn": values["bn"], "act": values["act"]}
    name = common["name"]
    dw = Layer(type="dw", kernel=values["kernel"], stride=values["stride"], **shared,
               **{**common, "name": f"{name}.dw" if name else ""})
    pw = Layer(type="pw", out=values["out"], scale=values["scale"], stride=1, **shared,
               **{**common, "name": f"{name}.pw" if name else "", "inputs": ()})
    return [dw, pw]


def _check_arity(kind: str, inputs: tuple[str, ...], where: str, doc: _Doc) -> None:
    if REGISTRY[kind].arity == 0 and len(inputs) < 2:
        raise doc.error(f"{where}.from", f"{kind} needs 'from' with two or more layer names")
    if REGISTRY[kind].arity == 1 and len(inputs) > 1:
        raise doc.error(f"{where}.from", f"{kind} takes one input, got {len(inputs)}")


def _refs(item: dict[str, Any], where: str, doc: _Doc) -> tuple[str | int, ...]:
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


def _name_layers(layers: list[Layer], doc: _Doc) -> list[Layer]:
    """Give unnamed layers ``<type><position>`` names; copies from ``repeat`` get ``.2``, ``.3``, …"""
    seen: dict[str, int] = {}
    named = []
    for i, layer in enumerate(layers, start=1):
        name = layer.name or f"{layer.type}{i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 1)
        named.append(replace(layer, name=name))
    return named


def _check_keys(item: dict[str, Any], allowed: tuple[str, ...] | Any, where: str, doc: _Doc) -> None:
    for key in item:
        if key not in allowed:
            child = f"{where}.{key}" if where else key
            raise doc.error(child, f"unknown key {key!r}; allowed: {', '.join(allowed)}")


def _field(item: dict[str, Any], key: str, spec: Key, where: str, doc: _Doc) -> Any:
    path = f"{where}.{key}" if where else key
    if key not in item:
        if spec.required:
            raise doc.error(where, f"missing '{key}'")
        return spec.default
    value = item[key]
    if spec.kind in ("posint", "nonneg"):
        return _integer(value, spec.kind == "posint", path, doc)
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise doc.error(path, f"must be true or false, got {value!r}")
        return value
    if spec.kind == "act":
        if value not in ACTIVATIONS:
            raise doc.error(path, f"must be one of {', '.join(ACTIVATIONS)}, got {value!r}")
        return value
    raise AssertionError(f"unhandled key kind {spec.kind}")  # a registry bug, not user input


def _integer(value: Any, positive: bool, path: str, doc: _Doc) -> int:
    # bool is an int subclass in Python; `true` as a channel count is a mistake, not 1.
    if type(value) is not int:
        raise doc.error(path, f"must be an integer, got {_kind(value)} {value!r}")
    low = 1 if positive else 0
    if value < low:
        raise doc.error(path, f"must be {'positive' if positive else 'zero or more'}, got {value}")
    if value > MAX_INT:
        raise doc.error(path, f"must be at most {MAX_INT:,}, got {value:,}")
    return value


def _text(item: dict[str, Any], key: str, default: str, doc: _Doc, where: str = "") -> str:
    if key not in item:
        return default
    value = item[key]
    if not isinstance(value, str):
        raise doc.error(f"{where}.{key}" if where else key, f"must be a string, got {_kind(value)} {value!r}")
    return value


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a mapping", type(None): "nothing (null)"}
    return names.get(type(value), type(value).__name__)
