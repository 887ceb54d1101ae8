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
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..files import note_input
from .located import BASE_TAG, MAX_DEPTH, MAX_NODES, SCALAR_TAGS, Doc, kind_name  # noqa: F401  (re-exported)

MAX_BYTES = 1 << 20  # a spec is a page of text; 1 MiB is generous and keeps parsing instant
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


def parse_file(path: str | Path) -> tuple[Any, Doc]:
    """A YAML file's plain values and their locations, parsed with the spec's safety limits — or, for a text
    parsed before, from the cache of parses (:mod:`.parsed`), without importing PyYAML."""
    from . import parsed

    text, doc = read_text(path), Doc(str(path))
    hit = parsed.lookup(text)
    if hit is None:
        value = parse_yaml(text, doc)
        parsed.store(text, value, doc.marks)
    else:
        value, doc.marks = hit
    return value, doc


def load_mapping(path: str | Path) -> tuple[dict[str, Any], Doc]:
    """A YAML file that must hold a mapping (:func:`parse_file`), and its locations."""
    value, doc = parse_file(path)
    if not isinstance(value, dict):
        raise doc.error("", f"the top level must be a mapping, got {kind_name(value)}")
    return value, doc


# --- YAML → plain values with marks ------------------------------------------------------------


def parse_yaml(text: str, doc: Doc) -> Any:
    """Plain values from YAML text under the limits above; every value's line and column in ``doc.marks``.
    PyYAML is imported here, not with this module: a spec parsed before comes from :mod:`.parsed`."""
    from .yaml_values import parse_yaml as parse

    return parse(text, doc)
