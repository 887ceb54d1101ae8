"""A held-out zoo of attention hybrids and vision transformers (issue 21), other members of the families than
mobcost's bundled specs, as plain ``torch.nn`` written from timm's reference definitions (timm itself is not
installed; huggingface/pytorch-image-models at commit aa4b5850c1543fa488abf260f18390eda46cf85d, each file cited
where it is used). Attention products are written as ``@`` (timm's non-fused path) so fvcore counts them.

``ZOO`` maps a name to (factory, input size): the size is the smallest that runs the real definition (windows,
bias tables and strides as timm builds them), so each export takes a few seconds. ``PUBLISHED`` holds timm's
parameter counts of the full models (timm results/results-imagenet.csv, column param_count, in millions)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
from torch import Tensor, nn

from . import hybrid_models as hyb
from . import reference_models as ref

# --------------------------------------------------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------------------------------------------------


class ConvNorm(nn.Sequential):
    """timm's ConvNorm / Conv2dNorm / ConvNormAct: conv (no bias) + BatchNorm (+ activation)."""

    def __init__(self, cin: int, cout: int, k: int = 1, s: int = 1, p: int | None = None, g: int = 1,
                 act: type[nn.Module] | None = None) -> None:
        super().__init__(nn.Conv2d(cin, cout, k, s, (k - 1) // 2 if p is None else p, groups=g, bias=False),
                         nn.BatchNorm2d(cout), *([act()] if act else []))


class LinearNorm(nn.Module):
    """timm levit.LinearNorm: Linear (no bias) then BatchNorm1d over every token."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.linear, self.bn = nn.Linear(cin, cout, bias=False), nn.BatchNorm1d(cout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.linear(x)
        return self.bn(x.flatten(0, 1)).reshape_as(x)


class NormLinear(nn.Sequential):
    """timm NormLinear: BatchNorm1d then Linear (LeViT, EfficientViT-MSRA, SHViT heads)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.BatchNorm1d(cin), nn.Linear(cin, cout))


class SqueezeExcite(nn.Module):
    """timm.layers.SqueezeExcite: mean, 1×1 (bias) to make_divisible(C·r, 8, round_limit=0), ReLU, 1×1, sigmoid."""

    def __init__(self, chs: int, ratio: float = 0.25, divisor: int = 8) -> None:
        super().__init__()
        rd = max(divisor, int(chs * ratio + divisor / 2) // divisor * divisor)
        self.fc1, self.fc2 = nn.Conv2d(chs, rd, 1), nn.Conv2d(rd, chs, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.fc2(self.fc1(x.mean((2, 3), keepdim=True)).relu()).sigmoid()


def offset_index(res: int) -> Tensor:
    """timm's attention_bias_idxs over a res×res grid: each (|dy|, |dx|) offset numbered in order of first sight
    (res² offsets), for every pair of tokens."""
    points = list(itertools.product(range(res), range(res)))
    seen: dict[tuple[int, int], int] = {}
    idxs = [seen.setdefault((abs(a[0] - b[0]), abs(a[1] - b[1])), len(seen)) for a in points for b in points]
    return torch.tensor(idxs).view(len(points), len(points))


class Residual(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


# --------------------------------------------------------------------------------------------------------------------
# MobileViT-XXS and -S (timm/models/mobilevit.py model_cfgs; blocks as tests/reference_models.py's MobileViT-XS)
# --------------------------------------------------------------------------------------------------------------------


def _mobilevit(chs: tuple[int, ...], dims: tuple[int, ...], ratio: int, final: int) -> nn.Module:
    """timm ByoModelCfg: stem 3×3/2 to 16, IR(c0, s1), 3 IR(c1, first s2), then per MobileViT stage IR(c, s2) +
    MobileVitBlock(c, d, depth 2, 4, 3); final 1×1 conv, avg pool, Linear. ``ratio`` is br (XXS 2, others 4)."""
    layers: list[nn.Module] = [ref._conv_bn_act(3, 16, 3, 2, act=nn.SiLU), ref._ByobBottleneck(16, chs[0], 1, ratio)]
    layers += [ref._ByobBottleneck(chs[0], chs[1], 2, ratio),
               *(ref._ByobBottleneck(chs[1], chs[1], 1, ratio) for _ in range(2))]
    prev = chs[1]
    for c, dim, depth in zip(chs[2:], dims, (2, 4, 3), strict=True):
        layers += [ref._ByobBottleneck(prev, c, 2, ratio), ref._MobileViTBlock(c, dim, depth)]
        prev = c
    layers += [ref._conv_bn_act(prev, final, 1, act=nn.SiLU), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Linear(final, 1000)]
    return nn.Sequential(*layers)


def mobilevit_xxs() -> nn.Module:
    return _mobilevit((16, 24, 48, 64, 80), (64, 80, 96), 2, 320)


def mobilevit_s() -> nn.Module:
    return _mobilevit((32, 64, 96, 128, 160), (144, 192, 240), 4, 640)


# --------------------------------------------------------------------------------------------------------------------
# DeiT-Small (timm/models/vision_transformer.py deit_small_patch16_224: width 384, 6 heads, 12 blocks)
# --------------------------------------------------------------------------------------------------------------------


def deit_small(img_size: int = 224) -> nn.Module:
    return ref._VisionTransformer(img_size, 16, 384, 12, 6, 4, 1000)


def vit_base(img_size: int = 224) -> nn.Module:
    """ViT-B/16 (timm vit_base_patch16_224: width 768, 12 heads, 12 blocks, class token, LayerNorm eps 1e-6)."""
    return ref._VisionTransformer(img_size, 16, 768, 12, 12, 4, 1000)


# --------------------------------------------------------------------------------------------------------------------
# EfficientFormer-L3 (timm/models/efficientformer.py efficientformer_l3: widths 64, 128, 320, 512, depths 4, 4, 12,
# 6, num_vit 4: the last stage's final four blocks are attention blocks on the flattened map)
# --------------------------------------------------------------------------------------------------------------------


def efficientformer_l3(img_size: int = 224, num_vit: int = 4) -> nn.Module:
    model = hyb._EfficientFormer((64, 128, 320, 512), (4, 4, 12, 6), img_size, 1000)
    side = model.block.attn.n ** 0.5
    model.features = model.features[:len(model.features) - (num_vit - 1)]  # the MetaBlock2d's they replace
    model.block = nn.Sequential(*(hyb._Meta1d(512, int(side)) for _ in range(num_vit)))
    return model


# --------------------------------------------------------------------------------------------------------------------
# MobileNetV4-Hybrid-Large (timm/models/mobilenetv3.py _gen_mobilenet_v4 'hybrid' 'large': stem 24, GELU)
# --------------------------------------------------------------------------------------------------------------------

# ("er", k, s, exp, c), ("uir", a, k, s, exp, c), ("mqa", heads, kv_stride, key_dim, c), ("cn", k, c); repeats
# expanded (timm: stride only on a stage's first block)
_MNV4_HYBRID_LARGE = [
    [("er", 3, 2, 4, 48)],
    [("uir", 3, 5, 2, 4, 96), ("uir", 3, 3, 1, 4, 96)],
    [("uir", 3, 5, 2, 4, 192), *[("uir", 3, 3, 1, 4, 192)] * 3, ("uir", 3, 5, 1, 4, 192),
     *[("uir", 5, 3, 1, 4, 192)] * 2,
     *[("mqa", 8, 2, 48, 192), ("uir", 5, 3, 1, 4, 192)] * 3, ("mqa", 8, 2, 48, 192), ("uir", 3, 0, 1, 4, 192)],
    [("uir", 5, 5, 2, 4, 512), *[("uir", 5, 5, 1, 4, 512)] * 3, ("uir", 5, 0, 1, 4, 512), ("uir", 5, 3, 1, 4, 512),
     *[("uir", 5, 0, 1, 4, 512)] * 2, ("uir", 5, 3, 1, 4, 512), ("uir", 5, 5, 1, 4, 512),
     *[("mqa", 8, 1, 64, 512), ("uir", 5, 0, 1, 4, 512)] * 4],
    [("cn", 1, 960)],
]


class _GeluMNv4(nn.Module):
    """tests/hybrid_models.py's MobileNetV4-Hybrid with GELU wherever timm's act_layer is (hybrid_large)."""

    def __init__(self, img_size: int) -> None:
        super().__init__()
        self.conv_stem = ConvNorm(3, 24, 3, 2, act=nn.GELU)
        cin, size, blocks = 24, (img_size - 1) // 2 + 1, []
        for stage in _MNV4_HYBRID_LARGE:
            for spec in stage:
                stride = spec[2] if spec[0] == "er" else spec[3] if spec[0] == "uir" else 1
                size = (size - 1) // stride + 1
                blocks.append(hyb._mnv4_block(spec, cin, spec[-1], size))
                cin = spec[-1]
        self.blocks = nn.Sequential(*blocks)
        for module in self.blocks.modules():  # hybrid_models builds ReLU: the large model's act is GELU
            for name, child in module.named_children():
                if isinstance(child, nn.ReLU):
                    setattr(module, name, nn.GELU())
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), ConvNorm(cin, 1280, act=nn.GELU), nn.Flatten(),
                                  nn.Linear(1280, 1000))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.conv_stem(x)))


