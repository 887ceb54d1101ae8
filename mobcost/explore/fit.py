"""Will it fit, over a grid: the RAM a runtime reserves and the flash it reads, one column each, per point.

``ram_bytes`` is the chosen planner's arena (:mod:`mobcost.analysis.memory`) plus the runtime's persistent
bytes where they are modelled (TFLM's), ``flash_bytes`` the weights as a TFLite file stores them — each
equal, point by point, to ``plan_memory`` on the network built at that point (tests/test_sweep_fit.py).

Flash is a closed form (weights, biases, and per output channel quantization parameters), evaluated as arrays.
TFLM's planner is not: it sorts and places buffers greedily, O(tensors²) a point, so it runs once per point
in a plain-integer loop (no objects per point) — about 0.1 ms a point for MobileNetV1, so 10⁶ points cost
minutes, against seconds without --max-ram. Only the tensor sizes vary from point to point; the lifetimes,
the order of addition and the converter's extra operators are read once per resolution at the anchor α.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis.converted import Slot, converted_slots
from ..analysis.memory import BIAS_BYTES, PER_TENSOR, QUANT_PARAM_BYTES, persistent_terms
from ..analysis.planners import TFLM_ALIGNMENT
from ..graph import build
from ..layers import REGISTRY
from ..units import DTYPE_BYTES
from .factors import Factors


@dataclass(frozen=True)
class Layout:
    """What the per-point planner needs besides the channels, per resolution of the grid: the buffers of a
    TFLite conversion (:mod:`mobcost.analysis.converted`), each a lifetime and bytes per channel of a tensor
    (whether a convolution needs a ``PAD`` depends on its input's size, so on the resolution only)."""

    slots: list[list[Slot]]


def layout(f: Factors, dtype: str) -> Layout:
    assert f.anchor is not None
    return Layout([converted_slots(build(f.spec, f.anchor.alpha, resolution=int(r)), dtype) for r in f.resolutions])


def greedy_arena(sizes: list[int], first: list[int], last: list[int]) -> int:
    """``planners.tflm_arena`` on plain lists (sizes already aligned): the same order, first fit and insertion."""
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i], -i))
    placed: list[tuple[int, int]] = []  # (offset, buffer) in offset order
    arena = 0
    for i in order:
        size, lo, hi = sizes[i], first[i], last[i]
        candidate = 0
        for offset, j in placed:
            if first[j] > hi or lo > last[j]:
                continue
            if offset - candidate >= size:
                break
            candidate = max(candidate, offset + sizes[j])
        at = len(placed)
        while at and placed[at - 1][0] > candidate:  # after every buffer at an offset ≤ this one, as TFLM inserts
            at -= 1
        placed.insert(at, (candidate, i))
        arena = max(arena, candidate + size)
    return arena


def tflm_arenas(f: Factors, rows: slice, dtype: str, plan: Layout) -> np.ndarray:
    """TFLM's arena at every point of a chunk (α-major), in bytes."""
    ch = np.asarray(f.channels[rows], dtype=object)
    align = TFLM_ALIGNMENT
    lives = [([s.first for s in slots], [s.last for s in slots]) for slots in plan.slots]
    out = np.empty(ch.shape[0] * len(plan.slots), dtype=np.int64)
    k = 0
    for a in range(ch.shape[0]):
        for slots, (first, last) in zip(plan.slots, lives, strict=True):
            sizes = [-(-(s.per_channel * (int(ch[a, s.tensor]) if s.tensor >= 0 else 0) + s.fixed) // align) * align
                     for s in slots]
            out[k] = greedy_arena(sizes, first, last)
            k += 1
    return out


def flash_bytes(f: Factors, rows: slice, dtype: str) -> np.ndarray:
    """``memory.network_weights(...).total`` at every point of a chunk: weights, biases (int32 in an int8
    model) and, int8, a scale and zero point per output channel (per tensor for fully connected layers) for
    the weights and the bias each."""
    assert f.anchor is not None
    b, bias = DTYPE_BYTES[dtype], BIAS_BYTES.get(dtype, DTYPE_BYTES[dtype])
    per_channel = np.zeros(f.channels.shape[1], dtype=np.int64)  # bytes per output channel of each layer
    fixed = 0
    for i, node in enumerate(f.anchor.nodes):
        kind = REGISTRY[node.layer.type]
        if node.layer.shares or not kind.weights(node):
            continue
        own = bool(kind.biases(node))
        if not own and node.layer.bn:  # a BatchNorm folded into the layer leaves a bias per output channel
            per_channel[i + 1] += bias
        copies = 2 if (own or node.layer.bn) else 1  # the bias's scale and zero point too
        if dtype != "int8":
            continue
        if node.layer.type in PER_TENSOR:
            fixed += QUANT_PARAM_BYTES * copies
        else:
            per_channel[i + 1] += QUANT_PARAM_BYTES * copies
    weights = f.w_chan[rows] @ f.w_area
    total = weights * b + (f.biases[rows] * bias + f.channels[rows] @ per_channel + fixed)[:, None]
    return total.ravel()


def ram_bytes(f: Factors, rows: slice, dtype: str, planner: str, peak_bytes: np.ndarray) -> np.ndarray:
    """The planner's arena plus, for TFLM, its persistent bytes (``memory.persistent_terms``), per point."""
    if planner != "tflm":
        return peak_bytes
    n_r = f.area.shape[1]
    fixed, per_channel = persistent_terms(f.anchor, dtype)
    persistent = np.repeat(np.asarray(f.channels[rows] @ per_channel, dtype=np.int64) + fixed, n_r)
    return tflm_arenas(f, rows, dtype, layout(f, dtype)) + persistent
