"""The bundled SSD 300 MobileNetV1 (Table 13) against hand arithmetic, an independent torch module
(``tests/detection_models.py``, fvcore) and the paper."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.graph import build
from mobcost.spec import load_spec
from mobcost.spec.transforms import with_classes

from .conftest import SPECS
from .test_geometry import sweep_points


def test_sweep_moves_the_heads_inputs() -> None:
    sweep_points((SPECS / "ssd300_mobilenet_v1.yaml").read_text(), [1.0, 0.5], [300, 224],
                 ("mult_adds", "params", "memory_access"))


# --- SSD 300 MobileNetV1 -------------------------------------------------------------------------------------


def ssd(alpha: float = 1.0, resolution: int | None = None, classes: int | None = None):
    spec = load_spec(SPECS / "ssd300_mobilenet_v1.yaml")
    return analyze(spec if classes is None else with_classes(spec, classes), alpha, resolution=resolution).totals


def test_ssd300_by_hand() -> None:
    t = ssd()
    # maps 19×19×512, 10×10×1024, 5×5×512, 3×3×256, 2×2×256, 1×1×128 with 3, 6, 6, 6, 6, 6 anchors, 95 values each:
    # predictors 95·(361·512·3 + 100·1024·6 + 25·512·6 + 9·256·6 + 4·256·6 + 1·128·6) = 95·1,266,432 = 120,311,040
    heads = 95 * (361 * 512 * 3 + 100 * 1024 * 6 + 25 * 512 * 6 + 9 * 256 * 6 + 4 * 256 * 6 + 128 * 6)
    # extras: 100·1024·256 + 25·9·256·512 + 25·512·128 + 9·9·128·256 + 9·256·128 + 4·9·128·256 + 4·256·64 + 9·64·128
    extras = (100 * 1024 * 256 + 25 * 9 * 256 * 512 + 25 * 512 * 128 + 9 * 9 * 128 * 256 + 9 * 256 * 128
              + 4 * 9 * 128 * 256 + 4 * 256 * 64 + 9 * 64 * 128)
    # body at 300 (maps 150, 75, 38, 19, 10): conv0 + (dw + pw) per block
    blocks = [(32, 64, 150), (64, 128, 75), (128, 128, 75), (128, 256, 38), (256, 256, 38), (256, 512, 19),
              *[(512, 512, 19)] * 5, (512, 1024, 10), (1024, 1024, 10)]
    body = 27 * 32 * 150 * 150 + sum(9 * m * f * f + m * n * f * f for m, n, f in blocks)
    assert t.mult_adds == body + extras + heads == 1_237_129_408  # Table 13: 1.2 B
    # params: body 3,185,088 (MobileNetV1 without its FC); extras 262,144 + 1,179,648 + 65,536 + 294,912 + 32,768 +
    # 294,912 + 16,384 + 73,728 = 2,220,032 weights; predictors 95·(512·3 + (1024 + 512 + 256 + 256 + 128)·6) =
    # 95·14,592 = 1,386,240 weights and 95·(3 + 5·6) = 3,135 biases
    assert t.params == 3_185_088 + 2_220_032 + 1_386_240 + 3_135 == 6_794_495  # Table 13: 6.8 M


def test_table13_row() -> None:
    from mobcost.analysis.paper import figures

    got = {f.metric: f for f in figures(["13"]) if f.row == "SSD 300 MobileNet"}
    assert got["mult_adds"].computed == 1_237_129_408 / 1e6 and got["mult_adds"].status == "match"
    assert got["params"].computed == 6_794_495 / 1e6 and got["params"].status == "match"


torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")


@pytest.mark.slow
@pytest.mark.parametrize(("alpha", "size", "classes"), [(1.0, 300, None), (0.5, 300, None), (1.0, 224, None),
                                                         (0.5, 224, 21)])
def test_ssd300_equals_its_reference(alpha: float, size: int, classes: int | None) -> None:
    from .detection_models import ssd300_mobilenet_v1
    from .reference_models import counts

    want = counts(ssd300_mobilenet_v1(alpha, classes or 91), size)
    t = ssd(alpha, size, classes)
    assert (t.mult_adds, t.params, t.bn_params) == (want["mult_adds"], want["params"], want["bn_params"])


@pytest.mark.slow
def test_torch_build_returns_the_outputs_in_order() -> None:
    from mobcost.torchside.build import graph_module, sample_input
    from mobcost.torchside.crosscheck import check_graph

    graph = build(load_spec(SPECS / "ssd300_mobilenet_v1.yaml"), 0.5, resolution=224)
    with torch.no_grad():
        outs = graph_module(graph)(sample_input(graph))
    shapes = {n.name: n.output for n in graph.nodes}
    assert [tuple(o.shape[1:]) for o in outs] == [(shapes[n].c, shapes[n].h, shapes[n].w)
                                                  for n in graph.spec.outputs]
    assert check_graph(graph).all_match
