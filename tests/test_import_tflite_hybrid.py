""".tflite import of the attention hybrids litert-torch writes (issue 22): tests/data/tiny_deit_{int8,float}.tflite
are mobcost's own export of tests/data/tiny_deit.yaml (tests/data/make_hybrid_tflite.py); their counts are worked
out by hand below and by fvcore on a DeiT module written from the papers (tests/reference_models.py). The rules'
near-misses are built with the flatbuffer builders (tests/tflite_builder.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

tflite = pytest.importorskip("tflite")

from mobcost import analyze, parse_spec  # noqa: E402
from mobcost.importers import ModelImportError, tflite_to_spec  # noqa: E402

from .tflite_builder import INT32, Model, Op, T, build, ints  # noqa: E402

DATA = Path(__file__).parent / "data"
OP = tflite.BuiltinOperator

# TinyDeiT at 32×32×3: patch 8 → 4×4 = 16 tokens, + the class token = N 17, C 64, 2 heads, 10 classes.
# patch_embed 16·64·(3·8·8) = 196,608 (12,288 + 64 params); class token 64; position table 17·64 = 1,088.
# Per block: attention 4·N·C² + 2·N²·C = 4·17·4,096 + 2·289·64 = 278,528 + 36,992 = 315,520 (qkv 64·192 + 192,
# proj 64·64 + 64 = 16,640 params); fc1 17·64·256 = 278,528 (16,384 + 256); fc2 17·256·64 = 278,528
# (16,384 + 64): 872,576 Mult-Adds and 49,728 params a block. Head 64·10 = 640 (640 + 10).
# Total 196,608 + 2·872,576 + 640 = 1,942,400 Mult-Adds; 12,352 + 64 + 1,088 + 2·49,728 + 650 = 113,610 params;
# five LayerNorms' γ, β: 5·2·64 = 640 bn_params.
TINY_DEIT = (1_942_400, 113_610, 640)


def totals(text: str) -> tuple[int, int, int]:
    t = analyze(parse_spec(text)).totals
    return t.mult_adds, t.params, t.bn_params


@pytest.mark.parametrize("name, dtype", [("tiny_deit_int8", "int8"), ("tiny_deit_float", "fp32")])
def test_a_deit_export_imports_with_its_spec_counts(name: str, dtype: str) -> None:
    result = tflite_to_spec(DATA / f"{name}.tflite")
    assert totals(result.yaml) == TINY_DEIT
    spec = parse_spec(result.yaml)
    assert spec.dtype == dtype
    source = parse_spec((DATA / "tiny_deit.yaml").read_text())
    flat = [layer.type for layer in source.layers]
    assert [layer.type for layer in spec.layers] == flat  # patch_embed, cls_token, pos_embed, ln, attention, …
    assert [layer.heads for layer in spec.layers if layer.type == "attention"] == [2, 2]


@pytest.mark.slow  # fvcore on a torch module
def test_the_worked_out_count_is_fvcores() -> None:
    pytest.importorskip("fvcore")
    from .reference_models import _VisionTransformer, whole_counts

    model = _VisionTransformer(32, 8, 64, 2, 2, 4, 10).eval()
    mult_adds, params, _ = whole_counts(model, 32)  # every parameter: LayerNorms' γ, β too
    assert (mult_adds, params) == (TINY_DEIT[0], TINY_DEIT[1] + TINY_DEIT[2])


def _sequence_model(ops: list[Op], tensors: list[T], buffers: list[bytes] | None = None) -> bytes:
    """A 1×4×4×64 image read as 16 tokens of 64 (tensor 2, by operator 0), then ``ops`` (tensors from 3 on)."""
    head = [T("x", (1, 4, 4, 64)), T("shape", (3,), INT32, 1), T("tokens", (1, 16, 64))]
    return build(Model([*head, *tensors], [Op(OP.RESHAPE, (0, 1), (2,)), *ops],
                       buffers=[ints(1, 16, 64), *(buffers or [])]))


def test_a_product_of_two_activations_outside_attention_is_located() -> None:
    # x · xᵀ with no Softmax after it: no attention block; the product of two activations has no layer
    data = _sequence_model([Op(OP.BATCH_MATMUL, (2, 2), (3,), ("BatchMatMulOptions", {"AdjY": True}))],
                           [T("gram", (1, 16, 16))])
    with pytest.raises(ModelImportError, match=r"^m\.tflite: operator 1 \(BATCH_MATMUL\)"):
        tflite_to_spec(data, source="m.tflite")


def test_a_mean_over_channels_without_the_rest_of_a_layernorm_is_located() -> None:
    # MEAN over the last axis (and the batch's axis of 1) to a flat vector, as litert-torch's LayerNorm starts,
    # with nothing of the rest of it after: not a LayerNorm, and no other layer
    data = _sequence_model([Op(OP.MEAN, (2, 3), (4,), ("ReducerOptions", {"KeepDims": False}))],
                           [T("axes", (2,), INT32, 2), T("mu", (16,))], buffers=[ints(0, 2)])
    with pytest.raises(ModelImportError, match=r"^m\.tflite: operator 1 \(MEAN\)"):
        tflite_to_spec(data, source="m.tflite")
