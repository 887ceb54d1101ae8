"""Budgets a design must meet, and the Pareto front of cost against accuracy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

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
    ram_bytes: float | None = None  # the planner's arena plus the runtime's persistent bytes (``fit.ram_bytes``)
    flash_bytes: float | None = None  # weights as a TFLite file stores them (``fit.flash_bytes``)
    planner: str | None = None  # of ``ram_bytes``: --planner, else the profile's, else tflm

    def with_hardware(self, hw: Hardware | None) -> Budgets:
        """A profile's memory as budgets: against its runtime's RAM and flash when it names its planner (the
        runtime's figures are what must fit), else against the peak activations and the weights."""
        if hw is None:
            return self
        if hw.planner:
            return replace(self, ram_bytes=_tighter(self.ram_bytes, hw.ram_bytes),
                           flash_bytes=_tighter(self.flash_bytes, hw.storage_bytes),
                           planner=self.planner or hw.planner)
        return replace(self, weight_bytes=_tighter(self.weight_bytes, hw.storage_bytes),
                       peak_activation_bytes=_tighter(self.peak_activation_bytes, hw.ram_bytes))

    @property
    def ram_planner(self) -> str:
        return self.planner or "tflm"


NO_BUDGETS = Budgets()


def _tighter(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


# Each budget: its field in Budgets, the column it bounds, and the option that sets it.
BOUNDS = (("mult_adds", "mult_adds", "--max-mult-adds"), ("params", "params", "--max-params"),
          ("weight_bytes", "weight_bytes", "--max-weight-bytes"),
          ("peak_activation_bytes", "peak_activation_bytes", "--max-peak-activation"),
          ("latency_ms", "latency_ms", "--max-latency-ms"), ("energy_uj", "energy_uj", "--max-energy-uj"),
          ("ram_bytes", "ram_bytes", "--max-ram"), ("flash_bytes", "flash_bytes", "--max-flash"))


def fits(out: dict[str, np.ndarray], budgets: Budgets) -> np.ndarray:
    fits = np.ones(out["alpha"].shape, dtype=bool)
    for name, column, _ in BOUNDS:
        bound = getattr(budgets, name)
        if bound is not None:
            fits &= out[column] <= bound
    return fits


@dataclass
class Tally:
    """Counts over a grid, a chunk at a time: points, points that fit, and per budget the points it excludes
    and the least value of its column — so "no point fits" can name the budget that is tightest."""

    points: int = 0
    fits: int = 0
    over: dict[str, int] = field(default_factory=dict)
    least: dict[str, float] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)  # the grid's α or sizes with no valid network

    def add(self, part: dict[str, np.ndarray], budgets: Budgets) -> None:
        self.points += len(part["alpha"])
        self.fits += int(np.count_nonzero(part["fits"]))
        for name, column, _ in BOUNDS:
            bound = getattr(budgets, name)
            if bound is None or not len(part[column]):
                continue
            self.over[name] = self.over.get(name, 0) + int(np.count_nonzero(part[column] > bound))
            least = float(np.min(part[column]))
            self.least[name] = min(self.least.get(name, least), least)

    def tightest(self, budgets: Budgets) -> str | None:
        """The budget (a ``Budgets`` field) excluding the most points; among those excluding every point, the
        one missed by the widest margin (its least value over its bound)."""
        if not self.over:
            return None
        def margin(f: str) -> float:
            bound = getattr(budgets, f)
            return self.least[f] / bound if bound > 0 else math.inf

        return max(self.over, key=lambda f: (self.over[f], margin(f)))


def pareto_mask(cost: np.ndarray, top1: np.ndarray) -> np.ndarray:
    """Points no other point beats on both cost (lower) and accuracy (higher); unknown accuracy: never."""
    from .objectives import front_mask

    return front_mask(np.column_stack([np.asarray(cost, dtype=float), -np.asarray(top1, dtype=float)]))
