"""The bundled board profiles (``specs/hardware/<board>_<stack>.yaml``), fitted from MLPerf Tiny v1.0's published
closed-division results, and their leave-one-out table (the README's "Predicted beside published").

    python benchmarks/mlperf_tiny_boards.py split CSV   # CSV (../shared/data/device_measurements_dev.csv): one
                                                        # file per board and stack, specs/hardware/measured/*.csv
    python benchmarks/mlperf_tiny_boards.py fit         # each file → its profile, by `calibrate --from-measurements`
    python benchmarks/mlperf_tiny_boards.py table       # leave one out, as a Markdown table

The fit is the command's (base ``cortex_m7``: one speed factor shared by every family absorbs a board's clock and
library, so a clock-scaled Cortex-M4 or M33 base would give the same fit). What the command takes from the base
and a board does not share is then set from the board's own figures (``BOARDS``): its memory sizes, and where the
board published no energy its active power (the same chip measured under another stack, else kept and flagged).
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from mobcost.explore.devicefit import fit
from mobcost.explore.hardware import hardware_dir, load_hardware, predict_layers
from mobcost.explore.measurements import graph_of, read_measurements

BASE = "cortex_m7"
MEASURED = hardware_dir() / "measured"
STACKS = {"microTVM + CMSIS-NN (OctoML)": "microtvm_cmsis_nn", "microTVM (native) (OctoML)": "microtvm",
          "Plumerai Inference Engine": "plumerai", "X-CUBE-AI v7.3.0": "st"}
KIB, MIB = 1024, 1024 * 1024
# Per board: (chip, SRAM bytes, flash bytes, source of both). The SRAM is the activations' budget and the energy
# model's on-chip size; the fit would otherwise keep the STM32F746's 320 KB and 1 MB.
BOARDS: dict[str, tuple[str, int, int, str]] = {
    "nRF5340-DK": ("nRF5340 application core", 512 * KIB, MIB,
                   "nRF5340 application core: 1 MB flash, 512 KB RAM (Nordic nRF5340 Product Specification)"),
    "NUCLEO-L4R5ZI": ("STM32L4R5ZI", 640 * KIB, 2 * MIB, "STM32L4R5ZI: 2 MB flash, 640 KB SRAM (ST DS12023)"),
    "B-U585I-IOT02A": ("STM32U585AI", 786 * KIB, 2 * MIB, "STM32U585AI: 2 MB flash, 786 KB SRAM (ST DS13086)"),
    "DISCO-F746NG": ("STM32F746NG", 320 * KIB, MIB, "STM32F746NG: 1 MB flash, 320 KB SRAM (ST DS10916)"),
    "CY8CPROTO-062-4343W": ("PSoC 62 CY8C624ABZI-S2D44", MIB, 2 * MIB,
                            "CY8C624ABZI-S2D44 (PSoC 62): 2 MB flash, 1 MB SRAM (Infineon PSoC 62 datasheet)"),
    "NUCLEO-H7A3ZI-Q": ("STM32H7A3ZI", 1376 * KIB, 2 * MIB,
                        "STM32H7A3ZI: 2 MB flash, 1.4 MB SRAM: 1,024 KB AXI + 128 KB AHB + 128 KB DTCM + 64 KB ITCM "
                        "+ 32 KB SRD (ST DS13195)"),
    "NUCLEO-U575ZI-Q": ("STM32U575ZI", 786 * KIB, 2 * MIB, "STM32U575ZI: 2 MB flash, 786 KB SRAM (ST DS13737)"),
}
# Boards that published no energy run: the power of the same silicon measured by MLPerf Tiny v1.0 under another
# stack (µJ ÷ ms of those rows), the nearest evidence there is; None keeps the base's and flags it.
POWER_FROM = {"nucleo_l4r5zi_plumerai": ("nucleo_l4r5zi_st", "the same board (NUCLEO-L4R5ZI) measured under "
                                         "X-CUBE-AI v7.3.0, the stack of the lowest power on it"),
              "b_u585i_iot02a_plumerai": ("nucleo_u575zi_q_st", "the STM32U575 (the U585 without its crypto "
                                          "accelerator, same core, clock and memories) under X-CUBE-AI v7.3.0"),
              "disco_f746ng_plumerai": None, "nrf5340_dk_microtvm_cmsis_nn": None,
              "cy8cproto_062_4343w_plumerai": None}


def profile_name(board: str, software: str) -> str:
    """``nucleo_l4r5zi_st``: the board's name in lower case, ``-`` as ``_``, then its stack."""
    return f"{board.lower().replace('-', '_')}_{STACKS[software]}"


def split(source: Path) -> list[Path]:
    """One CSV per board and stack under ``specs/hardware/measured``, the source file's rows kept verbatim."""
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        groups: dict[str, list[list[str]]] = defaultdict(list)
        for cells in reader:
            row = dict(zip(header, cells, strict=True))
            groups[profile_name(row["board"], row["software"])].append(cells)
    MEASURED.mkdir(exist_ok=True)
    written = []
    for name, rows in groups.items():
        if len(rows) < 3:  # three benchmarks or more: fewer cannot be checked by leaving one out
            continue
        path = MEASURED / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows([header, *rows])
        written.append(path)
    return written


