""".tflite import (issue 22, item 1): the files under tests/data were made by tests/data/make_tflite.py (litert-torch,
then ai-edge-quantizer's static int8 recipe); their Mult-Adds and params are worked out by hand in the comments
(conv: out·in·k²·H·W; dw: C·k²·H·W; params: weights + biases, BatchNorm folded into the biases by the
converter). The rules' cases are written here with the flatbuffer builders (tests/tflite_builder.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

tflite = pytest.importorskip("tflite")

from mobcost import analyze, parse_spec  # noqa: E402
from mobcost.cli import app  # noqa: E402
from mobcost.importers import ModelImportError, tflite_to_spec  # noqa: E402

from .tflite_builder import INT8, INT32, Model, Op, T, build, conv, file_counts, ints, weights  # noqa: E402

DATA = Path(__file__).parent / "data"
OP = tflite.BuiltinOperator


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("traceback") from result.exception
    return result.exit_code, result.stdout, result.stderr


def counts(text: str) -> tuple[int, int]:
    t = analyze(parse_spec(text)).totals
    return t.mult_adds, t.params


# MiniMobileNet at 32×32×3 (make_tflite.py): conv 3→8 3×3 /2 → 16×16: 8·3·9·256 = 55,296 (params 216 + 8);
# dw 8: 8·9·256 = 18,432 (72 + 8); pw 8→16: 16·8·256 = 32,768 (128 + 16); dw 16 /2 → 8×8: 16·9·64 = 9,216
# (144 + 16); pw 16→32: 32·16·64 = 32,768 (512 + 32); mean; fc 32→10: 320 (320 + 10).
# Total 148,800 Mult-Adds, 1,482 params.
MOBILE = (148_800, 1_482)
# Branches at 16×16×3: conv 3→8 3×3: 8·27·256 = 55,296 (216 + 8); a 1×1 8→8: 64·256 = 16,384 (64 + 8);
# b 3×3 8→8: 8·72·256 = 147,456 (576 + 8); concat; mix 1×1 16→8: 128·256 = 32,768 (128 + 8); add; mean;
# gate 1×1 8→8 on 1×1: 64 (64 + 8); sigmoid; mul; maxpool 2 → 8×8; fc 512→5: 2,560 (2,560 + 5).
# Total 254,528 Mult-Adds, 3,653 params.
BRANCHES = (254_528, 3_653)
# tflm_chain_int8 (benchmarks/tflm_arena.py make) at 96×96×3: conv 3→8 /2 → 48×48: 8·27·2,304 = 497,664 (224);
# dw 8: 72·2,304 = 165,888 (80); pw 8→16: 128·2,304 = 294,912 (144); pw 16→4: 64·2,304 = 147,456 (68).
CHAIN = (1_105_920, 516)


@pytest.mark.parametrize("name, dtype, expected", [
    ("mini_mobilenet_float", "fp32", MOBILE), ("mini_mobilenet_int8", "int8", MOBILE),
    ("branches_int8", "int8", BRANCHES), ("tflm_chain_int8", "int8", CHAIN)])
def test_generated_models_count_as_worked_out(name: str, dtype: str, expected: tuple[int, int]) -> None:
    result = tflite_to_spec(DATA / f"{name}.tflite")
    assert counts(result.yaml) == expected
    assert f"\ndtype: {dtype}\n" in result.yaml
    assert parse_spec(result.yaml).dtype == dtype


# Files the importer refused before: MLPerf Tiny's ResNet-8 from another toolchain (TF 'same' PADs in the torch
# layout between TRANSPOSEs), mobcost's own export --int8 of ResNet-8 (which had them too; now its stride-2 'same'
# convolutions are CONV_2D SAME, runtimes.litert.convert.pads_apart) and of SqueezeNet 1.0 (α 0.25, 96×96: its
# ceil-mode pools' PADV2, the head's RESHAPE of a 1×1 map to N×C×1×1).
@pytest.mark.parametrize("name", ["tflm_resnet8_ic_int8", "tflm_bundled_mlperf_tiny_ic_int8",
                                  "tflm_bundled_squeezenet1_0_int8"])
def test_stored_models_count_what_the_file_holds(name: str) -> None:
    path = DATA / f"{name}.tflite"
    assert counts(tflite_to_spec(path).yaml) == file_counts(path)


def test_the_independent_count_is_the_worked_out_one() -> None:
    assert file_counts(DATA / "tflm_chain_int8.tflite") == CHAIN  # the counter itself, on arithmetic above


def test_layers_and_activations_follow_the_file() -> None:
    spec = parse_spec(tflite_to_spec(DATA / "mini_mobilenet_int8.tflite").yaml)
    # PAD before a VALID conv is its padding; fused ReLU6 / ReLU and HARD_SWISH fold into the layer before
    assert [(layer.type, layer.act) for layer in spec.layers] == [
        ("conv", "relu6"), ("dw", "relu6"), ("pw", "relu6"), ("dw", "relu"), ("pw", "hswish"), ("avgpool", "none"),
        ("fc", "none")]
    branches = parse_spec(tflite_to_spec(DATA / "branches_int8.tflite").yaml)
    assert [layer.type for layer in branches.layers] == ["conv", "pw", "conv", "concat", "pw", "add", "avgpool",
                                                         "pw", "mul", "maxpool", "fc"]


def test_every_command_takes_a_tflite_as_spec() -> None:
    path = str(DATA / "mini_mobilenet_int8.tflite")
    code, out, err = cli("table", path, "-f", "json")
    assert code == 0, err
    totals = json.loads(out)["totals"]
    assert (totals["mult_adds"], totals["params"]) == MOBILE
    code, out, err = cli("memory", path, "-f", "json")
    assert code == 0, err
    assert json.loads(out)["dtype"] == "int8"  # the file's own, without --dtype
    code, out, err = cli("memory", str(DATA / "mini_mobilenet_float.tflite"), "-f", "json")
    assert json.loads(out)["dtype"] == "fp32"


def test_import_writes_the_spec(tmp_path: Path) -> None:
    code, _, err = cli("import", str(DATA / "branches_int8.tflite"), "-o", str(tmp_path / "b.yaml"))
    assert code == 0, err
    assert counts((tmp_path / "b.yaml").read_text()) == BRANCHES
    code, _, err = cli("import", str(DATA / "branches_int8.tflite"), "--input", "3x16x16")
    assert code == 2 and "--input" in err


# --- rules, on files written here -------------------------------------------------------------------------


def chain(*, extra: list[Op] | None = None, tensors: list[T] | None = None, buffers: list[bytes] | None = None,
          weight_shape: tuple[int, ...] = (4, 3, 3, 3), name: str = "conv") -> bytes:
    """x 1×8×8×3 → CONV_2D 3→4 3×3 SAME (ReLU) → y, then ``extra`` operators."""
    base = [T("x", (1, 8, 8, 3)), T("w", weight_shape, buffer=1), T("b", (4,), buffer=2), T(name, (1, 8, 8, 4))]
    n = 1
    for dim in weight_shape:
        n *= dim
    return build(Model([*base, *(tensors or [])], [Op(OP.CONV_2D, (0, 1, 2), (3,), conv(act=1)), *(extra or [])],
                       buffers=[weights(n), weights(4), *(buffers or [])]))


def test_a_built_conv_counts() -> None:
    # 4·3·9·64 = 6,912 Mult-Adds; 108 + 4 params; SAME with a 3×3 kernel at stride 1 is padding 1
    assert counts(tflite_to_spec(chain()).yaml) == (6_912, 112)


def test_unknown_operator_is_located_or_a_note() -> None:
    split = Op(OP.SPLIT_V, (3, 5, 6), (4,))
    data = chain(extra=[split], tensors=[T("s", (1, 8, 8, 4)), T("sizes", (1,), INT32, 3), T("axis", (), INT32, 4)],
                 buffers=[ints(4), ints(3)])
    with pytest.raises(ModelImportError) as info:
        tflite_to_spec(data, source="model.tflite")
    assert str(info.value).startswith("model.tflite: operator 1 (SPLIT_V): inputs 1×4×8×8, const 1, const scalar "
                                      "(as N×C×H×W): mobcost has no layer for SPLIT_V; supported: CONV_2D")
    result = tflite_to_spec(data, allow_unknown=True)
    assert [u.op for u in result.unmapped] == ["SPLIT_V"] and "# unmapped:" in result.yaml
    assert counts(result.yaml) == (6_912, 112)  # the conv still counted; what was left out is listed, never zero


def test_a_weight_read_twice_counts_once() -> None:
    # two convs reading buffer 1 (and the bias, buffer 2): the second `shares` the first's params
    again = Op(OP.CONV_2D, (4, 1, 2), (5,), conv())
    data = chain(extra=[Op(OP.RELU, (3,), (4,)), again], weight_shape=(4, 3, 3, 3),
                 tensors=[T("r", (1, 8, 8, 4)), T("z", (1, 8, 8, 4))])
    with pytest.raises(ModelImportError, match=r"operator 2 \(CONV_2D\): a 4×3×3×3 weight"):
        tflite_to_spec(data)  # 4 input channels for a weight made for 3: the file is broken, not a layer to count
    data = build(Model([T("x", (1, 8, 8, 4)), T("w", (4, 3, 3, 4), buffer=1), T("b", (4,), buffer=2),
                        T("y", (1, 8, 8, 4)), T("w again", (4, 3, 3, 4), buffer=1), T("z", (1, 8, 8, 4))],
                       [Op(OP.CONV_2D, (0, 1, 2), (3,), conv(act=1)), Op(OP.CONV_2D, (3, 4, 2), (5,), conv(act=1))],
                       buffers=[weights(144), weights(4)]))
    yaml = tflite_to_spec(data).yaml
    assert "shares:" in yaml
    # each 4·4·9·64 = 9,216 Mult-Adds; params once: 144 + 4
    assert counts(yaml) == (18_432, 148)


def test_quantize_and_dequantize_cost_nothing() -> None:
    data = build(Model([T("x", (1, 8, 8, 3)), T("q", (1, 8, 8, 3), INT8), T("w", (4, 3, 3, 3), INT8, 1),
                        T("b", (4,), INT32, 2), T("y", (1, 8, 8, 4), INT8), T("out", (1, 8, 8, 4))],
                       [Op(OP.QUANTIZE, (0,), (1,)), Op(OP.CONV_2D, (1, 2, 3), (4,), conv(act=3)),
                        Op(OP.DEQUANTIZE, (4,), (5,))],
                       buffers=[weights(108, INT8), weights(4, INT32)]))
    yaml = tflite_to_spec(data).yaml
    assert "dtype: int8" in yaml and counts(yaml) == (6_912, 112)


def test_asymmetric_same_padding_is_same() -> None:
    # 8×8 at stride 2 with a 3×3 kernel: TensorFlow pads 0 before and 1 after → `padding: same`, output 4×4
    data = build(Model([T("x", (1, 8, 8, 3)), T("w", (4, 3, 3, 3), buffer=1), T("y", (1, 4, 4, 4))],
                       [Op(OP.CONV_2D, (0, 1, -1), (2,), conv(stride=2))], buffers=[weights(108)]))
    yaml = tflite_to_spec(data).yaml
    assert "padding: same" in yaml and counts(yaml) == (4 * 27 * 16, 108)


def test_names_from_the_file_are_quoted() -> None:
    data = chain(name='a"b\nname: evil\u2028')
    yaml = tflite_to_spec(data, source='m"\n.tflite').yaml
    assert "\nname: evil" not in yaml and "\u2028" not in yaml
    assert counts(yaml) == (6_912, 112)


# --- malformed files: one line, exit 2 --------------------------------------------------------------------


def _operators_length_at(data: bytes) -> int:
    graph = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    return graph._tab.Vector(graph._tab.Offset(10)) - 4  # the operators vector's length word


@pytest.mark.parametrize("case", ["truncated", "identifier", "huge vector", "empty"])
def test_malformed_files_are_one_line(tmp_path: Path, case: str) -> None:
    data = bytearray((DATA / "mini_mobilenet_float.tflite").read_bytes())
    if case == "truncated":
        data = data[: len(data) // 3]
    elif case == "identifier":
        data[4:8] = b"XXXX"
    elif case == "huge vector":
        at = _operators_length_at(bytes(data))
        data[at:at + 4] = (0x7FFFFFFF).to_bytes(4, "little")
    else:
        data = bytearray()
    path = tmp_path / "model.tflite"
    path.write_bytes(bytes(data))
    for command in (("import", str(path)), ("table", str(path))):
        code, out, err = cli(*command)
        assert code == 2 and out == "", (case, err)
        assert err.startswith("mobcost: error: model.tflite") and err.count("\n") == 1, err
    if case == "huge vector":
        assert "declares 2,147,483,647 elements" in err
    if case == "identifier":
        assert "not a TFLite model" in err


def test_slices_of_channels_are_split_parts() -> None:
    # ShuffleNetV2's halves: x 1×4×4×8 → SLICE channels [0, 4) and [4, 8) → a 1×1 conv 4→4 on the second half,
    # concat. 4·4·16 = 256 Mult-Adds, 16 params (no bias)
    data = build(Model([T("x", (1, 4, 4, 8)), T("begin a", (4,), INT32, 1), T("size", (4,), INT32, 2),
                        T("begin b", (4,), INT32, 3), T("a", (1, 4, 4, 4)), T("b", (1, 4, 4, 4)),
                        T("w", (4, 1, 1, 4), buffer=4), T("c", (1, 4, 4, 4)), T("y", (1, 4, 4, 8))],
                       [Op(OP.SLICE, (0, 1, 2), (4,)), Op(OP.SLICE, (0, 3, 2), (5,)),
                        Op(OP.CONV_2D, (5, 6, -1), (7,), conv()),
                        Op(OP.CONCATENATION, (4, 7), (8,), ("ConcatenationOptions", {"Axis": 3}))],
                       buffers=[ints(0, 0, 0, 0), ints(1, 4, 4, 4), ints(0, 0, 0, 4), weights(16)]))
    yaml = tflite_to_spec(data).yaml
    spec = parse_spec(yaml)
    assert [(layer.type, getattr(layer, "index", None)) for layer in spec.layers] == [
        ("split", 0), ("split", 1), ("pw", None), ("concat", None)]
    assert counts(yaml) == (256, 16)


def test_a_resize_to_a_size_is_resize() -> None:
    # 1×6×6×4 bilinear to 14×14 (Faster R-CNN's RoI stand-in): not an integer factor → resize, then a 1×1 conv
    # 4→4: 16·196 = 3,136 Mult-Adds, 16 params
    data = build(Model([T("x", (1, 6, 6, 4)), T("size", (2,), INT32, 1), T("r", (1, 14, 14, 4)),
                        T("w", (4, 1, 1, 4), buffer=2), T("y", (1, 14, 14, 4))],
                       [Op(OP.RESIZE_BILINEAR, (0, 1), (2,)), Op(OP.CONV_2D, (2, 3, -1), (4,), conv())],
                       buffers=[ints(14, 14), weights(16)]))
    yaml = tflite_to_spec(data).yaml
    layer = parse_spec(yaml).layers[0]
    assert (layer.type, layer.mode) == ("resize", "bilinear") and counts(yaml) == (3_136, 16)


def test_the_quantizers_one_input_add_is_a_copy() -> None:
    # ai-edge-quantizer's requantization: an ADD of one input named "…_quantized", the input's shape: no layer
    data = chain(extra=[Op(OP.ADD, (3,), (4,))], tensors=[T("conv_quantized", (1, 8, 8, 4))])
    assert counts(tflite_to_spec(data).yaml) == (6_912, 112)
    data = chain(extra=[Op(OP.ADD, (3,), (4,))], tensors=[T("sum", (1, 8, 8, 4))])
    with pytest.raises(ModelImportError, match=r"operator 1 \(ADD\): 1 inputs; ADD takes 2"):
        tflite_to_spec(data)  # any other one-input ADD is a broken file


def test_batch_matmul_keeps_a_copy_of_its_right_hand_side() -> None:
    from mobcost.importers.tflite_file import read_tflite
    from mobcost.importers.tflite_memory import file_persistent

    # Q 2×8×4 · K 2×4×8 → 2×8×8, int8, adj_y false: TFLM's batch_matmul.cc copies K transposed into the tail:
    # a TfLiteEvalTensor (24 → 32 B), its dims (4 + 3·4 = 16), its 64 data bytes = 112; with the allocator's
    # 488 B, three I/O TfLiteTensors (Q, K, the output: 3 × 96), three TfLiteEvalTensors (3 × 24), one node (64)
    # and the op data (OpDataBatchMatmul 32 + its quantization struct 32): 488 + 288 + 72 + 64 + 64 + 112 = 1,088
    def model(adj_y: bool) -> bytes:
        return build(Model([T("q", (2, 8, 4), INT8), T("k", (2, 4, 8), INT8), T("s", (2, 8, 8), INT8)],
                           [Op(OP.BATCH_MATMUL, (0, 1), (2,), ("BatchMatMulOptions", {"AdjY": adj_y}))],
                           inputs=(0, 1)))

    assert file_persistent(read_tflite(model(False))) == 1_088
    assert file_persistent(read_tflite(model(True))) == 1_088 - 112  # K given transposed: no copy


def test_a_fully_connected_on_tokens_is_linear() -> None:
    # 1×4×4×8 read as 16 tokens of 8 (a RESHAPE: the map's pixels in order), FULLY_CONNECTED 8→12 keeping the
    # dims, with a bias: `tokens`, `linear`. 16·8·12 = 1,536 Mult-Adds; 96 + 12 params
    fc = ("FullyConnectedOptions", {"KeepNumDims": True})
    data = build(Model([T("x", (1, 4, 4, 8)), T("shape", (3,), INT32, 1), T("tok", (1, 16, 8)),
                        T("w", (12, 8), buffer=2), T("b", (12,), INT32, 3), T("y", (1, 16, 12))],
                       [Op(OP.RESHAPE, (0, 1), (2,)), Op(OP.FULLY_CONNECTED, (2, 3, 4), (5,), fc)],
                       buffers=[ints(1, 16, 8), weights(96), weights(12, INT32)]))
    yaml = tflite_to_spec(data).yaml
    assert [layer.type for layer in parse_spec(yaml).layers] == ["tokens", "linear"]
    assert counts(yaml) == (1_536, 108)
