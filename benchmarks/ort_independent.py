"""Does `mobcost latency --runtime onnxruntime --measure` time what an independent ORT timing of the same file
gives, alone and inside `--grid --measure`? `mobcost latency --grid --measure` times the paper's 16 MobileNets
first (no cache); then for each, `mobcost export` writes the model mobcost times, a fresh Python process with
nothing of mobcost loaded times that file with plain onnxruntime (1 intra-op thread, default session options,
200 runs after 20 warm-up: their median, and the mean from the 10th to the 60th percentile, the statistic
mobcost takes for ORT), and mobcost measures the point alone (no cache). Prints each point's figures and
ratios, and each ratio's median and range. Run on a quiet machine.

    python benchmarks/ort_independent.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

INDEPENDENT = r"""
import sys, time, statistics
import numpy as np, onnxruntime as ort
options = ort.SessionOptions()
options.intra_op_num_threads = 1
session = ort.InferenceSession(sys.argv[1], options, providers=["CPUExecutionProvider"])
x = session.get_inputs()[0]
feed = {x.name: np.random.default_rng(0).standard_normal(x.shape, dtype=np.float32)}
for _ in range(20):
    session.run(None, feed)
times = []
for _ in range(200):
    start = time.perf_counter()
    session.run(None, feed)
    times.append(time.perf_counter() - start)
window = sorted(times)[20:120]  # the 10th to the 60th percentile of 200: mobcost's quiet_mean for ORT
print(statistics.median(times) * 1e3, sum(window) / len(window) * 1e3)
"""
MOBCOST = [sys.executable, "-m", "mobcost"]


def independent(alpha: float, resolution: int, env: dict[str, str], folder: Path) -> tuple[float, float]:
    """(median, quiet mean) in ms of plain ORT timing the file ``mobcost export`` writes for the point."""
    model = folder / f"mobilenet_v1_{alpha}_{resolution}.onnx"
    where = ["--alpha", str(alpha), "--resolution", str(resolution)]
    subprocess.run([*MOBCOST, "export", "mobilenet_v1", *where, "-o", str(model)], env=env, check=True,
                   capture_output=True)
    median, quiet = subprocess.run([sys.executable, "-c", INDEPENDENT, str(model)], check=True,
                                   capture_output=True, text=True).stdout.split()
    return float(median), float(quiet)


def single(alpha: float, resolution: int, env: dict[str, str]) -> float:
    """mobcost's measured ms of one point, ``latency --measure`` alone."""
    where = ["--alpha", str(alpha), "--resolution", str(resolution)]
    doc = json.loads(subprocess.run([*MOBCOST, "latency", "mobilenet_v1", *where, "--runtime", "onnxruntime",
                                     "--hardware", "pixel1", "--measure", "--remeasure", "-f", "json"], env=env,
                                    check=True, capture_output=True, text=True).stdout)
    return float(doc["measured_ms"])


def grid(env: dict[str, str]) -> dict[tuple[float, int], float]:
    """mobcost's measured ms of the 16 points, ``latency --grid --measure`` (interleaved rounds)."""
    doc = json.loads(subprocess.run([*MOBCOST, "latency", "--grid", "--runtime", "onnxruntime", "--hardware",
                                     "pixel1", "--measure", "--remeasure", "-f", "json"], env=env, check=True,
                                    capture_output=True, text=True).stdout)
    return {(p["alpha"], p["resolution"]): float(p["measured_ms"]) for p in doc["points"]}


def main() -> None:
    ratios: dict[str, list[float]] = {"single / median": [], "grid / median": [], "grid / quiet mean": []}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        in_grid = grid(env)
        print("alpha  size  single ms  grid ms  plain median ms  plain quiet ms  single/med  grid/med  grid/quiet")
        for (alpha, resolution), grid_ms in in_grid.items():
            median, quiet = independent(alpha, resolution, env, Path(tmp))
            alone = single(alpha, resolution, env)
            for key, value in zip(ratios, (alone / median, grid_ms / median, grid_ms / quiet), strict=True):
                ratios[key].append(value)
            print(f"{alpha:5}  {resolution:4d}  {alone:9.3f}  {grid_ms:7.3f}  {median:15.3f}  {quiet:14.3f}  "
                  f"{alone / median:10.3f}  {grid_ms / median:8.3f}  {grid_ms / quiet:10.3f}", flush=True)
    for key, values in ratios.items():
        print(f"{key}: median {statistics.median(values):.3f} (range {min(values):.3f}–{max(values):.3f})")


if __name__ == "__main__":
    main()
