"""The ONNX importer on graphs written here with ``onnx.helper`` (no torch): what maps to which layer, the
located errors, ``allow_unknown``, the shape check, and the cold-start budget. Expected counts are worked out
by hand from the closed forms (the paper's eqs. 2 and 4), never read back from the importer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from mobcost import analyze, build, parse_spec  # noqa: E402
from mobcost.importers import ModelImportError, load_onnx, onnx_to_spec  # noqa: E402
from mobcost.importers.convert import check_shapes, map_graph  # noqa: E402
from mobcost.importers.emit import render  # noqa: E402
from mobcost.importers.onnx_graph import load_graph  # noqa: E402
from mobcost.layers import ACTIVATIONS, REGISTRY  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class Net:
    """A small ONNX graph under construction: data-path nodes plus initializers whose values never matter
    (only their dims), written as raw zeros so building stays fast."""

    def __init__(self, shape: tuple[int, ...] = (1, 3, 8, 8), opset: int = 17) -> None:
        self.nodes: list = []
        self.inits: list = []
        self.inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))]
        self.opset = opset
        self.last = "x"

    def weight(self, name: str, dims: tuple[int, ...], values: list | None = None,
               kind: int = TensorProto.FLOAT) -> str:
        n = 1
        for d in dims:
            n *= d
        self.inits.append(helper.make_tensor(name, kind, dims, values if values is not None else [0] * n))
        return name

    def op(self, op_type: str, inputs: list[str] | None = None, name: str | None = None, outputs: int = 1,
           **attrs) -> str:
        name = name or f"/{op_type.lower()}{len(self.nodes)}/{op_type}"
        outs = [f"{name}:{len(self.nodes)}:out{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs if inputs is not None else [self.last], outs, name=name,
                                           **attrs))
        self.last = outs[0]
        return outs[0]

    def conv(self, cin: int, cout: int, k: int = 3, stride: int = 1, pad: int | None = None, group: int = 1,
             bias: bool = False, name: str | None = None, **attrs) -> str:
        tag = f"w{len(self.inits)}"
        ins = [self.last, self.weight(tag, (cout, cin // group, k, k))]
        if bias:
            ins.append(self.weight(tag + "b", (cout,)))
        p = k // 2 if pad is None else pad
        attrs.setdefault("pads", [p, p, p, p])
        attrs.setdefault("strides", [stride, stride])
        return self.op("Conv", ins, name, kernel_shape=[k, k], group=group, **attrs)

    def model(self, outputs: list[str] | None = None):
        outs = [helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in (outputs or [self.last])]
        graph = helper.make_graph(self.nodes, "net", self.inputs, outs, self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                 producer_name="tests", producer_version="1")


def totals(text: str) -> tuple[int, int, int]:
    t = analyze(parse_spec(text)).totals
    return t.mult_adds, t.params, t.bn_params


def layers_of(text: str) -> list[dict]:
    return [{k: v for k, v in vars(layer).items() if k in ("type", "name", "out", "kernel", "stride", "padding",
                                                              "groups", "bias", "bn", "act", "ceil_mode")}
            for layer in parse_spec(text).layers]


def test_conv_bn_relu_folds_into_one_layer_and_dw_pw_are_recognised() -> None:
    net = Net((1, 3, 16, 16))
    net.conv(3, 8, 3, 2)
    bn = [net.weight(f"bn{i}", (8,)) for i in range(4)]
    net.op("BatchNormalization", [net.last, *bn])
    net.op("Relu")
    net.conv(8, 8, 3, 1, group=8)
    net.op("Clip", [net.last, net.weight("lo", (), [0.0]), net.weight("hi", (), [6.0])])
    net.conv(8, 16, 1)
    result = onnx_to_spec(net.model())
    kinds = [(d["type"], d["bn"], d["act"]) for d in layers_of(result.yaml)]
    assert kinds == [("conv", True, "relu"), ("dw", False, "relu6"), ("pw", False, "none")]
    # 3·3·3·8·8·8 + 3·3·8·8·8 + 8·16·8·8 (eqs. 2 and 4 on the 8×8 output)
    assert totals(result.yaml) == (13824 + 4608 + 8192, 216 + 72 + 128, 16)


def test_header_names_the_file_producer_opset_and_input(tmp_path: Path) -> None:
    net = Net((1, 3, 8, 8), opset=13)
    net.conv(3, 4, 3)
    path = tmp_path / "tiny_net.onnx"
    onnx.save(net.model(), path)
    text = onnx_to_spec(path).yaml
    header = " ".join(text.splitlines()[:2])
    assert "tiny_net.onnx" in header and "tests 1" in header and "opset 13" in header and "1×3×8×8" in header
    assert parse_spec(text).name == "tiny_net"


def test_a_folded_model_keeps_its_conv_biases_under_defaults() -> None:
    net = Net((1, 3, 8, 8))
    net.conv(3, 4, 3, bias=True)
    net.op("Relu")
    net.conv(4, 4, 1, bias=True)
    text = onnx_to_spec(net.model()).yaml
    assert "defaults: {bias: true, bn: false}" in text
    assert totals(text) == (3 * 3 * 3 * 4 * 64 + 4 * 4 * 64, 108 + 4 + 16 + 4, 0)


def test_fc_from_gemm_and_from_matmul_plus_bias() -> None:
    net = Net((1, 4, 4, 4))
    net.op("GlobalAveragePool")
    net.op("Flatten", axis=1)
    net.op("Gemm", [net.last, net.weight("fw", (4, 10)), net.weight("fb", (10,))], transB=0)
    net.op("Relu")
    net.op("MatMul", [net.last, net.weight("mw", (10, 3))])
    net.op("Add", [net.last, net.weight("mb", (3,))])
    text = onnx_to_spec(net.model()).yaml
    kinds = [(d["type"], d["out"], d["bias"], d["act"]) for d in layers_of(text)]
    assert kinds == [("avgpool", None, False, "none"), ("fc", 10, True, "relu"), ("fc", 3, True, "none")]
    assert totals(text) == (40 + 30, 50 + 33, 0)
    assert "scale: false" in text.splitlines()[-1]  # the classifier keeps its width under α


def test_sum_concat_and_pools() -> None:
    net = Net((1, 4, 8, 8))
    a = net.op("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    b = net.op("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c = net.op("Sum", [a, b, a])
    d = net.op("Concat", [c, a], axis=1)
    net.op("GlobalMaxPool", [d])
    text = onnx_to_spec(net.model()).yaml
    spec = parse_spec(text)
    assert [(la.type, la.kernel, la.stride, la.padding, la.ceil_mode) for la in spec.layers] == [
        ("maxpool", 3, 2, 0, True), ("avgpool", 3, 2, 1, False), ("add", None, None, None, False),
        ("concat", None, None, None, False), ("maxpool", 4, None, 0, False)]
    assert len(spec.layers[2].inputs) == 3


@pytest.mark.parametrize("opset", [13, 18])
def test_reduce_mean_over_h_and_w_is_global_average_pooling(opset: int) -> None:
    net = Net((1, 4, 6, 6), opset=opset)
    if opset < 18:
        net.op("ReduceMean", axes=[2, 3], keepdims=0)
    else:
        net.op("ReduceMean", [net.last, net.weight("axes", (2,), [-1, -2], TensorProto.INT64)], keepdims=1)
    assert [d["type"] for d in layers_of(onnx_to_spec(net.model()).yaml)] == ["avgpool"]


def test_reduce_mean_over_channels_is_a_located_error() -> None:
    net = Net((1, 4, 6, 6), opset=13)
    net.op("ReduceMean", axes=[1], name="/head/ReduceMean")
    with pytest.raises(ModelImportError, match=r"node '/head/ReduceMean': ReduceMean .*only a reduction over H×W"):
        onnx_to_spec(net.model())


def test_explicit_pad_folds_into_the_next_convolution() -> None:
    net = Net((1, 3, 8, 8), opset=13)
    net.op("Pad", [net.last, net.weight("p", (8,), [0, 0, 2, 2, 0, 0, 2, 2], TensorProto.INT64)])
    net.conv(3, 4, 5, pad=0)
    (node,) = build(parse_spec(onnx_to_spec(net.model()).yaml)).nodes
    assert (node.kernel, node.padding, node.output.h) == (5, 2, 8)


def test_same_upper_padding_is_read_from_the_shapes() -> None:
    net = Net((1, 3, 8, 8))
    net.op("Conv", ["x", net.weight("w", (4, 3, 3, 3))], kernel_shape=[3, 3], auto_pad="SAME_UPPER")
    (node,) = build(parse_spec(onnx_to_spec(net.model()).yaml)).nodes
    assert (node.padding, node.output.h) == (1, 8)


@pytest.mark.parametrize(("attrs", "message"), [
    ({"dilations": [1, 2]}, r"only an equal dilation of a convolution maps"),
])
def test_what_the_vocabulary_cannot_express_is_a_located_error(attrs: dict, message: str) -> None:
    net = Net((1, 3, 8, 8))
    net.conv(3, 4, 3, name="/stem/Conv", **attrs)
    with pytest.raises(ModelImportError, match=message) as info:
        onnx_to_spec(net.model())
    assert "node '/stem/Conv': Conv (inputs 1×3×8×8, const 4×3×3×3)" in str(info.value)


def test_a_non_square_kernel_is_a_kernel_pair() -> None:
    net = Net((1, 3, 8, 8))
    net.op("Conv", ["x", net.weight("w", (4, 3, 1, 7))], name="/b/Conv", kernel_shape=[1, 7], pads=[0, 3, 0, 3])
    (node,) = build(parse_spec(onnx_to_spec(net.model()).yaml)).nodes
    assert (node.output.h, node.output.w) == (8, 8)
    assert totals(onnx_to_spec(net.model()).yaml)[0] == 7 * 3 * 4 * 64


def test_an_unknown_operator_is_a_one_line_error_naming_it_its_shapes_and_the_nearest_construct() -> None:
    net = Net((1, 3, 8, 8))
    net.conv(3, 4, 3)
    net.op("Resize", [net.last, "", net.weight("scales", (4,), [1.0, 1.0, 2.0, 2.0])], name="/up/Resize",
           mode="cubic")
    with pytest.raises(ModelImportError) as info:
        onnx_to_spec(net.model())
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("<model>: node '/up/Resize': Resize (inputs 1×4×8×8, const 4): cubic interpolation")
    assert "has no Mult-Adds" in text


def test_an_operator_of_no_known_kind_lists_what_is_supported() -> None:
    net = Net((1, 3, 8, 8))
    net.op("CumSum", [net.last, net.weight("axis", (), [1], TensorProto.INT64)], name="/odd/CumSum")
    with pytest.raises(ModelImportError, match=r"node '/odd/CumSum': CumSum \(inputs 1×3×8×8, const scalar\): "
                                               r"mobcost has no layer for CumSum; supported: Conv"):
        onnx_to_spec(net.model())


def test_an_activation_mobcost_lacks_names_the_ones_it_has() -> None:
    net = Net((1, 3, 8, 8))
    net.op("Softsign", name="/odd/Softsign")
    with pytest.raises(ModelImportError, match=r"node '/odd/Softsign': Softsign \(inputs 1×3×8×8\): Softsign is an "
                                               r"activation mobcost does not have; nearest: act \(relu, relu6, "):
        onnx_to_spec(net.model())


def test_allow_unknown_wires_around_a_shape_preserving_operator() -> None:
    net = Net((1, 3, 8, 8))
    net.conv(3, 4, 3)
    net.op("Softsign", name="/odd/Softsign")
    net.conv(4, 4, 1)
    result = onnx_to_spec(net.model(), allow_unknown=True)
    assert [u.node for u in result.unmapped] == ["/odd/Softsign"]
    assert "# unmapped:" in result.yaml and "/odd/Softsign (Softsign; inputs 1×3×8×8)" not in result.yaml
    assert "/odd/Softsign (Softsign; inputs 1×4×8×8)" in result.yaml
    assert "1 operator(s) left out" in parse_spec(result.yaml).description
    assert totals(result.yaml)[0] == 3 * 3 * 3 * 4 * 64 + 4 * 4 * 64  # both convolutions still counted


def test_allow_unknown_stops_a_path_at_a_shape_changing_operator() -> None:
    net = Net((1, 3, 8, 8))
    net.conv(3, 4, 3)
    net.op("DepthToSpace", name="/up/Resize", blocksize=2)
    net.conv(1, 4, 1, name="/after/Conv")
    result = onnx_to_spec(net.model(), allow_unknown=True)
    assert [(u.node, "left-out node '/up/Resize'" in u.reason) for u in result.unmapped] == [
        ("/up/Resize", False), ("/after/Conv", True)]
    assert len(parse_spec(result.yaml).layers) == 1


def test_softmax_identity_dropout_and_flatten_are_no_layers_but_softmax_is_noted() -> None:
    net = Net((1, 4, 2, 2))
    net.op("Identity")
    net.op("Dropout")
    net.op("Flatten", axis=1)
    net.op("Gemm", [net.last, net.weight("w", (5, 16))], transB=1)
    net.op("Softmax", axis=1, name="/Softmax")
    result = onnx_to_spec(net.model())
    assert [d["type"] for d in layers_of(result.yaml)] == ["fc"]
    assert result.notes and "/Softmax" in result.yaml
    assert totals(result.yaml) == (80, 80, 0)  # Gemm without C: no bias


def test_standalone_clip_that_is_no_activation_is_an_error() -> None:
    net = Net((1, 3, 4, 4))
    net.op("Clip", [net.last, net.weight("lo", (), [-1.0]), net.weight("hi", (), [1.0])], name="/c/Clip")
    with pytest.raises(ModelImportError, match=r"node '/c/Clip': Clip .*no activation mobcost knows"):
        onnx_to_spec(net.model())


def test_local_functions_are_inlined() -> None:
    net = Net((1, 3, 8, 8))
    body = [helper.make_node("Conv", ["a", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["y"])]
    fn = helper.make_function("local", "ConvRelu", ["a", "w"], ["y"], body, [helper.make_opsetid("", 17)])
    net.nodes.append(helper.make_node("ConvRelu", ["x", net.weight("w", (4, 3, 3, 3))], ["out"], domain="local",
                                      name="/block/ConvRelu"))
    model = net.model(["out"])
    model.functions.append(fn)
    model.opset_import.append(helper.make_opsetid("local", 1))
    (layer,) = layers_of(onnx_to_spec(model).yaml)
    assert (layer["type"], layer["act"], layer["bn"]) == ("conv", "relu", False)


def test_layer_names_are_sanitised_unique_and_never_input() -> None:
    net = Net((1, 3, 8, 8))
    net.conv(3, 4, 3, name="/0/Conv")
    net.op("Relu", name="input")
    net.conv(4, 4, 3, name="/0/Conv_1")
    names = [layer.name for layer in parse_spec(onnx_to_spec(net.model()).yaml).layers]
    assert names == ["conv_0.conv", "conv_0.conv_1"]
    net = Net((1, 3, 8, 8))
    net.op("MaxPool", kernel_shape=[2, 2], strides=[2, 2], name="input")
    assert parse_spec(onnx_to_spec(net.model()).yaml).layers[0].name == "input_2"


def test_an_input_of_unknown_size_is_refused() -> None:
    net = Net((1, 3, "h", "w"))
    net.conv(3, 4, 3)
    with pytest.raises(ModelImportError, match=r"^<model>: input 'x' has free dimensions \[h, w\] \(shape \[1, 3, h, "
                                                r"w\]\): give them with --input CxHxW$"):
        onnx_to_spec(net.model())


def test_rectangular_inputs_non_square_kernels_strides_and_asymmetric_padding_map() -> None:
    """Inception v3's 1×7 / 7×1, unequal strides, padding that differs per side, on an 8×6 input."""
    net = Net((1, 3, 8, 6))
    net.op("Conv", ["x", net.weight("a", (4, 3, 1, 7))], kernel_shape=[1, 7], pads=[0, 3, 0, 3])
    net.op("Conv", [net.last, net.weight("b", (4, 4, 7, 1))], kernel_shape=[7, 1], strides=[2, 1], pads=[3, 0, 3, 0])
    net.op("Conv", [net.last, net.weight("c", (4, 4, 3, 3))], kernel_shape=[3, 3], pads=[0, 0, 2, 1])
    net.op("MaxPool", kernel_shape=[2, 3], strides=[2, 3])
    text = onnx_to_spec(net.model()).yaml
    assert "input: {channels: 3, size: [8, 6]}" in text
    assert "kernel: [1, 7], bn: false" in text  # the default padding, half the kernel per axis, left out
    assert "kernel: [7, 1], stride: [2, 1], bn: false" in text
    assert "padding: [[0, 2], [0, 1]]" in text and "type: maxpool, kernel: [2, 3]}" in text
    (a, b, c, pool) = build(parse_spec(text)).nodes
    assert [(n.output.h, n.output.w) for n in (a, b, c, pool)] == [(8, 6), (4, 6), (4, 5), (2, 1)]
    assert totals(text)[0] == 7 * 3 * 4 * 48 + 7 * 4 * 4 * 24 + 9 * 4 * 4 * 20


