"""Issue 21's vocabulary outside attention: `pad`, pools with per-side and "same" padding, `sub`, `div`, `gn`
(GroupNorm, InstanceNorm), `l2norm` and `split` by `sizes` — each against hand arithmetic written beside the
expected value, a located error for every bad key, the sweep, the schema, the torch build's counters, and the
constant folder's new operators (the exporters' F.pad sub-graph)."""

from __future__ import annotations

import pytest

from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import parse_spec

from .test_geometry import sweep_points
from .test_vocabulary import costs, error, rows

NEW = ("pad", "sub", "div", "gn", "l2norm")

# --- closed forms: (Mult-Adds, params, BN params, memory access) -----------------------------------------------


def test_pad_writes_the_padded_map() -> None:
    # 8×16×16 (2,048) padded top 0, bottom 1, left 2, right 1 → 8×17×19 (2,584): memory 2,048 + 2,584 = 4,632
    (row,) = rows("  - {type: pad, padding: [[0, 1], [2, 1]]}\n")
    assert (row.mult_adds, row.params, row.bn_params, row.memory_access) == (0, 0, 0, 4_632)
    assert (row.node.output.h, row.node.output.w) == (17, 19)
    assert REGISTRY["pad"].work(row.node) == 0  # no arithmetic: a copy


def test_pools_take_per_side_and_same_padding() -> None:
    # max 3×3/2 "same" on 16×16: ⌈16/2⌉ = 8; pads (8 − 1)·2 + 3 − 16 = 1 → (0, 1) per axis
    max_row, avg_row = rows("  - {type: maxpool, kernel: 3, stride: 2, padding: same}\n"
                            "  - {type: avgpool, kernel: 3, stride: 1, padding: [[1, 1], [0, 1]]}\n")
    assert (max_row.node.output.h, max_row.node.padding_hw) == (8, (0, 1, 0, 1))
    # avg 3×3/1 with (1, 1, 0, 1) on 8×8: H (8 + 2 − 3) + 1 = 8, W (8 + 1 − 3) + 1 = 7; work 8·8·7·9 = 4,032 reads
    assert (avg_row.node.output.h, avg_row.node.output.w) == (8, 7)
    assert REGISTRY["avgpool"].work(avg_row.node) == 4_032
    # memory: in 8·8·8 = 512 + out 8·8·7 = 448
    assert (avg_row.mult_adds, avg_row.memory_access) == (0, 960)


def test_sub_and_div_cost_their_reads_and_write() -> None:
    # sub of two 8×16×16 maps (2,048 each): memory 3 × 2,048 = 6,144; div of x by its 1×1 mean: 2,048 + 8 + 2,048
    body = ("  - {type: pw, out: 8, name: x}\n  - {type: dw}\n  - {type: sub, from: [x, -1]}\n"
            "  - {type: avgpool, from: x, name: m}\n  - {type: div, from: [x, m]}\n")
    assert costs(body)[2] == (0, 0, 0, 6_144)
    assert costs(body)[4] == (0, 0, 0, 4_104)


def test_groupnorm_params_are_bn_params_and_no_mult_adds() -> None:
    # GroupNorm(4, 8): γ, β per channel: 16 BN params; memory 2 × 2,048; InstanceNorm (group_width 1) the same
    gn, inorm = rows("  - {type: gn, groups: 4}\n  - {type: gn, group_width: 1}\n")
    assert (gn.mult_adds, gn.params, gn.bn_params, gn.memory_access) == (0, 0, 16, 4_096)
    assert (gn.node.groups, inorm.node.groups) == (4, 8)
    assert inorm.bn_params == 16
    assert REGISTRY["gn"].work(gn.node) == 2_048  # one pass over 8·16·16 inputs (what latency scales with)


def test_the_table_names_groupnorm_parameters() -> None:
    from mobcost.analysis import analyze
    from mobcost.report.table import norm_label

    from .test_vocabulary import spec_of

    # a conv's BatchNorm (2·8) and a GroupNorm (2·8): "BN/GN"; a GroupNorm alone: "GN"
    assert norm_label(analyze(spec_of("  - {type: pw, out: 8}\n  - {type: gn, groups: 2}\n"))) == "BN/GN"
    assert norm_label(analyze(spec_of("  - {type: gn, groups: 1}\n"))) == "GN"


