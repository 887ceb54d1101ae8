"""Design-space sweeps over (α, resolution), evaluated as arrays.

A grid of points is a few matrix products over :mod:`.factors` — no Python loop per point — evaluated in
chunks of α values, so memory stays bounded for any grid size.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..analysis.conventions import get_convention
from ..errors import OptionError
from ..spec import Spec
from ..units import DTYPE_BYTES
from .accuracy import Accuracy, accuracy_for
from .budgets import NO_BUDGETS, Budgets, fits
from .energy import active_pj, check_finite, energy_model, layer_energy_pj
from .factors import Factors, factors, float_terms
from .hardware import Hardware, layer_seconds
from .objectives import best_in, front_mask, matrix, resolve

CHUNK_POINTS = 1 << 18  # points evaluated at once; bounds memory for any grid size
COSTS = ("mult_adds", "params", "memory_access", "peak_activation", "weight_bytes", "latency_ms", "energy_uj")
# A sweep held in memory (`sweep`, the json/markdown/LaTeX/rich views) keeps every column of every point:
# ~100 bytes a point here, ~1 KB more as JSON records. Larger grids stream (`stream.stream_csv`, `stream_best`).
MAX_MEMORY_POINTS = 10**6

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
        "params": (weights + f.biases[rows, None] + (0 if f.tables is None else f.tables[None, :])).ravel(),
        "memory_access": ((ch * f.uses) @ area + weights).ravel(),
    }
    if f.ops_chan is not None and f.ops_area is not None:  # a counting convention's figure (--convention)
        ops = f.ops_chan[rows] @ f.ops_area
        out["ops"] = (ops + float_terms(f, rows) if f.float_coef else ops).ravel()
    peak = np.zeros((n_a, n_r), dtype=ch.dtype)
    for alive in f.live:
        np.maximum(peak, ch[:, alive] @ area[alive, :], out=peak)
    b = DTYPE_BYTES[dtype]
    out["peak_activation"] = peak.ravel()
    out["peak_activation_bytes"] = out["peak_activation"] * b
    out["weight_bytes"] = out["params"] * b
    seconds = _latency(f, rows, hw).ravel() if hw else np.full(n_a * n_r, np.nan)
    out["latency_ms"] = seconds * 1e3
    if hw and hw.active_power_mw is not None:  # active power × predicted time, as ``energy.network_energy``
        out["energy_uj"] = active_pj(hw.active_power_mw, seconds) / 1e6
    elif hw:  # a column only with a profile (as `ops` only with a convention): outputs without one are unchanged
        out["energy_uj"] = _energy(f, rows, hw).ravel()
    if acc:
        out["top1"], out["top1_source"] = acc.arrays(out["alpha"], out["resolution"], out["mult_adds"])
    else:
        out["top1"], out["top1_source"] = np.full(n_a * n_r, np.nan), np.zeros(n_a * n_r, dtype=np.int8)
    _fit_columns(out, f, rows, budgets, dtype)
    out["fits"] = fits(out, budgets)
    return out


def _fit_columns(out: dict[str, np.ndarray], f: Factors, rows: slice, budgets: Budgets, dtype: str) -> None:
    """``ram_bytes`` and ``flash_bytes`` (:mod:`.fit`), only under a budget on them: TFLM's planner runs once
    per point, which a sweep without --max-ram should not pay for."""
    from . import fit

    if budgets.ram_bytes is not None:
        out["ram_bytes"] = fit.ram_bytes(f, rows, dtype, budgets.ram_planner, out["peak_activation_bytes"])
    if budgets.flash_bytes is not None:
        out["flash_bytes"] = fit.flash_bytes(f, rows, dtype)


def _latency(f: Factors, rows: slice, hw: Hardware) -> np.ndarray:
    """The roofline of every layer (``hardware.layer_seconds``), summed over layers, in s (in float64, so
    no product can wrap around; a total past float64 is refused rather than written as infinity)."""
    x = f.floats
    ch, area = x["channels"][rows], x["area"]
    total = np.zeros((ch.shape[0], area.shape[1]))
    with np.errstate(over="ignore", invalid="ignore"):
        for i, kind in enumerate(f.layer_types):
            work = f.layer_count("work", rows, i, floats=True)
            weights = np.outer(x["w_chan"][rows, i], x["w_area"][i])
            outputs = np.outer(ch[:, i + 1], area[i + 1])
            elements = sum(np.outer(ch[:, t], area[t]) for t in f.reads[i]) + outputs + weights
            unblocked = hw.unblocked(ch[:, f.reads[i][0], None], ch[:, i + 1, None]) if f.reads[i] else False
            scores = f.score_heads[i] * x["work_area"][f.work_terms[i][-1]] if f.score_heads[i] else 0
            total += layer_seconds(work, elements, kind, hw, stride=f.strides[i], kernel=f.kernels[i],
                                   outputs=outputs, unfused_ops=f.unfused[i], act=f.acts[i], unblocked=unblocked,
                                   scores=scores, weights=weights, maximum=np.maximum)
    if not np.isfinite(total).all():
        raise OptionError(f"the latency estimate on {hw.name!r} passes what a float holds: its rates are too "
                          "small or its overheads too large for this grid", file=hw.file or None,
                          where="--hardware")
    return total


def _energy(f: Factors, rows: slice, hw: Hardware) -> np.ndarray:
    """Every layer's energy (``energy.layer_energy_pj``), summed over layers, in µJ. Counts are multiplied in
    integers (exact, as the factors are) and only then made floats, and the float operations are those of
    ``energy.network_energy`` in its order: each point's figure equals the one-network figure exactly."""
    model = energy_model(hw)
    ch, area = f.channels[rows], f.area
    b = hw.dtype_bytes
    total = np.zeros((ch.shape[0], area.shape[1]))
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(len(f.layer_types)):
            mult_adds = f.layer_count("ma", rows, i)
            work = f.layer_count("work", rows, i)
            weights = np.outer(f.w_chan[rows, i], f.w_area[i])
            elements = sum(np.outer(ch[:, t], area[t]) for t in f.reads[i]) + np.outer(ch[:, i + 1], area[i + 1])
            compute, memory = layer_energy_pj(_floats(mult_adds), _floats(work - mult_adds),
                                              _floats((elements + weights) * b), model, select=np.where)
            total += compute + memory
    check_finite(bool(np.isfinite(total).all()), hw, "grid")
    return total / 1e6


