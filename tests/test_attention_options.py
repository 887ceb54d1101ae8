"""Issue 21, attention options: `kv_heads` (multi-/grouped-query), `value_dim`, `kv_stride` (MobileNetV4's
strided depthwise K/V on a map), `bias_table` (EfficientFormer/LeViT attention biases) and `out_bias` — each
closed form against hand arithmetic written beside the expected value, located errors, both torch counters and
the vectorised sweep (the bias table follows the resolution, not α)."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import parse_spec

from .test_geometry import sweep_points

# 8×8 map of 16 channels → 64 tokens; 4 heads of 4
SEQ = """input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 16, stride: 2}
  - {type: tokens}
  - {type: attention, heads: 4, kv_heads: 2, value_dim: 8, bias_table: true}
  - {type: pool_tokens, mode: mean}
  - {type: fc, out: 10, scale: false}
"""
# MobileNetV4's multi-query attention on the 8×8 map: one kv head, K and V down-sampled to 4×4
MAP = """input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 16, stride: 2}
  - {type: attention, heads: 4, kv_heads: 1, kv_stride: 2, bias: false, out_bias: false}
  - {type: avgpool}
  - {type: fc, out: 10, scale: false}
"""


def attention_row(text: str, alpha: float = 1.0, resolution: int | None = None) -> tuple[int, int, int, int]:
    r = next(r for r in analyze(parse_spec(text), alpha, resolution=resolution).rows if r.node.type == "attention")
    return r.mult_adds, r.params, r.bn_params, r.memory_access


def test_grouped_query_value_dim_and_bias_table() -> None:
    # N = 64, C = 16, h = 4, d = 4, g = 2, d_v = 8
    # projections: q 64·16·16 = 16,384, k 64·16·8 = 8,192, v 64·16·16 = 16,384, out 64·32·16 = 32,768 → 73,728
    # products: Q·Kᵀ 4·64·64·4 = 65,536, A·V 4·64·64·8 = 131,072 → 196,608
    # weights 16·(16 + 8 + 16) + 32·16 = 1,152; biases q 16 + k 8 + v 16 + out 16 = 56; table 4·64 = 256
    # memory 1,024 in + 1,024 out + 1,152 weights (biases and table are params only)
    assert attention_row(SEQ) == (270_336, 1_464, 0, 3_200)
    # α = 0.5: C = 8, d = 2 (channels / heads), d_v = 8 kept; the table keeps heads × N = 256
    node = build(parse_spec(SEQ), 0.5).nodes[2]
    assert REGISTRY["attention"].table_params(node) == 256
    # ρ = 2 (32 px): N = 256, table 4·256 = 1,024
    node = build(parse_spec(SEQ), resolution=32).nodes[2]
    assert REGISTRY["attention"].table_params(node) == 1_024


def test_multi_query_with_strided_kv_on_a_map() -> None:
    a = analyze(parse_spec(MAP))
    assert str(a.rows[1].node.output) == "8×8×16"
    # N = 64, N′ = 4·4 = 16; h = 4, d = d_v = 4, g = 1
    # q 64·16·16 = 16,384 + out 64·16·16 = 16,384; k, v 16·16·(4 + 4) = 2,048; dw 3×3 twice 2·9·16·16 = 4,608
    # products 4·64·16·(4 + 4) = 32,768 → 72,192
    # weights 16·16 + 16·4 + 16·4 + 16·16 + 2·9·16 = 928, no biases; BatchNorms γ, β 2·2·16 = 64
    assert attention_row(MAP) == (72_192, 928, 64, 1_024 + 1_024 + 928)
    kind, node = REGISTRY["attention"], a.rows[1].node
    assert kind.mult_adds_terms(node) == ((32_768, 64), (6_656, 16), (32_768, 1_024))
    # 17 px: the map is 9×9 (N = 81), keys ⌈9/2⌉² = 25
    node = build(parse_spec(MAP), resolution=18).nodes[1]
    assert (node.input.h, kind.product_terms(node)) == (9, (81 * 25 * 4 * 8, 81 * 25))


def test_defaults_keep_the_vit_count() -> None:
    base = SEQ.replace(", kv_heads: 2, value_dim: 8, bias_table: true", "")
    spelled = SEQ.replace("kv_heads: 2, value_dim: 8, bias_table: true", "kv_heads: 4, value_dim: 4, out_bias: true")
    assert attention_row(base) == attention_row(spelled)
    # 4·64·16·16 + 2·64²·16 = 196,608; 4·256 weights + 3·16 + 16 biases
    assert attention_row(base)[:2] == (196_608, 1_088)


def test_sweep_equals_closed_form() -> None:
    counts = ("mult_adds", "params", "memory_access")
    sweep_points(SEQ, [1.0, 0.5, 0.25], [16, 24, 32, 18], counts)
    sweep_points(MAP, [1.0, 0.75, 0.5], [16, 18, 32, 40], counts)


def test_terms_divide() -> None:
    for text in (SEQ, MAP):
        for alpha, size in ((1.0, 16), (0.5, 18), (0.75, 40)):
            node = build(parse_spec(text), alpha, resolution=size).nodes[1 if text is MAP else 2]
            kind = REGISTRY["attention"]
            terms = kind.mult_adds_terms(node)
            assert sum(c for c, _ in terms) == kind.mult_adds(node)
            assert all(c % area == 0 for c, area in terms)


def error(text: str, alpha: float = 1.0) -> str:
    with pytest.raises(MobcostError) as info:
        build(parse_spec(text), alpha)
    return str(info.value)


@pytest.mark.parametrize(("old", "new", "needle"), [
    ("kv_heads: 2", "kv_heads: 3", "cannot share keys and values among 3 kv_heads: kv_heads must divide heads"),
    ("  - {type: tokens}\n", "", "attention takes a token sequence, got the map 8×8×16"),
    ("bias_table: true", "kv_stride: 2", "kv_stride down-samples keys and values on a map"),
])
def test_bad_inputs_are_located(old: str, new: str, needle: str) -> None:
    line = error(SEQ.replace(old, new))
    assert needle in line and "layers[" in line, line


def test_bias_table_with_kv_stride_is_refused() -> None:
    line = error(MAP.replace("out_bias: false", "bias_table: true"))
    assert "bias_table" in line and "kv_stride > 1" in line and "layers[1]" in line, line


@pytest.mark.parametrize(("body", "needle"), [
    ("kv_heads: 0", "must be positive"), ("kv_stride: 0", "must be positive"), ("value_dim: -1", "positive"),
    ("bias_table: 3", "must be true or false"),
])
def test_bad_keys_are_located(body: str, needle: str) -> None:
    with pytest.raises(MobcostError) as info:
        parse_spec(f"input: {{channels: 3, size: 8}}\nlayers:\n  - {{type: tokens}}\n"
                   f"  - {{type: attention, heads: 2, {body}}}\n")
    assert needle in str(info.value) and ":4:" in str(info.value), str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize(("text", "alpha"), [(SEQ, 1.0), (SEQ, 0.5), (MAP, 1.0), (MAP, 0.5)])
def test_torch_counters_equal_closed_form(text: str, alpha: float) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(parse_spec(text), alpha))
    assert report.all_match, [layer for layer in report.layers if not layer.match]
    attention = next(layer for layer in report.layers if layer.type == "attention")
    assert attention.fvcore_mult_adds == attention.flop_counter_mult_adds == attention.mult_adds > 0


def test_layerscale_on_a_sequence() -> None:
    text = SEQ.replace("  - {type: pool_tokens", "  - {type: layerscale}\n  - {type: pool_tokens")
    r = analyze(parse_spec(text)).rows[3]
    # γ per channel of every token: 16 params, no Mult-Adds; memory 1,024 in + 1,024 out + 16
    assert (r.node.type, r.mult_adds, r.params, r.memory_access) == ("layerscale", 0, 16, 2_064)


@pytest.mark.parametrize("text", [SEQ, MAP, SEQ.replace("kv_heads: 2", "kv_heads: 1")])
def test_conventions_follow_the_mult_adds(text: str) -> None:
    from mobcost.analysis.conventions import count_graph

    for alpha in (1.0, 0.5):
        g = build(parse_spec(text), alpha)
        mult_adds = analyze(parse_spec(text), alpha).totals.mult_adds
        assert count_graph(g, "paper").total == mult_adds
        assert count_graph(g, "flops").total == count_graph(g, "flop-counter").total == 2 * mult_adds