def test_l2norm_gamma_is_a_weight_per_channel() -> None:
    # x / ‖x‖ over 8 channels, then × γ: 8 weights (params), memory 2,048 + 2,048 + 8
    with_gamma, plain = rows("  - {type: l2norm, gamma: true}\n  - {type: l2norm}\n")
    assert (with_gamma.mult_adds, with_gamma.params, with_gamma.memory_access) == (0, 8, 4_104)
    assert (plain.params, plain.memory_access) == (0, 4_096)
    assert REGISTRY["l2norm"].work(plain.node) == 2_048  # 8·16·16 inputs, each squared and divided once


def test_split_by_sizes_keeps_the_proportions_under_alpha() -> None:
    # FasterNet's 1:3 partial split of 40 channels: 10 and 30; at α = 0.5 (20 channels) 5 and 15
    body = "  - {type: split, sizes: [1, 3], index: 0}\n  - {type: split, sizes: [1, 3], index: 1, from: input}\n"
    assert [r.node.output.c for r in rows(body, 40)] == [10, 30]
    # 40·16·16 = 10,240 in; 10·256 = 2,560 out: memory 12,800
    assert costs(body, 40)[0] == (0, 0, 0, 12_800)
    head = "width: {divisor: 1}\n"
    spec_rows = rows("  - {type: pw, out: 40}\n" + body.replace("from: input", "from: pw1"), 3, head=head,
                     alpha=0.5)
    assert [r.node.output.c for r in spec_rows[1:]] == [5, 15]


def test_every_new_type_reaches_the_sweep_exactly() -> None:
    text = """input: {channels: 3, size: 32}
width: {divisor: 8}
layers:
  - {type: pad, padding: [[0, 1], [0, 1]]}
  - {type: conv, out: 16, stride: 2, padding: 0, name: a}
  - {type: maxpool, kernel: 3, stride: 2, padding: same}
  - {type: conv, out: 32, padding: [[0, 2], [1, 1]], name: b}
  - {type: gn, groups: 4, act: gelu, name: g}
  - {type: gn, group_width: 1}
  - {type: sub, from: [g, -1]}
  - {type: l2norm, gamma: true, name: n}
  - {type: avgpool, kernel: 3, stride: 1, padding: [[1, 1], [0, 1]]}
  - {type: avgpool, name: gp}
  - {type: div, from: [n, gp]}
  - {type: split, sizes: [1, 3], index: 1}
  - {type: avgpool}
  - {type: fc, out: 10, scale: false}
"""
    sweep_points(text, [1.0, 0.75, 0.5], [32, 41, 48], ("mult_adds", "params", "memory_access"))
    spec = parse_spec(text)  # the sweep's factorisation: each count is (count // area) · area exactly
    for alpha, size in ((1.0, 32), (0.5, 41)):
        for node in build(spec, alpha, resolution=size).nodes:
            kind = REGISTRY[node.type]
            for count, area in ((kind.mult_adds, kind.mult_adds_area), (kind.work, kind.work_area),
                                (kind.weights, kind.weights_area)):
                assert count(node) % area(node) == 0, (node.name, count.__name__)


# --- bad input: one located line per key ------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "message"), [
    ("{type: pad}", "layers[0]: missing 'padding'"),
    ("{type: pad, padding: same}", 'layers[0].padding: "same" depends on the layer after the padding'),
    ("{type: pad, padding: [1, [0, -1]]}", "layers[0].padding[1][1]: must be zero or more, got -1"),
    ("{type: maxpool, kernel: 3, padding: [[0, 2], 1]}", "padding 2 must be at most half the kernel 3 of the bottom"),
    ("{type: avgpool, kernel: 2, padding: sam}", 'layers[0].padding: must be an integer, [height, width]'),
    ("{type: gn}", "layers[0]: missing 'groups' (or 'group_width')"),
    ("{type: gn, groups: 2, group_width: 4}", "layers[0].group_width: give 'groups' or 'group_width', not both"),
    ("{type: gn, groups: 3}", "GroupNorm's groups=3 must divide the input channels (8)"),
    ("{type: gn, group_width: 0}", "layers[0].group_width: must be positive, got 0"),
    ("{type: l2norm, gamma: 1}", "layers[0].gamma: must be true or false, got 1"),
    ("{type: sub}", "layers[0].from: sub needs 'from' with exactly two layers"),
    ("{type: div, from: [input, input, input]}", "layers[0].from: div needs 'from' with exactly two layers"),
    ("{type: split, sizes: [1, 3]}", "layers[0]: missing 'index'"),
    ("{type: split, sizes: [1, 3], index: 2}", "layers[0].index: must be less than the number of sizes (2), got 2"),
    ("{type: split, sizes: [4], index: 0}", "layers[0].sizes: must be a list of two or more positive integers, got "
                                            "a list of 1"),
    ("{type: split, sizes: [1, 0], index: 0}", "layers[0].sizes[1]: must be positive, got 0"),
    ("{type: split, sizes: 3, index: 0}", "layers[0].sizes: must be a list of two or more positive integers, got "
                                          "an integer 3"),
    ("{type: split, parts: 2, sizes: [1, 1], index: 0}", "layers[0].sizes: give 'parts' or 'sizes', not both"),
    ("{type: split, sizes: [1, 2], index: 0}", "split into parts 1:2 needs channels divisible by 3, got 8"),
])
def test_bad_new_keys_are_located_errors(body: str, message: str) -> None:
    assert message in error(f"  - {body}\n")