def _floats(counts: np.ndarray) -> np.ndarray:
    """Exact integer counts (int64 or Python integers) as float64, each rounded once, as ``float(int)`` does."""
    return np.asarray(counts).astype(float)


@dataclass
class SweepResult:
    """The whole grid in memory (for reports, plots, the API); large CSV sweeps stream chunks instead."""

    factors: Factors
    columns: dict[str, np.ndarray]
    accuracy: Accuracy | None
    hardware: Hardware | None
    budgets: Budgets
    objectives: tuple[str, ...]  # of the Pareto front; the first is what `best` ranks by

    def __len__(self) -> int:
        return len(self.columns["alpha"])

    def best(self) -> int | None:
        """Index of the feasible point ranked first by the first objective: the highest top-1 by default,
        the most Mult-Adds (then params) when no accuracy is known; None when no point fits."""
        found = best_in(self.columns, np.flatnonzero(self.columns["fits"]), self.objectives[0])
        return None if found is None else found[1]

    def highlights(self, rows: int) -> list[int]:
        """At most ``rows`` points of the Pareto front (evenly spaced along it) and the best point."""
        best = self.best()
        front = list(np.flatnonzero(self.columns["pareto"]))
        if len(front) > rows:
            front = [front[int(k)] for k in np.linspace(0, len(front) - 1, rows)]
        picked = sorted(set(front) | ({best} if best is not None else set()))
        return picked or list(range(min(rows, len(self))))


@dataclass
class Plan:
    """Everything a sweep evaluates, checked once: the factors, profile, budgets, element type, accuracy."""

    factors: Factors
    hardware: Hardware | None
    budgets: Budgets
    dtype: str
    accuracy: Accuracy | None
    objectives: tuple[str, ...]

    def chunks(self) -> Iterator[dict[str, np.ndarray]]:
        return chunks(self.factors, self.hardware, self.budgets, self.dtype, self.accuracy)


