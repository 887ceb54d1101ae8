"""A device's profile from a handful of measured networks (``mobcost calibrate --from-measurements``).

Model: a network's latency is the roofline of :func:`.hardware.layer_seconds` summed over its layers, with one
rate (Mult-Adds per second) and one fixed cost (µs per layer) per layer family (``conv``, ``dw``, ``pw``, ``fc``,
``avgpool``, …). Three or four measured networks cannot pin a dozen figures, so the fit is a ridge in log space
toward the base profile's figures (its datasheet prior), with one speed factor e^g shared by every family (a board
at another clock, or a faster library, is faster at everything) and one per-layer cost factor e^h shared by every
family's fixed cost (the runtime's dispatch): each family's rate is r = e^(g + δ_r) and its fixed cost
c = e^(h + δ_c − g) − 1 µs, and the fit minimises

    Σ_rows (ln predicted − ln measured)² / σ_row²  +  g² / σ_speed² + h² / σ_overhead²
      + Σ_families (δ_r − ln r₀)² / σ_rate² + (δ_c − ln(c₀ + 1 µs))² / σ_fixed²

by Levenberg–Marquardt: a family no row exercises keeps its prior, and the data move a family only as far as the
rows it appears in require. A family's fixed cost may move only a little on its own (σ_fixed): left freer, a family
with one layer per network (the classifier, the stem) becomes a per-network offset that fits three rows exactly and
predicts a fourth network made of that family (MLPerf Tiny's autoencoder: ten ``fc`` layers) 30× too slow.

On a microcontroller profile (no ``unblocked`` figures of its own) a convolution whose input or output channels are
not a multiple of 4 (the stem on 1–3 image channels) is its own family, ``conv/unblocked``, written to the profile
as its ``unblocked`` figures: int8 kernels read four channels per 32-bit word (CMSIS-NN's 1×1 fast path, for one,
needs a multiple of 4), and a layer on 1–3 channels runs short dot products on a generic path. The published
latencies bear it out: at one speed factor with the base's proportions, KWS (whose 10×4 stem on one channel is 12%
of its Mult-Adds) runs 1.1–1.45× slower than the middle of the four MLPerf Tiny networks on 38 of the 41 board and
stack pairs of rounds v1.0–v1.3. Its prior is a quarter of the base's ``conv`` rate.
The factor and the σs were chosen on MLPerf Tiny v1.0's ten boards, leave one out (benchmarks/mlperf_tiny_boards.py:
at σ_rate 0.2 the factor 1/2 → 29, 1/4 → 35, 1/8 → 30 of 40 within ±30 %; with 1/4 and these σs, 38), and then
checked on rounds v1.1–v1.3 and a vendor's zoo it never saw (benchmarks/heldout_boards.py).

The active power is the mean of energy ÷ latency over the rows that give energy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ..layers import REGISTRY
from .hardware import Hardware, hardware_dir, predict_layers
from .measurements import MeasuredRow

SIGMA_ROW = 0.05  # ln units: a published median latency is good to a few per cent
SIGMA_SPEED = 3.0  # the shared speed factor is nearly free: the rows set it
SIGMA_OVERHEAD = 1.0  # the shared per-layer cost: the prior's, give or take e (2.7×)
SIGMA_RATE = 0.5  # a family's rate relative to the others': the prior's proportions, give or take 1.6×
SIGMA_FIXED = 0.3  # a family's fixed cost relative to the shared one
FLOOR_US = 1.0  # fixed costs are fitted as ln(c + 1 µs): zero is allowed
STEM = "conv/unblocked"  # convolutions on channels not a multiple of STEM_MULTIPLE (an image's 1–3)
STEM_MULTIPLE = 4  # int8 channels per 32-bit word
STEM_PRIOR = 0.25  # its prior rate, a fraction of the base's conv rate (see the module's docstring)


@dataclass(frozen=True)
class Fit:
    """The fitted figures per family, the profile they make, and each row's residual."""

    hardware: Hardware
    rates: dict[str, float]  # Mult-Adds (work) per second, per family
    fixed_us: dict[str, float]
    families: tuple[str, ...]  # the families the rows exercise
    predicted_ms: tuple[float, ...]
    active_power_mw: float | None
    power_rows: int  # rows that gave energy

    def residuals(self, rows: list[MeasuredRow]) -> list[float]:
        """predicted / measured − 1, per row."""
        return [p / r.latency_ms - 1 for p, r in zip(self.predicted_ms, rows, strict=True)]


