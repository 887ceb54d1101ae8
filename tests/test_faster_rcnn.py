"""The bundled Faster R-CNN MobileNetV1 (Table 13) and the `per_roi` / `proposals:` grammar, against hand
arithmetic, an independent torch module (``tests/detection_models.py``, fvcore) and the paper."""

from __future__ import annotations

import json

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.spec import load_spec, parse_spec
from mobcost.spec.transforms import with_proposals

from .conftest import SPECS

SPEC = SPECS / "faster_rcnn_mobilenet_v1.yaml"


def frcnn(alpha: float = 1.0, resolution: int | None = None, proposals: int | None = None):
    spec = load_spec(SPEC)
    return analyze(spec if proposals is None else with_proposals(spec, proposals), alpha, resolution=resolution)


# body to Conv2d_11 at 300 px (maps 150, 75, 38, 19): conv0 + (dw + pw) per block
BLOCKS = [(32, 64, 150), (64, 128, 75), (128, 128, 75), (128, 256, 38), (256, 256, 38), (256, 512, 19),
          *[(512, 512, 19)] * 5]
BODY_300 = 27 * 32 * 150 * 150 + sum(9 * m * f * f + m * n * f * f for m, n, f in BLOCKS)
# the RPN on 19×19×512: 3×3 conv to 512, 1×1 to 12·4 box codes and 12·2 objectness scores
RPN_300 = 361 * (9 * 512 * 512 + 512 * 48 + 512 * 24)
# one RoI: a 14×14×512 crop, Conv2d_12 (dw stride 2 to 7×7, pw to 1024), Conv2d_13 on 7×7, FCs 1024 → 360 + 91
PER_ROI = 49 * (9 * 512 + 512 * 1024 + 9 * 1024 + 1024 * 1024) + 1024 * (360 + 91)


def test_faster_rcnn_300_by_hand() -> None:
    a = frcnn()
    assert BODY_300 + RPN_300 == 1_761_551_296 and PER_ROI == 78_209_536
    assert a.totals.mult_adds == BODY_300 + RPN_300 + 300 * PER_ROI == 25_224_412_096  # Table 13: 25.2 B
    # params: MobileNetV1 without FC (3,185,088) less Conv2d_12 and 13 (4,608 + 524,288 + 9,216 + 1,048,576), once
    # in the body … plus the RPN (2,359,296 + 512; 24,576 + 48; 12,288 + 24), the head's Conv2d_12 and 13 again
    # (1,586,688) and its FCs (368,640 + 360; 93,184 + 91): weights once however many proposals run
    body = 3_185_088 - 1_586_688
    rpn = 2_359_296 + 512 + 24_576 + 48 + 12_288 + 24
    assert a.totals.params == body + rpn + 1_586_688 + 368_640 + 360 + 93_184 + 91 == 6_044_107  # Table 13: 6.1 M


def test_faster_rcnn_600_by_hand() -> None:
    # at 600 px the shared maps are 300, 150, 75, 38 (TF's SAME: ⌈H/2⌉ each time; RPN on 38×38); the crop stays
    # 14×14
    side = {150: 300, 75: 150, 38: 75, 19: 38}
    blocks = [(m, n, side[f]) for m, n, f in BLOCKS]
    shared = 27 * 32 * 300 * 300 + sum(9 * m * f * f + m * n * f * f for m, n, f in blocks) + 1444 * (
        9 * 512 * 512 + 512 * 72)
    a = frcnn(resolution=600)
    assert a.totals.mult_adds == shared + 300 * PER_ROI == 30_493_700_224  # Table 13: 30.5 B
    assert a.totals.params == 6_044_107


def test_table13_rows() -> None:
    from mobcost.analysis.paper import figures

    got = {(f.row, f.metric): f for f in figures(["13"]) if f.row.startswith("Faster")}
    # Table 13: 25.2 B and 30.5 B (printed in billions, one decimal), 6.1 M params at both sizes
    assert got["Faster-RCNN 300 MobileNet", "mult_adds"].computed == 25_224_412_096 / 1e6
    assert got["Faster-RCNN 600 MobileNet", "mult_adds"].computed == 30_493_700_224 / 1e6
    assert {got[f"Faster-RCNN {r} MobileNet", "mult_adds"].status for r in (300, 600)} == {"match"}
    p = got["Faster-RCNN 300 MobileNet", "params"]
    # 6.04 M prints 6.0, not 6.1; with the 21,888 BatchNorm γ, β (or the 10,944 β) it is 6.07 M (6.06 M): 6.1
    assert (p.computed, p.status) == (6_044_107 / 1e6, "differs")
    assert "21,888 γ, β make 6.066 M" in p.note and "10,944 β alone 6.055 M" in p.note


def test_proposals_scale_only_the_per_roi_part() -> None:
    for n in (1, 100, 300):
        t = frcnn(proposals=n).totals
        assert (t.mult_adds, t.params) == (BODY_300 + RPN_300 + n * PER_ROI, 6_044_107)


