"""The torch module of ``additive_attention`` (``layers/additive_attention.py``): SwiftFormer's efficient additive
attention on a (batch, N, C) sequence, written as timm's ``EfficientAdditiveAttention`` (timm/models/swiftformer.py,
num_heads 1, token_dim = in_dims = C): the same operators, so counters see what they see in the model."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class AdditiveAttention(nn.Module):
    """q, k = normalize(Linear(x)); α = normalize(q @ w_g · C^(−1/2)) over the tokens; G = Σ_n α_n·q_n;
    final(proj(G · k) + q)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.to_query, self.to_key = nn.Linear(channels, channels), nn.Linear(channels, channels)
        self.w_g = nn.Parameter(torch.randn(channels, 1))
        self.proj, self.final = nn.Linear(channels, channels), nn.Linear(channels, channels)
        self.scale = channels**-0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        query = F.normalize(self.to_query(x), dim=-1)
        key = F.normalize(self.to_key(x), dim=-1)
        scores = F.normalize(query @ self.w_g * self.scale, dim=1)
        context = torch.sum(scores * query, dim=1, keepdim=True)
        return self.final(self.proj(context * key) + query)


MODULES: dict[str, type[nn.Module]] = {"AdditiveAttention": AdditiveAttention}