def test_pool_padding_that_differs_before_and_after_is_the_pools_padding() -> None:
    # pads [top, left, bottom, right] = [0, 0, 1, 1] on 8×8, k3 s2: ⌊(8 + 1 − 3)/2⌋ + 1 = 4 = ⌈8/2⌉, TF's "same";
    # [0, 1, 1, 0] is no "same": [[top, bottom], [left, right]] = [[0, 1], [1, 0]]
    for pads, padding in (([0, 0, 1, 1], "same"), ([0, 1, 1, 0], ((0, 1, 1, 0)))):
        net = Net((1, 3, 8, 8))
        net.op("MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=pads, name="/p/MaxPool")
        (node,) = build(parse_spec(onnx_to_spec(net.model()).yaml)).nodes
        assert (node.layer.padding, node.output.h, node.output.w) == (padding, 4, 4)


def test_a_graph_of_two_inputs_is_refused() -> None:
    net = Net((1, 3, 8, 8))
    net.inputs.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8]))
    net.op("Add", ["x", "y"])
    with pytest.raises(ModelImportError, match=r"the graph takes 2 inputs \(x, y\); a mobcost network takes one"):
        onnx_to_spec(net.model())


def test_a_shape_mobcost_infers_differently_is_an_error_naming_the_node() -> None:
    net = Net((1, 3, 8, 8))
    net.conv(3, 4, 3, name="/stem/Conv")
    graph = load_graph(net.model())
    graph.dims[graph.ops[0].outputs[0]] = (1, 4, 7, 7)  # as if ONNX had inferred another size
    mapper = map_graph(graph, False)
    text, names = render(graph, mapper.layers, mapper.resolve, [], [], "net")
    with pytest.raises(ModelImportError, match=r"node '/stem/Conv': mobcost infers 4×8×8 \(C×H×W\) for layer "
                                               r"'stem', ONNX shape inference 1×4×7×7"):
        check_shapes(text, graph, mapper.layers, names)


