"""``resize``: nearest / bilinear interpolation to any size — a fixed ``size`` (pixels, kept under ρ) or
``size_of`` a tap or the input (follows ρ): closed form (no Mult-Adds; work = reads), located errors, the sweep's
factorisation, the torch build against fvcore, and both ONNX exporters / ``from_torch`` importing it. Expected
values are worked out by hand in the comments."""

from __future__ import annotations

import pytest

from mobcost import analyze, build, parse_spec
from mobcost.layers import REGISTRY

from .test_geometry import sweep_points
from .test_trust_spec import one_line_error

# a segmentation-head-like net: stride 16 (520 → 33), a bilinear resize to 65 (fixed), another to the size of a
# tap, a nearest 3×3 → 7×7-like one, and the last to the input's size
SEG = """input: {channels: 3, size: 520}
layers:
  - {type: conv, out: 16, kernel: 3, stride: 4, name: s4}
  - {type: conv, out: 32, kernel: 3, stride: 4, name: s16}
  - {type: resize, size: 65, mode: bilinear, name: fixed}
  - {type: conv, out: 32, kernel: 1, name: c}
  - {type: resize, size_of: s4, mode: bilinear, align_corners: true, name: to_tap}
  - {type: conv, out: 8, kernel: 3, stride: 32, name: tiny}
  - {type: resize, size: [7, 9], name: near}
  - {type: resize, size_of: input, mode: bilinear, name: full}
"""


def _node(graph, name):
    return next(n for n in graph.nodes if n.name == name)


def test_sizes_fixed_and_following_a_tap_or_the_input() -> None:
    g = build(parse_spec(SEG))
    # 520 → s4: ⌊(520 + 2 − 3)/4⌋ + 1 = 130; s16: ⌊(130 + 2 − 3)/4⌋ + 1 = 33
    assert str(_node(g, "s16").output) == "33×33×32"
    assert str(_node(g, "fixed").output) == "65×65×32"
    assert str(_node(g, "to_tap").output) == "130×130×32"
    assert str(_node(g, "near").output) == "7×9×8"
    assert str(_node(g, "full").output) == "520×520×8"
    half = build(parse_spec(SEG), rho=0.5)  # 260 px: s4 65, s16 17; `fixed` stays 65, the others follow
    assert [str(_node(half, n).output) for n in ("fixed", "to_tap", "near", "full")] == [
        "65×65×32", "65×65×32", "7×9×8", "260×260×8"]


def test_closed_form_no_mult_adds_work_is_reads_memory_reads_only_the_data() -> None:
    g = build(parse_spec(SEG))
    kind = REGISTRY["resize"]
    fixed, full, near = (_node(g, n) for n in ("fixed", "full", "near"))
    assert kind.mult_adds(fixed) == kind.params(fixed) == 0
    assert kind.work(fixed) == 4 * 65 * 65 * 32  # bilinear: 4 reads per output element = 540,800
    assert kind.work(near) == 1 * 7 * 9 * 8  # nearest: 1 read = 504
    # memory: its input (near's 7×9×8) + its output; `size_of: input` reads the image's size, not the image
    assert kind.memory_access(full) == 7 * 9 * 8 + 520 * 520 * 8
    rows = {r.name: r for r in analyze(parse_spec(SEG)).rows}
    assert rows["full"].mult_adds == 0 and rows["full"].filter_shape == "→size of input bilinear"


def test_the_image_a_size_of_names_is_not_kept_alive() -> None:
    from mobcost.graph.liveness import liveness

    reads, _ = liveness(build(parse_spec(SEG)))
    assert reads[-1] == [7]  # `full` reads `near` (tensor 7) only; tensor 0, the input, is not read


def test_sweep_equals_the_closed_form_at_every_point() -> None:
    sweep_points(SEG, [1.0, 0.75, 0.5], [520, 384, 257], ("mult_adds", "params", "memory_access"))


def test_sweep_work_and_latency_follow_the_resizes() -> None:
    from mobcost.explore import sweep
    from mobcost.explore.hardware import load_hardware, predict_layers

    spec, hw = parse_spec(SEG), load_hardware("rpi4")
    r = sweep(spec, [1.0, 0.5], [520, 257], hardware=hw)
    for i in range(len(r)):
        graph = build(spec, float(r.columns["alpha"][i]), resolution=int(r.columns["resolution"][i]))
        assert r.columns["latency_ms"][i] == pytest.approx(1e3 * sum(predict_layers(graph, hw)), rel=1e-9)


@pytest.mark.parametrize(("layer", "where", "needle"), [
    ("{type: resize, mode: bilinear}", "layers[1]", "missing 'size' (or 'size_of')"),
    ("{type: resize, size: 4, size_of: input}", "layers[1].size_of", "not both"),
    ("{type: resize, size: 4, align_corners: true}", "layers[1].align_corners", "bilinear interpolation only"),
    ("{type: resize, size: [4, 0]}", "layers[1].size[1]", "must be positive"),
    ("{type: resize, size: 2.5}", "layers[1].size", "must be an integer"),
    ("{type: resize, size_of: 3}", "layers[1].size_of", "must be a layer name"),
    ("{type: resize, size_of: nowhere}", "layers[1].size_of", "unknown layer 'nowhere'"),
    ("{type: resize, size_of: later}\n  - {type: pw, out: 4, name: later}", "layers[1].size_of", "comes later"),
    ("{type: resize, size: 4, mode: bicubic}", "layers[1].mode", "must be one of nearest, bilinear"),
])
def test_bad_resizes_are_located_one_line_errors(write_spec, layer: str, where: str, needle: str) -> None:
    path = write_spec("input: {channels: 3, size: 8}\nlayers:\n  - {type: pw, out: 4, name: a}\n"
                      f"  - {layer}\n")
    line = one_line_error(path)
    assert f"{path}:4:" in line and where in line and needle in line, line


