"""Several outputs and detection heads: the ``predict`` shorthand, ``outputs:`` and ``postprocess:`` — decoded, costed,
reported, held alive, swept and built. Expected counts are hand arithmetic written beside them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mobcost.analysis import analyze
from mobcost.cli import app
from mobcost.errors import MobcostError
from mobcost.graph import build
from mobcost.spec import parse_spec
from mobcost.spec.transforms import with_classes

from .test_geometry import sweep_points

# A two-level detector: taps a (8×8×8) and b (4×4×16); b feeds an extra layer c (2×2×8)
TINY = """input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 8, stride: 2, name: a}
  - {type: conv, out: 16, stride: 2, name: b}
  - {type: conv, out: 8, stride: 2, name: c}
  - {type: predict, from: a, anchors: 2, codes: 4, name: box_a}
  - {type: predict, from: a, anchors: 2, classes: 5, name: cls_a}
  - {type: predict, from: c, anchors: 3, codes: 4, kernel: 3, name: box_c}
  - {type: predict, from: c, anchors: 3, classes: 5, kernel: 3, name: cls_c}
outputs: [box_a, cls_a, box_c, cls_c]
postprocess: [decode boxes, NMS]
"""


def test_predict_is_a_conv_of_anchors_times_values() -> None:
    rows = {r.node.name: r for r in analyze(parse_spec(TINY)).rows}
    # box_a: 1×1, 8 → 2·4 = 8 outputs with bias on 8×8: 8·8·64 = 4,096 Mult-Adds, 64 + 8 = 72 params
    assert (rows["box_a"].mult_adds, rows["box_a"].params, rows["box_a"].bn_params) == (4_096, 72, 0)
    # cls_c: 3×3 (padding 1), 8 → 3·5 = 15 on 2×2: 9·8·15·4 = 4,320 Mult-Adds, 1,080 + 15 = 1,095 params
    assert (rows["cls_c"].mult_adds, rows["cls_c"].params) == (4_320, 1_095)
    # under α the taps thin, the predictions do not: cls_a at α = 0.5 reads 4 channels, still 10 outputs
    half = {r.node.name: r for r in analyze(parse_spec(TINY), 0.5).rows}
    assert half["cls_a"].node.input.c == 4 and half["cls_a"].node.output.c == 10


def test_classes_sets_every_class_predictor() -> None:
    spec = with_classes(parse_spec(TINY), 21)
    out = {layer.name: layer.out for layer in spec.layers}
    assert (out["cls_a"], out["cls_c"], out["box_a"], out["box_c"]) == (2 * 21, 3 * 21, 2 * 4, 3 * 4)


@pytest.mark.parametrize(("change", "needle"), [
    ("anchors: 2, codes: 4, name: box_a", "give 'codes'"),  # → codes and classes both
    ("outputs: [box_a, cls_a, box_c, cls_c]", "unknown layer 'nope'"),
    ("outputs: [box_a, cls_a, box_c, cls_c]", "listed twice"),
    ("outputs: [box_a, cls_a, box_c, cls_c]", "neither read by a later layer nor listed"),
    ("postprocess: [decode boxes, NMS]", "list of step descriptions"),
])
def test_bad_heads_are_located(change: str, needle: str) -> None:
    replacement = {
        "give 'codes'": "anchors: 2, codes: 4, classes: 3, name: box_a",
        "unknown layer 'nope'": "outputs: [box_a, nope]",
        "listed twice": "outputs: [box_a, cls_a, box_a, box_c, cls_c]",
        "neither read by a later layer nor listed": "outputs: [box_a, cls_a, box_c]",
        "list of step descriptions": "postprocess: NMS",
    }[needle]
    with pytest.raises(MobcostError) as err:
        parse_spec(TINY.replace(change, replacement))
    assert needle in str(err.value) and ":" in str(err.value)


def test_table_json_lists_outputs_and_uncounted(tmp_path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    result = CliRunner().invoke(app, ["table", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["outputs"][0] == {"name": "box_a", "shape": [8, 8, 8]}
    assert doc["postprocess"] == {"counted": False, "steps": ["decode boxes", "NMS"]}
    rich = CliRunner().invoke(app, ["table", str(path)], env={"COLUMNS": "120"}).stdout
    assert "Outputs: box_a (8×8×8)" in rich and "Not counted" in rich


def test_peak_activation_holds_every_output() -> None:
    from mobcost.graph.liveness import liveness

    _, live = liveness(build(parse_spec(TINY)))
    # at the last step (cls_c) the earlier outputs box_a and cls_a (tensors 4 and 5) are still alive
    assert {4, 5} <= set(live[-1])


def test_sweep_follows_the_heads() -> None:
    sweep_points(TINY, [1.0, 0.75, 0.5], [16, 24, 32], ("mult_adds", "params", "memory_access"))
