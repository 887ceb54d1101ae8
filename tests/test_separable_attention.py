"""Issue 21, MobileViTv2: `separable_attention` (and `gn` on an unfold's patches) — the closed form against hand
arithmetic written beside the expected value, located errors for bad input, the torch build against fvcore and
FlopCounterMode and against timm's computation, the vectorised sweep — and the importer on timm's channels-first
MobileVitV2Block (tests/attention_zoo.py), exact against fvcore, with located errors for near misses."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import parse_spec

from .test_geometry import sweep_points

# A MobileViTv2 block on an 8×8 map: 1×1 to d = 16, 2×2 patches → P = 4 sequences of N = 4·4 = 16 tokens (64 in all)
BLOCK = """input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 8, stride: 2}
  - {type: pw, out: 16, bn: false, act: none}
  - {type: unfold, patch: 2, name: t0}
  - {type: gn, groups: 1}
  - {type: separable_attention}
  - {type: add, from: [t0, -1], name: t1}
  - {type: gn, groups: 1}
  - {type: linear, expand: 2, act: silu}
  - {type: linear, out: 16}
  - {type: add, from: [t1, -1]}
  - {type: gn, groups: 1}
  - {type: fold}
  - {type: pw, out: 8}
  - {type: avgpool}
  - {type: fc, out: 10, scale: false}
