"""The measurement cache: one JSON file of timings keyed by (spec, α, resolution, threads, torch version)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from ..files import write_atomic
from ..graph import Graph

# 2: in-place ReLU, seeded random input; 3: median of all runs of all rounds. Part of every key, so
# measurements taken another way are not reused.
MEASURE_PROTOCOL = 3


def cache_file() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mobcost" / "measurements.json"


def cache_key(graph: Graph, threads: int) -> str:
    spec = graph.spec
    # The protocol number is part of the digest: measurements taken another way are not reused.
    digest = hashlib.sha256(repr((MEASURE_PROTOCOL, spec.channels, spec.size, spec.layers)).encode()).hexdigest()[:16]
    return f"{digest}|{graph.alpha!r}|{graph.resolution}|{threads}|{torch.__version__}"


def cache_has(graph: Graph, threads: int) -> bool:
    return cache_key(graph, threads) in read_cache()


def write_cache(cache: dict[str, Any]) -> None:
    path = cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(cache, indent=1))


def read_cache() -> dict[str, Any]:
    try:
        return json.loads(cache_file().read_text())
    except (OSError, ValueError):
        return {}