def families_of(graph: Any) -> set[str]:
    """The layer families (registry types) of a network that do work or are called: every layer type but those the
    latency model gives nothing (a flatten still pays its fixed cost, so it counts)."""
    return {node.type for node in graph.nodes}


def fitted_families(graphs: list[Any], base: Hardware) -> list[str]:
    """The families a fit to ``graphs`` has figures for: their layer types, and ``conv/unblocked`` when one of them
    has a convolution on channels not a multiple of four and the base has no ``unblocked`` figures of its own."""
    families = sorted(set().union(*(families_of(g) for g in graphs)) & set(REGISTRY))
    if base.unblocked_multiple is None and any(_is_stem(n) for g in graphs for n in g.nodes):
        families.append(STEM)
    return families


def _is_stem(node: Any) -> bool:
    return node.type == "conv" and bool(node.input.c % STEM_MULTIPLE or node.output.c % STEM_MULTIPLE)


def with_figures(base: Hardware, rates: dict[str, float], fixed_us: dict[str, float]) -> Hardware:
    """``base`` with each family's rate (as the peak × its efficiency) and fixed cost replaced. The peak rises to the
    fastest fitted rate when one passes it, so every efficiency stays a fraction (the other families' rates kept);
    narrower keys (``dw/s2``) of a replaced family go. A ``conv/unblocked`` figure becomes the profile's
    ``unblocked`` figures for ``conv`` (channel multiple 4)."""
    rates, fixed_us = dict(rates), dict(fixed_us)
    stem_rate, stem_fixed = rates.pop(STEM, None), fixed_us.pop(STEM, None)
    hw = _with_family_figures(base, rates, fixed_us)
    if stem_rate is None or stem_fixed is None:
        return hw
    return replace(hw, unblocked_multiple=STEM_MULTIPLE,
                   unblocked_efficiency={"conv": min(1.0, stem_rate / hw.peak_mult_adds_per_s)},
                   unblocked_overhead_us={"conv": stem_fixed})


def _with_family_figures(base: Hardware, rates: dict[str, float], fixed_us: dict[str, float]) -> Hardware:
    peak = max([base.peak_mult_adds_per_s, *rates.values()])
    narrowed = {k for k in (*base.efficiency, *base.overhead_us_by_type) if "/" in k and k.split("/")[0] in rates}
    kept = {k: base.peak_mult_adds_per_s * e / peak for k, e in base.efficiency.items() if k not in narrowed}
    efficiency = {**kept, **{f: min(1.0, r / peak) for f, r in rates.items()}}
    overheads = {**{k: v for k, v in base.overhead_us_by_type.items() if k not in narrowed}, **fixed_us}
    return replace(base, peak_mult_adds_per_s=peak, efficiency=efficiency, overhead_us_by_type=overheads)


def _prior_rate(base: Hardware, family: str) -> float:
    if family == STEM:
        return base.peak_mult_adds_per_s * base.efficiency_of("conv") * STEM_PRIOR
    return base.peak_mult_adds_per_s * base.efficiency_of(family)


def _prior(base: Hardware, families: list[str]) -> np.ndarray:
    """θ's prior: [g, h, ln rate per family…, ln(fixed + 1 µs) per family…]."""
    rates = [math.log(_prior_rate(base, f)) for f in families]
    fixed = [math.log(base.overhead_of(f.split("/")[0]) + FLOOR_US) for f in families]
    return np.array([0.0, 0.0, *rates, *fixed])


