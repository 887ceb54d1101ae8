"""Torch modules of the token-sequence layers (``layers/tokens.py``, ``layers/attention.py``): a sequence is a
(batch, N, C) tensor, as vision transformers hold it. Sizes are plain integers, so a trace holds no shape
arithmetic (which fvcore would list as uncounted ops)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class MapTokens(nn.Module):
    """(B, C, H, W) → (B, H·W, C), row by row (ViT's ``x.flatten(2).transpose(1, 2)``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2)


class ClassToken(nn.Module):
    """A learned class token before the sequence (DeiT's ``cls_token``, zero-initialised as timm does)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.cls = nn.Parameter(torch.zeros(1, 1, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # batch 1, as every mobcost build: no ``expand`` to the batch, whose shape arithmetic counters would count
        return torch.cat((self.cls, x), dim=1)


class PositionEmbedding(nn.Module):
    """x + a learned (N, C) table (ViT's ``pos_embed``)."""

    def __init__(self, tokens: int, channels: int) -> None:
        super().__init__()
        self.pos = nn.Parameter(torch.randn(1, tokens, channels) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pos


class PoolTokens(nn.Module):
    """(B, N, C) → (B, C, 1, 1): the class token, or the mean over the tokens; four-dimensional, so any layer type
    that takes a map can follow."""

    def __init__(self, channels: int, mode: str) -> None:
        super().__init__()
        self.channels, self.mode = channels, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x[:, 0] if self.mode == "cls" else x.mean(dim=1)
        return pooled.reshape(-1, self.channels, 1, 1)


class Attention(nn.Module):
    """Multi-head self-attention as timm's ViT ``Attention`` computes it without its fused kernel: one q, k, v
    projection, scores (q/√d)·kᵀ, softmax, A·v, heads merged, output projection. Explicit products rather than
    ``F.scaled_dot_product_attention``, which fvcore cannot count; the arithmetic is the same."""

    def __init__(self, channels: int, tokens: int, heads: int, head_dim: int, bias: bool = True) -> None:
        super().__init__()
        self.tokens, self.heads, self.head_dim = tokens, heads, head_dim
        self.scale = head_dim**-0.5
        self.qkv = nn.Linear(channels, 3 * heads * head_dim, bias=bias)
        self.proj = nn.Linear(heads * head_dim, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, h, d = self.tokens, self.heads, self.head_dim
        q, k, v = self.qkv(x).reshape(-1, n, 3, h, d).permute(2, 0, 3, 1, 4).unbind(0)
        scores = (q * self.scale) @ k.transpose(-2, -1)
        out = scores.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(-1, n, h * d))


class Unfold(nn.Module):
    """(B, C, H, W) → (B·P, N, C): P = p_h·p_w sequences, one per position in a patch, of the N patches' pixels
    at that position — timm's ``MobileVitBlock`` reshapes and transposes, after its bilinear resize up to whole
    patches where p does not divide H or W."""

    def __init__(self, channels: int, h: int, w: int, patch: tuple[int, int]) -> None:
        super().__init__()
        self.channels, self.size, (self.ph, self.pw) = channels, (h, w), patch
        self.resized = (-(-h // self.ph) * self.ph, -(-w // self.pw) * self.pw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.resized != self.size:
            x = F.interpolate(x, size=self.resized, mode="bilinear", align_corners=False)
        (h, w), (ph, pw), c = self.resized, (self.ph, self.pw), self.channels
        nw, tokens = w // pw, (h // ph) * (w // pw)
        x = x.reshape(-1, ph, nw, pw).transpose(1, 2)  # (B·C·n_h, n_w, p_h, p_w)
        return x.reshape(-1, c, tokens, ph * pw).transpose(1, 3).reshape(-1, tokens, c)


class Fold(nn.Module):
    """:class:`Unfold` undone: (B·P, N, C) → (B, C, H, W), resized back where the unfold resized."""

    def __init__(self, channels: int, h: int, w: int, patch: tuple[int, int]) -> None:
        super().__init__()
        self.channels, self.size, (self.ph, self.pw) = channels, (h, w), patch
        self.resized = (-(-h // self.ph) * self.ph, -(-w // self.pw) * self.pw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (h, w), (ph, pw), c = self.resized, (self.ph, self.pw), self.channels
        nw, tokens = w // pw, (h // ph) * (w // pw)
        x = x.reshape(-1, ph * pw, tokens, c).transpose(1, 3).reshape(-1, nw, ph, pw)
        x = x.transpose(1, 2).reshape(-1, c, h, w)
        if self.resized != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return x


MODULES: dict[str, type[nn.Module]] = {"MapTokens": MapTokens, "ClassToken": ClassToken,
                                       "PositionEmbedding": PositionEmbedding, "PoolTokens": PoolTokens,
                                       "Attention": Attention, "Unfold": Unfold, "Fold": Fold}