def test_sub_of_unlike_shapes_is_a_located_error() -> None:
    message = error("  - {type: conv, out: 4, name: a}\n  - {type: sub, from: [a, input]}\n")
    assert "layers[1]" in message and "sub needs a second input of the first's shape" in message


# --- the schema ------------------------------------------------------------------------------------------------


def test_the_schema_knows_the_new_types_and_the_docs_copy_is_current() -> None:
    import json
    from pathlib import Path

    from mobcost.spec.schema import spec_schema

    schema = spec_schema()
    for name in NEW:
        assert set(REGISTRY[name].keys) <= set(schema["$defs"][name]["properties"])
    assert schema["$defs"]["split"]["properties"]["sizes"]["minItems"] == 2
    assert "same" in json.dumps(schema["$defs"]["maxpool"]["properties"]["padding"])
    docs = Path(__file__).resolve().parents[1] / "docs" / "spec.schema.json"
    assert json.loads(docs.read_text(encoding="utf-8")) == schema


# --- the constant folder: F.pad's sub-graph, TF "same" arithmetic ---------------------------------------------


def test_the_folder_slices_backwards_transposes_and_clips() -> None:
    from mobcost.importers.constants import evaluate
    from mobcost.importers.model import Const

    # the exporter's F.pad: pads (l, r, t, b) + zeros, as a [-1, 2] table, reversed rows, transposed, flattened
    table = Const((4, 2), (0, 1, 0, 1, 0, 0, 0, 0))  # [[0, 1], [0, 1], [0, 0], [0, 0]]
    big = -(1 << 63) + 1
    rows_back = evaluate("Slice", {}, [table, Const((1,), (-1,)), Const((1,), (big,)), Const((1,), (0,)),
                                       Const((1,), (-1,))], (4, 2))
    assert rows_back == (0, 0, 0, 0, 0, 1, 0, 1)  # [[0, 0], [0, 0], [0, 1], [0, 1]]
    assert evaluate("Transpose", {"perm": [1, 0]}, [Const((4, 2), rows_back)], (2, 4)) == (0, 0, 0, 0, 0, 0, 1, 1)
    # timm's clamp(…, min=0) of a negative "same" total: 0; a positive one unchanged
    assert evaluate("Clip", {"min": 0.0, "max": None}, [Const((2,), (-1.0, 3.0))], (2,)) == (0.0, 3.0)
    # an int cast to float divides as a float: ⌈65 / 2⌉ = 33, not ⌈32⌉
    as_float = evaluate("Cast", {"to": 1}, [Const((), (65,))], ())
    assert evaluate("Ceil", {}, [Const((), evaluate("Div", {}, [Const((), as_float), Const((), (2.0,))], ()))],
                    ()) == (33,)


def test_the_folder_splits_a_shape() -> None:
    from mobcost.importers.constants import split_1d

    assert split_1d((64, 48), [1, 1], 2) == [(64,), (48,)]
    assert split_1d((1, 2, 3, 4, 5), None, 2) == [(1, 2, 3), (4, 5)]
    assert split_1d((1, 2, 3), [1, 1], 2) == [None, None]  # sizes that do not add up: unknown


# --- torch: the build's two counters and a round trip through both importers ---------------------------------


