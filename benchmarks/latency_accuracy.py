"""How well a fresh calibration predicts the 16 MobileNets, over repeated cycles, from the command line.

Each cycle runs, in fresh processes and a throw-away config/cache folder, exactly what a user would:
``mobcost calibrate --threads N --runtime R`` then ``mobcost latency --grid --measure --threads N --runtime R
--format json``, and prints Spearman's rank correlation, the median absolute error, the median signed error
(bias), the worst point and how far its predictions are from the cycle before's (two calibrations in a
row); with ``--bundled``, also each bundled spec's predicted / measured − 1 at α = 1; with
``--spec NAME`` (repeatable), the same grid statistics for that spec's 16 α × resolution models too (an attention
model: ``--spec deit_tiny --spec mobilevit_xs``), with the same calibration.
Timing depends on the machine and on what else runs on it: run this on a quiet machine.

    python benchmarks/latency_accuracy.py                 # 3 cycles, 1 thread, eager torch
    python benchmarks/latency_accuracy.py --cycles 5 --threads 2
    python benchmarks/latency_accuracy.py --runtime onnxruntime --bundled
    python benchmarks/latency_accuracy.py --cycles 1 --spec deit_tiny --spec mobilevit_xs
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MOBCOST = [sys.executable, "-m", "mobcost"]


def cycle(threads: int, runtime: str, bundled: bool, grids: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "XDG_CONFIG_HOME": str(Path(tmp) / "config"), "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        common = ["--threads", str(threads), "--runtime", runtime]
        start = time.perf_counter()
        subprocess.run([*MOBCOST, "calibrate", *common], env=env, check=True, stderr=subprocess.DEVNULL)
        calibrated = time.perf_counter()
        out = grid_stats(env, common)
        measured = time.perf_counter()
        specs = bundled_errors(env, common) if bundled else {}
        others = {name: grid_stats(env, common, name) for name in grids}
    return {**out, "calibrate_s": calibrated - start, "grid_s": measured - calibrated, "specs": specs,
            "grids": others}


def grid_stats(env: dict[str, str], common: list[str], spec: str | None = None) -> dict[str, Any]:
    """Spearman, median absolute error, bias and worst point of one spec's grid (default: MobileNet's)."""
    out = subprocess.run([*MOBCOST, "latency", *([spec] if spec else []), "--grid", "--measure", *common, "-f",
                          "json"], env=env, check=True, capture_output=True, text=True).stdout
    doc = json.loads(out)
    errors = [p["predicted_ms"] / p["measured_ms"] - 1 for p in doc["points"]]
    return {"spearman": doc["spearman"], "median_ape": doc["median_ape"], "bias": statistics.median(errors),
            "worst": max(errors, key=abs), "predicted": [p["predicted_ms"] for p in doc["points"]]}


def bundled_errors(env: dict[str, str], common: list[str]) -> dict[str, float]:
    """predicted / measured − 1 of every bundled spec at α = 1, its own resolution."""
    names = json.loads(subprocess.run([*MOBCOST, "specs", "-f", "json"], env=env, check=True, capture_output=True,
                                      text=True).stdout)
    errors = {}
    for name in (s["name"] for s in names["specs"]):
        doc = json.loads(subprocess.run([*MOBCOST, "latency", name, "--measure", *common, "-f", "json"], env=env,
                                        check=True, capture_output=True, text=True).stdout)
        errors[name] = doc["predicted_ms"] / doc["measured_ms"] - 1
    return errors


def apart(before: list[float], r: dict[str, Any]) -> str:
    """How far this cycle's calibration predicts the grid from the one before's: the largest and the median
    |ratio − 1| over the points (issue 24: two calibrations in a row within 5% at every point)."""
    if not before:
        return "—"
    ratios = [abs(b / a - 1) for a, b in zip(before, r["predicted"], strict=True)]
    return f"max {100 * max(ratios):.1f}%, median {100 * statistics.median(ratios):.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runtime", default="torch", choices=("torch", "onnxruntime", "litert"))
    parser.add_argument("--bundled", action="store_true", help="also every bundled spec at α = 1")
    parser.add_argument("--spec", action="append", default=[], help="also this spec's grid (repeatable)")
    args = parser.parse_args()
    print("cycle  spearman  median |err|  bias    worst   calibrate  grid    apart from the cycle before")
    before: list[float] = []
    for i in range(args.cycles):
        r = cycle(args.threads, args.runtime, args.bundled, args.spec)
        print(f"{i + 1:5d}  {r['spearman']:8.3f}  {100 * r['median_ape']:11.1f}%  {100 * r['bias']:+5.1f}%  "
              f"{100 * r['worst']:+5.1f}%  {r['calibrate_s']:8.1f} s  {r['grid_s']:4.1f} s  {apart(before, r)}",
              flush=True)
        before = r["predicted"]
        for name, error in r["specs"].items():
            print(f"       {name:28s} {100 * error:+6.1f}%", flush=True)
        for name, g in r["grids"].items():
            print(f"       {name} grid: spearman {g['spearman']:.3f}, median |err| {100 * g['median_ape']:.1f}%, bias "
                  f"{100 * g['bias']:+.1f}%, worst {100 * g['worst']:+.1f}%", flush=True)


if __name__ == "__main__":
    main()
