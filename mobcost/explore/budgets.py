"""Budgets a design must meet, and the Pareto front of cost against accuracy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hardware import Hardware


@dataclass(frozen=True)
class Budgets:
    """Upper bounds a design must meet to `fit` (None: no bound)."""

    mult_adds: float | None = None
    params: float | None = None
    weight_bytes: float | None = None
    peak_activation_bytes: float | None = None
    latency_ms: float | None = None
    energy_uj: float | None = None  # per inference, on the profile (``energy``)

    def with_hardware(self, hw: Hardware | None) -> Budgets:
        if hw is None:
            return self
        return Budgets(self.mult_adds, self.params, _tighter(self.weight_bytes, hw.storage_bytes),
                       _tighter(self.peak_activation_bytes, hw.ram_bytes), self.latency_ms, self.energy_uj)


NO_BUDGETS = Budgets()


def _tighter(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def fits(out: dict[str, np.ndarray], budgets: Budgets) -> np.ndarray:
    fits = np.ones(out["alpha"].shape, dtype=bool)
    for column, bound in (("mult_adds", budgets.mult_adds), ("params", budgets.params),
                          ("weight_bytes", budgets.weight_bytes),
                          ("peak_activation_bytes", budgets.peak_activation_bytes), ("latency_ms", budgets.latency_ms),
                          ("energy_uj", budgets.energy_uj)):
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
