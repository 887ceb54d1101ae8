"""The torch module of ``linear_attention`` (``layers/linear_attention.py``): EfficientViT's ReLU linear attention
as timm's ``efficientvit_mit.LiteMLA`` computes it between its multi-scale qkv and its output projection (timm
huggingface/pytorch-image-models timm/models/efficientvit_mit.py, ``LiteMLA.forward`` and ``_attn``). Sizes are
plain integers, so a trace holds no shape arithmetic (which fvcore would list as uncounted ops)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..layers import TORCH_ACTIVATIONS

EPS = 1e-5  # timm LiteMLA's eps


class LinearAttention(nn.Module):
    """(B, 3·h·d, H, W) → (B, h·d, H, W): per head q, k, v the next 3·d channels, φ(q)·(φ(k)ᵀ·[v 1]), the first d
    columns divided by the last (+ ε). φ is an activation module called on q and on k (not in place: they are views
    of the input)."""

    def __init__(self, h: int, w: int, heads: int, head_dim: int, act: str = "relu") -> None:
        super().__init__()
        self.size, self.heads, self.head_dim = (h, w), heads, head_dim
        module, kwargs, _ = TORCH_ACTIVATIONS.get(act, ("Identity", {}, False))
        self.kernel = getattr(nn, module)(**kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (h, w), heads, d = self.size, self.heads, self.head_dim
        qkv = x.reshape(-1, heads, 3 * d, h * w).transpose(-1, -2)
        q, k, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
        q, k = self.kernel(q), self.kernel(k)
        v = F.pad(v, (0, 1), mode="constant", value=1.0)
        out = q @ (k.transpose(-1, -2) @ v)
        out = out[..., :-1] / (out[..., -1:] + EPS)
        return out.transpose(-1, -2).reshape(-1, heads * d, h, w)
