"""Every bundled spec's totals, pinned by a source independent of mobcost: the networks' own papers and
model zoos, hand arithmetic written out here, or fvcore on a torch model written independently here."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.spec import load_spec

from .conftest import SPECS


def totals(name: str, **kw) -> tuple[int, int]:
    t = analyze(load_spec(SPECS / f"{name}.yaml"), **kw).totals
    return t.mult_adds, t.params


def test_every_bundled_spec_is_pinned() -> None:
    pinned = {"mobilenet_v1", "conv_mobilenet", "shallow_mobilenet", "table3_conv", "table3_separable", "vgg16",
              "alexnet", "squeezenet1_0", "googlenet", "mobilenet_v2",
              # pinned to torchvision's / timm's figures in tests/test_bundled_vocabulary.py
              "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0", "resnet18", "resnet50",
              "shufflenet_v2_x1_0", "mnasnet1_0", "mobilenet_v4_conv_small",
              # pinned to fvcore on tests/reference_models.py's deit_tiny in tests/test_attention.py
              "deit_tiny",
              # pinned to fvcore on tests/reference_models.py's mobilevit_xs in tests/test_mobilevit.py
              "mobilevit_xs",
              # pinned to fvcore on tests/hybrid_models.py's efficientformer_l1 in tests/test_efficientformer.py
              "efficientformer_l1",
              # pinned to fvcore on tests/hybrid_models.py's mobilenet_v4_hybrid_medium in
              # tests/test_mobilenet_v4_hybrid.py
              "mobilenet_v4_hybrid_medium",
              # pinned to fvcore on modules written from MLPerf Tiny's Keras files in tests/test_mlperf_tiny.py
              "mlperf_tiny_vww", "mlperf_tiny_ic", "mlperf_tiny_kws", "mlperf_tiny_ad",
              # pinned by hand arithmetic and to fvcore on tests/detection_models.py in tests/test_detection.py
              "ssd300_mobilenet_v1",
              # pinned by hand arithmetic and to fvcore on tests/detection_models.py in tests/test_faster_rcnn.py
              "faster_rcnn_mobilenet_v1",
              # pinned to fvcore on tests/detection_models.py and by hand arithmetic in tests/test_ssdlite.py
              "ssdlite_mobilenet_v2",
              # pinned to fvcore on tests/segmentation_models.py and to the published figures in
              # tests/test_segmentation.py
              "ssdlite320_mobilenet_v3_large", "lraspp_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large",
              "deeplabv3_mobilenet_v2", "fasterrcnn_mobilenet_v3_large_fpn",
              # pinned by hand arithmetic in tests/test_paper_apps.py (Table 13's VGG rows)
              "faster_rcnn_vgg16",
              # pinned to fvcore on tests/segmentation_models.py and tests/detection_models.py in
              # tests/test_inception_detectors.py, and by hand arithmetic in tests/test_paper_apps.py (SSD VGG)
              "ssd300_vgg16", "ssd300_inception_v2", "faster_rcnn_inception_v2"}
    assert {p.stem for p in SPECS.glob("*.yaml")} == pinned


def full_conv_mobilenet(drop_five: bool = False, separable: bool = False) -> tuple[int, int]:
    """MobileNetV1's Table 1 body by hand: 3×3 convs (Table 4) or separable pairs (Table 5 without 5 layers)."""
    plan = [(32, 64, 112), (64, 128, 56), (128, 128, 56), (128, 256, 28), (256, 256, 28), (256, 512, 14),
            *([] if drop_five else [(512, 512, 14)] * 5), (512, 1024, 7), (1024, 1024, 7)]  # (M, N, D_F out)
    mult_adds, params = 3 * 3 * 3 * 32 * 112 * 112, 3 * 3 * 3 * 32
    for m, n, f in plan:
        if separable:
            mult_adds += 9 * m * f * f + m * n * f * f  # eq. (5)
            params += 9 * m + m * n
        else:
            mult_adds += 9 * m * n * f * f  # eq. (2)
            params += 9 * m * n
    return mult_adds + 1024 * 1000, params + 1024 * 1000 + 1000


def test_conv_mobilenet() -> None:
    assert totals("conv_mobilenet") == full_conv_mobilenet()
    assert totals("conv_mobilenet") == (4_867_293_184, 29_282_120)  # Table 4: 4866 M (FC left out), 29.3 M


def test_shallow_mobilenet() -> None:
    assert totals("shallow_mobilenet") == full_conv_mobilenet(drop_five=True, separable=True)
    assert totals("mobilenet_v1") == full_conv_mobilenet(separable=True)


def test_table3_layers() -> None:
    assert totals("table3_conv") == (3 * 3 * 512 * 512 * 14 * 14, 3 * 3 * 512 * 512)  # 462,422,016 / 2,359,296
    assert totals("table3_separable") == (3 * 3 * 512 * 196 + 512 * 512 * 196, 3 * 3 * 512 + 512 * 512)


