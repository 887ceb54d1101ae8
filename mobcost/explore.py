"""Design-space sweeps over (α, resolution), evaluated as arrays.

Every closed-form cost of a network splits into a part that depends only on α (channel counts) and a
part that depends only on the resolution (feature-map areas): a layer's Mult-Adds are
``chan(α) × area(R)``, a tensor's size ``channels(α) × H·W(R)``. So one graph build per α value and
one per resolution give everything, and a grid of points is a few matrix products — no Python loop per
point. Grids are evaluated in chunks of α values, so memory stays bounded for any grid size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

import numpy as np

from .accuracy import MOBILENET_V1_SLIM, SLIM, LogLinearFit, mobilenet_v1_fit
from .analysis import DTYPE_BYTES
from .errors import OptionError, ShapeError
from .formulas import REGISTRY, Pool
from .graph import Graph, build, input_names
from .hardware import Hardware, layer_seconds, profile_kernel, unfused_ops
from .layers import Node
from .spec import Spec

CHUNK_POINTS = 1 << 18  # points evaluated at once; bounds memory for any grid size
COSTS = ("mult_adds", "params", "memory_access", "peak_activation", "weight_bytes", "latency_ms")
SOURCES = ("", SLIM)  # top1_source codes 0, 1; 2 is the fit's label


def parse_range(text: str, *, integer: bool, where: str) -> list[float]:
    """'0.25:1.0:0.25' (inclusive) or '0.25,0.5,1' → values, in exact decimal steps."""
    try:
        if ":" in text:
            parts = [Decimal(p) for p in text.split(":")]
            if len(parts) != 3:
                raise OptionError(f"expected START:STOP:STEP, got {text!r}", where=where)
            start, stop, step = parts
            if step <= 0 or stop < start:
                raise OptionError(f"need STEP > 0 and STOP ≥ START, got {text!r}", where=where)
            count = int((stop - start) / step) + 1
            if count > 10**7:
                raise OptionError(f"{count:,} values; at most 10,000,000", where=where)
            values = [start + i * step for i in range(count)]
        else:
            values = [Decimal(p) for p in text.split(",") if p.strip()]
    except InvalidOperation:
        raise OptionError(f"expected numbers like 0.25:1.0:0.25 or 0.5,0.75, got {text!r}", where=where) from None
    if not values or not all(v.is_finite() for v in values):
        raise OptionError(f"expected numbers, got {text!r}", where=where)
    if integer:
        if any(v != v.to_integral_value() or v < 1 for v in values):
            raise OptionError(f"resolutions must be positive integers, got {text!r}", where=where)
        return [int(v) for v in values]
    return [float(v) for v in values]


def _space(node: Node) -> int:
    """The resolution-dependent factor of a layer's Mult-Adds: output area (FC: input area)."""
    x = node.input if node.type == "fc" else node.output
    return x.h * x.w


def _work_space(node: Node) -> int:
    """The resolution-dependent factor of a layer's work: as for Mult-Adds, but output area × window for pooling."""
    kind = REGISTRY[node.type]
    return node.output.h * node.output.w * kind.window(node) if isinstance(kind, Pool) else _space(node)


def _weight_space(node: Node) -> int:
    """The resolution-dependent factor of a layer's weights: 1, but an FC layer's input area (C·H·W inputs)."""
    return node.input.h * node.input.w if node.type == "fc" else 1


@dataclass
class Factors:
    """A network's costs split into α-only and resolution-only arrays."""

    spec: Spec
    alphas: np.ndarray  # (A,)
    resolutions: np.ndarray  # (R,)
    channels: np.ndarray  # (A, T): channels of tensor t (0: network input, 1+i: layer i's output)
    area: np.ndarray  # (T, R): H·W of tensor t
    ma_chan: np.ndarray  # (A, L): Mult-Adds per unit of area
    ma_area: np.ndarray  # (L, R)
    work_chan: np.ndarray  # (A, L): work (formulas' ``work``) per unit of its area
    work_area: np.ndarray  # (L, R)
    w_chan: np.ndarray  # (A, L): weight elements per unit of weight area
    w_area: np.ndarray  # (L, R): 1, or an FC layer's input area
    biases: np.ndarray  # (A,): bias elements (params only; not in memory access)
    reads: list[list[int]]  # tensors each layer reads
    live: list[list[int]]  # tensors alive while each layer runs (liveness in execution order)
    layer_types: list[str]
    unfused: list[int]  # BatchNorm and activation ops after each layer
    strides: list[int | None]
    kernels: list[int | None]
    dropped: list[str] = field(default_factory=list)  # α or resolution values with no valid network

    @cached_property
    def uses(self) -> np.ndarray:
        """How often each tensor is read or written: its layers' reads, plus one write per layer output."""
        uses = np.zeros(self.channels.shape[1], dtype=np.int64)
        for tensors in self.reads:
            np.add.at(uses, tensors, 1)
        uses[1:] += 1
        return uses


