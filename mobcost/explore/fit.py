"""Will it fit, over a grid: the RAM a runtime reserves and the flash it reads, one column each, per point.

``ram_bytes`` is the chosen planner's arena (:mod:`mobcost.analysis.memory`) plus the runtime's persistent
bytes where they are modelled (TFLM's), ``flash_bytes`` the weights as a TFLite file stores them — each
equal, point by point, to ``plan_memory`` on the network built at that point (tests/test_sweep_fit.py).

Flash is a closed form (weights, biases, and per output channel quantization parameters), evaluated as arrays.
TFLM's planner is not: it sorts and places buffers greedily, O(tensors²) a point, so it runs once per point
in a plain-integer loop (no objects per point) — about 0.1 ms a point for MobileNetV1, so 10⁶ points cost
minutes, against seconds without --max-ram. Only the tensor sizes vary from point to point; the lifetimes,
the order of addition and the converter's extra operators are read once per resolution at the anchor α.
LiteRT's planner (``--planner tflite``) runs once per point too, on ``Buffer`` objects, its buffers read once
per resolution the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis.converted import Slot, converted_slots
from ..analysis.memory import (
    litert_buffers,
    network_weights,
    persistent_terms,
    tensor_names,
)
from ..analysis.planners import TFLM_ALIGNMENT, Buffer, litert_offsets
from ..graph import Graph, build
from ..units import DTYPE_BYTES
from .factors import Factors


@dataclass(frozen=True)
class Layout:
    """What the per-point planner needs besides the channels, per resolution of the grid: the buffers of a
    TFLite conversion (:mod:`mobcost.analysis.converted`), each a lifetime and bytes per channel of a tensor
    (whether a convolution needs a ``PAD`` depends on its input's size, so on the resolution only)."""

    slots: list[list[Slot]]


def anchor_graphs(f: Factors) -> list[Graph]:
    """The network at the anchor's α and each resolution of the grid: what the per-resolution plans are read from."""
    assert f.anchor is not None
    return [build(f.spec, f.anchor.alpha, resolution=int(r)) for r in f.resolutions]


def layout(graphs: list[Graph], dtype: str) -> Layout:
    return Layout([converted_slots(g, dtype) for g in graphs])


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
    """``memory.network_weights(...).total`` at every point of a chunk: the weights from the factors, and the
    rest — biases (int32 in an int8 model, a folded BatchNorm's and a converter's zero ones included) and, int8,
    the scales and zero points — as ``network_weights`` counts it on the network at each α (at the anchor's
    resolution) plus what it changes with the resolution at the anchor's α (a bias table's h·N)."""
    assert f.anchor is not None
    a0, r0 = f.anchor.alpha, f.anchor.resolution
    by_alpha = np.array([_rest(build(f.spec, float(a), resolution=r0), dtype) for a in f.alphas[rows]])
    anchor = _rest(f.anchor if f.anchor.resolution == r0 else build(f.spec, a0, resolution=r0), dtype)
    by_res = np.array([_rest(build(f.spec, a0, resolution=int(r)), dtype) for r in f.resolutions]) - anchor
    weights = f.w_chan[rows] @ f.w_area
    total = weights * DTYPE_BYTES[dtype] + by_alpha[:, None] + by_res[None, :]
    return total.ravel()


def _rest(graph: Graph, dtype: str) -> int:
    """A network's flash besides its weights (biases, quantization parameters), in bytes."""
    w = network_weights(graph, dtype)
    return w.biases + w.quantization


@dataclass(frozen=True)
class Source:
    """What a LiteRT buffer's size scales with (``memory.litert_buffers``): ``kind`` "tensor" (tensor
    ``tensor``), "im2col" (H_out·W_out of layer ``layer`` × ``taps`` = k_h·k_w × C_in/``groups``; ``tensor`` is
    the layer's input), "pad" (the ``taps`` padded pixels of layer ``layer``'s input ``tensor``), "bytes"
    (``taps`` bytes), "sum" (4 bytes per output channel of layer ``layer``)."""

    kind: str
    tensor: int = 0
    layer: int = 0
    taps: int = 0
    groups: int = 1


def litert_sources(g: Graph, dtype: str) -> tuple[list[Buffer], list[Source]]:
    """LiteRT's buffers on ``g`` and what each scales with (read back from their names); a PAD's padded area
    is ``g``'s own, in ``Source.taps``."""
    from ..graph.build import input_names

    buffers = litert_buffers(g, dtype)
    index = {name: t for t, name in enumerate(tensor_names(g))}
    layers = {n.name: i for i, n in enumerate(g.nodes)}
    sources = []
    for b in buffers:
        if b.name in index:
            sources.append(Source("tensor", index[b.name]))
            continue
        layer, what = b.name.rsplit(" ", 1)
        i = layers[layer]
        x = index[input_names(g.spec, i)[0]]
        node = g.nodes[i]
        if what == "im2col":
            kh, kw = node.kernel_hw or (1, 1)
            sources.append(Source("im2col", x, i, kh * kw, node.groups or 1))
        elif what in ("pre-activation", "logistic"):  # an unfused activation's tensors: the layer's output size
            sources.append(Source("tensor", i + 1))
        elif what == "pad":
            top, bottom, left, right = node.padding_hw or (0, 0, 0, 0)
            sources.append(Source("pad", x, i, (node.input.h + top + bottom) * (node.input.w + left + right)))
        else:
            sources.append(Source("sum", 0, i) if what == "sum" else Source("bytes", taps=b.size))
    return buffers, sources


def _litert_size(s: Source, ch: np.ndarray, area: np.ndarray, a: int, r: int, b: int) -> int:
    if s.kind == "tensor":
        return int(ch[a, s.tensor] * area[s.tensor, r]) * b
    if s.kind == "im2col":
        return int(ch[a, s.tensor] // s.groups * s.taps * area[s.layer + 1, r]) * b
    if s.kind == "pad":
        return int(ch[a, s.tensor] * s.taps) * b
    return s.taps if s.kind == "bytes" else 4 * int(ch[a, s.layer + 1])


def litert_arenas(f: Factors, rows: slice, dtype: str) -> np.ndarray:
    """LiteRT's arena at every point of a chunk (α-major). Which PAD operators the converter writes depends on
    the maps' sizes (a stride-2 window on an even map needs one, on an odd map not), so the buffers and their
    lifetimes are read from the network at each resolution (at the anchor's α); each point scales their sizes."""
    assert f.anchor is not None
    b = DTYPE_BYTES[dtype]
    plans = [litert_sources(build(f.anchor.spec, f.anchor.alpha, resolution=int(size)), dtype)
             for size in f.resolutions]
    ch, area = np.asarray(f.channels[rows], dtype=object), np.asarray(f.area, dtype=object)
    out = np.empty((ch.shape[0], area.shape[1]), dtype=np.int64)
    for r, (buffers, sources) in enumerate(plans):
        for a in range(ch.shape[0]):
            sized = [Buffer(_litert_size(s, ch, area, a, r, b), buf.first, buf.last)
                     for buf, s in zip(buffers, sources, strict=True)]
            offsets = litert_offsets(sized)
            out[a, r] = max((o + x.size for x, o in zip(sized, offsets, strict=True)), default=0)
    return out.ravel()


def ram_bytes(f: Factors, rows: slice, dtype: str, planner: str, peak_bytes: np.ndarray) -> np.ndarray:
    """The planner's arena plus, for TFLM, its persistent bytes (``memory.persistent_terms``), per point."""
    if planner == "tflite":
        return litert_arenas(f, rows, dtype)
    if planner != "tflm":
        return peak_bytes
    graphs = anchor_graphs(f)  # built once for both: the layout and the persistent terms read each resolution
    # per resolution at the anchor's α, as the layout is: BATCH_MATMUL's copies of K and V grow with the tokens
    terms = [persistent_terms(g, dtype) for g in graphs]
    persistent = np.stack([np.asarray(f.channels[rows] @ per_channel, dtype=np.int64) + fixed
                           for fixed, per_channel in terms], axis=1).ravel()
    return tflm_arenas(f, rows, dtype, layout(graphs, dtype)) + persistent