def plan(spec: Spec, alphas: list[float], resolutions: list[int], *, hardware: Hardware | None = None,
         budgets: Budgets = NO_BUDGETS, dtype: str | None = None, pareto_cost: str | None = None,
         objectives: Sequence[str] | None = None, convention: str | None = None) -> Plan:
    """``objectives``: of the Pareto front (see ``objectives.resolve``); ``pareto_cost`` alone is the cost
    against accuracy, or against capacity when no accuracy is known."""
    if objectives and pareto_cost:
        raise OptionError("give --objectives or --pareto-cost, not both", where="--pareto-cost")
    for option, bound, what in (("--max-latency-ms", budgets.latency_ms, "latency"),
                                ("--max-energy-uj", budgets.energy_uj, "energy")):
        if bound is not None and hardware is None:
            raise OptionError(f"{option} needs --hardware ({what} is estimated from a profile)", where=option)
    f = factors(spec, alphas, resolutions, None if convention is None else get_convention(convention, "--convention"))
    acc = accuracy_for(spec, f.anchor)
    chosen = resolve(objectives, pareto_cost, accuracy=acc is not None, hardware=hardware is not None)
    return Plan(f, hardware, budgets.with_hardware(hardware), dtype or default_dtype(spec, hardware, budgets),
                acc, chosen)


def default_dtype(spec: Spec, hardware: Hardware | None, budgets: Budgets) -> str:
    """The element type without --dtype: the profile's; else, under a RAM or flash budget (a runtime's planner),
    the spec's own or int8 as `mobcost memory` plans it; else fp32, the paper's."""
    if hardware is not None:
        return hardware.dtype
    if budgets.ram_bytes is not None or budgets.flash_bytes is not None:
        return spec.dtype or "int8"
    return "fp32"


def sweep(spec: Spec, alphas: list[float], resolutions: list[int], *, progress: Any = None,
          **options: Any) -> SweepResult:
    """Evaluate the grid α × resolution: costs, peak activation, latency (and with a profile ``energy_uj``),
    accuracy, `fits`, `pareto`.

    ``options``: ``hardware``, ``budgets``, ``dtype``, ``pareto_cost``, ``objectives``, ``convention`` (a
    counting convention's figure as the column ``ops``; see :func:`plan`). Every column of every point is held in
    memory, so at most ``MAX_MEMORY_POINTS``; larger grids stream (:mod:`.stream`).
    """
    if len(alphas) * len(resolutions) > MAX_MEMORY_POINTS:
        raise OptionError(f"{len(alphas) * len(resolutions):,} points; a sweep held in memory takes at most "
                          f"{MAX_MEMORY_POINTS:,}: stream larger grids (`stream_csv`, `stream_best`; on the command "
                          "line --format csv -o FILE, or --best)", where="--alpha/--resolution")
    p = plan(spec, alphas, resolutions, **options)
    parts = []
    for part in p.chunks():
        parts.append(part)
        if progress:
            progress(len(part["alpha"]))
    columns = {k: np.concatenate([c[k] for c in parts]) for k in parts[0]}
    columns["pareto"] = front_mask(matrix(columns, p.objectives))
    return SweepResult(p.factors, columns, p.accuracy, p.hardware, p.budgets, p.objectives)


def point_records(result: SweepResult, indices: Any = None) -> list[dict[str, Any]]:
    """JSON-ready records with stable keys; exact integers; NaN as null."""
    c = result.columns
    idx = range(len(result)) if indices is None else indices
    labels = result.accuracy.labels if result.accuracy else ("",)
    out = []
    for i in idx:
        top1 = c["top1"][i]
        latency = c["latency_ms"][i]
        source = int(c["top1_source"][i])
        out.append({
            "alpha": float(c["alpha"][i]), "resolution": int(c["resolution"][i]),
            "mult_adds": int(c["mult_adds"][i]), "params": int(c["params"][i]),
            "memory_access": int(c["memory_access"][i]), **({"ops": int(c["ops"][i])} if "ops" in c else {}),
            "peak_activation": int(c["peak_activation"][i]),
            "peak_activation_bytes": int(c["peak_activation_bytes"][i]), "weight_bytes": int(c["weight_bytes"][i]),
            "latency_ms": None if math.isnan(latency) else round(float(latency), 4),
            **({"energy_uj": round(float(c["energy_uj"][i]), 6)} if "energy_uj" in c else {}),
            **{k: int(c[k][i]) for k in ("ram_bytes", "flash_bytes") if k in c},  # under --max-ram / --max-flash
            "top1": None if math.isnan(top1) else round(float(top1), 2),
            "top1_source": None if math.isnan(top1) else labels[source],
            "fits": bool(c["fits"][i]), "pareto": bool(c["pareto"][i]),
        })
    return out
