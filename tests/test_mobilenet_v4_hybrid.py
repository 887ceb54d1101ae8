"""Issue 21, MobileNetV4-Hybrid-Medium: the bundled spec against a module written from timm's mobilenetv3.py
'hybrid_medium' arch_def, UniversalInvertedResidual and MobileAttention / MultiQueryAttention2d
(tests/hybrid_models.py) — fvcore's conv + linear + matmul Mult-Adds and every parameter — at two resolutions and
two widths (α = timm's channel_multiplier)."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import load_spec

from .conftest import SPECS


@pytest.mark.slow
@pytest.mark.parametrize(("alpha", "size"), [(1.0, 256), (1.0, 224), (0.5, 256), (0.5, 224)])
def test_mobilenet_v4_hybrid_medium_equals_its_reference(alpha: float, size: int) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from .hybrid_models import mobilenet_v4_hybrid_medium
    from .reference_models import whole_counts

    totals = analyze(load_spec("mobilenet_v4_hybrid_medium"), alpha, resolution=size).totals
    mult_adds, params, _ = whole_counts(mobilenet_v4_hybrid_medium(alpha, size), size)
    assert (totals.mult_adds, totals.params + totals.bn_params) == (mult_adds, params)


def test_mobilenet_v4_hybrid_medium_figures() -> None:
    # Published: 10.5 M params, 1.2 GMACs at 256 px (Qin et al. 2024, arXiv:2404.10518)
    totals = analyze(load_spec("mobilenet_v4_hybrid_medium")).totals
    assert (totals.mult_adds, totals.params, totals.bn_params) == (1_237_219_328, 10_467_864, 72_768)
    kind = REGISTRY["attention"]
    nodes = [n for n in build(load_spec("mobilenet_v4_hybrid_medium")).nodes if n.type == "attention"]
    # 256 px: 16×16 queries on 8×8 keys (kv_stride 2), then 8×8 on 8×8; 4 heads, d = d_v = 64
    assert [kind.product_terms(n) for n in nodes] == [(256 * 64 * 4 * 128, 256 * 64)] * 4 + [(64 * 64 * 512, 4096)] * 4
    assert sum(kind.product_terms(n)[0] for n in nodes) == 41_943_040


def test_mobilenet_v4_hybrid_medium_sweep_equals_closed_form() -> None:
    from .test_geometry import sweep_points

    text = (SPECS / "mobilenet_v4_hybrid_medium.yaml").read_text(encoding="utf-8")
    sweep_points(text, [1.0, 0.5, 0.75], [256, 224, 200], ("mult_adds", "params", "memory_access"))
