"""How every runtime's timings are taken: warm-up, then runs in rounds. One schedule for the networks
(``run_seconds``) and one for the microbenchmarks (``in_rounds``), whatever the runtime."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Microbenchmarks run as one long sequence, each layer once per round, ordered by input size (ties in
# random order) so each runs after other layers of its scale, as inside a network: weights, code paths
# and allocator state are as cold as there. Timed alone in a tight loop, the same layers ran 1.2–1.4×
# faster than in a network, and 20–35% of MobileNet's time went unpredicted.
CALIBRATION_ROUNDS = 120
CALIBRATION_STEPS = CALIBRATION_ROUNDS + 1  # progress units: the setup, then each round

# Deployment runtimes run each microbenchmark twice in a row per round and only the second run counts: its
# weights are then in cache, as inside a network whose weights fit the last-level cache (all of the 16
# MobileNets' fit this host's 32 MiB L3). Timed once per round among the 157 others, a small layer read its
# weights from DRAM and looked 3–4 µs slower than in a network; networks whose weights pass the cache are
# left to the roofline's memory term.
BURST = 2


def run_seconds(run: Callable[[], Any], *, warmup: int = 3, repeats: int = 31, budget_s: float = 1.0) -> list[float]:
    """Wall times of ``run`` after warm-up; fewer repeats when one run is slow (at least 7)."""
    for _ in range(warmup):
        run()
    times: list[float] = []
    while len(times) < repeats and (len(times) < 7 or sum(times) < budget_s):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def median_seconds(run: Callable[[], Any], **kwargs: Any) -> float:
    """Median wall time of ``run`` (see ``run_seconds``)."""
    return statistics.median(run_seconds(run, **kwargs))


def in_rounds(items: Sequence[T], rounds: int, rng: Any, after_round: Callable[[int], None], *,
              run: Callable[[T], R], size: Callable[[T], int], warmup: int = 1, burst: int = 1) -> list[list[R]]:
    """The schedule every runtime's microbenchmarks share: each item ``warmup`` times (first runs pay for setup:
    kernel choice, weight packing), then ``rounds`` rounds, each running every item ``burst`` times in a row,
    smallest ``size`` first (ties in random order, from ``rng``, a ``random.Random``); per item, what the last
    run of each burst returned."""
    for item in items:
        for _ in range(warmup):
            run(item)
    results: list[list[R]] = [[] for _ in items]
    for round_ in range(rounds):
        for i in sorted(range(len(items)), key=lambda i: (size(items[i]), rng.random())):
            for _ in range(burst):
                value = run(items[i])
            results[i].append(value)
        after_round(round_)
    return results


def quiet_mean(samples: list[float], low: float = 0.1, high: float = 0.6) -> float:
    """The mean of the samples from the ``low`` to the ``high`` quantile. Another tenant's use of a shared
    machine's last-level cache only ever adds time (a depthwise layer whose maps pass the L2 ran 390 to 700 µs
    from one 2-second stretch to the next here): the middle half's mean followed it, and two calibrations in a row
    predicted MobileNets up to 5.2% apart; this window, from the same samples, 0.3–1.8%. The fastest tenth is
    left out as the profiler's whole microseconds can read low."""
    ordered = sorted(samples)
    window = ordered[int(len(ordered) * low): int(len(ordered) * high)] or ordered
    return sum(window) / len(window)
