"""Cold-start wall time and peak memory of `mobcost table --alpha 0.75 --rho 0.714`.

Each run is a fresh interpreter (as a user's shell would start it). Prints the median and spread of
wall time over N runs, and the peak resident memory, plus a baseline of `python -c pass` so the figure
can be read as a ratio on any machine. Not a test: timings belong here, not in the suite.

    python benchmarks/cold_start.py [N]
"""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
import time

COMMAND = ["table", "--alpha", "0.75", "--rho", "0.714"]


def timed(argv: list[str]) -> tuple[float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak_kib, before)


def main(runs: int = 20) -> None:
    exe = shutil.which("mobcost")
    argv = [exe, *COMMAND] if exe else [sys.executable, "-m", "mobcost", *COMMAND]
    timed(argv)  # warm the OS file cache, as any second run of a command would be
    baseline = statistics.median(timed([sys.executable, "-c", "pass"])[0] for _ in range(runs))
    samples = [timed(argv) for _ in range(runs)]
    walls = sorted(s[0] for s in samples)
    peak_mib = max(s[1] for s in samples) / 1024
    print(f"mobcost {' '.join(COMMAND)}  ({runs} cold starts)")
    print(f"  wall time: median {statistics.median(walls) * 1000:.0f} ms, min {walls[0] * 1000:.0f} ms, "
          f"max {walls[-1] * 1000:.0f} ms")
    print(f"  bare interpreter: median {baseline * 1000:.0f} ms "
          f"(mobcost = {statistics.median(walls) / baseline:.1f}× a bare start)")
    print(f"  peak memory (max RSS of any child so far): {peak_mib:.1f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
