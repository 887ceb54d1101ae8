"""YAML text → plain values, each with its line and column, under the spec's safety limits.

Safety: the text is parsed by PyYAML's safe composer only; no tag is ever constructed (any tag outside
YAML's plain scalars, lists and mappings is refused), aliases are followed with a budget so an alias
"bomb" is an error rather than a hang, and nesting depth and file size are bounded. Hardware profiles are
read through here too (:func:`load_mapping`).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError
from ..files import note_input

MAX_BYTES = 1 << 20  # a spec is a page of text; 1 MiB is generous and keeps parsing instant
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


def read_text(path: str | Path) -> str:
    """A spec's (or hardware profile's) text: a regular file of at most ``MAX_BYTES`` of UTF-8.

    Anything else is refused up front with a one-line error: a FIFO, device or socket (reading one could
    block forever or never end), a folder, a path the system cannot look up (too long, not searchable).
    """
    name = str(path)
    try:
        data = _read_regular(os.fspath(path), name)
    except OSError as exc:
        raise SpecError(_os_problem(exc), file=name) from None
    except ValueError:  # an embedded NUL byte: no such path can exist
        raise SpecError("no such file (the path holds a NUL byte)", file=name) from None
    if len(data) > MAX_BYTES:
        raise SpecError(f"larger than {MAX_BYTES // 1024} KiB; a spec is a short text file", file=name)
    if b"\x00" in data:
        raise SpecError("binary data, not a YAML text file", file=name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text (byte {exc.start})", file=name) from None


def _read_regular(path: str, name: str) -> bytes:
    """The first ``MAX_BYTES + 1`` bytes of a regular file. Opened without blocking and checked on the open
    descriptor, so a path swapped for a FIFO between the look-up and the open cannot hang the read."""
    _refuse_irregular(os.stat(path).st_mode, name)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        _refuse_irregular(os.fstat(fd).st_mode, name)
        note_input(fd)
        return f.read(MAX_BYTES + 1)


def _refuse_irregular(mode: int, name: str) -> None:
    if stat.S_ISREG(mode):
        return
    kinds = {stat.S_ISFIFO: "a FIFO (named pipe)", stat.S_ISSOCK: "a socket",
             stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device"}
    kind = next((k for test, k in kinds.items() if test(mode)), "")
    if stat.S_ISDIR(mode):
        raise SpecError("is a directory, not a spec file", file=name)
    raise SpecError(f"is {kind or 'a special file'}, not a regular file; give the path of a file", file=name)


def _os_problem(exc: OSError) -> str:
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "no such file"
    if exc.errno == errno.ENAMETOOLONG:
        return "cannot read: the path (or one of its names) is too long"
    return f"cannot read: {exc.strerror or exc}"


def load_mapping(path: str | Path) -> tuple[dict[str, Any], Doc]:
    """A YAML file that must hold a mapping, parsed with the spec's safety limits, and its locations."""
    doc = Doc(str(path))
    value = parse_yaml(read_text(path), doc)
    if not isinstance(value, dict):
        raise doc.error("", f"the top level must be a mapping, got {kind_name(value)}")
    return value, doc


# --- YAML → plain values with marks ------------------------------------------------------------


def parse_yaml(text: str, doc: Doc) -> Any:
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


def _check_depth(events: Iterator[yaml.Event], doc: Doc) -> None:
    """Refuse deep nesting before composing (PyYAML's composer recurses once per level), and more values than
    the limit even before aliases are followed (composing them would take seconds only to be refused)."""
    depth = values = 0
    for event in events:
        if isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            values += 1
            if values > MAX_NODES:
                m = event.start_mark
                raise SpecError(f"more than {MAX_NODES:,} YAML values", file=doc.file, line=m.line + 1,
                                column=m.column + 1)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                m = event.start_mark
                raise SpecError(f"nested more than {MAX_DEPTH} levels deep", file=doc.file,
                                line=m.line + 1, column=m.column + 1)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


_SCALARS = yaml.constructor.SafeConstructor()


MAX_INT_CHARS = 40  # an integer literal longer than this is far past every limit (and Python's 4,300 digits)


def _to_value(node: yaml.Node, path: str, doc: Doc, ancestors: tuple[yaml.Node, ...] = ()) -> Any:
    """Plain values from composed nodes. Aliases are followed, so nesting is counted again here (an alias can
    nest a value deeper than the text does) and a value that contains itself is refused."""
    doc.visited += 1
    if doc.visited > MAX_NODES:
        raise doc.error(path, f"more than {MAX_NODES:,} YAML values after following aliases (alias bomb?)")
    doc.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if any(node is a for a in ancestors):
        raise doc.error(path, "a YAML alias refers to a value that contains it (a recursive alias)")
    if len(ancestors) > MAX_DEPTH:
        raise doc.error(path, f"nested more than {MAX_DEPTH} levels deep once aliases are followed")
    tag = node.tag
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, path, doc)
    inner = (*ancestors, node)
    if isinstance(node, yaml.SequenceNode):
        if tag != BASE_TAG + "seq":
            raise doc.error(path, f"YAML tag {_short(tag)} is not allowed; use a plain list")
        return [_to_value(item, f"{path}[{i}]", doc, inner) for i, item in enumerate(node.value)]
    if tag != BASE_TAG + "map":
        raise doc.error(path, f"YAML tag {_short(tag)} is not allowed; use a plain mapping")
    return _mapping(node, path, doc, inner)


def _scalar(node: yaml.ScalarNode, path: str, doc: Doc) -> Any:
    if node.tag not in SCALAR_TAGS:
        raise doc.error(path, f"YAML tag {_short(node.tag)} is not allowed; use plain values")
    if node.tag == BASE_TAG + "int" and len(node.value) > MAX_INT_CHARS:
        raise doc.error(path, f"an integer of {len(node.value):,} characters is far beyond any limit")
    try:
        return _SCALARS.yaml_constructors[node.tag](_SCALARS, node)
    except (ValueError, OverflowError) as exc:
        raise doc.error(path, f"cannot read the value: {exc}") from None


def _mapping(node: yaml.MappingNode, path: str, doc: Doc, ancestors: tuple[yaml.Node, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == BASE_TAG + "merge":
            raise doc.error(path, "YAML merge keys (<<) are not supported; write the keys out")
        key = _to_value(key_node, path, doc, ancestors)
        if not isinstance(key, str):
            raise doc.error(path, f"mapping keys must be strings, got {kind_name(key)}")
        child = f"{path}.{key}" if path else key
        if key in out:
            doc.marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            raise doc.error(child, f"duplicate key {key!r}")
        out[key] = _to_value(value_node, child, doc, ancestors)
    return out


def _short(tag: str) -> str:
    return "!!" + tag[len(BASE_TAG):] if tag.startswith(BASE_TAG) else tag


def kind_name(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a mapping", type(None): "nothing (null)"}
    return names.get(type(value), type(value).__name__)
