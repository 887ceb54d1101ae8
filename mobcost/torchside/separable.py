"""Torch modules of MobileViTv2's vocabulary on token sequences (``layers/separable_attention.py``, ``gn`` on
tokens): a sequence is a (batch·P, N, C) tensor, as ``sequences.Unfold`` writes an unfold's P sequences. Sizes
are plain integers, so a trace holds no shape arithmetic (which fvcore would list as uncounted ops)."""

from __future__ import annotations

import torch
from torch import nn


class SeparableAttention(nn.Module):
    """Separable self-attention (timm ``LinearSelfAttention``, Mehta & Rastegari 2022, on tokens): one projection to
    a context score, keys and values; the scores softmax-normalised over each sequence's N tokens; the keys
    weighted by them and summed over the tokens (the context vector); ReLU(values) times the context vector;
    the output projection. timm writes the projections as 1×1 convolutions on B×C×P×N: the same multiply-adds."""

    def __init__(self, channels: int, bias: bool = True, out_bias: bool = True) -> None:
        super().__init__()
        self.channels = channels
        self.qkv = nn.Linear(channels, 1 + 2 * channels, bias=bias)
        self.act = nn.ReLU()  # a module, as counters that hook modules find activations
        self.proj = nn.Linear(channels, channels, bias=out_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        score, key, value = self.qkv(x).split([1, self.channels, self.channels], dim=-1)
        context = (key * score.softmax(dim=1)).sum(dim=1, keepdim=True)  # (batch·P, 1, C): one per sequence
        return self.proj(self.act(value) * context)


class TokenGroupNorm(nn.Module):
    """GroupNorm over a sequence's tokens: each group of channels normalised over every token of every one of the
    P sequences of an image (MobileViTv2's ``GroupNorm(1, C)`` on its B×C×P×N patches), γ, β per channel. An
    ``nn.GroupNorm`` inside, as counters that hook modules by their class find it."""

    def __init__(self, groups: int, channels: int, sequences: int, tokens: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.channels, self.sequences, self.tokens = channels, sequences, tokens

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c, n = self.channels, self.tokens
        y = self.norm(x.reshape(-1, self.sequences * n, c).transpose(1, 2))
        return y.transpose(1, 2).reshape(-1, n, c).contiguous()  # the tokens' own layout, as a Linear reads it


MODULES: dict[str, type[nn.Module]] = {"SeparableAttention": SeparableAttention, "TokenGroupNorm": TokenGroupNorm}