def test_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelImportError, match="no such file"):
        onnx_to_spec(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not a model at all\xff" * 10)
    with pytest.raises(ModelImportError, match="not a readable ONNX model"):
        onnx_to_spec(junk)


def _chain_model(path: Path, blocks: int) -> None:
    """A 200-layer network: conv 3×3 → BatchNorm → ReLU, repeated."""
    net = Net((1, 3, 56, 56))
    cin = 3
    for i in range(blocks):
        net.conv(cin, 32, 3, name=f"/blocks/blocks.{i}/conv/Conv")
        bn = [net.weight(f"bn{i}.{j}", (32,)) for j in range(4)]
        net.op("BatchNormalization", [net.last, *bn], name=f"/blocks/blocks.{i}/bn/BatchNormalization")
        net.op("Relu", name=f"/blocks/blocks.{i}/act/Relu")
        cin = 32
    onnx.save(net.model(), path)


@pytest.mark.slow
def test_a_200_layer_model_imports_in_a_fresh_process_without_torch(tmp_path: Path) -> None:
    # Its speed (it was "under 2 s") is measured by benchmarks/import_onnx.py, not asserted here.
    path = tmp_path / "deep.onnx"
    _chain_model(path, 200)
    code = ("import sys\nfrom mobcost.importers import onnx_to_spec\n"
            f"r = onnx_to_spec({str(path)!r})\nassert 'torch' not in sys.modules, 'torch was imported'\n"
            "print(r.layers)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["200"]


def test_import_mobcost_does_not_import_onnx() -> None:
    code = "import sys, mobcost, mobcost.importers\nprint('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


# --- issue 12's vocabulary: standalone activations and BatchNorm, the SE multiply, channel split and shuffle ------

NEW_VOCABULARY = {"act", "bn", "mul", "split", "shuffle"} <= set(REGISTRY) and \
    {"hswish", "hsigmoid", "gelu", "silu"} <= set(ACTIVATIONS)
needs_vocabulary = pytest.mark.skipif(not NEW_VOCABULARY, reason="issue 12's layer types are not registered yet")


@needs_vocabulary
def test_squeeze_and_excitation_becomes_its_parts() -> None:
    net = Net((1, 16, 8, 8))
    net.op("GlobalAveragePool", name="/se/avgpool/GlobalAveragePool")
    net.conv(16, 4, 1, bias=True, name="/se/fc1/Conv")
    net.op("Relu", name="/se/act/Relu")
    net.conv(4, 16, 1, bias=True, name="/se/fc2/Conv")
    gate = net.op("HardSigmoid", alpha=1 / 6, beta=0.5, name="/se/gate/HardSigmoid")
    net.op("Mul", [gate, "x"], name="/se/Mul")
    spec = parse_spec(onnx_to_spec(net.model()).yaml)
    assert [(la.type, la.bias, la.bn, la.act) for la in spec.layers] == [
        ("avgpool", False, False, "none"), ("pw", True, False, "relu"), ("pw", True, False, "hsigmoid"),
        ("mul", False, False, "none")]
    assert spec.layers[-1].inputs == ("input", "se.fc2")  # x · gate, whichever order the file wrote
    assert totals(onnx_to_spec(net.model()).yaml) == (16 * 4 + 4 * 16, 16 * 4 + 4 + 4 * 16 + 16, 0)


@needs_vocabulary
@pytest.mark.parametrize("opset", [13, 18])
def test_an_equal_channel_split_is_one_split_layer_per_part(opset: int) -> None:
    net = Net((1, 16, 4, 4), opset=opset)
    if opset < 18:
        net.op("Split", [net.last, net.weight("sizes", (2,), [8, 8], TensorProto.INT64)], outputs=2, axis=1)
    else:
        net.op("Split", outputs=2, axis=1, num_outputs=2)
    a, b = net.nodes[-1].output
    net.op("Relu", [b])
    net.op("Concat", [a, net.last], axis=1)
    spec = parse_spec(onnx_to_spec(net.model()).yaml)
    assert [(la.type, la.parts, la.index) for la in spec.layers] == [
        ("split", 2, 0), ("split", 2, 1), ("act", None, None), ("concat", None, None)]


@needs_vocabulary
def test_an_unequal_split_is_split_by_sizes() -> None:
    # 16 channels as 4 + 12: sizes [1, 3] (lowest terms), parts of 16·1/4 = 4 and 16·3/4 = 12 channels
    net = Net((1, 16, 4, 4), opset=13)
    net.op("Split", [net.last, net.weight("sizes", (2,), [4, 12], TensorProto.INT64)], outputs=2, axis=1,
           name="/s/Split")
    spec = parse_spec(onnx_to_spec(net.model(net.nodes[-1].output)).yaml)
    assert [(layer.sizes, layer.index) for layer in spec.layers] == [((1, 3), 0), ((1, 3), 1)]
    assert [node.output.c for node in build(spec).nodes] == [4, 12]


def test_a_split_into_empty_parts_is_a_located_error() -> None:
    net = Net((1, 16, 4, 4), opset=13)
    net.op("Split", [net.last, net.weight("sizes", (2,), [0, 16], TensorProto.INT64)], outputs=2, axis=1,
           name="/s/Split")
    with pytest.raises(ModelImportError, match=r"node '/s/Split': Split .*channel widths \[0, 16\]"):
        onnx_to_spec(net.model(net.nodes[-1].output))


@needs_vocabulary
def test_reshape_transpose_reshape_is_a_channel_shuffle() -> None:
    net = Net((1, 16, 4, 4))
    net.op("Reshape", [net.last, net.weight("s1", (5,), [1, 2, 8, 4, 4], TensorProto.INT64)], name="/b/Reshape")
    net.op("Transpose", perm=[0, 2, 1, 3, 4])
    net.op("Reshape", [net.last, net.weight("s2", (4,), [1, 16, 4, 4], TensorProto.INT64)])
    spec = parse_spec(onnx_to_spec(net.model()).yaml)
    assert [(la.type, la.groups, la.name) for la in spec.layers] == [("shuffle", 2, "b")]


@needs_vocabulary
def test_channel_slices_are_split_parts_and_a_whole_slice_is_no_layer() -> None:
    net = Net((1, 12, 4, 4))
    ints = TensorProto.INT64
    a = net.op("Slice", ["x", net.weight("s0", (1,), [4], ints), net.weight("e0", (1,), [8], ints),
                         net.weight("ax", (1,), [1], ints)])
    b = net.op("Slice", ["x", net.weight("s1", (1,), [0], ints), net.weight("e1", (1,), [2**62], ints), "ax"])
    net.op("Concat", [a, b], axis=1)
    spec = parse_spec(onnx_to_spec(net.model()).yaml)
    assert [(la.type, la.parts, la.index) for la in spec.layers] == [("split", 3, 1), ("concat", None, None)]
    assert spec.layers[1].inputs == ("slice0", "input")


@needs_vocabulary
def test_batchnorm_after_a_join_is_a_standalone_bn_layer() -> None:
    net = Net((1, 8, 4, 4))
    net.op("Concat", ["x", "x"], axis=1)
    bn = [net.weight(f"bn{i}", (16,)) for i in range(4)]
    net.op("BatchNormalization", [net.last, *bn])
    net.op("Relu")
    spec = parse_spec(onnx_to_spec(net.model()).yaml)
    assert [(la.type, la.act) for la in spec.layers] == [("concat", "none"), ("bn", "relu")]
    assert totals(onnx_to_spec(net.model()).yaml)[2] == 32


@needs_vocabulary
@pytest.mark.parametrize(("ops", "act"), [
    ("gelu", "gelu"), ("hswish", "hswish"), ("hsigmoid", "hsigmoid"), ("silu", "silu")])
def test_activations_written_as_several_operators_are_recognised(ops: str, act: str) -> None:
    net = Net((1, 4, 4, 4))
    x = net.op("MaxPool", kernel_shape=[1, 1])
    c = {v: net.weight(f"c{v}", (), [float(v)]) for v in (0.5, 1.0, 1.4142135, 3.0, 6.0, 0.0)}
    if ops == "gelu":
        net.op("Erf", [net.op("Div", [x, c[1.4142135]])])
        net.op("Mul", [net.op("Mul", [x, net.op("Add", [net.last, c[1.0]])]), c[0.5]])
    elif ops in ("hswish", "hsigmoid"):
        clipped = net.op("Clip", [net.op("Add", [x, c[3.0]]), c[0.0], c[6.0]])
        net.op("Div", [net.op("Mul", [x, clipped]) if ops == "hswish" else clipped, c[6.0]])
    else:
        net.op("Mul", [x, net.op("Sigmoid", [x])])
    spec = parse_spec(onnx_to_spec(net.model()).yaml)
    assert [(la.type, la.act) for la in spec.layers] == [("maxpool", "none"), ("act", act)]


@needs_vocabulary
def test_a_per_channel_stored_scale_is_layer_scale_and_a_scalar_one_is_noted() -> None:
    net = Net((1, 4, 4, 4))
    net.op("Mul", [net.last, net.weight("gamma", (1, 4, 1, 1))], name="/ls/Mul")
    assert [la.type for la in parse_spec(onnx_to_spec(net.model()).yaml).layers] == ["layerscale"]
    assert totals(onnx_to_spec(net.model()).yaml) == (0, 4, 0)
    net = Net((1, 4, 4, 4))
    net.op("Mul", [net.last, net.weight("gamma", (4, 4, 1, 1))], name="/ls/Mul")
    with pytest.raises(ModelImportError, match=r"node '/ls/Mul': Mul \(inputs 1×4×4×4, const 4×4×1×1\): scaling by "
                                               r"a constant tensor: only one stored weight per channel"):
        onnx_to_spec(net.model())
    net = Net((1, 4, 4, 4))
    net.op("Mul", [net.last, net.weight("two", (), [2.0])], name="/half/Mul")
    net.op("MaxPool", kernel_shape=[2, 2], strides=[2, 2])
    result = onnx_to_spec(net.model())
    assert [la.type for la in parse_spec(result.yaml).layers] == ["maxpool"]
    assert result.notes == ("/half/Mul (Mul by a scalar constant) is not a layer: it costs nothing under the "
                            "paper's convention",)


def test_a_channels_last_block_becomes_ln_pw_act_and_layer_scale() -> None:
    """ConvNeXt: permute to N×H×W×C, LayerNorm, Linear 4C (+bias), GELU, Linear C, scale, permute back."""
    net = Net((1, 4, 5, 5))
    net.op("Transpose", perm=[0, 2, 3, 1])
    net.op("LayerNormalization", [net.last, net.weight("g", (4,)), net.weight("b", (4,))], axis=-1)
    net.op("Add", [net.op("MatMul", [net.last, net.weight("w1", (4, 16))]), net.weight("b1", (16,))])
    net.op("Relu")
    net.op("MatMul", [net.last, net.weight("w2", (16, 4))])
    net.op("Mul", [net.last, net.weight("gamma", (4,))])
    net.op("Transpose", perm=[0, 3, 1, 2])
    spec = parse_spec(onnx_to_spec(net.model()).yaml)
    assert [(la.type, la.act, la.out, la.bias) for la in spec.layers if la.type != "layerscale"] == [
        ("ln", "none", None, False), ("pw", "relu", 16, True), ("pw", "none", 4, False)]
    assert totals(onnx_to_spec(net.model()).yaml) == (25 * (4 * 16 + 16 * 4), 4 * 16 + 16 + 16 * 4 + 4, 8)


def test_a_transpose_that_is_no_channels_last_block_is_a_located_error() -> None:
    """The permute is the map held channels-last (Swin, TinyViT: importers/windows.py); the operator on it that no
    layer on the map is — here Softsign, no activation mobcost has — is the located error."""
    net = Net((1, 4, 5, 5))
    net.op("Transpose", perm=[0, 2, 3, 1], name="/t/Transpose")
    net.op("Softsign")
    net.op("Transpose", perm=[0, 3, 1, 2])
    with pytest.raises(ModelImportError, match=r"node '/softsign1/Softsign': Softsign .*on the channels-last map"):
        onnx_to_spec(net.model())


def test_dilation_same_padding_transposed_convolution_and_resize_map() -> None:
    net = Net((1, 3, 8, 8))
    net.conv(3, 4, 3, pad=2, dilations=[2, 2])
    net.op("Conv", [net.last, net.weight("w", (4, 4, 3, 3))], kernel_shape=[3, 3], strides=[2, 2],
           pads=[0, 0, 1, 1])  # TensorFlow's "same": 8 → 4, the odd pixel at the bottom and right
    net.op("ConvTranspose", [net.last, net.weight("wt", (4, 2, 2, 2))], kernel_shape=[2, 2], strides=[2, 2])
    net.op("Resize", [net.last, "", net.weight("scales", (4,), [1.0, 1.0, 2.0, 2.0])], mode="linear")
    spec = parse_spec(onnx_to_spec(net.model()).yaml)
    assert [(la.type, la.dilation if la.type == "conv" else None) for la in spec.layers] == [
        ("conv", 2), ("conv", 1), ("deconv", None), ("upsample", None)]
    assert (spec.layers[1].padding, spec.layers[3].factor, spec.layers[3].mode) == ("same", 2, "bilinear")
    assert totals(onnx_to_spec(net.model()).yaml)[0] == 9 * 3 * 4 * 64 + 9 * 4 * 4 * 16 + 4 * 4 * 2 * 16


def test_an_nhwc_input_transposed_first_is_the_nchw_image() -> None:
    net = Net((1, 8, 8, 3))
    net.op("Transpose", perm=[0, 3, 1, 2])
    net.conv(3, 4, 3)
    spec = parse_spec(onnx_to_spec(net.model()).yaml)
    assert (spec.channels, spec.size, spec.layers[0].inputs) == (3, 8, ())


def test_same_upper_padding_is_tensorflow_same_and_same_lower_its_sides() -> None:
    net = Net((1, 3, 8, 8))
    net.op("Conv", ["x", net.weight("w", (4, 3, 3, 3))], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER",
           name="/tf/Conv")
    (node,) = build(parse_spec(onnx_to_spec(net.model()).yaml)).nodes
    assert (node.layer.padding, node.output.h) == ("same", 4)
    net = Net((1, 3, 8, 8))
    net.op("Conv", ["x", net.weight("w", (4, 3, 3, 3))], kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER",
           name="/tf/Conv")
    assert "padding: [[1, 0], [1, 0]]" in onnx_to_spec(net.model()).yaml  # the odd pixel before: no `same`


def test_load_onnx_gives_a_spec_for_every_command(tmp_path: Path) -> None:
    net = Net((1, 3, 8, 8))
    net.conv(3, 4, 3)
    net.conv(4, 4, 1)
    path = tmp_path / "m.onnx"
    onnx.save(net.model(), path)
    spec = load_onnx(path)
    assert (spec.name, spec.channels, spec.size, len(spec.layers)) == ("m", 3, 8, 2)
    # α halves the first convolution; the last one makes the network's output and keeps its 4 channels
    assert analyze(spec, alpha=0.5).totals.mult_adds == 3 * 3 * 3 * 2 * 64 + 2 * 4 * 64


def test_a_dynamic_batch_dimension_is_batch_one() -> None:
    net = Net(("N", 4, 2, 2))
    net.op("Flatten", axis=1)
    net.op("Gemm", [net.last, net.weight("w", (5, 16)), net.weight("b", (5,))], transB=1)
    assert totals(onnx_to_spec(net.model()).yaml) == (80, 85, 0)


def test_names_from_the_file_cannot_break_a_line() -> None:
    net = Net((1, 3, 8, 8))
    net.op("CumSum", [net.last, net.weight("axis", (), [1], TensorProto.INT64)], name="evil\nlayers: []")
    with pytest.raises(ModelImportError) as info:
        onnx_to_spec(net.model())
    assert "\n" not in str(info.value) and "evil?layers" in str(info.value)
    net.conv(3, 4, 3)
    net.nodes[-1].input[0] = "x"  # a layer beside it, so allow_unknown has something to import
    text = onnx_to_spec(net.model(), allow_unknown=True).yaml
    assert all(line.startswith(("#", " ", "name", "description", "source", "input", "layers"))
               for line in text.splitlines())


def test_nodes_sharing_a_name_are_still_two_layers() -> None:
    net = Net((1, 3, 8, 8))
    net.conv(3, 4, 3, name="dup")
    net.op("Relu", name="dup")
    net.conv(4, 4, 3, name="dup")
    spec = parse_spec(onnx_to_spec(net.model()).yaml)
    assert [(la.type, la.act) for la in spec.layers] == [("conv", "relu"), ("conv", "none")]


def test_a_stored_scale_per_channel_on_tokens_is_layerscale() -> None:
    """EfficientFormer's layer scale on its B×N×C tokens: a map read as 25 tokens of 4, a Linear 4 → 4 (25·16 = 400
    Mult-Adds, 16 weights + 4 biases), then γ·x with γ a stored 4-vector: `layerscale`, 4 params, no Mult-Adds.
    A 25×4 table is no per-channel scale: a located error."""
    for dims, ok in (((4,), True), ((1, 1, 4), True), ((25, 4), False)):
        net = Net((1, 4, 5, 5))
        net.op("Reshape", [net.last, net.weight("s", (3,), [1, 4, 25], TensorProto.INT64)])
        net.op("Transpose", perm=[0, 2, 1])
        net.op("Add", [net.op("MatMul", [net.last, net.weight("w", (4, 4))]), net.weight("b", (4,))])
        net.op("Mul", [net.last, net.weight("gamma", dims)], name="/ls/Mul")
        if ok:
            text = onnx_to_spec(net.model()).yaml
            assert "type: layerscale" in text and totals(text) == (400, 16 + 4 + 4, 0)
        else:
            with pytest.raises(ModelImportError, match="/ls/Mul"):
                onnx_to_spec(net.model())
