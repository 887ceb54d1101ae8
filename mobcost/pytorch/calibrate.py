"""Calibration: a host hardware profile from microbenchmarks, never from the networks it predicts.

It times single layers of generic shapes — 1×1 convolutions (GEMM), depthwise and full convolutions at
strides 1 and 2, fully connected, pooling, BatchNorm and ReLU — run one after another as inside a
network, plus memory bandwidth (a large copy) and the fixed cost of a call, and writes a hardware profile
(peak = the fastest rate, each kind's efficiency = its rate / peak, its fixed cost, the BatchNorm/ReLU
pass). Each microbenchmark is a one-layer spec, so its work and its torch module come from the same
registry as the networks'.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import MobcostError, OptionError
from ..explore.hardware import Hardware, load_hardware
from ..files import write_atomic
from ..graph import build
from ..ir import Node
from ..layers import REGISTRY
from ..spec import parse_spec
from ..units import plural
from .build import layer_module
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
            if _micro_work(kind, *sh) <= MAX_MICRO_MULT_ADDS and sh[0] * sh[2] ** 2 <= MAX_MICRO_ELEMENTS]


def _stride(kind: str) -> int:
    return 2 if kind.endswith("/s2") or kind == "maxpool" else 1


def _kernel(kind: str) -> int:
    """The kernel of a convolution kind: ``/k<n>`` in its name, else 3 (1 for ``pw``)."""
    for part in kind.split("/")[1:]:
        if part.startswith("k"):
            return int(part[1:])
    return 1 if kind == "pw" else 3


def _layer_yaml(kind: str, cout: int) -> str:
    """A microbenchmark as one spec layer: the convolution alone (its BatchNorm and ReLU are timed apart)."""
    base, stride, k = kind.split("/")[0], _stride(kind), _kernel(kind)
    return {"pw": f"{{type: pw, out: {cout}, bn: false, act: none}}",
            "dw": f"{{type: dw, kernel: {k}, stride: {stride}, bn: false, act: none}}",
            "conv": f"{{type: conv, out: {cout}, kernel: {k}, stride: {stride}, bn: false, act: none}}",
            "fc": f"{{type: fc, out: {cout}}}",
            "avgpool": "{type: avgpool}",
            "maxpool": f"{{type: maxpool, kernel: 3, stride: {stride}, padding: {1 if stride == 1 else 0}}}"}[base]


@functools.cache  # each shape is asked for when filtering, building and fitting
def _micro_node(kind: str, cin: int, cout: int, size: int) -> Node:
    """The graph node of a layer microbenchmark, so its work and its torch module come from the same
    registry and builders as the networks'."""
    text = f"input: {{channels: {cin}, size: {size}}}\nlayers:\n  - {_layer_yaml(kind, cout)}\n"
    return build(parse_spec(text, file=f"<microbenchmark {kind}>")).nodes[0]


def _micro_work(kind: str, cin: int, cout: int, size: int) -> int:
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


def run_rounds(items: list[Bench], rounds: int, rng: random.Random,
               after_round: Callable[[int], None]) -> dict[Job, list[float]]:
    """Each microbenchmark once per round, smallest inputs first; per-call wall times."""
    samples: dict[Job, list[float]] = {(b.kind, b.shape): [] for b in items}
    with torch.no_grad():
        for b in items:  # warm-up: first calls pay for setup (kernel choice, weight layout)
            b.seconds()
        for round_ in range(rounds):
            for b in sorted(items, key=lambda b: (b.x.numel(), rng.random())):
                samples[(b.kind, b.shape)].append(b.seconds())
            after_round(round_)
    return samples


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


