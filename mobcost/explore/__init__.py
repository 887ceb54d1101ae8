"""Design-space exploration: sweeps of (α, resolution) as arrays, budgets and the Pareto front, accuracy
with its sources, hardware profiles, the roofline latency estimate and the energy model.

Names are loaded on first use (PEP 562), so reading a hardware profile does not import numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "Budgets": "budgets", "pareto_mask": "budgets", "Tally": "budgets",
    "front_mask": "objectives", "OBJECTIVES": "objectives",
    "parse_range": "ranges", "grid_axes": "ranges",
    "Factors": "factors", "factors": "factors",
    "SweepResult": "grid", "Plan": "grid", "plan": "grid", "sweep": "grid", "point_records": "grid",
    "stream_csv": "stream", "stream_best": "stream", "StreamedBest": "stream",
    "fingerprint": "accuracy", "accuracy_for": "accuracy", "reference_accuracy": "accuracy",
    "Hardware": "hardware", "load_hardware": "hardware", "layer_seconds": "hardware",
    "predict_layers": "hardware",
    "EnergyModel": "energy", "energy_model": "energy", "network_energy": "energy", "layer_energy_pj": "energy",
    "host_onchip_bytes": "energy",
    "spearman": "stats", "median_ape": "stats",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