"""


def node(alpha: float = 1.0, resolution: int | None = None, index: int = 4):
    return build(parse_spec(BLOCK), alpha, resolution=resolution).nodes[index]


def test_hand_arithmetic() -> None:
    rows = analyze(parse_spec(BLOCK)).rows
    attn, norm = rows[4], rows[3]
    assert str(attn.node.output) == "4×16×16 tokens"
    # C = 16 on 4·16 = 64 tokens: weights 16·(1 + 32) + 16·16 = 528 + 256 = 784; biases 33 + 16 = 49
    # Mult-Adds 64·784 = 50,176; memory access 1,024 in + 1,024 out + 784 weights = 2,832
    assert (attn.mult_adds, attn.params, attn.bn_params, attn.memory_access) == (50_176, 833, 0, 2_832)
    # GroupNorm(1) over the 16 channels of all 64 tokens: γ, β 32, no Mult-Adds, its work the 1,024 elements
    assert (norm.mult_adds, norm.params, norm.bn_params, norm.memory_access) == (0, 0, 32, 2_048)
    assert REGISTRY["gn"].work(norm.node) == 1_024
    # the softmax's scores: one per token
    assert REGISTRY["separable_attention"].score_elements(attn.node) == 64


def test_width_and_resolution() -> None:
    # α = 0.5: C = 8, weights 8·17 + 8·8 = 200, Mult-Adds 64·200 = 12,800; biases 17 + 8 = 25
    half = node(0.5)
    assert (REGISTRY["separable_attention"].mult_adds(half), REGISTRY["separable_attention"].params(half)) \
        == (12_800, 225)
    # ρ = 2 (32 px): a 16×16 map, 4 sequences of 64 tokens: 256·784 = 200,704, 4× (ρ², no N² term as attention's)
    assert REGISTRY["separable_attention"].mult_adds(node(1.0, 32)) == 200_704 == 4 * 50_176
    # 26 px: a 13×13 map resized to 14×14 (timm), 4 sequences of 7·7 = 49 tokens: 196·784 = 153,664
    resized = node(1.0, 26)
    assert (resized.input.sequences, resized.input.length) == (4, 49)
    assert REGISTRY["separable_attention"].mult_adds(resized) == 153_664


def test_no_biases() -> None:
    text = BLOCK.replace("{type: separable_attention}", "{type: separable_attention, bias: false, out_bias: false}")
    attn = analyze(parse_spec(text)).rows[4]
    assert (attn.mult_adds, attn.params) == (50_176, 784)  # the weights alone; the Mult-Adds never count biases


def test_on_one_sequence() -> None:
    # a plain sequence (P = 1): a 4×4 map of 8 channels as 16 tokens, C = 8: 16·200 = 3,200 Mult-Adds
    text = "input: {channels: 8, size: 4}\nlayers:\n  - {type: tokens}\n  - {type: separable_attention}\n"
    attn = analyze(parse_spec(text)).rows[1]
    assert (attn.mult_adds, attn.params) == (3_200, 225)


def test_sweep_equals_closed_form() -> None:
    sweep_points(BLOCK, [1.0, 0.5, 1.5], [16, 26, 32], ("mult_adds", "params", "memory_access"))


def test_terms_divide() -> None:
    for alpha, size in ((1.0, 16), (0.5, 26), (1.5, 32)):
        for n in build(parse_spec(BLOCK), alpha, resolution=size).nodes:
            kind = REGISTRY[n.type]
            assert all(c % area == 0 for c, area in (*kind.mult_adds_terms(n), *kind.work_terms(n))), n.name


@pytest.mark.parametrize(("body", "needle"), [
    ("  - {type: separable_attention}\n", "separable_attention takes a token sequence, got the map 8×8×3"),
    ("  - {type: unfold, patch: 2}\n  - {type: gn, groups: 2}\n", "must divide the input channels (3)"),
])
def test_bad_inputs_are_located(body: str, needle: str) -> None:
    with pytest.raises(MobcostError) as info:
        build(parse_spec(f"input: {{channels: 3, size: 8}}\nlayers:\n{body}"))
    assert needle in str(info.value) and "layers[" in str(info.value), str(info.value)


def test_bad_keys_are_located() -> None:
    with pytest.raises(MobcostError) as info:
        parse_spec("input: {channels: 3, size: 8}\nlayers:\n  - {type: tokens}\n"
                   "  - {type: separable_attention, heads: 2}\n")
    assert "unknown key" in str(info.value) and ":4:" in str(info.value), str(info.value)


# --- the torch side ------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("alpha", "size"), [(1.0, 16), (0.5, 26)])
def test_torch_counters_equal_closed_form(alpha: float, size: int) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(parse_spec(BLOCK), alpha, resolution=size))
    assert report.all_match, [layer for layer in report.layers if not layer.match]
    attn = next(layer for layer in report.layers if layer.type == "separable_attention")
    assert attn.fvcore_mult_adds == attn.flop_counter_mult_adds == attn.mult_adds > 0
    if (alpha, size) == (1.0, 16):
        assert (attn.fvcore_mult_adds, attn.fvcore_params) == (50_176, 833)  # fvcore's own count, as above


@pytest.mark.slow
def test_the_torch_build_computes_timms_block() -> None:
    torch = pytest.importorskip("torch")
    from mobcost.torchside.separable import SeparableAttention, TokenGroupNorm
    from mobcost.torchside.sequences import Fold, Unfold

    from .attention_zoo import _LinearSelfAttention

    torch.manual_seed(0)
    c, h, w, p = 6, 4, 8, 2
    x = torch.randn(1, c, h, w)
    # timm's layout: B×C×P×N (MobileVitV2Block), GroupNorm(1) and LinearSelfAttention on it
    timm_patches = x.reshape(1, c, h // p, p, w // p, p).permute(0, 1, 3, 5, 2, 4).reshape(1, c, p * p, -1)
    timm_attn = _LinearSelfAttention(c).eval()
    expected = timm_attn(torch.nn.GroupNorm(1, c)(timm_patches))
    ours = SeparableAttention(c)
    with torch.no_grad():  # the same weights: a 1×1 convolution's is a Linear's, viewed C_out×C_in
        ours.qkv.weight.copy_(timm_attn.qkv_proj.weight[:, :, 0, 0])
        ours.qkv.bias.copy_(timm_attn.qkv_proj.bias)
        ours.proj.weight.copy_(timm_attn.out_proj.weight[:, :, 0, 0])
        ours.proj.bias.copy_(timm_attn.out_proj.bias)
    tokens = Unfold(c, h, w, (p, p))(x)  # (P, N, C)
    got = ours(TokenGroupNorm(1, c, p * p, h * w // (p * p))(tokens))
    assert torch.allclose(got.permute(2, 0, 1).unsqueeze(0), expected, atol=1e-5)
    assert torch.allclose(Fold(c, h, w, (p, p))(got), expected.reshape(1, c, p, p, h // p, w // p)
                          .permute(0, 1, 4, 2, 5, 3).reshape(1, c, h, w), atol=1e-5)


# --- the importer on timm's channels-first block --------------------------------------------------------------------


def _imported(module, shape: tuple[int, int, int]) -> str:
    from mobcost.importers import onnx_to_spec
    from mobcost.torchside.export import export_onnx

    return onnx_to_spec(export_onnx(module.eval(), shape)).yaml


@pytest.mark.slow
def test_timms_block_imports_exactly() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    pytest.importorskip("fvcore")
    from .attention_zoo import _MobileViTv2Block
    from .reference_models import fvcore_analysis

    class Net(torch.nn.Sequential):
        def __init__(self) -> None:
            super().__init__(torch.nn.Conv2d(3, 32, 3, 2, 1), _MobileViTv2Block(32, 2))

    net = Net()
    spec = parse_spec(_imported(net, (3, 16, 16)))
    types = [layer.type for layer in spec.layers]
    assert types[:5] == ["conv", "dw", "pw", "unfold", "gn"] and types.count("separable_attention") == 2
    assert types.count("linear") == 4 and types[-2:] == ["fold", "pw"]
    totals = analyze(spec).totals
    by_op = fvcore_analysis(net, 16).by_operator()
    assert totals.mult_adds == by_op["conv"]  # every Mult-Add of the block is a convolution's in timm's module
    assert totals.params + totals.bn_params == sum(p.numel() for p in net.parameters())


@pytest.mark.slow
def test_near_misses_are_located() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from mobcost.importers import ModelImportError

    from .attention_zoo import _LinearSelfAttention, _MobileViTv2Block

    on_map = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), _LinearSelfAttention(8))
    with pytest.raises(ModelImportError) as info:
        _imported(on_map, (3, 8, 8))
    assert "qkv_proj" in str(info.value) and "not an unfold's patches" in str(info.value), str(info.value)

    block = _MobileViTv2Block(16, 1)
    block.transformer[0].mlp[0] = torch.nn.Conv2d(8, 16, 3, padding=1)  # a 3×3 conv on the patches
    with pytest.raises(ModelImportError) as info:
        _imported(block, (16, 8, 8))
    assert "mlp.0" in str(info.value) and "only a 1×1 convolution of stride 1" in str(info.value), str(info.value)


def _unfolded_attention():
    """timm's channels-first unfold, LinearSelfAttention with its residual, fold: no GroupNorm (whose dynamo form
    does not map yet), so both exporters' patterns are checked."""
    import torch

    from .attention_zoo import _LinearSelfAttention

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.attn = torch.nn.Conv2d(3, 8, 3, 2, 1), _LinearSelfAttention(8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.conv(x)
            x = x.reshape(1, 8, 4, 2, 4, 2).permute(0, 1, 3, 5, 2, 4).reshape(1, 8, 4, 16)
            x = x + self.attn(x)
            return x.reshape(1, 8, 2, 2, 4, 4).permute(0, 1, 4, 2, 5, 3).reshape(1, 8, 8, 8)

    return Net().eval()


@pytest.mark.slow
@pytest.mark.parametrize("dynamo", [False, True])
def test_both_exporters_patterns_map(dynamo: bool) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    pytest.importorskip("fvcore")
    from mobcost.torchside.export import from_torch

    from .reference_models import fvcore_analysis

    net = _unfolded_attention()
    spec = parse_spec(from_torch(net, (3, 16, 16), dynamo=dynamo))
    assert [layer.type for layer in spec.layers] == ["conv", "unfold", "separable_attention", "add", "fold"]
    totals = analyze(spec).totals
    # conv 8×8·8·27 = 13,824; attention 64 tokens · 8·(3·8 + 1) = 12,800
    assert totals.mult_adds == fvcore_analysis(net, 16).by_operator()["conv"] == 13_824 + 12_800
    assert totals.params == sum(p.numel() for p in net.parameters()) == 224 + 225


@pytest.mark.slow
def test_mobilevitv2_imported_at_128_scales_to_fvcores_count_at_256() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    pytest.importorskip("fvcore")
    from mobcost.torchside.export import from_torch

    from .attention_zoo import mobilevitv2_050
    from .reference_models import whole_counts

    spec = parse_spec(from_torch(mobilevitv2_050(), (3, 128, 128)))
    # ρ = 2: every token count ×4 (separable attention has no N² term); fvcore on the module at 256 px
    assert analyze(spec, 1.0, resolution=256).totals.mult_adds == whole_counts(mobilevitv2_050(), 256)[0]
