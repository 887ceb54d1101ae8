"""Reference modules for the vocabulary outside attention (issue 21): TensorFlow ports with run-time "same" padding,
FasterNet's partial convolution (an unequal channel split), PoolFormer's GroupNorm and pool − x, FastViT's RepMixer
x + γ·(mixer(x) − norm(x)) and an L2-normalised head (SSD300's L2Norm with a learned scale).

timm cannot be installed here, so each is written in plain ``torch.nn`` from the upstream definition its docstring
names (huggingface/pytorch-image-models); what decides cost and graph shape is reproduced (widths, kernels,
strides, padding, groups, biases, norms, activations, joins), weight initialisation and drop paths are left out.
``PUBLISHED_PARAMS`` pins each module's parameter count to the figure timm publishes.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from . import reference_models as ref

# --------------------------------------------------------------------------------------------------------------------
# TensorFlow "same" padding, computed at run time (timm/layers/padding.py, conv2d_same.py, pool2d_same.py)
# --------------------------------------------------------------------------------------------------------------------


def get_same_padding(x: int | Tensor, kernel: int, stride: int, dilation: int) -> int | Tensor:
    """timm's ``get_same_padding``: (⌈x/s⌉ − 1)·s + (k − 1)·d + 1 − x, at least 0 — ``torch.clamp`` (ONNX Clip)
    when the size is a tensor, ``max`` when it is an int."""
    if isinstance(x, Tensor):
        return torch.clamp(((x / stride).ceil() - 1) * stride + (kernel - 1) * dilation + 1 - x, min=0)
    return max((math.ceil(x / stride) - 1) * stride + (kernel - 1) * dilation + 1 - x, 0)


def pad_same(x: Tensor, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int] = (1, 1),
             value: float = 0.0, *, tensor_sizes: bool = False) -> Tensor:
    """timm's ``pad_same``: F.pad with (left, right, top, bottom) = (pw//2, pw − pw//2, ph//2, ph − ph//2).
    ``tensor_sizes``: read H and W as tensors (``torch._shape_as_tensor``), so the pads are computed by tensor
    arithmetic in the graph (Shape, Gather, Div, Ceil, Clip) as under scripting, not by Python on traced ints."""
    if tensor_sizes:
        ih, iw = torch._shape_as_tensor(x)[-2:]
    else:
        ih, iw = x.size()[-2:]
    ph = get_same_padding(ih, kernel[0], stride[0], dilation[0])
    pw = get_same_padding(iw, kernel[1], stride[1], dilation[1])
    if tensor_sizes:
        ph, pw = ph.long(), pw.long()  # type: ignore[union-attr]
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=value)


class Conv2dSame(nn.Conv2d):
    """timm's ``Conv2dSame``: TensorFlow "same" padding computed from the input size, then an unpadded conv."""

    tensor_sizes = False

    def forward(self, x: Tensor) -> Tensor:
        x = pad_same(x, self.weight.shape[-2:], self.stride, self.dilation, tensor_sizes=self.tensor_sizes)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MaxPool2dSame(nn.MaxPool2d):
    """timm's ``MaxPool2dSame``: −∞ "same" padding, then an unpadded max pool."""

    def forward(self, x: Tensor) -> Tensor:
        k, s = nn.modules.utils._pair(self.kernel_size), nn.modules.utils._pair(self.stride)
        return F.max_pool2d(pad_same(x, k, s, value=-float("inf")), k, s, 0, self.dilation, self.ceil_mode)


def _is_static_pad(kernel: int, stride: int, dilation: int) -> bool:
    """timm's ``is_static_pad``: "same" is a plain symmetric padding when stride 1 and d·(k − 1) is even."""
    return stride == 1 and (dilation * (kernel - 1)) % 2 == 0


def tf_port(model: nn.Module, *, tensor_sizes: bool = False) -> nn.Module:
    """``model`` as timm builds its ``tf_`` variant (``padding='same'`` in ``create_conv2d_pad``): every convolution
    whose "same" padding is not static becomes a :class:`Conv2dSame` with the same weights (the static ones already
    pad (k − 1)/2 on each side, as timm's ``get_padding`` gives)."""
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Conv2d and not _is_static_pad(child.kernel_size[0], child.stride[0],
                                                                 child.dilation[0]):
                same = Conv2dSame(child.in_channels, child.out_channels, child.kernel_size, child.stride, 0,
                                  child.dilation, child.groups, child.bias is not None)
                same.load_state_dict(child.state_dict())
                same.tensor_sizes = tensor_sizes
                setattr(parent, name, same)
    return model.eval()


