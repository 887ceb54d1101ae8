"""Whole-network totals against the paper and hand arithmetic; the α² and ρ² laws; rows sum to totals."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mobcost.analysis import analyze
from mobcost.graph import resolve_resolution, scale_channels
from mobcost.spec import load_spec, parse_spec

from .conftest import SPECS

MOBILENET = load_spec(SPECS / "mobilenet_v1.yaml")


def mobilenet_by_hand(alpha: Fraction, size: int) -> tuple[int, int]:
    """MobileNetV1 Mult-Adds and params from Table 1, written out independently of mobcost's graph."""
    def c(n: int) -> int:  # ⌊α·n⌋
        return int(alpha * n)

    body = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2),
            *[(512, 512, 1)] * 5, (512, 1024, 2), (1024, 1024, 1)]  # (M, N, depthwise stride)
    f = (size + 2 - 3) // 2 + 1  # first conv, stride 2
    mult_adds = 3 * 3 * 3 * c(32) * f * f
    params = 3 * 3 * 3 * c(32)
    for m, n, s in body:
        f = (f + 2 - 3) // s + 1
        mult_adds += 3 * 3 * c(m) * f * f + c(m) * c(n) * f * f  # eq. (7)
        params += 3 * 3 * c(m) + c(m) * c(n)
    mult_adds += c(1024) * 1000  # FC after the global pool
    params += c(1024) * 1000 + 1000
    return mult_adds, params


# The paper's Tables 6–7 (and Figure 4's grid): million Mult-Adds and million params as printed.
PAPER = {(1.0, 224): (569, 4.2), (0.75, 224): (325, 2.6), (0.5, 224): (149, 1.3), (0.25, 224): (41, 0.5),
         (1.0, 192): (418, 4.2), (1.0, 160): (290, 4.2), (1.0, 128): (186, 4.2)}


def test_mobilenet_headline_figures() -> None:
    t = analyze(MOBILENET).totals
    assert (t.mult_adds, t.params) == (568_740_352, 4_210_088)  # the independent figures
    t = analyze(MOBILENET, alpha=0.75, rho=0.714).totals
    assert (t.mult_adds, t.params) == (166_396_800, 2_569_144)


@pytest.mark.parametrize("alpha", [1.0, 0.75, 0.5, 0.25])
@pytest.mark.parametrize("size", [224, 192, 160, 128])
def test_mobilenet_grid(alpha: float, size: int) -> None:
    t = analyze(MOBILENET, alpha=alpha, resolution=size).totals
    assert (t.mult_adds, t.params) == mobilenet_by_hand(Fraction(str(alpha)), size)
    if (alpha, size) in PAPER:
        mult_adds_m, params_m = PAPER[(alpha, size)]
        # The paper prints whole millions, sometimes rounded (568.7 → 569), sometimes truncated
        # (290.7 → 290): agreement means within one unit of its last printed digit.
        assert abs(t.mult_adds / 1e6 - mult_adds_m) < 1
        assert abs(t.params / 1e6 - params_m) < 0.1


def test_table2_percentages() -> None:
    # Table 2: Conv 1×1 94.86% / 74.59%, DW 3.06% / 1.06%, Conv 3×3 1.19% (a typo for 1.91%) / 0.02%,
    # FC 0.18% / 24.33%. The params shares match the paper when the FC bias is left out (the paper's
    # convention there): 1,024,000 / 4,209,088 = 24.33%.
    a = analyze(MOBILENET)
    groups = {g.category: g.totals for g in a.by_type()}
    pct = {k: round(100 * v.mult_adds / a.totals.mult_adds, 2) for k, v in groups.items()}
    assert pct == {"Conv 1×1": 94.86, "Conv DW 3×3": 3.06, "Conv 3×3": 1.91, "Fully Connected": 0.18,
                   "Avg Pool": 0.0}
    no_bias = a.totals.params - 1000
    assert round(100 * groups["Conv 1×1"].params / no_bias, 2) == 74.59
    assert round(100 * (groups["Fully Connected"].params - 1000) / no_bias, 2) == 24.33


