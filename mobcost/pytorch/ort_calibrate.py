"""Calibration under ONNX Runtime: the same one-layer microbenchmarks as eager torch, each exported from
mobcost's own torch build to ONNX as deployed (BatchNorm folded, the activation fused into the kernel) and
run in its own ORT session, one after another in rounds as inside a network; each layer's time is its
kernel time in ORT's profiler (the layout reorders ORT puts around a lone layer are left out: inside a
network a chain of convolutions stays in one layout).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .ort import Profiled, feeds, own_seconds

Job = tuple[str, tuple[int, int, int]]


@dataclass
class OrtBench:
    kind: str
    shape: tuple[int, int, int]
    numel: int
    profiled: Profiled
    feeds: dict[str, Any]

    def run(self) -> None:
        self.profiled.session.run(None, self.feeds)


def ort_bench(kind: str, shape: tuple[int, int, int], graph: Any, threads: int) -> OrtBench:
    """A microbenchmark's one-layer graph, exported and opened in a profiling session."""
    import numpy as np

    from .ort import export_graph

    model = export_graph(graph)
    x = graph.input
    data = np.random.default_rng(0).standard_normal((1, x.c, x.h, x.w), dtype=np.float32)
    profiled = Profiled(model, threads)
    return OrtBench(kind, shape, data.size, profiled, feeds(profiled.session, data))


# Activations other than ReLU cost ORT a pass over the convolution's output (MLAS applies them after the
# kernel): each is timed after a depthwise 3×3 at these shapes, less the same layer with ReLU.
ACT_SHAPES = tuple((c, c, size) for c in (16, 64, 256) for size in (14, 56))


def act_probes() -> tuple[str, ...]:
    from ..layers import ACTIVATIONS

    return tuple(a for a in ACTIVATIONS if a not in ("none", "relu", "swish"))  # swish is silu


def act_graph(act: str, shape: tuple[int, int, int]) -> Any:
    from ..graph import build
    from ..spec import parse_spec

    c, _, size = shape
    text = f"input: {{channels: {c}, size: {size}}}\nlayers:\n  - {{type: dw, bn: true, act: {act}}}\n"
    return build(parse_spec(text, file=f"<microbenchmark dw+{act}>"))


# ORT runs a convolution in its blocked NCHWc layout only when its channels are a multiple of 4 (its
# NchwcTransformer pads them to the block); other widths (ShuffleNetV2's 58) get plain NCHW kernels, whose
# depthwise is several times slower. Those are timed apart, at widths that are not multiples of 4.
CHANNEL_MULTIPLE = 4
UNBLOCKED_KINDS = ("pw", "dw", "dw/s2", "dw/k5", "conv")
UNBLOCKED_CHANNELS = (18, 66, 258)


def unblocked_shapes(kind: str) -> list[tuple[int, int, int]]:
    """The unblocked microbenchmarks of a kind, within the same limits as the rest (``calibrate.micro_shapes``)."""
    from .calibrate import MAX_MICRO_ELEMENTS, MAX_MICRO_MULT_ADDS, SIZES, micro_work

    wanted = [(c, c, size) for c in UNBLOCKED_CHANNELS for size in SIZES]
    return [sh for sh in wanted if micro_work(kind, *sh) <= MAX_MICRO_MULT_ADDS and sh[0] * sh[2] ** 2 <=
            MAX_MICRO_ELEMENTS]


def ort_benches(threads: int, micro_graph: Callable[..., Any]) -> list[OrtBench]:
    """Every layer microbenchmark, deployed (BatchNorm folded, ReLU fused), the unblocked widths and the
    activation probes."""
    from .calibrate import KINDS, POOLS, micro_shapes

    layers = [ort_bench(kind, shape, micro_graph(kind, *shape, fused=True), threads)
              for kind in (*KINDS, *POOLS) for shape in micro_shapes(kind)]
    unblocked = [ort_bench(f"unblocked/{kind}", shape, micro_graph(kind, *shape, fused=True), threads)
                 for kind in UNBLOCKED_KINDS for shape in unblocked_shapes(kind)]
    acts = [ort_bench(f"act/{a}", shape, act_graph(a, shape), threads) for a in act_probes() for shape in ACT_SHAPES]
    return layers + unblocked + acts


def unblocked_figures(seconds: dict[Job, float], peak: float) -> dict[str, Any]:
    """The ``Hardware`` fields of the unblocked kernels: per kind, time = fixed + work / rate, as for the rest."""
    from .calibrate import fit_fixed_and_rate, micro_work

    efficiency, fixed = {}, {}
    for kind in UNBLOCKED_KINDS:
        shapes = unblocked_shapes(kind)
        overhead, rate = fit_fixed_and_rate([micro_work(kind, *sh) for sh in shapes],
                                            [seconds[(f"unblocked/{kind}", sh)] for sh in shapes])
        efficiency[kind], fixed[kind] = min(1.0, rate / peak), 1e6 * overhead
    return {"unblocked_multiple": CHANNEL_MULTIPLE, "unblocked_efficiency": efficiency,
            "unblocked_overhead_us": fixed}


def activation_rates(seconds: dict[Job, float]) -> dict[str, float]:
    """Output elements per second of each activation's extra pass: the least-squares slope through the origin
    of (time with it − time with ReLU) against output elements; an activation no slower than ReLU is left out
    (it costs nothing extra)."""
    rates = {}
    for act in act_probes():
        extra = [(c * size * size, seconds[(f"act/{act}", (c, c, size))] - seconds[("dw", (c, c, size))])
                 for c, _, size in ACT_SHAPES]
        slope = sum(e * d for e, d in extra) / sum(e * e for e, _ in extra)  # seconds per element
        if slope > 0:
            rates[act] = 1 / slope
    return rates


# Each microbenchmark runs twice in a row per round and only the second run counts: its weights are then
# in cache, as inside a network whose weights fit the last-level cache (all of the 16 MobileNets' fit this
# host's 32 MiB L3). Timed once per round among the 157 others, a small layer read its weights from DRAM and
# looked 3–4 µs slower than in a network; networks whose weights pass the cache are left to the roofline's
# memory term.
BURST = 2


def run_ort_rounds(items: list[OrtBench], rounds: int, rng: random.Random,
                   after_round: Callable[[int], None]) -> dict[Job, list[float]]:
    """Each microbenchmark ``BURST`` times per round, smallest inputs first (ties in random order); per round,
    the seconds of the layer's own kernels in the last run of its burst."""
    from .calibrate import in_rounds

    warmup = 2
    in_rounds(items, rounds, rng, after_round, run=OrtBench.run, size=lambda b: b.numel, warmup=warmup, burst=BURST)
    runs = warmup + BURST * rounds
    return {(b.kind, b.shape): layer_seconds(b.profiled.events(), runs)[warmup + BURST - 1::BURST] for b in items}


LAYOUT = ("ReorderInput", "ReorderOutput")  # what ORT adds around a lone NCHWc layer


def layer_seconds(events: list[dict[str, Any]], runs: int) -> list[float]:
    """Per run, the summed kernel time of the microbenchmark's layer: every node but the layout reorders (a
    node writing the graph's output is named after it, not after its layer)."""
    per_run = len(events) // runs
    out = []
    for start in range(0, per_run * runs, per_run):
        mine = [e for e in events[start:start + per_run] if e.get("args", {}).get("op_name") not in LAYOUT]
        out.append(sum(own_seconds(e) for e in mine))
    return out
