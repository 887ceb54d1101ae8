"""What-if planners from the microcontroller literature, as lower bounds under a changed execution rule.

* ``inplace-dw`` — in-place depthwise convolution (MCUNet, Lin et al. NeurIPS 2020, §3.2 "In-place depth-wise
  convolution"; TinyEngine): a depthwise layer whose input is read by no later layer writes its output over
  that input, channel by channel, through a one-channel buffer. While it runs, the input and output take
  ``max(in, out)`` bytes plus ``H_out·W_out`` elements instead of ``in + out``.
* ``patch`` — patch-based inference of the first stage (MCUNetV2, Lin et al. NeurIPS 2021, §3.1 and Figure 3),
  with in-place depthwise everywhere (TinyEngine runs it so): layers ``0 … split`` run once per patch of an
  n×n grid over the split layer's output, each on the region of its input that patch needs (its receptive
  field, clipped to the map); only that region of every stage tensor is held, beside the stage's whole output
  buffer, which every patch writes into. As in the paper's Figure 3 the image is read a patch region at a time
  (decoded in parts). The rest of the network runs layer by layer. Patches overlap, so the stage recomputes:
  ``recompute_mult_adds`` is the Mult-Adds of all patches minus those of one whole pass.

Both keep the liveness rule of :mod:`mobcost.graph.liveness` (a skip connection is held while its block runs).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import OptionError
from ..graph import Graph
from ..graph.build import input_names
from ..graph.liveness import liveness
from ..layers import REGISTRY
from ..units import DTYPE_BYTES

# Layers whose output pixel depends on a window of input pixels (or the same pixel): what a patch can run.
WINDOWED = {"conv", "pw", "dw", "maxpool", "avgpool"}
POINTWISE = {"add", "mul", "concat", "act", "bn", "dropout", "split", "shuffle", "layerscale"}


@dataclass(frozen=True)
class Recompute:
    """What patch-based inference costs: its grid, its stage, and the Mult-Adds its overlapping patches add."""

    patches: int  # n: an n×n grid
    split: int  # the stage's last layer (index into graph.nodes)
    extra_mult_adds: int
    stage_mult_adds: int
    network_mult_adds: int

    @property
    def percent(self) -> float:
        """The extra Mult-Adds as a percentage of the whole network's."""
        return 100 * self.extra_mult_adds / self.network_mult_adds if self.network_mult_adds else 0.0


def _reads(graph: Graph) -> list[list[int]]:
    index = {n.name: i + 1 for i, n in enumerate(graph.nodes)}
    return [[index.get(name, 0) for name in input_names(graph.spec, i)] for i in range(len(graph.nodes))]


def _sizes(graph: Graph, dtype: str) -> list[int]:
    b = DTYPE_BYTES[dtype]
    return [graph.input.numel * b, *(n.output.numel * b for n in graph.nodes)]


def _last_reader(reads: list[list[int]], tensors: int) -> list[int]:
    last = [-1] * tensors
    for i, ts in enumerate(reads):
        for t in ts:
            last[t] = max(last[t], i)
    return last


def inplace_totals(graph: Graph, dtype: str, sizes: list[int] | None = None) -> list[int]:
    """Bytes alive while each layer runs under the liveness rule, a depthwise layer written over its input
    when no later layer reads that input (``sizes``: each tensor's bytes; default the whole maps)."""
    sizes = sizes or _sizes(graph, dtype)
    reads, live = liveness(graph)
    last = _last_reader(reads, len(sizes))
    keep = {len(graph.nodes)} | {i + 1 for i, n in enumerate(graph.nodes) if n.name in graph.spec.outputs}
    totals = []
    for i, alive in enumerate(live):
        total = sum(sizes[t] for t in alive)
        node = graph.nodes[i]
        t = reads[i][0]
        if node.type == "dw" and last[t] == i and t not in keep:
            out = sizes[i + 1]
            channel = out // max(node.output.c, 1)  # one output channel, the in-place kernel's buffer
            total += channel - min(sizes[t], out)
        totals.append(total)
    return totals


def _span(lo: int, hi: int, kernel: int, stride: int, pad: int, dilation: int, size: int) -> tuple[int, int]:
    """The input rows (or columns) [lo', hi') that output rows [lo, hi) of a window layer read, clipped."""
    reach = (kernel - 1) * dilation + 1
    return max(0, lo * stride - pad), min(size, (hi - 1) * stride - pad + reach)


Region = tuple[int, int, int, int]  # rows [r0, r1), columns [c0, c1)


def _input_region(node, region: Region) -> Region:  # type: ignore[no-untyped-def]
    r0, r1, c0, c1 = region
    if node.type in POINTWISE or node.kernel_hw is None:
        return region
    (kh, kw), (sh, sw), (pt, _, pl, _) = node.kernel_hw, node.stride_hw, node.padding_hw or (0, 0, 0, 0)
    d = node.layer.dilation
    return (*_span(r0, r1, kh, sh, pt, d, node.input.h), *_span(c0, c1, kw, sw, pl, d, node.input.w))


