"""Calibration under ONNX Runtime: the same one-layer microbenchmarks as eager torch, each exported from
mobcost's own torch build to ONNX as deployed (BatchNorm folded, the activation fused into the kernel) and
run in its own ORT session, one after another in rounds as inside a network; each layer's time is its
kernel time in ORT's profiler (the layout reorders ORT puts around a lone layer are left out: inside a
network a chain of convolutions stays in one layout).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ...explore.hardware import Hardware
from ...measure.fit import activation_rates, fit_fixed_and_rate, fit_profile
from ...measure.micro import (
    ACT_SHAPES,
    KINDS,
    MAX_MICRO_ELEMENTS,
    POOLS,
    SIZES,
    TOKEN_KINDS,
    act_graph,
    act_probes,
    micro_graph,
    micro_shapes,
    micro_work,
    within_limits,
)
from ...measure.runtime import Job
from ...measure.schedule import BURST, CALIBRATION_ROUNDS, in_rounds, quiet_mean
from ...torchside.host import CopyBandwidth, sampling_rounds
from .session import Profiled, export_graph, feeds, node_layer, node_seconds, own_seconds


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

    model = export_graph(graph)
    x = graph.input
    data = np.random.default_rng(0).standard_normal((1, x.c, x.h, x.w), dtype=np.float32)
    profiled = Profiled(model, threads)
    return OrtBench(kind, shape, data.size, profiled, feeds(profiled.session, data))


# ORT runs a convolution in its blocked NCHWc layout only when its channels are a multiple of 4 (its
# NchwcTransformer pads them to the block); other widths (ShuffleNetV2's 58) get plain NCHW kernels, whose
# depthwise is several times slower. Those are timed apart, at widths that are not multiples of 4.
CHANNEL_MULTIPLE = 4
UNBLOCKED_KINDS = ("pw", "dw", "dw/s2", "dw/k5", "conv")
UNBLOCKED_CHANNELS = (18, 66, 258)


def unblocked_shapes(kind: str) -> list[tuple[int, int, int]]:
    """The unblocked microbenchmarks of a kind, within the same limits as the rest (``micro.micro_shapes``)."""
    return within_limits(kind, [(c, c, size) for c in UNBLOCKED_CHANNELS for size in SIZES])


def ort_benches(threads: int) -> list[OrtBench]:
    """Every layer microbenchmark, deployed (BatchNorm folded, ReLU fused), the unblocked widths and the
    activation probes."""
    layers = [ort_bench(kind, shape, micro_graph(kind, *shape, fused=True), threads)
              for kind in (*KINDS, *POOLS, *TOKEN_KINDS) for shape in micro_shapes(kind)]
    unblocked = [ort_bench(f"unblocked/{kind}", shape, micro_graph(kind, *shape, fused=True), threads)
                 for kind in UNBLOCKED_KINDS for shape in unblocked_shapes(kind)]
    acts = [ort_bench(f"act/{a}", shape, act_graph(a, shape), threads) for a in act_probes() for shape in ACT_SHAPES]
    return layers + unblocked + acts


def unblocked_figures(seconds: dict[Job, float], peak: float) -> dict[str, Any]:
    """The ``Hardware`` fields of the unblocked kernels: per kind, time = fixed + work / rate, as for the rest."""
    efficiency, fixed = {}, {}
    for kind in UNBLOCKED_KINDS:
        shapes = unblocked_shapes(kind)
        overhead, rate = fit_fixed_and_rate([micro_work(kind, *sh) for sh in shapes],
                                            [seconds[(f"unblocked/{kind}", sh)] for sh in shapes])
        efficiency[kind], fixed[kind] = min(1.0, rate / peak), 1e6 * overhead
    return {"unblocked_multiple": CHANNEL_MULTIPLE, "unblocked_efficiency": efficiency,
            "unblocked_overhead_us": fixed}


def run_ort_rounds(items: list[OrtBench], rounds: int, rng: random.Random,
                   after_round: Callable[[int], None]) -> dict[Job, list[float]]:
    """Each microbenchmark ``BURST`` times per round, smallest inputs first (ties in random order); per round,
    the seconds of the layer's own kernels in the last run of its burst."""
    warmup = 2
    in_rounds(items, rounds, rng, after_round, run=OrtBench.run, size=lambda b: b.numel, warmup=warmup, burst=BURST)
    runs = warmup + BURST * rounds
    return {(b.kind, b.shape): layer_seconds(b.profiled.events(), runs, first_layer(b.kind))[warmup + BURST - 1::BURST]
            for b in items}