def mobilenetv4_hybrid_large(img_size: int = 128) -> nn.Module:
    return _GeluMNv4(img_size)


# --------------------------------------------------------------------------------------------------------------------
# LeViT-128S (timm/models/levit.py: embed 128, 256, 384, key_dim 16, heads 4, 6, 8, depth 2, 3, 4, Hardswish,
# stem s16, attention-subsample between stages, distilled head)
# --------------------------------------------------------------------------------------------------------------------


def _levit_index(res: int, stride: int) -> Tensor:
    """timm levit rel_pos: |q − k| per axis of query points every ``stride`` of a res×res grid, y·res + x."""
    k = torch.stack(torch.meshgrid(torch.arange(res), torch.arange(res), indexing="ij")).flatten(1)
    q = torch.stack(torch.meshgrid(torch.arange(0, res, stride), torch.arange(0, res, stride),
                                   indexing="ij")).flatten(1)
    rel = (q[..., :, None] - k[..., None, :]).abs()
    return rel[0] * res + rel[1]


class _LevitAttention(nn.Module):
    """Attention (stride 1) and AttentionDownsample (stride 2: queries of every second token, own q and kv)."""

    def __init__(self, cin: int, cout: int, key_dim: int, heads: int, ratio: float, res: int, stride: int) -> None:
        super().__init__()
        self.heads, self.kd, self.vd, self.res, self.stride = heads, key_dim, int(ratio * key_dim), res, stride
        if stride == 1:
            self.qkv = LinearNorm(cin, heads * (2 * key_dim + self.vd))
        else:
            self.kv, self.q = LinearNorm(cin, heads * (key_dim + self.vd)), LinearNorm(cin, heads * key_dim)
        self.proj = nn.Sequential(nn.Hardswish(), LinearNorm(heads * self.vd, cout))
        self.attention_biases = nn.Parameter(torch.zeros(heads, res * res))
        self.register_buffer("idx", _levit_index(res, stride), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        h = self.heads
        if self.stride == 1:
            q, k, v = self.qkv(x).view(b, n, h, -1).split([self.kd, self.kd, self.vd], dim=3)
            q, k, v = q.permute(0, 2, 1, 3), k.permute(0, 2, 3, 1), v.permute(0, 2, 1, 3)
        else:
            k, v = self.kv(x).view(b, n, h, -1).split([self.kd, self.vd], dim=3)
            k, v = k.permute(0, 2, 3, 1), v.permute(0, 2, 1, 3)
            sub = x.view(b, self.res, self.res, c)[:, ::self.stride, ::self.stride].reshape(b, -1, c)
            q = self.q(sub).view(b, -1, h, self.kd).permute(0, 2, 1, 3)
        attn = q @ k * self.kd**-0.5 + self.attention_biases[:, self.idx]
        out = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, -1, h * self.vd)
        return self.proj(out)


class _LevitMlp(nn.Sequential):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__(LinearNorm(dim, hidden), nn.Hardswish(), LinearNorm(hidden, dim))


class _LevitBlock(nn.Module):
    def __init__(self, dim: int, key_dim: int, heads: int, res: int) -> None:
        super().__init__()
        self.attn, self.mlp = _LevitAttention(dim, dim, key_dim, heads, 2.0, res, 1), _LevitMlp(dim, 2 * dim)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(x)
        return x + self.mlp(x)


