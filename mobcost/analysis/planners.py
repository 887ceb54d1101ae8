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

LiteRT's arena planner on a phone (tensorflow/tensorflow, ``tensorflow/lite/arena_planner.cc``,
``CreateTensorAllocationVector`` and ``simple_memory_arena.cc``, ``SimpleMemoryArena::Allocate``), which
:func:`litert_offsets` follows:

1. *Order*: buffers alive for the whole invocation (allocated at node 0, never freed: the graph inputs, which
   LiteRT preserves) first, by index; then largest first; equal sizes by the node that allocates them, earlier
   first. Ties beyond that: the later-added buffer first (a node's temporaries before its outputs), the order
   LiteRT's per-node ``unordered_set`` lists them in (newest first) and which its ``std::sort`` kept on every
   file tried (``benchmarks/litert_arena.py``); ``std::sort`` does not promise it.
2. *Placement*: best fit. The placed buffers are walked in offset order, skipping those whose lifetime does not
   overlap; every gap between the end of the overlapping buffers seen so far (its start rounded up to the
   alignment) and the next overlapping buffer's offset that holds the buffer is a candidate, and the
   *smallest* one wins (a gap of zero ends the walk); without one, the buffer goes after the last overlapping
   buffer, aligned.
3. Sizes are not rounded; offsets are, to ``kDefaultTensorAlignment`` (64 bytes). The arena is the largest
   ``offset + size`` (the high-water mark ``Commit`` allocates).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

# The --planner values of `memory` and `plot memory`: an ideal planner, TensorFlow Lite Micro's greedy one and
# LiteRT's arena planner emulated, and the what-ifs of the microcontroller literature (analysis.whatif).
PLANNERS = ("lower-bound", "tflm", "tflite", "inplace-dw", "patch")
# Those a runtime runs: what sweep's --planner and a hardware profile's `planner:` may name.
RUNTIME_PLANNERS = ("lower-bound", "tflm", "tflite")

# tensorflow/lite/micro/micro_arena_constants.h: MicroArenaBufferAlignment()
TFLM_ALIGNMENT = 16
# tensorflow/lite/core/c/common.h: kDefaultTensorAlignment
LITERT_ALIGNMENT = 64
# arena_planner.cc's kNodeNotAssigned: the last step of a buffer LiteRT never frees (graph inputs and outputs)
FOREVER = 2**31 - 1


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


def _best_fit(placed: list[tuple[int, int]], buffers: Sequence[Buffer], wanted: Buffer, alignment: int) -> int:
    """Where LiteRT's ``SimpleMemoryArena::Allocate`` puts ``wanted`` among the ``placed`` (offset, index)
    pairs, walked in offset order: the smallest gap that holds it, else after the overlapping buffers."""
    best, best_fit, current = None, None, 0
    for offset, j in placed:
        other = buffers[j]
        if not wanted.overlaps(other):
            continue
        start = align_up(current, alignment)
        # LiteRT measures the gap from the unaligned end (``alloc.offset - current_offset``)
        if start + wanted.size <= offset and (best_fit is None or offset - start < best_fit):
            best, best_fit = start, offset - current
        current = max(current, offset + other.size)
        if best_fit == 0:
            break
    return align_up(current, alignment) if best is None else best


def litert_order(buffers: Sequence[Buffer]) -> list[int]:
    """The order LiteRT places buffers in (``CreateTensorAllocationVector``): whole-invocation buffers first by
    index, then largest first, then by allocating step, then the later-added first (see the module docstring)."""
    def key(i: int) -> tuple[int, int, int, int]:
        b = buffers[i]
        whole = b.first == 0 and b.last == FOREVER
        return (0, 0, 0, i) if whole else (1, -b.size, b.first, -i)

    return sorted(range(len(buffers)), key=key)


def litert_offsets(buffers: Sequence[Buffer], alignment: int = LITERT_ALIGNMENT) -> list[int]:
    """Each buffer's offset as LiteRT's arena planner lays them out (sizes as given, offsets aligned)."""
    offsets = [0] * len(buffers)
    placed: list[tuple[int, int]] = []  # (offset, index) in offset order; equal offsets in placing order
    keys: list[int] = []
    for i in litert_order(buffers):
        if not buffers[i].size:  # a zero-size tensor gets offset 0 and no place in the arena
            continue
        offset = _best_fit(placed, buffers, buffers[i], alignment)
        offsets[i] = offset
        at = bisect.bisect_right(keys, offset)  # std::upper_bound on the offset
        placed.insert(at, (offset, i))
        keys.insert(at, offset)
    return offsets


def litert_arena(buffers: Sequence[Buffer]) -> tuple[list[int], int]:
    """(offsets, arena bytes) as LiteRT's arena planner lays ``buffers`` out: its high-water mark."""
    offsets = litert_offsets(buffers)
    return offsets, arena_size(buffers, offsets)
