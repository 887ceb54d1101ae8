"""Plain data shared by every stage: tensor shapes, decoded layers and shaped graph nodes."""

from __future__ import annotations

from dataclasses import dataclass, field

INPUT = "input"  # the network input's name in `from`: reserved, no layer may take it
# `scale: up`: a width kept for α ≤ 1 and scaled by α above (MobileNetV2's last 1×1 conv, timm's MobileNetV4 stem)
SCALE_UP = "up"


@dataclass(frozen=True)
class Shape:
    """A feature map of ``c`` channels and ``h``×``w`` pixels (batch 1).

    ``folded``: the H·W a ``flatten`` folded into ``c`` (1 for every map that was not flattened). It is
    bookkeeping for the vectorised sweep, which splits every tensor into a width part and a resolution part:
    a flattened 7×7×512 map is 25,088×1×1, of which 512 follow α and 49 the resolution. Shapes compare
    without it.

    ``tokens``: a sequence of ``h`` tokens of ``c`` channels (a vision transformer's N×C), laid out as a
    ``c``×N×1 map so that every count written for maps (elements, area = N, the sweep's width and resolution
    parts) holds unchanged; only the layer types that say so take one (``LayerKind.takes``). A sequence and a
    map of the same numbers are different shapes.

    ``patch``: (p_h, p_w) for the sequences an ``unfold`` makes of a C×H×W map (MobileViT): P = p_h·p_w
    sequences, one per position inside a patch, of N = ⌈H/p_h⌉·⌈W/p_w⌉ tokens each, attended to separately
    (a batch of P). ``h`` and ``w`` stay the map's, so ``fold`` restores it; a map whose sides the patch does not
    divide is resized up to ⌈H/p_h⌉·p_h × ⌈W/p_w⌉·p_w first (as timm does), so elements are C·N·P.

    ``window``: (w_h, w_w) for the sequences a ``window`` partition makes of a C×H×W map (Swin, TinyViT,
    EfficientViT-M): P = (H/w_h)·(W/w_w) windows, each a sequence of N = w_h·w_w tokens attended to separately.
    ``h`` and ``w`` stay the map's (the windows divide it), so elements are C·H·W and ``unwindow`` restores it.
    """

    c: int
    h: int
    w: int
    folded: int = field(default=1, compare=False)
    tokens: bool = False
    patch: tuple[int, int] | None = None
    window: tuple[int, int] | None = None

    @property
    def numel(self) -> int:
        if self.patch:
            return self.c * self.length * self.sequences
        return self.c * self.h * self.w

    @property
    def area(self) -> int:
        """The resolution-dependent factor of ``numel``: H·W, times the H·W a flatten folded into ``c``; N·P for
        the P sequences of an ``unfold``."""
        if self.patch:
            return self.length * self.sequences
        return self.h * self.w * self.folded

    @property
    def length(self) -> int:
        """N, the tokens of each sequence: ``h`` for a sequence (its ``w`` is 1), ⌈H/p_h⌉·⌈W/p_w⌉ for unfolded
        patches, w_h·w_w for windows."""
        if self.window:
            return self.window[0] * self.window[1]
        if self.patch:
            return -(-self.h // self.patch[0]) * -(-self.w // self.patch[1])
        return self.h * self.w

    @property
    def sequences(self) -> int:
        """P, the sequences attended to separately: 1, p_h·p_w for unfolded patches, (H/w_h)·(W/w_w) windows."""
        if self.window:
            return (self.h // self.window[0]) * (self.w // self.window[1])
        return self.patch[0] * self.patch[1] if self.patch else 1

    @property
    def depth(self) -> int:
        """The width-dependent factor of ``numel`` (``numel == depth · area``): ``c`` without what was folded."""
        return self.c // self.folded

    def as_list(self) -> list[int]:
        return [self.c, self.h, self.w]

    def __str__(self) -> str:
        # The paper writes sizes as H × W × C (Table 1's "Input Size"); a token sequence as N × C, and the P
        # sequences of an unfold as P × N × C.
        if self.patch or self.window:
            return f"{self.sequences}×{self.length}×{self.c} tokens"
        return f"{self.h}×{self.c} tokens" if self.tokens else f"{self.h}×{self.w}×{self.c}"


@dataclass(frozen=True)
class Layer:
    """One decoded layer of a spec, before the width and resolution multipliers are applied.

    ``where`` is the spec path it came from (``layers[4].layers[0]``) and ``line`` its line in the
    file, so errors found later (shapes, groups) still point at the text the user wrote.
    """

    type: str
    name: str
    where: str
    line: int | None = None
    out: int | None = None
    # A square window is an int; a non-square one (``kernel: [1, 7]``) the pair (height, width).
    kernel: int | tuple[int, int] | None = None
    stride: int | tuple[int, int] | None = None
    # pixels on every side; (top, bottom, left, right) where they differ; or "same" (TensorFlow's, convolutions)
    padding: int | str | tuple[int, int, int, int] | None = None
    groups: int = 1
    bias: bool = False
    bn: bool = False
    act: str = "none"
    scale: bool | str = True  # True, False, or SCALE_UP: kept for α ≤ 1, scaled by α above 1
    ceil_mode: bool = False
    inputs: tuple[str | int, ...] = ()  # names, or negative offsets (-1: the previous layer)
    expand: int | None = None  # out = expand × the actual input channels (instead of ``out``)
    group_width: int | None = None  # channels per group (instead of ``groups``): groups = in / group_width
    reduction: int = 4  # se: squeeze to max(1, C // reduction) …
    divisor: int = 1  # … then to a multiple of ``divisor`` (torchvision's _make_divisible) when > 1
    gate: str = "sigmoid"  # se: the gate's activation
    parts: int | None = None  # split: this many equal channel parts …
    sizes: tuple[int, ...] | None = None  # … or parts in these proportions (FasterNet's 1:3, SHViT's 48:176) …
    index: int | None = None  # … of which this one (0-based)
    dilation: int = 1  # conv, dw: kernel taps this many pixels apart
    output_padding: int = 0  # deconv: extra rows and columns on one side of the output
    factor: int | None = None  # upsample: the output is factor × the input's H and W …
    mode: str = "nearest"  # … by nearest or bilinear interpolation
    output: int | None = None  # avgpool: adaptive, to output×output (instead of a kernel)
    # roi_crop: each proposal is resized to size×size; resize: the output H×W (an int, or (height, width)), fixed
    # under ρ, or — with ``size_of`` — the H×W of that earlier layer (or ``input``), filled in by the graph builder
    size: int | tuple[int, int] | None = None
    size_of: str | None = None
    align_corners: bool = False  # resize, bilinear: torch's / ONNX's align_corners sampling grid
    patch: int | None = None  # patch_embed: patch×patch pixels per token
    # window / unwindow: window×window tokens per sequence, the map rolled by −shift (then +shift back) first (Swin's
    # shifted windows: a move); attention's relative_table: Swin's (2w − 1)²·heads relative-position bias table
    window: int | None = None
    shift: int = 0
    relative_table: bool = False
    heads: int | None = None  # attention: the number of heads (kept under α) …
    head_dim: int | None = None  # … and each head's width (default: channels / heads, which follows α)
    # attention: key/value heads (multi-query 1, grouped-query a divisor of heads; default heads), each value
    # head's width (default head_dim), MobileNetV4's strided depthwise K/V reduction on a map, EfficientFormer's
    # attention-bias table (heads × N params) and the output projection's bias
    kv_heads: int | None = None
    value_dim: int | None = None
    kv_stride: int | None = None
    bias_table: bool = False
    # attention: queries from every q_stride-th token of each axis of the keys' √N×√N grid (LeViT's
    # attention-subsample: N_q = ⌈√N/s⌉² tokens out), and an activation on the merged heads before the output
    # projection (LeViT's hard-swish); ``bn`` (above) there is a BatchNorm after each projection
    q_stride: int | None = None
    proj_act: str = "none"
    gamma: bool = False  # l2norm: a learned scale per channel after the normalisation (SSD's L2Norm)
    out_bias: bool = True
    hidden: int | None = None  # pos_fourier: sin/cos features per axis (XCiT's hidden_dim, 32)
    # the earlier layer whose stored weights this one reads again (one tensor used twice): Mult-Adds and memory
    # access count every use, params count the tensor once, at that layer
    shares: str | None = None
    # a `predict` shorthand's conv: `out` = anchors × the values each predicts, "codes" (box coordinates) or
    # "classes" (class scores, which `--classes` sets)
    anchors: int | None = None
    predicts: str | None = None
    # `per_roi: true`: the layer runs once per region proposal (Faster R-CNN's box classifier after its RoI crop):
    # Mult-Adds and memory access count the spec's `proposals` times, params once (one set of weights)
    per_roi: bool = False


@dataclass(frozen=True)
class Node:
    """A layer placed in the graph: multipliers applied, inputs resolved, shapes inferred.

    ``kernel``, ``stride`` and ``padding`` are single integers, as the views, hardware profile keys (``/k5``)
    and the sweep read them: ``kernel`` and ``stride`` are None where the idea does not apply (add, concat)
    *or the window is not square* (a 1×7 kernel, a 2×1 stride); ``padding`` is the pixels on every side, the
    top padding of a ``same`` convolution, or None where the sides differ otherwise. The formulas read the
    pairs: ``kernel_hw`` and ``stride_hw`` (height, width) and ``padding_hw`` (top, bottom, left, right),
    filled from the integers when a layer gives only those.
    """

    layer: Layer
    inputs: tuple[Shape, ...]
    output: Shape
    out_channels: int
    kernel: int | None  # None where the idea does not apply (add, concat) or the kernel is not square
    stride: int | None
    padding: int | None
    groups: int | None
    kernel_hw: tuple[int, int] | None = None
    stride_hw: tuple[int, int] | None = None
    padding_hw: tuple[int, int, int, int] | None = None  # top, bottom, left, right

    def __post_init__(self) -> None:
        for name, size in (("kernel_hw", 2), ("stride_hw", 2), ("padding_hw", 4)):
            value = getattr(self, name[:-3])
            if getattr(self, name) is None and value is not None:
                object.__setattr__(self, name, (value,) * size)

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def type(self) -> str:
        return self.layer.type

    @property
    def input(self) -> Shape:
        return self.inputs[0]