@pytest.mark.slow
def test_the_torch_build_agrees_with_fvcore_and_every_peer() -> None:
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    for rho in (1.0, 0.5):
        graph = build(parse_spec(SEG), rho=rho)
        assert check_graph(graph).all_match, rho
        module_out = _torch_outputs(graph)
        assert module_out == (8, 520 * rho, 520 * rho)


def _torch_outputs(graph) -> tuple[int, ...]:
    import torch

    from mobcost.torchside.build import graph_module, sample_input

    with torch.no_grad():
        out = graph_module(graph)(sample_input(graph))
    return tuple(out.shape[1:])


class _Head:
    """A torch module with every resize the importers must map, written for this test: a fixed 33 → 65
    bilinear, a non-integer ×1.5 nearest, a 3×3 → 7×7 align_corners, and the final resize to the input's size."""

    @staticmethod
    def make():
        import torch.nn.functional as F
        from torch import nn

        class Head(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.stem = nn.Conv2d(3, 8, 3, stride=16, padding=1)
                self.mid = nn.Conv2d(8, 8, 3, stride=2, padding=1)
                self.small = nn.Conv2d(8, 4, 3, stride=16, padding=1)

            def forward(self, x):
                y = F.interpolate(self.stem(x), size=(65, 65), mode="bilinear", align_corners=False)
                y = F.interpolate(self.mid(y), scale_factor=1.5, mode="nearest")
                y = F.interpolate(self.small(y), size=(7, 7), mode="bilinear", align_corners=True)
                return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)

        return Head()


@pytest.mark.slow
@pytest.mark.parametrize("dynamo", [False, True])
def test_onnx_resizes_from_both_exporters_import(dynamo: bool) -> None:
    pytest.importorskip("onnx")
    from mobcost.importers import onnx_to_spec
    from mobcost.torchside.export import export_onnx, import_torch

    module = _Head.make()
    for text in (onnx_to_spec(export_onnx(module, (3, 520, 520), dynamo=dynamo)).yaml,
                 import_torch(module, (3, 520, 520), dynamo=dynamo).yaml):
        spec = parse_spec(text)
        resizes = [(la.size, la.size_of, la.mode, la.align_corners) for la in spec.layers if la.type == "resize"]
        # 520 → 33 → 65; 65 → 33 → ×1.5 = 49; 49 → 4 → 7; then back to 520, as `size_of: input`
        assert resizes == [(65, None, "bilinear", False), (49, None, "nearest", False),
                           (7, None, "bilinear", True), (None, "input", "bilinear", False)]
        # Mult-Adds by hand: 9·3·8·33² + 9·8·8·33² + 9·8·4·4² = 235,224 + 627,264 + 4,608 = 867,096
        assert analyze(spec).totals.mult_adds == 867_096
        assert str(build(spec, rho=0.5).nodes[-1].output) == "260×260×4"  # the imported head follows ρ



@pytest.mark.parametrize("name", ["lraspp_mobilenet_v3_large", "fasterrcnn_mobilenet_v3_large_fpn"])
def test_bundled_specs_with_resizes_sweep_as_table_counts(name: str) -> None:
    # LR-ASPP resizes to a tap and to the input; the FPN's top-down resize takes its lateral's size
    from mobcost.spec import load_spec

    spec = load_spec(name)
    sweep_points(spec_text(spec), [1.0, 0.5], [spec.size, 257], ("mult_adds", "params", "memory_access"))


def spec_text(spec) -> str:
    from pathlib import Path

    return Path(spec.file).read_text(encoding="utf-8")


def test_onnx_resize_by_sizes_and_non_integer_scales_imports_as_resize() -> None:
    # written with onnx.helper (no torch): a 3→4 conv 3×3 stride 2 (8 → 4), a Resize to sizes 7×7 (linear,
    # align_corners), then one by scales 1.5 (nearest: ⌊7 · 1.5⌋ = 10), then a 4→2 1×1 conv
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from mobcost.importers import onnx_to_spec

    def const(name, dims, values, kind=TensorProto.FLOAT):
        return helper.make_tensor(name, kind, dims, values)

    inits = [const("w", (4, 3, 3, 3), [0.0] * 108), const("sizes", (4,), [1, 4, 7, 7], TensorProto.INT64),
             const("scales", (4,), [1.0, 1.0, 1.5, 1.5]), const("w2", (2, 4, 1, 1), [0.0] * 8)]
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], name="conv", kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Resize", ["a", "", "", "sizes"], ["b"], name="to7", mode="linear",
                              coordinate_transformation_mode="align_corners"),
             helper.make_node("Resize", ["b", "", "scales"], ["c"], name="by1.5", mode="nearest"),
             helper.make_node("Conv", ["c", "w2"], ["y"], name="head", kernel_shape=[1, 1])]
    graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    spec = parse_spec(onnx_to_spec(onnx.load_from_string(model.SerializeToString())).yaml)
    resizes = [(la.size, la.size_of, la.mode, la.align_corners) for la in spec.layers if la.type == "resize"]
    assert resizes == [(7, None, "bilinear", True), (10, None, "nearest", False)]
    # 9·3·4·4² + 4·2·10² = 1,728 + 800
    assert analyze(spec).totals.mult_adds == 2_528
