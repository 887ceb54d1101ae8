"""Cross-covariance attention (`xca`, XCiT / EdgeNeXt) and the Fourier position encoding (`pos_fourier`): closed forms
against hand arithmetic written beside the expected values, located errors for bad input, the torch build's two
counters, and the vectorised sweep (XCA's products grow as N, not N²)."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.graph import build
from mobcost.spec import parse_spec

from .test_geometry import sweep_points

# 3×32×32 image, a 4×4/4 stem: N = 8·8 = 64 tokens of C = 48; XCA with h = 4 heads of d = 12 (EdgeNeXt's SDTA
# attention, its first stage's width)
XCA = """input: {channels: 3, size: 32}
layers:
  - {type: conv, out: 48, kernel: 4, stride: 4, padding: 0, bn: false, bias: true, act: none}
  - {type: tokens, name: t}
  - {type: pos_fourier}
  - {type: ln}
  - {type: xca, heads: 4}
  - {type: add, from: [t, -1]}
  - {type: pool_tokens, mode: mean}
  - {type: fc, out: 10, scale: false}
"""


def rows(text: str, alpha: float = 1.0, resolution: int | None = None) -> dict[str, tuple[int, int]]:
    a = analyze(parse_spec(text), alpha, resolution=resolution)
    return {r.node.type: (r.mult_adds, r.params) for r in a.rows}


def test_hand_arithmetic() -> None:
    got = rows(XCA)
    # the 1×1 conv of 2·32 = 64 Fourier features to 48 channels on 64 tokens: 64·64·48 = 196,608; 64·48 + 48 = 3,120
    assert got["pos_fourier"] == (196_608, 3_120)
    # projections q, k, v and output: 4·N·C² = 4·64·48² = 589,824; q̂·k̂ᵀ and A·v: 2·h·d·d·N = 2·4·12·12·64 = 73,728
    # params: 4·48² = 9,216 weights + 3·48 q/k/v biases + 48 output biases + 4 temperatures = 9,412
    assert got["xca"] == (589_824 + 73_728, 9_412)
    no_bias = rows(XCA.replace("heads: 4}", "heads: 4, bias: false}"))
    assert no_bias["xca"] == (663_552, 9_412 - 144)  # XCiT's default qkv_bias=False: 3·48 biases fewer
    assert rows(XCA.replace("{type: pos_fourier}", "{type: pos_fourier, hidden: 16}"))["pos_fourier"] == (
        64 * 32 * 48, 32 * 48 + 48)  # 2·16 = 32 features: 98,304 and 1,584


def test_resolution_scales_xca_as_rho_squared() -> None:
    # 64×64 input: N = 16·16 = 256, four times 64 — every XCA term grows ×4 (the d×d map does not grow), where
    # softmax attention's products would grow ×16: 4·256·48² + 2·4·12·12·256 = 2,359,296 + 294,912
    got = rows(XCA, resolution=64)
    assert got["xca"] == (2_654_208, 9_412) and got["xca"][0] == 4 * 663_552
    assert got["pos_fourier"] == (256 * 64 * 48, 3_120)  # params do not follow N, unlike pos_embed's N·C


def test_width_keeps_heads_and_scales_head_width() -> None:
    got = rows(XCA, alpha=0.5)  # C = 24, h = 4 heads of d = 6
    # 4·64·24² + 2·4·6·6·64 = 147,456 + 18,432; params 4·24² + 4·24 + 4 = 2,404
    assert got["xca"] == (165_888, 2_404)
    assert got["pos_fourier"] == (64 * 64 * 24, 64 * 24 + 24)  # hidden stays 32: 98,304 and 1,560


def test_sweep_equals_closed_form() -> None:
    sweep_points(XCA, [1.0, 0.75, 0.5], [32, 40, 64], ("mult_adds", "params", "memory_access"))


@pytest.mark.parametrize(("body", "needle"), [
    ("  - {type: xca, heads: 2}\n", "xca takes a token sequence, got the map 8×8×3"),
    ("  - {type: tokens}\n  - {type: xca, heads: 2}\n", "xca with 2 heads needs channels divisible by 2, got 3"),
    ("  - {type: pos_fourier}\n", "pos_fourier takes a token sequence"),
    ("  - {type: conv, out: 4}\n  - {type: unfold, patch: 2}\n  - {type: xca, heads: 2}\n",
     "xca takes one sequence, got the 4 sequences of an `unfold`"),
])
def test_bad_inputs_are_located(body: str, needle: str) -> None:
    with pytest.raises(MobcostError) as info:
        build(parse_spec(f"input: {{channels: 3, size: 8}}\nlayers:\n{body}"))
    assert needle in str(info.value) and "layers[" in str(info.value), str(info.value)


@pytest.mark.parametrize(("body", "needle"), [
    ("{type: xca}", "missing 'heads'"),
    ("{type: xca, heads: 0}", "must be positive"),
    ("{type: pos_fourier, hidden: -2}", "must be positive"),
])
def test_bad_keys_are_located(body: str, needle: str) -> None:
    with pytest.raises(MobcostError) as info:
        parse_spec(f"input: {{channels: 3, size: 8}}\nlayers:\n  - {{type: tokens}}\n  - {body}\n")
    assert needle in str(info.value) and ":4:" in str(info.value), str(info.value)


@pytest.mark.slow  # torch cross-check: fvcore and FlopCounterMode on the torch build
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_torch_counters_equal_closed_form(alpha: float) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(parse_spec(XCA), alpha))
    assert report.all_match, [layer for layer in report.layers if not layer.match]
    for kind in ("xca", "pos_fourier"):
        layer = next(layer for layer in report.layers if layer.type == kind)
        # fvcore's linear + matmul (conv), FlopCounterMode's addmm + bmm (convolution) ÷ 2, and the module's params
        assert layer.fvcore_mult_adds == layer.flop_counter_mult_adds == layer.mult_adds > 0
        assert layer.fvcore_params == layer.params
