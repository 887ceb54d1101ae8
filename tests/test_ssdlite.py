"""The bundled SSDLite MobileNetV2 (MobileNetV2 paper, Table 6: 320 px, 0.8 B MAdds, 4.3 M params) against an
independent torch module (``tests/detection_models.py``, fvcore), hand arithmetic for its heads, and the paper."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.spec import load_spec
from mobcost.spec.transforms import with_classes

from .conftest import SPECS


def ssdlite(resolution: int | None = None, classes: int | None = None):
    spec = load_spec(SPECS / "ssdlite_mobilenet_v2.yaml")
    return analyze(spec if classes is None else with_classes(spec, classes), resolution=resolution)


def totals(resolution: int | None = None, classes: int | None = None):
    return ssdlite(resolution, classes).totals


def test_ssdlite_heads_by_hand() -> None:
    a = ssdlite()
    heads = sum(r.mult_adds for r in a.rows if r.name.startswith(("box", "class")))
    # maps 20×20×576, 10×10×1280, 5×5×512, 3×3×256, 2×2×256, 1×1×128 with 3, 6, 6, 6, 6, 6 anchors; per map two
    # 3×3 depthwise convs (box, class) and 1×1 convs to anchors·4 and anchors·91
    maps = [(400, 576, 3), (100, 1280, 6), (25, 512, 6), (9, 256, 6), (4, 256, 6), (1, 128, 6)]
    assert heads == sum(area * c * (2 * 9 + 95 * a) for area, c, a in maps) == 154_633_728


def test_ssdlite_published() -> None:
    t = ssdlite().totals
    assert round(t.mult_adds / 1e9, 1) == 0.8  # Table 6: 0.8 B MAdds
    # Table 6: 4.3 M params; this is 4.45 M with 91 class slots (TF's COCO label map: 90 + background); with COCO's
    # 80 classes + background the 1×1 class convs lose 10 · (576·3 + (1280 + 512 + 256 + 256 + 128)·6) weights and
    # 10 · 33 biases: 4.29 M, printed 4.3
    assert t.params == 4_449_791
    assert round(totals(classes=81).params / 1e6, 1) == 4.3
    assert t.params - totals(classes=81).params == 10 * (576 * 3 + (1280 + 512 + 256 + 256 + 128) * 6 + 33)


torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")


@pytest.mark.slow
@pytest.mark.parametrize(("size", "classes"), [(320, None), (300, None), (320, 81), (257, 21)])
def test_ssdlite_equals_its_reference(size: int, classes: int | None) -> None:
    from .detection_models import ssdlite_mobilenet_v2
    from .reference_models import counts

    want = counts(ssdlite_mobilenet_v2(classes or 91), size)
    t = totals(size, classes)
    assert (t.mult_adds, t.params, t.bn_params) == (want["mult_adds"], want["params"], want["bn_params"])