def _unpack(theta: np.ndarray, families: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    n, g, h = len(families), float(theta[0]), float(theta[1])
    rates = {f: math.exp(g + float(theta[2 + i])) for i, f in enumerate(families)}
    fixed = {f: max(0.0, math.exp(h + float(theta[2 + n + i]) - g) - FLOOR_US) for i, f in enumerate(families)}
    return rates, fixed


def _predict_ms(theta: np.ndarray, families: list[str], base: Hardware, graphs: list[Any]) -> np.ndarray:
    hw = with_figures(base, *_unpack(theta, families))
    return np.array([sum(predict_layers(g, hw)) * 1e3 for g in graphs])


def _residuals(theta: np.ndarray, prior: np.ndarray, families: list[str], base: Hardware, graphs: list[Any],
               measured: np.ndarray) -> np.ndarray:
    n = len(families)
    rows = (np.log(_predict_ms(theta, families, base, graphs)) - np.log(measured)) / SIGMA_ROW
    sigmas = np.array([SIGMA_SPEED, SIGMA_OVERHEAD] + [SIGMA_RATE] * n + [SIGMA_FIXED] * n)
    return np.concatenate([rows, (theta - prior) / sigmas])


def _levenberg_marquardt(fun: Any, theta: np.ndarray, steps: int = 60) -> np.ndarray:
    """Minimise ‖fun(θ)‖² from θ (a forward-difference Jacobian: a dozen parameters, a few networks)."""
    damping, r = 1e-2, fun(theta)
    for _ in range(steps):
        jac = np.empty((r.size, theta.size))
        for j in range(theta.size):
            step = np.zeros_like(theta)
            step[j] = 1e-6
            jac[:, j] = (fun(theta + step) - r) / 1e-6
        grad, normal = jac.T @ r, jac.T @ jac
        while damping < 1e12:
            trial = theta - np.linalg.solve(normal + damping * np.diag(np.diag(normal) + 1e-12), grad)
            r_trial = fun(trial)
            if r_trial @ r_trial < r @ r:
                theta, r, damping = trial, r_trial, max(damping / 10, 1e-9)
                break
            damping *= 10
        else:
            break  # no step lowers the cost: a minimum
        if np.abs(grad).max() < 1e-9:
            break
    return theta


def fit(rows: list[MeasuredRow], graphs: list[Any], base: Hardware) -> Fit:
    """Fit ``base``'s per-family rates and fixed costs to the measured rows (``graphs`` their networks)."""
    families = fitted_families(graphs, base)
    prior = _prior(base, families)
    measured = np.array([r.latency_ms for r in rows])
    theta = _levenberg_marquardt(lambda t: _residuals(t, prior, families, base, graphs, measured), prior.copy())
    rates, fixed = _unpack(theta, families)
    powers = [r.energy_uj / r.latency_ms for r in rows if r.energy_uj is not None]  # µJ / ms = mW
    power = sum(powers) / len(powers) if powers else None  # never the base chip's power as this board's
    hw = replace(with_figures(base, rates, fixed), active_power_mw=power)
    predicted = tuple(float(p) for p in _predict_ms(theta, families, base, graphs))
    return Fit(hw, rates, fixed, tuple(families), predicted, power, len(powers))


def leave_one_out(rows: list[MeasuredRow], graphs: list[Any], base: Hardware) -> list[float]:
    """Each row predicted by a fit to the others: predicted / measured − 1 per row."""
    errors = []
    for i, row in enumerate(rows):
        others = [j for j in range(len(rows)) if j != i]
        f = fit([rows[j] for j in others], [graphs[j] for j in others], base)
        errors.append(sum(predict_layers(graphs[i], f.hardware)) * 1e3 / row.latency_ms - 1)
    return errors


def unexercised(graph: Any, hw: Hardware) -> list[str]:
    """The layer families of ``graph`` that no measured row of a fitted profile exercised (their figures are the
    prior's); empty for a profile not fitted from measurements."""
    exercised = hw.measured.get("families")
    if not isinstance(exercised, list):
        return []
    return sorted(families_of(graph) - set(exercised))


def base_label(base: Hardware) -> str:
    """The base as a profile records it: a bundled profile by its name (no machine's path in a bundled file)."""
    if base.file and Path(base.file).parent.resolve() == hardware_dir().resolve():
        return Path(base.file).stem
    return base.file or base.name


def _shared(rows: list[MeasuredRow], column: str) -> str:
    """A descriptive column's value when every row gives the same one (a board, its software stack), else ''."""
    values = {r.extra.get(column, "") for r in rows}
    return values.pop() if len(values) == 1 else ""


def _title(rows: list[MeasuredRow], source: str) -> str:
    """The profile's name: the board and stack its rows name (MLPerf Tiny's columns), else the file it came from."""
    device = ", ".join(v for v in (_shared(rows, "board"), _shared(rows, "software")) if v)
    return f"{device} (fitted to {len(rows)} measured networks)" if device else f"fitted to {source}"


def _provenance(rows: list[MeasuredRow], base: Hardware, source: str, fitted_on: str) -> str:
    """One source line for the whole fit: the file, the date, the base, and each row's own ``source`` cell (where
    its measurement was published), so a bundled profile says what it rests on without its CSV beside it."""
    cited = list(dict.fromkeys(r.extra["source"] for r in rows if r.extra.get("source")))
    return (f"{len(rows)} measured rows of {source}, fitted {fitted_on} by `mobcost calibrate --from-measurements`, "
            f"base profile {base_label(base)}"
            + (f"; published in: {' | '.join(cited)}" if cited else ""))


def profile_document(f: Fit, rows: list[MeasuredRow], base: Hardware, source: str,
                     loo: list[float] | None, fitted_on: str | None = None) -> dict[str, Any]:
    """The fitted profile as YAML-ready data, with every row it was fitted from (``measured.rows``)."""
    hw = f.hardware
    fitted_on = fitted_on or date.today().isoformat()
    # the measured stack's runtime and power are not the base's
    kept = {k: v for k, v in base.sources.items() if k not in ("planner", "active_power_mw")}
    sources = {**kept,
               "efficiency": f"fitted to {len(rows)} measured networks ({source}), prior: the base profile",
               "overhead_us": f"fitted to {len(rows)} measured networks ({source}), prior: the base profile",
               "measured": _provenance(rows, base, source, fitted_on)}
    if STEM in f.families:
        sources["unblocked"] = (f"fitted: `conv` on channels not a multiple of {STEM_MULTIPLE} (a stem on an image's "
                                f"1–3 channels), prior {STEM_PRIOR:g} × the base's conv rate")
    if f.power_rows:
        sources["active_power_mw"] = (f"measured: mean of energy_uj / latency_ms over {f.power_rows} rows of "
                                      f"{source}")
    records = [{**r.as_record(), "predicted_ms": round(p, 4), "residual": round(p / r.latency_ms - 1, 4)}
               for r, p in zip(rows, f.predicted_ms, strict=True)]
    doc: dict[str, Any] = {
        "name": _title(rows, source), "description": f"{len(rows)} measured networks; prior: {base.name}",
        "dtype": hw.dtype,
        "peak_mult_adds_per_s": hw.peak_mult_adds_per_s, "bandwidth_bytes_per_s": hw.bandwidth_bytes_per_s,
        "overhead_us": {"default": hw.overhead_us, **hw.overhead_us_by_type}, "efficiency": dict(hw.efficiency),
        **{k: getattr(hw, k) for k in ("ram_bytes", "storage_bytes", "active_power_mw",
                                       "activation_bandwidth_bytes_per_s") if getattr(hw, k)},
        **({"energy": dict(hw.energy)} if hw.energy else {}),
        **({"context_factor": hw.context_factor} if hw.context_factor != 1.0 else {}),
        **({"unblocked": {"channel_multiple": hw.unblocked_multiple, "efficiency": dict(hw.unblocked_efficiency),
                          "overhead_us": dict(hw.unblocked_overhead_us)}} if hw.unblocked_multiple else {}),
        "sources": sources,
        "measured": {"fitted_from": source, "fitted_on": fitted_on, "base": base_label(base),
                     "families": list(f.families),
                     "rows": records, **({"leave_one_out": [round(e, 4) for e in loo]} if loo else {})},
    }
    return doc
