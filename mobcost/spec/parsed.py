"""Parsed spec files kept as JSON, so a command reading a spec it has read before skips PyYAML.

Importing PyYAML costs ~25 ms (its reader and resolver compile their regular expressions at import), a fifth of
`mobcost table`'s cold start. A spec's parse is a pure function of its text, so it is kept under
``$XDG_CACHE_HOME/mobcost/parsed/`` named by a digest of the text and of this parser's version: the plain values
and the line/column of each, exactly what :func:`~mobcost.spec.reading.parse_yaml` returns. A file that is not
such an entry is ignored (the text is parsed again); failing to write one costs nothing but the next parse.
JSON holds only data, so an entry can give decode nothing YAML's safe subset could not.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

# Part of every digest: a change to how YAML becomes values (limits, marks) makes new entries.
PARSER_VERSION = 1
MAX_ENTRIES = 256  # one per spec text; the oldest go first (the folder may hold a few more between prunings)
MAX_ENTRY_BYTES = 8 << 20


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mobcost" / "parsed"


def _entry(text: str) -> Path:
    digest = hashlib.sha256(f"{PARSER_VERSION}\0{text}".encode()).hexdigest()[:32]
    return cache_dir() / f"{digest}.json"


def lookup(text: str) -> tuple[Any, dict[str, tuple[int, int]]] | None:
    """The values and marks parsed from ``text`` before, or None."""
    try:
        path = _entry(text)
        if path.stat().st_size > MAX_ENTRY_BYTES:
            return None
        entry = json.loads(path.read_text(encoding="utf-8"))
        marks = {str(p): (int(line), int(col)) for p, line, col in entry["marks"]}
        return entry["value"], marks
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def store(text: str, value: Any, marks: dict[str, tuple[int, int]]) -> None:
    """Keep a parse for next time (atomically: a reader sees a whole entry or none); never fails the command."""
    with contextlib.suppress(OSError, ValueError, RecursionError):
        path = _entry(text)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"value": value, "marks": [[p, line, col] for p, (line, col) in marks.items()]})
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temp.write_text(body, encoding="utf-8")
        os.replace(temp, path)
        if path.name.startswith("0"):  # one write in 16 (by digest) looks at the folder: pruning costs a stat an entry
            _prune(path.parent)


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    for old in entries[:-MAX_ENTRIES]:
        old.unlink(missing_ok=True)