@pytest.mark.slow  # torch: fvcore and FlopCounterMode on the build, two exports
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_torch_counters_and_importers_agree(alpha: float) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from mobcost import analyze, parse_spec
    from mobcost.graph import build
    from mobcost.importers import onnx_to_spec
    from mobcost.torchside.build import graph_module
    from mobcost.torchside.crosscheck import check_graph
    from mobcost.torchside.export import export_onnx, import_torch

    from .test_peer_counters import VOCAB

    spec = parse_spec(VOCAB)
    graph = build(spec, alpha)
    assert check_graph(graph).all_match  # fvcore conv+linear, FlopCounterMode ÷ 2, params, GroupNorm γ, β
    want = analyze(spec, alpha).totals
    model, x = graph_module(graph), (graph.input.c, graph.input.h, graph.input.w)
    for result in (onnx_to_spec(export_onnx(model, x, opset=17)), import_torch(model, x)):
        got = analyze(parse_spec(result.yaml)).totals
        assert (got.mult_adds, got.params, got.bn_params) == (want.mult_adds, want.params, want.bn_params)


# --- the ONNX importer's new mappings and its located errors (small hand-built graphs) -----------------------


def _onnx_net(shape: tuple[int, ...] = (1, 8, 8, 8)):
    pytest.importorskip("onnx")
    from .test_import_onnx import Net

    return Net(shape, opset=17)


def _imported(net) -> list:
    from mobcost.importers import onnx_to_spec

    return list(build(parse_spec(onnx_to_spec(net.model()).yaml)).nodes)


def test_a_pad_before_an_activation_is_a_pad_layer() -> None:
    from onnx import TensorProto

    net = _onnx_net()
    # ONNX pads: [N, C, H, W begins, N, C, H, W ends] → top 1, left 0, bottom 2, right 3
    net.op("Pad", [net.last, net.weight("p", (8,), [0, 0, 1, 0, 0, 0, 2, 3], TensorProto.INT64)])
    net.op("Relu")
    pad, act = _imported(net)
    assert (pad.type, pad.padding_hw, pad.output.h, pad.output.w) == ("pad", (1, 2, 0, 3), 11, 11)
    assert act.type == "act"


def test_a_pad_of_the_channels_is_a_located_error() -> None:
    from onnx import TensorProto

    from mobcost.importers import ModelImportError, onnx_to_spec

    net = _onnx_net()
    net.op("Pad", [net.last, net.weight("p", (8,), [0, 1, 0, 0, 0, 0, 0, 0], TensorProto.INT64)], name="/p/Pad")
    net.op("Relu")
    with pytest.raises(ModelImportError, match=r"node '/p/Pad': Pad .*only whole-pixel padding of the height and "
                                               r"width of a map maps"):
        onnx_to_spec(net.model())


def test_sub_div_instance_norm_and_l2_norm_map() -> None:
    from onnx import TensorProto

    net = _onnx_net()
    x = net.op("Relu")
    y = net.op("Sigmoid", [x])
    d = net.op("Sub", [x, y])
    # InstanceNormalization with a scale and bias per channel (8): gn, one channel per group
    net.op("InstanceNormalization", [d, net.weight("s", (8,)), net.weight("b", (8,))])
    n = net.last
    axes = net.weight("ax", (1,), [1], TensorProto.INT64)
    net.op("ReduceL2", [n, axes], keepdims=1)
    net.op("Clip", [net.last, net.weight("lo", (), [1e-12])])
    net.op("Div", [n, net.last])
    net.op("Mul", [net.last, net.weight("g", (8, 1, 1))])  # a stored γ per channel
    nodes = _imported(net)
    assert [node.type for node in nodes] == ["act", "act", "sub", "gn", "l2norm"]
    assert nodes[3].groups == 8 and nodes[4].layer.gamma
    # params: γ 8 (l2norm); BN params: the InstanceNorm's scale and bias 2·8
    assert sum(REGISTRY[n.type].params(n) for n in nodes) == 8
    assert sum(REGISTRY[n.type].bn_params(n) for n in nodes) == 16