LAYOUT = ("ReorderInput", "ReorderOutput")  # what ORT adds around a lone NCHWc layer


def first_layer(kind: str) -> int:
    """The graph layer a microbenchmark times: 1 for a token kind (layer 0 reads the map as tokens), else 0."""
    return 1 if kind in TOKEN_KINDS else 0


def layer_seconds(events: list[dict[str, Any]], runs: int, first: int = 0) -> list[float]:
    """Per run, the summed kernel time of the microbenchmark's layer: every node but the layout reorders and the
    nodes of graph layers before ``first`` (a token kind's ``tokens`` view); a node writing the graph's output
    is named after it, not after its layer, and counts."""
    per_run = len(events) // runs
    out = []
    for start in range(0, per_run * runs, per_run):
        mine = [e for e in events[start:start + per_run] if e.get("args", {}).get("op_name") not in LAYOUT
                and not _before(e, first)]
        out.append(sum(own_seconds(e) for e in mine))
    return out


def _before(event: dict[str, Any], first: int) -> bool:
    """Whether a profiled node belongs to a graph layer before ``first`` (a node ORT added belongs to none)."""
    index = node_layer(str(event.get("name", "")).removesuffix("_kernel_time"))
    return index is not None and index < first


def calibrate(threads: int, bandwidth: CopyBandwidth, step: Callable[[int], None]) -> Hardware:
    """A profile of this host under ORT: each one-layer model's kernel time in ORT's profiler (``quiet_mean`` of
    its rounds); weights move at ``bandwidth`` (DRAM), inputs and outputs at the bandwidth of a copy the size of
    the largest microbenchmark input, both sampled through the rounds."""
    items = ort_benches(threads)
    activations = CopyBandwidth(MAX_MICRO_ELEMENTS)
    step(1)
    samples = run_ort_rounds(items, CALIBRATION_ROUNDS, random.Random(0),
                             sampling_rounds(bandwidth, activations, step=step))
    trivial = node_seconds()
    # no node costs less than a trivial one: a small layer's kernel time, less the profiler's share, can read 0
    times = {job: max(quiet_mean(t), trivial) for job, t in samples.items()}
    hw = fit_profile(times, bandwidth.value(), trivial, elementwise=False)
    rates = {**hw.activation_rates, **activation_rates(times)}
    return replace(hw, activation_rates=rates, activation_bandwidth_bytes_per_s=activations.value(),
                   measured={"round_spread": round(round_spread(samples), 4)},
                   **unblocked_figures(times, hw.peak_mult_adds_per_s))


LARGE_INPUT = 1 << 18  # elements (1 MiB fp32): a map that passes the L2 of this host's cores


def round_spread(samples: dict[Job, list[float]]) -> float:
    """How unsteady the machine was: over the microbenchmarks whose input passes the L2 (they share the last-level
    cache with other tenants), the median of (75th − 25th percentile) / median of their per-round times. About
    0.05 on a quiet machine here, 0.19–0.20 while another tenant was busy (two calibrations then predicted up to
    8% apart)."""
    spreads = []
    for (kind, shape), times in samples.items():
        if kind in KINDS and shape[0] * shape[2] ** 2 >= LARGE_INPUT and len(times) >= 4 and min(times) > 0:
            quartiles = statistics.quantiles(times, n=4)
            spreads.append((quartiles[2] - quartiles[0]) / statistics.median(times))
    return statistics.median(spreads) if spreads else 0.0