def tf_mobilenetv3_large_100() -> nn.Module:
    """timm ``tf_mobilenetv3_large_100`` (timm/models/mobilenetv3.py ``_gen_mobilenet_v3`` with ``pad_type='same'``):
    MobileNetV3-Large 1.0 whose five stride-2 convolutions pad as TensorFlow does. The network is
    ``reference_models.mobilenet_v3_large`` (torchvision's, whose Linear head counts as timm's 1×1 conv_head)."""
    return tf_port(ref.mobilenet_v3_large(1.0))


def tf_efficientnet_b0() -> nn.Module:
    """timm ``tf_efficientnet_b0`` (timm/models/efficientnet.py ``_gen_efficientnet`` with ``pad_type='same'``):
    EfficientNet-B0 whose stride-2 convolutions pad as TensorFlow does, the pads computed by tensor arithmetic
    (timm's ``get_same_padding`` tensor branch, ``torch.clamp``)."""
    return tf_port(ref.efficientnet_b0(), tensor_sizes=True)


class _TFStemNet(nn.Module):
    """A small network with TensorFlow "same" max pooling after the stem (timm's ``create_pool2d(..., padding=
    'same')`` → ``MaxPool2dSame``), as TF ResNet ports write it."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(Conv2dSame(3, 16, 7, 2, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.pool = MaxPool2dSame(3, 2)
        self.body = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.fc = nn.Linear(32, 10)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.body(self.pool(self.stem(x))).mean((2, 3)))


# --------------------------------------------------------------------------------------------------------------------
# FasterNet (timm/models/fasternet.py): partial convolution on 1/4 of the channels, split [C/4, 3C/4]
# --------------------------------------------------------------------------------------------------------------------


class _PartialConv3(nn.Module):
    """``Partial_conv3`` (split_cat): a 3×3 conv on the first C/n_div channels, the rest untouched."""

    def __init__(self, dim: int, n_div: int) -> None:
        super().__init__()
        self.dim_conv3 = dim // n_div
        self.dim_untouched = dim - self.dim_conv3
        self.partial_conv3 = nn.Conv2d(self.dim_conv3, self.dim_conv3, 3, 1, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = torch.split(x, [self.dim_conv3, self.dim_untouched], dim=1)
        return torch.cat((self.partial_conv3(x1), x2), 1)


class _FasterBlock(nn.Module):
    """``MLPBlock``: partial conv, then 1×1 (2C) → BN → act → 1×1 (C), residual (no layer scale)."""

    def __init__(self, dim: int, act: Callable[[], nn.Module]) -> None:
        super().__init__()
        self.spatial_mixing = _PartialConv3(dim, 4)
        self.mlp = nn.Sequential(nn.Conv2d(dim, 2 * dim, 1, bias=False), nn.BatchNorm2d(2 * dim), act(),
                                 nn.Conv2d(2 * dim, dim, 1, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.mlp(self.spatial_mixing(x))


class FasterNet(nn.Module):
    """``FasterNet``: PatchEmbed 4×4/4 conv + BN; stages of MLPBlocks, each after the first led by PatchMerging
    (2×2/2 conv to 2C + BN); global pool → 1×1 conv_head (1280, no bias) → act → Linear."""

    def __init__(self, embed_dim: int = 40, depths: tuple[int, ...] = (1, 2, 8, 2),
                 act: Callable[[], nn.Module] = nn.GELU, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, embed_dim, 4, 4, bias=False), nn.BatchNorm2d(embed_dim)]
        for i, depth in enumerate(depths):
            dim = embed_dim * 2 ** i
            if i:
                layers += [nn.Conv2d(dim // 2, dim, 2, 2, bias=False), nn.BatchNorm2d(dim)]
            layers += [_FasterBlock(dim, act) for _ in range(depth)]
        self.features = nn.Sequential(*layers)
        self.conv_head = nn.Conv2d(embed_dim * 2 ** (len(depths) - 1), 1280, 1, bias=False)
        self.act = act()
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(self.act(self.conv_head(x)), 1))


# --------------------------------------------------------------------------------------------------------------------
# PoolFormer-S12 (timm/models/metaformer.py, poolformer_s12 = MetaFormer v1): GroupNorm(1, C), pool(x) − x
# --------------------------------------------------------------------------------------------------------------------


class _GroupNorm1(nn.GroupNorm):
    """timm's ``GroupNorm1``: GroupNorm with one group."""

    def __init__(self, channels: int) -> None:
        super().__init__(1, channels)


