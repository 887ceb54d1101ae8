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


# TinyMobileViT at 32×32×3 (one MobileViT block on a 16×16 map of 48 channels: P = 4 sequences of N = 64 tokens):
# conv 3→16 3×3 /2: 16·27·256 = 110,592 (432); pw 16→32: 32·16·256 = 131,072 (512); conv 32→32 3×3:
# 32·288·256 = 2,359,296 (9,216); pw 32→48 (no BN, no bias): 48·32·256 = 393,216 (1,536); attention over the
# 256 tokens: 4·256·48² + 2·4·64²·48 = 2,359,296 + 1,572,864 = 3,932,160 (4·48² + 4·48 = 9,408); linear 48→96
# and 96→48: 2 × 256·48·96 = 2,359,296 (4,704 + 4,656); pw 48→32: 393,216 (1,536); conv 64→32 3×3:
# 32·576·256 = 4,718,592 (18,432); fc 32→10: 320 (330). Total 14,397,760 Mult-Adds, 50,762 params — the spec's.
# The file holds more: the converter folds each of the 144 BatchNorm channels (16 + 32 + 32 + 32 + 32) into a
# bias and gives the bias-free pw 32→48 a bias of 48 zeros (TFLite's CONV_2D always reads one): 50,954 params; its
# three LayerNorms' γ, β (3·2·48 = 288) are the only bn_params left.
TINY_MOBILEVIT = (14_397_760, 50_762 + 144 + 48, 288)


# TinyMNv4Hybrid at 32×32×3: conv 3→16 3×3 /2: 16·27·256 = 110,592 (432); conv 16→32 3×3 /2 → 8×8:
# 32·144·64 = 294,912 (4,608); BN; multi-query attention on N = 64 pixels of C = 32, 2 query heads of d = 16, one
# K/V head, K/V stride 2 (N′ = 16): q 1×1 32→32 64·1,024 = 65,536; k and v each a 3×3 depthwise /2 32·9·16 = 4,608
# and a 1×1 32→16 16·512 = 8,192; the products h·N·N′·(d + d_v) = 2·64·16·32 = 65,536; out 1×1 32→32 65,536:
# 222,208 (1,024 + 2·(288 + 512) + 1,024 = 3,648); add; pw 32→64: 64·32·64 = 131,072 (2,048); mean; fc 64→10:
# 640 (650). Total 759,424 Mult-Adds, 11,386 params — the spec's. The file holds more: the 16 + 32 + 64 channels'
# BatchNorms folded into biases (112) and the bias-free projections q, k, v, out given zero biases (32 + 16 + 16 + 32
# = 96; the imported attention says `bias: true`, `out_bias: true`): 11,594.
TINY_MNV4 = (759_424, 11_386 + 112 + 96)


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


def test_a_mobilevit_export_imports_with_its_spec_mult_adds() -> None:
    result = tflite_to_spec(DATA / "tiny_mobilevit_int8.tflite")
    assert totals(result.yaml) == TINY_MOBILEVIT
    source = parse_spec((DATA / "tiny_mobilevit.yaml").read_text())
    spec = parse_spec(result.yaml)
    assert [layer.type for layer in spec.layers] == [layer.type for layer in source.layers]  # unfold … fold


def test_a_multi_query_attention_export_imports_with_its_spec_mult_adds() -> None:
    result = tflite_to_spec(DATA / "tiny_mnv4_hybrid_int8.tflite")
    assert totals(result.yaml)[:2] == TINY_MNV4
    (layer,) = [layer for layer in parse_spec(result.yaml).layers if layer.type == "attention"]
    # d = 16 = C / h, so head_dim is left implicit; the zero biases the file stores make bias and out_bias true
    assert (layer.heads, layer.kv_heads, layer.kv_stride, layer.head_dim) == (2, 1, 2, None)
    assert (layer.bias, layer.out_bias) == (True, True)


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


def test_a_per_channel_sub_without_its_scale_is_located() -> None:
    # SUB of a stored mean per channel with no MUL by γ/σ after it: not a BatchNorm written out, and no layer
    data = build(Model([T("x", (1, 4, 4, 8)), T("mean", (8,), buffer=1), T("y", (1, 4, 4, 8))],
                       [Op(OP.SUB, (0, 1), (2,))], buffers=[bytes(32)]))
    with pytest.raises(ModelImportError, match=r"^m\.tflite: operator 0 \(SUB\)"):
        tflite_to_spec(data, source="m.tflite")


def test_a_batchnorm_written_out_is_bn() -> None:
    # SUB of a stored mean per channel, MUL by a stored γ/σ per channel (a BatchNorm no convolution precedes, as the
    # converter writes it): one standalone `bn`, 2·8 bn_params, no Mult-Adds
    data = build(Model([T("x", (1, 4, 4, 8)), T("mean", (8,), buffer=1), T("d", (1, 4, 4, 8)), T("s", (8,), buffer=2),
                        T("y", (1, 4, 4, 8))],
                       [Op(OP.SUB, (0, 1), (2,)), Op(OP.MUL, (2, 3), (4,))], buffers=[bytes(32), bytes(32)]))
    yaml = tflite_to_spec(data).yaml
    assert [layer.type for layer in parse_spec(yaml).layers] == ["bn"]
    assert totals(yaml) == (0, 0, 16)


@pytest.mark.slow  # fvcore and FlopCounterMode on the torch builds the stored files were exported from
@pytest.mark.parametrize("name", ["tiny_mobilevit", "tiny_mnv4_hybrid"])
def test_the_specs_the_files_came_from_count_as_fvcore(name: str) -> None:
    pytest.importorskip("fvcore")
    from mobcost.graph import build
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(parse_spec((DATA / f"{name}.yaml").read_text())))
    assert report.all_match, [layer for layer in report.layers if not layer.match]
