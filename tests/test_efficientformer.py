"""Issue 21, EfficientFormer-L1: the bundled spec against a module written from timm's efficientformer.py
(tests/hybrid_models.py) — fvcore's conv + linear + matmul Mult-Adds and every parameter the module holds (norms'
γ, β as mobcost's bn_params) at two resolutions and two widths — and its attention block's torch build."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import load_spec

from .conftest import SPECS


@pytest.mark.slow
@pytest.mark.parametrize(("alpha", "size"), [(1.0, 224), (1.0, 160), (0.5, 224), (0.5, 160)])
def test_efficientformer_l1_equals_its_reference(alpha: float, size: int) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from .hybrid_models import efficientformer_l1
    from .reference_models import whole_counts

    totals = analyze(load_spec("efficientformer_l1"), alpha, resolution=size).totals
    mult_adds, params, _ = whole_counts(efficientformer_l1(alpha, size), size)
    assert (totals.mult_adds, totals.params + totals.bn_params) == (mult_adds, params)


def test_efficientformer_l1_published_figures() -> None:
    # Published (Li et al. 2022, arXiv:2206.01191, Table 1; timm's efficientformer_l1 card): 12.3 M params,
    # 1.3 GMACs at 224. mobcost: 1,291,284,736 Mult-Adds, 3,073,280 of them Q·Kᵀ and A·V (49·49·8·(32 + 128)), and
    # 12,255,320 params + 34,608 BatchNorm and LayerNorm γ, β = 12,289,928 (the module's total, both heads in it)
    totals = analyze(load_spec("efficientformer_l1")).totals
    assert (totals.mult_adds, totals.params, totals.bn_params) == (1_291_284_736, 12_255_320, 34_608)
    graph = build(load_spec("efficientformer_l1"))
    node = next(n for n in graph.nodes if n.type == "attention")
    kind = REGISTRY["attention"]
    assert kind.product_terms(node) == (3_073_280, 49 * 49) and kind.table_params(node) == 8 * 49
    # 160 px: a 5×5 grid, 25 tokens, a table of 8·25 (the model built for that grid)
    node = next(n for n in build(load_spec("efficientformer_l1"), resolution=160).nodes if n.type == "attention")
    assert (node.input.length, kind.table_params(node)) == (25, 200)


def test_efficientformer_l1_sweep_equals_closed_form() -> None:
    from .test_geometry import sweep_points

    text = (SPECS / "efficientformer_l1.yaml").read_text(encoding="utf-8")
    sweep_points(text, [1.0, 0.5], [224, 160, 192], ("mult_adds", "params", "memory_access"))


def test_classes_change_both_heads() -> None:
    from mobcost.spec.transforms import with_classes

    # the distilled model's head and head_dist are averaged: both are the classifier (448·10 + 10 each)
    spec = with_classes(load_spec("efficientformer_l1"), 10)
    assert [(layer.name, layer.out) for layer in spec.layers[-3:-1]] == [("head", 10), ("head_dist", 10)]
    assert analyze(spec).totals.params == 12_255_320 - 2 * 990 * 449
