"""Measured latency on this CPU with torch: whole networks and each layer (forward hooks).

Warm-up, then the median of all runs over several interleaved rounds, fixed threads, ``torch.no_grad``,
the allocator settled (``settle_allocator``); results are cached per (spec, α, resolution, threads,
torch version) in :mod:`.cache`. Calibration takes medians over rounds spread in time too.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..explore.hardware import Hardware, predict_layers
from ..graph import Graph
from .build import graph_module, sample_input
from .cache import cache_key, open_cache, store, valid_entry


def prepare_timing(threads: int) -> None:
    """Fix torch's thread count and settle the allocator (see ``settle_allocator``)."""
    torch.set_num_threads(threads)
    settle_allocator()


def settle_allocator() -> None:
    """Free one large block, so glibc's malloc stops handing memory back to the OS after every pass.

    glibc raises its mmap and trim thresholds the first time it frees an mmapped block of up to 32 MiB.
    Until then, a network whose activations top ~1 MiB returns memory after each forward pass and
    page-faults it back in on the next: 0 to 2,900 faults per pass across the 16 MobileNets here, +0–30%
    time, erratic from one size to the next. Timing with the allocator settled measures the network, not
    that heuristic; other allocators are unaffected.
    """
    torch.empty(31 << 20, dtype=torch.uint8).fill_(0)


def run_seconds(run: Callable[[], Any], *, warmup: int = 3, repeats: int = 31, budget_s: float = 1.0) -> list[float]:
    """Wall times of ``run`` after warm-up; fewer repeats when one run is slow (at least 7)."""
    with torch.no_grad():
        for _ in range(warmup):
            run()
        times: list[float] = []
        while len(times) < repeats and (len(times) < 7 or sum(times) < budget_s):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    return times


def median_seconds(run: Callable[[], Any], **kwargs: Any) -> float:
    """Median wall time of ``run`` (see ``run_seconds``)."""
    return statistics.median(run_seconds(run, **kwargs))


@dataclass(frozen=True)
class Measurement:
    total_s: float  # the whole forward pass, median
    layers_s: list[float]  # each layer, median over profiled runs; empty when the runtime cannot time layers


MEASURE_ROUNDS = 5


def measure(graph: Graph, threads: int, *, runtime: str = "torch", use_cache: bool = True,
            progress: Callable[[int], None] | None = None) -> Measurement:
    """Time ``graph`` on the CPU under ``runtime``: whole model, then per layer; cached unless asked not to."""
    return measure_all([graph], threads, runtime=runtime, use_cache=use_cache, progress=progress)[0]


def measure_all(graphs: list[Graph], threads: int, *, runtime: str = "torch", use_cache: bool = True,
                rounds: int = MEASURE_ROUNDS, progress: Callable[[int], None] | None = None) -> list[Measurement]:
    """Time every graph in interleaved rounds, so a slow phase of a shared machine hits them all alike;
    each one's figure is the median of all its runs. ``progress(1)`` after each graph of each round."""
    cache = open_cache()
    keys = [cache_key(g, threads, runtime) for g in graphs]
    todo = [i for i, (g, k) in enumerate(zip(graphs, keys, strict=True))
            if not (use_cache and valid_entry(cache.get(k), len(g.nodes)))]
    prepare_timing(threads)
    subjects = {i: subject(graphs[i], threads, runtime) for i in todo}
    totals: dict[int, list[float]] = {i: [] for i in todo}
    for round_ in range(rounds):
        for i, timed in subjects.items():
            totals[i] += run_seconds(timed.run, warmup=3 if round_ == 0 else 1, repeats=15, budget_s=0.5)
            timed.profile_round()
            if progress:
                progress(1)
    fresh = {keys[i]: {"total_s": statistics.median(totals[i]), "layers_s": _layer_medians(subjects[i])}
             for i in todo}
    if fresh:
        store(fresh)  # merged under a lock with what other runs wrote meanwhile
    cache.update(fresh)
    return [Measurement(float(cache[k]["total_s"]), [float(x) for x in cache[k]["layers_s"]]) for k in keys]


def _layer_medians(timed: Any) -> list[float]:
    """Each layer's median seconds; empty when the runtime cannot time layers apart (LiteRT's delegate runs
    the whole network as one node)."""
    samples = timed.layer_samples()
    return [] if samples is None else [statistics.median(s) for s in samples]


def subject(graph: Graph, threads: int, runtime: str) -> Any:
    """What ``measure_all`` times: ``run()`` one forward pass, ``profile_round()`` a few passes timed per
    layer, ``layer_samples()`` every layer's times so far."""
    if runtime == "torch":
        return TorchSubject(graph)
    if runtime == "litert":
        from .litert import LitertSubject

        return LitertSubject(graph, threads)
    from .ort import OrtSubject

    return OrtSubject(graph, threads)


class TorchSubject:
    """Eager torch: per-layer times from forward hooks around each layer's module."""

    def __init__(self, graph: Graph) -> None:
        self.model, self.x = graph_module(graph), sample_input(graph)
        self.samples: list[list[float]] = [[] for _ in graph.nodes]

    def run(self) -> Any:
        return self.model(self.x)

    def profile_round(self) -> None:
        for samples, new in zip(self.samples, _per_layer(self.model, self.x), strict=True):
            samples += new

    def layer_samples(self) -> list[list[float]]:
        return self.samples


def _per_layer(model: nn.Module, x: torch.Tensor, runs: int = 5) -> list[list[float]]:
    """Each layer's wall time in ``runs`` forward passes, with forward hooks (after one warm-up pass)."""
    modules = list(model.layers.values())  # type: ignore[union-attr]
    samples: list[list[float]] = [[] for _ in modules]
    starts: dict[int, float] = {}
    handles = []
    for i, m in enumerate(modules):
        handles.append(m.register_forward_pre_hook(lambda _m, _a, i=i: starts.__setitem__(i, time.perf_counter())))
        handles.append(m.register_forward_hook(
            lambda _m, _a, _o, i=i: samples[i].append(time.perf_counter() - starts[i])))
    try:
        with torch.no_grad():
            model(x)  # warm-up with hooks in place
            for s in samples:
                s.clear()
            for _ in range(runs):
                model(x)
    finally:
        for h in handles:
            h.remove()
    return samples


@dataclass(frozen=True)
class Comparison:
    """Predicted beside measured, for one design point."""

    alpha: float
    resolution: int
    predicted_s: list[float]  # per layer
    measured: Measurement

    @property
    def predicted_total_s(self) -> float:
        return sum(self.predicted_s)


def compare_grid(graphs: list[Graph], hw: Hardware, threads: int, *, runtime: str = "torch", use_cache: bool = True,
                 progress: Callable[[int], None] | None = None) -> list[Comparison]:
    """Predicted beside measured for each graph (measured in interleaved rounds, see ``measure_all``)."""
    measured = measure_all(graphs, threads, runtime=runtime, use_cache=use_cache, progress=progress)
    return [Comparison(g.alpha, g.resolution, predict_layers(g, hw), m) for g, m in zip(graphs, measured, strict=True)]
