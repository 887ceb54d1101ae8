"""Sweep throughput (points per second) and peak memory, and how both scale with grid size.

Each grid size runs in a fresh interpreter (so peak RSS belongs to that run alone), writing the grid as
CSV to /dev/null the way `mobcost sweep --format csv` does (chunked, two passes). Memory should grow
far slower than the grid: one chunk plus two float arrays over the grid.

    python benchmarks/sweep.py            # 10^3 … 10^6 points
    python benchmarks/sweep.py --big      # … and 10^7
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = """
import json, os, resource, sys, time
from mobcost.spec import specs_dir
from mobcost.explore.stream import stream_csv
from mobcost.spec import load_spec
n_alpha, n_res = int(sys.argv[1]), int(sys.argv[2])
alphas = [0.05 + 0.95 * i / max(1, n_alpha - 1) for i in range(n_alpha)]
resolutions = [32 + i for i in range(n_res)]
spec = load_spec(specs_dir() / "mobilenet_v1.yaml")
with open(os.devnull, "w") as sink:
    start = time.perf_counter()
    points = stream_csv(spec, alphas, resolutions, sink.write)
    elapsed = time.perf_counter() - start
print(json.dumps({"points": points, "seconds": elapsed,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

GRIDS = [(10, 100), (100, 100), (100, 1000), (1000, 1000)]


def main() -> None:
    grids = GRIDS + ([(10_000, 1000)] if "--big" in sys.argv else [])
    print(f"{'points':>12} {'seconds':>8} {'points/s':>12} {'peak MiB':>9}")
    for n_alpha, n_res in grids:
        out = subprocess.run([sys.executable, "-c", CHILD, str(n_alpha), str(n_res)], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out)
        print(f"{r['points']:>12,} {r['seconds']:>8.2f} {r['points'] / r['seconds']:>12,.0f} {r['peak_mib']:>9.0f}")


if __name__ == "__main__":
    main()
