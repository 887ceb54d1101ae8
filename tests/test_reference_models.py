"""The plain-torch reference networks in tests/reference_models.py reproduce torchvision / timm counts exactly."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("fvcore")

from .reference_models import FACTORIES, counts, mnasnet1_0, resnet18, shufflenet_v2_x1_0

# fvcore.nn (imported lazily by counts()) decorates helpers with torch.jit.script, deprecated in torch ≥ 2.10.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

# Measured on torchvision's / timm's own models (fvcore conv+linear ops, 1×3×224×224), not derived from
# reference_models.py: (Mult-Adds, Conv2d+Linear weights and biases, BatchNorm2d γ+β).
EXPECTED = {
    "mobilenet_v3_large": (216_589_760, 5_458_632, 24_400),
    "mobilenet_v3_small": (56_510_400, 2_530_744, 12_112),
    "efficientnet_b0": (385_814_752, 5_246_532, 42_016),
    "resnet18": (1_814_073_344, 11_679_912, 9_600),
    "resnet50": (4_089_184_256, 25_503_912, 53_120),
    "shufflenet_v2_x1_0": (144_907_992, 2_262_424, 16_180),
    "mnasnet1_0": (314_415_872, 4_345_392, 37_920),
    "mobilenet_v4_conv_small": (186_005_568, 3_748_936, 25_088),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_match_upstream(name: str) -> None:
    mult_adds, params, bn_params = EXPECTED[name]
    assert counts(FACTORIES[name]()) == {"mult_adds": mult_adds, "params": params, "bn_params": bn_params}


# Other widths: total parameter counts published as "num_params" in torchvision's weight metadata
# (torchvision/models/mnasnet.py, shufflenetv2.py). No trace needed.
@pytest.mark.parametrize(
    ("factory", "width", "num_params"),
    [
        (mnasnet1_0, 0.5, 2_218_512),
        (mnasnet1_0, 0.75, 3_170_208),
        (mnasnet1_0, 1.3, 6_282_256),
        (shufflenet_v2_x1_0, 0.5, 1_366_792),
        (shufflenet_v2_x1_0, 1.5, 3_503_624),
        (shufflenet_v2_x1_0, 2.0, 7_393_996),
    ],
)
def test_other_widths_match_torchvision_num_params(factory, width: float, num_params: int) -> None:
    assert sum(p.numel() for p in factory(width).parameters()) == num_params


def test_unsupported_widths_rejected() -> None:
    with pytest.raises(ValueError):
        resnet18(width_mult=0.5)
    with pytest.raises(ValueError):
        shufflenet_v2_x1_0(width_mult=0.75)
