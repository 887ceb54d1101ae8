"""What a sweep optimises: the objectives of its Pareto front, and the one `--best` ranks by.

An objective is a column and a sense: ``accuracy`` (top-1) and ``capacity`` (Mult-Adds) are maximised, every
cost is minimised. Without accuracy (every imported network, every user's own) the default front is capacity
against a cost, and ``--best`` takes the most capacity within the budgets: the cheapest point, the old
fallback, is the least useful network that fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import OptionError

# name → (column, maximised?)
OBJECTIVES: dict[str, tuple[str, bool]] = {
    "accuracy": ("top1", True), "capacity": ("mult_adds", True), "mult_adds": ("mult_adds", False),
    "params": ("params", False), "peak_activation": ("peak_activation", False),
    "weight_bytes": ("weight_bytes", False), "memory_access": ("memory_access", False),
    "latency": ("latency_ms", False), "energy": ("energy_uj", False),
}
ALIASES = {"top1": "accuracy", "latency_ms": "latency", "energy_uj": "energy"}  # column names as the API took them
NEEDS_HARDWARE = {"latency", "energy"}
# Each objective is one float array over the grid while streaming CSV (80 MB at 10⁷ points); a front of
# three is exact in O(n log² n) array operations, more would need a slower algorithm.
MAX_OBJECTIVES = 3


def resolve(objectives: Sequence[str] | None, cost: str | None, *, accuracy: bool, hardware: bool,
            where: str = "--objectives") -> tuple[str, ...]:
    """The objectives named (checked), else accuracy against ``cost`` (default Mult-Adds), or, with no
    accuracy, capacity against ``cost`` (default latency on a profile, else params: capacity against
    Mult-Adds would put every point on the front)."""
    if objectives:
        names = tuple(_name(o, where) for o in objectives)
        if len(set(names)) != len(names) or len(names) > MAX_OBJECTIVES:
            raise OptionError(f"name between 1 and {MAX_OBJECTIVES} different objectives", where=where)
    else:
        lead = "accuracy" if accuracy else "capacity"
        default = "mult_adds" if accuracy else "latency" if hardware else "params"
        names = (lead, _name(cost, "--pareto-cost") if cost else default)
    for name in names:
        if name == "accuracy" and not accuracy:
            raise OptionError("accuracy is not known for this network (published figures exist for MobileNetV1's "
                              "architecture only); use capacity (its Mult-Adds, maximised)", where=where)
        if name in NEEDS_HARDWARE and not hardware:
            option = where if objectives else "--pareto-cost"
            raise OptionError(f"{option} {name} needs --hardware (it is estimated from a profile)", where=option)
    return names


def _name(text: str, where: str) -> str:
    name = ALIASES.get(text.strip(), text.strip())
    if name not in OBJECTIVES:
        raise OptionError(f"unknown objective {text!r}; choose from {', '.join(OBJECTIVES)}", where=where)
    return name


def describe(objectives: Sequence[str]) -> str:
    """``max accuracy, min mult_adds``: the front's objectives, as a caption says them."""
    return ", ".join(("max " if OBJECTIVES[o][1] else "min ") + o for o in objectives)


def matrix(columns: dict[str, np.ndarray], objectives: Sequence[str]) -> np.ndarray:
    """One row per point, one column per objective, every one to be minimised (maximised ones negated)."""
    out = np.empty((len(columns["alpha"]), len(objectives)))
    for j, name in enumerate(objectives):
        column, maximise = OBJECTIVES[name]
        values = np.asarray(columns[column]).astype(float)
        out[:, j] = -values if maximise else values
    return out


