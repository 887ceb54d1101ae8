"""`mobcost sweep`: the grid equals `mobcost table` point by point; peak activation; budgets; Pareto."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mobcost.analysis import analyze
from mobcost.cli import app
from mobcost.explore import Budgets, pareto_mask, parse_range, sweep
from mobcost.explore.hardware import load_hardware
from mobcost.spec import load_spec, parse_spec

from .conftest import SPECS

MOBILENET = load_spec(SPECS / "mobilenet_v1.yaml")


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_grid_equals_table_point_by_point() -> None:
    points = json.loads(run("sweep", "--alpha", "0.25:1.0:0.25", "--resolution", "128:224:32", "--format", "json"))
    assert len(points["points"]) == 16
    for p in points["points"]:
        table = json.loads(run("table", "--alpha", str(p["alpha"]), "--resolution", str(p["resolution"]),
                               "--format", "json"))["totals"]
        assert (p["mult_adds"], p["params"], p["memory_access"]) == (
            table["mult_adds"], table["params"], table["memory_access"])


def test_peak_activation() -> None:
    # 1.0 MobileNet-224: the largest live set is pw3's input 112·112·32 = 401,408 plus its output
    # 112·112·64 = 802,816 → 1,204,224 elements.
    r = sweep(MOBILENET, [1.0], [224])
    assert int(r.columns["peak_activation"][0]) == 1_204_224
    assert int(r.columns["peak_activation_bytes"][0]) == 4 * 1_204_224


def test_peak_activation_with_branches() -> None:
    # input 8×16×16 (2048) → a: pw 8 → b: pw 8 → add(a, b). While b runs, the input is dead but a must
    # stay alive for the add: a + b = 4096; while the add runs: a + b + sum = 6144.
    spec = parse_spec("input: {channels: 8, size: 16}\nlayers:\n  - {type: pw, name: a, out: 8}\n"
                      "  - {type: pw, name: b, out: 8}\n  - {type: add, from: [a, b]}\n")
    assert int(sweep(spec, [1.0], [16]).columns["peak_activation"][0]) == 6144


@pytest.mark.parametrize("name", ["googlenet", "mobilenet_v2", "squeezenet1_0", "alexnet"])
def test_every_spec_vectorised_equals_closed_form(name: str) -> None:
    spec = load_spec(SPECS / f"{name}.yaml")
    alphas, sizes = [1.0, 0.75, 0.5], [spec.size, spec.size - 32]
    r = sweep(spec, alphas, sizes)
    for i, (a, res) in enumerate((a, s) for a in alphas for s in sizes):
        t = analyze(spec, a, resolution=res).totals
        assert (int(r.columns["mult_adds"][i]), int(r.columns["params"][i]), int(r.columns["memory_access"][i])) == (
            t.mult_adds, t.params, t.memory_access)


def test_invalid_alpha_is_reported_not_hidden() -> None:
    # AlexNet at α=0.6: conv2 would get 57 input channels, which its 2 groups cannot split.
    r = sweep(load_spec(SPECS / "alexnet.yaml"), [0.5, 0.6], [227])
    assert r.columns["alpha"].tolist() == [0.5]
    assert len(r.factors.dropped) == 1 and "α 0.6" in r.factors.dropped[0] and "groups=2" in r.factors.dropped[0]


def test_budgets_decide_fits() -> None:
    r = sweep(MOBILENET, [0.25, 0.5, 0.75, 1.0], [128, 160, 192, 224],
              budgets=Budgets(mult_adds=150e6, params=1.5e6))
    c = r.columns
    expected = (c["mult_adds"] <= 150e6) & (c["params"] <= 1.5e6)
    assert np.array_equal(c["fits"], expected) and 0 < expected.sum() < 16
    best = r.best()
    assert best is not None and c["fits"][best]
    assert c["top1"][best] == max(c["top1"][c["fits"]])  # highest-accuracy feasible point


def test_hardware_budgets_and_latency() -> None:
    hw = load_hardware("cortex_m7")
    r = sweep(MOBILENET, [0.25, 1.0], [128, 224], hardware=hw)
    c = r.columns
    # int8: weights = params bytes; 320 KiB SRAM = 327,680 bytes; 1 MiB flash = 1,048,576 bytes. The profile
    # names its runtime's planner (tflm): TFLM's RAM and the .tflite's flash are what must fit.
    assert np.array_equal(c["weight_bytes"], c["params"])
    assert np.array_equal(c["fits"], (c["ram_bytes"] <= 327_680) & (c["flash_bytes"] <= 1_048_576))
    # α = 0.25 at 224 px: its 301,056 B lower bound would fit, TFLM's 401,408 B arena does not
    assert list(c["fits"]) == [True, False, False, False] and c["peak_activation_bytes"][1] <= 327_680
    assert np.all(c["latency_ms"] > 0) and c["latency_ms"][0] < c["latency_ms"][-1]


def test_roofline_single_layer() -> None:
    # One pw layer 16→16 on 8×8, fp32, on a made-up profile: 16·16·64 = 16,384 Mult-Adds at 1e6/s → 16.384 ms
    # compute; bytes (1024 in + 1024 out + 256 weights)·4 = 9,216 at 1e6 B/s → 9.216 ms; max = 16.384 ms,
    # plus 1 layer × 100 µs overhead = 16.484 ms.
    spec = parse_spec("input: {channels: 16, size: 8}\nlayers: [{type: pw, out: 16}]")
    profile = Path(__file__).parent / "data" / "slow_profile.yaml"
    r = sweep(spec, [1.0], [8], hardware=load_hardware(profile))
    assert r.columns["latency_ms"][0] == pytest.approx(16.484)


def test_pareto_mask() -> None:
    cost = np.array([1.0, 2.0, 3.0, 3.0, 4.0])
    top1 = np.array([50.0, 49.0, 60.0, 61.0, np.nan])
    # 2.0/49 is beaten by 1.0/50; 3.0/60 by 3.0/61; unknown accuracy is never on the front.
    assert pareto_mask(cost, top1).tolist() == [True, False, False, True, False]


def test_accuracy_sources() -> None:
    doc = json.loads(run("sweep", "--alpha", "0.5,0.6", "--resolution", "160", "--format", "json"))["points"]
    published, estimated = doc
    assert published["top1"] == 59.1 and "TF-Slim" in published["top1_source"]
    assert estimated["top1_source"].startswith("estimate") and "RMSE" in estimated["top1_source"]
    assert published["top1"] < estimated["top1"] < 70  # more Mult-Adds, higher estimate


def test_parse_range() -> None:
    assert parse_range("0.25:1.0:0.25", integer=False, where="") == [0.25, 0.5, 0.75, 1.0]
    assert parse_range("0.1:0.3:0.1", integer=False, where="") == [0.1, 0.2, 0.3]  # exact decimals
    assert parse_range("128:224:32", integer=True, where="") == [128, 160, 192, 224]
    assert parse_range("160,224", integer=True, where="") == [160, 224]


@pytest.mark.parametrize(("args", "needle"), [
    (["--alpha", "1:0:0.1"], "STOP ≥ START"),
    (["--alpha", "0:1:0.5"], "alpha must be > 0"),
    (["--resolution", "100.5"], "positive integers"),
    (["--alpha", "abc"], "expected numbers"),
    (["--max-mult-adds", "lots"], "150M"),
    (["--max-latency-ms", "5"], "needs --hardware"),
    (["--hardware", "toaster"], "no bundled hardware profile"),
])
def test_sweep_errors(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(app, ["sweep", *args])
    assert result.exit_code == 2 and needle in result.stderr, result.stderr


def test_csv_stream_matches_json(tmp_path: Path) -> None:
    out = tmp_path / "grid.csv"
    run("sweep", "--alpha", "0.3:0.5:0.1", "--resolution", "96:128:16", "--format", "csv", "--output", str(out))
    rows = out.read_text().splitlines()
    assert rows[0] == ("alpha,resolution,mult_adds,params,memory_access,peak_activation,peak_activation_bytes,"
                       "weight_bytes,latency_ms,top1,top1_source,fits,pareto")
    points = json.loads(run("sweep", "--alpha", "0.3:0.5:0.1", "--resolution", "96:128:16", "--format",
                            "json"))["points"]
    assert len(rows) == 1 + len(points) == 1 + 9
    for line, p in zip(rows[1:], points, strict=True):
        fields = line.split(",")
        assert int(fields[2]) == p["mult_adds"] and int(fields[5]) == p["peak_activation"]
        assert fields[-1] == str(p["pareto"]) and fields[-2] == str(p["fits"])


def test_rich_view() -> None:
    out = CliRunner().invoke(app, ["sweep", "--hardware", "cortex_m7"], env={"COLUMNS": "100"}).stdout
    assert "Cortex-M7" in out and "★" in out and "16 points" in out


def test_alpha_above_one_is_swept_and_its_estimate_marked() -> None:
    # α > 1 widens (as MobileNetV2 1.4 does); the top-1 fit ends at 1.0 MobileNet-224's 569 M Mult-Adds, so
    # α = 1.25 at 224 is an extrapolation and must say so, in CSV and on screen. By hand, widths ⌊1.25·N⌋ = 40,
    # 80, 160, 320, 640, 1280: conv1 27·40·112² + Σ (9·M + M·N)·D_F² over the 13 dw/pw pairs + FC 1280·1000
    # = 879,516,800
    rows = run("sweep", "--alpha", "1,1.25", "--resolution", "224", "-f", "csv").splitlines()
    assert rows[1].startswith("1.0,224,568740352,") and "TF-Slim" in rows[1]
    assert rows[2].startswith("1.25,224,879516800,") and "extrapolated estimate" in rows[2]
    screen = run("sweep", "--alpha", "1,1.25", "--resolution", "224")
    assert "†" in screen and "† extrapolated" in screen
