"""Spec × (α, resolution) → a shaped graph of nodes in execution order, and what follows from its
structure alone (which tensors are alive while each layer runs)."""

from __future__ import annotations

from .build import INPUT, Graph, build, check_multiplier, exact, input_names, resolve_resolution, scale_channels

__all__ = ["INPUT", "Graph", "build", "check_multiplier", "exact", "input_names", "resolve_resolution",
           "scale_channels"]
