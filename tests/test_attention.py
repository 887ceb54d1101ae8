"""Issue 21's first step: token sequences and attention — each closed form against hand arithmetic written beside
the expected value, located errors for bad input, the torch build's two counters, the vectorised sweep (ρ⁴ terms
included), and DeiT-Tiny against a reference module written from the paper."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import load_spec, parse_spec

from .test_geometry import sweep_points

# 3×32×32 image, 8×8 patches: N = 4·4 = 16 tokens of C = 24, then 17 with the class token
VIT = """input: {channels: 3, size: 32}
layers:
  - {type: patch_embed, out: 24, patch: 8}
  - {type: cls_token}
  - {type: pos_embed, name: x0}
  - {type: ln}
  - {type: attention, heads: 3}
  - {type: add, from: [x0, -1], name: x1}
  - {type: ln}
  - {type: linear, expand: 4, act: gelu}
  - {type: linear, out: 24}
  - {type: add, from: [x1, -1]}
  - {type: ln}
  - {type: pool_tokens}
  - {type: fc, out: 10, scale: false}
"""


def rows(text: str, alpha: float = 1.0, resolution: int | None = None) -> dict[str, tuple[int, int, int, int]]:
    a = analyze(parse_spec(text), alpha, resolution=resolution)
    return {r.node.type + str(i): (r.mult_adds, r.params, r.bn_params, r.memory_access) for i, r in enumerate(a.rows)}


def error(text: str, alpha: float = 1.0) -> str:
    with pytest.raises(MobcostError) as info:
        build(parse_spec(text), alpha)
    return str(info.value)


def test_token_layers_hand_arithmetic() -> None:
    r = rows(VIT)
    # patch_embed: 8·8·3·24 = 4,608 weights on 16 patches: 73,728 Mult-Adds; + 24 biases = 4,632 params;
    # memory 3·32·32 = 3,072 in + 16·24 = 384 out + 4,608 weights = 8,064
    assert r["patch_embed0"] == (73_728, 4_632, 0, 8_064)
    # cls_token: 24 params; memory 384 in + 17·24 = 408 out + 24 = 816
    assert r["cls_token1"] == (0, 24, 0, 816)
    # pos_embed: 17·24 = 408 params; memory 408 + 408 + 408 = 1,224
    assert r["pos_embed2"] == (0, 408, 0, 1_224)
    # ln on tokens: γ, β 2·24 = 48 bn_params; memory 408 + 408
    assert r["ln3"] == (0, 0, 48, 816)
    # attention, 3 heads of 8: projections 4·N·C·hd = 4·17·24·24 = 39,168; Q·Kᵀ and A·V 2·N²·hd = 2·289·24 = 13,872
    # → 53,040; weights 4·24·24 = 2,304, biases 3·24 (q, k, v) + 24 (output) = 96 → 2,400; memory 408 + 408 + 2,304
    assert r["attention4"] == (53_040, 2_400, 0, 3_120)
    # linear 24 → 96 on 17 tokens: 17·24·96 = 39,168; 2,304 + 96 params; memory 408 + 1,632 + 2,304 = 4,344
    assert r["linear7"] == (39_168, 2_400, 0, 4_344)
    assert r["linear8"] == (39_168, 2_328, 0, 4_344)
    # pool_tokens: the class token, 24 values; memory 408 + 24
    assert r["pool_tokens11"] == (0, 0, 0, 432)
    assert r["fc12"] == (240, 250, 0, 274)


def test_tokens_and_head_dim() -> None:
    text = """input: {channels: 8, size: 6}
layers:
  - {type: tokens}
  - {type: attention, heads: 2, head_dim: 5, bias: false}
  - {type: pool_tokens, mode: mean}