class _LevitDownsample(nn.Module):
    def __init__(self, cin: int, cout: int, key_dim: int, res: int) -> None:
        super().__init__()
        self.attn = _LevitAttention(cin, cout, key_dim, cin // key_dim, 4.0, res, 2)
        self.mlp = _LevitMlp(cout, 2 * cout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.attn(x)
        return x + self.mlp(x)


class _Levit(nn.Module):
    def __init__(self, dims: tuple[int, ...], key_dim: int, heads: tuple[int, ...], depths: tuple[int, ...],
                 img_size: int) -> None:
        super().__init__()
        d = dims[0]
        self.stem = nn.Sequential(ConvNorm(3, d // 8, 3, 2, 1, act=nn.Hardswish),
                                  ConvNorm(d // 8, d // 4, 3, 2, 1, act=nn.Hardswish),
                                  ConvNorm(d // 4, d // 2, 3, 2, 1, act=nn.Hardswish), ConvNorm(d // 2, d, 3, 2, 1))
        res, blocks, prev = img_size // 16, [], d
        for i, (dim, h, depth) in enumerate(zip(dims, heads, depths, strict=True)):
            if i:
                blocks.append(_LevitDownsample(prev, dim, key_dim, res))
                res = (res - 1) // 2 + 1
            blocks += [_LevitBlock(dim, key_dim, h, res) for _ in range(depth)]
            prev = dim
        self.stages = nn.Sequential(*blocks)
        self.head, self.head_dist = NormLinear(prev, 1000), NormLinear(prev, 1000)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stages(self.stem(x).flatten(2).transpose(1, 2)).mean(dim=1)
        return (self.head(x) + self.head_dist(x)) / 2


def levit_128s(img_size: int = 224) -> nn.Module:
    return _Levit((128, 256, 384), 16, (4, 6, 8), (2, 3, 4), img_size)


# --------------------------------------------------------------------------------------------------------------------
# EfficientViT-M0 (MSRA; timm/models/efficientvit_msra.py: embed 64, 128, 192, depth 1, 2, 3, 4 heads, key_dim
# 16, windows 7, kernels 5; cascaded group attention with attention biases, local windows where the map is larger)
# --------------------------------------------------------------------------------------------------------------------


class _CascadedGroupAttention(nn.Module):
    def __init__(self, dim: int, key_dim: int, heads: int, ratio: float, res: int) -> None:
        super().__init__()
        self.heads, self.kd, self.vd = heads, key_dim, int(ratio * key_dim)
        self.qkvs = nn.ModuleList(ConvNorm(dim // heads, 2 * key_dim + self.vd) for _ in range(heads))
        self.dws = nn.ModuleList(ConvNorm(key_dim, key_dim, 5, g=key_dim) for _ in range(heads))
        self.proj = nn.Sequential(nn.ReLU(), ConvNorm(self.vd * heads, dim))
        self.attention_biases = nn.Parameter(torch.zeros(heads, res * res))
        self.register_buffer("idx", offset_index(res), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        chunks, outs = x.chunk(self.heads, dim=1), []
        feat = chunks[0]
        bias = self.attention_biases[:, self.idx]
        for i, (qkv, dw) in enumerate(zip(self.qkvs, self.dws, strict=True)):
            feat = qkv(feat if i == 0 else feat + chunks[i])
            q, k, v = feat.view(b, -1, h, w).split([self.kd, self.kd, self.vd], dim=1)
            q, k, v = dw(q).flatten(2), k.flatten(2), v.flatten(2)
            attn = ((q * self.kd**-0.5).transpose(-2, -1) @ k + bias[i]).softmax(dim=-1)
            feat = (v @ attn.transpose(-2, -1)).view(b, self.vd, h, w)
            outs.append(feat)
        return self.proj(torch.cat(outs, 1))


class _LocalWindowAttention(nn.Module):
    def __init__(self, dim: int, key_dim: int, heads: int, ratio: float, res: int, window: int) -> None:
        super().__init__()
        self.res, self.window = res, window
        self.attn = _CascadedGroupAttention(dim, key_dim, heads, ratio, min(window, res))

    def forward(self, x: Tensor) -> Tensor:
        if self.res <= self.window:
            return self.attn(x)
        b, c, h, w = x.shape  # the maps here are whole windows (224 px: 14 = 2 × 7), so no padding
        ws, nh, nw = self.window, h // self.window, w // self.window
        x = x.permute(0, 2, 3, 1).view(b, nh, ws, nw, ws, c).transpose(2, 3).reshape(b * nh * nw, ws, ws, c)
        x = self.attn(x.permute(0, 3, 1, 2))
        x = x.permute(0, 2, 3, 1).view(b, nh, nw, ws, ws, c).transpose(2, 3).reshape(b, h, w, c)
        return x.permute(0, 3, 1, 2)


def _evit_res(dim: int) -> list[nn.Module]:
    """Residual depthwise 3×3 + BN, residual ConvMlp (1×1 ×2, ReLU, 1×1)."""
    return [Residual(ConvNorm(dim, dim, 3, g=dim)),
            Residual(nn.Sequential(ConvNorm(dim, 2 * dim), nn.ReLU(), ConvNorm(2 * dim, dim)))]


class _EfficientViTMsra(nn.Module):
    def __init__(self, dims: tuple[int, ...], depths: tuple[int, ...], heads: tuple[int, ...], img_size: int
                 ) -> None:
        super().__init__()
        d = dims[0]
        self.patch_embed = nn.Sequential(ConvNorm(3, d // 8, 3, 2, act=nn.ReLU), ConvNorm(d // 8, d // 4, 3, 2,
                                         act=nn.ReLU), ConvNorm(d // 4, d // 2, 3, 2, act=nn.ReLU),
                                         ConvNorm(d // 2, d, 3, 2))
        res, layers, prev = img_size // 16, [], d
        for i, (dim, depth, h) in enumerate(zip(dims, depths, heads, strict=True)):
            if i:  # subsample: residual dw + ffn, PatchMerging (1×1 ×4, ReLU, dw 3×3/2, ReLU, SE, 1×1), again
                hid = 4 * prev
                merge = nn.Sequential(ConvNorm(prev, hid, act=nn.ReLU), ConvNorm(hid, hid, 3, 2, g=hid, act=nn.ReLU),
                                      SqueezeExcite(hid), ConvNorm(hid, dim))
                layers += [*_evit_res(prev), merge, *_evit_res(dim)]
                res = (res - 1) // 2 + 1
            for _ in range(depth):
                mixer = _LocalWindowAttention(dim, 16, h, dim / (16 * h), res, 7)
                layers += [*_evit_res(dim)[:2], Residual(mixer), *_evit_res(dim)]
            prev = dim
        self.stages = nn.Sequential(*layers)
        self.head = NormLinear(prev, 1000)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.stages(self.patch_embed(x)).mean((2, 3)))


def efficientvit_m0(img_size: int = 224) -> nn.Module:
    return _EfficientViTMsra((64, 128, 192), (1, 2, 3), (4, 4, 4), img_size)


# --------------------------------------------------------------------------------------------------------------------
# TinyViT-5M (timm/models/tiny_vit.py tiny_vit_5m_224: embed 64, 128, 160, 320, depth 2, 2, 6, 2, heads 2, 4, 5,
# 10, windows 7, 7, 14, 7; MBConv stage, then windowed attention with attention biases, local 3×3 conv, NormMlp)
# --------------------------------------------------------------------------------------------------------------------


class _TinyAttention(nn.Module):
    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.kd = heads, dim // heads
        self.norm, self.qkv, self.proj = nn.LayerNorm(dim), nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.attention_biases = nn.Parameter(torch.zeros(heads, window * window))
        self.register_buffer("idx", offset_index(window), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(self.norm(x)).view(b, n, self.heads, -1).split([self.kd] * 3, dim=3)
        q, k, v = q.permute(0, 2, 1, 3), k.permute(0, 2, 1, 3), v.permute(0, 2, 1, 3)
        attn = ((q * self.kd**-0.5) @ k.transpose(-2, -1) + self.attention_biases[:, self.idx]).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class _TinyBlock(nn.Module):
    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.window, self.attn = window, _TinyAttention(dim, heads, window)
        self.local_conv = ConvNorm(dim, dim, 3, g=dim)
        self.mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        b, h, w, c = x.shape  # channels-last; the maps here are whole windows at 224 px
        ws = self.window
        if h == ws and w == ws:
            y = self.attn(x.reshape(b, h * w, c)).view(b, h, w, c)
        else:
            nh, nw = h // ws, w // ws
            y = x.view(b, nh, ws, nw, ws, c).transpose(2, 3).reshape(b * nh * nw, ws * ws, c)
            y = self.attn(y).view(b, nh, nw, ws, ws, c).transpose(2, 3).reshape(b, h, w, c)
        x = x + y
        x = self.local_conv(x.permute(0, 3, 1, 2)).reshape(b, c, h * w).transpose(1, 2)
        return (x + self.mlp(x)).view(b, h, w, c)


class _MBConv(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvNorm(dim, 4 * dim, act=nn.GELU), ConvNorm(4 * dim, 4 * dim, 3, g=4 * dim,
                                  act=nn.GELU), ConvNorm(4 * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.gelu(x + self.body(x))


class _TinyStage(nn.Module):
    def __init__(self, cin: int, dim: int, depth: int, heads: int, window: int) -> None:
        super().__init__()
        self.downsample = nn.Sequential(ConvNorm(cin, dim, act=nn.GELU), ConvNorm(dim, dim, 3, 2, g=dim, act=nn.GELU),
                                        ConvNorm(dim, dim))
        self.blocks = nn.Sequential(*(_TinyBlock(dim, heads, window) for _ in range(depth)))

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(self.downsample(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class _TinyViT(nn.Module):
    def __init__(self, dims: tuple[int, ...], depths: tuple[int, ...], heads: tuple[int, ...],
                 windows: tuple[int, ...]) -> None:
        super().__init__()
        self.patch_embed = nn.Sequential(ConvNorm(3, dims[0] // 2, 3, 2, act=nn.GELU), ConvNorm(dims[0] // 2,
                                         dims[0], 3, 2))
        stages: list[nn.Module] = [nn.Sequential(*(_MBConv(dims[0]) for _ in range(depths[0])))]
        stages += [_TinyStage(dims[i - 1], dims[i], depths[i], heads[i], windows[i]) for i in range(1, len(dims))]
        self.stages = nn.Sequential(*stages)
        self.norm, self.fc = nn.LayerNorm(dims[-1]), nn.Linear(dims[-1], 1000)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.norm(self.stages(self.patch_embed(x)).mean((2, 3))))


def tiny_vit_5m() -> nn.Module:
    return _TinyViT((64, 128, 160, 320), (2, 2, 6, 2), (2, 4, 5, 10), (7, 7, 14, 7))


# --------------------------------------------------------------------------------------------------------------------
# Swin-T (timm/models/swin_transformer.py swin_tiny_patch4_window7_224: embed 96, depths 2, 2, 6, 2, heads 3, 6,
# 12, 24, window 7; channels-last throughout, relative position bias table, shifted windows with a mask)
# --------------------------------------------------------------------------------------------------------------------


def _relative_index(ws: int) -> Tensor:
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (ws - 1)
    return rel[:, :, 0] * (2 * ws - 1) + rel[:, :, 1]


def _shift_mask(res: int, ws: int, shift: int) -> Tensor:
    """timm's attn_mask: regions of the rolled map numbered, −100 between tokens of unlike regions of a window."""
    img = torch.zeros(res, res)
    cuts = (slice(0, -ws), slice(-ws, -shift), slice(-shift, None))
    for n, (hs, wsl) in enumerate(itertools.product(cuts, cuts)):
        img[hs, wsl] = n
    win = img.view(res // ws, ws, res // ws, ws).transpose(1, 2).reshape(-1, ws * ws)
    diff = win[:, None, :] - win[:, :, None]
    return diff.masked_fill(diff != 0, -100.0)


class _WindowAttention(nn.Module):
    def __init__(self, dim: int, heads: int, ws: int) -> None:
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        self.register_buffer("idx", _relative_index(ws).flatten(), persistent=False)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x: Tensor, mask: Tensor | None) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        bias = self.relative_position_bias_table[self.idx].view(n, n, -1).permute(2, 0, 1)
        attn = (q * self.hd**-0.5) @ k.transpose(-2, -1) + bias
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(-1, nw, self.heads, n, n) + mask[None, :, None]).view(-1, self.heads, n, n)
        return self.proj((attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c))


class _SwinBlock(nn.Module):
    def __init__(self, dim: int, heads: int, res: int, ws: int, shifted: bool) -> None:
        super().__init__()
        self.ws = min(ws, res)
        self.shift = self.ws // 2 if shifted and res > ws else 0
        self.norm1, self.attn = nn.LayerNorm(dim), _WindowAttention(dim, heads, self.ws)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.register_buffer("mask", _shift_mask(res, self.ws, self.shift) if self.shift else None,
                             persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        b, h, w, c = x.shape
        ws, s = self.ws, self.shift
        y = self.norm1(x)
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
        y = y.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        y = self.attn(y, self.mask)
        y = y.view(b, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
        x = x + y
        return x + self.mlp(self.norm2(x))


class _PatchMerging(nn.Module):
    """2×2 neighbours concatenated (timm order: reshape B, H/2, 2, W/2, 2, C → permute 0, 1, 3, 4, 2, 5), LayerNorm,
    Linear 4C → 2C without bias."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm, self.reduction = nn.LayerNorm(4 * dim), nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        b, h, w, c = x.shape
        x = x.reshape(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 4, 2, 5).flatten(3)
        return self.reduction(self.norm(x))


class _Swin(nn.Module):
    def __init__(self, dim: int, depths: tuple[int, ...], heads: tuple[int, ...], img_size: int, ws: int) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, 4)
        self.patch_norm = nn.LayerNorm(dim)
        res, layers = img_size // 4, []
        for i, (depth, h) in enumerate(zip(depths, heads, strict=True)):
            if i:
                layers.append(_PatchMerging(dim))
                dim, res = 2 * dim, res // 2
            layers += [_SwinBlock(dim, h, res, ws, bool(j % 2)) for j in range(depth)]
        self.layers = nn.Sequential(*layers)
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, 1000)

    def forward(self, x: Tensor) -> Tensor:
        x = self.patch_norm(self.patch(x).permute(0, 2, 3, 1))
        return self.head(self.norm(self.layers(x)).mean((1, 2)))


def swin_tiny() -> nn.Module:
    return _Swin(96, (2, 2, 6, 2), (3, 6, 12, 24), 224, 7)


# --------------------------------------------------------------------------------------------------------------------
# SwiftFormer-XS (timm/models/swiftformer.py swiftformer_xs: layers 3, 3, 6, 4, widths 48, 56, 112, 220; each
# stage's last block has efficient additive attention: L2-normalised q and k, a learned w_g, no Q·Kᵀ)
# --------------------------------------------------------------------------------------------------------------------


class LayerScale2d(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gamma


def _swift_conv(dim: int, hidden: int) -> nn.Module:
    """ConvEncoder / LocalRepresentation: dw 3×3 (bias), BN, 1×1, GELU, 1×1, layer scale, residual."""
    return Residual(nn.Sequential(nn.Conv2d(dim, dim, 3, 1, 1, groups=dim), nn.BatchNorm2d(dim),
                                  nn.Conv2d(dim, hidden, 1), nn.GELU(), nn.Conv2d(hidden, dim, 1), LayerScale2d(dim)))


class _AdditiveAttention(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.to_query, self.to_key = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.w_g = nn.Parameter(torch.randn(dim, 1))
        self.proj, self.final = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.scale = dim**-0.5

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        x = x.flatten(2).permute(0, 2, 1)
        query = nn.functional.normalize(self.to_query(x), dim=-1)
        key = nn.functional.normalize(self.to_key(x), dim=-1)
        attn = nn.functional.normalize(query @ self.w_g * self.scale, dim=1)
        attn = torch.sum(attn * query, dim=1, keepdim=True)
        out = self.proj(attn * key) + query
        return self.final(out).permute(0, 2, 1).reshape(b, -1, h, w)


class _SwiftBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.local = _swift_conv(dim, dim)
        self.attn, self.ls1 = _AdditiveAttention(dim), LayerScale2d(dim)
        self.mlp = nn.Sequential(nn.BatchNorm2d(dim), nn.Conv2d(dim, 4 * dim, 1), nn.GELU(), nn.Conv2d(4 * dim, dim, 1))
        self.ls2 = LayerScale2d(dim)

    def forward(self, x: Tensor) -> Tensor:
        x = self.local(x)
        x = x + self.ls1(self.attn(x))
        return x + self.ls2(self.mlp(x))


class _SwiftFormer(nn.Module):
    def __init__(self, layers: tuple[int, ...], dims: tuple[int, ...]) -> None:
        super().__init__()
        d = dims[0]
        blocks: list[nn.Module] = [nn.Conv2d(3, d // 2, 3, 2, 1), nn.BatchNorm2d(d // 2), nn.ReLU(),
                                   nn.Conv2d(d // 2, d, 3, 2, 1), nn.BatchNorm2d(d), nn.ReLU()]
        for i, (n, dim) in enumerate(zip(layers, dims, strict=True)):
            if i:  # Embedding: 3×3/2 conv (bias) + BN
                blocks += [nn.Conv2d(dims[i - 1], dim, 3, 2, 1), nn.BatchNorm2d(dim)]
            blocks += [*(_swift_conv(dim, 4 * dim) for _ in range(n - 1)), _SwiftBlock(dim)]
        self.features = nn.Sequential(*blocks, nn.BatchNorm2d(dims[-1]))
        self.head, self.head_dist = nn.Linear(dims[-1], 1000), nn.Linear(dims[-1], 1000)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x).mean((2, 3))
        return (self.head(x) + self.head_dist(x)) / 2


def swiftformer_xs() -> nn.Module:
    return _SwiftFormer((3, 3, 6, 4), (48, 56, 112, 220))


# --------------------------------------------------------------------------------------------------------------------
# EdgeNeXt-XXS (timm/models/edgenext.py edgenext_xx_small: widths 24, 48, 88, 168, depths 2, 2, 6, 2, 4 heads,
# kernels 3, 5, 7, 9, d2 scales 2, 2, 3, 4, the last block of stages 1–3 a split depthwise-transpose attention
# block; Fourier position encoding in stage 1; channels-last LayerNorm and MLP)
# --------------------------------------------------------------------------------------------------------------------


class LayerNorm2d(nn.LayerNorm):
    """timm LayerNorm2d: LayerNorm over the channels of an NCHW map (permute, norm, permute back)."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class _EdgeConvBlock(nn.Module):
    def __init__(self, dim: int, k: int) -> None:
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, k, 1, k // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        y = self.gamma * self.mlp(self.norm(self.conv_dw(x).permute(0, 2, 3, 1)))
        return x + y.permute(0, 3, 1, 2)


class _FourierPosition(nn.Module):
    """PositionalEncodingFourier: sin/cos of normalised coordinates (32 each axis), projected by a 1×1 conv."""

    def __init__(self, dim: int, hidden: int = 32) -> None:
        super().__init__()
        self.token_projection, self.hidden = nn.Conv2d(2 * hidden, dim, 1), hidden

    def forward(self, h: int, w: int) -> Tensor:
        ones = torch.ones(1, h, w)
        y = ones.cumsum(1) / (h + 1e-6) * 2 * torch.pi
        x = ones.cumsum(2) / (w + 1e-6) * 2 * torch.pi
        dim_t = 10000.0 ** (2 * (torch.arange(self.hidden) // 2) / self.hidden)
        px, py = x[..., None] / dim_t, y[..., None] / dim_t
        px = torch.stack((px[..., 0::2].sin(), px[..., 1::2].cos()), dim=4).flatten(3)
        py = torch.stack((py[..., 0::2].sin(), py[..., 1::2].cos()), dim=4).flatten(3)
        return self.token_projection(torch.cat((py, px), dim=3).permute(0, 3, 1, 2))


class _XCA(nn.Module):
    """CrossCovarianceAttn: attention across channels, q and k L2-normalised over tokens, a learned temperature."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 4, 1).unbind(0)
        attn = nn.functional.normalize(q, dim=-1) @ nn.functional.normalize(k, dim=-1).transpose(-2, -1)
        x = ((attn * self.temperature).softmax(dim=-1) @ v).permute(0, 3, 1, 2).reshape(b, n, c)
        return self.proj(x)


class _SplitTransposeBlock(nn.Module):
    def __init__(self, dim: int, scales: int, heads: int, pos: bool) -> None:
        super().__init__()
        width = max(-(-dim // scales), dim // scales)
        self.convs = nn.ModuleList(nn.Conv2d(width, width, 3, 1, 1, groups=width) for _ in range(max(1, scales - 1)))
        self.pos_embd = _FourierPosition(dim) if pos else None
        self.norm_xca, self.gamma_xca, self.xca = nn.LayerNorm(dim, eps=1e-6), nn.Parameter(torch.ones(dim)), \
            _XCA(dim, heads)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        shortcut, parts = x, x.chunk(len(self.convs) + 1, dim=1)
        outs, sp = [], parts[0]
        for i, conv in enumerate(self.convs):
            sp = conv(sp if i == 0 else sp + parts[i])
            outs.append(sp)
        x = torch.cat([*outs, parts[-1]], 1)
        b, c, h, w = x.shape
        x = x.reshape(b, c, h * w).permute(0, 2, 1)
        if self.pos_embd is not None:
            x = x + self.pos_embd(h, w).reshape(b, -1, h * w).permute(0, 2, 1)
        x = x + self.gamma_xca * self.xca(self.norm_xca(x))
        x = self.gamma * self.mlp(self.norm(x.reshape(b, h, w, c)))
        return shortcut + x.permute(0, 3, 1, 2)


class _EdgeNeXt(nn.Module):
    def __init__(self, dims: tuple[int, ...], depths: tuple[int, ...], heads: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, dims[0], 4, 4), LayerNorm2d(dims[0], eps=1e-6)]
        kernels, scales, pos = (3, 5, 7, 9), (2, 2, 3, 4), (False, True, False, False)
        for i, (dim, depth) in enumerate(zip(dims, depths, strict=True)):
            if i:
                layers += [LayerNorm2d(dims[i - 1], eps=1e-6), nn.Conv2d(dims[i - 1], dim, 2, 2)]
            layers += [_EdgeConvBlock(dim, kernels[i]) for _ in range(depth - (1 if i else 0))]
            layers += [_SplitTransposeBlock(dim, scales[i], heads, pos[i])] if i else []
        self.stages = nn.Sequential(*layers)
        self.norm, self.fc = nn.LayerNorm(dims[-1], eps=1e-6), nn.Linear(dims[-1], 1000)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.norm(self.stages(x).mean((2, 3))))


def edgenext_xx_small() -> nn.Module:
    return _EdgeNeXt((24, 48, 88, 168), (2, 2, 6, 2), 4)


# --------------------------------------------------------------------------------------------------------------------
# MobileViTv2-050 (timm/models/mobilevit.py _mobilevitv2_cfg(0.5): widths 32, 64, 128, 192, 256, stem 16;
# MobileVitV2Block: dw 3×3, 1×1 to d = c/2, unfold as B×d×P×N, separable linear attention blocks with
# GroupNorm(1), fold, 1×1 conv-BN; no final conv)
# --------------------------------------------------------------------------------------------------------------------


class _LinearSelfAttention(nn.Module):
    """One 1×1 conv to a context score and keys and values; softmax over N, keys weighted and summed, ReLU(v)
    times that context vector, 1×1 out."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.qkv_proj, self.out_proj = nn.Conv2d(dim, 1 + 2 * dim, 1), nn.Conv2d(dim, dim, 1)

    def forward(self, x: Tensor) -> Tensor:
        query, key, value = self.qkv_proj(x).split([1, self.dim, self.dim], dim=1)
        context = (key * query.softmax(dim=-1)).sum(dim=-1, keepdim=True)
        return self.out_proj(value.relu() * context.expand_as(value))


class _LinearBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm1, self.attn = nn.GroupNorm(1, dim), _LinearSelfAttention(dim)
        self.norm2 = nn.GroupNorm(1, dim)
        self.mlp = nn.Sequential(nn.Conv2d(dim, 2 * dim, 1), nn.SiLU(), nn.Conv2d(2 * dim, dim, 1))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _MobileViTv2Block(nn.Module):
    def __init__(self, chs: int, depth: int, p: int = 2) -> None:
        super().__init__()
        dim = ref._make_divisible(chs * 0.5)
        self.conv_kxk = ref._conv_bn_act(chs, chs, 3, groups=chs, act=nn.SiLU)
        self.conv_1x1 = nn.Conv2d(chs, dim, 1, bias=False)
        self.transformer = nn.Sequential(*(_LinearBlock(dim) for _ in range(depth)))
        self.norm = nn.GroupNorm(1, dim)
        self.conv_proj = ref._conv_bn_act(dim, chs, 1, act=None)
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape  # whole patches at the sizes tested (timm resizes otherwise)
        p, nh, nw = self.p, h // self.p, w // self.p
        x = self.conv_1x1(self.conv_kxk(x))
        c = x.shape[1]
        x = x.reshape(b, c, nh, p, nw, p).permute(0, 1, 3, 5, 2, 4).reshape(b, c, -1, nh * nw)
        x = self.norm(self.transformer(x))
        x = x.reshape(b, c, p, p, nh, nw).permute(0, 1, 4, 2, 5, 3).reshape(b, c, h, w)
        return self.conv_proj(x)


def mobilevitv2_050() -> nn.Module:
    chs, stem = (32, 64, 128, 192, 256), 16
    layers: list[nn.Module] = [ref._conv_bn_act(3, stem, 3, 2, act=nn.SiLU), ref._ByobBottleneck(stem, chs[0], 1, 2),
                               ref._ByobBottleneck(chs[0], chs[1], 2, 2), ref._ByobBottleneck(chs[1], chs[1], 1, 2)]
    for prev, c, depth in zip(chs[1:4], chs[2:], (2, 4, 3), strict=True):
        layers += [ref._ByobBottleneck(prev, c, 2, 2), _MobileViTv2Block(c, depth)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(chs[-1], 1000)]
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------------------------------------------------
# EfficientViT-B0 (MIT; timm/models/efficientvit_mit.py efficientvit_b0: widths 8, 16, 32, 64, 128, depths 1, 2,
# 2, 2, 2, head_dim 16, head 1024, 1280, Hardswish; stages 3–4 have LiteMLA: ReLU linear attention Q·(KᵀV) with
# the values padded by a column of ones for the normaliser, over 5×5-aggregated multi-scale q, k, v)
# --------------------------------------------------------------------------------------------------------------------


def _cna(cin: int, cout: int, k: int = 1, s: int = 1, g: int = 1, bias: bool = False, norm: bool = True,
         act: bool = True) -> nn.Sequential:
    """efficientvit_mit ConvNormAct (padding (k − 1) // 2), its norm and Hardswish optional."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=g, bias=bias),
                         *([nn.BatchNorm2d(cout)] if norm else []), *([nn.Hardswish()] if act else []))


def _mbconv(cin: int, cout: int, s: int, fewer_norm: bool) -> nn.Sequential:
    mid = round(cin * 4)
    return nn.Sequential(_cna(cin, mid, bias=fewer_norm, norm=not fewer_norm),
                         _cna(mid, mid, 3, s, mid, bias=fewer_norm, norm=not fewer_norm),
                         _cna(mid, cout, act=False))


class _LiteMLA(nn.Module):
    def __init__(self, chs: int, dim: int) -> None:
        super().__init__()
        heads = chs // dim
        total, self.dim = heads * dim, dim
        self.qkv = _cna(chs, 3 * total, norm=False, act=False)
        self.aggreg = nn.Sequential(nn.Conv2d(3 * total, 3 * total, 5, 1, 2, groups=3 * total, bias=False),
                                    nn.Conv2d(3 * total, 3 * total, 1, groups=3 * heads, bias=False))
        self.proj = _cna(2 * total, chs, act=False)

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        qkv = self.qkv(x)
        qkv = torch.cat([qkv, self.aggreg(qkv)], dim=1).reshape(b, -1, 3 * self.dim, h * w).transpose(-1, -2)
        q, k, v = qkv.chunk(3, dim=-1)
        v = nn.functional.pad(v, (0, 1), mode="constant", value=1.0)
        out = q.relu() @ (k.relu().transpose(-1, -2) @ v)
        out = out[..., :-1] / (out[..., -1:] + 1e-5)
        return self.proj(out.transpose(-1, -2).reshape(b, -1, h, w))


def efficientvit_b0() -> nn.Module:
    widths, depths = (8, 16, 32, 64, 128), (1, 2, 2, 2, 2)
    dsconv = nn.Sequential(_cna(8, 8, 3, g=8), _cna(8, 8, act=False))
    layers: list[nn.Module] = [_cna(3, 8, 3, 2), Residual(dsconv)]
    for i, (prev, w, d) in enumerate(zip(widths[:-1], widths[1:], depths[1:], strict=True)):
        vit = i >= 2
        layers.append(_mbconv(prev, w, 2, vit))
        if vit:
            layers += [m for _ in range(d) for m in (Residual(_LiteMLA(w, 16)), Residual(_mbconv(w, w, 1, True)))]
        else:
            layers += [Residual(_mbconv(w, w, 1, False)) for _ in range(d - 1)]
    layers += [_cna(128, 1024, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1024, 1280, bias=False),
               nn.LayerNorm(1280), nn.Hardswish(), nn.Linear(1280, 1000)]
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------------------------------------------------
# SHViT-S1 (timm/models/shvit.py shvit_s1: widths 128, 224, 320, depths 2, 4, 5, partial dims 32, 48, 68, types
# i, s, s, qk_dim 16; single-head attention on the first pdim channels, GroupNorm(1) before it)
# --------------------------------------------------------------------------------------------------------------------


def _ffn(dim: int) -> nn.Module:
    return Residual(nn.Sequential(ConvNorm(dim, 2 * dim), nn.ReLU(), ConvNorm(2 * dim, dim)))


class _SHSA(nn.Module):
    def __init__(self, dim: int, qk: int, pdim: int) -> None:
        super().__init__()
        self.dim, self.qk, self.pdim = dim, qk, pdim
        self.pre_norm, self.qkv = nn.GroupNorm(1, pdim), ConvNorm(pdim, 2 * qk + pdim)
        self.proj = nn.Sequential(nn.ReLU(), ConvNorm(dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        x1, x2 = torch.split(x, [self.pdim, self.dim - self.pdim], dim=1)
        q, k, v = torch.split(self.qkv(self.pre_norm(x1)), [self.qk, self.qk, self.pdim], dim=1)
        q, k, v = q.flatten(2), k.flatten(2), v.flatten(2)
        attn = ((q.transpose(-2, -1) @ k) * self.qk**-0.5).softmax(dim=-1)
        x1 = (v @ attn.transpose(-2, -1)).reshape(b, self.pdim, h, w)
        return self.proj(torch.cat([x1, x2], dim=1))


def shvit_s1() -> nn.Module:
    dims, depths, pdims, types = (128, 224, 320), (2, 4, 5), (32, 48, 68), "iss"
    layers: list[nn.Module] = [ConvNorm(3, 16, 3, 2, act=nn.ReLU), ConvNorm(16, 32, 3, 2, act=nn.ReLU),
                               ConvNorm(32, 64, 3, 2, act=nn.ReLU), ConvNorm(64, 128, 3, 2)]
    prev = dims[0]
    for dim, depth, pdim, kind in zip(dims, depths, pdims, types, strict=True):
        if dim != prev:
            hid = 4 * prev
            merge = nn.Sequential(ConvNorm(prev, hid, act=nn.ReLU), ConvNorm(hid, hid, 3, 2, g=hid, act=nn.ReLU),
                                  SqueezeExcite(hid), ConvNorm(hid, dim))
            layers += [Residual(ConvNorm(prev, prev, 3, g=prev)), _ffn(prev), merge,
                       Residual(ConvNorm(dim, dim, 3, g=dim)), _ffn(dim)]
        for _ in range(depth):
            layers += [Residual(ConvNorm(dim, dim, 3, g=dim)), *([Residual(_SHSA(dim, 16, pdim))] if kind == "s"
                                                                 else []), _ffn(dim)]
        prev = dim
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), NormLinear(prev, 1000)]
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------------------------------------------------
# FastViT-T8 (timm/models/fastvit.py fastvit_t8: layers 2, 2, 4, 2, widths 48, 96, 192, 384, MLP ×3, RepMixer in
# every stage; counted as trained, before reparameterisation: MobileOne branches, BN identity branches)
# --------------------------------------------------------------------------------------------------------------------


class _MobileOne(nn.Module):
    """MobileOneBlock (train-time): BN identity (in = out, stride 1), k×k conv + BN branches, a 1×1 conv + BN
    scale branch (k > 1), summed; then SE and GELU where asked. ``groups`` as timm's num_groups(group_size)."""

    def __init__(self, cin: int, cout: int, k: int, s: int = 1, groups: int = 1, branches: int = 1,
                 scale: bool = True, act: bool = True, se: bool = False) -> None:
        super().__init__()
        self.identity = nn.BatchNorm2d(cin) if cin == cout and s == 1 else None
        self.conv_kxk = nn.ModuleList(ConvNorm(cin, cout, k, s, g=groups) for _ in range(branches))
        self.conv_scale = ConvNorm(cin, cout, 1, s, g=groups) if k > 1 and scale else None
        self.se = SqueezeExcite(cout, 1 / 16, 1) if se else nn.Identity()
        self.act = nn.GELU() if act else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out = self.identity(x) if self.identity is not None else 0
        out = out + (self.conv_scale(x) if self.conv_scale is not None else 0)
        for conv in self.conv_kxk:
            out = out + conv(x)
        return self.act(self.se(out))


class _LargeKernel(nn.Module):
    """ReparamLargeKernelConv: a 7×7 conv + BN and a 3×3 conv + BN of the same stride and groups, summed."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.large_conv, self.small_conv = ConvNorm(cin, cout, 7, 2, g=cin), ConvNorm(cin, cout, 3, 2, g=cin)

    def forward(self, x: Tensor) -> Tensor:
        return self.large_conv(x) + self.small_conv(x)


class _RepMixerBlock(nn.Module):
    """x + γ₁·(mixer(x) − norm(x)), then x + γ₂·ConvMlp(x) (7×7 depthwise conv + BN, 1×1 ×3, GELU, 1×1)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = _MobileOne(dim, dim, 3, groups=dim, branches=0, scale=False, act=False)
        self.mixer = _MobileOne(dim, dim, 3, groups=dim, act=False)
        self.ls1, self.ls2 = LayerScale2d(dim), LayerScale2d(dim)
        self.mlp = nn.Sequential(ConvNorm(dim, dim, 7, g=dim), nn.Conv2d(dim, 3 * dim, 1), nn.GELU(),
                                 nn.Conv2d(3 * dim, dim, 1))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.ls1(self.mixer(x) - self.norm(x))
        return x + self.ls2(self.mlp(x))


def fastvit_t8() -> nn.Module:
    dims, layers = (48, 96, 192, 384), (2, 2, 4, 2)
    blocks: list[nn.Module] = [_MobileOne(3, 48, 3, 2), _MobileOne(48, 48, 3, 2, groups=48), _MobileOne(48, 48, 1)]
    prev = dims[0]
    for i, (dim, n) in enumerate(zip(dims, layers, strict=True)):
        if i:  # PatchEmbed: large-kernel conv (groups = in channels), then a 1×1 MobileOne block
            blocks += [_LargeKernel(prev, dim), _MobileOne(dim, dim, 1)]
        blocks += [_RepMixerBlock(dim) for _ in range(n)]
        prev = dim
    blocks += [_MobileOne(prev, 2 * prev, 3, groups=prev, se=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Linear(2 * prev, 1000)]
    return nn.Sequential(*blocks)


# --------------------------------------------------------------------------------------------------------------------
# the zoo
# --------------------------------------------------------------------------------------------------------------------

# name → (factory of the module at the size tested, that size, factory of the full published model)
ZOO: dict[str, tuple[Callable[[], nn.Module], int, Callable[[], nn.Module]]] = {
    "mobilevit_xxs": (mobilevit_xxs, 128, mobilevit_xxs),
    "mobilevit_s": (mobilevit_s, 128, mobilevit_s),
    "deit_small": (lambda: deit_small(64), 64, deit_small),
    "vit_base": (lambda: vit_base(64), 64, vit_base),
    "efficientformer_l3": (lambda: efficientformer_l3(128), 128, efficientformer_l3),
    "mobilenetv4_hybrid_large": (mobilenetv4_hybrid_large, 128, lambda: mobilenetv4_hybrid_large(384)),
    "levit_128s": (lambda: levit_128s(128), 128, levit_128s),
    "efficientvit_m0": (efficientvit_m0, 224, efficientvit_m0),
    "tiny_vit_5m": (tiny_vit_5m, 224, tiny_vit_5m),
    "swin_tiny": (swin_tiny, 224, swin_tiny),
    "swiftformer_xs": (swiftformer_xs, 128, swiftformer_xs),
    "edgenext_xx_small": (edgenext_xx_small, 128, edgenext_xx_small),
    "mobilevitv2_050": (mobilevitv2_050, 128, mobilevitv2_050),
    "efficientvit_b0": (efficientvit_b0, 128, efficientvit_b0),
    "shvit_s1": (shvit_s1, 128, shvit_s1),
    "fastvit_t8": (fastvit_t8, 128, fastvit_t8),
}

# timm results/results-imagenet.csv (commit aa4b585), param_count in millions to 2 decimals
PUBLISHED = {
    "mobilevit_xxs": 1.27, "mobilevit_s": 5.58, "deit_small": 22.05, "vit_base": 86.57, "efficientformer_l3": 31.41,
    "mobilenetv4_hybrid_large": 37.76, "levit_128s": 7.78, "efficientvit_m0": 2.35, "tiny_vit_5m": 5.39,
    "swin_tiny": 28.29, "swiftformer_xs": 3.48, "edgenext_xx_small": 1.33, "mobilevitv2_050": 1.37,
    "efficientvit_b0": 3.41, "shvit_s1": 6.33, "fastvit_t8": 4.03,
}
