"""Calibration: a host hardware profile from microbenchmarks, never from the networks it predicts.

It times single layers of generic shapes — 1×1 convolutions (GEMM), depthwise and full convolutions at
strides 1 and 2, fully connected, pooling, BatchNorm and ReLU — run one after another as inside a
network, plus memory bandwidth (a large copy) and the fixed cost of a call, and writes a hardware profile
(peak = the fastest rate, each kind's efficiency = its rate / peak, its fixed cost, the BatchNorm/ReLU
pass). Each microbenchmark is a one-layer spec, so its work and its torch module come from the same
registry as the networks'.
"""

from __future__ import annotations

import functools
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import torch
from torch import nn

from ..errors import MobcostError
from ..explore.hardware import Hardware, load_hardware
from ..graph import Graph, build
from ..ir import Node
from ..layers import REGISTRY
from ..spec import parse_spec
from .build import layer_module
from .profiles import check_profile_path, host_profile_path, profile_doc, save_profile
from .timing import median_seconds, prepare_timing

# type's fixed cost and rate can be fitted; none is read off a bundled network.
CHANNELS = (16, 64, 256, 1024)
SIZES = (4, 14, 56)
MAX_MICRO_MULT_ADDS = 400e6  # keep each microbenchmark short
MAX_MICRO_ELEMENTS = 1 << 20  # no input beyond the largest activations of mobile networks (4 MiB fp32)


# Layer kinds calibrated apart (profile keys): strided depthwise and full convolutions run at other rates
# than stride 1 (their cost follows the input more than the output), larger kernels do more work per
# byte (5×5 depthwise as in MnasNet, 5×5 and 7×7 convolutions as in GoogLeNet), and a 3-channel image
# input is a case of its own. Kernels not calibrated fall back to the 3×3 figures.
KINDS = ("pw", "dw", "dw/s2", "dw/k5", "dw/k5/s2", "conv", "conv/s2", "conv/k5", "conv/k7/s2", "fc")
# No Mult-Adds: their work is window reads (formulas' ``work``). "maxpool" is 3×3/2, "maxpool/s1" 3×3/1.
POOLS = ("avgpool", "maxpool", "maxpool/s1")
# BatchNorm (eval) and in-place ReLU, timed apart from the convolutions: eager torch runs each as a pass
# over the layer's output, and networks differ in which layers have them (AlexNet and VGG have no BN).
ELEMENTWISE = ("bn", "relu")


def micro_shapes(kind: str) -> list[tuple[int, int, int]]:
    """(in channels, out channels, input size) for each microbenchmark of a kind."""
    if kind == "fc":
        return [(c, c, 1) for c in CHANNELS] + [(4096, 1000, 1), (4096, 4096, 1)]
    shapes = [(c, c, s) for c in CHANNELS for s in SIZES]
    if kind.startswith("conv/") and kind.endswith("/s2"):
        shapes += [(3, c, s) for c in (16, 32, 64) for s in (64, 128, 256)]  # image inputs
    return [sh for sh in shapes
            if micro_work(kind, *sh) <= MAX_MICRO_MULT_ADDS and sh[0] * sh[2] ** 2 <= MAX_MICRO_ELEMENTS]


def _stride(kind: str) -> int:
    return 2 if kind.endswith("/s2") or kind == "maxpool" else 1


def _kernel(kind: str) -> int:
    """The kernel of a convolution kind: ``/k<n>`` in its name, else 3 (1 for ``pw``)."""
    for part in kind.split("/")[1:]:
        if part.startswith("k"):
            return int(part[1:])
    return 1 if kind == "pw" else 3


def _layer_yaml(kind: str, cout: int, fused: bool) -> str:
    """A microbenchmark as one spec layer: the convolution alone (its BatchNorm and ReLU are timed apart), or
    for a runtime that fuses them (``fused``) the convolution with its BatchNorm and ReLU, as deployed."""
    base, stride, k = kind.split("/")[0], _stride(kind), _kernel(kind)
    extra = "bn: true, act: relu" if fused else "bn: false, act: none"
    return {"pw": f"{{type: pw, out: {cout}, {extra}}}",
            "dw": f"{{type: dw, kernel: {k}, stride: {stride}, {extra}}}",
            "conv": f"{{type: conv, out: {cout}, kernel: {k}, stride: {stride}, {extra}}}",
            "fc": f"{{type: fc, out: {cout}}}",
            "avgpool": "{type: avgpool}",
            "maxpool": f"{{type: maxpool, kernel: 3, stride: {stride}, padding: {1 if stride == 1 else 0}}}"}[base]


@functools.cache  # each shape is asked for when filtering, building and fitting
def micro_graph(kind: str, cin: int, cout: int, size: int, fused: bool = False) -> Graph:
    """The one-layer graph of a microbenchmark, so its work and its torch module (and ONNX export) come from
    the same registry and builders as the networks'."""
    text = f"input: {{channels: {cin}, size: {size}}}\nlayers:\n  - {_layer_yaml(kind, cout, fused)}\n"
    return build(parse_spec(text, file=f"<microbenchmark {kind}>"))


