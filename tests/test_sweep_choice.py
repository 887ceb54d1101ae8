"""Issue 20, choosing a network when it has no published accuracy: `--best` takes the most capacity that meets
every budget and says so; the Pareto front is computed on the objectives named; no point meeting the budgets
is a result (exit 1, the tightest budget named, valid output), not a bad-input error (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mobcost.cli import app
from mobcost.explore import Budgets, sweep
from mobcost.explore.budgets import Tally
from mobcost.explore.objectives import best_in, front_mask
from mobcost.spec import parse_spec

# One 1×1 convolution, 4 → ⌊8α⌋ channels on an R×R map: Mult-Adds 4·⌊8α⌋·R², params 4·⌊8α⌋ (no bias, no BN).
# On α ∈ {0.5, 1} × R ∈ {4, 8}, by hand:
#   A (0.5, 4):   256 Mult-Adds, 16 params      B (0.5, 8): 1,024, 16
#   C (1.0, 4):   512,           32             D (1.0, 8): 2,048, 32
TINY = "name: tiny\ninput: {channels: 4, size: 8}\nlayers:\n  - {type: pw, out: 8}\n"
GRID = ("-a", "0.5,1", "-R", "4,8")


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return str(path)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "160"})
    return result.exit_code, result.stdout, result.stderr


# --- 1. without accuracy, --best is the most capacity within the budgets, and says so ----------------------


def test_best_without_accuracy_is_the_most_capacity(tiny: str) -> None:
    # No budget: D, the most Mult-Adds (the old rule gave A, the cheapest). Mult-Adds ≤ 600: A and C fit,
    # C has more. Params ≤ 20: A and B fit, B has more.
    for budget, expected in (((), (1.0, 8)), (("--max-mult-adds", "600"), (1.0, 4)),
                             (("--max-params", "20"), (0.5, 8))):
        code, out, err = invoke("sweep", tiny, *GRID, *budget, "--best", "-f", "json")
        doc = json.loads(out)
        assert code == 0, err
        assert (doc["points"][0]["alpha"], doc["points"][0]["resolution"]) == expected
        assert doc["best_by"] == "capacity" and doc["objectives"] == ["capacity", "params"]
        assert "no accuracy is known" in doc["note"]


def test_best_says_what_it_ranked_by_in_every_format(tiny: str) -> None:
    code, out, _ = invoke("sweep", tiny, *GRID, "--best")
    assert code == 0 and "★ best: the most Mult-Adds (then params)" in out and "no accuracy is known" in out
    code, out, _ = invoke("sweep", tiny, *GRID, "--best", "-f", "csv")
    header, row = out.splitlines()
    assert header.endswith(",best_by") and row.startswith("1.0,8,2048,32,") and row.endswith(",capacity")
    # MobileNetV1 has published accuracy: the highest top-1, 1.0 MobileNet-224's 70.9 (TF-Slim)
    doc = json.loads(invoke("sweep", "--best", "-f", "json")[1])
    assert doc["best_by"] == "accuracy" and doc["points"][0]["top1"] == 70.9


def test_ties_in_capacity_go_to_more_params_then_to_the_first() -> None:
    columns = {"mult_adds": np.array([10, 30, 30, 20, 30]), "params": np.array([1, 2, 5, 9, 5])}
    # Mult-Adds 30 at 1, 2 and 4; of those, params 5 at 2 and 4: the first, 2
    assert best_in(columns, np.arange(5), "capacity")[1] == 2
    assert best_in(columns, np.array([0, 1, 3]), "capacity")[1] == 1
    assert best_in(columns, np.array([], dtype=int), "capacity") is None


# --- 2. the front on the objectives named ------------------------------------------------------------------


def test_default_front_without_accuracy_is_capacity_against_params(tiny: str) -> None:
    doc = json.loads(invoke("sweep", tiny, *GRID, "-f", "json")[1])
    # B beats A (more Mult-Adds, same params) and C (more Mult-Adds, fewer params); D has the most Mult-Adds
    assert [p["pareto"] for p in doc["points"]] == [False, True, False, True]
    assert doc["objectives"] == ["capacity", "params"]


def test_front_on_named_objectives(tiny: str) -> None:
    # Minimising Mult-Adds and params: A is cheapest in both, and beats every other point
    doc = json.loads(invoke("sweep", tiny, *GRID, "--objectives", "mult_adds,params", "-f", "json")[1])
    assert [p["pareto"] for p in doc["points"]] == [True, False, False, False]
    # capacity against peak activation (4·R² + ⌊8α⌋·R²: A 128, B 512, C 192, D 768): each point is either
    # larger or smaller in both, so every point is on the front
    doc = json.loads(invoke("sweep", tiny, *GRID, "--objectives", "capacity,peak_activation", "-f", "json")[1])
    assert [p["pareto"] for p in doc["points"]] == [True, True, True, True]


def test_three_objectives_by_hand() -> None:
    m = np.array([[1, 1, 1], [1, 1, 1], [0, 2, 2], [2, 0, 2], [2, 2, 0], [2, 2, 2], [1, 2, 2], [np.nan, 0, 0]],
                 dtype=float)
    # row 1 repeats row 0 (the first is kept); [2,2,2] and [1,2,2] are beaten by [1,1,1]; the three rows
    # with a 0 are each best on one objective; a row with an unknown value is never on the front
    assert front_mask(m).tolist() == [True, False, True, True, True, False, False, False]


def test_three_objectives_match_the_definition() -> None:
    rng = np.random.default_rng(20)
    for _ in range(200):
        m = rng.integers(0, 5, size=(int(rng.integers(1, 40)), int(rng.integers(1, 4)))).astype(float)
        # on the front: no other row at most it everywhere and either below it somewhere or before it
        expected = [not any((m[j] <= m[i]).all() and ((m[j] < m[i]).any() or j < i)
                            for j in range(len(m)) if j != i) for i in range(len(m))]
        assert front_mask(m).tolist() == expected


def test_accuracy_mult_adds_latency_front() -> None:
    code, out, err = invoke("sweep", "-H", "cortex_m7", "--objectives", "accuracy,mult_adds,latency", "-f", "json")
    assert code == 0, err
    points = json.loads(out)["points"]
    for p in points:  # the definition, point against point
        beaten = any(q is not p and q["top1"] >= p["top1"] and q["mult_adds"] <= p["mult_adds"]
                     and q["latency_ms"] <= p["latency_ms"] and (q["top1"], q["mult_adds"], q["latency_ms"])
                     != (p["top1"], p["mult_adds"], p["latency_ms"]) for q in points)
        assert p["pareto"] is not beaten


@pytest.mark.parametrize(("args", "needle"), [
    (["--objectives", "accuracy,params"], "accuracy is not known for this network"),
    (["--objectives", "capacity,latency"], "latency needs --hardware"),
    (["--objectives", "capacity,speed"], "unknown objective 'speed'"),
    (["--objectives", "capacity,params,mult_adds,peak_activation"], "between 1 and 3"),
    (["--objectives", "params,params"], "different objectives"),
    (["--objectives", "capacity,params", "--pareto-cost", "params"], "not both"),
])
def test_objective_errors(tiny: str, args: list[str], needle: str) -> None:
    code, _, err = invoke("sweep", tiny, *GRID, *args)
    assert code == 2 and err.startswith("mobcost: error: ") and needle in err, err


# --- 3. no point meets the budgets: a result, exit 1 --------------------------------------------------------


def test_no_point_fits_is_exit_one_with_valid_json(tiny: str) -> None:
    # params ≤ 10: A and B have 16, C and D 32 — this budget alone excludes all 4; Mult-Adds ≤ 300 only 3
    code, out, err = invoke("sweep", tiny, *GRID, "--max-mult-adds", "300", "--max-params", "10", "--best", "-f",
                            "json")
    doc = json.loads(out)
    assert code == 1 and doc["points"] == [] and "Traceback" not in err
    assert "--max-params" in doc["note"] and "all 4 points" in doc["note"] and "16" in doc["note"]
    assert "--max-params" in err  # said on standard error too, for a script reading the JSON
    code, out, _ = invoke("sweep", tiny, *GRID, "--max-params", "10", "-f", "json")  # the whole grid
    assert code == 1 and len(json.loads(out)["points"]) == 4 and "--max-params" in json.loads(out)["note"]


@pytest.mark.parametrize("fmt", ["rich", "csv", "markdown", "latex"])
def test_no_point_fits_in_every_format(tiny: str, fmt: str) -> None:
    code, out, err = invoke("sweep", tiny, *GRID, "--max-mult-adds", "100", "--best", "-f", fmt)
    assert code == 1 and "Traceback" not in out + err
    assert "--max-mult-adds" in (out if fmt == "rich" else err)
    if fmt == "csv":
        assert out.splitlines() == ["alpha,resolution,mult_adds,params,memory_access,peak_activation,"
                                    "peak_activation_bytes,weight_bytes,latency_ms,top1,top1_source,fits,pareto,"
                                    "best_by"]
    code, out, err = invoke("sweep", tiny, *GRID, "--max-mult-adds", "100", "-f", fmt)  # the grid, not --best
    assert code == 1 and "--max-mult-adds" in (out if fmt == "rich" else err)


def test_the_profile_memory_is_named() -> None:
    # α = 1 on Cortex-M7 (int8), whose profile names its runtime's planner (TFLM): the .tflite's 4,209,088
    # weight bytes, 47,776 of int32 biases and 286,656 of quantization parameters (per channel, the classifier
    # too: 4,543,520 B) against its 1 MiB flash (1,048,576: 4.3× over) and, at 192 px, TFLM's RAM (1,307,708 B)
    # against its 320 KiB SRAM (327,680: 4.0× over). Each excludes both points alone; the flash is missed by the
    # wider margin, and is named as the profile's, not an option.
    code, out, err = invoke("sweep", "-H", "cortex_m7", "-a", "1", "-R", "192,224", "--best", "-f", "json")
    assert code == 1 and "Cortex-M7's flash" in json.loads(out)["note"], err
    assert "4.54 MB" in json.loads(out)["note"]


def test_tightest_budget() -> None:
    b = Budgets(mult_adds=100, params=10, latency_ms=5)
    tally = Tally(points=4, fits=0, over={"mult_adds": 4, "params": 4, "latency_ms": 3},
                  least={"mult_adds": 256, "params": 16, "latency_ms": 1})
    # two budgets exclude every point alone: Mult-Adds misses by 256/100 = 2.56×, params by 16/10 = 1.6×
    assert tally.tightest(b) == "mult_adds"
    tally.over["mult_adds"] = 2
    assert tally.tightest(b) == "params"  # now the only one excluding all four
    r = sweep(parse_spec(TINY), [0.5, 1.0], [4, 8], budgets=Budgets(mult_adds=600, params=20))
    counted = Tally()
    counted.add(r.columns, r.budgets)
    # Mult-Adds ≤ 600 excludes B and D, params ≤ 20 excludes C and D; A fits both
    assert (counted.points, counted.fits, counted.over) == (4, 1, {"mult_adds": 2, "params": 2})
