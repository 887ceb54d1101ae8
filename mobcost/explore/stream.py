"""A sweep as tidy CSV, streamed a chunk at a time (a 10⁷-point grid stays under 1 GiB)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..spec import Spec
from .accuracy import SLIM
from .budgets import pareto_mask
from .grid import plan

CSV_ROWS = 1 << 15  # rows formatted at once when streaming CSV
CSV_COLUMNS = ("alpha", "resolution", "mult_adds", "params", "memory_access", "peak_activation",
               "peak_activation_bytes", "weight_bytes", "latency_ms", "top1", "top1_source", "fits", "pareto")


def stream_csv(spec: Spec, alphas: list[float], resolutions: list[int], write: Any, *, progress: Any = None,
               **options: Any) -> int:
    """Write the grid as tidy CSV a chunk at a time (two passes: the Pareto front needs every point).

    Memory holds one chunk plus two float arrays over the grid, so 10⁷ points fit easily. Rows are
    formatted with plain Python string joins: several times faster than pandas here, and no pandas import.
    """
    p = plan(spec, alphas, resolutions, **options)
    costs, top1 = [], []
    for part in p.chunks():
        costs.append(part[p.pareto_cost].astype(float))
        top1.append(part["top1"])
        if progress:
            progress(len(part["alpha"]) / 2)
    pareto = pareto_mask(np.concatenate(costs), np.concatenate(top1))
    del costs, top1
    labels = ["", SLIM, p.accuracy.fit.label if p.accuracy else ""]
    write(",".join(CSV_COLUMNS) + "\n")
    start = 0
    for part in p.chunks():
        n = len(part["alpha"])
        for lo in range(0, n, CSV_ROWS):  # bounded string memory: rows are formatted in slices
            piece = {k: v[lo:lo + CSV_ROWS] for k, v in part.items()}
            write(_csv_rows(piece, pareto[start + lo:start + min(n, lo + CSV_ROWS)], labels))
        start += n
        if progress:
            progress(n / 2)
    return start


def _csv_rows(part: dict[str, np.ndarray], pareto: np.ndarray, labels: list[str]) -> str:
    def fixed(values: np.ndarray, digits: int) -> list[str]:
        return ["" if math.isnan(v) else f"{v:.{digits}f}" for v in values.tolist()]

    def quoted(text: str) -> str:
        return f'"{text}"' if "," in text else text

    top1 = part["top1"]
    sources = [quoted(labels[k]) if not math.isnan(t) else "" for k, t in
               zip(part["top1_source"].tolist(), top1.tolist(), strict=True)]
    columns = [
        [repr(a) for a in part["alpha"].tolist()],
        *([str(v) for v in part[k].tolist()] for k in CSV_COLUMNS[1:8]),
        fixed(part["latency_ms"], 4), fixed(top1, 2), sources,
        [str(v) for v in part["fits"].tolist()], [str(v) for v in pareto.tolist()],
    ]
    return "".join(",".join(row) + "\n" for row in zip(*columns, strict=True))
