"""Torch modules of ``layers/xca.py``: cross-covariance attention and the Fourier position encoding, on (batch, N, C)
sequences, written from timm's definitions (timm/models/xcit.py ``XCA`` and ``PositionalEncodingFourier``,
timm/models/edgenext.py ``CrossCovarianceAttn``) with explicit products so that fvcore counts them."""

from __future__ import annotations

import math

import torch
from torch import nn


def _unit(x: torch.Tensor) -> torch.Tensor:
    """x / ‖x‖ along the last axis (the tokens), floored at 1e-12 as ``F.normalize``."""
    return x / x.norm(p=2, dim=-1, keepdim=True).clamp_min(1e-12)


class XCA(nn.Module):
    """qkv (C → 3C), per head q and k (d×N) L2-normalised over the tokens, softmax(q̂·k̂ᵀ · τ) (d×d), A·v, heads
    merged, output projection (C → C, bias)."""

    def __init__(self, channels: int, tokens: int, heads: int, bias: bool = True) -> None:
        super().__init__()
        self.tokens, self.heads, self.channels = tokens, heads, channels
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Linear(channels, 3 * channels, bias=bias)
        self.proj = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, h, c = self.tokens, self.heads, self.channels
        q, k, v = self.qkv(x).reshape(-1, n, 3, h, c // h).permute(2, 0, 3, 4, 1).unbind(0)
        attn = (_unit(q) @ _unit(k).transpose(-2, -1)) * self.temperature
        out = attn.softmax(dim=-1) @ v
        # the merged heads as a contiguous copy: a reshape of the permuted view is a strided view, on which torch's
        # Linear runs as matmul + add rather than addmm, and aten-level counters (ptflops' aten backend) then
        # miss its bias (timm reshapes without the copy; no Mult-Add or parameter changes)
        return self.proj(out.permute(0, 3, 1, 2).reshape(-1, n, c).contiguous())


def fourier_features(tokens: int, hidden: int) -> torch.Tensor:
    """(1, 2·hidden, N, 1): timm's sin/cos features of normalised row and column positions. A sequence has lost its
    grid, so the tokens are laid on an N×1 grid; the costs depend only on N (the values differ from an H×W grid's)."""
    y = torch.arange(1, tokens + 1, dtype=torch.float32)[:, None] / (tokens + 1e-6) * 2 * math.pi
    x = torch.ones(tokens, 1) / (1 + 1e-6) * 2 * math.pi
    dim_t = 10000.0 ** (2 * (torch.arange(hidden) // 2) / hidden)
    px, py = x[..., None] / dim_t, y[..., None] / dim_t
    px = torch.stack((px[..., 0::2].sin(), px[..., 1::2].cos()), dim=3).flatten(2)
    py = torch.stack((py[..., 0::2].sin(), py[..., 1::2].cos()), dim=3).flatten(2)
    return torch.cat((py, px), dim=2).permute(2, 0, 1)[None]


class FourierPosition(nn.Module):
    """x + a 1×1 conv (2·hidden → C, bias) of the fixed Fourier features of the N tokens, as a (1, N, C) table."""

    def __init__(self, channels: int, tokens: int, hidden: int = 32) -> None:
        super().__init__()
        self.tokens, self.channels = tokens, channels
        self.token_projection = nn.Conv2d(2 * hidden, channels, 1)
        self.register_buffer("features", fourier_features(tokens, hidden), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pos = self.token_projection(self.features).reshape(1, self.channels, self.tokens).transpose(1, 2)
        return x + pos


MODULES: dict[str, type[nn.Module]] = {"XCA": XCA, "FourierPosition": FourierPosition}