def front_mask(m: np.ndarray) -> np.ndarray:
    """Points of ``m`` (rows, minimised) that no other point matches or beats on every objective: of equal
    rows only the first is kept; a row with an unknown (NaN) value never is.

    Sorted lexicographically (stable, so equal rows keep their order), a point can only be matched or beaten
    by one before it — so one pass over the sorted points decides each, against those kept so far.
    """
    n, k = m.shape
    mask = np.zeros(n, dtype=bool)
    known = np.flatnonzero(~np.isnan(m).any(axis=1))
    if known.size == 0:
        return mask
    order = known[np.lexsort(m[known].T[::-1])]  # np.lexsort's last key is the primary one
    rest = m[order, 1:]  # the first objective is already in order
    if k == 1:
        keep = np.arange(order.size) == 0
    elif k == 2:  # a staircase: kept when strictly below everything before it
        before = np.minimum.accumulate(np.concatenate([[np.inf], rest[:-1, 0]]))
        keep = rest[:, 0] < before
    else:
        keep = _front_three(rest)
    mask[order[keep]] = True
    return mask


def _front_three(rest: np.ndarray) -> np.ndarray:
    """Three objectives, the first already in order: a point is dropped when an earlier one is at most it on
    the other two — a two-dimensional dominance query, answered by divide and conquer (as a bottom-up merge
    sort: at each level every right half is queried against its left half), O(n log² n) as array operations.

    Values become dense integer ranks (equal values, equal ranks), so the segmented prefix minimum of each
    level is one ``np.maximum.accumulate`` over integers offset per block, exactly."""
    n = len(rest)
    r1 = np.unique(rest[:, 0], return_inverse=True)[1].astype(np.int64).ravel()
    r2 = np.unique(rest[:, 1], return_inverse=True)[1].astype(np.int64).ravel()
    beaten = np.zeros(n, dtype=bool)
    perm = np.arange(n, dtype=np.int64)  # the points' positions, in the current level's order
    half = 1
    while half < n:
        b, rt = perm // (2 * half), (perm // half) % 2 == 1
        # within a block by rank; a left point before a right one it ties (the previous order: runs, merged)
        order = np.argsort((b * n + r1[perm]) * 2 + rt, kind="stable")
        perm, b, rt = perm[order], b[order], rt[order]
        base = b * (n + 1)
        # left points carry n − rank (larger is better), right points nothing: their block's base
        running = np.maximum.accumulate(np.where(rt, base, base + n - r2[perm]))
        hit = perm[rt]
        beaten[hit] |= (running[rt] - base[rt]) >= n - r2[hit]
        half *= 2
    return ~beaten


def best_in(columns: dict[str, np.ndarray], candidates: np.ndarray,
            objective: str) -> tuple[tuple[Any, ...], int] | None:
    """The candidate ranked first by ``objective`` — for capacity, the most Mult-Adds, then the most params —
    the first in grid order among equals; with its key (smaller is better), to compare across chunks. None
    when there is no candidate with a known value.

    Values are compared as they are stored (exact integers, even past int64), not as floats."""
    column, maximise = OBJECTIVES[objective]
    keys = [(column, maximise)] + ([("params", True)] if objective == "capacity" else [])
    pool = candidates
    if columns[column].dtype.kind == "f":  # an unknown value is never the best
        pool = pool[~np.isnan(columns[column][pool])]
    if pool.size == 0:
        return None
    for col, top in keys:
        values = columns[col][pool]
        extreme = values.max() if top else values.min()
        pool = pool[values == extreme]
    i = int(pool[0])
    key = tuple(_exact(columns[col][i]) * (-1 if top else 1) for col, top in keys)
    return key, i


def _exact(value: Any) -> Any:
    """A NumPy scalar as a Python int or float (int64 negated at its minimum would wrap around)."""
    return value.item() if hasattr(value, "item") else value


def best_by(objective: str, accuracy: bool) -> str:
    """What `--best` ranked by, said in a line: a reader must see when it is not accuracy, and why."""
    if objective == "accuracy":
        return "the highest top-1 that meets every budget"
    if objective == "capacity":
        why = "" if accuracy else "; no accuracy is known for this network"
        return f"the most Mult-Adds (then params) that meets every budget{why}"
    maximise = OBJECTIVES[objective][1]
    return f"the {'highest' if maximise else 'lowest'} {objective} that meets every budget"
