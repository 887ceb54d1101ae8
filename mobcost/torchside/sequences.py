"""Torch modules of the token-sequence layers (``layers/tokens.py``, ``layers/attention.py``): a sequence is a
(batch, N, C) tensor, as vision transformers hold it. Sizes are plain integers, so a trace holds no shape
arithmetic (which fvcore would list as uncounted ops)."""

from __future__ import annotations

import math

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
        # batch 1, as every mobcost build counts and exports: no ``expand``, whose shape arithmetic counters would
        # count; a larger batch (int8 export settles BatchNorm statistics on 8 random inputs) gets one
        cls = self.cls if x.shape[0] == 1 else self.cls.expand(x.shape[0], -1, -1)
        return torch.cat((cls, x), dim=1)


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


def offset_index(tokens: int) -> torch.Tensor:
    """An (N, N) index into a table of N biases: |i − j| of the tokens' positions. A sequence has lost its grid,
    so the positions are read on a 1×N line, whose N distinct |offsets| are as many as an R_h×R_w grid's
    (EfficientFormer's ``attention_bias_idxs``); the counts depend only on the table's size."""
    pos = torch.arange(tokens)
    return (pos[:, None] - pos[None, :]).abs()


class Attention(nn.Module):
    """Multi-head self-attention as timm's ViT ``Attention`` computes it without its fused kernel: one q, k, v
    projection, scores (q/√d)·kᵀ, softmax, A·v, heads merged, output projection. Explicit products rather than
    ``F.scaled_dot_product_attention``, which fvcore cannot count; the arithmetic is the same.

    ``kv_heads`` g < h shares each key/value head among h/g query heads (multi-/grouped-query): the queries of a
    group are stacked as one (h/g·N)×d operand, so the products count h·N·N·d without copying k and v.
    ``value_dim`` d_v is each value head's width (EfficientFormer's attn_ratio·key_dim); ``bias_table`` adds
    EfficientFormer's learned (h, N) attention_biases to the scores, gathered by offset."""

    def __init__(self, channels: int, tokens: int, heads: int, head_dim: int, bias: bool = True,
                 kv_heads: int | None = None, value_dim: int | None = None, bias_table: bool | str = False,
                 out_bias: bool = True) -> None:
        super().__init__()
        self.tokens, self.heads, self.head_dim = tokens, heads, head_dim
        self.kv_heads, self.value_dim = kv_heads or heads, value_dim or head_dim
        self.scale = head_dim**-0.5
        width = heads * head_dim + self.kv_heads * (head_dim + self.value_dim)
        self.qkv = nn.Linear(channels, width, bias=bias)
        self.proj = nn.Linear(heads * self.value_dim, channels, bias=out_bias)
        self.biases, idx = _table(heads, tokens, bias_table)
        self.register_buffer("idx", idx, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, h, g, d, dv = self.tokens, self.heads, self.kv_heads, self.head_dim, self.value_dim
        if g == h and dv == d and self.biases is None:  # the ViT path, as before
            q, k, v = self.qkv(x).reshape(-1, n, 3, h, d).permute(2, 0, 3, 1, 4).unbind(0)
            out = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1) @ v
            return self.proj(out.transpose(1, 2).reshape(-1, n, h * d))
        q, k, v = self.qkv(x).split([h * d, g * d, g * dv], dim=-1)
        q = q.reshape(-1, n, g, h // g, d).permute(0, 2, 3, 1, 4).reshape(-1, g, h // g * n, d)
        k = k.reshape(-1, n, g, d).permute(0, 2, 3, 1)
        v = v.reshape(-1, n, g, dv).transpose(1, 2)
        out = attend(q * self.scale, k, v, h, self.biases, self.idx)
        return self.proj(out.permute(0, 2, 1, 3).reshape(-1, n, h * dv))


def _table(heads: int, tokens: int, kind: bool | str) -> tuple[nn.Parameter | None, torch.Tensor | None]:
    """The learned attention biases and their (N, N) index: EfficientFormer's (h, N) by |offset| (``True``), Swin's
    (h, (2w − 1)²) by relative offset in a w×w window (``"relative"``), or none."""
    if kind == "relative":
        return nn.Parameter(torch.zeros(heads, (2 * math.isqrt(tokens) - 1) ** 2)), relative_index(tokens)
    if kind:
        return nn.Parameter(torch.zeros(heads, tokens)), offset_index(tokens)
    return None, None


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, biases: torch.Tensor | None,
           idx: torch.Tensor | None) -> torch.Tensor:
    """softmax(q·k + bias)·v for g groups of stacked query heads: q (B, g, h/g·N, d), k (B, g, d, N′),
    v (B, g, N′, d_v) → (B, h, N, d_v)."""
    g, n_kv = k.shape[1], k.shape[-1]
    scores = (q @ k).reshape(-1, heads, q.shape[2] * g // heads, n_kv)
    if biases is not None:
        scores = scores + biases[:, idx]
    a = scores.softmax(dim=-1).reshape(-1, g, q.shape[2], n_kv)
    return (a @ v).reshape(-1, heads, q.shape[2] * g // heads, v.shape[-1])


class MapAttention(nn.Module):
    """MobileNetV4's multi-query attention on a C×H×W map (timm ``MultiQueryAttention2d``): 1×1 conv queries;
    keys and values each down-sampled by their own 3×3 depthwise conv of stride ``kv_stride`` and BatchNorm, then
    a 1×1 conv to g·d (g·d_v); the heads' outputs merged by a 1×1 conv back to C."""

    def __init__(self, channels: int, h: int, w: int, heads: int, head_dim: int, bias: bool = True,
                 kv_heads: int | None = None, value_dim: int | None = None, bias_table: bool = False,
                 out_bias: bool = True, kv_stride: int = 1) -> None:
        super().__init__()
        self.heads, self.head_dim, self.size = heads, head_dim, (h, w)
        self.kv_tokens = -(-h // kv_stride) * -(-w // kv_stride)  # the 3×3, padding-1 conv's ⌈H/s⌉·⌈W/s⌉
        self.kv_heads, self.value_dim = kv_heads or heads, value_dim or head_dim
        self.scale = head_dim**-0.5
        self.query = nn.Conv2d(channels, heads * head_dim, 1, bias=bias)
        self.key = self._path(channels, self.kv_heads * head_dim, kv_stride, bias)
        self.value = self._path(channels, self.kv_heads * self.value_dim, kv_stride, bias)
        self.output = nn.Conv2d(heads * self.value_dim, channels, 1, bias=out_bias)
        self.biases = nn.Parameter(torch.zeros(heads, h * w)) if bias_table else None
        self.register_buffer("idx", offset_index(h * w) if bias_table else None, persistent=False)

    @staticmethod
    def _path(channels: int, out: int, stride: int, bias: bool) -> nn.Sequential:
        down = [nn.Conv2d(channels, channels, 3, stride, 1, groups=channels, bias=False),
                nn.BatchNorm2d(channels)] if stride > 1 else []
        return nn.Sequential(*down, nn.Conv2d(channels, out, 1, bias=bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (hh, ww), h, g, d, dv = self.size, self.heads, self.kv_heads, self.head_dim, self.value_dim
        n = hh * ww
        q = self.query(x).reshape(-1, g, h // g, d, n).transpose(-2, -1).reshape(-1, g, h // g * n, d)
        k = self.key(x).reshape(-1, g, d, self.kv_tokens)
        v = self.value(x).reshape(-1, g, dv, self.kv_tokens).transpose(-2, -1)
        out = attend(q * self.scale, k, v, h, self.biases, self.idx)  # (B, h, N, d_v)
        return self.output(out.transpose(-2, -1).reshape(-1, h * dv, hh, ww))


class MapProducts(nn.Module):
    """``conv_attention``'s core on its 1×1 conv's h(2d + d_v)-channel output: q, k, v split by channels, each head
    read channels-first (d × N), softmax(Qᵀ·K/√d) and V·Aᵀ as SHViT writes them (timm ``SHSA.forward``); the
    heads' d_v × N outputs back to the h·d_v × H × W map. q is scaled before the product (the same count)."""

    def __init__(self, heads: int, head_dim: int, value_dim: int, h: int, w: int) -> None:
        super().__init__()
        self.heads, self.head_dim, self.value_dim, self.size = heads, head_dim, value_dim, (h, w)
        self.scale = head_dim**-0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (hh, ww), h, d, dv = self.size, self.heads, self.head_dim, self.value_dim
        q, k, v = x.split([h * d, h * d, h * dv], dim=1)
        q, k, v = q.reshape(-1, h, d, hh * ww), k.reshape(-1, h, d, hh * ww), v.reshape(-1, h, dv, hh * ww)
        attn = ((q * self.scale).transpose(-2, -1) @ k).softmax(dim=-1)
        return (v @ attn.transpose(-2, -1)).reshape(-1, h * dv, hh, ww)


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


class Window(nn.Module):
    """(B, C, H, W) → (B·P, w², C): the map rolled by −shift along H and W (Swin's shifted windows), then cut into
    P = (H/w)·(W/w) windows, row by row, each read row by row — timm's ``window_partition`` on the channels-last
    map."""

    def __init__(self, channels: int, h: int, w: int, window: tuple[int, int], shift: int = 0) -> None:
        super().__init__()
        self.channels, self.size, self.window, self.shift = channels, (h, w), window, shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (h, w), (wh, ww), c = self.size, self.window, self.channels
        x = x.permute(0, 2, 3, 1)
        if self.shift:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        x = x.reshape(-1, h // wh, wh, w // ww, ww, c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(-1, wh * ww, c)


class Unwindow(nn.Module):
    """:class:`Window` undone: (B·P, w², C) → (B, C, H, W), rolled back by +shift (timm's ``window_reverse``)."""

    def __init__(self, channels: int, h: int, w: int, window: tuple[int, int], shift: int = 0) -> None:
        super().__init__()
        self.channels, self.size, self.window, self.shift = channels, (h, w), window, shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (h, w), (wh, ww), c = self.size, self.window, self.channels
        x = x.reshape(-1, h // wh, w // ww, wh, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, h, w, c)
        if self.shift:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        return x.permute(0, 3, 1, 2)


class Untokens(nn.Module):
    """(B, H·W, C) → (B, C, H, W): the tokens back to the map, row by row (TinyViT's ``x.view(B, H, W, C)``)."""

    def __init__(self, channels: int, h: int, w: int) -> None:
        super().__init__()
        self.shape = (h, w, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, *self.shape).permute(0, 3, 1, 2)


class SpaceToDepth(nn.Module):
    """(B, C, H, W) → (B, p²·C, H/p, W/p) in Swin's channel order: timm's patch merging on the channels-last map."""

    def __init__(self, channels: int, h: int, w: int, patch: int) -> None:
        super().__init__()
        self.channels, self.size, self.patch = channels, (h, w), patch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (h, w), p, c = self.size, self.patch, self.channels
        x = x.permute(0, 2, 3, 1).reshape(-1, h // p, p, w // p, p, c).permute(0, 1, 3, 4, 2, 5)
        return x.reshape(-1, h // p, w // p, p * p * c).permute(0, 3, 1, 2)


def relative_index(tokens: int) -> torch.Tensor:
    """Swin's relative_position_index for a w×w window of N = w² tokens: (N, N) indices into its (2w − 1)² table,
    one per relative offset (Δy, Δx)."""
    w = math.isqrt(tokens)
    coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (w - 1)
    return rel[:, :, 0] * (2 * w - 1) + rel[:, :, 1]


MODULES: dict[str, type[nn.Module]] = {"MapTokens": MapTokens, "ClassToken": ClassToken,
                                       "PositionEmbedding": PositionEmbedding, "PoolTokens": PoolTokens,
                                       "Attention": Attention, "MapAttention": MapAttention,
                                       "MapProducts": MapProducts,
                                       "Unfold": Unfold, "Fold": Fold, "Window": Window, "Unwindow": Unwindow,
                                       "Untokens": Untokens, "SpaceToDepth": SpaceToDepth}