def test_an_l2_norm_over_the_channels_of_each_token_is_l2norm() -> None:
    """SwiftFormer's F.normalize(q, dim=-1) on B×N×C tokens: a 4×5×5 map read as 25 tokens of 4, ReduceL2 over the
    last axis, Clip, Expand, Div: `l2norm` on the sequence (no Mult-Adds, no params); with a stored 4-vector γ
    after it, 4 params. Over the tokens (axis 1) it is a located error: `l2norm` normalises channels."""
    from onnx import TensorProto

    from mobcost.importers import ModelImportError, onnx_to_spec

    for axis, gamma in ((-1, False), (2, True), (1, False)):
        net = _onnx_net((1, 4, 5, 5))
        net.op("Reshape", [net.last, net.weight("s", (3,), [1, 4, 25], TensorProto.INT64)])
        t = net.op("Transpose", perm=[0, 2, 1])
        net.op("ReduceL2", [t, net.weight("ax", (1,), [axis], TensorProto.INT64)], keepdims=1, name="/n/ReduceL2")
        net.op("Clip", [net.last, net.weight("lo", (), [1e-12])])
        net.op("Expand", [net.last, net.weight("e", (3,), [1, 25, 4], TensorProto.INT64)])
        net.op("Div", [t, net.last])
        if gamma:
            net.op("Mul", [net.last, net.weight("g", (4,))])
        if axis == 1:
            with pytest.raises(ModelImportError, match=r"node '/n/ReduceL2': .*over axes \[1\]"):
                onnx_to_spec(net.model())
            continue
        nodes = _imported(net)
        assert [node.type for node in nodes] == ["tokens", "l2norm"] and nodes[1].input.tokens
        assert (nodes[1].layer.gamma, REGISTRY["l2norm"].params(nodes[1])) == (gamma, 4 if gamma else 0)
        assert REGISTRY["l2norm"].mult_adds(nodes[1]) == 0


def test_an_l2_norm_over_the_width_and_a_sub_of_unlike_maps_are_located_errors() -> None:
    from onnx import TensorProto

    from mobcost.importers import ModelImportError, onnx_to_spec

    net = _onnx_net()
    x = net.op("Relu")
    net.op("ReduceL2", [x, net.weight("ax", (1,), [3], TensorProto.INT64)], keepdims=1, name="/n/ReduceL2")
    net.op("Div", [x, net.last])
    with pytest.raises(ModelImportError, match=r"node '/n/ReduceL2': ReduceL2 .*over axes \[3\]: only x / ‖x‖ over "
                                               r"the channels of a map or of each token maps \(l2norm\)"):
        onnx_to_spec(net.model())
    net = _onnx_net()
    x = net.op("Relu")
    y = net.op("GlobalAveragePool", [x])  # 1×8×1×1 minus 1×8×8×8: the larger one second
    net.op("Sub", [y, x], name="/s/Sub")
    with pytest.raises(ModelImportError, match=r"node '/s/Sub': Sub .*`sub` needs the second of the first's shape"):
        onnx_to_spec(net.model())


def test_an_instance_norm_without_stored_gamma_beta_is_a_located_error() -> None:
    from onnx import TensorProto, helper

    from mobcost.importers import ModelImportError, onnx_to_spec

    net = _onnx_net()
    x = net.op("Relu")
    # torch's InstanceNorm2d(affine=False): scale and bias are Constant nodes (ones, zeros), not parameters
    for name, value in (("s", 1.0), ("b", 0.0)):
        net.nodes.append(helper.make_node("Constant", [], [name], value=helper.make_tensor(
            name, TensorProto.FLOAT, (8,), [value] * 8)))
    net.op("InstanceNormalization", [x, "s", "b"], name="/n/InstanceNormalization")
    with pytest.raises(ModelImportError, match=r"node '/n/InstanceNormalization': .*without stored γ, β "
                                               r"\(affine=False\)"):
        onnx_to_spec(net.model())


def test_groupnormalization_of_opset_21_is_gn_and_opset_18s_per_group_form_is_refused() -> None:
    from mobcost.importers import ModelImportError, onnx_to_spec

    pytest.importorskip("onnx")
    from .test_import_onnx import Net

    net = Net((1, 8, 8, 8), opset=21)
    net.op("GroupNormalization", [net.last, net.weight("s", (8,)), net.weight("b", (8,))], num_groups=2)
    (node,) = build(parse_spec(onnx_to_spec(net.model()).yaml)).nodes
    assert (node.type, node.groups, REGISTRY["gn"].bn_params(node)) == ("gn", 2, 16)  # γ, β: 2 · 8
    net = Net((1, 8, 8, 8), opset=18)
    net.op("GroupNormalization", [net.last, net.weight("s", (2,)), net.weight("b", (2,))], num_groups=2,
           name="/g/GroupNormalization")
    with pytest.raises(ModelImportError, match=r"node '/g/GroupNormalization': .*with γ of dims \(2,\): only one "
                                               r"with stored γ, β per channel \(opset 21\) maps"):
        onnx_to_spec(net.model())
