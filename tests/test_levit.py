"""Issue 21, LeViT's vocabulary (Graham et al. 2021; timm/models/levit.py): `linear` with `bn` (LinearNorm), `bn` on
a token sequence, and `attention` with `bn` after every projection, `proj_act` before the output projection, `out`
channels and `q_stride` (attention-subsample) — closed forms against hand arithmetic written beside the expected
values, located errors, the vectorised sweep, the conventions and both torch counters."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import parse_spec

from .test_geometry import sweep_points

# a 3×3/4 conv: 32 px → an 8×8 map of 16 channels → 64 tokens
LEVIT = """input: {channels: 3, size: 32}
layers:
  - {type: conv, out: 16, stride: 4}
  - {type: tokens}
  - {type: attention, heads: 2, head_dim: 4, value_dim: 8, bias: false, out_bias: false, bias_table: true,
     bn: true, proj_act: hswish}
  - {type: linear, out: 32, bias: false, bn: true, act: hswish}
  - {type: attention, heads: 4, head_dim: 4, value_dim: 16, bias: false, out_bias: false, bias_table: true,
     bn: true, proj_act: hswish, out: 24, q_stride: 2}
  - {type: bn}
  - {type: pool_tokens, mode: mean}
  - {type: fc, out: 10, scale: false}
"""


def row(text: str, index: int, alpha: float = 1.0, resolution: int | None = None) -> tuple[int, int, int, int]:
    r = analyze(parse_spec(text), alpha, resolution=resolution).rows[index]
    return r.mult_adds, r.params, r.bn_params, r.memory_access


def test_attention_with_bn_and_activation_before_the_projection() -> None:
    # N = 64, C = C_o = 16, h = 2, d = 4, d_v = 8
    # q, k, v: 64·16·(8 + 8 + 16) = 32,768; output 64·16·16 = 16,384; products 2·64·64·(4 + 8) = 98,304
    # weights 16·32 + 16·16 = 768, table 2·64 = 128; BN γ, β 2·(32 + 16) = 96
    # memory 1,024 in + 1,024 out + 768 weights
    assert row(LEVIT, 2) == (147_456, 896, 96, 2_816)


def test_linear_with_bn() -> None:
    # 64·16·32 = 32,768 Mult-Adds, 512 weights, BN 2·32; memory 1,024 + 2,048 + 512
    assert row(LEVIT, 3) == (32_768, 512, 64, 3_584)


def test_attention_subsample() -> None:
    # N = 64 keys on an 8×8 grid, queries every 2nd row and column: N_q = 4·4 = 16; C = 32, C_o = 24, h = 4,
    # d = 4, d_v = 16. q 16·32·16 = 8,192; k, v 64·32·4·20 = 163,840; output 16·64·24 = 24,576;
    # products 4·16·64·(4 + 16) = 81,920 → 278,528
    # weights 32·16 + 32·80 + 64·24 = 4,608, table 4·64 = 256 (the keys' grid, as timm's); BN 2·(16 + 80 + 24)
    # memory 2,048 in + 16·24 = 384 out + 4,608
    assert row(LEVIT, 4) == (278_528, 4_864, 240, 7_040)
    node = build(parse_spec(LEVIT)).nodes[4]
    assert str(node.output) == "16×24 tokens"
    assert REGISTRY["attention"].mult_adds_terms(node) == ((16 * (512 + 1_536), 16), (64 * 2_560, 64),
                                                           (81_920, 1_024))


def test_subsample_of_an_odd_grid_rounds_up() -> None:
    # 36 px: (36 + 2 − 3) // 4 + 1 = 9 → 81 tokens, queries ⌈9/2⌉² = 25 (timm's (9 − 1) // 2 + 1 = 5 per axis)
    # products 4·25·81·20 = 162,000; q 25·512 + output 25·1,536 = 51,200; k, v 81·2,560 = 207,360
    assert row(LEVIT, 4, resolution=36)[0] == 162_000 + 51_200 + 207_360
    assert str(build(parse_spec(LEVIT), resolution=36).nodes[4].output) == "25×24 tokens"


def test_bn_on_tokens() -> None:
    # γ, β of 24 channels; memory 16·24 in and out
    assert row(LEVIT, 5) == (0, 0, 48, 768)


def test_sweep_equals_closed_form() -> None:
    sweep_points(LEVIT, [1.0, 0.75, 0.5], [32, 36, 40, 64], ("mult_adds", "params", "memory_access"))


def test_terms_divide() -> None:
    for alpha, size in ((1.0, 32), (0.5, 36), (0.75, 64)):
        for index in (2, 4):
            node = build(parse_spec(LEVIT), alpha, resolution=size).nodes[index]
            terms = REGISTRY["attention"].mult_adds_terms(node)
            assert sum(c for c, _ in terms) == REGISTRY["attention"].mult_adds(node)
            assert all(c % area == 0 for c, area in terms)


def test_conventions_follow_the_mult_adds() -> None:
    from mobcost.analysis.conventions import count_graph

    for alpha in (1.0, 0.5):
        g = build(parse_spec(LEVIT), alpha)
        mult_adds = analyze(parse_spec(LEVIT), alpha).totals.mult_adds
        assert count_graph(g, "paper").total == mult_adds
        assert count_graph(g, "flops").total == count_graph(g, "flop-counter").total == 2 * mult_adds


def error(text: str) -> str:
    with pytest.raises(MobcostError) as info:
        build(parse_spec(text))
    return str(info.value)


def test_q_stride_needs_a_square_grid() -> None:
    line = error(LEVIT.replace("  - {type: linear", "  - {type: cls_token}\n  - {type: linear"))
    assert "q_stride" in line and "65 tokens are no R×R grid" in line and "layers[5]" in line, line


def test_levit_options_refused_on_map_attention() -> None:
    text = """input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 16, stride: 2}
  - {type: attention, heads: 4, kv_heads: 1, kv_stride: 2, q_stride: 2}
"""
    line = error(text)
    assert "q_stride is LeViT's" in line and "kv_stride" in line and "layers[1]" in line, line


@pytest.mark.parametrize(("body", "needle"), [("q_stride: 0", "must be positive"), ("proj_act: swishy", "swishy"),
                                             ("bn: 2", "must be true or false"), ("out: 0", "must be positive")])
def test_bad_keys_are_located(body: str, needle: str) -> None:
    with pytest.raises(MobcostError) as info:
        parse_spec(f"input: {{channels: 3, size: 8}}\nlayers:\n  - {{type: tokens}}\n"
                   f"  - {{type: attention, heads: 2, {body}}}\n")
    assert needle in str(info.value) and ":4:" in str(info.value), str(info.value)


def test_defaults_bn_leaves_attention_and_linear_alone() -> None:
    # `defaults: {bn: true}` is the convolutions' BatchNorm: attention and linear take `bn` only when written
    text = LEVIT.replace("bn: true, ", "").replace("layers:", "defaults: {bn: true}\nlayers:", 1)
    nodes = build(parse_spec(text)).nodes
    assert not nodes[2].layer.bn and not nodes[3].layer.bn and not nodes[4].layer.bn


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_torch_counters_equal_closed_form(alpha: float) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(parse_spec(LEVIT), alpha))
    assert report.all_match, [layer for layer in report.layers if not layer.match]
    for layer in report.layers:
        if layer.type == "attention":
            assert layer.fvcore_mult_adds == layer.flop_counter_mult_adds == layer.mult_adds > 0
            assert layer.fvcore_bn_params == layer.bn_params > 0
