"""SwiftFormer's efficient additive attention (`additive_attention`, issue 21): the closed form against hand
arithmetic, its resolution and width rules, the sweep, located errors; the torch build and timm's module against
fvcore; both importers on timm's block (the zoo's `_AdditiveAttention`) and a near-miss."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import parse_spec

from .test_geometry import sweep_points

# 3×16×16 → a 4×4 conv of stride 4 → 8×4×4: N = 16 tokens of C = 8
SPEC = """input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 8, kernel: 4, stride: 4, padding: 0}
  - {type: tokens}
  - {type: additive_attention}
  - {type: pool_tokens, mode: mean}
  - {type: fc, out: 5, scale: false}
"""


def _attention(alpha: float = 1.0, size: int = 16):
    return next(r for r in analyze(parse_spec(SPEC), alpha, resolution=size).rows
                if r.node.type == "additive_attention")


def test_closed_form_by_hand() -> None:
    row = _attention()
    # q, k, proj, final: 4·N·C·C = 4·16·8·8 = 4,096; scores q·w_g: N·C = 128 → 4,224 Mult-Adds
    assert row.mult_adds == 4_224
    # weights 4·8·8 + 8 (w_g) = 264, biases 4·8 = 32 → 296 params; memory 128 in + 128 out + 264 weights = 520
    assert (row.params, row.bn_params, row.memory_access) == (296, 0, 520)
    assert REGISTRY["additive_attention"].weights(row.node) == 264


def test_resolution_scales_as_rho_squared_and_width_as_alpha() -> None:
    # 32 px: N = 64 tokens, 4·64·8·8 + 64·8 = 16,896 = 4 × 4,224 (no N² term)
    assert _attention(size=32).mult_adds == 16_896
    # α = 0.5: C = 4, 4·16·4·4 + 16·4 = 1,088; params 4·16 + 4 + 4·4 = 84
    row = _attention(alpha=0.5)
    assert (row.mult_adds, row.params) == (1_088, 84)


def test_sweep_equals_closed_form() -> None:
    sweep_points(SPEC, [1.0, 0.75, 0.5], [16, 32, 24], ("mult_adds", "params", "memory_access"))


@pytest.mark.parametrize(("body", "needle"), [
    ("  - {type: additive_attention}\n", "additive_attention takes a token sequence, got the map 8×8×3"),
    ("  - {type: unfold, patch: 2}\n  - {type: additive_attention}\n", "takes one sequence, got the 4 sequences"),
])
def test_bad_inputs_are_located(body: str, needle: str) -> None:
    with pytest.raises(MobcostError) as info:
        build(parse_spec(f"input: {{channels: 3, size: 8}}\nlayers:\n{body}"))
    assert needle in str(info.value) and "layers[" in str(info.value), str(info.value)


def test_an_unknown_key_is_located() -> None:
    with pytest.raises(MobcostError) as info:
        parse_spec("input: {channels: 3, size: 8}\nlayers:\n  - {type: tokens}\n  - {type: additive_attention, "
                   "heads: 2}\n")
    assert "layers[1].heads" in str(info.value) and ":4:" in str(info.value), str(info.value)


# --- torch: the build and timm's module against fvcore; the importers ------------------------------------------


def _fvcore(module, x) -> int:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(module, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return analysis.total()


@pytest.mark.slow
def test_timms_module_and_the_build_count_as_the_closed_form() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from mobcost.torchside.build import layer_module
    from mobcost.torchside.crosscheck import check_graph

    from .attention_zoo import _AdditiveAttention

    row = _attention()
    timm_like = _AdditiveAttention(8).eval()  # takes the 8×4×4 map, flattens it to 16 tokens itself
    # fvcore: linear 4·16·8·8 = 4,096 + matmul (16×8)·(8×1) = 128; the normalisations, products and sum uncounted
    assert _fvcore(timm_like, torch.zeros(1, 8, 4, 4)) == row.mult_adds == 4_224
    assert sum(p.numel() for p in timm_like.parameters()) == row.params
    built = layer_module(row.node)
    assert sum(p.numel() for p in built.parameters()) == row.params
    report = check_graph(build(parse_spec(SPEC)))
    assert report.all_match, [layer for layer in report.layers if not layer.match]
    layer = next(r for r in report.layers if r.type == "additive_attention")
    assert layer.fvcore_mult_adds == layer.flop_counter_mult_adds == 4_224


def _block(proj_bias: bool = True):
    from torch import nn

    from .attention_zoo import _AdditiveAttention

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 4, 4)
            self.attn = _AdditiveAttention(8)
            if not proj_bias:
                self.attn.proj = nn.Linear(8, 8, bias=False)

        def forward(self, x):
            y = self.stem(x)
            return y + self.attn(y)

    return Net().eval()


@pytest.mark.slow
@pytest.mark.parametrize("path", ["onnx", "torch", "dynamo"])
def test_timms_block_imports_as_one_layer(path: str, tmp_path) -> None:
    pytest.importorskip("torch")
    from mobcost.importers import onnx_to_spec
    from mobcost.torchside.export import export_onnx, from_torch

    model = _block()
    if path != "onnx":  # from_torch: the TorchScript exporter, or dynamo's (its own operator spellings)
        text = from_torch(model, (3, 16, 16), dynamo=path == "dynamo")
    else:
        (tmp_path / "b.onnx").write_bytes(export_onnx(model, (3, 16, 16)))
        text = onnx_to_spec(tmp_path / "b.onnx").yaml
    a = analyze(parse_spec(text))
    assert [r.node.type for r in a.rows] == ["conv", "tokens", "additive_attention", "untokens", "add"]
    # conv 4·4·3·8·16 = 6,144 + the block's 4,224; params: conv 3·4·4·8 + 8 = 392, the block's 296
    held = sum(p.numel() for p in model.parameters())
    assert (a.totals.mult_adds, a.totals.params) == (6_144 + 4_224, 392 + 296) == (10_368, held)


@pytest.mark.slow
def test_a_block_without_projection_bias_is_a_located_error(tmp_path) -> None:
    pytest.importorskip("torch")
    from mobcost.importers import onnx_to_spec
    from mobcost.torchside.export import export_onnx

    (tmp_path / "b.onnx").write_bytes(export_onnx(_block(proj_bias=False), (3, 16, 16)))
    with pytest.raises(MobcostError) as info:
        onnx_to_spec(tmp_path / "b.onnx")
    said = str(info.value)
    assert "b.onnx" in said and "node '/attn/to_query/MatMul'" in said and "additive attention around MatMul" in said
    assert "projection with bias" in said, said
    kept = onnx_to_spec(tmp_path / "b.onnx", allow_unknown=True)
    assert kept.unmapped[0].node == "/attn/to_query/MatMul" and "type: additive_attention" not in kept.yaml


def test_sweep_latency_and_energy_equal_closed_form() -> None:
    from mobcost.explore import sweep
    from mobcost.explore.energy import network_energy
    from mobcost.explore.hardware import load_hardware, predict_layers

    spec, hw = parse_spec(SPEC), load_hardware("rpi4")
    r = sweep(spec, [1.0, 0.5], [16, 32], hardware=hw)
    for i in range(len(r)):
        graph = build(spec, float(r.columns["alpha"][i]), resolution=int(r.columns["resolution"][i]))
        assert r.columns["latency_ms"][i] == pytest.approx(1e3 * sum(predict_layers(graph, hw)), rel=1e-9)
        assert r.columns["energy_uj"][i] == pytest.approx(network_energy(graph, hw).pj / 1e6, rel=1e-12)


def test_memory_says_its_inner_tensors_are_not_counted() -> None:
    from mobcost.analysis.memory import plan_memory

    notes = plan_memory(build(parse_spec(SPEC))).notes
    assert any("additive_attention layers' inner tensors" in n for n in notes), notes
