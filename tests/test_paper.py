"""`mobcost paper`: every published figure matches or is explained; values against independent counts."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from mobcost.analysis.paper import figures
from mobcost.cli import app


def paper_json(*tables: str) -> list[dict]:
    result = CliRunner().invoke(app, ["paper", *tables, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["rows"]


def test_every_figure_matches_or_is_explained() -> None:
    rows = paper_json()
    assert {r["table"] for r in rows} == {str(i) for i in range(1, 15)}
    for r in rows:
        assert set(r) >= {"table", "row", "metric", "paper", "computed", "unit", "status", "note"}
        assert r["status"] in ("match", "differs")
        if r["status"] == "differs":
            assert r["note"] and r["note"] != "unexplained", r


def test_known_differences_are_flagged() -> None:
    rows = {(r["table"], r["row"], r["metric"]): r for r in paper_json()}
    # Table 1's last depthwise layer: printed s2, the network needs s1.
    stride = rows[("1", "26 Conv dw / s2", "stride")]
    assert (stride["paper"], stride["computed"], stride["status"]) == (2, 1, "differs")
    # Table 2's "Conv 3×3 1.19%": 10,838,016 / 568,740,352 = 1.9056%.
    t2 = rows[("2", "Conv 3×3", "mult_adds_pct")]
    assert t2["status"] == "differs" and abs(t2["computed"] - 100 * 10_838_016 / 568_740_352) < 1e-9
    # VGG16: 15,470,264,320 Mult-Adds with its FC layers, 138,357,544 params (independent counts).
    assert rows[("8", "VGG 16", "mult_adds")]["computed"] == 15_470_264_320 / 1e6
    assert rows[("8", "VGG 16", "mult_adds")]["status"] == "differs"
    assert rows[("8", "VGG 16", "params")]["computed"] == 138_357_544 / 1e6
    assert "15,346.6" in rows[("8", "VGG 16", "mult_adds")]["note"]
    # SqueezeNet: 1700 "M" are its authors' FLOPs.
    assert rows[("9", "Squeezenet", "mult_adds")]["status"] == "differs"
    assert "GFLOPS" in rows[("9", "Squeezenet", "mult_adds")]["note"]


def test_table3_rows() -> None:
    # Example layer: 3·3·512·14² + 512²·14² = 52,283,392; α=0.75 → M=N=384: 3·3·384·196 + 384²·196 =
    # 29,578,752 (paper 29.6); ρ=0.714 → D_F=10: 3·3·384·100 + 384²·100 = 15,091,200 (paper 15.1)
    got = {(r["row"], r["metric"]): r["computed"] for r in paper_json("3")}
    assert got[("Depthwise Separable Conv", "mult_adds")] == 52_283_392 / 1e6
    assert got[("α = 0.75", "mult_adds")] == 29_578_752 / 1e6
    assert got[("ρ = 0.714", "mult_adds")] == 15_091_200 / 1e6
    assert got[("ρ = 0.714", "params")] == (3 * 3 * 384 + 384 * 384) / 1e6  # 150,912: 0.15 M


def test_table10_uses_120_classes() -> None:
    # 1.0 MobileNet with a 120-way classifier: 4,210,088 − (1024·1000 + 1000) + (1024·120 + 120) = 3,308,088
    got = {(r["row"], r["metric"]): r for r in paper_json("10")}
    assert got[("1.0 MobileNet-224", "params")]["computed"] == 3_308_088 / 1e6
    assert got[("1.0 MobileNet-224", "params")]["status"] == "match"  # paper: 3.3


def test_truncation_is_named() -> None:
    row = next(f for f in figures(["7"]) if f.row == "1.0 MobileNet-160" and f.metric == "mult_adds")
    assert row.status == "match" and "truncates" in row.note  # 290.68 printed as 290


def test_table_selection_and_formats() -> None:
    assert {r["table"] for r in paper_json("table6", "7")} == {"6", "7"}
    result = CliRunner().invoke(app, ["paper", "15"])
    assert result.exit_code == 2 and "1–14" in result.stderr
    csv = CliRunner().invoke(app, ["paper", "6", "--format", "csv"]).stdout.splitlines()
    assert csv[0].startswith("table,row,metric,paper,computed,unit,status,note") and len(csv) == 1 + 8
    rich = CliRunner().invoke(app, ["paper", "2"], env={"COLUMNS": "100"}).stdout
    assert "Table 2" in rich and "differs" in rich and "published figures" in rich


def test_mission_command_shows_tables_2_and_3() -> None:
    out = CliRunner().invoke(app, ["table", "--alpha", "0.75", "--rho", "0.714"], env={"COLUMNS": "100"}).stdout
    assert "Resource per layer type" in out and "Conv 1×1" in out
    shrink = out[out.index("shrinking step"):]
    assert "29.6 M" in shrink and "15.1 M" in shrink and "0.151 M" in shrink
    assert max(len(line) for line in out.splitlines()) <= 100