def fit_all() -> None:
    """Each measured file → ``specs/hardware/<name>.yaml`` by the command, then the board's own figures."""
    from mobcost.cli.devices import calibrate_from_measurements

    for path in sorted(MEASURED.glob("*.csv")):
        out = hardware_dir() / f"{path.stem}.yaml"
        calibrate_from_measurements(path, out, BASE)
        header, doc = _read(out)
        _board_figures(doc, path.stem)
        header += ("# Then by benchmarks/mlperf_tiny_boards.py: the board's own memory sizes and, where it published "
                   "no energy, its active power (see sources).\n")
        out.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120),
                       encoding="utf-8")


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    return header, yaml.safe_load(text)


def _board_figures(doc: dict[str, Any], name: str) -> None:
    """Replace what the fit kept from the base and this board does not share: memories, and (no energy published)
    the active power."""
    board = doc["measured"]["rows"][0]["board"]
    chip, sram, flash, cited = BOARDS[board]
    for key in ("peak_mult_adds_per_s", "bandwidth_bytes_per_s"):  # the fit keeps them: say whose they are
        doc["sources"][key] = (f"the base profile's (cortex_m7), kept by the fit as the ceiling its fitted rates are "
                               f"fractions of, not this board's: {doc['sources'][key]}")
    cited += "; sizes as the vendor states them, not yet re-read against the PDF"
    doc["description"] = f"{chip}; {doc['description']}"
    doc["ram_bytes"], doc["storage_bytes"], doc["energy"]["onchip_bytes"] = sram, flash, sram
    doc["sources"].update({"ram_bytes": cited, "storage_bytes": cited,
                           "energy": f"onchip_bytes: the SRAM ({cited}); pJ per operation and per byte: the "
                                     "defaults, Horowitz ISSCC 2014 for int8"})
    if name not in POWER_FROM:
        return  # the board's own energy runs gave its power
    base = load_hardware("cortex_m7")
    if POWER_FROM[name] is None and board == "DISCO-F746NG":  # the base is this chip at this clock
        doc["active_power_mw"] = base.active_power_mw
        doc["sources"]["active_power_mw"] = f"no energy run published; the base's datasheet figure, the same " \
                                            f"chip at the same clock: {base.sources['active_power_mw']}"
        return
    if POWER_FROM[name] is None:  # another chip's power would be a guess dressed as a figure: none at all
        base_mw = base.active_power_mw
        doc["sources"]["active_power_mw"] = (
            f"none: no energy run was published for this board and no run current at its clock is bundled "
            f"(the fit's base, an STM32F746 at 216 MHz, would give {base_mw:g} mW, not this chip's); "
            "energy on this profile is the per-operation table's lower bound, labelled so wherever it shows")
        return
    other, why = POWER_FROM[name]
    rows = read_measurements(MEASURED / f"{other}.csv")
    powers = [r.energy_uj / r.latency_ms for r in rows if r.energy_uj]
    doc["active_power_mw"] = sum(powers) / len(powers)
    doc["sources"]["active_power_mw"] = (f"measured on other silicon or software: mean of energy_uj / latency_ms "
                                         f"over the {len(powers)} rows of measured/{other}.csv, {why}; this "
                                         "board published no energy")


def leave_one_out(path: Path) -> list[dict[str, Any]]:
    """Each row predicted by a fit to the others: latency, and energy as the others' mean power × that latency."""
    rows = read_measurements(path)
    graphs = [graph_of(r, path) for r in rows]
    base = load_hardware(BASE)
    out = []
    for i, row in enumerate(rows):
        keep = [j for j in range(len(rows)) if j != i]
        f = fit([rows[j] for j in keep], [graphs[j] for j in keep], base)
        ms = sum(predict_layers(graphs[i], f.hardware)) * 1e3
        powers = [rows[j].energy_uj / rows[j].latency_ms for j in keep if rows[j].energy_uj]
        uj = ms * sum(powers) / len(powers) if powers and row.energy_uj else None
        out.append({"spec": row.spec, "ms": row.latency_ms, "predicted_ms": ms, "uj": row.energy_uj,
                    "predicted_uj": uj, "row": row})
    return out


def _cell(published: float, predicted: float) -> str:
    return f"{published:,.4g} / {predicted:,.4g} ({predicted / published - 1:+.0%})"


def table() -> str:
    """The README's table: per profile, each benchmark's published and left-out latency, then energy."""
    lines = ["| profile (`-H`) | board (MHz), stack | VWW ms | IC ms | KWS ms | AD ms | energy µJ, VWW · IC · KWS · AD "
             "(left out) |", "|---|---|---:|---:|---:|---:|---|"]
    for path in sorted(MEASURED.glob("*.csv")):
        cells = {c["spec"]: c for c in leave_one_out(path)}
        first = next(iter(cells.values()))["row"].extra
        ms = [_cell(cells[s]["ms"], cells[s]["predicted_ms"]) if s in cells else "—" for s in _SPECS]
        uj = [f"{c['uj']:,.0f} / {c['predicted_uj']:,.0f} ({c['predicted_uj'] / c['uj'] - 1:+.0%})"
              for s in _SPECS if (c := cells.get(s)) and c["predicted_uj"]]
        lines.append(f"| `{path.stem}` | {first['board']} ({first['mhz']}), {first['software']} | "
                     f"{' | '.join(ms)} | {' · '.join(uj) or '— (not published)'} |")
    return "\n".join(lines)


_SPECS = ("mlperf_tiny_vww", "mlperf_tiny_ic", "mlperf_tiny_kws", "mlperf_tiny_ad")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "table"
    if command == "split":
        print("\n".join(str(p) for p in split(Path(sys.argv[2]))))
    elif command == "fit":
        fit_all()
    else:
        print(table())
