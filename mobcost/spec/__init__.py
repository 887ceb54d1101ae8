"""Text → typed spec: YAML reading with its limits, decoding with located errors, the JSON Schema,
the bundled specs and spec-to-spec transforms."""

from __future__ import annotations

from .bundled import DEFAULT_SPEC, bundled_names, load_bundled, load_spec, resolve_spec_path, specs_dir
from .decode import DWSEP_KEYS, MAX_INT, MAX_LAYERS, SHORTHANDS, parse_spec
from .model import Spec
from .reading import load_mapping, read_text

__all__ = ["DEFAULT_SPEC", "DWSEP_KEYS", "MAX_INT", "MAX_LAYERS", "SHORTHANDS", "Spec", "bundled_names",
           "load_bundled", "load_mapping", "load_spec", "parse_spec", "read_text", "resolve_spec_path", "specs_dir"]