def _check_stage(graph: Graph, split: int, reads: list[list[int]]) -> None:
    name = graph.nodes[split].name
    for node in graph.nodes[: split + 1]:
        if node.type not in WINDOWED | POINTWISE or node.output.tokens or node.output.folded != 1:
            raise OptionError(f"layer {node.name!r} ({node.type}) cannot run patch by patch: a patch stage "
                              "holds convolutions, pools and element-wise joins only", where="--split")
        if node.type in WINDOWED and (node.output.h, node.output.w) == (1, 1) and node.input.h > 1:
            raise OptionError(f"layer {node.name!r} is a global pool: it cannot run patch by patch",
                              where="--split")
    for i in range(split + 1, len(graph.nodes)):
        crossing = [t for t in reads[i] if t <= split]
        if crossing:
            where = "the network input" if crossing[0] == 0 else repr(graph.nodes[crossing[0] - 1].name)
            raise OptionError(f"{graph.nodes[i].name!r} reads {where} across the split after {name!r}: the "
                              "stage must end in one tensor", where="--split")


def patch_regions(graph: Graph, split: int, patches: int) -> list[list[Region]]:
    """For each patch of the n×n grid over layer ``split``'s output, the region of every tensor (0: input,
    k: layer k-1's output) it computes, by walking the receptive field back; tensors it does not need: empty."""
    reads = _reads(graph)
    out = graph.nodes[split].output
    grid = []
    for a in range(patches):
        for b in range(patches):
            need: dict[int, Region] = {split + 1: (a * out.h // patches, (a + 1) * out.h // patches,
                                                   b * out.w // patches, (b + 1) * out.w // patches)}
            for i in range(split, -1, -1):
                if i + 1 not in need:
                    continue
                for t in reads[i]:
                    r = _input_region(graph.nodes[i], need[i + 1])
                    old = need.get(t)
                    need[t] = r if old is None else (min(old[0], r[0]), max(old[1], r[1]),
                                                     min(old[2], r[2]), max(old[3], r[3]))
            grid.append([need.get(t, (0, 0, 0, 0)) for t in range(split + 2)])
    return grid


def _area(r: Region) -> int:
    return max(0, r[1] - r[0]) * max(0, r[3] - r[2])


def recompute(graph: Graph, split: int, patches: int, regions: list[list[Region]]) -> Recompute:
    """The Mult-Adds all patches spend on the stage, minus one layer-by-layer pass's."""
    per_pixel = []
    stage = 0
    for node in graph.nodes[: split + 1]:
        macs = REGISTRY[node.type].mult_adds(node)
        stage += macs
        per_pixel.append(macs // max(node.output.h * node.output.w, 1))
    spent = sum(per_pixel[i] * _area(r[i + 1]) for r in regions for i in range(split + 1))
    network = sum(REGISTRY[n.type].mult_adds(n) for n in graph.nodes)
    return Recompute(patches, split, spent - stage, stage, network)


def _cut(reads: list[list[int]], i: int) -> bool:
    """Whether only layer ``i``'s output crosses a cut after layer ``i``."""
    return not any(t <= i for later in reads[i + 1:] for t in later if t != i + 1)


def _one_by_one(node) -> bool:  # type: ignore[no-untyped-def]
    return node.type in POINTWISE or (node.kernel_hw == (1, 1) and node.stride_hw == (1, 1))


def default_split(graph: Graph) -> int:
    """MCUNetV2's cut for MobileNets (its Figure 1: MobileNetV2's stage ends at 224 → 28): the first layer that
    brings the map to 1/8 of the input's side, then the 1×1 layers right after it while the cut after them is
    crossed by their output alone (they add no overlap: MobileNetV2's projection after the stride-2 depthwise)."""
    reads = _reads(graph)
    first = next((i for i, n in enumerate(graph.nodes) if n.output.h <= graph.input.h // 8), None)
    if first is None:
        raise OptionError("the network never reaches 1/8 of its input's side: give --split", where="--split")
    i = first
    while i + 1 < len(graph.nodes) and _one_by_one(graph.nodes[i + 1]) and _cut(reads, i + 1):
        i += 1
    while i < len(graph.nodes) - 1 and not _cut(reads, i):
        i += 1
    try:
        _check_stage(graph, i, reads)
    except OptionError as exc:
        raise OptionError(f"no default split (where the map reaches 1/8 of the input's side): {exc.message}; give "
                          "--split a layer before it", where="--split") from None
    return i


def patch_totals(graph: Graph, dtype: str, split: int, patches: int) -> tuple[list[int], Recompute]:
    """Bytes in use while each layer runs under patch-based inference of layers ``0 … split`` (for a stage
    layer: its largest patch, with the stage's whole output buffer), and the recompute it costs."""
    reads = _reads(graph)
    _check_stage(graph, split, reads)
    b = DTYPE_BYTES[dtype]
    regions = patch_regions(graph, split, patches)
    full = inplace_totals(graph, dtype)
    channels = [graph.input.c, *(n.output.c for n in graph.nodes)]
    whole_out = graph.nodes[split].output.numel * b
    stage = [0] * (split + 1)
    for r in regions:
        sizes = [_area(r[t]) * channels[t] * b for t in range(split + 2)]
        sizes += [0] * (len(graph.nodes) - split - 1)
        # the split layer writes its patch into the whole output buffer: count that buffer, not the patch
        sizes[split + 1] = 0
        totals = inplace_totals(graph, dtype, sizes)
        for i in range(split + 1):
            stage[i] = max(stage[i], totals[i] + whole_out)
    return stage + full[split + 1:], recompute(graph, split, patches, regions)
