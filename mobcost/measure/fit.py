"""A hardware profile fitted to microbenchmark times: per layer kind, time = fixed + work / rate; the peak is
the fastest kind's rate and each kind's efficiency its rate / peak. Runtime-independent: each runtime hands
over its times, keyed by microbenchmark."""

from __future__ import annotations

from ..explore.hardware import Hardware
from .micro import ACT_SHAPES, ELEMENTWISE, KINDS, POOLS, act_probes, micro_shapes, micro_work
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


def fit_fixed_and_two_rates(work: list[float], other: list[float], seconds: list[float]) -> tuple[float, float, float]:
    """Fit seconds ≈ fixed + work / rate + other / other_rate, minimising relative error; returns (fixed seconds,
    rate, other_rate), other_rate 0 when the fit finds no positive cost for ``other`` (or a negative fixed cost):
    then the fit of ``work`` alone."""
    # Weighted least squares on 1 ≈ fixed·(1/t) + (1/rate)·(w/t) + (1/other_rate)·(o/t): a 3×3 linear system.
    rows = [(1 / t, w / t, o / t) for w, o, t in zip(work, other, seconds, strict=True)]
    scale = [max(abs(r[i]) for r in rows) or 1.0 for i in range(3)]  # columns of like size: a well-posed system
    rows = [tuple(r[i] / scale[i] for i in range(3)) for r in rows]
    gram = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
    x = solve3(gram, [sum(r[i] for r in rows) for i in range(3)])
    fixed, inverse, inverse_other = (x[i] / scale[i] for i in range(3))
    # ``other`` must cost something measurable: at least 1% of some shape's time (not a rounding residue)
    if fixed < 0 or inverse <= 0 or inverse_other <= 0 or max(r[2] for r in rows) * scale[2] * inverse_other < 0.01:
        return (*fit_fixed_and_rate(work, seconds), 0.0)
    return fixed, 1 / inverse, 1 / inverse_other


def solve3(a: list[list[float]], b: list[float]) -> tuple[float, float, float]:
    """x with a·x = b for a 3×3 ``a`` (Cramer's rule); (-1, 0, 0) when ``a`` is singular (too few shapes)."""
    def det(m: list[list[float]]) -> float:
        return (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))

    whole = det(a)
    if not whole:
        return -1.0, 0.0, 0.0
    x = [det([[b[i] if j == k else a[i][j] for j in range(3)] for i in range(3)]) / whole for k in range(3)]
    return x[0], x[1], x[2]


def attention_fit(seconds: dict[Job, float]) -> tuple[float, float, float]:
    """(fixed seconds, Mult-Adds per second, score elements per second) of the attention layers: their time is
    fixed + Mult-Adds / rate + h·N² / softmax rate (the softmax and the products' small-d matrices cost more per
    Mult-Add as N grows and heads narrow); the score rate is 0 when the timings show no such cost."""
    shapes = micro_shapes("attention")
    return fit_fixed_and_two_rates([micro_work("attention", *sh) for sh in shapes],
                                   [heads * n * n for _, heads, n in shapes],
                                   [seconds[("attention", sh)] for sh in shapes])


def fit_profile(seconds: dict[Job, float], bandwidth: float, call_s: float, elementwise: bool = True) -> Hardware:
    """A profile from one set of microbenchmark times: per kind, time = fixed + work / rate; with
    ``elementwise`` (a runtime that does not fuse them), the BatchNorm and ReLU pass."""
    fixed, rates = {}, {}
    for kind in (*KINDS, *POOLS, "linear", "ln"):
        shapes = micro_shapes(kind)
        fixed[kind], rates[kind] = fit_fixed_and_rate([micro_work(kind, *sh) for sh in shapes],
                                                      [seconds[(kind, sh)] for sh in shapes])
    fixed["attention"], rates["attention"], softmax = attention_fit(seconds)
    # the fastest kind whose work is Mult-Adds (a GEMM on tokens can outrun the 1×1 convolution)
    peak = max(rates[kind] for kind in (*KINDS, "linear", "attention"))
    common = {"name": "this host", "peak_mult_adds_per_s": peak, "bandwidth_bytes_per_s": bandwidth,
              "overhead_us": 1e6 * call_s, "overhead_us_by_type": {k: 1e6 * v for k, v in fixed.items()},
              "efficiency": {k: v / peak for k, v in rates.items()},
              "activation_rates": {"softmax": softmax} if softmax else {}}
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