def test_rows_sum_to_totals() -> None:
    for alpha in (1.0, 0.5):
        a = analyze(MOBILENET, alpha=alpha, resolution=192)
        for cost in ("mult_adds", "params", "bn_params", "memory_access"):
            assert sum(getattr(r, cost) for r in a.rows) == getattr(a.totals, cost)
        assert sum(g.totals.mult_adds for g in a.by_type()) == a.totals.mult_adds


def test_shapes_follow_table1() -> None:
    a = analyze(MOBILENET)
    # Table 1's "Input Size" column, H×W×C per row (the conv/dw/pw body; the FC reads 1×1×1024).
    expected = ["224×224×3", "112×112×32", "112×112×32", "112×112×64", "56×56×64", "56×56×128", "56×56×128",
                "56×56×128", "28×28×128", "28×28×256", "28×28×256", "28×28×256", "14×14×256",
                *["14×14×512"] * 11, "7×7×512", "7×7×1024", "7×7×1024", "7×7×1024", "1×1×1024"]
    assert [str(r.node.input) for r in a.rows] == expected


def test_resolution_rounding() -> None:
    assert resolve_resolution(224, rho=0.714) == (160, 0.714)  # 159.936 → 160
    assert resolve_resolution(225, rho=0.5)[0] == 113  # 112.5: halves round up, not to even
    assert resolve_resolution(224, resolution=128) == (128, 128 / 224)
    assert scale_channels(100, 0.29) == 29  # exact decimal: 0.29·100 is 29, not 28.999…
    assert scale_channels(3, 0.25) == 1  # at least one channel


CHAIN = """input: {{channels: 3, size: {size}}}
layers:
  - {{type: conv, out: {c1}, stride: 1}}
  - {{type: dwsep, out: {c2}}}
  - {{type: pw, out: {c3}}}
  - {{type: dw, kernel: 5}}
"""


@settings(max_examples=60, deadline=None)
@given(c1=st.integers(1, 64), c2=st.integers(1, 64), c3=st.integers(1, 64), size=st.integers(1, 40),
       alpha=st.sampled_from([Fraction(1, 4), Fraction(1, 2), Fraction(3, 4)]))
def test_alpha_squared_law(c1: int, c2: int, c3: int, size: int, alpha: Fraction) -> None:
    # Where α·N is an integer for every width, the internal layers' Mult-Adds and params scale by exactly
    # α² (eq. 6): M·N → αM·αN, D_K²·M → D_K²·αM (depthwise: α, so check the pointwise layers only).
    c1, c2, c3 = (4 * c for c in (c1, c2, c3))
    spec = parse_spec(CHAIN.format(size=size, c1=c1, c2=c2, c3=c3))
    full = analyze(spec).rows
    thin = analyze(spec, alpha=float(alpha)).rows
    for a, b in zip(full, thin, strict=True):
        if a.node.type == "pw":
            assert b.mult_adds == alpha**2 * a.mult_adds
            assert b.params == alpha**2 * a.params
        elif a.node.type == "dw":
            assert b.mult_adds == alpha * a.mult_adds
        else:  # the first conv: input channels (3) never scale
            assert b.mult_adds == alpha * a.mult_adds


@settings(max_examples=60, deadline=None)
@given(c=st.integers(1, 32), size=st.integers(1, 12), k=st.integers(1, 8))
def test_rho_squared_law(c: int, size: int, k: int) -> None:
    # Stride-1, same-padded layers keep D_F = input size, so with ρ = 1/k (size·k → size) every Mult-Add
    # count scales by exactly ρ² (eq. 7) and params do not change.
    spec = parse_spec(CHAIN.format(size=size * k, c1=c, c2=c, c3=c))
    full = analyze(spec).totals
    small = analyze(spec, resolution=size).totals
    assert small.mult_adds * k * k == full.mult_adds
    assert small.params == full.params
