"""What ONNX Runtime's profiler adds to each node's kernel time, and what a trivial node costs without it, on
this machine: the two figures `mobcost calibrate --runtime onnxruntime` and `--measure` subtract from profiled
layer times (`chain_costs`, the median over five fresh sessions). Prints the median and spread of R single-session
measurements (`chain_cost`): the spread is why calibration takes a median. Not a test: the suite checks the
figures are finite and not negative (tests/test_ort.py); their size is a measurement. On the development VM the
profiler adds ~2 µs a node and a trivial node costs well under 10 µs (the bounds the test used to assert).

    python benchmarks/ort_profiler.py [RUNS]
"""

from __future__ import annotations

import statistics
import sys

from mobcost.runtimes.ort.session import chain_cost


def main(runs: int = 15) -> None:
    samples = [chain_cost() for _ in range(runs)]
    for label, values in (("profiler's share of a node", [s[0] for s in samples]),
                          ("a trivial node without it", [s[1] for s in samples])):
        values = sorted(v * 1e6 for v in values)
        print(f"{label}: median {statistics.median(values):.2f} µs, min {values[0]:.2f} µs, "
              f"max {values[-1]:.2f} µs ({runs} runs)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