def _micro_node(kind: str, cin: int, cout: int, size: int) -> Node:
    return micro_graph(kind, cin, cout, size).nodes[0]


def micro_work(kind: str, cin: int, cout: int, size: int) -> int:
    """The work of one microbenchmark (formulas' ``work``); for BatchNorm and ReLU, the elements."""
    if kind in ELEMENTWISE:
        return cin * size * size
    node = _micro_node(kind, cin, cout, size)
    return REGISTRY[node.type].work(node)


def _micro_module(kind: str, cin: int, cout: int, size: int) -> nn.Module:
    """One layer as the torch build of a network runs it (``build.layer_module``); BatchNorm and ReLU alone."""
    if kind == "bn":
        return nn.BatchNorm2d(cin)
    if kind == "relu":
        return nn.ReLU(inplace=True)
    node = _micro_node(kind, cin, cout, size)
    return layer_module(node)


T = TypeVar("T")
R = TypeVar("R")

# Microbenchmarks run as one long sequence, each layer once per round, ordered by input size (ties in
# random order) so each runs after other layers of its scale, as inside a network: weights, code paths
# and allocator state are as cold as there. Timed alone in a tight loop, the same layers ran 1.2–1.4×
# faster than in a network, and 20–35% of MobileNet's time went unpredicted.
CALIBRATION_ROUNDS = 120


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


def benches() -> list[Bench]:
    out = []
    for kind in (*KINDS, *POOLS, *ELEMENTWISE):
        for cin, cout, size in micro_shapes(kind):
            x = torch.randn(1, cin, size, size)
            out.append(Bench(kind, (cin, cout, size), _micro_module(kind, cin, cout, size).eval(), x))
    return out


Job = tuple[str, tuple[int, int, int]]  # a microbenchmark: (kind, (in channels, out channels, input size))


def in_rounds(items: Sequence[T], rounds: int, rng: random.Random, after_round: Callable[[int], None], *,
              run: Callable[[T], R], size: Callable[[T], int], warmup: int = 1, burst: int = 1) -> list[list[R]]:
    """The schedule every runtime's microbenchmarks share: each item ``warmup`` times (first runs pay for setup:
    kernel choice, weight packing), then ``rounds`` rounds, each running every item ``burst`` times in a row,
    smallest ``size`` first (ties in random order); per item, what the last run of each burst returned."""
    for item in items:
        for _ in range(warmup):
            run(item)
    results: list[list[R]] = [[] for _ in items]
    for round_ in range(rounds):
        for i in sorted(range(len(items)), key=lambda i: (size(items[i]), rng.random())):
            for _ in range(burst):
                value = run(items[i])
            results[i].append(value)
        after_round(round_)
    return results


def run_rounds(items: list[Bench], rounds: int, rng: random.Random,
               after_round: Callable[[int], None]) -> dict[Job, list[float]]:
    """Each microbenchmark once per round, smallest inputs first; per-call wall times."""
    with torch.no_grad():
        times = in_rounds(items, rounds, rng, after_round, run=Bench.seconds, size=lambda b: b.x.numel())
    return {(b.kind, b.shape): t for b, t in zip(items, times, strict=True)}


def fit_fixed_and_rate(work: list[float], seconds: list[float]) -> tuple[float, float]:
    """Fit seconds ≈ fixed + work / rate, minimising relative error; returns (fixed seconds, rate)."""
    # Weighted least squares on 1 ≈ fixed·(1/t) + (1/rate)·(w/t): a 2×2 linear system.
    a = [(1 / t, w / t) for w, t in zip(work, seconds, strict=True)]
    s11 = sum(x * x for x, _ in a)
    s12 = sum(x * y for x, y in a)
    s22 = sum(y * y for _, y in a)
    b1, b2 = sum(x for x, _ in a), sum(y for _, y in a)
    det = s11 * s22 - s12 * s12
    fixed, inverse_rate = ((b1 * s22 - b2 * s12) / det, (s11 * b2 - s12 * b1) / det) if det else (-1.0, 0.0)
    if fixed < 0 or inverse_rate <= 0:  # no measurable fixed cost (or one shape only): the rate alone
        fixed, inverse_rate = 0.0, b2 / s22
    return fixed, 1 / inverse_rate


def _call_seconds() -> float:
    """The fixed cost of a layer call with no arithmetic to speak of: a BatchNorm or ReLU on a tiny map."""
    x = torch.randn(1, 8, 2, 2)
    return statistics.median(median_seconds(lambda m=m: m(x), warmup=20, repeats=101)
                             for m in (nn.BatchNorm2d(8).eval(), nn.ReLU(), nn.Identity()))


def _bandwidth() -> float:
    """Bytes per second of a 64 MiB copy (read + write)."""
    src = torch.ones(16 << 20)
    dst = torch.empty_like(src)
    return 2 * src.numel() * 4 / median_seconds(lambda: dst.copy_(src), repeats=10)


CALIBRATION_STEPS = CALIBRATION_ROUNDS + 1  # progress units: the setup, then each round


