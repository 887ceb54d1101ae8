"""The bundled torchvision MobileNetV3 detection / segmentation specs and DeepLab's DeepLabV3-MobileNetV2 against
independent torch modules (tests/segmentation_models.py): Mult-Adds equal fvcore's conv + linear count, params the
module's Conv2d/Linear parameters, BN params its BatchNorm γ, β — at two resolutions and two widths; and the modules
themselves pinned to the published figures (torchvision's weight metadata: num_params and GFLOPS; the MobileNetV2
paper's Table 7 and DeepLab's model zoo)."""

from __future__ import annotations

import pytest

from mobcost import analyze
from mobcost.spec import load_spec

pytest.importorskip("torch")
pytest.importorskip("fvcore")
pytestmark = pytest.mark.slow  # fvcore traces of 2–10 GMAC networks at up to 520 px

from . import segmentation_models as seg  # noqa: E402
from .reference_models import counts  # noqa: E402

# name → (reference builder taking the width, the resolutions checked); the widths are α ∈ {1, 0.5}
CASES = {
    "lraspp_mobilenet_v3_large": (lambda a: seg.LRASPP(a), (520, 384)),
    "deeplabv3_mobilenet_v3_large": (lambda a: seg.DeepLabV3MobileNetV3(a), (520, 257)),
    "ssdlite320_mobilenet_v3_large": (lambda a: seg.SSDLiteMobileNetV3(a), (320, 256)),
    "deeplabv3_mobilenet_v2": (lambda a: seg.DeepLabV3MobileNetV2(a), (513, 321)),
    "fasterrcnn_mobilenet_v3_large_fpn": (lambda a: seg.FasterRCNNMobileNetV3FPN(a), (800, 320)),
}


def _spec_counts(name: str, alpha: float, size: int) -> dict[str, int]:
    t = analyze(load_spec(name), alpha, resolution=size).totals
    return {"mult_adds": t.mult_adds, "params": t.params, "bn_params": t.bn_params}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_spec_equals_its_reference_module(name: str, alpha: float) -> None:
    make, sizes = CASES[name]
    module = make(alpha).eval()
    for size in sizes:
        assert _spec_counts(name, alpha, size) == counts(module, size), (name, alpha, size)


def test_torchvision_reference_modules_give_the_published_figures() -> None:
    # torchvision's weight metadata (models/segmentation/lraspp.py, deeplabv3.py, models/detection/ssdlite.py):
    # num_params counts every parameter (BN's γ, β too); _ops is GFLOPS = giga multiply-adds at the eval size
    lraspp = counts(seg.LRASPP().eval(), 520)
    assert lraspp["params"] + lraspp["bn_params"] == 3_221_538 and round(lraspp["mult_adds"] / 1e9, 3) == 2.086
    ssd = counts(seg.SSDLiteMobileNetV3().eval(), 320)
    assert ssd["params"] + ssd["bn_params"] == 3_440_060 and round(ssd["mult_adds"] / 1e9, 3) == 0.583
    # the COCO weights carry the auxiliary FCNHead (aux_loss=True), and eval runs it: 11,029,328 and 10.452
    aux = counts(seg.DeepLabV3MobileNetV3(aux=True).eval(), 520)
    assert aux["params"] + aux["bn_params"] == 11_029_328 and round(aux["mult_adds"] / 1e9, 3) == 10.452
    plain = counts(seg.DeepLabV3MobileNetV3().eval(), 520)
    # the auxiliary head by hand at 520 px (C2: 65×65×40): 3×3 conv 40 → 10, 1×1 conv 10 → 21 with bias
    assert aux["mult_adds"] - plain["mult_adds"] == 9 * 40 * 10 * 65 * 65 + 10 * 21 * 65 * 65  # 16,097,250
    assert aux["params"] - plain["params"] == 9 * 40 * 10 + 10 * 21 + 21  # 3,831
    # Faster R-CNN MobileNetV3-Large FPN: 4.494 GFLOPS (its count stops at the RPN), 19,386,354 params = the module's
    # conv params (BN frozen: buffers) + the RoI box head, by hand: TwoMLPHead 256·49 → 1024 → 1024 and
    # FastRCNNPredictor 1024 → 91 scores and 91·4 deltas, all with biases
    fpn = counts(seg.FasterRCNNMobileNetV3FPN().eval(), 800)
    box_head = (256 * 49 * 1024 + 1024) + (1024 * 1024 + 1024) + (1024 * 91 + 91) + (1024 * 364 + 364)  # 14,362,055
    assert round(fpn["mult_adds"] / 1e9, 3) == 4.494 and fpn["params"] + box_head == 19_386_354


def test_deeplab_mobilenet_v2_against_the_paper_and_model_zoo() -> None:
    # MobileNetV2 paper Table 7, "MNet V2*" OS 16: 2.11 M params, 2.75 B MAdds; DeepLab model_zoo.md:
    # mobilenetv2_coco_voc_trainaug 2.75 B at OS 16, mobilenetv2_dm05_coco_voc_trainaug 0.88 B
    full = counts(seg.DeepLabV3MobileNetV2().eval(), 513)
    assert round(full["mult_adds"] / 1e9, 2) == 2.74  # 2,740,709,056: 0.3% under the printed 2.75
    assert round((full["params"] + full["bn_params"]) / 1e6, 2) == 2.11
    half = counts(seg.DeepLabV3MobileNetV2(0.5).eval(), 513)
    assert abs(half["mult_adds"] / 0.88e9 - 1) < 0.04  # 910,369,488: 3.5% over the printed 0.88 (unexplained)


def test_ssd300_vgg16_as_table13_notes_it() -> None:
    # the figures mobcost paper 13's SSD 300 deeplab-VGG note cites; torchvision's num_params for ssd300_vgg16 is
    # 35,641,826 (its weight metadata), every parameter here being a conv's or L2Norm's 512 scales
    ssd = seg.SSD300VGG16().eval()
    assert sum(p.numel() for p in ssd.parameters()) == 35_641_826
    c = counts(ssd, 300)
    assert c["mult_adds"] == 34_858_153_472 and c["params"] == 35_641_826 - 512
    from mobcost.analysis.paper import figures

    # the row is computed from the bundled ssd300_vgg16 now: its figures are the module's (params with the 512 γ)
    row = {f.metric: f for f in figures(["13"]) if f.row == "SSD 300 deeplab-VGG"}
    assert round(float(row["mult_adds"].computed) * 1e6) == 34_858_153_472
    assert round(float(row["params"].computed) * 1e6) == 35_641_826
