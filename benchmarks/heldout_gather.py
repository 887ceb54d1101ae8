"""Gather the held-out MLPerf Tiny rows (rounds v1.1, v1.2, v1.3) into tests/data/heldout/mlperf_tiny_heldout.csv.

    python benchmarks/heldout_gather.py V1_1_GIT V1_2_GIT V1_3_GIT > tests/data/heldout/mlperf_tiny_heldout.csv

Each argument is a git directory of the round's results repository (github.com/mlcommons/tiny_results_v1.1, …_v1.2,
…_v1.3, e.g. a bare clone); the rows are read from its HEAD commit, which every row's ``source`` cell names:

* v1.1 and v1.3: ``closed/<submitter>/results/<system>/<benchmark>/performance/results.txt`` (latency = 1000 /
  "Median throughput is X inf./sec.") and, where present, ``…/energy/results.txt`` ("Median energy cost is X
  uJ/inf."); board, clock and stack from ``closed/<submitter>/systems/<system>.json``.
* v1.2: the round's own ``summary.csv`` (Result in inf./sec.; Power in uJ/inf. where HasPower is True).

Only microcontroller CPUs (Arm Cortex-M, Renesas RH850) running int8: accelerators (NPUs, FPGAs, Syntiant's NDP)
and Linux application processors are not what a CPU latency model describes, float runs are another dtype, and
v1.1's re-runs of a v1.0 board with the same stack version (Krai's microTVM and X-CUBE-AI 7.3 runs, cTuning's
microTVM) repeat what the bundled profiles were fitted on, so they are left out. The streaming wake word benchmark
(v1.3 ``sww``) has no bundled spec and is left out.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

SPECS = {"vww": "mlperf_tiny_vww", "ic": "mlperf_tiny_ic", "kws": "mlperf_tiny_kws", "ad": "mlperf_tiny_ad"}
COLUMNS = ("spec", "alpha", "resolution", "classes", "latency_ms", "energy_uj", "board", "processor", "mhz",
           "software", "round", "group", "source")
# v1.1 systems whose board and stack version the v1.0 rows (the bundled profiles' fit) already cover
REPEATS_V1_0 = {"Krai/NRF5340-DK_MICROTVM-CMSIS-NN", "Krai/NUCLEO-L4R5ZI_MICROTVM-CMSIS-NN",
                "Krai/NUCLEO-L4R5ZI_MICROTVM-NATIVE", "Krai/NUCLEO-H7A3ZI-Q_X-CUBE-AI-7.3",
                "Krai/NUCLEO-L4R5ZI_X-CUBE-AI-7.3", "cTuning/NUCLEO-L4R5ZI_MicroTVM_CMSIS_NN",
                "cTuning/NUCLEO-L4R5ZI_MicroTVM_Native"}
NOT_MCU = ("fpgaconvnet", "kai_jiang", "syntiant", "Qualcomm")
THROUGHPUT = re.compile(r"Median throughput is\s+([0-9.]+) inf\./sec\.")
ENERGY = re.compile(r"Median energy cost is\s+([0-9.]+) uJ/inf\.")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(repo), *args], capture_output=True, text=True,
                          check=True).stdout


def first_filled(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose repeated keys keep their first non-empty value (Renesas' v1.2 system description gives
    "Inference Framework" twice, the second time empty)."""
    out: dict[str, object] = {}
    for key, value in pairs:
        if not out.get(key):
            out[key] = value
    return out


def mhz(text: str) -> str:
    found = re.search(r"([0-9.]+)\s*MHz", text)
    return found.group(1) if found else ""


def software(info: dict[str, object], system: str) -> str:
    """The stack a system description names; Krai's leave the field empty and name it in the system's name
    (``NUCLEO-H7A3ZI-Q_X-CUBE-AI-8.0``)."""
    named = info.get("Inference Framework") or info.get("Software Libraries")
    if isinstance(named, str) and named:
        return named
    return system.split("_", 1)[1] if "_" in system else system