def factors(spec: Spec, alphas: list[float], resolutions: list[int]) -> Factors:
    """One graph build per α and per resolution; only their per-layer numbers are kept (not the graphs)."""
    dropped: list[str] = []
    alpha_rows = _rows(dropped, alphas, "α", lambda a: build(spec, a), _alpha_row)
    res_rows = _rows(dropped, resolutions, "resolution", lambda r: build(spec, resolution=r), _resolution_row)
    if not alpha_rows or not res_rows:
        raise OptionError("no (α, resolution) in the grid gives a valid network: " + "; ".join(dropped[:3]))
    first = build(spec, alpha_rows[0][0])
    reads, live = _liveness(first)

    def stack(rows: list[tuple[Any, dict[str, list[int]]]], key: str) -> np.ndarray:
        return np.array([r[key] for _, r in rows], dtype=np.int64)

    return Factors(spec, np.array([a for a, _ in alpha_rows]), np.array([r for r, _ in res_rows], dtype=np.int64),
                   stack(alpha_rows, "channels"), stack(res_rows, "area").T, stack(alpha_rows, "ma_chan"),
                   stack(res_rows, "ma_area").T, stack(alpha_rows, "work_chan"), stack(res_rows, "work_area").T,
                   stack(alpha_rows, "w_chan"), stack(res_rows, "w_area").T,
                   stack(alpha_rows, "biases")[:, 0], reads, live, [n.type for n in first.nodes],
                   [unfused_ops(n.layer) for n in first.nodes], [n.stride for n in first.nodes],
                   [profile_kernel(n) for n in first.nodes], dropped)


