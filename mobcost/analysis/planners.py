"""Memory planners as pure arithmetic over buffer lifetimes: the lower bound (no planner can do better) and
TensorFlow Lite Micro's ``GreedyMemoryPlanner``, emulated step for step.

A buffer is a size in bytes and the first and last time step that uses it (both inclusive). Two buffers whose
lifetimes overlap may not share bytes; any others may.

TFLM's planner (tensorflow/tflite-micro, ``tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc``,
``CalculateOffsetsIfNeeded``), which :func:`greedy_offsets` follows exactly:

1. *Order*: buffers are copied into the sort array from its tail (buffer 0 lands last), then bubble-sorted
   largest first, swapping only a strictly smaller neighbour (``ReverseSortInPlace``). So the sort is stable on
   the reversed list: among buffers of equal size, the one added *later* is placed first.
2. *Placement*: the first buffer goes at offset 0. Each next one walks the buffers placed so far in offset
   order, skipping those whose lifetime does not overlap its own, and takes the first gap between the end of
   the overlapping buffers seen so far and the next overlapping buffer's offset that holds it; else it goes
   after the last overlapping buffer (first fit, never best fit).
3. The placed list is kept in offset order; a buffer placed at an offset equal to others' goes after them.
4. The arena (``GetMaximumMemorySize``) is the largest ``offset + size``.

The planner itself does not align: ``MicroAllocator``'s ``CreatePlan`` rounds every size up to
``MicroArenaBufferAlignment()`` (16 bytes) before adding it, as :func:`tflm_arena` does.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

# The --planner values (the memory command, sweep budgets and a profile's `planner:`): an ideal planner, and
# TensorFlow Lite Micro's greedy one emulated.
PLANNERS = ("lower-bound", "tflm")

# tensorflow/lite/micro/micro_arena_constants.h: MicroArenaBufferAlignment()
TFLM_ALIGNMENT = 16


@dataclass(frozen=True)
class Buffer:
    """``size`` bytes used from time step ``first`` to ``last`` (inclusive); ``name`` says what it holds."""

    size: int
    first: int
    last: int
    name: str = ""

    def overlaps(self, other: Buffer) -> bool:
        """TFLM's ``DoesEntryOverlapInTime``: lifetimes share at least one step."""
        return not (other.first > self.last or self.first > other.last)


def align_up(size: int, alignment: int = TFLM_ALIGNMENT) -> int:
    """``size`` rounded up to a multiple of ``alignment`` (TFLM's ``AlignSizeUp``)."""
    return -(-size // alignment) * alignment


def greedy_order(sizes: Sequence[int]) -> list[int]:
    """The order TFLM places buffers in: largest first; equal sizes, the later-added first (see the module
    docstring: a stable descending sort of the buffers in reverse order of addition)."""
    return sorted(range(len(sizes)), key=lambda i: (-sizes[i], -i))


def _first_fit(buffers: Sequence[Buffer], placed: list[tuple[int, int]], wanted: Buffer) -> int:
    """Where TFLM puts ``wanted`` among the ``placed`` (offset, index) pairs, walked in offset order."""
    candidate = 0
    for offset, j in placed:
        other = buffers[j]
        if not wanted.overlaps(other):
            continue
        if offset - candidate >= wanted.size:  # the gap before this buffer holds it
            break
        candidate = max(candidate, offset + other.size)
    return candidate


def greedy_offsets(buffers: Sequence[Buffer]) -> list[int]:
    """Each buffer's offset as TFLM's ``GreedyMemoryPlanner`` lays them out (sizes taken as given)."""
    offsets = [0] * len(buffers)
    placed: list[tuple[int, int]] = []  # (offset, buffer index), in offset order; equal offsets in placing order
    keys: list[int] = []  # the offsets of ``placed``, for bisect
    for i in greedy_order([b.size for b in buffers]):
        offset = _first_fit(buffers, placed, buffers[i])
        offsets[i] = offset
        at = bisect.bisect_right(keys, offset)  # after every buffer at an offset ≤ this one, as TFLM inserts
        placed.insert(at, (offset, i))
        keys.insert(at, offset)
    return offsets


def arena_size(buffers: Sequence[Buffer], offsets: Sequence[int]) -> int:
    """The bytes a layout needs: its largest ``offset + size`` (0 without buffers)."""
    return max((o + b.size for b, o in zip(buffers, offsets, strict=True)), default=0)


def aligned(buffers: Sequence[Buffer], alignment: int = TFLM_ALIGNMENT) -> list[Buffer]:
    """The buffers as ``MicroAllocator`` hands them to its planner: every size rounded up to ``alignment``."""
    return [Buffer(align_up(b.size, alignment), b.first, b.last, b.name) for b in buffers]


def tflm_arena(buffers: Sequence[Buffer]) -> tuple[list[int], int]:
    """(offsets, arena bytes) as TFLM plans ``buffers``: sizes aligned to 16 bytes, then the greedy planner."""
    sized = aligned(buffers)
    offsets = greedy_offsets(sized)
    return offsets, arena_size(sized, offsets)


def lower_bound(buffers: Sequence[Buffer]) -> int:
    """The most bytes alive at one time step: no planner that keeps live buffers apart can use less (at that
    step every live buffer overlaps every other, so they are disjoint in any valid layout)."""
    events: dict[int, int] = {}
    for b in buffers:
        events[b.first] = events.get(b.first, 0) + b.size
        events[b.last + 1] = events.get(b.last + 1, 0) - b.size
    alive = peak = 0
    for step in sorted(events):
        alive += events[step]
        peak = max(peak, alive)
    return peak