def results_rows(repo: Path, round_name: str) -> list[dict[str, str]]:
    """v1.1 / v1.3 layout: one results.txt per system, benchmark and mode."""
    commit = git(repo, "rev-parse", "HEAD").strip()
    files = git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
    rows = []
    for path in files:
        parts = path.split("/")
        if len(parts) != 7 or parts[0] != "closed" or parts[2] != "results" or parts[5] != "performance" \
                or parts[6] != "results.txt":
            continue
        submitter, system, bench = parts[1], parts[3], parts[4]
        if bench not in SPECS or submitter in NOT_MCU or f"{submitter}/{system}" in REPEATS_V1_0:
            continue
        found = THROUGHPUT.search(git(repo, "show", f"HEAD:{path}"))
        if not found:
            continue
        energy_path = path.replace("/performance/", "/energy/")
        energy = ENERGY.search(git(repo, "show", f"HEAD:{energy_path}")) if energy_path in files else None
        system_file = next(f for f in files if f.startswith(f"closed/{submitter}/systems/")
                           and Path(f).stem == system and f.endswith(".json"))
        info = json.loads(git(repo, "show", f"HEAD:{system_file}"), object_pairs_hook=first_filled)
        cited = [path, system_file] + ([energy_path] if energy else [])
        rows.append({"spec": SPECS[bench], "alpha": "1", "resolution": "", "classes": "",
                     "latency_ms": f"{1000 / float(found.group(1)):.4f}",
                     "energy_uj": energy.group(1) if energy else "",
                     "board": info.get("Board Name", ""), "processor": info.get("Processor(s) Name", ""),
                     "mhz": mhz(info.get("Processor(s) Frequencies", "")),
                     "software": software(info, system),
                     "round": round_name, "group": f"{round_name}:{submitter}/{system}",
                     "source": f"mlcommons/tiny_results_{round_name}@{commit[:12]}: " + "; ".join(cited)})
    return rows


def summary_rows(repo: Path, round_name: str) -> list[dict[str, str]]:
    """v1.2 layout: the round's summary.csv."""
    commit = git(repo, "rev-parse", "HEAD").strip()
    rows = []
    for r in csv.DictReader(io.StringIO(git(repo, "show", "HEAD:summary.csv"))):
        if r["Division"] != "closed" or r["Organization"] in NOT_MCU or r["Model"] not in SPECS:
            continue
        if "float" in r["SystemDesc"] or "linux" in r["SystemDesc"].lower():
            continue
        stack, cited = r["InferenceFramework"] or r["SoftwareLibraries"], "summary.csv"
        if not stack:  # Renesas left it empty in the summary: its system description names it
            system_file = f"closed/{r['Organization']}/systems/{r['SystemDesc']}.json"
            info = json.loads(git(repo, "show", f"HEAD:{system_file}"), object_pairs_hook=first_filled)
            stack = " + ".join(str(info[k]) for k in ("Inference Framework", "Software Libraries") if info.get(k))
            cited += f", {system_file}"
        rows.append({"spec": SPECS[r["Model"]], "alpha": "1", "resolution": "", "classes": "",
                     "latency_ms": f"{1000 / float(r['Result']):.4f}",
                     "energy_uj": r["Power"] if r["HasPower"] == "True" else "",
                     "board": r["BoardName"], "processor": r["HostProcessorModelName"].strip(),
                     "mhz": mhz(r["HostProcessorFrequency"]),
                     "software": stack,
                     "round": round_name, "group": f"{round_name}:{r['Organization']}/{r['SystemDesc']}",
                     "source": f"mlcommons/tiny_results_{round_name}@{commit[:12]}: {cited} "
                               f"(SystemDesc {r['SystemDesc']}, Model {r['Model']})"})
    return rows


def main(v1_1: Path, v1_2: Path, v1_3: Path) -> None:
    rows = results_rows(v1_1, "v1.1") + summary_rows(v1_2, "v1.2") + results_rows(v1_3, "v1.3")
    writer = csv.DictWriter(sys.stdout, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:4]))
