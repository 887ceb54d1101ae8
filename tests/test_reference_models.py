"""The plain-torch reference networks in tests/reference_models.py reproduce torchvision / timm counts exactly."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("fvcore")

from .published import PUBLISHED
from .reference_models import FACTORIES, counts, mnasnet1_0, mobilenet_v2, resnet18, shufflenet_v2_x1_0

# fvcore.nn (imported lazily by counts()) decorates helpers with torch.jit.script, deprecated in torch ≥ 2.10.
pytestmark = [pytest.mark.slow,  # torchvision / timm models counted by torch
              pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")]

EXPECTED = PUBLISHED  # torchvision's / timm's own counts (tests/published.py)


# MobileNetV2 is pinned by published figures alone: torchvision's num_params at width 1, and TF-Slim's table of its
# released checkpoints (tensorflow/models research/slim/nets/mobilenet/README.md, "Mobilenet V2 Imagenet
# Checkpoints", 224×224): MACs and parameters in millions, truncated (300.77 M is printed 300), counted with 1001
# classes (a background class) and without BatchNorm (3.47 M at width 1: 3,470,760 + 1,281 for the 1001st class;
# with BN it would be 3.50).
MOBILENET_V2_SLIM = {0.35: (59, 1.66), 0.5: (97, 1.95), 0.75: (209, 2.61), 1.0: (300, 3.47), 1.3: (509, 5.34),
                     1.4: (582, 6.06)}


def test_mobilenet_v2_matches_torchvision_num_params() -> None:
    assert sum(p.numel() for p in mobilenet_v2().parameters()) == 3_504_872


@pytest.mark.parametrize(("width", "published"), sorted(MOBILENET_V2_SLIM.items()))
def test_mobilenet_v2_widths_match_tf_slim_table(width: float, published: tuple[int, float]) -> None:
    got = counts(mobilenet_v2(width, num_classes=1001))
    assert (got["mult_adds"] // 10**6, got["params"] // 10**4 / 100) == published


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