"""
    a = analyze(parse_spec(text))
    assert [str(r.node.output) for r in a.rows] == ["36×8 tokens", "36×8 tokens", "1×1×8"]
    # tokens: a view, 288 in + 288 out
    assert (a.rows[0].mult_adds, a.rows[0].memory_access) == (0, 576)
    # inner width 2·5 = 10: projections 4·36·8·10 = 11,520, products 2·36²·10 = 25,920 → 37,440;
    # weights 4·8·10 = 320, no q/k/v biases, 8 on the output projection
    assert (a.rows[1].mult_adds, a.rows[1].params) == (37_440, 328)
    # the mean reads every token: work 288, no Mult-Adds
    assert REGISTRY["pool_tokens"].work(a.rows[2].node) == 288 and a.rows[2].mult_adds == 0


def test_width_rule_keeps_heads_and_scales_head_width() -> None:
    # α = 0.5: C = 12, 3 heads of 4 (not 1.5 heads of 8); a given head_dim keeps its width
    node = build(parse_spec(VIT), 0.5).nodes[4]
    assert (node.input.c, node.layer.heads, node.input.c // node.layer.heads) == (12, 3, 4)
    # projections 4·17·12·12 = 9,792 + products 2·289·12 = 6,936
    assert REGISTRY["attention"].mult_adds(node) == 16_728
    fixed = VIT.replace("heads: 3}", "heads: 3, head_dim: 8}")
    node = build(parse_spec(fixed), 0.5).nodes[4]
    assert REGISTRY["attention"].mult_adds(node) == 4 * 17 * 12 * 24 + 2 * 289 * 24
    # α = 0.35: ⌊0.35·24⌋ = 8 channels do not split into 3 heads
    assert "attention with 3 heads needs channels divisible by 3" in error(VIT, 0.35)


def test_resolution_scales_products_as_rho_to_the_fourth() -> None:
    text = VIT.replace("  - {type: cls_token}\n", "")  # N = (size/8)² exactly
    small, large = (analyze(parse_spec(text), resolution=s).rows[3].node for s in (32, 64))
    kind = REGISTRY["attention"]
    (p1, _), (q1, _) = kind.mult_adds_terms(small)
    (p2, _), (q2, _) = kind.mult_adds_terms(large)
    assert (small.input.h, large.input.h) == (16, 64)
    assert p2 == 4 * p1 and q2 == 16 * q1  # ρ = 2: projections ×ρ², Q·Kᵀ and A·V ×ρ⁴


def test_sweep_equals_closed_form() -> None:
    counts = ("mult_adds", "params", "memory_access")
    sweep_points(VIT, [1.0, 0.75, 0.5, 0.25], [32, 40, 48, 64, 17], counts)
    sweep_points(VIT.replace("heads: 3}", "heads: 3, head_dim: 5}"), [1.0, 0.35], [32, 56], counts)


def test_sweep_latency_and_energy_equal_closed_form() -> None:
    from mobcost.explore import sweep
    from mobcost.explore.energy import network_energy
    from mobcost.explore.hardware import load_hardware, predict_layers

    spec, hw = parse_spec(VIT), load_hardware("rpi4")
    r = sweep(spec, [1.0, 0.5], [32, 48], hardware=hw)
    for i in range(len(r)):
        graph = build(spec, float(r.columns["alpha"][i]), resolution=int(r.columns["resolution"][i]))
        assert r.columns["latency_ms"][i] == pytest.approx(1e3 * sum(predict_layers(graph, hw)), rel=1e-9)
        assert r.columns["energy_uj"][i] == pytest.approx(network_energy(graph, hw).pj / 1e6, rel=1e-12)


def test_terms_divide_and_sum() -> None:
    for alpha, size in ((1.0, 32), (0.5, 48), (0.75, 40)):
        for node in build(parse_spec(VIT), alpha, resolution=size).nodes:
            kind = REGISTRY[node.type]
            terms = kind.mult_adds_terms(node)
            assert sum(c for c, _ in terms) == kind.mult_adds(node)
            assert all(c % area == 0 for c, area in (*terms, *kind.work_terms(node))), node.name
            assert kind.weights(node) % kind.weights_area(node) == 0


@pytest.mark.parametrize(("body", "needle"), [
    ("  - {type: attention, heads: 2}\n", "attention takes a token sequence, got the map 8×8×3"),
    ("  - {type: tokens}\n  - {type: conv, out: 4}\n", "conv takes a feature map, got the sequence 64×3 tokens"),
    ("  - {type: tokens}\n  - {type: fc, out: 4}\n", "`pool_tokens` makes a vector of it"),
    ("  - {type: tokens, name: t}\n  - {type: add, from: [input, t]}\n", "add needs equal shapes"),
    ("  - {type: patch_embed, out: 4, patch: 9}\n", "turns a 8×8 input into nothing"),
    ("  - {type: tokens}\n  - {type: attention, heads: 2}\n", "needs channels divisible by 2"),
    ("  - {type: linear, out: 4}\n", "linear takes a token sequence"),
])
def test_bad_inputs_are_located(body: str, needle: str) -> None:
    line = error(f"input: {{channels: 3, size: 8}}\nlayers:\n{body}")
    assert needle in line and "layers[" in line, line


@pytest.mark.parametrize(("body", "needle"), [
    ("{type: attention}", "missing 'heads'"),
    ("{type: attention, heads: 0}", "must be positive"),
    ("{type: pool_tokens, mode: max}", "must be one of cls, mean"),
    ("{type: patch_embed, out: 8}", "missing 'patch'"),
    ("{type: linear, out: 8, expand: 2}", "expand"),
])
def test_bad_keys_are_located(body: str, needle: str) -> None:
    with pytest.raises(MobcostError) as info:
        parse_spec(f"input: {{channels: 3, size: 8}}\nlayers:\n  - {{type: tokens}}\n  - {body}\n")
    assert needle in str(info.value) and ":4:" in str(info.value), str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_torch_counters_equal_closed_form(alpha: float) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(parse_spec(VIT), alpha))
    assert report.all_match, [layer for layer in report.layers if not layer.match]
    attention = next(layer for layer in report.layers if layer.type == "attention")
    # fvcore's linear + matmul, FlopCounterMode's addmm + bmm (÷ 2): the products included
    assert attention.fvcore_mult_adds == attention.flop_counter_mult_adds == attention.mult_adds > 0


# --- DeiT-Tiny against a module written from the DeiT / ViT papers ----------------------------------------------


@pytest.mark.slow
def test_deit_tiny_equals_its_reference() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from .reference_models import deit_tiny, whole_counts

    # Published: DeiT-Ti (Touvron et al. 2021, arXiv:2012.12877, Table 1; timm's deit_tiny_patch16_224 card):
    # 5.7 M params (5,717,416), 1.3 GFLOPs at 224 (FLOPs there are multiply-adds). mobcost and fvcore (conv + linear
    # + matmul): 1,253,683,200 Mult-Adds = patch embedding 16·16·3·192·196 = 28,901,376 + 12 blocks × (attention
    # 4·197·192·192 + 2·197²·192 = 43,951,488, MLP 2·197·192·768 = 58,097,664) + head 192·1000.
    for alpha, size in ((1.0, 224), (1.0, 160), (0.5, 224), (0.5, 160)):
        totals = analyze(load_spec("deit_tiny"), alpha, resolution=size).totals
        fvcore_mult_adds, params, _ = whole_counts(deit_tiny(embed_dim=int(192 * alpha), img_size=size), size)
        assert (totals.mult_adds, totals.params + totals.bn_params) == (fvcore_mult_adds, params), (alpha, size)
        if (alpha, size) == (1.0, 224):
            # 5,717,416 params = timm's 5.7 M: LayerNorms' 9,600 γ, β among them, which mobcost reports as bn_params
            assert (totals.mult_adds, totals.params, totals.bn_params) == (1_253_683_200, 5_707_816, 9_600)
            assert params == 5_717_416


def test_the_table_names_layernorm_and_token_joins() -> None:
    from typer.testing import CliRunner

    from mobcost.cli import app

    result = CliRunner().invoke(app, ["table", "deit_tiny"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    # 12 blocks × 2 LayerNorms + the final one = 25, each γ, β of 192: 25 · 2 · 192 = 9,600 — LayerNorm's, not BN's
    assert "(+9,600 LN)" in result.output
    # the residual add joins two sequences of 197 tokens × 192 channels, not a 197×1 map
    assert "197×(192+192) tokens" in result.output and "197×1×" not in result.output
    # DeiT has no depthwise separable pair to densify: Table 3's first two rows are equal, and the caption says so
    assert "has no depthwise + pointwise pair" in " ".join(result.output.split())
