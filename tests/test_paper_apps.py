"""`mobcost paper 11 12 14`: the application tables, MobileNetV1 with its classifier replaced by each task's head.
Expected values are hand arithmetic on MobileNetV1's body (written out below) and the paper's printed figures."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mobcost.analysis.figure import Figure
from mobcost.analysis.paper import figures
from mobcost.cli import app

# MobileNetV1's body (every layer but the 1000-class FC), from tests/test_bundled_specs.py's hand count:
# 568,740,352 − 1,024,000 Mult-Adds and 4,210,088 − 1,025,000 params at α = 1, 224 px.
BODY_MA_224, BODY_PARAMS = 567_716_352, 3_185_088


def rows(table: str) -> dict[tuple[str, str], Figure]:
    return {(f.row, f.metric): f for f in figures([table])}


def test_table11_planet() -> None:
    got = rows("11")
    # 9,756 cells × (1,024 weights + 1 bias) = 9,999,900 params; 1,024 · 9,756 = 9,990,144 Mult-Adds
    assert got[("PlaNet MobileNet final layer", "params")].computed == 9_999_900 / 1e6
    assert got[("PlaNet MobileNet body", "params")].computed == BODY_PARAMS / 1e6
    total = got[("PlaNet MobileNet", "mult_adds")]
    assert total.computed == (BODY_MA_224 + 9_990_144) / 1e6  # 577.7 M: the paper's "0.58 Million" is 0.58 B
    assert total.status == "match" and "billion" in total.note
    assert got[("PlaNet MobileNet", "params")].computed == (BODY_PARAMS + 9_999_900) / 1e6  # 13.18 M: "13 million"
    assert all(f.status == "match" for f in got.values())


def test_table12_face_attributes() -> None:
    got = rows("12")
    # 0.5 MobileNet-224 + 40 attributes: 149,497,088 − 512,000 + 512·40 = 149,005,568 (paper 149);
    # params 1,320,648 − 513,000 + 513·40 = 828,168 (paper 0.8)
    assert got[("0.5 MobileNet-224", "mult_adds")].computed == 149_005_568 / 1e6
    assert got[("0.5 MobileNet-224", "params")].computed == 828_168 / 1e6
    assert got[("1.0 MobileNet-224", "mult_adds")].computed == (BODY_MA_224 + 1024 * 40) / 1e6  # paper 568
    # the α = 0.25 rows print 45 M and 15 M, more than any head their 0.2 M params allow
    for row in ("0.25 MobileNet-224", "0.25 MobileNet-128"):
        assert got[(row, "mult_adds")].status == "differs" and "no head fits" in got[(row, "mult_adds")].note
    assert [k for k, f in got.items() if f.status == "differs"] == [("0.25 MobileNet-224", "mult_adds"),
                                                                      ("0.25 MobileNet-128", "mult_adds")]
    assert all("40-attribute" in f.note for f in got.values())  # the inferred head is named on every row


@pytest.mark.parametrize("attributes", [1, 63])
def test_table12_any_head_up_to_63_prints_the_same(attributes: int) -> None:
    # The inference the note states: the α = 1 body's 3,185,088 params + 1,025·63 = 3,249,663 < 3.25 M
    from mobcost.analysis import figure, paper_apps

    for alpha, res, ma, params in paper_apps.TABLE12:
        a = figure.bundled_analysis("mobilenet_v1", alpha, res, attributes).totals
        for metric, paper, value, dec in (("ma", ma, a.mult_adds, 0), ("p", params, a.params, 1)):
            f = Figure("12", "", metric, paper, "M", dec, value / 1e6)
            assert f.status == ("differs" if alpha == 0.25 and metric == "ma" else "match"), (alpha, res, metric)


def test_table14_facenet() -> None:
    got = rows("14")
    # 1.0 MobileNet-128 + 128-d embedding: 186,400,768 − 1,024,000 + 1,024·128 = 185,507,840 (paper 185, truncated)
    row = got[("1.0 MobileNet-128", "mult_adds")]
    assert row.computed == 185_507_840 / 1e6 and row.status == "match" and "truncates" in row.note
    # the duplicated row: the first "0.75 MobileNet-128" is 0.75 MobileNet-160 — 166,396,800 − 768,000 + 768·128
    first = got[("0.75 MobileNet-128 (1st)", "mult_adds")]
    assert first.computed == 165_727_104 / 1e6 and first.status == "match" and "twice" in first.note
    # the printed params (4.9, 5.5, 3.4, 3.8 M) exceed the network (3,185,088 + 131,200 = 3,316,288 at α = 1)
    assert got[("1.0 MobileNet-160", "params")].computed == 3_316_288 / 1e6
    assert all(f.status == "differs" for (_, metric), f in got.items() if metric == "params")
    assert all(f.note and f.note != "unexplained" for f in got.values() if f.status == "differs")


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "latex", "rich"])
def test_application_tables_in_every_format(fmt: str) -> None:
    result = CliRunner().invoke(app, ["paper", "11", "12", "14", "--format", fmt], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.stderr
    assert "PlaNet MobileNet" in result.stdout and "MobileNet-128" in result.stdout
    if fmt == "json":
        tables = {r["table"] for r in json.loads(result.stdout)["rows"]}
        assert tables == {"11", "12", "14"}


def test_table13_vgg_and_inception_rows() -> None:
    got = rows("13")
    # Faster-RCNN VGG16 by hand at 300 px, TF-Slim's floor pools: maps 300, 150, 75, 37, 18
    convs = [(3, 64, 300), (64, 64, 300), (64, 128, 150), (128, 128, 150), (128, 256, 75), (256, 256, 75),
             (256, 256, 75), (256, 512, 37), (512, 512, 37), (512, 512, 37), (512, 512, 18), (512, 512, 18),
             (512, 512, 18)]
    body = sum(9 * m * n * f * f for m, n, f in convs)
    rpn = (9 * 512 * 512 + 512 * 48 + 512 * 24) * 18 * 18
    per_roi = 25_088 * 4096 + 4096 * 4096 + 4096 * 364 + 4096 * 91  # fc6, fc7, box codes, scores
    assert body + rpn + 300 * per_roi == 64_309_005_312  # printed 64.3 B
    vgg = got["Faster-RCNN 300 VGG", "mult_adds"]
    assert (vgg.computed, vgg.status) == (64_309_005_312 / 1e6, "match")
    weights = sum(9 * m * n + n for m, n, _ in convs) + 9 * 512 * 512 + 512 + 512 * 72 + 72 + per_roi + 4096 * 2 + 455
    assert weights == 138_521_423 and got["Faster-RCNN 600 VGG", "params"].status == "match"  # printed 138.5 M
    assert got["Faster-RCNN 600 VGG", "mult_adds"].status == "differs"  # 149.5 B printed 149.6: said so
    assert "not established" in got["Faster-RCNN 600 VGG", "mult_adds"].note
    for row in ("SSD 300 deeplab-VGG", "SSD 300 Inception V2", "Faster-RCNN 300 Inception V2",
                "Faster-RCNN 600 Inception V2"):
        for metric in ("mult_adds", "params"):
            f = got[row, metric]
            assert f.computed == "not computed" and f.note.startswith("not computed: ")
    ssd = got["SSD 300 deeplab-VGG", "mult_adds"], got["SSD 300 deeplab-VGG", "params"]
    assert (ssd[0].paper, ssd[1].paper) == (34_900, 33.1)


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "latex", "rich"])
def test_table13_in_every_format(fmt: str) -> None:
    result = CliRunner().invoke(app, ["paper", "13", "--format", fmt], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert "Faster-RCNN 600 VGG" in result.stdout and "not computed" in result.stdout
    assert "not computed M" not in result.stdout  # a figure mobcost does not compute has no unit
