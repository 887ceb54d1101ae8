"""A hardware profile fitted to microbenchmark times: per layer kind, time = fixed + work / rate; the peak is
the fastest kind's rate and each kind's efficiency its rate / peak. Runtime-independent: each runtime hands
over its times, keyed by microbenchmark."""

from __future__ import annotations

from ..explore.hardware import Hardware
from .micro import ACT_SHAPES, ELEMENTWISE, KINDS, POOLS, TOKEN_KINDS, act_probes, micro_shapes, micro_work
from .runtime import Job


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


def fit_profile(seconds: dict[Job, float], bandwidth: float, call_s: float, elementwise: bool = True) -> Hardware:
    """A profile from one set of microbenchmark times: per kind, time = fixed + work / rate; with
    ``elementwise`` (a runtime that does not fuse them), the BatchNorm and ReLU pass."""
    fixed, rates = {}, {}
    for kind in (*KINDS, *POOLS, *TOKEN_KINDS):
        shapes = micro_shapes(kind)
        fixed[kind], rates[kind] = fit_fixed_and_rate([micro_work(kind, *sh) for sh in shapes],
                                                      [seconds[(kind, sh)] for sh in shapes])
    # the fastest kind whose work is Mult-Adds (a GEMM on tokens can outrun the 1×1 convolution)
    peak = max(rates[kind] for kind in (*KINDS, "linear", "attention"))
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


def activation_rates(seconds: dict[Job, float], baseline: str = "dw") -> dict[str, float]:
    """Output elements per second of each activation's extra pass: the least-squares slope through the origin
    of (time with it − time with ReLU) against output elements; an activation no slower than ReLU is left out
    (it costs nothing extra). ``baseline`` is the job with ReLU at the same shape: the depthwise 3×3 a fusing
    runtime's probe follows, or (eager torch, which runs each activation as a pass of its own) the ReLU pass."""
    rates = {}
    for act in act_probes():
        extra = [(c * size * size, seconds[(f"act/{act}", (c, c, size))] - seconds[(baseline, (c, c, size))])
                 for c, _, size in ACT_SHAPES]
        slope = sum(e * d for e, d in extra) / sum(e * e for e, _ in extra)  # seconds per element
        if slope > 0:
            rates[act] = 1 / slope
    return rates