class _Pooling(nn.Module):
    """``Pooling``: avg_pool 3×3/1 (padding 1, count_include_pad=False) minus the input."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(x) - x


class _Scale(nn.Module):
    """timm's ``Scale`` (layer scale on a map): x · γ, γ of shape (C, 1, 1)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(1e-5 * torch.ones(dim, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale


class _PoolFormerBlock(nn.Module):
    """``MetaFormerBlock`` of v1: x + ls1·mixer(norm1(x)); x + ls2·mlp(norm2(x)); mlp 1×1 4C (bias), GELU, 1×1 C."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm1, self.token_mixer, self.ls1 = _GroupNorm1(dim), _Pooling(), _Scale(dim)
        self.norm2, self.ls2 = _GroupNorm1(dim), _Scale(dim)
        self.mlp = nn.Sequential(nn.Conv2d(dim, 4 * dim, 1), nn.GELU(), nn.Conv2d(4 * dim, dim, 1))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.ls1(self.token_mixer(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class PoolFormer(nn.Module):
    """``poolformer_s12``: stem 7×7/4 (padding 2, bias); stages (2, 2, 6, 2) at (64, 128, 320, 512), each after the
    first led by a 3×3/2 conv (padding 1, bias); GroupNorm1 → global mean → Linear head."""

    def __init__(self, depths: tuple[int, ...] = (2, 2, 6, 2), dims: tuple[int, ...] = (64, 128, 320, 512),
                 num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, dims[0], 7, 4, 2)]
        for i, (depth, dim) in enumerate(zip(depths, dims, strict=True)):
            if i:
                layers.append(nn.Conv2d(dims[i - 1], dim, 3, 2, 1))
            layers += [_PoolFormerBlock(dim) for _ in range(depth)]
        self.features = nn.Sequential(*layers)
        self.norm = _GroupNorm1(dims[-1])
        self.head = nn.Linear(dims[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.norm(self.features(x)).mean((2, 3)))


# --------------------------------------------------------------------------------------------------------------------
# FastViT's RepMixer stages (timm/models/fastvit.py: RepMixer, RepMixerBlock, ConvMlp, MobileOneBlock), unfused
# --------------------------------------------------------------------------------------------------------------------


class _ConvBN(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout))


class _MobileOneDW(nn.Module):
    """``MobileOneBlock`` (unfused, no act) as RepMixer's ``mixer``: identity BN + k×k depthwise conv-BN + 1×1
    depthwise conv-BN (the scale branch), summed."""

    def __init__(self, dim: int, k: int = 3) -> None:
        super().__init__()
        self.identity = nn.BatchNorm2d(dim)
        self.conv_kxk = _ConvBN(dim, dim, k, groups=dim)
        self.conv_scale = _ConvBN(dim, dim, 1, groups=dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.identity(x) + self.conv_kxk(x) + self.conv_scale(x)


class _RepMixer(nn.Module):
    """``RepMixer`` (unfused): x + layer_scale·(mixer(x) − norm(x)), norm a BN-only MobileOneBlock."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(dim)
        self.mixer = _MobileOneDW(dim)
        self.layer_scale = nn.Parameter(1e-5 * torch.ones(dim, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.layer_scale * (self.mixer(x) - self.norm(x))


class _RepMixerBlock(nn.Module):
    """``RepMixerBlock``: RepMixer, then x + layer_scale·ConvMlp(x): 7×7 depthwise conv-BN, 1×1 (3C, bias), GELU,
    1×1 (C, bias)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.token_mixer = _RepMixer(dim)
        self.mlp = nn.Sequential(_ConvBN(dim, dim, 7, groups=dim), nn.Conv2d(dim, 3 * dim, 1), nn.GELU(),
                                 nn.Conv2d(3 * dim, dim, 1))
        self.layer_scale = nn.Parameter(1e-5 * torch.ones(dim, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        x = self.token_mixer(x)
        return x + self.layer_scale * self.mlp(x)


class RepMixerNet(nn.Module):
    """FastViT-T8's convolutional plan, shortened: stem 3×3/2 conv-BN-GELU, 3×3/2 depthwise conv-BN-GELU, 1×1
    conv-BN-GELU; stages of RepMixer blocks at (48, 96, 192), each after the first led by a 7×7/2 depthwise
    conv-BN and a 1×1 conv-BN-GELU (PatchEmbed without its reparameterised small kernel); global pool → Linear.
    Not a published network: a held-out RepMixer (Sub) target."""

    def __init__(self, depths: tuple[int, ...] = (2, 2, 2), dims: tuple[int, ...] = (48, 96, 192),
                 num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [_ConvBN(3, dims[0], 3, 2), nn.GELU(), _ConvBN(dims[0], dims[0], 3, 2, dims[0]),
                                   nn.GELU(), _ConvBN(dims[0], dims[0], 1), nn.GELU()]
        for i, (depth, dim) in enumerate(zip(depths, dims, strict=True)):
            if i:
                layers += [_ConvBN(dims[i - 1], dims[i - 1], 7, 2, dims[i - 1]), _ConvBN(dims[i - 1], dim, 1),
                           nn.GELU()]
            layers += [_RepMixerBlock(dim) for _ in range(depth)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(dims[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).mean((2, 3)))


# --------------------------------------------------------------------------------------------------------------------
# An L2-normalised feature (SSD300's L2Norm on conv4_3 with its learned scale; a plain F.normalize)
# --------------------------------------------------------------------------------------------------------------------


class _L2Norm(nn.Module):
    """torchvision's SSD300 L2 normalisation of conv4_3 (torchvision/models/detection/ssd.py,
    ``SSDFeatureExtractorVGG``): ``scale_weight.view(1, -1, 1, 1) * F.normalize(x)``, γ initialised to 20."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale_weight = nn.Parameter(torch.ones(channels) * 20)

    def forward(self, x: Tensor) -> Tensor:
        return self.scale_weight.view(1, -1, 1, 1) * F.normalize(x)


class L2NormNet(nn.Module):
    """VGG-style conv stack, an L2Norm with learned scale on the 64-channel map (SSD's conv4_3 head), a plain L2
    normalisation of the pooled feature, a classifier. Not a published network: a held-out L2-norm target."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, 1, 1),
                                  nn.ReLU())
        self.l2 = _L2Norm(64)
        self.head = nn.Conv2d(64, 64, 3, 2, 1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.head(self.l2(self.body(x)))
        return self.fc(torch.flatten(F.normalize(F.adaptive_avg_pool2d(x, 1), dim=1), 1))


VOCAB_ZOO: dict[str, Callable[[], nn.Module]] = {
    "tf_mobilenetv3_large_100": tf_mobilenetv3_large_100,
    "tf_efficientnet_b0": tf_efficientnet_b0,
    "tf_stem_maxpool": _TFStemNet,
    "fasternet_t0": FasterNet,
    "poolformer_s12": PoolFormer,
    "repmixer_net": RepMixerNet,
    "l2norm_net": L2NormNet,
}

# timm's published totals (every parameter, norms included): tf_mobilenetv3_large_100 5.48 M, tf_efficientnet_b0
# 5.29 M, fasternet_t0 3.9 M, poolformer_s12 11.9 M; the exact figures are timm's model cards.
PUBLISHED_PARAMS_M = {"tf_mobilenetv3_large_100": 5.48, "tf_efficientnet_b0": 5.29, "fasternet_t0": 3.9,
                      "poolformer_s12": 11.9}

NORMS = (nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm2d)


def build(name: str) -> nn.Module:
    torch.manual_seed(0)
    return VOCAB_ZOO[name]().eval()


def module_counts(model: nn.Module, size: int) -> dict[str, int]:
    """Mult-Adds = fvcore's conv + linear count at ``size``×``size``; params = every parameter but the norms' γ, β
    (conv and linear weights and biases, layer scales, L2Norm's γ); bn_params = BatchNorm's and GroupNorm's γ, β."""
    mult_adds = ref.counts(model, size)["mult_adds"]
    norm = sum(p.numel() for m in model.modules() if isinstance(m, NORMS) for p in m.parameters(recurse=False))
    total = sum(p.numel() for p in model.parameters())
    return {"mult_adds": mult_adds, "params": total - norm, "bn_params": norm}
