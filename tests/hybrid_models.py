"""Plain-``torch.nn`` re-implementations of attention hybrids for cross-checking mobcost's bundled specs, written
from the papers and timm's definitions (timm itself is not installed): EfficientFormer-L1 from
timm/models/efficientformer.py. Every factory returns a module in eval mode."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class _Attention(nn.Module):
    """timm EfficientFormer ``Attention``: one qkv Linear (per head key 32, key 32, value 128), scores + the learned
    ``attention_biases`` gathered by |offset| on the R×R grid, softmax, A·V, output Linear."""

    def __init__(self, dim: int, resolution: int, key_dim: int = 32, heads: int = 8, attn_ratio: int = 4) -> None:
        super().__init__()
        self.heads, self.key_dim, self.val_dim = heads, key_dim, attn_ratio * key_dim
        self.scale, self.n = key_dim**-0.5, resolution * resolution
        self.qkv = nn.Linear(dim, heads * (2 * key_dim + self.val_dim))
        self.proj = nn.Linear(heads * self.val_dim, dim)
        pos = torch.stack(torch.meshgrid(torch.arange(resolution), torch.arange(resolution), indexing="ij")).flatten(1)
        rel = (pos[..., :, None] - pos[..., None, :]).abs()
        self.attention_biases = nn.Parameter(torch.zeros(heads, self.n))
        self.register_buffer("idx", rel[0] * resolution + rel[1], persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        qkv = self.qkv(x).reshape(-1, self.n, self.heads, 2 * self.key_dim + self.val_dim).permute(0, 2, 1, 3)
        q, k, v = qkv.split([self.key_dim, self.key_dim, self.val_dim], dim=3)
        attn = (q @ k.transpose(-2, -1)) * self.scale + self.attention_biases[:, self.idx]
        out = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(-1, self.n, self.heads * self.val_dim)
        return self.proj(out)


class _Meta2d(nn.Module):
    """MetaBlock2d: x + γ₁·(AvgPool(x) − x), then x + γ₂·BN(1×1(GELU(BN(1×1(x)))))."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.ls1, self.ls2 = nn.Parameter(torch.ones(dim, 1, 1)), nn.Parameter(torch.ones(dim, 1, 1))
        self.mlp = nn.Sequential(nn.Conv2d(dim, 4 * dim, 1), nn.BatchNorm2d(4 * dim), nn.GELU(),
                                 nn.Conv2d(4 * dim, dim, 1), nn.BatchNorm2d(dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.ls1 * (self.pool(x) - x)
        return x + self.ls2 * self.mlp(x)


class _Meta1d(nn.Module):
    """MetaBlock1d: pre-LayerNorm attention and MLP (4×, GELU), each with layer scale."""

    def __init__(self, dim: int, resolution: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = _Attention(dim, resolution)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.ls1, self.ls2 = nn.Parameter(torch.ones(dim)), nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.ls1 * self.attn(self.norm1(x))
        return x + self.ls2 * self.mlp(self.norm2(x))


def _conv_bn(cin: int, cout: int, act: bool) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, 2, 1), nn.BatchNorm2d(cout), *([nn.ReLU()] if act else [])]


class _EfficientFormer(nn.Module):
    def __init__(self, dims: tuple[int, ...], depths: tuple[int, ...], img_size: int, num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [*_conv_bn(3, dims[0] // 2, True), *_conv_bn(dims[0] // 2, dims[0], True)]
        for i, (dim, depth) in enumerate(zip(dims, depths, strict=True)):
            if i:
                layers += _conv_bn(dims[i - 1], dim, False)
            layers += [_Meta2d(dim) for _ in range(depth - (1 if i == len(dims) - 1 else 0))]
        self.features = nn.Sequential(*layers)
        side = img_size
        for _ in range(5):
            side = (side - 1) // 2 + 1  # 3×3, stride 2, padding 1
        self.block = _Meta1d(dims[-1], side)
        self.norm = nn.LayerNorm(dims[-1])
        self.head, self.head_dist = nn.Linear(dims[-1], num_classes), nn.Linear(dims[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm(self.block(self.features(x).flatten(2).transpose(1, 2))).mean(dim=1)
        return (self.head(x) + self.head_dist(x)) / 2


def efficientformer_l1(width_mult: float = 1.0, img_size: int = 224, num_classes: int = 1000) -> nn.Module:
    """EfficientFormer-L1 (widths 48, 96, 224, 448 × ``width_mult``, depths 3, 2, 6, 4, one attention block); the
    attention's bias table is built for the last stage's grid at ``img_size`` (timm: 7×7)."""
    dims = tuple(int(c * width_mult) for c in (48, 96, 224, 448))
    return _EfficientFormer(dims, (3, 2, 6, 4), img_size, num_classes).eval()


# --------------------------------------------------------------------------------------------------------------------
# MobileNetV4-Hybrid-Medium (timm mobilenetv4_hybrid_medium)
# --------------------------------------------------------------------------------------------------------------------


def _make_divisible(v: float, divisor: int = 8) -> int:
    """timm make_divisible (round_limit 0.9)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _cba(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    """timm ConvNormAct: conv (no bias, padding ((s − 1) + (k − 1)) // 2), BN, ReLU."""
    pad = ((stride - 1) + (k - 1)) // 2
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, pad, groups=groups, bias=False), nn.BatchNorm2d(cout),
                         *([nn.ReLU()] if act else []))


class _UIRScaled(nn.Module):
    """timm UniversalInvertedResidual with layer scale (hybrids): dw_start (no act), 1×1 expansion, dw_mid, 1×1
    projection (no act), γ, then the residual where stride 1 and widths match."""

    def __init__(self, cin: int, cout: int, k_start: int, k_mid: int, stride: int, exp: int) -> None:
        super().__init__()
        mid = _make_divisible(cin * exp)
        layers: list[nn.Module] = [_cba(cin, cin, k_start, 1 if k_mid else stride, cin, False)] if k_start else []
        layers.append(_cba(cin, mid, 1))
        layers += [_cba(mid, mid, k_mid, stride, mid)] if k_mid else []
        layers.append(_cba(mid, cout, 1, act=False))
        self.body, self.gamma = nn.Sequential(*layers), nn.Parameter(torch.ones(cout, 1, 1))
        self.skip = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        out = self.body(x) * self.gamma
        return out + x if self.skip else out


class _MQA(nn.Module):
    """timm MultiQueryAttention2d: 1×1 query to h·d; key and value each [3×3/s depthwise + BN] then 1×1 to d (one
    head shared by all queries); softmax(q·kᵀ/√d)·v; 1×1 output. No biases."""

    def __init__(self, dim: int, size: int, heads: int, d: int, kv_stride: int) -> None:
        super().__init__()
        self.heads, self.d, self.size = heads, d, size
        self.n_kv = ((size - 1) // kv_stride + 1) ** 2
        self.query = nn.Conv2d(dim, heads * d, 1, bias=False)

        def path() -> nn.Sequential:
            down = [_cba(dim, dim, 3, kv_stride, dim, False)] if kv_stride > 1 else []
            return nn.Sequential(*down, nn.Conv2d(dim, d, 1, bias=False))

        self.key, self.value = path(), path()
        self.output = nn.Conv2d(heads * d, dim, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        n, h, d = self.size * self.size, self.heads, self.d
        q = self.query(x).reshape(-1, h, d, n).transpose(-2, -1).reshape(-1, 1, h * n, d)  # heads stacked
        k = self.key(x).reshape(-1, 1, d, self.n_kv)
        v = self.value(x).reshape(-1, 1, d, self.n_kv).transpose(-2, -1)
        a = ((q * d**-0.5) @ k).softmax(dim=-1)
        out = (a @ v).reshape(-1, h, n, d).transpose(-2, -1).reshape(-1, h * d, self.size, self.size)
        return self.output(out)


class _MobileAttention(nn.Module):
    """timm MobileAttention: BN, MQA, layer scale, residual."""

    def __init__(self, dim: int, size: int, heads: int, d: int, kv_stride: int) -> None:
        super().__init__()
        self.norm, self.attn = nn.BatchNorm2d(dim), _MQA(dim, size, heads, d, kv_stride)
        self.gamma = nn.Parameter(torch.ones(dim, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.attn(self.norm(x)) * self.gamma


# timm _gen_mobilenet_v4 'hybrid_medium', decoded: ("er", k, s, exp, c), ("uir", a, k, s, exp, c),
# ("mqa", heads, kv_stride, key_dim, c), ("cn", k, c); repeats expanded
_MNV4_HYBRID_MEDIUM = [
    [("er", 3, 2, 4, 48)],
    [("uir", 3, 5, 2, 4, 80), ("uir", 3, 3, 1, 2, 80)],
    [("uir", 3, 5, 2, 6, 160), ("uir", 0, 0, 1, 2, 160), ("uir", 3, 3, 1, 4, 160), ("uir", 3, 5, 1, 4, 160),
     ("mqa", 4, 2, 64, 160), ("uir", 3, 3, 1, 4, 160), ("mqa", 4, 2, 64, 160), ("uir", 3, 0, 1, 4, 160),
     ("mqa", 4, 2, 64, 160), ("uir", 3, 3, 1, 4, 160), ("mqa", 4, 2, 64, 160), ("uir", 3, 0, 1, 4, 160)],
    [("uir", 5, 5, 2, 6, 256), ("uir", 5, 5, 1, 4, 256), ("uir", 3, 5, 1, 4, 256), ("uir", 3, 5, 1, 4, 256),
     ("uir", 0, 0, 1, 2, 256), ("uir", 3, 5, 1, 2, 256), ("uir", 0, 0, 1, 2, 256), ("uir", 0, 0, 1, 4, 256),
     ("mqa", 4, 1, 64, 256), ("uir", 3, 0, 1, 4, 256), ("mqa", 4, 1, 64, 256), ("uir", 5, 5, 1, 4, 256),
     ("mqa", 4, 1, 64, 256), ("uir", 5, 0, 1, 4, 256), ("mqa", 4, 1, 64, 256)],
    [("cn", 1, 960)],
]


def _mnv4_block(spec: tuple, cin: int, cout: int, size: int) -> nn.Module:
    if spec[0] == "er":  # EdgeResidual: k×k/s conv to make_divisible(in·exp), BN, ReLU; 1×1, BN; no residual here
        _, k, s, e, _ = spec
        mid = _make_divisible(cin * e)
        return nn.Sequential(_cba(cin, mid, k, s), _cba(mid, cout, 1, act=False))
    if spec[0] == "uir":
        return _UIRScaled(cin, cout, *spec[1:5])
    if spec[0] == "mqa":
        return _MobileAttention(cin, size, spec[1], spec[3], spec[2])
    return _cba(cin, cout, spec[1])


class _MobileNetV4Hybrid(nn.Module):
    def __init__(self, width_mult: float, img_size: int, num_classes: int) -> None:
        super().__init__()
        stem = 32 if width_mult < 1.0 else _make_divisible(32 * width_mult)  # timm fix_stem
        self.conv_stem = _cba(3, stem, 3, 2)
        cin, size, blocks = stem, (img_size - 1) // 2 + 1, []
        for stage in _MNV4_HYBRID_MEDIUM:
            for spec in stage:
                cout = _make_divisible(spec[-1] * width_mult)
                stride = spec[2] if spec[0] == "er" else spec[3] if spec[0] == "uir" else 1
                size = (size - 1) // stride + 1
                blocks.append(_mnv4_block(spec, cin, cout, size))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU())
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.head(self.global_pool(self.blocks(self.conv_stem(x))))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v4_hybrid_medium(width_mult: float = 1.0, img_size: int = 256, num_classes: int = 1000) -> nn.Module:
    """timm ``mobilenetv4_hybrid_medium`` (``width_mult`` = timm's ``channel_multiplier``)."""
    return _MobileNetV4Hybrid(width_mult, img_size, num_classes).eval()
