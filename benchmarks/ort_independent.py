"""Does `mobcost latency --runtime onnxruntime --measure` time what an independent ORT timing of the same file
gives? For each of the paper's 16 MobileNets: `mobcost export` writes the model mobcost times; a fresh Python
process with nothing of mobcost loaded times that file with plain onnxruntime (1 intra-op thread, default
session options, median of 200 runs after 20 warm-up); then mobcost measures the same point (no cache).
Prints each point's two figures and their ratio, and the median ratio. Run on a quiet machine.

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
print(statistics.median(times) * 1e3)
"""
MOBCOST = [sys.executable, "-m", "mobcost"]


def point(alpha: float, resolution: int, env: dict[str, str], folder: Path) -> tuple[float, float]:
    model = folder / f"mobilenet_v1_{alpha}_{resolution}.onnx"
    where = ["--alpha", str(alpha), "--resolution", str(resolution)]
    subprocess.run([*MOBCOST, "export", "mobilenet_v1", *where, "-o", str(model)], env=env, check=True,
                   capture_output=True)
    independent = float(subprocess.run([sys.executable, "-c", INDEPENDENT, str(model)], check=True,
                                       capture_output=True, text=True).stdout)
    doc = json.loads(subprocess.run([*MOBCOST, "latency", "mobilenet_v1", *where, "--runtime", "onnxruntime",
                                     "--hardware", "pixel1", "--measure", "--remeasure", "-f", "json"], env=env,
                                    check=True, capture_output=True, text=True).stdout)
    return doc["measured_ms"], independent


def main() -> None:
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        print("alpha  size  mobcost ms  independent ms  ratio")
        for alpha in (1.0, 0.75, 0.5, 0.25):
            for resolution in (224, 192, 160, 128):
                mine, theirs = point(alpha, resolution, env, Path(tmp))
                ratios.append(mine / theirs)
                print(f"{alpha:5}  {resolution:4d}  {mine:10.3f}  {theirs:14.3f}  {mine / theirs:5.2f}", flush=True)
    print(f"median ratio {statistics.median(ratios):.3f} (range {min(ratios):.2f}–{max(ratios):.2f})")


if __name__ == "__main__":
    main()
