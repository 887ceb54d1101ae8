"""A JSON Schema for spec files, generated from the registry so it cannot drift from the parser."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..layers import ACTIVATIONS, REGISTRY, Key
from .decode import DWSEP_KEYS, MAX_INT, MAX_LAYERS, SHORTHANDS

KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    "posint": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "nonneg": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
    "bool": {"type": "boolean"},
    "act": {"enum": list(ACTIVATIONS)},
}
REF = {"oneOf": [{"type": "string", "minLength": 1}, {"type": "integer", "maximum": -1}]}
REFS = {"oneOf": [REF, {"type": "array", "items": REF, "minItems": 1}]}


def spec_schema() -> dict[str, Any]:
    kinds = {name: _layer_schema(name, kind.keys, kind.doc) for name, kind in REGISTRY.items()}
    kinds.update({name: _layer_schema(name, DWSEP_KEYS, doc) for name, doc in SHORTHANDS.items()})
    layer_list = {"type": "array", "items": {"oneOf": [{"$ref": "#/$defs/repeat"},
                                                       *({"$ref": f"#/$defs/{k}"} for k in sorted(kinds))]}}
    repeat = {"type": "object", "required": ["repeat", "layers"], "additionalProperties": False,
              "description": f"the layers, repeated; at most {MAX_LAYERS:,} layers after expansion",
              "properties": {"repeat": KIND_SCHEMAS["posint"], "layers": {"$ref": "#/$defs/layers"}}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/mobcost/mobcost/docs/spec.schema.json",
        "title": "mobcost network spec",
        "type": "object",
        "required": ["input", "layers"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "source": {"type": "string"},
            "input": {"type": "object", "required": ["channels", "size"], "additionalProperties": False,
                      "properties": {"channels": KIND_SCHEMAS["posint"], "size": KIND_SCHEMAS["posint"]}},
            "defaults": _defaults(),
            "layers": {"$ref": "#/$defs/layers"},
        },
        "$defs": {"layers": layer_list, "repeat": repeat, **dict(sorted(kinds.items()))},
    }


def _layer_schema(name: str, keys: Mapping[str, Key], doc: str) -> dict[str, Any]:
    props: dict[str, Any] = {"type": {"const": name}, "name": {"type": "string"}, "from": REFS}
    for key, spec in keys.items():
        props[key] = dict(KIND_SCHEMAS[spec.kind])
        if spec.default is not None:
            props[key]["default"] = spec.default
    required = ["type", *(k for k, s in keys.items() if s.required)]
    return {"type": "object", "description": doc, "required": required, "additionalProperties": False,
            "properties": props}


def _defaults() -> dict[str, Any]:
    accepted = {k: spec for kind in REGISTRY.values() for k, spec in kind.keys.items() if not spec.required}
    return {"type": "object", "additionalProperties": False,
            "description": "values for every layer whose type takes the key, unless the layer sets it",
            "properties": {k: dict(KIND_SCHEMAS[spec.kind]) for k, spec in sorted(accepted.items())}}
