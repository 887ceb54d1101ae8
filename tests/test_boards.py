"""The bundled board profiles fitted from MLPerf Tiny v1.0's published results (issue 24, item 4).

Each ``specs/hardware/<board>_<stack>.yaml`` was written by ``calibrate --from-measurements`` from
``specs/hardware/measured/<board>_<stack>.csv`` (rows of ../shared/data/device_measurements_dev.csv, verbatim;
``benchmarks/mlperf_tiny_boards.py``). Here: each profile predicts its own rows within its recorded residual, and
the leave-one-out errors — recomputed from the CSV, not read from the profile — are within the bounds the README
claims, the cells where the fit fails named rather than hidden under a looser bound."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobcost.cli import app
from mobcost.explore.devicefit import fit
from mobcost.explore.hardware import bundled_hardware, hardware_dir, load_hardware, predict_layers
from mobcost.explore.measurements import graph_of, read_measurements

README = Path(__file__).resolve().parent.parent / "README.md"
BOARDS = sorted(p.stem for p in (hardware_dir() / "measured").glob("*.csv"))
SPECS = ("mlperf_tiny_vww", "mlperf_tiny_ic", "mlperf_tiny_kws", "mlperf_tiny_ad")
# The bounds for held-out networks: latency ±30%, energy ±40%.
LATENCY, ENERGY = 0.30, 0.40
# Where the fit fails (the README says why): ResNet-8 left out on microTVM native and on Plumerai's L4R5, both
# +32%: these stacks run full 3×3 convolutions faster, relative to their depthwise networks, than the prior's
# proportions, and the other three networks hold no full convolution but a stem.
LATENCY_FAILS = {("nucleo_l4r5zi_microtvm", "mlperf_tiny_ic"), ("nucleo_l4r5zi_plumerai", "mlperf_tiny_ic")}
ENERGY_FAILS: set[tuple[str, str]] = set()


def held_out(name: str) -> dict[str, tuple[float, float | None]]:
    """Per benchmark: (left-out latency error, left-out energy error or None), a fit to the board's other rows
    from its CSV; energy is the others' mean power (µJ ÷ ms) × the left-out predicted latency."""
    path = hardware_dir() / "measured" / f"{name}.csv"
    rows = read_measurements(path)
    graphs = [graph_of(r, path) for r in rows]
    out = {}
    for i, row in enumerate(rows):
        keep = [j for j in range(len(rows)) if j != i]
        f = fit([rows[j] for j in keep], [graphs[j] for j in keep], load_hardware("cortex_m7"))
        ms = sum(predict_layers(graphs[i], f.hardware)) * 1e3
        powers = [rows[j].energy_uj / rows[j].latency_ms for j in keep if rows[j].energy_uj]
        energy = ms * sum(powers) / len(powers) / row.energy_uj - 1 if powers and row.energy_uj else None
        out[row.spec] = (ms / row.latency_ms - 1, energy)
    return out


@pytest.fixture(scope="module")
def errors() -> dict[str, dict[str, tuple[float, float | None]]]:
    return {name: held_out(name) for name in BOARDS}


def test_every_measured_file_has_its_bundled_profile() -> None:
    assert len(BOARDS) == 10  # every v1.0 closed-division MCU system has all four benchmarks
    fitted = {n for n in bundled_hardware() if load_hardware(n).measured}
    assert fitted == set(BOARDS)


@pytest.mark.parametrize("name", BOARDS)
def test_predicts_its_own_rows_within_the_fits_residual(name: str) -> None:
    hw = load_hardware(name)
    path = hardware_dir() / "measured" / f"{name}.csv"
    recorded = hw.measured["rows"]
    rows = read_measurements(path)
    assert [r["spec"] for r in recorded] == [r.spec for r in rows] and hw.measured["base"] == "cortex_m7"
    for row, rec in zip(rows, recorded, strict=True):
        ms = sum(predict_layers(graph_of(row, path), hw)) * 1e3
        assert ms / row.latency_ms - 1 == pytest.approx(rec["residual"], abs=1e-3), (name, row.spec)
        # the fits: within ±7.5% on every board (worst: PSoC 62's KWS +7.3%): the prior's family proportions hold
        # four rows apart from an exact fit, which is what keeps a left-out fourth network near its published time
        assert abs(rec["residual"]) <= 0.075, (name, row.spec)
    assert rows[0].extra["source"] in hw.sources["measured"] and hw.measured["fitted_on"] in hw.sources["measured"]


@pytest.mark.slow
def test_leave_one_out_latency_within_the_claimed_bounds(errors) -> None:
    for name, by_spec in errors.items():
        for spec, (latency, _) in by_spec.items():
            if (name, spec) in LATENCY_FAILS:
                assert abs(latency) > LATENCY, f"{name} {spec} now within ±30%: update the README and this test"
                continue
            assert abs(latency) <= LATENCY, (name, spec, latency)
    held = [abs(lat) <= LATENCY for by_spec in errors.values() for lat, _ in by_spec.values()]
    assert sum(held) == 38 and len(held) == 40  # as the README says


@pytest.mark.slow
def test_leave_one_out_energy_within_the_claimed_bounds(errors) -> None:
    published = 0
    for name, by_spec in errors.items():
        for spec, (_, energy) in by_spec.items():
            if energy is None:
                continue
            published += 1
            if (name, spec) in ENERGY_FAILS:
                assert abs(energy) > ENERGY, f"{name} {spec} now within ±40%: update the README and this test"
            else:
                assert abs(energy) <= ENERGY, (name, spec, energy)
    assert published == 20  # five boards published energy runs


@pytest.mark.slow
def test_the_readme_table_is_what_the_fits_give(errors) -> None:
    text = README.read_text(encoding="utf-8")
    for name, by_spec in errors.items():
        (line,) = [ln for ln in text.splitlines() if ln.startswith(f"| `{name}` |")]
        cells = line.split(" | ")[2:6]
        for spec, cell in zip(SPECS, cells, strict=True):
            shown = int(re.search(r"\(([+-]\d+)%\)", cell)[1])
            assert shown == round(by_spec[spec][0] * 100), (name, spec, cell)


def test_latency_takes_a_board_profile_by_name() -> None:
    result = CliRunner().invoke(app, ["latency", "mlperf_tiny_vww", "-H", "nucleo_u575zi_q_st", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    recorded = load_hardware("nucleo_u575zi_q_st").measured["rows"][0]  # the fitted VWW row (published 133.4 ms)
    assert recorded["spec"] == "mlperf_tiny_vww"
    assert doc["predicted_ms"] == pytest.approx(recorded["predicted_ms"], rel=1e-3)
    # energy = active power (the mean µJ ÷ ms of its four energy runs, 25.4 mW) × predicted latency; published 3,364 µJ
    assert doc["energy_uj"] == pytest.approx(25.398 * doc["predicted_ms"], rel=1e-3)
