"""Issue 21, MobileViT: `unfold` and `fold` — each closed form against hand arithmetic written beside the expected
value, located errors for bad input, the torch build's two counters, the vectorised sweep — and MobileViT-XS
against a reference module written from timm's MobileVitBlock and ByobNet (tests/reference_models.py)."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import load_spec, parse_spec

from .test_geometry import sweep_points

# A MobileViT block on a 16×16 map of 8 channels: 1×1 to d = 12, 2×2 patches → 4 sequences of 8·8 = 64 tokens
BLOCK = """input: {channels: 3, size: 32}
layers:
  - {type: conv, out: 8, stride: 2, name: x}
  - {type: pw, out: 12, bn: false, act: none}
  - {type: unfold, patch: 2, name: t0}
  - {type: ln}
  - {type: attention, heads: 2}
  - {type: add, from: [t0, -1], name: t1}
  - {type: linear, expand: 2, act: silu}
  - {type: linear, out: 12}
  - {type: add, from: [t1, -1]}
  - {type: fold}
  - {type: pw, out: 8}
  - {type: concat, from: [x, -1]}
  - {type: conv, out: 8}
  - {type: avgpool}
  - {type: fc, out: 10, scale: false}
"""


def rows(text: str, alpha: float = 1.0, resolution: int | None = None) -> dict[str, tuple[int, int, int, int]]:
    a = analyze(parse_spec(text), alpha, resolution=resolution)
    return {r.node.type + str(i): (r.mult_adds, r.params, r.bn_params, r.memory_access) for i, r in enumerate(a.rows)}


def error(text: str, alpha: float = 1.0) -> str:
    with pytest.raises(MobcostError) as info:
        build(parse_spec(text), alpha)
    return str(info.value)


def test_unfold_and_fold_hand_arithmetic() -> None:
    a = analyze(parse_spec(BLOCK))
    shown = ["4×64×12 tokens"] * 4 + ["4×64×24 tokens"] + ["4×64×12 tokens"] * 2 + ["16×16×12"]
    assert [str(r.node.output) for r in a.rows[2:10]] == shown
    r = rows(BLOCK)
    # unfold / fold: moves, 16·16·12 = 3,072 elements in and out
    assert r["unfold2"] == r["fold9"] == (0, 0, 0, 6_144)
    # attention, 2 heads of 6, per sequence: projections 4·(64·4 tokens)·12·12 = 147,456; Q·Kᵀ and A·V within each
    # of the 4 sequences 4·2·64²·12 = 393,216 (not 2·256²·12 = 1,572,864: a pixel attends only to its own position)
    assert r["attention4"] == (540_672, 4 * 144 + 36 + 12, 0, 3_072 + 3_072 + 576)
    # linear 12 → 24 on 256 tokens: 73,728; ln γ, β 24
    assert r["linear6"][:2] == (256 * 12 * 24, 288 + 24) and r["ln3"] == (0, 0, 24, 6_144)


def test_a_side_the_patch_does_not_divide_is_resized() -> None:
    # 26 px: conv s2 → 13×13, resized to 14×14 (timm): 4 sequences of 7·7 = 49 tokens; fold gives 13×13 back
    g = build(parse_spec(BLOCK), resolution=26)
    unfold, attention, fold = g.nodes[2], g.nodes[4], g.nodes[9]
    assert (unfold.output.length, unfold.output.sequences, unfold.output.numel) == (49, 4, 12 * 196)
    assert str(fold.output) == "13×13×12" and fold.output.numel == 12 * 169
    # projections 4·196·12·12 = 112,896; products 2·4·49²·12 = 230,496
    assert REGISTRY["attention"].mult_adds_terms(attention) == ((112_896, 196), (230_496, 4 * 49 * 49))
    # memory access: 13·13·12 = 2,028 read, 2,352 written (and the reverse for fold)
    assert REGISTRY["unfold"].memory_access(unfold) == REGISTRY["fold"].memory_access(fold) == 2_028 + 2_352


def test_width_keeps_the_patches() -> None:
    node = build(parse_spec(BLOCK), 0.5).nodes[4]
    # α = 0.5: d = 6, 2 heads of 3; still 4 sequences of 64
    assert (node.input.c, node.input.sequences, node.input.length) == (6, 4, 64)
    assert REGISTRY["attention"].mult_adds(node) == 4 * 256 * 6 * 6 + 2 * 4 * 64 * 64 * 6


def test_sweep_equals_closed_form() -> None:
    counts = ("mult_adds", "params", "memory_access")
    sweep_points(BLOCK, [1.0, 1.5, 0.5], [32, 26, 40, 64], counts)


def test_terms_divide_and_sum() -> None:
    for alpha, size in ((1.0, 32), (0.5, 26), (1.5, 40)):
        for node in build(parse_spec(BLOCK), alpha, resolution=size).nodes:
            kind = REGISTRY[node.type]
            terms = kind.mult_adds_terms(node)
            assert sum(c for c, _ in terms) == kind.mult_adds(node)
            assert all(c % area == 0 for c, area in (*terms, *kind.work_terms(node))), node.name


@pytest.mark.parametrize(("body", "needle"), [
    ("  - {type: tokens}\n  - {type: fold}\n", "fold takes the patches of an `unfold`, got the sequence 64×3 tokens"),
    ("  - {type: fold}\n", "fold takes a token sequence, got the map 8×8×3"),
    ("  - {type: unfold, patch: 2}\n  - {type: unfold, patch: 2}\n", "unfold takes a feature map, got the sequence"),
    ("  - {type: unfold, patch: 2}\n  - {type: cls_token}\n", "cls_token takes one sequence, got the 4 sequences"),
    ("  - {type: unfold, patch: 2}\n  - {type: pos_embed}\n", "`fold` them into a map first"),
    ("  - {type: unfold, patch: 2}\n  - {type: pool_tokens, mode: mean}\n", "pool_tokens takes one sequence"),
    ("  - {type: unfold, patch: 2}\n  - {type: conv, out: 4}\n", "conv takes a feature map, got the sequence 4×16×3"),
    ("  - {type: unfold, patch: 2, name: u}\n  - {type: tokens, from: input}\n  - {type: add, from: [u, -1]}\n",
     "add needs equal shapes"),
])
def test_bad_inputs_are_located(body: str, needle: str) -> None:
    line = error(f"input: {{channels: 3, size: 8}}\nlayers:\n{body}")
    assert needle in line and "layers[" in line, line


@pytest.mark.parametrize(("body", "needle"), [
    ("{type: unfold}", "missing 'patch'"),
    ("{type: unfold, patch: 0}", "must be positive"),
    ("{type: fold, patch: 2}", "unknown key"),
])
def test_bad_keys_are_located(body: str, needle: str) -> None:
    with pytest.raises(MobcostError) as info:
        parse_spec(f"input: {{channels: 3, size: 8}}\nlayers:\n  - {{type: conv, out: 4}}\n  - {body}\n")
    assert needle in str(info.value) and ":4:" in str(info.value), str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize(("alpha", "size"), [(1.0, 32), (0.5, 26)])
def test_torch_counters_equal_closed_form(alpha: float, size: int) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(parse_spec(BLOCK), alpha, resolution=size))
    assert report.all_match, [layer for layer in report.layers if not layer.match]
    attention = next(layer for layer in report.layers if layer.type == "attention")
    assert attention.fvcore_mult_adds == attention.flop_counter_mult_adds == attention.mult_adds > 0


@pytest.mark.slow
def test_the_torch_unfold_is_timms() -> None:
    torch = pytest.importorskip("torch")
    from mobcost.torchside.sequences import Fold, Unfold

    x = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    patches = Unfold(2, 4, 6, (2, 2))(x)
    # sequence 0 holds each patch's top-left pixel, in patch order (row by row): channel 0's x[0, 0, ::2, ::2]
    assert patches.shape == (4, 6, 2)
    assert patches[0, :, 0].tolist() == x[0, 0, ::2, ::2].flatten().tolist()
    assert patches[3, :, 1].tolist() == x[0, 1, 1::2, 1::2].flatten().tolist()
    assert torch.equal(Fold(2, 4, 6, (2, 2))(patches), x)


# --- MobileViT-XS against a module written from timm's MobileVitBlock and ByobNet --------------------------------


@pytest.mark.slow
def test_mobilevit_xs_equals_its_reference() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from .reference_models import mobilevit_xs, whole_counts

    # Published: MobileViT-XS 2.3 M params and 0.7 GFLOPs (Mehta & Rastegari 2022, arXiv:2110.02178); timm's card
    # 1.1 GMACs (1.05) at 256 px. mobcost and fvcore (conv + linear + matmul) agree exactly: 1,025,911,808 Mult-Adds at
    # 256, 117,276,672 of them attention's Q·Kᵀ and A·V — per stage 4 sequences of N = 256, 64, 16 tokens:
    # 2·(2·4·256²·96) + 4·(2·4·64²·120) + 3·(2·4·16²·144). timm's 1.05 G is fvcore's total, which adds what the paper's
    # convention leaves out: BatchNorm 2 and LayerNorm 5 per element, and the global pool (1,052,192,768). The paper's
    # 0.7 G is not this count with or without the products (908,635,136 without) nor half of it; its rule is not
    # stated. 224 px: the 7×7 last-stage map is resized to 8×8 around the transformer, as timm does.
    for alpha, size in ((1.0, 256), (1.0, 224), (0.5, 256), (0.5, 224)):
        totals = analyze(load_spec("mobilevit_xs"), alpha, resolution=size).totals
        fvcore_mult_adds, params, flops = whole_counts(mobilevit_xs(width_mult=alpha), size)
        ops = flops.by_operator()
        assert (totals.mult_adds, totals.params + totals.bn_params) == (fvcore_mult_adds, params), (alpha, size)
        if (alpha, size) == (1.0, 256):
            assert ops["matmul"] == 2 * (2 * 4 * 256**2 * 96) + 4 * (2 * 4 * 64**2 * 120) + 3 * (2 * 4 * 16**2 * 144)
            assert (totals.mult_adds, ops["matmul"], totals.params, totals.bn_params) == (
                1_025_911_808, 117_276_672, 2_304_264, 13_584)
            assert params == 2_317_848 and flops.total() == 1_052_192_768
