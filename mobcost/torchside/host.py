"""This host as every runtime times it: torch's thread count fixed, the allocator settled, and memory
bandwidth measured with a torch copy (every runtime builds its models from mobcost's torch build, so torch
is in the process whichever runtime runs them)."""

from __future__ import annotations

import statistics
from collections.abc import Callable

import torch

from ..measure.schedule import median_seconds


def prepare_timing(threads: int) -> None:
    """Fix torch's thread count and settle the allocator (see ``settle_allocator``)."""
    torch.set_num_threads(threads)
    settle_allocator()


def settle_allocator() -> None:
    """Free one large block, so glibc's malloc stops handing memory back to the OS after every pass.

    glibc raises its mmap and trim thresholds the first time it frees an mmapped block of up to 32 MiB.
    Until then, a network whose activations top ~1 MiB returns memory after each forward pass and
    page-faults it back in on the next: 0 to 2,900 faults per pass across the 16 MobileNets here, +0–30%
    time, erratic from one size to the next. Timing with the allocator settled measures the network, not
    that heuristic; other allocators are unaffected.
    """
    torch.empty(31 << 20, dtype=torch.uint8).fill_(0)


class CopyBandwidth:
    """Bytes per second of a copy of ``elements`` fp32 (read + write; 64 MiB by default: DRAM), sampled through a
    calibration: on a shared machine one sample moves by ±12% from one process to the next (18.7 to 23.5 GB/s
    over five here) and the layers the roofline finds memory-bound with it; the median of samples spread over
    the calibration's minute does not follow one moment."""

    def __init__(self, elements: int = 16 << 20) -> None:
        self.src = torch.ones(elements)
        self.dst = torch.empty_like(self.src)
        self.samples: list[float] = []

    def sample(self) -> None:
        seconds = median_seconds(lambda: self.dst.copy_(self.src), repeats=10)
        self.samples.append(2 * self.src.numel() * 4 / seconds)

    def value(self) -> float:
        """The median sample (one is taken now if there is none yet)."""
        if not self.samples:
            self.sample()
        return statistics.median(self.samples)


SAMPLE_EVERY = 10  # rounds between bandwidth samples in a calibration: 12 over its 120 rounds


def sampling_rounds(*bandwidths: CopyBandwidth, step: Callable[[int], None]) -> Callable[[int], None]:
    """An ``after_round`` that advances the progress bar and samples each bandwidth every ``SAMPLE_EVERY``
    rounds."""
    def after_round(round_: int) -> None:
        if round_ % SAMPLE_EVERY == 0:
            for bandwidth in bandwidths:
                bandwidth.sample()
        step(1)

    return after_round
