"""Writing results: atomically, so a failing run never truncates or replaces an existing file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import OptionError


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path`` in one step."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_stream(path, binary=True) as f:
        f.write(raw)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_stream(path: Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A file to write in pieces; it replaces ``path`` only if the block finishes without error."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise OptionError("is a directory", file=str(target), where="--output")
    if not folder.is_dir():
        raise OptionError(f"folder {str(folder)!r} does not exist", file=str(target), where="--output")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OptionError(f"cannot write: {exc.strerror}", file=str(target), where="--output") from None
    try:
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            yield f
        os.chmod(tmp, (target.stat().st_mode & 0o777) if target.exists() else 0o644 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OptionError(f"cannot write: {exc.strerror}", file=str(target), where="--output") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
