"""A network's costs split into α-only and resolution-only arrays (the sweep's factorisation).

Every closed-form cost of a network splits into a part that depends only on α (channel counts) and a
part that depends only on the resolution (feature-map areas): a layer's Mult-Adds are
``chan(α) × area(R)``, a tensor's size ``channels(α) × H·W(R)``. So one graph build per α value and
one per resolution give everything; the registry says which area each count scales with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import OptionError, ShapeError
from ..graph import Graph, build
from ..graph.liveness import liveness
from ..layers import REGISTRY
from ..spec import Spec
from .hardware import profile_kernel, unfused_ops


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
    reads, live = liveness(first)

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
            "ma_chan": [k.mult_adds(n) // k.mult_adds_area(n) for k, n in pairs],
            "work_chan": [k.work(n) // k.work_area(n) for k, n in pairs],
            "w_chan": [k.weights(n) // k.weights_area(n) for k, n in pairs],
            "biases": [sum(k.biases(n) for k, n in pairs)]}


def _resolution_row(g: Graph) -> dict[str, list[int]]:
    return {"area": [g.resolution**2] + [n.output.h * n.output.w for n in g.nodes],
            "ma_area": [REGISTRY[n.type].mult_adds_area(n) for n in g.nodes],
            "work_area": [REGISTRY[n.type].work_area(n) for n in g.nodes],
            "w_area": [REGISTRY[n.type].weights_area(n) for n in g.nodes]}


def _rows(dropped: list[str], values: list[Any], label: str, make: Any, extract: Any) -> list[tuple[Any, Any]]:
    out = []
    for value in values:
        try:
            out.append((value, extract(make(value))))
        except ShapeError as exc:
            dropped.append(f"{label} {value:g}: {exc.message}")
    return out