def calibrate(threads: int, advance: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Measure this machine; returns the profile as a YAML-ready mapping.

    ``advance(1)`` is called after the setup and after each of ``CALIBRATION_ROUNDS`` rounds.
    """
    step = advance or (lambda n: None)
    prepare_timing(threads)
    bandwidth, call_s = _bandwidth(), _call_seconds()
    step(1)
    samples = run_rounds(benches(), CALIBRATION_ROUNDS, random.Random(0), lambda _: step(1))
    hw = _fit({job: statistics.median(times) for job, times in samples.items()}, bandwidth, call_s)
    rates = {k: hw.peak_mult_adds_per_s * e for k, e in hw.efficiency.items()}
    peak, fixed = hw.peak_mult_adds_per_s, hw.overhead_us_by_type
    today = dt.date.today().isoformat()
    where = (f"measured on {platform.node() or 'this host'} {today}, {plural(threads, 'thread')}, "
             f"torch {torch.__version__!s}")
    return {
        "name": f"this host ({platform.machine()}, {plural(threads, 'thread')}, torch eager)",
        "description": "calibrated by `mobcost calibrate` with torch microbenchmarks",
        "dtype": "fp32",
        "peak_mult_adds_per_s": float(f"{peak:.4g}"),
        "bandwidth_bytes_per_s": float(f"{bandwidth:.4g}"),
        "overhead_us": {"default": round(hw.overhead_us, 2), **{k: round(v, 2) for k, v in fixed.items()}},
        # a fraction of the peak (at most 1: pooling's window reads can outrun the slowest convolutions)
        "efficiency": {k: float(f"{min(1.0, v / peak):.4g}") for k, v in rates.items()},
        "elementwise": {"overhead_us": round(hw.elementwise_overhead_us or 0.0, 2),
                        "bytes_per_s": float(f"{hw.elementwise_bytes_per_s:.4g}")},
        "sources": {
            "peak_mult_adds_per_s": f"fastest layer-type rate fitted to microbenchmarks, {where}",
            "bandwidth_bytes_per_s": f"64 MiB tensor copy, read + write, {where}",
            "overhead_us": "per layer type, the fixed cost of t = fixed + work / rate fitted to single layers "
                           f"of {len(CHANNELS)} channel counts × {len(SIZES)} feature sizes, run in sequence, "
                           f"median of {CALIBRATION_ROUNDS} rounds, not the networks predicted; "
                           f"default: a BatchNorm or ReLU call on a tiny map, {where}",
            "elementwise": "BatchNorm (eval) and in-place ReLU on the same maps, one fit of t = fixed + "
                           f"elements / rate; bytes_per_s counts a read and a write of fp32, {where}",
            "efficiency": f"each layer type's fitted rate / peak (pooling: window reads per second / peak), {where}",
        },
        "measured": {"date": today, "threads": threads, "torch": str(torch.__version__),
                     "machine": platform.machine(),
                     # Mult-Adds per second; for pooling, window reads per second
                     "work_per_s": {k: float(f"{v:.4g}") for k, v in rates.items()}},
    }


def _fit(seconds: dict[Job, float], bandwidth: float, call_s: float) -> Hardware:
    """A profile from one set of microbenchmark times: per kind, time = fixed + work / rate."""
    fixed, rates = {}, {}
    for kind in (*KINDS, *POOLS):
        shapes = micro_shapes(kind)
        fixed[kind], rates[kind] = fit_fixed_and_rate([_micro_work(kind, *sh) for sh in shapes],
                                                      [seconds[(kind, sh)] for sh in shapes])
    peak = max(rates[kind] for kind in KINDS)
    # BatchNorm and ReLU share one fit: the profile charges each such op a pass over the layer's output.
    jobs = [(kind, sh) for kind in ELEMENTWISE for sh in micro_shapes(kind)]
    pass_s, elements_per_s = fit_fixed_and_rate([_micro_work(job[0], *job[1]) for job in jobs],
                                                [seconds[job] for job in jobs])
    return Hardware(name="this host", peak_mult_adds_per_s=peak, bandwidth_bytes_per_s=bandwidth,
                    overhead_us=1e6 * call_s, overhead_us_by_type={k: 1e6 * v for k, v in fixed.items()},
                    efficiency={k: v / peak for k, v in rates.items()}, elementwise_overhead_us=1e6 * pass_s,
                    elementwise_bytes_per_s=elements_per_s * 2 * 4)  # read + write, fp32


def config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "mobcost"


def host_profile_path(threads: int) -> Path:
    return config_dir() / f"host-{threads}t.yaml"


def check_profile_path(path: Path, where: str | None = None) -> None:
    """Before calibrating: the profile's folder exists or can be made, and can be written; the path is not a
    folder. A one-line error now rather than after 25 s of timing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise OptionError("is a directory", file=str(path), where=where)
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise OptionError("cannot write a profile in this folder (set XDG_CONFIG_HOME, or use --output)",
                              file=str(path.parent), where=where)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise OptionError(f"cannot keep a profile here: {reason} (set XDG_CONFIG_HOME, or use --output)",
                          file=str(path.parent), where=where) from None


def _numbers(value: Any, key: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _numbers(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, float):
        yield key, value


def save_profile(profile: dict[str, Any], path: Path, where: str | None = None) -> None:
    """Write a calibrated profile; one whose timings gave a non-finite or negative figure is refused."""
    import yaml

    check_profile_path(path, where)
    for key, number in _numbers(profile):
        if not math.isfinite(number) or number < 0:
            raise OptionError(f"calibration measured {key} = {number}; nothing written: run `mobcost calibrate` "
                              "again (on a quieter machine)", file=str(path), where=where)
    header = "# Written by `mobcost calibrate`: microbenchmarks of this machine (not of any network).\n"
    write_atomic(path, header + yaml.safe_dump(profile, sort_keys=False, allow_unicode=True))


def host_profile(threads: int, advance: Callable[[int], None] | None = None) -> Hardware:
    """The host profile for ``threads``, calibrating first if there is none."""
    path = host_profile_path(threads)
    if not path.exists():
        check_profile_path(path)
        save_profile(calibrate(threads, advance), path)
    try:
        return load_hardware(path)
    except MobcostError as exc:  # a damaged profile: say how to get a good one back
        raise type(exc)(f"{exc.message} (this host's profile: run `mobcost calibrate --threads {threads}` to "
                        "measure it again)", file=exc.file, line=exc.line, column=exc.column, where=exc.where) from None
