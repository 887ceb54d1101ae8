"""A JSON Schema for spec files, generated from the registry so it cannot drift from the parser."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ir import SCALE_UP
from ..layers import REGISTRY, Key, LayerKind
from .decode import (
    ACTIVATION_KINDS,
    DTYPES,
    MAX_INT,
    MAX_LAYERS,
    SHARING,
    SHORTHAND_KEYS,
    SHORTHANDS,
    WIDTH_KEYS,
    default_keys,
)
from .heads import PREDICTS

POSINT = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
NONNEG = {"type": "integer", "minimum": 0, "maximum": MAX_INT}


def _two(items: dict[str, Any], what: str) -> dict[str, Any]:
    return {"type": "array", "items": items, "minItems": 2, "maxItems": 2, "description": what}


KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    "posint": POSINT,
    "nonneg": NONNEG,
    "bool": {"type": "boolean"},
    "scale": {"oneOf": [{"type": "boolean"}, {"const": SCALE_UP}],
              "description": f"scaled by α (true), kept (false), or kept for α ≤ 1 and scaled above ({SCALE_UP})"},
    "size": {"oneOf": [POSINT, _two(POSINT, "[height, width]")]},
    "pads": {"oneOf": [NONNEG, _two(NONNEG, "[height, width]: each side of that axis")]},
    "padding": {"oneOf": [NONNEG, {"const": "same"},
                          _two({"oneOf": [NONNEG, _two(NONNEG, "[before, after]")]},
                               "[height, width]: each an integer (both sides) or [before, after]")]},
    "ref": {"type": "string", "minLength": 1, "description": "a layer name, or input"},
    "sizes": {"type": "array", "items": POSINT, "minItems": 2, "maxItems": 64,
              "description": "the parts' channel proportions"},
    **{kind: {"enum": list(names)} for kind, names in ACTIVATION_KINDS.items()},
}
REF = {"oneOf": [{"type": "string", "minLength": 1}, {"type": "integer", "maximum": -1}]}
REFS = {"oneOf": [REF, {"type": "array", "items": REF, "minItems": 1}]}


def spec_schema() -> dict[str, Any]:
    kinds = {name: _layer_schema(name, kind.keys, kind.doc, kind) for name, kind in REGISTRY.items()}
    kinds.update({name: _layer_schema(name, SHORTHAND_KEYS[name], doc) for name, doc in SHORTHANDS.items()})
    kinds["predict"]["allOf"] = [{"oneOf": [{"required": [k]} for k in PREDICTS]}]
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
            "dtype": {"enum": list(DTYPES), "description": "the element type the model is deployed in (an imported "
                      ".tflite says it); commands that count bytes default to it (memory --dtype)"},
            "input": {"type": "object", "required": ["channels", "size"], "additionalProperties": False,
                      "properties": {"channels": KIND_SCHEMAS["posint"], "size": KIND_SCHEMAS["size"]}},
            "width": {"type": "object", "required": list(WIDTH_KEYS), "additionalProperties": False,
                      "description": "the width rule under α: every scaled `out` (and `expand`) becomes "
                                     "make_divisible(α·out, divisor) (torchvision's _make_divisible)",
                      "properties": {k: dict(KIND_SCHEMAS[spec.kind]) for k, spec in WIDTH_KEYS.items()}},
            "defaults": _defaults(),
            "layers": {"$ref": "#/$defs/layers"},
            "outputs": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,
                        "uniqueItems": True, "description": "the layers the network returns, in order; every "
                        "other layer must be read by a later one"},
            "postprocess": {"type": "array", "items": {"type": "string", "minLength": 1},
                            "description": "steps after the outputs with no Mult-Adds (anchor decoding, NMS): "
                                           "listed as not counted"},
            "proposals": {"type": "integer", "minimum": 1, "description": "region proposals per image, the "
                          "times each `per_roi` layer runs (--proposals)"},
        },
        "$defs": {"layers": layer_list, "repeat": repeat, **dict(sorted(kinds.items()))},
    }


def key_schema(spec: Key) -> dict[str, Any]:
    """The JSON Schema of one key's values."""
    return {"enum": list(spec.choices)} if spec.kind == "choice" else dict(KIND_SCHEMAS[spec.kind])


def _layer_schema(name: str, keys: Mapping[str, Key], doc: str, kind: LayerKind | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"type": {"const": name}, "name": {"type": "string"}, "from": REFS,
                             "per_roi": {"type": "boolean", "description": "runs once per region proposal: "
                                         "Mult-Adds counted `proposals` times, params once"}}
    for key, spec in keys.items():
        props[key] = key_schema(spec)
        if spec.default is not None:
            props[key]["default"] = spec.default
    required = ["type", *(k for k, s in keys.items() if s.required)]
    schema = {"type": "object", "description": doc, "required": required, "additionalProperties": False,
              "properties": props}
    if name in SHARING:  # the earlier layer whose stored weights this one reads again
        props["shares"] = {"type": "string", "description": "an earlier layer of this type whose weights this "
                           "one reads again: params counted once, there"}
    if kind is not None and kind.arity != 1:  # joins: `from` names their inputs (0: two or more)
        props["from"] = {"type": "array", "items": REF, "minItems": 2, **({"maxItems": 2} if kind.arity else {})}
        required.append("from")
    together = [{"oneOf": [{"required": [k]} for k in group]} for group in getattr(kind, "one_of", ())]
    together += [{"not": {"required": list(group)}} for group in getattr(kind, "not_together", ())]
    if together:
        schema["allOf"] = together
    return schema


def _defaults() -> dict[str, Any]:
    """The keys ``defaults:`` takes (the decoder's own list); a key read as two kinds must suit both."""
    def kinds(specs: list[Key]) -> dict[str, Any]:
        schemas = [key_schema(spec) for spec in specs]
        return schemas[0] if len(schemas) == 1 else {"allOf": schemas}

    return {"type": "object", "additionalProperties": False,
            "description": "values for every layer whose type takes the key, unless the layer sets it",
            "properties": {k: kinds(specs) for k, specs in sorted(default_keys().items())}}
