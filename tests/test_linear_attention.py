"""Issue 21, EfficientViT's ReLU linear attention (`linear_attention`): the closed form against hand arithmetic written
beside the expected value, α and ρ, the vectorised sweep, located errors for bad input, and (slow) the torch build
against fvcore and FlopCounterMode and against timm's LiteMLA computed independently."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.analysis.costs import Row
from mobcost.errors import MobcostError
from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import parse_spec

from .test_geometry import sweep_points

# An EfficientViT-B0 LiteMLA block on an 8×8 map of 8 channels: qkv 1×1 conv to 24 = 3·2·4, the 5×5 depthwise +
# grouped 1×1 (3·2 groups) aggregation, both concatenated (48 channels: 4 heads of q, k, v 4 wide), the linear
# attention, the output 1×1 conv + BN and the residual
BLOCK = """input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 8, stride: 2, name: x}
  - {type: pw, out: 24, bn: false, name: qkv}
  - {type: dw, kernel: 5, bn: false}
  - {type: conv, out: 24, kernel: 1, groups: 6, bn: false}
  - {type: concat, from: [qkv, -1]}
  - {type: linear_attention, head_dim: 4}
  - {type: pw, out: 8}
  - {type: add, from: [x, -1]}
  - {type: avgpool}
  - {type: fc, out: 10, scale: false}
"""


def attention_row(text: str, alpha: float = 1.0, resolution: int | None = None) -> Row:
    a = analyze(parse_spec(text), alpha, resolution=resolution)
    return next(r for r in a.rows if r.node.type == "linear_attention")


def error(text: str) -> str:
    with pytest.raises(MobcostError) as info:
        build(parse_spec(text))
    return f"{info.value.where}: {info.value}"


def test_linear_attention_hand_arithmetic() -> None:
    row = attention_row(BLOCK)
    assert str(row.node.output) == "8×8×16"  # 4 heads × 4 channels out of 48 = 3·4·4 in
    # h = 48 / (3·4) = 4 heads of d = 4 on N = 8·8 = 64 tokens: φ(K)ᵀ·[V 1] 64·4·5 = 1,280 and φ(Q)·kv 64·4·5 = 1,280
    # per head, 4·2·1,280 = 10,240; no weights; memory 48·64 in + 16·64 out = 3,072 + 1,024 = 4,096
    assert (row.mult_adds, row.params, row.bn_params, row.memory_access) == (10_240, 0, 0, 4_096)
    # work: + the normalisation, 4 divisions and one ε addition per token per head: 4·64·5 = 1,280
    assert REGISTRY["linear_attention"].work(row.node) == 10_240 + 1_280
    assert row.node.type == "linear_attention" and REGISTRY["linear_attention"].type_label(row.node) == \
        "Linear Attention / 4h"
    # the same map read as 2 heads: d = 48 / (3·2) = 8, 2·2·64·8·9 = 18,432
    assert attention_row(BLOCK.replace("head_dim: 4", "heads: 2")).mult_adds == 18_432


def test_alpha_follows_heads_and_rho_the_tokens() -> None:
    # α = 0.5: qkv 12, the concatenation 24; head_dim 4 kept, so 24 / 12 = 2 heads: 2·2·64·4·5 = 5,120 (half: the
    # products are linear in the heads, not quadratic in the width as a convolution's weights)
    assert attention_row(BLOCK, 0.5).mult_adds == 5_120
    # heads: 4 kept instead: d = 24 / 12 = 2, 2·4·64·2·3 = 3,072
    assert attention_row(BLOCK.replace("head_dim: 4", "heads: 4"), 0.5).mult_adds == 3_072
    # ρ = 2 (32 px): N = 16·16 = 256, 4× the tokens and 4× the Mult-Adds — ρ², no N² term: 4·10,240 = 40,960
    assert attention_row(BLOCK, resolution=32).mult_adds == 40_960


def test_sweep_equals_the_closed_form() -> None:
    sweep_points(BLOCK, [1.0, 0.75, 0.5], [16, 24, 32], ("mult_adds", "params", "memory_access"))


@pytest.mark.parametrize(("change", "needle"), [
    ("head_dim: 5", "not a multiple of 15"),  # 48 channels are no whole number of 3·5-channel heads
    ("heads: 5", "not a multiple of 3·5 = 15"),
    ("head_dim: 4, heads: 4", "not both"),
    ("act: relu", "missing 'head_dim'"),
])
def test_bad_input_is_located(change: str, needle: str) -> None:
    line = error(BLOCK.replace("head_dim: 4", change))
    assert "layers[5]" in line and needle in line


def test_a_sequence_is_refused() -> None:
    text = ("input: {channels: 3, size: 8}\nlayers:\n  - {type: pw, out: 12}\n  - {type: tokens}\n"
            "  - {type: linear_attention, heads: 1}\n")
    line = error(text)
    assert "layers[2]" in line and "linear_attention takes a feature map, got the sequence 64×12 tokens" in line


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_torch_build_agrees_with_fvcore_and_flop_counter(alpha: float) -> None:
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(parse_spec(BLOCK), alpha))
    assert report.all_match
    la = next(c for c in report.layers if c.type == "linear_attention")
    # fvcore's two matmuls, FlopCounterMode's two bmm at 2 flops per multiply-add: the hand figures above
    assert (la.fvcore_mult_adds, la.flop_counter_flops) == ((10_240, 20_480) if alpha == 1.0 else (5_120, 10_240))


@pytest.mark.slow
def test_torch_build_computes_timms_lite_mla() -> None:
    torch = pytest.importorskip("torch")
    from mobcost.torchside.linear_attention import LinearAttention

    x = torch.randn(1, 48, 5, 7, generator=torch.Generator().manual_seed(0))
    # timm efficientvit_mit.LiteMLA.forward between its aggregation and projection, written out independently
    qkv = x.reshape(1, -1, 12, 35).transpose(-1, -2)
    q, k, v = qkv.chunk(3, dim=-1)
    v = torch.nn.functional.pad(v, (0, 1), mode="constant", value=1.0)
    out = q.relu() @ (k.relu().transpose(-1, -2) @ v)
    want = (out[..., :-1] / (out[..., -1:] + 1e-5)).transpose(-1, -2).reshape(1, -1, 5, 7)
    with torch.no_grad():
        got = LinearAttention(5, 7, 4, 4).eval()(x)
    assert got.shape == (1, 16, 5, 7) and torch.allclose(got, want, rtol=1e-5, atol=1e-6)