def test_vgg16() -> None:
    # The independent figures: 15,470,264,320 Mult-Adds with the FC layers, 138,357,544 params
    # (torchvision's published vgg16 num_params is 138,357,544 too).
    assert totals("vgg16") == (15_470_264_320, 138_357_544)


def test_alexnet() -> None:
    # conv1 11·11·3·96·55² = 105,415,200; conv2 5·5·48·256·27² = 223,948,800; conv3 3·3·256·384·13² =
    # 149,520,384; conv4 3·3·192·384·13² = 112,140,288; conv5 3·3·192·256·13² = 74,760,192;
    # fc 9216·4096 + 4096·4096 + 4096·1000 = 58,621,952 → 724,406,816 Mult-Adds.
    # params: 34,848 + 307,200 + 884,736 + 663,552 + 442,368 + 58,621,952 weights
    #         + (96 + 256 + 384 + 384 + 256 + 4096 + 4096 + 1000) biases = 60,965,224
    assert totals("alexnet") == (724_406_816, 60_965_224)


torch = pytest.importorskip("torch")
fvcore_nn = pytest.importorskip("fvcore.nn")
nn = torch.nn


def fvcore_totals(model: nn.Module, size: int) -> tuple[int, int]:
    analysis = fvcore_nn.FlopCountAnalysis(model.eval(), torch.zeros(1, 3, size, size))
    analysis.unsupported_ops_warnings(False)
    ops = analysis.by_operator()
    params = sum(p.numel() for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear) for p in m.parameters())
    return ops["conv"] + ops["linear"], params


class Fire(nn.Module):
    def __init__(self, cin: int, s: int, e1: int, e3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, s, 1)
        self.e1, self.e3 = nn.Conv2d(s, e1, 1), nn.Conv2d(s, e3, 3, padding=1)

    def forward(self, x):
        x = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.e1(x)), torch.relu(self.e3(x))], 1)


@pytest.mark.slow  # torch cross-check: fvcore on a torch network
def test_squeezenet() -> None:
    pool = nn.MaxPool2d(3, 2, ceil_mode=True)
    model = nn.Sequential(nn.Conv2d(3, 96, 7, 2), nn.ReLU(), pool, Fire(96, 16, 64, 64), Fire(128, 16, 64, 64),
                          Fire(128, 32, 128, 128), pool, Fire(256, 32, 128, 128), Fire(256, 48, 192, 192),
                          Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), pool, Fire(512, 64, 256, 256),
                          nn.Conv2d(512, 1000, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
    assert totals("squeezenet1_0") == fvcore_totals(model, 227)
    assert totals("squeezenet1_0")[1] == 1_248_424  # torchvision's published squeezenet1_0 num_params


class Inception(nn.Module):
    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pp: int) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(cin, c1, 1)
        self.b2 = nn.Sequential(nn.Conv2d(cin, c3r, 1), nn.ReLU(), nn.Conv2d(c3r, c3, 3, padding=1))
        self.b3 = nn.Sequential(nn.Conv2d(cin, c5r, 1), nn.ReLU(), nn.Conv2d(c5r, c5, 5, padding=2))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), nn.Conv2d(cin, pp, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


@pytest.mark.slow  # torch cross-check: fvcore on a torch network
def test_googlenet() -> None:
    pool = nn.MaxPool2d(3, 2, ceil_mode=True)
    model = nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3), pool, nn.Conv2d(64, 64, 1), nn.Conv2d(64, 192, 3, padding=1), pool,
        Inception(192, 64, 96, 128, 16, 32, 32), Inception(256, 128, 128, 192, 32, 96, 64), pool,
        Inception(480, 192, 96, 208, 16, 48, 64), Inception(512, 160, 112, 224, 24, 64, 64),
        Inception(512, 128, 128, 256, 24, 64, 64), Inception(512, 112, 144, 288, 32, 64, 64),
        Inception(528, 256, 160, 320, 32, 128, 128), pool,
        Inception(832, 256, 160, 320, 32, 128, 128), Inception(832, 384, 192, 384, 48, 128, 128),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, 1000))
    assert totals("googlenet") == fvcore_totals(model, 224)
    assert totals("googlenet")[1] == 6_998_552  # BVLC GoogLeNet's deploy net without auxiliary heads


@pytest.mark.slow  # torch cross-check: fvcore on a torch network
def test_mobilenet_v2() -> None:
    # the independent torchvision re-implementation (tests/reference_models.py; its widths at α ≠ 1 are checked in
    # tests/test_bundled_vocabulary.py), rather than a second copy of it here
    from .reference_models import mobilenet_v2

    assert totals("mobilenet_v2") == fvcore_totals(mobilenet_v2(), 224)
    t = analyze(load_spec(SPECS / "mobilenet_v2.yaml")).totals
    assert t.params + t.bn_params == 3_504_872  # torchvision's published mobilenet_v2 num_params (BN included)
