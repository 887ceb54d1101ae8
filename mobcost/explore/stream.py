"""Sweeps too large to hold: tidy CSV streamed a chunk at a time (a 10⁷-point grid stays under 1 GiB), and the
best point found a chunk at a time, keeping only the running best and the running Pareto front."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..spec import Spec
from .budgets import Tally
from .grid import Plan, SweepResult, plan
from .objectives import best_in, front_mask, matrix

CSV_ROWS = 1 << 15  # rows formatted at once when streaming CSV
CSV_COLUMNS = ("alpha", "resolution", "mult_adds", "params", "memory_access", "peak_activation",
               "peak_activation_bytes", "weight_bytes", "latency_ms", "top1", "top1_source", "fits", "pareto")


def stream_csv(spec: Spec, alphas: list[float], resolutions: list[int], write: Any, *, progress: Any = None,
               tally: Tally | None = None, **options: Any) -> int:
    """Write the grid as tidy CSV a chunk at a time (two passes: the Pareto front needs every point).

    Memory holds one chunk plus one float array over the grid per objective (at most four), so 10⁷ points fit.
    Rows are formatted with plain Python string joins: several times faster than pandas here, and no pandas
    import. ``tally``, when given, counts the points, those that fit, and what each budget excludes.
    """
    p = plan(spec, alphas, resolutions, **options)
    rows = []
    for part in p.chunks():
        rows.append(matrix(part, p.objectives))
        if tally is not None:
            tally.add(part, p.budgets)
        if progress:
            progress(len(part["alpha"]) / 2)
    pareto = front_mask(np.concatenate(rows))
    del rows
    labels = list(p.accuracy.labels) if p.accuracy else [""]
    columns = csv_columns(p)
    write(",".join(columns) + "\n")
    start = 0
    for part in p.chunks():
        n = len(part["alpha"])
        for lo in range(0, n, CSV_ROWS):  # bounded string memory: rows are formatted in slices
            piece = {k: v[lo:lo + CSV_ROWS] for k, v in part.items()}
            write(_csv_rows(piece, pareto[start + lo:start + min(n, lo + CSV_ROWS)], labels, columns))
        start += n
        if progress:
            progress(n / 2)
    return start


def csv_columns(p: Plan) -> tuple[str, ...]:
    """The CSV header: ``ops`` (a counting convention's figure) after ``memory_access`` when one is given,
    ``ram_bytes`` / ``flash_bytes`` after ``weight_bytes`` under their budgets, and ``energy_uj`` after
    ``latency_ms`` with a hardware profile."""
    ops = ("ops",) if p.factors.convention is not None else ()
    fit = tuple(k for k in ("ram_bytes", "flash_bytes") if getattr(p.budgets, k) is not None)
    energy = ("energy_uj",) if p.hardware is not None else ()
    latency = CSV_COLUMNS.index("latency_ms")
    return (*CSV_COLUMNS[:5], *ops, *CSV_COLUMNS[5:latency], *fit, "latency_ms", *energy, *CSV_COLUMNS[latency + 1:])


def _csv_rows(part: dict[str, np.ndarray], pareto: np.ndarray, labels: list[str],
              names: tuple[str, ...] = CSV_COLUMNS) -> str:
    def fixed(values: np.ndarray, digits: int) -> list[str]:
        return ["" if math.isnan(v) else f"{v:.{digits}f}" for v in values.tolist()]

    cells = [f'"{text}"' if "," in text else text for text in labels]  # each label quoted once, not per row
    top1 = part["top1"]
    sources = [cells[k] if not math.isnan(t) else "" for k, t in
               zip(part["top1_source"].tolist(), top1.tolist(), strict=True)]
    integers = names[1:names.index("latency_ms")]
    columns = [
        [repr(a) for a in part["alpha"].tolist()],
        *([str(v) for v in part[k].tolist()] for k in integers),
        fixed(part["latency_ms"], 4), *([fixed(part["energy_uj"], 6)] if "energy_uj" in names else []),
        fixed(top1, 2), sources,
        [str(v) for v in part["fits"].tolist()], [str(v) for v in pareto.tolist()],
    ]
    return "".join(",".join(row) + "\n" for row in zip(*columns, strict=True))


@dataclass
class StreamedBest:
    """The best point of a grid (a one-point ``SweepResult``, or None when no point fits), with the grid's
    counts: points, points that fit the budgets, points on the Pareto front, what each budget excludes."""

    plan: Plan
    best: SweepResult | None
    points: int
    fits: int
    pareto: int
    tally: Tally


def stream_best(spec: Spec, alphas: list[float], resolutions: list[int], *, progress: Any = None,
                **options: Any) -> StreamedBest:
    """`SweepResult.best` a chunk at a time: the feasible point ranked first by the first objective (the
    first of equals). Memory holds one chunk, the running best and the running Pareto front (the front of a
    grid is the front of its chunks' fronts)."""
    p = plan(spec, alphas, resolutions, **options)
    chosen: tuple[tuple[Any, ...], int, dict[str, Any]] | None = None
    front = (np.zeros((0, len(p.objectives))), np.zeros(0, dtype=np.int64))
    tally = Tally()
    for part in p.chunks():
        start = tally.points
        front = _merge_front(front, matrix(part, p.objectives), start)
        tally.add(part, p.budgets)
        found = best_in(part, np.flatnonzero(part["fits"]), p.objectives[0])
        if found is not None and (chosen is None or found[0] < chosen[0]):  # strictly: the first of equals
            chosen = (found[0], start + found[1], _row(part, found[1]))
        if progress:
            progress(len(part["alpha"]))
    best = None
    if chosen is not None:
        columns = {k: np.asarray([v]) for k, v in chosen[2].items()}
        columns["pareto"] = np.asarray([bool(np.isin(chosen[1], front[1]))])
        best = SweepResult(p.factors, columns, p.accuracy, p.hardware, p.budgets, p.objectives)
    return StreamedBest(p, best, tally.points, tally.fits, len(front[1]), tally)


def _row(part: dict[str, np.ndarray], i: int) -> dict[str, Any]:
    return {k: v[i] for k, v in part.items()}


def _merge_front(front: tuple[np.ndarray, np.ndarray], rows: np.ndarray,
                 start: int) -> tuple[np.ndarray, np.ndarray]:
    """The Pareto front of the points so far and a chunk's: the running front's points come first (they
    came first in the grid), so ties break as ``front_mask`` over the whole grid would break them."""
    mask = front_mask(rows)
    if not mask.any():
        return front
    merged = (np.concatenate([front[0], rows[mask]]), np.concatenate([front[1], start + np.flatnonzero(mask)]))
    keep = front_mask(merged[0])
    return merged[0][keep], merged[1][keep]