def test_per_roi_rows_are_marked(tmp_path) -> None:
    from typer.testing import CliRunner

    from mobcost.cli import app

    out = CliRunner().invoke(app, ["table", str(SPEC), "--proposals", "100", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["per_roi"] == {"proposals": 100, "shared_mult_adds": BODY_300 + RPN_300,
                              "per_roi_mult_adds": PER_ROI}
    marked = [row["name"] for row in doc["layers"] if row.get("per_roi") == 100]
    assert marked == ["crop", "Conv2d_12_depthwise", "Conv2d_12_pointwise", "Conv2d_13.dw", "Conv2d_13.pw", "pool",
                      "box", "class"]
    rich = CliRunner().invoke(app, ["table", str(SPEC), "-s", "layers"], env={"COLUMNS": "200"})
    assert "×300 RoIs" in rich.output and f"{BODY_300 + RPN_300:,} shared + 300 proposals × {PER_ROI:,}" in rich.output


def test_latency_and_energy_count_each_proposal() -> None:
    from mobcost.explore.energy import network_energy
    from mobcost.explore.hardware import load_hardware, predict_layers
    from mobcost.graph import build

    hw = load_hardware("cortex_m7")
    graphs = {n: build(with_proposals(load_spec(SPEC), n)) for n in (1, 2, 300)}
    seconds = {n: sum(predict_layers(g, hw)) for n, g in graphs.items()}
    energy = {n: network_energy(g, hw).pj for n, g in graphs.items()}
    # per image = shared + n × one proposal's: the step from 1 to 2 proposals is one proposal's share
    assert seconds[300] - seconds[1] == pytest.approx(299 * (seconds[2] - seconds[1]), rel=1e-9)
    assert energy[300] - energy[1] == pytest.approx(299 * (energy[2] - energy[1]), rel=1e-9)
    assert seconds[2] > seconds[1] and energy[2] > energy[1]


TWO_STAGE = """
input: {channels: 3, size: 32}
%s
layers:
  - {type: conv, out: 8, stride: 2, name: body}
  - {type: conv, out: 4, kernel: 1, name: rpn}
  - {type: roi_crop, from: body, size: 4%s, name: crop}
  - {type: fc, out: 5, per_roi: true, name: head}
outputs: [rpn, head]
"""


def test_two_stage_grammar() -> None:
    spec = parse_spec(TWO_STAGE % ("proposals: 7", ""))
    a = analyze(spec)
    head = a.rows[-1]
    assert (head.times, head.mult_adds, head.params) == (7, 7 * 4 * 4 * 8 * 5, 4 * 4 * 8 * 5 + 5)
    assert a.rows[2].node.output.as_list() == [8, 4, 4]  # the crop is fixed: neither α nor ρ moves it
    assert analyze(spec, resolution=64).rows[2].node.output.as_list() == [8, 4, 4]


@pytest.mark.parametrize(("top", "crop", "message"), [
    ("", "", "must give `proposals:`"),
    ("proposals: 0", "", "must be a positive integer"),
    ("proposals: 3", ", per_roi: 1", "must be true or false"),
])
def test_two_stage_grammar_errors(top: str, crop: str, message: str) -> None:
    with pytest.raises(MobcostError, match=message):
        parse_spec(TWO_STAGE % (top, crop))


def test_proposals_need_per_roi_layers() -> None:
    with pytest.raises(MobcostError, match="no layer is `per_roi: true`"):
        parse_spec("input: {channels: 3, size: 8}\nproposals: 3\nlayers: [{type: conv, out: 4}]\n")
    with pytest.raises(MobcostError, match="no `per_roi` layers"):
        with_proposals(load_spec(SPECS / "mobilenet_v1.yaml"), 300)


def test_sweep_refuses_per_roi_specs() -> None:
    from mobcost.explore.grid import sweep

    with pytest.raises(MobcostError, match="per-RoI layers"):
        sweep(load_spec(SPEC), [1.0, 0.5], [300, 600])


torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")


@pytest.mark.slow
@pytest.mark.parametrize(("alpha", "size"), [(1.0, 300), (1.0, 600), (0.5, 300), (0.5, 600)])
def test_faster_rcnn_equals_its_reference(alpha: float, size: int) -> None:
    from fvcore.nn import FlopCountAnalysis
    from torch import nn

    from .detection_models import faster_rcnn_mobilenet_v1, roi_crop_shape
    from .reference_models import _CONV_LINEAR_OPS, counts

    shared, head = faster_rcnn_mobilenet_v1(alpha)
    once = counts(shared, size)
    with torch.no_grad():
        per_roi = FlopCountAnalysis(head, torch.zeros(roi_crop_shape(alpha))).unsupported_ops_warnings(False)
        roi_ma = int(sum(per_roi.by_operator().get(op, 0) for op in _CONV_LINEAR_OPS))
    roi_params = sum(p.numel() for m in head.modules() if isinstance(m, nn.Conv2d | nn.Linear) for p in m.parameters())
    roi_bn = sum(m.weight.numel() + m.bias.numel() for m in head.modules() if isinstance(m, nn.BatchNorm2d))
    t = frcnn(alpha, size).totals
    # per image = shared part + 300 proposals × one RoI's head; weights count once
    assert t.mult_adds == once["mult_adds"] + 300 * roi_ma
    assert (t.params, t.bn_params) == (once["params"] + roi_params, once["bn_params"] + roi_bn)