def calibrate(threads: int, advance: Callable[[int], None] | None = None, runtime: str = "torch") -> dict[str, Any]:
    """Measure this machine under ``runtime`` (eager ``torch``, ``onnxruntime`` or ``litert``); returns the profile as a
    YAML-ready mapping. ``advance(1)`` is called after the setup and after each of ``CALIBRATION_ROUNDS`` rounds.
    """
    step = advance or (lambda n: None)
    prepare_timing(threads)
    bandwidth = _bandwidth()
    if runtime == "litert":
        return _calibrate_litert(threads, bandwidth, step)
    if runtime == "torch":
        call_s = _call_seconds()
        step(1)
        samples = run_rounds(benches(), CALIBRATION_ROUNDS, random.Random(0), lambda _: step(1))
        times = {job: statistics.median(t) for job, t in samples.items()}
        return profile_doc(_fit(times, bandwidth, call_s), threads, runtime, CALIBRATION_ROUNDS)
    from .ort import node_seconds
    from .ort_calibrate import activation_rates, ort_benches, run_ort_rounds, unblocked_figures

    items = ort_benches(threads, micro_graph)
    step(1)
    samples = run_ort_rounds(items, CALIBRATION_ROUNDS, random.Random(0), lambda _: step(1))
    times = {job: middle_mean(t) for job, t in samples.items()}
    hw = _fit(times, bandwidth, node_seconds(), elementwise=False)
    hw = replace(hw, activation_rates=activation_rates(times), **unblocked_figures(times, hw.peak_mult_adds_per_s))
    return profile_doc(hw, threads, runtime, CALIBRATION_ROUNDS)


def _calibrate_litert(threads: int, bandwidth: float, step: Callable[[int], None]) -> dict[str, Any]:
    """LiteRT has no per-op profiler: each one-layer model's invoke time less the fixed cost of an invoke."""
    from .litert_calibrate import litert_benches, node_seconds, run_litert_rounds
    from .ort_calibrate import activation_rates

    items = litert_benches(threads, micro_graph)
    step(1)
    samples = run_litert_rounds(items, CALIBRATION_ROUNDS, random.Random(0), lambda _: step(1))
    times = {job: statistics.median(t) for job, t in samples.items()}
    hw = replace(_fit(times, bandwidth, node_seconds(times), elementwise=False),
                 activation_rates=activation_rates(times))
    return profile_doc(hw, threads, "litert", CALIBRATION_ROUNDS)


def middle_mean(samples: list[float]) -> float:
    """The mean of the middle half: ORT's profiler counts whole microseconds, and averaging the middle runs
    recovers the fraction a median would round away, without the outliers of a plain mean."""
    ordered = sorted(samples)
    quarter = len(ordered) // 4
    middle = ordered[quarter: len(ordered) - quarter] or ordered
    return sum(middle) / len(middle)


def _fit(seconds: dict[Job, float], bandwidth: float, call_s: float, elementwise: bool = True) -> Hardware:
    """A profile from one set of microbenchmark times: per kind, time = fixed + work / rate; with
    ``elementwise`` (a runtime that does not fuse them), the BatchNorm and ReLU pass."""
    fixed, rates = {}, {}
    for kind in (*KINDS, *POOLS):
        shapes = micro_shapes(kind)
        fixed[kind], rates[kind] = fit_fixed_and_rate([micro_work(kind, *sh) for sh in shapes],
                                                      [seconds[(kind, sh)] for sh in shapes])
    peak = max(rates[kind] for kind in KINDS)
    common = {"name": "this host", "peak_mult_adds_per_s": peak, "bandwidth_bytes_per_s": bandwidth,
              "overhead_us": 1e6 * call_s, "overhead_us_by_type": {k: 1e6 * v for k, v in fixed.items()},
              "efficiency": {k: v / peak for k, v in rates.items()}}
    if not elementwise:
        return Hardware(**common)
    # BatchNorm and ReLU share one fit: the profile charges each such op a pass over the layer's output.
    jobs = [(kind, sh) for kind in ELEMENTWISE for sh in micro_shapes(kind)]
    pass_s, elements_per_s = fit_fixed_and_rate([micro_work(job[0], *job[1]) for job in jobs],
                                                [seconds[job] for job in jobs])
    return Hardware(**common, elementwise_overhead_us=1e6 * pass_s,
                    elementwise_bytes_per_s=elements_per_s * 2 * 4)  # read + write, fp32


def host_profile(threads: int, advance: Callable[[int], None] | None = None, runtime: str = "torch") -> Hardware:
    """The host profile for ``threads`` and ``runtime``, calibrating first if there is none."""
    path = host_profile_path(threads, runtime)
    if not path.exists():
        check_profile_path(path)
        save_profile(calibrate(threads, advance, runtime), path)
    try:
        return load_hardware(path)
    except MobcostError as exc:  # a damaged profile: say how to get a good one back
        again = f"mobcost calibrate --threads {threads} --runtime {runtime}"
        raise type(exc)(f"{exc.message} (this host's profile: run `{again}` to measure it again)", file=exc.file,
                        line=exc.line, column=exc.column, where=exc.where) from None
