"""Torch modules of LeViT's layer options (``layers/attention_levit.py``; timm/models/levit.py ``LinearNorm``,
``Attention``, ``AttentionDownsample``): a BatchNorm over every token of a (B, N, C) sequence, and attention whose
projections are each followed by one, with an activation before the output projection, an output width of its
own and queries from a strided subsample of the token grid. Sizes are plain integers (no shape arithmetic in a
trace)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..layers import TORCH_ACTIVATIONS
from .sequences import _table, attend


class TokenBatchNorm(nn.Module):
    """BatchNorm1d over the C channels of every token: timm's ``bn(x.flatten(0, 1)).reshape_as(x)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(x.reshape(-1, self.channels)).reshape(x.shape)


def _projection(cin: int, cout: int, bias: bool, bn: bool) -> nn.Sequential:
    """A Linear on every token, then (``bn``) a BatchNorm over its outputs: timm's LinearNorm."""
    return nn.Sequential(nn.Linear(cin, cout, bias=bias), *([TokenBatchNorm(cout)] if bn else []))


def _activation(name: str) -> nn.Module:
    """The activation before the output projection (not in place: it reads the merged heads)."""
    if name not in TORCH_ACTIVATIONS:
        return nn.Identity()
    module, kwargs, _ = TORCH_ACTIVATIONS[name]
    return getattr(nn, module)(**kwargs)


def grid_index(side: int, stride: int) -> torch.Tensor:
    """timm levit's attention_bias_idxs: for each query (every ``stride``-th point of a side×side grid) and key,
    |Δy|·side + |Δx|, an index into the (h, side²) table."""
    keys = torch.stack(torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")).flatten(1)
    queries = keys.view(2, side, side)[:, ::stride, ::stride].flatten(1)
    rel = (queries[:, :, None] - keys[:, None, :]).abs()
    return rel[0] * side + rel[1]


class LevitAttention(nn.Module):
    """LeViT's attention (``q_stride`` None) and attention-subsample (``q_stride`` s: queries from every s-th token
    of each axis of the √N×√N grid, keys and values from all N): q, k, v projections (one Linear, or q and kv apart
    when subsampling), each with a BatchNorm (``bn``); softmax((q/√d)·kᵀ + biases)·v; ``proj_act``; the output
    projection to ``out`` channels with its BatchNorm."""

    def __init__(self, channels: int, tokens: int, heads: int, head_dim: int, bias: bool = True,
                 kv_heads: int | None = None, value_dim: int | None = None, bias_table: bool | str = False,
                 out_bias: bool = True, out: int | None = None, bn: bool = False, proj_act: str = "none",
                 q_stride: int | None = None) -> None:
        super().__init__()
        self.tokens, self.heads, self.head_dim, self.channels = tokens, heads, head_dim, channels
        self.kv_heads, self.value_dim = kv_heads or heads, value_dim or head_dim
        self.side, self.stride = math.isqrt(tokens), q_stride
        self.queries = tokens if q_stride is None else (-(-self.side // q_stride)) ** 2
        self.scale = head_dim**-0.5
        kv = self.kv_heads * (head_dim + self.value_dim)
        if q_stride is None:
            self.qkv = _projection(channels, heads * head_dim + kv, bias, bn)
        else:
            self.q, self.kv = _projection(channels, heads * head_dim, bias, bn), _projection(channels, kv, bias, bn)
        self.act = _activation(proj_act)
        self.proj = _projection(heads * self.value_dim, out or channels, out_bias, bn)
        self.biases, idx = _table(heads, tokens, bias_table)
        if q_stride is not None and self.biases is not None:
            idx = grid_index(self.side, q_stride)
        self.register_buffer("idx", idx, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, nq, h, g, d, dv = self.tokens, self.queries, self.heads, self.kv_heads, self.head_dim, self.value_dim
        if self.stride is None:
            q, k, v = self.qkv(x).split([h * d, g * d, g * dv], dim=-1)
        else:
            k, v = self.kv(x).split([g * d, g * dv], dim=-1)
            grid = x.reshape(-1, self.side, self.side, self.channels)
            q = self.q(grid[:, ::self.stride, ::self.stride].reshape(-1, nq, self.channels))
        q = q.reshape(-1, nq, g, h // g, d).permute(0, 2, 3, 1, 4).reshape(-1, g, h // g * nq, d)
        k = k.reshape(-1, n, g, d).permute(0, 2, 3, 1)
        v = v.reshape(-1, n, g, dv).transpose(1, 2)
        out = attend(q * self.scale, k, v, h, self.biases, self.idx)
        return self.proj(self.act(out.permute(0, 2, 1, 3).reshape(-1, nq, h * dv)))


MODULES: dict[str, type[nn.Module]] = {"TokenBatchNorm": TokenBatchNorm, "LevitAttention": LevitAttention}
