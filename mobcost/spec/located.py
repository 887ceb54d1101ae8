"""What every reader of YAML documents shares: the limits, and :class:`Doc` — the line and column of every value,
keyed by its path (``layers[3].stride``) — with the names of value kinds for errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError

MAX_DEPTH = 32  # YAML nesting (mappings and lists inside each other)
MAX_NODES = 100_000  # YAML values visited, aliases included: the alias-bomb guard
BASE_TAG = "tag:yaml.org,2002:"
SCALAR_TAGS = {BASE_TAG + t for t in ("null", "bool", "int", "float", "str")}

@dataclass
class Doc:
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


def _short(tag: str) -> str:
    return "!!" + tag[len(BASE_TAG):] if tag.startswith(BASE_TAG) else tag


def kind_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a mapping", type(None): "nothing (null)"}
    return names.get(type(value), type(value).__name__)
