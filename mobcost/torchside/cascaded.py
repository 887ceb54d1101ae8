"""The torch module of ``cascaded_attention`` (``layers/cascaded_attention.py``): EfficientViT-M's cascaded group
attention in local windows, as timm writes it (timm/models/efficientvit_msra.py ``CascadedGroupAttention`` and
``LocalWindowAttention``, huggingface/pytorch-image-models), with explicit ``@`` products so fvcore counts them.
Sizes are plain integers, so a trace holds no shape arithmetic."""

from __future__ import annotations

import itertools

import torch
from torch import nn
from torch.nn import functional as F


def offset_index(side_h: int, side_w: int) -> tuple[int, torch.Tensor]:
    """timm's attention_bias_idxs over a side_h×side_w grid: each (|dy|, |dx|) numbered in order of first sight,
    for every pair of pixels; (the number of offsets, the N×N index)."""
    points = list(itertools.product(range(side_h), range(side_w)))
    seen: dict[tuple[int, int], int] = {}
    idxs = [seen.setdefault((abs(a[0] - b[0]), abs(a[1] - b[1])), len(seen)) for a in points for b in points]
    return len(seen), torch.tensor(idxs).view(len(points), len(points))


def _conv_norm(cin: int, cout: int, k: int, bn: bool, groups: int = 1) -> nn.Sequential:
    """timm's ConvNorm (a conv without bias, then BatchNorm); a biased conv alone as a BN-folded model has it."""
    conv = nn.Conv2d(cin, cout, k, 1, k // 2, groups=groups, bias=not bn)
    return nn.Sequential(conv, nn.BatchNorm2d(cout)) if bn else nn.Sequential(conv)


class CascadedAttention(nn.Module):
    """Cascaded group attention on (B, C, H, W), in w×w windows (zero-padded to whole windows) where the map is
    larger than ``window``: head i's q, k, v from a 1×1 conv of chunk i (+ head i−1's output), a k×k depthwise conv
    on q, softmax((q/√d)ᵀk + biases)·vᵀ; the heads concatenated, ReLU, a 1×1 conv back to C."""

    def __init__(self, channels: int, h: int, w: int, heads: int, head_dim: int, kernel: int = 5,
                 window: int | None = None, bn: bool = True) -> None:
        super().__init__()
        self.heads, self.chunk, self.d = heads, channels // heads, head_dim
        self.dv = self.chunk  # values as wide as a chunk: the next head adds this head's output to its own
        whole = window is None or (h <= window and w <= window)
        self.window, self.size = (None if whole else window), (h, w)
        side_h, side_w = (h, w) if whole else (window, window)
        self.side = (side_h, side_w)
        self.qkvs = nn.ModuleList(_conv_norm(channels // heads, 2 * head_dim + self.dv, 1, bn) for _ in range(heads))
        self.dws = nn.ModuleList(_conv_norm(head_dim, head_dim, kernel, bn, head_dim) for _ in range(heads))
        self.proj = nn.Sequential(nn.ReLU(), *_conv_norm(self.dv * heads, channels, 1, bn))
        entries, idx = offset_index(side_h, side_w)
        self.attention_biases = nn.Parameter(torch.zeros(heads, entries))
        self.register_buffer("idx", idx, persistent=False)

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        """The cascade on (B, C, h, w) windows (or the whole map)."""
        sh, sw = self.side
        chunks, outs = x.split(self.chunk, dim=1), []  # sizes as integers: no shape arithmetic in the trace
        feat = chunks[0]
        for i, (qkv, dw) in enumerate(zip(self.qkvs, self.dws, strict=True)):
            feat = qkv(feat if i == 0 else feat + chunks[i])
            q, k, v = feat.split([self.d, self.d, self.dv], dim=1)
            q, k, v = dw(q).flatten(2), k.flatten(2), v.flatten(2)
            scores = (q * self.d**-0.5).transpose(-2, -1) @ k + self.attention_biases[i][self.idx]
            feat = (v @ scores.softmax(dim=-1).transpose(-2, -1)).view(-1, self.dv, sh, sw)
            outs.append(feat)
        return self.proj(torch.cat(outs, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.window is None:
            return self.attend(x)
        (h, w), ws = self.size, self.window
        hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
        c = x.shape[1]
        if (hp, wp) != (h, w):
            x = F.pad(x, (0, wp - w, 0, hp - h))
        nh, nw = hp // ws, wp // ws
        x = x.view(-1, c, nh, ws, nw, ws).permute(0, 2, 4, 1, 3, 5).reshape(-1, c, ws, ws)
        x = self.attend(x)
        x = x.view(-1, nh, nw, c, ws, ws).permute(0, 3, 1, 4, 2, 5).reshape(-1, c, hp, wp)
        return x[:, :, :h, :w].contiguous() if (hp, wp) != (h, w) else x