def _alpha_row(g: Graph) -> dict[str, list[int]]:
    kinds = [REGISTRY[n.type] for n in g.nodes]
    pairs = list(zip(kinds, g.nodes, strict=True))
    return {"channels": [g.spec.channels] + [n.output.c for n in g.nodes],
            "ma_chan": [k.mult_adds(n) // _space(n) for k, n in pairs],
            "work_chan": [k.work(n) // _work_space(n) for k, n in pairs],
            "w_chan": [k.weights(n) // _weight_space(n) for k, n in pairs],
            "biases": [sum(k.biases(n) for k, n in pairs)]}


def _resolution_row(g: Graph) -> dict[str, list[int]]:
    return {"area": [g.resolution**2] + [n.output.h * n.output.w for n in g.nodes],
            "ma_area": [_space(n) for n in g.nodes], "work_area": [_work_space(n) for n in g.nodes],
            "w_area": [_weight_space(n) for n in g.nodes]}


def _rows(dropped: list[str], values: list[Any], label: str, make: Any, extract: Any) -> list[tuple[Any, Any]]:
    out = []
    for value in values:
        try:
            out.append((value, extract(make(value))))
        except ShapeError as exc:
            dropped.append(f"{label} {value:g}: {exc.message}")
    return out


def _liveness(graph: Graph) -> tuple[list[list[int]], list[list[int]]]:
    """Which tensors each layer reads, and which are alive while it runs (inputs still needed + output)."""
    index = {n.name: i + 1 for i, n in enumerate(graph.nodes)}
    reads = [[index.get(name, 0) for name in input_names(graph.spec, i)] for i in range(len(graph.nodes))]
    last_use = {0: 0}
    for i, tensors in enumerate(reads):
        for t in tensors:
            last_use[t] = max(last_use.get(t, 0), i)
    live = []
    for i in range(len(graph.nodes)):
        alive = [t for t in range(i + 1) if last_use.get(t, -1) >= i]  # produced before step i, read at ≥ i
        live.append([*alive, i + 1])
    return reads, live


@dataclass(frozen=True)
class Budgets:
    """Upper bounds a design must meet to `fit` (None: no bound)."""

    mult_adds: float | None = None
    params: float | None = None
    weight_bytes: float | None = None
    peak_activation_bytes: float | None = None
    latency_ms: float | None = None

    def with_hardware(self, hw: Hardware | None) -> Budgets:
        if hw is None:
            return self
        return Budgets(self.mult_adds, self.params, _tighter(self.weight_bytes, hw.storage_bytes),
                       _tighter(self.peak_activation_bytes, hw.ram_bytes), self.latency_ms)


def _tighter(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


@dataclass(frozen=True)
class Accuracy:
    """Top-1 for points of the MobileNetV1 grid: published where released, else the log-linear estimate."""

    fit: LogLinearFit
    published: dict[tuple[float, int], float]

    def arrays(self, alpha: np.ndarray, res: np.ndarray, mult_adds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top1 = self.fit.intercept + self.fit.slope * np.log10(mult_adds / 1e6)
        source = np.full(alpha.shape, 2, dtype=np.int8)
        for (a, r), value in self.published.items():
            hit = np.isclose(alpha, a) & (res == r)
            top1[hit], source[hit] = value, 1
        return top1, source


def accuracy_for(spec: Spec) -> Accuracy | None:
    """Accuracy data exists for the MobileNetV1 grid only (the paper's Figure 4)."""
    if spec.name != "MobileNetV1":
        return None
    grid = {k: _grid_mult_adds(spec, *k) for k in MOBILENET_V1_SLIM}
    return Accuracy(mobilenet_v1_fit(grid), MOBILENET_V1_SLIM)


def _grid_mult_adds(spec: Spec, alpha: float, res: int) -> int:
    g = build(spec, alpha, resolution=res)
    return sum(REGISTRY[n.type].mult_adds(n) for n in g.nodes)


def chunks(f: Factors, hw: Hardware | None, budgets: Budgets, dtype: str,
           acc: Accuracy | None) -> Iterator[dict[str, np.ndarray]]:
    """The grid, α-major, a chunk of α values at a time: one array per output column."""
    per_alpha = len(f.resolutions)
    step = max(1, CHUNK_POINTS // per_alpha)
    for lo in range(0, len(f.alphas), step):
        yield _chunk(f, slice(lo, lo + step), hw, budgets, dtype, acc)


def _chunk(f: Factors, rows: slice, hw: Hardware | None, budgets: Budgets, dtype: str,
           acc: Accuracy | None) -> dict[str, np.ndarray]:
    ch, area = f.channels[rows], f.area
    n_a, n_r = ch.shape[0], area.shape[1]
    weights = f.w_chan[rows] @ f.w_area
    out: dict[str, np.ndarray] = {
        "alpha": np.repeat(f.alphas[rows], n_r),
        "resolution": np.tile(f.resolutions, n_a),
        "mult_adds": (f.ma_chan[rows] @ f.ma_area).ravel(),
        "params": (weights + f.biases[rows, None]).ravel(),
        "memory_access": ((ch * f.uses) @ area + weights).ravel(),
    }
    peak = np.zeros((n_a, n_r), dtype=np.int64)
    for alive in f.live:
        np.maximum(peak, ch[:, alive] @ area[alive, :], out=peak)
    b = DTYPE_BYTES[dtype]
    out["peak_activation"] = peak.ravel()
    out["peak_activation_bytes"] = out["peak_activation"] * b
    out["weight_bytes"] = out["params"] * b
    out["latency_ms"] = _latency(f, rows, hw).ravel() if hw else np.full(n_a * n_r, np.nan)
    if acc:
        out["top1"], out["top1_source"] = acc.arrays(out["alpha"], out["resolution"], out["mult_adds"])
    else:
        out["top1"], out["top1_source"] = np.full(n_a * n_r, np.nan), np.zeros(n_a * n_r, dtype=np.int8)
    out["fits"] = _fits(out, budgets)
    return out


def _latency(f: Factors, rows: slice, hw: Hardware) -> np.ndarray:
    """The roofline of every layer (``hardware.layer_seconds``), summed over layers, in ms."""
    ch, area = f.channels[rows], f.area
    total = np.zeros((ch.shape[0], area.shape[1]))
    for i, kind in enumerate(f.layer_types):
        work = np.outer(f.work_chan[rows, i], f.work_area[i])
        weights = np.outer(f.w_chan[rows, i], f.w_area[i])
        outputs = np.outer(ch[:, i + 1], area[i + 1])
        elements = sum(np.outer(ch[:, t], area[t]) for t in f.reads[i]) + outputs + weights
        total += layer_seconds(work, elements, kind, hw, stride=f.strides[i], kernel=f.kernels[i], outputs=outputs,
                               unfused_ops=f.unfused[i], maximum=np.maximum)
    return total * 1e3


def _fits(out: dict[str, np.ndarray], budgets: Budgets) -> np.ndarray:
    fits = np.ones(out["alpha"].shape, dtype=bool)
    for column, bound in (("mult_adds", budgets.mult_adds), ("params", budgets.params),
                          ("weight_bytes", budgets.weight_bytes),
                          ("peak_activation_bytes", budgets.peak_activation_bytes), ("latency_ms", budgets.latency_ms)):
        if bound is not None:
            fits &= out[column] <= bound
    return fits


def pareto_mask(cost: np.ndarray, top1: np.ndarray) -> np.ndarray:
    """Points no other point beats on both cost (lower) and accuracy (higher); unknown accuracy: never."""
    known = ~np.isnan(top1)
    mask = np.zeros(cost.shape, dtype=bool)
    idx = np.flatnonzero(known)
    if idx.size == 0:
        return mask
    order = idx[np.lexsort((-top1[idx], cost[idx]))]  # cheapest first; best accuracy first among equals
    best_before = np.maximum.accumulate(np.concatenate([[-np.inf], top1[order][:-1]]))
    mask[order] = top1[order] > best_before
    return mask


@dataclass
class SweepResult:
    """The whole grid in memory (for reports, plots, the API); large CSV sweeps stream chunks instead."""

    factors: Factors
    columns: dict[str, np.ndarray]
    accuracy: Accuracy | None
    hardware: Hardware | None
    budgets: Budgets
    pareto_cost: str

    def __len__(self) -> int:
        return len(self.columns["alpha"])

    def best(self) -> int | None:
        """Index of the feasible point with the highest top-1, or the lowest cost when none is known."""
        fits = np.flatnonzero(self.columns["fits"])
        if fits.size == 0:
            return None
        top1 = self.columns["top1"][fits]
        if not np.all(np.isnan(top1)):
            return int(fits[np.nanargmax(top1)])
        return int(fits[np.argmin(self.columns[self.pareto_cost][fits])])


@dataclass
class Plan:
    """Everything a sweep evaluates, checked once: the factors, profile, budgets, element type, accuracy."""

    factors: Factors
    hardware: Hardware | None
    budgets: Budgets
    dtype: str
    accuracy: Accuracy | None
    pareto_cost: str

    def chunks(self) -> Iterator[dict[str, np.ndarray]]:
        return chunks(self.factors, self.hardware, self.budgets, self.dtype, self.accuracy)


def plan(spec: Spec, alphas: list[float], resolutions: list[int], *, hardware: Hardware | None = None,
         budgets: Budgets = Budgets(), dtype: str | None = None, pareto_cost: str = "mult_adds") -> Plan:
    if pareto_cost == "latency_ms" and hardware is None:
        raise OptionError("--pareto-cost latency needs --hardware", where="--pareto-cost")
    if budgets.latency_ms is not None and hardware is None:
        raise OptionError("--max-latency-ms needs --hardware (latency is estimated from a profile)",
                          where="--max-latency-ms")
    return Plan(factors(spec, alphas, resolutions), hardware, budgets.with_hardware(hardware),
                dtype or (hardware.dtype if hardware else "fp32"), accuracy_for(spec), pareto_cost)


def sweep(spec: Spec, alphas: list[float], resolutions: list[int], *, progress: Any = None,
          **options: Any) -> SweepResult:
    """Evaluate the grid α × resolution: costs, peak activation, latency, accuracy, `fits`, `pareto`.

    ``options``: ``hardware``, ``budgets``, ``dtype``, ``pareto_cost`` (see :func:`plan`).
    """
    p = plan(spec, alphas, resolutions, **options)
    parts = []
    for part in p.chunks():
        parts.append(part)
        if progress:
            progress(len(part["alpha"]))
    columns = {k: np.concatenate([c[k] for c in parts]) for k in parts[0]}
    columns["pareto"] = pareto_mask(columns[p.pareto_cost].astype(float), columns["top1"])
    return SweepResult(p.factors, columns, p.accuracy, p.hardware, p.budgets, p.pareto_cost)


def point_records(result: SweepResult, indices: Any = None) -> list[dict[str, Any]]:
    """JSON-ready records with stable keys; exact integers; NaN as null."""
    c = result.columns
    idx = range(len(result)) if indices is None else indices
    fit_label = result.accuracy.fit.label if result.accuracy else ""
    out = []
    for i in idx:
        top1 = c["top1"][i]
        latency = c["latency_ms"][i]
        source = int(c["top1_source"][i])
        out.append({
            "alpha": float(c["alpha"][i]), "resolution": int(c["resolution"][i]),
            "mult_adds": int(c["mult_adds"][i]), "params": int(c["params"][i]),
            "memory_access": int(c["memory_access"][i]), "peak_activation": int(c["peak_activation"][i]),
            "peak_activation_bytes": int(c["peak_activation_bytes"][i]), "weight_bytes": int(c["weight_bytes"][i]),
            "latency_ms": None if math.isnan(latency) else round(float(latency), 4),
            "top1": None if math.isnan(top1) else round(float(top1), 2),
            "top1_source": None if math.isnan(top1) else (SOURCES[source] if source < 2 else fit_label),
            "fits": bool(c["fits"][i]), "pareto": bool(c["pareto"][i]),
        })
    return out


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
