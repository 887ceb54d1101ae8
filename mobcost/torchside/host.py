"""This host as every runtime times it: torch's thread count fixed, the allocator settled, and memory
bandwidth measured with a torch copy (every runtime builds its models from mobcost's torch build, so torch
is in the process whichever runtime runs them)."""

from __future__ import annotations

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


def bandwidth() -> float:
    """Bytes per second of a 64 MiB copy (read + write)."""
    src = torch.ones(16 << 20)
    dst = torch.empty_like(src)
    return 2 * src.numel() * 4 / median_seconds(lambda: dst.copy_(src), repeats=10)
