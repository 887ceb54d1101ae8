"""YAML text → plain values with their line and column, under the limits of :mod:`.reading` (PyYAML's safe
composer only; no tag constructed; aliases followed on a budget; nesting bounded). Imported only when a text
is parsed: PyYAML's import is a fifth of a cold start."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from ..errors import SpecError
from .located import BASE_TAG, MAX_DEPTH, MAX_NODES, SCALAR_TAGS, Doc, _short, kind_name


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
