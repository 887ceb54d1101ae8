"""The measurement cache: one JSON file of timings keyed by (spec, α, resolution, threads, the runtime's versions).

Several `mobcost latency --measure` runs may share it: every write merges into the file as it is at that
moment, under an exclusive lock (``fcntl.flock`` on ``measurements.json.lock`` beside it), so no run loses
another's results. A file that is not a cache (not JSON, not a mapping) is set aside as ``*.corrupt`` with a
one-line warning and a new one started; an entry that is not a measurement is ignored and measured again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import MobcostError, OptionError
from ..files import write_atomic
from ..graph import Graph
from .runtime import Runtime

# 2: in-place ReLU, seeded random input; 3: median of all runs of all rounds. Part of every key, so
# measurements taken another way are not reused.
MEASURE_PROTOCOL = 3


def cache_file() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mobcost" / "measurements.json"


def cache_key(graph: Graph, threads: int, runtime: Runtime) -> str:
    """The key of one measurement; it names what the runtime depends on (eager torch: torch's version alone,
    as before, so older caches stay valid)."""
    spec = graph.spec
    # The protocol number is part of the digest: measurements taken another way are not reused.
    size = spec.size if spec.width_px is None else spec.input_hw  # square keys as before: caches stay valid
    digest = hashlib.sha256(repr((MEASURE_PROTOCOL, spec.channels, size, spec.layers)).encode()).hexdigest()[:16]
    return "|".join([digest, repr(graph.alpha), str(graph.resolution), str(threads), *runtime.key_parts()])


def check_cache() -> Path:
    """The cache file, its folder created: a one-line error now (before any timing) if it cannot be kept."""
    path = cache_file()
    hint = "set XDG_CACHE_HOME to a folder you can write"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise OptionError(f"the measurement cache's folder is not writable; {hint}", file=str(path.parent))
        if path.exists() and not stat.S_ISREG(path.stat().st_mode):
            raise OptionError(f"the measurement cache is not a regular file; {hint}", file=str(path))
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise OptionError(f"cannot keep the measurement cache: {reason}; {hint}", file=str(path.parent)) from None
    return path


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """An exclusive lock on the cache, held by one process (or one open of the lock file) at a time."""
    import fcntl

    lock = cache_file().with_name(cache_file().name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _load(path: Path, *, set_aside: bool) -> dict[str, Any]:
    """The cache's entries; a file that is not a cache is set aside (when ``set_aside``) and counts as empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return data
    if set_aside:
        aside = path.with_name(path.name + ".corrupt")
        with contextlib.suppress(OSError):
            os.replace(path, aside)
        print(f"mobcost: warning: {path}: not a measurement cache (expected a JSON mapping); set aside as "
              f"{aside.name}, starting a new one", file=sys.stderr)
    return {}


def read_cache() -> dict[str, Any]:
    """The cache's entries as they are now (a reader always sees a whole file: writes replace it at once)."""
    return _load(cache_file(), set_aside=False)


def open_cache() -> dict[str, Any]:
    """Like ``read_cache``, under the lock, setting aside a file that is not a cache."""
    path = check_cache()
    with locked():
        return _load(path, set_aside=True)


def valid_entry(entry: Any, layers: int | None) -> bool:
    """A measurement: finite positive total seconds, and finite seconds ≥ 0 for each of the ``layers`` (any
    number of them when ``layers`` is None; none from a runtime that cannot time layers apart)."""
    def seconds(x: Any) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x >= 0

    return (isinstance(entry, dict) and seconds(entry.get("total_s")) and entry["total_s"] > 0
            and isinstance(entry.get("layers_s"), list)
            and len(entry["layers_s"]) in (0, layers or len(entry["layers_s"]))
            and all(seconds(x) for x in entry["layers_s"]))


def cache_has(graph: Graph, threads: int, runtime: Runtime) -> bool:
    return valid_entry(read_cache().get(cache_key(graph, threads, runtime)), len(graph.nodes))


def store(entries: dict[str, Any]) -> None:
    """Merge ``entries`` into the cache under the lock: other runs' entries written meanwhile are kept."""
    path = check_cache()
    with locked():
        cache = {k: v for k, v in _load(path, set_aside=True).items() if valid_entry(v, None)}  # drop damaged ones
        cache.update(entries)
        try:
            write_atomic(path, json.dumps(cache, indent=1, allow_nan=False))
        except (OSError, MobcostError) as exc:  # the measurements are still reported; only caching failed
            print(f"mobcost: warning: {path}: measurements not cached ({getattr(exc, 'message', exc)})",
                  file=sys.stderr)
