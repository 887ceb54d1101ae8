"""Eager torch: mobcost's torch build of a graph run as it is (BatchNorm and activations as passes of their
own), timed whole and per layer with forward hooks, and calibrated by timing the shared microbenchmarks
(:mod:`mobcost.measure.micro`) as eager modules plus BatchNorm and ReLU apart, and each other activation as a
pass of its own (its extra time over the ReLU pass)."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from ..explore.hardware import Hardware
from ..graph import Graph
from ..layers.base import activation_part
from ..measure.fit import activation_rates, fit_profile
from ..measure.micro import ACT_SHAPES, ELEMENTWISE, KINDS, POOLS, TOKEN_KINDS, act_probes, micro_node, micro_shapes
from ..measure.runtime import Job
from ..measure.schedule import CALIBRATION_ROUNDS, in_rounds, median_seconds
from ..torchside import require_torch
from ..torchside.build import graph_module, layer_module, part_module, sample_input
from ..torchside.host import CopyBandwidth, prepare_timing


@dataclass(frozen=True)
class Bench:
    kind: str
    shape: tuple[int, int, int]
    module: nn.Module
    x: torch.Tensor

    def seconds(self) -> float:
        # Write the input first, untimed: inside a network a layer reads what the layer before it has just
        # written (in cache), not a tensor last touched a round ago.
        self.x.mul_(1.0)
        start = time.perf_counter()
        self.module(self.x)
        return time.perf_counter() - start


def micro_module(kind: str, cin: int, cout: int, size: int) -> nn.Module:
    """One layer as the torch build of a network runs it (``build.layer_module``); BatchNorm, ReLU and the other
    activations (``act/<name>``, in place where the build's is) alone."""
    if kind == "bn":
        return nn.BatchNorm2d(cin)
    if kind == "relu":
        return nn.ReLU(inplace=True)
    if kind.startswith("act/"):
        return part_module(activation_part(kind.removeprefix("act/"))[0])
    return layer_module(micro_node(kind, cin, cout, size))


def micro_input(kind: str, cin: int, size: int) -> torch.Tensor:
    """A microbenchmark's input: a C×size×size map, or for a token kind the (1, N, C) sequence torch's token
    layers take (``size`` is N)."""
    return torch.randn(1, size, cin) if kind in TOKEN_KINDS else torch.randn(1, cin, size, size)


def jobs() -> list[Job]:
    """Every microbenchmark eager torch times: the shared ones, BatchNorm and ReLU, and the activation passes."""
    shared = [(kind, sh) for kind in (*KINDS, *POOLS, *ELEMENTWISE, *TOKEN_KINDS) for sh in micro_shapes(kind)]
    return shared + [(f"act/{a}", sh) for a in act_probes() for sh in ACT_SHAPES]


def benches() -> list[Bench]:
    return [Bench(kind, (cin, cout, size), micro_module(kind, cin, cout, size).eval(), micro_input(kind, cin, size))
            for kind, (cin, cout, size) in jobs()]


def run_rounds(items: list[Bench], rounds: int, rng: random.Random,
               after_round: Callable[[int], None]) -> dict[Job, list[float]]:
    """Each microbenchmark once per round, smallest inputs first; per-call wall times."""
    with torch.no_grad():
        times = in_rounds(items, rounds, rng, after_round, run=Bench.seconds, size=lambda b: b.x.numel())
    return {(b.kind, b.shape): t for b, t in zip(items, times, strict=True)}


def call_seconds() -> float:
    """The fixed cost of a layer call with no arithmetic to speak of: a BatchNorm or ReLU on a tiny map."""
    x = torch.randn(1, 8, 2, 2)
    return statistics.median(median_seconds(lambda m=m: m(x), warmup=20, repeats=101)
                             for m in (nn.BatchNorm2d(8).eval(), nn.ReLU(), nn.Identity()))


class TorchSubject:
    """Eager torch: per-layer times from forward hooks around each layer's module."""

    def __init__(self, graph: Graph) -> None:
        self.model, self.x = graph_module(graph), sample_input(graph)
        self.samples: list[list[float]] = [[] for _ in graph.nodes]

    def run(self) -> Any:
        with torch.no_grad():
            return self.model(self.x)

    def profile_round(self) -> None:
        for samples, new in zip(self.samples, per_layer(self.model, self.x), strict=True):
            samples += new

    def layer_samples(self) -> list[list[float]]:
        return self.samples


def per_layer(model: nn.Module, x: torch.Tensor, runs: int = 5) -> list[list[float]]:
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


class TorchRuntime:
    """Eager torch, as the :class:`~mobcost.measure.runtime.Runtime` protocol names it."""

    name = "torch"
    timed = "the median wall time"
    default_overhead = "a BatchNorm or ReLU call on a tiny map"
    calibration_seconds = 30
    summary = staticmethod(statistics.median)

    def require(self) -> None:
        require_torch()

    def version(self) -> str:
        return str(torch.__version__)

    def key_parts(self) -> tuple[str, ...]:
        return (self.version(),)

    def export(self, graph: Graph) -> bytes:
        from ..errors import OptionError

        raise OptionError("eager torch has no model file; use onnxruntime or litert", where="--runtime")

    def prepare(self, threads: int) -> None:
        prepare_timing(threads)

    def subject(self, graph: Graph, threads: int) -> TorchSubject:
        return TorchSubject(graph)

    def benches(self, threads: int) -> list[Bench]:
        return benches()

    def calibrate(self, threads: int, step: Callable[[int], None]) -> Hardware:
        copy, call_s = CopyBandwidth(), call_seconds()
        for _ in range(UP_FRONT):  # not between rounds: each runs a layer once, and a 64 MiB copy leaves it cold
            copy.sample()
        step(1)
        samples = run_rounds(self.benches(threads), CALIBRATION_ROUNDS, random.Random(0), lambda _: step(1))
        times = {job: statistics.median(t) for job, t in samples.items()}
        hw = fit_profile(times, copy.value(), call_s)
        return replace(hw, activation_rates={**hw.activation_rates, **activation_rates(times, baseline="relu")})


UP_FRONT = 5  # bandwidth samples before the rounds

RUNTIME = TorchRuntime()
