"""Issue 23's importers: torchvision-style detection and segmentation modules (tests/segmentation_models.py, written
from torchvision's and DeepLab's sources) import exactly — from an ONNX file the test exports (TorchScript exporter)
and from the module (``import_torch``, both exporters) — without ``allow_unknown``: Mult-Adds equal fvcore's conv +
linear count of the module, params its Conv2d parameters, BN params its BatchNorm γ, β (the method of
tests/test_import_zoo.py). A head shared across FPN levels counts its params once and its Mult-Adds per level; SSD's
view/permute/reshape/cat is no layer; the segmentation models' final resize is ``size_of: input``. A model the
vocabulary cannot express yet is ``xfail(strict=True)`` naming the construct."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("fvcore")
pytestmark = pytest.mark.slow  # exports and fvcore traces of 0.6–10 GMAC networks

from mobcost import analyze, build, parse_spec  # noqa: E402
from mobcost.importers import onnx_to_spec  # noqa: E402
from mobcost.torchside.export import export_onnx, import_torch  # noqa: E402

from . import segmentation_models as seg  # noqa: E402
from .reference_models import counts  # noqa: E402

# name → (module builder, input size)
MODELS = {
    "lraspp_mobilenet_v3_large": (lambda: seg.LRASPP(), 520),
    "deeplabv3_mobilenet_v3_large_aux": (lambda: seg.DeepLabV3MobileNetV3(aux=True), 520),
    "ssdlite320_mobilenet_v3_large": (lambda: seg.SSDLiteMobileNetV3(concat=True), 320),
    "fasterrcnn_mobilenet_v3_large_fpn_rpn": (lambda: seg.FasterRCNNMobileNetV3FPN(), 320),
    "deeplabv3_mobilenet_v2": (lambda: seg.DeepLabV3MobileNetV2(), 321),
    "ssd300_vgg16": (lambda: seg.SSD300VGG16(), 300),
}
# DeepLab's fixed_padding before its dilated depthwise convolutions: after that Pad, ONNX shape inference leaves
# the channels unknown and the next 1×1 convolution cannot be checked. (SSD300-VGG16's L2Norm imports as l2norm.)
MISSING = {"deeplabv3_mobilenet_v2": "the Pad before a dilated depthwise conv leaves shape inference without "
                                     "channels (node body.11 rest.1.1)"}
PATHS = ("onnx-file", "module", "module-dynamo")
_EXPECTED: dict[str, dict[str, int]] = {}


def _expected(name: str) -> dict[str, int]:
    if name not in _EXPECTED:
        make, size = MODELS[name]
        module = make().eval()
        c = counts(module, size)
        # every parameter that is not a BatchNorm γ, β (SSD's L2Norm scale too, once the vocabulary has it)
        c["params"] = sum(p.numel() for p in module.parameters()) - c["bn_params"]
        _EXPECTED[name] = c
    return _EXPECTED[name]


def _imported(name: str, path: str) -> str:
    make, size = MODELS[name]
    module = make().eval()
    if path == "onnx-file":
        return onnx_to_spec(export_onnx(module, (3, size, size))).yaml
    return import_torch(module, (3, size, size), dynamo=path == "module-dynamo").yaml


def _params() -> list:
    out = []
    for name in MODELS:
        for path in PATHS:
            if path == "module-dynamo" and name not in ("ssdlite320_mobilenet_v3_large", "lraspp_mobilenet_v3_large"):
                continue  # the dynamo exporter on two of them (3–6 s each)
            marks = [pytest.mark.xfail(strict=True, reason=MISSING[name])] if name in MISSING else []
            out.append(pytest.param(name, path, marks=marks, id=f"{name}-{path}"))
    return out


@pytest.mark.parametrize(("name", "path"), _params())
def test_imports_exactly(name: str, path: str) -> None:
    t = analyze(parse_spec(_imported(name, path))).totals
    assert {"mult_adds": t.mult_adds, "params": t.params, "bn_params": t.bn_params} == _expected(name)


def test_the_shared_rpn_head_counts_its_params_once_and_its_mult_adds_per_level() -> None:
    spec = parse_spec(_imported("fasterrcnn_mobilenet_v3_large_fpn_rpn", "onnx-file"))
    shared = [la for la in spec.layers if la.shares]
    assert len(shared) == 6 and not any(la.bias for la in shared)  # 3 convs × 2 later levels, biases counted once
    rows = {r.name: r for r in analyze(spec).rows}
    first = next(r for r in rows.values() if r.node.layer.name == shared[0].shares)
    again = rows[shared[0].name]
    assert again.params == 0 and again.mult_adds > 0 and first.params == 9 * 256 * 256 + 256  # 3×3 conv + bias


def test_ssd_head_reshapes_are_no_layers_and_the_maps_keep_their_width_under_alpha() -> None:
    text = _imported("ssdlite320_mobilenet_v3_large", "onnx-file")
    spec = parse_spec(text)
    assert "reshaped and concatenated into output" in text and "(1×3234×4)" in text  # 20²·6 + 10²·6 + … = 3,234
    sinks = [n for n in build(spec, 0.5).nodes if n.out_channels in (24, 546)]  # 6·4 and 6·91 kept under α
    assert len(sinks) == 12


def test_segmentation_resize_to_the_input_follows_rho() -> None:
    spec = parse_spec(_imported("lraspp_mobilenet_v3_large", "onnx-file"))
    graph = build(spec)
    shapes = {n.name: str(n.output) for n in graph.nodes}
    resizes = [(la.size, la.size_of, la.mode) for la in spec.layers if la.type == "resize"]
    # the gated 33×33 map resized to the C2 map (block 4's output, 65×65×40 at 520 px), the logits to the input
    assert [r[0] for r in resizes] == [None, None] and resizes[1][1:] == ("input", "bilinear")
    assert shapes[resizes[0][1]] == "65×65×40"
    assert str(build(spec, rho=0.5).nodes[-1].output) == "260×260×21"
