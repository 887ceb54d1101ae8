"""An ONNX file with dynamic input axes (issue 20, newcomer 2): ``import --input CxHxW`` fixes the free
dimensions, a fixed one that disagrees is a located line, and without --input a free C, H or W is one line
naming them (exit 2, no traceback). A free batch alone is 1. The models are written here with ``onnx.helper``;
expected Mult-Adds are worked out by hand in the comments (conv: out·in·k²·H·W)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from mobcost import OptionError, analyze, parse_spec  # noqa: E402
from mobcost.cli import app  # noqa: E402
from mobcost.importers import ModelImportError, onnx_to_spec  # noqa: E402

F, I64 = TensorProto.FLOAT, TensorProto.INT64


def weight(name: str, dims: list[int], kind: int = F, values: list | None = None) -> onnx.TensorProto:
    return helper.make_tensor(name, kind, dims, values if values is not None else [0] * math.prod(dims))


def conv_model(shape: list | None, *, channels_last: bool = False) -> onnx.ModelProto:
    """x → conv 3→16 3×3 s1 p1 (a Transpose to N×C×H×W first when ``channels_last``)."""
    nodes = []
    first = "x"
    if channels_last:
        nodes.append(helper.make_node("Transpose", ["x"], ["t"], name="nchw", perm=[0, 3, 1, 2]))
        first = "t"
    nodes.append(helper.make_node("Conv", [first, "w"], ["y"], name="conv", kernel_shape=[3, 3], pads=[1] * 4))
    x = helper.make_tensor_value_info("x", F, shape)
    graph = helper.make_graph(nodes, "net", [x], [helper.make_tensor_value_info("y", F, None)],
                              [weight("w", [16, 3, 3, 3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def se_model(shape: list) -> onnx.ModelProto:
    """conv 3→16 3×3, then a torch-style squeeze-and-excitation whose gate is reshaped to N×C×1×1 with the
    batch and channels read by Shape → Gather at run time (what ``x.view(b, c, 1, 1)`` exports)."""
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], name="conv1", kernel_shape=[3, 3], pads=[1] * 4),
             helper.make_node("ReduceMean", ["a"], ["p"], name="mean", axes=[2, 3], keepdims=0),
             helper.make_node("Gemm", ["p", "w2", "b2"], ["q"], name="fc", transB=1),
             helper.make_node("Sigmoid", ["q"], ["g"], name="gate"),
             helper.make_node("Shape", ["a"], ["s"], name="shape"),
             helper.make_node("Gather", ["s", "nc"], ["n_c"], name="gather", axis=0),
             helper.make_node("Concat", ["n_c", "ones"], ["view"], name="cat", axis=0),
             helper.make_node("Reshape", ["g", "view"], ["g4"], name="reshape"),
             helper.make_node("Mul", ["a", "g4"], ["y"], name="scale")]
    inits = [weight("w1", [16, 3, 3, 3]), weight("w2", [16, 16]), weight("b2", [16]),
             weight("nc", [2], I64, [0, 1]), weight("ones", [2], I64, [1, 1])]
    x = helper.make_tensor_value_info("x", F, shape)
    graph = helper.make_graph(nodes, "se", [x], [helper.make_tensor_value_info("y", F, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def saved(tmp_path: Path, model: onnx.ModelProto, name: str = "model.onnx") -> str:
    path = tmp_path / name
    onnx.save(model, str(path))
    return str(path)


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("traceback") from result.exception
    return result.exit_code, result.stdout, result.stderr


def counts(text: str) -> tuple[int, int]:
    t = analyze(parse_spec(text)).totals
    return t.mult_adds, t.params


@pytest.mark.parametrize("shape", [[1, 3, "height", "width"], ["N", 3, None, None], ["batch", "c", "h", "w"]],
                         ids=["named", "unnamed", "all-free"])
def test_input_fixes_the_free_dimensions(tmp_path: Path, shape: list) -> None:
    code, out, err = cli("import", saved(tmp_path, conv_model(shape)), "--input", "3x224x224")
    assert code == 0, err
    assert "input: {channels: 3, size: 224}" in out
    # 16·3·9·224·224 = 21,676,032 Mult-Adds; 16·3·9 = 432 params
    assert counts(out) == (21_676_032, 432)


def test_input_may_be_rectangular(tmp_path: Path) -> None:
    code, out, err = cli("import", saved(tmp_path, conv_model(["N", 3, None, None])), "--input", "3x32x24")
    assert code == 0, err
    assert "size: [32, 24]" in out
    assert counts(out) == (16 * 3 * 9 * 32 * 24, 432)  # 331,776


@pytest.mark.parametrize("shape, line", [
    ([1, 3, "height", "width"], "input 'x' has free dimensions [height, width] (shape [1, 3, height, width])"),
    (["N", 3, None, None], "input 'x' has free dimensions [H, W] (shape [N, 3, ?, ?])"),
    ([1, "c", 8, 8], "input 'x' has free dimensions [c] (shape [1, c, 8, 8])"),
], ids=["named", "unnamed", "channels"])
def test_without_input_free_dimensions_are_one_line(tmp_path: Path, shape: list, line: str) -> None:
    code, out, err = cli("import", saved(tmp_path, conv_model(shape)))
    assert code == 2 and out == ""
    assert err == f"mobcost: error: model.onnx: {line}: give them with --input CxHxW\n"


def test_a_free_batch_alone_is_batch_one(tmp_path: Path) -> None:
    code, out, err = cli("import", saved(tmp_path, conv_model(["N", 3, 8, 8])))
    assert code == 0, err
    assert counts(out) == (16 * 3 * 9 * 8 * 8, 432)  # 27,648


def test_batch_shape_arithmetic_folds_once_the_batch_is_one(tmp_path: Path) -> None:
    """A dynamic batch used to leave the gate's Reshape unknown (the import stopped at Shape); H and W free
    too, --input settles both."""
    # conv1 16·3·9·8·8 = 27,648; fc 16·16 = 256: 27,904 Mult-Adds; params 432 + 256 + 16 = 704
    code, out, err = cli("import", saved(tmp_path, se_model(["N", 3, 8, 8])))
    assert code == 0, err
    assert counts(out) == (27_904, 704)
    code, out, err = cli("import", saved(tmp_path, se_model(["N", 3, "h", "w"]), "free.onnx"), "--input", "3x8x8")
    assert code == 0, err
    assert counts(out) == (27_904, 704)


@pytest.mark.parametrize("shape, given, message", [
    ([1, 3, "h", "w"], "4x8x8", "input 'x' has C = 3 (shape [1, 3, h, w]); --input 4x8x8 gives 4"),
    ([1, 3, 8, "w"], "3x9x8", "input 'x' has H = 8 (shape [1, 3, 8, w]); --input 3x9x8 gives 9"),
    ([1, 3, 8, 8], "3x8x16", "input 'x' has W = 8 (shape [1, 3, 8, 8]); --input 3x8x16 gives 16"),
])
def test_a_fixed_dimension_that_disagrees_is_a_located_line(tmp_path: Path, shape: list, given: str,
                                                            message: str) -> None:
    code, out, err = cli("import", saved(tmp_path, conv_model(shape)), "--input", given)
    assert code == 2 and out == ""
    assert err == f"mobcost: error: model.onnx: {message}\n"


@pytest.mark.parametrize("shape", [[1, 3, 8, 8], [4, 3, 8, 8]], ids=["batch-1", "batch-4"])
def test_a_static_input_with_a_matching_input_imports_as_without(tmp_path: Path, shape: list) -> None:
    path = saved(tmp_path, conv_model(shape))
    code, out, err = cli("import", path, "--input", "3x8x8")
    assert code == 0, err
    assert out == cli("import", path)[1]  # a declared batch is the file's business: --input gives C×H×W
    assert counts(out) == (27_648, 432)  # 16·3·9·8·8


def test_a_channels_last_input_takes_input_as_cxhxw(tmp_path: Path) -> None:
    path = saved(tmp_path, conv_model(["N", "h", "w", 3], channels_last=True))
    code, out, err = cli("import", path)
    assert code == 2 and "free dimensions [h, w] (shape [N, h, w, 3])" in err
    code, out, err = cli("import", path, "--input", "3x16x8")
    assert code == 0, err
    assert counts(out) == (16 * 3 * 9 * 16 * 8, 432)  # 55,296


def test_an_input_declared_without_a_shape_takes_input_whole(tmp_path: Path) -> None:
    code, out, err = cli("import", saved(tmp_path, conv_model(None)), "--input", "3x8x8")
    assert code == 0, err
    assert counts(out) == (27_648, 432)


def test_input_on_an_input_not_of_rank_four_is_a_located_line(tmp_path: Path) -> None:
    code, _, err = cli("import", saved(tmp_path, conv_model([3, "h", "w"])), "--input", "3x8x8")
    assert code == 2
    assert err == ("mobcost: error: model.onnx: input 'x' has shape [3, h, w]: --input gives C×H×W of an N×C×H×W "
                   "image\n")


def test_an_onnx_spec_of_another_command_says_how_to_import_it(tmp_path: Path) -> None:
    """``table`` has no --input (its --resolution cannot give C): the line names the import that can."""
    path = saved(tmp_path, conv_model([1, 3, "h", "w"]))
    code, out, err = cli("table", path)
    assert code == 2 and out == ""
    assert err == (f"mobcost: error: model.onnx: input 'x' has free dimensions [h, w] (shape [1, 3, h, w]): import "
                   f"it first with `mobcost import {path} --input CxHxW -o SPEC.yaml`\n")


@pytest.mark.parametrize("extra", [[], ["--input", "3x224x224"]], ids=["plain", "with-input"])
def test_a_spec_given_to_import_is_refused_saying_what_declares_its_input(tmp_path: Path, extra: list) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text("name: net\ninput: {channels: 3, size: 32}\nlayers:\n  - {type: conv, out: 8}\n")
    code, out, err = cli("import", str(spec), *extra)
    assert code == 2 and out == ""
    assert err.startswith(f"mobcost: error: {spec}: is a spec already (every command takes it as SPEC): its "
                          "`input:` gives the input")
    assert ("--input is for ONNX files and --torch" in err) == bool(extra)


def test_the_library_takes_input_shape_and_checks_it() -> None:
    result = onnx_to_spec(conv_model([1, 3, "h", "w"]), input_shape=(3, 8, 8))
    assert counts(result.yaml) == (27_648, 432)
    with pytest.raises(OptionError, match=r"^input_shape: expected three sizes"):
        onnx_to_spec(conv_model([1, 3, "h", "w"]), input_shape=(3, 0, 8))


def test_names_from_the_file_are_cut_short_and_printable() -> None:
    long = "h\n" + "x" * 500
    with pytest.raises(ModelImportError) as info:
        onnx_to_spec(conv_model([1, 3, long, 8]))
    text = str(info.value)
    assert "\n" not in text and len(text) < 250
    assert "free dimensions [h?" + "x" * 37 + "…]" in text
