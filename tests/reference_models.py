"""Independent plain-``torch.nn`` re-implementations of nine classification networks, for cross-checking mobcost.

torchvision and timm are not installable in this environment, so each network is rebuilt here from the upstream
definitions (the source read for each builder is cited in its comment). Only the structure that determines cost is
reproduced faithfully: layer order, channel counts and their rounding rules, kernel sizes, strides, padding, groups and
which convolutions carry a bias. Weight initialisation, stochastic depth and pretrained-weight plumbing are left out;
none of them changes a count.

``counts(model)`` returns fvcore's conv+linear Mult-Adds at ``size``×``size``, the Conv2d/Linear parameter count
(weights and biases) and the BatchNorm2d affine parameter count (γ and β). The expected figures for the default widths
live in ``tests/test_reference_models.py``; they were taken from torchvision / timm themselves, so they check this file
rather than being derived from it.

Every factory returns a module in eval mode and takes ``num_classes=1000`` plus its network's own width parameter:

* ``mobilenet_v2``: ``width_mult``, the stem and block widths ``_make_divisible(c·w, 8)``, the last 1×1 conv
  ``_make_divisible(1280·max(1, w), 8)``.
* ``mobilenet_v3_large`` / ``mobilenet_v3_small``: ``width_mult``, every channel ``_make_divisible(c·w, 8)``.
* ``efficientnet_b0``: ``width_mult`` (and ``depth_mult``), channels ``_make_divisible(c·w, 8)``, repeats ``⌈r·d⌉``.
* ``resnet18`` / ``resnet50``: no width parameter upstream; ``width_mult`` must be 1.0.
* ``shufflenet_v2_x1_0``: ``width_mult`` in {0.5, 1.0, 1.5, 2.0}, looked up in torchvision's stage-width table.
* ``mnasnet1_0``: ``alpha``, depths ``_round_to_multiple_of(d·α, 8, 0.9)`` (torchvision ``MNASNet._version == 2``).
* ``mobilenet_v4_conv_small``: ``width_mult`` as timm's ``channel_multiplier`` (see its builder for the caveats).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "FACTORIES",
    "counts",
    "efficientnet_b0",
    "mnasnet1_0",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "mobilenet_v4_conv_small",
    "resnet18",
    "resnet50",
    "shufflenet_v2_x1_0",
]



# --------------------------------------------------------------------------------------------------------------------
# Rounding rules
# --------------------------------------------------------------------------------------------------------------------


def _make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision ``models/_utils.py::_make_divisible``; timm's ``make_divisible`` (round_limit=0.9) is identical."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # never round down by more than 10%
        new_v += divisor
    return new_v


def _round_to_multiple_of(val: float, divisor: int = 8, round_up_bias: float = 0.9) -> int:
    """torchvision ``models/mnasnet.py::_round_to_multiple_of`` (same arithmetic as ``_make_divisible``)."""
    new_val = max(divisor, int(val + divisor / 2) // divisor * divisor)
    return new_val if new_val >= round_up_bias * val else new_val + divisor


# --------------------------------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------------------------------


def _conv_bn_act(
    cin: int,
    cout: int,
    k: int,
    stride: int = 1,
    groups: int = 1,
    act: Callable[[], nn.Module] | None = nn.ReLU,
) -> nn.Sequential:
    """torchvision ``ops/misc.py::Conv2dNormActivation``: padding (k-1)//2, no conv bias when a norm follows."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class _SqueezeExcitation(nn.Module):
    """torchvision ``ops/misc.py::SqueezeExcitation``: avg-pool, 1×1 conv (bias), act, 1×1 conv (bias), gate."""

    def __init__(
        self, channels: int, squeeze: int, act: Callable[[], nn.Module], gate: Callable[[], nn.Module]
    ) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.activation = act()
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.scale_activation = gate()

    def forward(self, x: Tensor) -> Tensor:
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return s * x


class _Residual(nn.Module):
    """``body(x) + x`` when ``skip`` is set, else ``body(x)``."""

    def __init__(self, body: nn.Module, skip: bool) -> None:
        super().__init__()
        self.body = body
        self.skip = skip

    def forward(self, x: Tensor) -> Tensor:
        out = self.body(x)
        return out + x if self.skip else out


class _Classifier(nn.Module):
    """features → global average pool → flatten → head."""

    def __init__(self, features: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = head

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# --------------------------------------------------------------------------------------------------------------------
# MobileNetV2
# --------------------------------------------------------------------------------------------------------------------

# (t, c, n, s): expansion, output channels, repeats, stride of the first — Sandler et al. 2018, Table 2, as in
# torchvision's MobileNetV2.__init__ (inverted_residual_setting).
_MNV2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenet_v2(width_mult: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """torchvision ``mobilenet_v2(width_mult=…)`` (TF-Slim's released 0.35…1.4 checkpoints have the same widths)."""
    # Source: pytorch/vision torchvision/models/mobilenetv2.py (MobileNetV2, InvertedResidual) and
    # torchvision/models/_utils.py (_make_divisible). The stem's 32 and every block output go through
    # _make_divisible(c * width_mult, 8); the last 1×1 conv is _make_divisible(1280 * max(1.0, width_mult), 8)
    # (kept at 1280 below width 1, widened above); hidden = int(round(inp * t)), no expansion conv where t == 1.
    def adj(c: float) -> int:
        return _make_divisible(c * width_mult, 8)

    cin = adj(32)
    layers: list[nn.Module] = [_conv_bn_act(3, cin, 3, 2, act=nn.ReLU6)]
    for t, c, n, s in _MNV2:
        cout = adj(c)
        for i in range(n):
            stride, hidden = (s if i == 0 else 1), round(cin * t)
            block: list[nn.Module] = [_conv_bn_act(cin, hidden, 1, act=nn.ReLU6)] if t != 1 else []
            block.append(_conv_bn_act(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6))
            block.append(_conv_bn_act(hidden, cout, 1, act=None))
            layers.append(_Residual(nn.Sequential(*block), skip=stride == 1 and cin == cout))
            cin = cout
    last = _make_divisible(1280 * max(1.0, width_mult), 8)
    layers.append(_conv_bn_act(cin, last, 1, act=nn.ReLU6))
    head = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(last, num_classes))
    return _Classifier(nn.Sequential(*layers), head).eval()


# --------------------------------------------------------------------------------------------------------------------
# MobileNetV3
# --------------------------------------------------------------------------------------------------------------------

# (input, kernel, expanded, out, use_se, activation, stride) from torchvision _mobilenet_v3_conf (no reduced tail,
# no dilation).
_MNV3_LARGE = [
    (16, 3, 16, 16, False, "RE", 1),
    (16, 3, 64, 24, False, "RE", 2),
    (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2),
    (80, 3, 200, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 480, 112, True, "HS", 1),
    (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2),
    (160, 5, 960, 160, True, "HS", 1),
    (160, 5, 960, 160, True, "HS", 1),
]
_MNV3_SMALL = [
    (16, 3, 16, 16, True, "RE", 2),
    (16, 3, 72, 24, False, "RE", 2),
    (24, 3, 88, 24, False, "RE", 1),
    (24, 5, 96, 40, True, "HS", 2),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1),
    (48, 5, 144, 48, True, "HS", 1),
    (48, 5, 288, 96, True, "HS", 2),
    (96, 5, 576, 96, True, "HS", 1),
    (96, 5, 576, 96, True, "HS", 1),
]


def _mobilenet_v3(setting: list[tuple], last_channel: int, width_mult: float, num_classes: int) -> nn.Module:
    # Source: pytorch/vision torchvision/models/mobilenetv3.py (MobileNetV3, InvertedResidual, SqueezeExcitation,
    # _mobilenet_v3_conf) and torchvision/models/_utils.py (_make_divisible).
    # Every channel in the table, the stem (= first block's input) and last_channel go through
    # _make_divisible(c * width_mult, 8); the last 1×1 conv is 6 × the (already rounded) last block output.
    def adj(c: int) -> int:
        return _make_divisible(c * width_mult, 8)

    layers: list[nn.Module] = [_conv_bn_act(3, adj(setting[0][0]), 3, 2, act=nn.Hardswish)]
    for cin, k, exp, cout, use_se, nl, stride in setting:
        cin, exp, cout = adj(cin), adj(exp), adj(cout)
        act = nn.Hardswish if nl == "HS" else nn.ReLU
        block: list[nn.Module] = []
        if exp != cin:
            block.append(_conv_bn_act(cin, exp, 1, act=act))
        block.append(_conv_bn_act(exp, exp, k, stride, groups=exp, act=act))
        if use_se:  # squeeze from the expanded width, rounded to 8; ReLU inside, hardsigmoid gate
            block.append(_SqueezeExcitation(exp, _make_divisible(exp // 4, 8), nn.ReLU, nn.Hardsigmoid))
        block.append(_conv_bn_act(exp, cout, 1, act=None))
        layers.append(_Residual(nn.Sequential(*block), skip=stride == 1 and cin == cout))
    last_in = adj(setting[-1][3])
    layers.append(_conv_bn_act(last_in, 6 * last_in, 1, act=nn.Hardswish))
    head = nn.Sequential(
        nn.Linear(6 * last_in, adj(last_channel)),
        nn.Hardswish(),
        nn.Dropout(p=0.2),
        nn.Linear(adj(last_channel), num_classes),
    )
    return _Classifier(nn.Sequential(*layers), head).eval()


def mobilenet_v3_large(width_mult: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """torchvision ``mobilenet_v3_large`` (see ``_mobilenet_v3`` for the source)."""
    return _mobilenet_v3(_MNV3_LARGE, 1280, width_mult, num_classes)


def mobilenet_v3_small(width_mult: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """torchvision ``mobilenet_v3_small`` (see ``_mobilenet_v3`` for the source)."""
    return _mobilenet_v3(_MNV3_SMALL, 1024, width_mult, num_classes)


# --------------------------------------------------------------------------------------------------------------------
# EfficientNet-B0
# --------------------------------------------------------------------------------------------------------------------

# (expand_ratio, kernel, stride, input, out, num_layers) from torchvision _efficientnet_conf("efficientnet_b0").
_EFFNET_B0 = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]


def efficientnet_b0(width_mult: float = 1.0, num_classes: int = 1000, depth_mult: float = 1.0) -> nn.Module:
    """torchvision ``efficientnet_b0``; B1–B7 differ only in (width_mult, depth_mult, dropout) and input size."""

    # Source: pytorch/vision torchvision/models/efficientnet.py (MBConvConfig, MBConv, EfficientNet,
    # _efficientnet_conf) and torchvision/ops/misc.py (Conv2dNormActivation, SqueezeExcitation).
    # Block in/out channels: _make_divisible(c * width_mult, 8); expanded = _make_divisible(in * ratio, 8);
    # SE squeeze = max(1, block_in // 4) — from the block *input*, not the expanded width, and not rounded;
    # repeats = ceil(n * depth_mult); head conv = 4 × last block output; stochastic depth omitted (identity in eval).
    def adj(c: float) -> int:
        return _make_divisible(c * width_mult, 8)

    layers: list[nn.Module] = [_conv_bn_act(3, adj(_EFFNET_B0[0][3]), 3, 2, act=nn.SiLU)]
    for ratio, k, stride, cin, cout, n in _EFFNET_B0:
        cin, cout = adj(cin), adj(cout)
        stage: list[nn.Module] = []
        for i in range(int(-(-n * depth_mult // 1))):  # ceil
            b_in, b_stride = (cin, stride) if i == 0 else (cout, 1)
            exp = _make_divisible(b_in * ratio, 8)
            block: list[nn.Module] = []
            if exp != b_in:
                block.append(_conv_bn_act(b_in, exp, 1, act=nn.SiLU))
            block.append(_conv_bn_act(exp, exp, k, b_stride, groups=exp, act=nn.SiLU))
            block.append(_SqueezeExcitation(exp, max(1, b_in // 4), nn.SiLU, nn.Sigmoid))
            block.append(_conv_bn_act(exp, cout, 1, act=None))
            stage.append(_Residual(nn.Sequential(*block), skip=b_stride == 1 and b_in == cout))
        layers.append(nn.Sequential(*stage))
    last_in = adj(_EFFNET_B0[-1][4])
    layers.append(_conv_bn_act(last_in, 4 * last_in, 1, act=nn.SiLU))
    head = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(4 * last_in, num_classes))
    return _Classifier(nn.Sequential(*layers), head).eval()


# --------------------------------------------------------------------------------------------------------------------
# ResNet
# --------------------------------------------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    """torchvision v1.5 bottleneck (stride on the 3×3); width = planes · base_width / 64 · groups."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class _ResNet(nn.Module):
    def __init__(self, block: type[BasicBlock | Bottleneck], layers: list[int], num_classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = 64
        stages = []
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
            stride = 1 if i == 0 else 2
            blocks: list[nn.Module] = []
            for j in range(n):
                downsample = None
                if j == 0 and (stride != 1 or inplanes != planes * block.expansion):
                    downsample = nn.Sequential(
                        nn.Conv2d(inplanes, planes * block.expansion, 1, stride, bias=False),
                        nn.BatchNorm2d(planes * block.expansion),
                    )
                blocks.append(block(inplanes, planes, stride if j == 0 else 1, downsample))
                inplanes = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _check_unit_width(name: str, width_mult: float) -> None:
    if width_mult != 1.0:
        raise ValueError(f"{name} has no width multiplier upstream; only width_mult=1.0 is supported")


def resnet18(width_mult: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """torchvision ``resnet18``."""
    # Source: pytorch/vision torchvision/models/resnet.py (BasicBlock, ResNet, resnet18: [2, 2, 2, 2]).
    _check_unit_width("resnet18", width_mult)
    return _ResNet(BasicBlock, [2, 2, 2, 2], num_classes).eval()


def resnet50(width_mult: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """torchvision ``resnet50`` (v1.5: stride on the 3×3)."""
    # Source: pytorch/vision torchvision/models/resnet.py (Bottleneck, ResNet, resnet50: [3, 4, 6, 3]).
    _check_unit_width("resnet50", width_mult)
    return _ResNet(Bottleneck, [3, 4, 6, 3], num_classes).eval()


# --------------------------------------------------------------------------------------------------------------------
# ShuffleNetV2
# --------------------------------------------------------------------------------------------------------------------

# torchvision shufflenet_v2_x*: stages_repeats [4, 8, 4] and stages_out_channels per width.
_SHUFFLENET_WIDTHS = {
    0.5: [24, 48, 96, 192, 1024],
    1.0: [24, 116, 232, 464, 1024],
    1.5: [24, 176, 352, 704, 1024],
    2.0: [24, 244, 488, 976, 2048],
}


class _ShuffleUnit(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        bf = oup // 2
        if stride > 1:  # both branches see the whole input
            self.branch1 = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, bf, 1, bias=False),
                nn.BatchNorm2d(bf),
                nn.ReLU(),
            )
        else:  # channel split: half passes through untouched
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else bf, bf, 1, bias=False),
            nn.BatchNorm2d(bf),
            nn.ReLU(),
            nn.Conv2d(bf, bf, 3, stride, 1, groups=bf, bias=False),
            nn.BatchNorm2d(bf),
            nn.Conv2d(bf, bf, 1, bias=False),
            nn.BatchNorm2d(bf),
            nn.ReLU(),
        )

    def forward(self, x: Tensor) -> Tensor:
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        b, c, h, w = out.shape
        return out.view(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)  # channel shuffle, 2 groups


class _ShuffleNetV2(nn.Module):
    def __init__(self, repeats: list[int], widths: list[int], num_classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = widths[0]
        stages = []
        for n, cout in zip(repeats, widths[1:4], strict=True):
            stages.append(
                nn.Sequential(_ShuffleUnit(cin, cout, 2), *(_ShuffleUnit(cout, cout, 1) for _ in range(n - 1)))
            )
            cin = cout
        self.stage2, self.stage3, self.stage4 = stages
        self.conv5 = nn.Sequential(nn.Conv2d(cin, widths[4], 1, bias=False), nn.BatchNorm2d(widths[4]), nn.ReLU())
        self.fc = nn.Linear(widths[4], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.conv1(x))
        x = self.conv5(self.stage4(self.stage3(self.stage2(x))))
        return self.fc(x.mean([2, 3]))


def shufflenet_v2_x1_0(width_mult: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """torchvision ``shufflenet_v2_x{0_5,1_0,1_5,2_0}`` selected by ``width_mult`` (a table, not a formula)."""
    # Source: pytorch/vision torchvision/models/shufflenetv2.py (InvertedResidual, ShuffleNetV2, shufflenet_v2_x*).
    # The stem (24) never scales; conv5 is 1024 except at x2.0 (2048).
    if width_mult not in _SHUFFLENET_WIDTHS:
        raise ValueError(f"ShuffleNetV2 width_mult must be one of {sorted(_SHUFFLENET_WIDTHS)}, got {width_mult}")
    return _ShuffleNetV2([4, 8, 4], _SHUFFLENET_WIDTHS[width_mult], num_classes).eval()


# --------------------------------------------------------------------------------------------------------------------
# MnasNet (B1)
# --------------------------------------------------------------------------------------------------------------------


def _mnas_ir(cin: int, cout: int, k: int, stride: int, expansion: int) -> nn.Module:
    mid = cin * expansion  # not rounded: in/out are multiples of 8 already
    body = nn.Sequential(
        nn.Conv2d(cin, mid, 1, bias=False),
        nn.BatchNorm2d(mid),
        nn.ReLU(),
        nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False),
        nn.BatchNorm2d(mid),
        nn.ReLU(),
        nn.Conv2d(mid, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
    )
    return _Residual(body, skip=cin == cout and stride == 1)


class _MNASNet(nn.Module):
    def __init__(self, alpha: float, num_classes: int) -> None:
        super().__init__()
        d = [_round_to_multiple_of(c * alpha, 8) for c in (32, 16, 24, 40, 80, 96, 192, 320)]
        layers: list[nn.Module] = [
            nn.Conv2d(3, d[0], 3, 2, 1, bias=False),
            nn.BatchNorm2d(d[0]),
            nn.ReLU(),
            nn.Conv2d(d[0], d[0], 3, 1, 1, groups=d[0], bias=False),
            nn.BatchNorm2d(d[0]),
            nn.ReLU(),
            nn.Conv2d(d[0], d[1], 1, bias=False),
            nn.BatchNorm2d(d[1]),
        ]
        # (kernel, stride, expansion, repeats) per stack, between depths d[i+1] -> d[i+2]
        for i, (k, s, e, r) in enumerate(
            [(3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1)]
        ):
            cin, cout = d[i + 1], d[i + 2]
            layers.append(
                nn.Sequential(_mnas_ir(cin, cout, k, s, e), *(_mnas_ir(cout, cout, k, 1, e) for _ in range(r - 1)))
            )
        layers += [nn.Conv2d(d[7], 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU()]  # 1280 never scales
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(1280, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.layers(x).mean([2, 3]))


def mnasnet1_0(alpha: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """torchvision ``MNASNet(alpha)`` (``mnasnet0_5``/``0_75``/``1_0``/``1_3`` are alpha 0.5/0.75/1.0/1.3)."""
    # Source: pytorch/vision torchvision/models/mnasnet.py at 8c118f16 (MNASNet._version = 2, _get_depths,
    # _round_to_multiple_of, _stack, _InvertedResidual). In _version 2 the stem (32, 16) scales with alpha via
    # _get_depths; only the 1280-wide head conv and the classifier stay fixed. (The _version 1 model, still
    # reachable by loading an old checkpoint, had a fixed 32/16 stem; at alpha=1.0 the two are identical.)
    if alpha <= 0.0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    return _MNASNet(alpha, num_classes).eval()


# --------------------------------------------------------------------------------------------------------------------
# MobileNetV4-Conv-Small (timm)
# --------------------------------------------------------------------------------------------------------------------


class _UIR(nn.Module):
    """timm ``UniversalInvertedResidual`` without SE / layer-scale / dw_end (all unused by conv-small)."""

    def __init__(self, cin: int, cout: int, k_start: int, k_mid: int, stride: int, exp_ratio: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if k_start:  # depthwise before the expansion: BN, no activation; takes the stride only if there is no k_mid
            layers.append(_conv_bn_act(cin, cin, k_start, 1 if k_mid else stride, groups=cin, act=None))
        mid = _make_divisible(cin * exp_ratio, 8)
        layers.append(_conv_bn_act(cin, mid, 1))
        if k_mid:
            layers.append(_conv_bn_act(mid, mid, k_mid, stride, groups=mid))
        layers.append(_conv_bn_act(mid, cout, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.skip = cin == cout and stride == 1

    def forward(self, x: Tensor) -> Tensor:
        out = self.body(x)
        return out + x if self.skip else out


# timm _gen_mobilenet_v4, 'small' arch_def, decoded: ("cn", kernel, stride, out) or
# ("uir", k_start (a), k_mid (k), stride, exp_ratio, out). Repeats expanded; only a stage's first block strides.
_MNV4_CONV_SMALL = [
    [("cn", 3, 2, 32), ("cn", 1, 1, 32)],
    [("cn", 3, 2, 96), ("cn", 1, 1, 64)],
    [("uir", 5, 5, 2, 3.0, 96), *[("uir", 0, 3, 1, 2.0, 96)] * 4, ("uir", 3, 0, 1, 4.0, 96)],
    [
        ("uir", 3, 3, 2, 6.0, 128),
        ("uir", 5, 5, 1, 4.0, 128),
        ("uir", 0, 5, 1, 4.0, 128),
        ("uir", 0, 5, 1, 3.0, 128),
        *[("uir", 0, 3, 1, 4.0, 128)] * 2,
    ],
    [("cn", 1, 1, 960)],
]


class _MobileNetV4(nn.Module):
    def __init__(self, width_mult: float, num_classes: int) -> None:
        super().__init__()

        def rc(c: int) -> int:  # timm round_channels(c, multiplier=width_mult)
            return _make_divisible(c * width_mult, 8)

        stem = 32 if width_mult < 1.0 else rc(32)  # fix_stem = channel_multiplier < 1.0
        self.conv_stem = _conv_bn_act(3, stem, 3, 2)
        cin = stem
        stages = []
        for stage in _MNV4_CONV_SMALL:
            blocks: list[nn.Module] = []
            for spec in stage:
                if spec[0] == "cn":  # timm ConvBnAct: conv + BN + ReLU, no skip
                    _, k, s, cout = spec
                    blocks.append(_conv_bn_act(cin, rc(cout), k, s))
                else:
                    _, ka, km, s, e, cout = spec
                    blocks.append(_UIR(cin, rc(cout), ka, km, s, e))
                cin = rc(spec[-1])
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        # timm MobileNetV3 with head_norm=True: pool *first*, then a bias-free 1×1 conv to num_features (1280, not
        # scaled by the multiplier) followed by BN + ReLU, all at 1×1 spatial size; then the Linear classifier.
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_head = nn.Conv2d(cin, 1280, 1, bias=False)
        self.norm_head = nn.BatchNorm2d(1280)
        self.act2 = nn.ReLU()
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.blocks(self.conv_stem(x))
        x = self.act2(self.norm_head(self.conv_head(self.global_pool(x))))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v4_conv_small(width_mult: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """timm ``mobilenetv4_conv_small`` (``width_mult`` = timm's ``channel_multiplier``, e.g. 0.5 for ``_050``)."""
    # Source: huggingface/pytorch-image-models timm/models/mobilenetv3.py at 8bdeeeab (_gen_mobilenet_v4 'small'
    # arch_def; MobileNetV3.__init__ with head_norm=True, head_bias=False, num_features=1280, fix_stem=mult < 1.0),
    # timm/models/_efficientnet_builder.py (round_channels, block-string decoding: 'a' = dw_kernel_size_start,
    # 'k' = dw_kernel_size_mid, stride only on a stage's first block) and timm/models/_efficientnet_blocks.py
    # (ConvBnAct; UniversalInvertedResidual: dw_start no act, mid = make_divisible(in * exp)).
    # timm's default pad_type '' gives symmetric padding ((s - 1) + (k - 1)) // 2, equal to (k - 1) // 2 for the odd
    # kernels here. Note timm's round_channels also scales the out-channels of the 'cn' blocks (incl. 960).
    return _MobileNetV4(width_mult, num_classes).eval()


class _ViTAttention(nn.Module):
    """timm ``vision_transformer.Attention`` on its non-fused path: qkv (bias), (q·scale)·kᵀ, softmax, ·v, proj."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        x = attn.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class _ViTBlock(nn.Module):
    """Pre-norm transformer block: x + attn(norm1(x)), then x + fc2(gelu(fc1(norm2(x))))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = _ViTAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * mlp_ratio), nn.GELU(), nn.Linear(dim * mlp_ratio, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _VisionTransformer(nn.Module):
    def __init__(self, img_size: int, patch: int, dim: int, depth: int, heads: int, mlp_ratio: int,
                 num_classes: int) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (img_size // patch) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*(_ViTBlock(dim, heads, mlp_ratio) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


def deit_tiny(embed_dim: int = 192, img_size: int = 224, num_classes: int = 1000) -> nn.Module:
    """DeiT-Tiny (Touvron et al. 2021, Table 1: ViT-Ti, 3 heads, 12 blocks, width 192) as ViT's classifier
    (Dosovitskiy et al. 2021, eqs. 1–4): 16×16 patch embedding, class token, position embedding, pre-norm blocks,
    the class token's final LayerNorm → head. ``embed_dim`` other than 192 keeps 3 heads (their width follows), as
    mobcost's α rule; ``img_size`` sizes the position embedding to the token count."""
    # Source: facebookresearch/deit models.py (deit_tiny_patch16_224: patch_size=16, embed_dim=192, depth=12,
    # num_heads=3, mlp_ratio=4, qkv_bias=True, norm_layer=partial(nn.LayerNorm, eps=1e-6)) and
    # huggingface/pytorch-image-models timm/models/vision_transformer.py (Attention with fused_attn off, Block,
    # VisionTransformer with class_token=True, global_pool='token'); products of activations written as `@`, as
    # timm's non-fused path, so fvcore counts them (matmul).
    return _VisionTransformer(img_size, 16, embed_dim, 12, 3, 4, num_classes).eval()


# MobileViT-XS (Mehta & Rastegari 2022) as timm builds it: ByobNet stages of inverted residuals and MobileViT blocks.


class _MViTAttention(_ViTAttention):
    """timm's ViT ``Attention`` (non-fused) with an explicit head count: MobileViT's 4 heads of d/4."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__(dim, heads)


class _MViTBlock(nn.Module):
    """timm ``vision_transformer.Block`` as MobileViT configures it: pre-norm, 4 heads, MLP ×2 with SiLU, LayerNorm
    eps 1e-5 (``nn.LayerNorm``'s default; no cost either way)."""

    def __init__(self, dim: int, heads: int = 4, mlp_ratio: int = 2) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _MViTAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * mlp_ratio), nn.SiLU(), nn.Linear(dim * mlp_ratio, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _MobileViTBlock(nn.Module):
    """timm ``mobilevit.MobileVitBlock``: 3×3 conv-BN-SiLU, 1×1 conv to d (no bias, no BN), unfold into p² sequences,
    L transformer blocks, LayerNorm, fold, 1×1 conv-BN-SiLU back to C, concat with the block input, 3×3
    conv-BN-SiLU fusion. Unfold/fold resize bilinearly to whole patches where p does not divide the map, as timm."""

    def __init__(self, chs: int, dim: int, depth: int, patch: int = 2) -> None:
        super().__init__()
        self.conv_kxk = _conv_bn_act(chs, chs, 3, act=nn.SiLU)
        self.conv_1x1 = nn.Conv2d(chs, dim, 1, bias=False)
        self.transformer = nn.Sequential(*(_MViTBlock(dim) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.conv_proj = _conv_bn_act(dim, chs, 1, act=nn.SiLU)
        self.conv_fusion = _conv_bn_act(2 * chs, chs, 3, act=nn.SiLU)
        self.patch = patch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut, p = x, self.patch
        x = self.conv_1x1(self.conv_kxk(x))
        b, c, h, w = x.shape
        nh, nw = -(-h // p), -(-w // p)
        if (nh * p, nw * p) != (h, w):
            x = nn.functional.interpolate(x, size=(nh * p, nw * p), mode="bilinear", align_corners=False)
        x = x.reshape(b * c * nh, p, nw, p).transpose(1, 2)
        x = x.reshape(b, c, nh * nw, p * p).transpose(1, 3).reshape(b * p * p, nh * nw, c)
        x = self.norm(self.transformer(x))
        x = x.contiguous().view(b, p * p, nh * nw, c).transpose(1, 3).reshape(b * c * nh, nw, p, p)
        x = x.transpose(1, 2).reshape(b, c, nh * p, nw * p)
        if (nh * p, nw * p) != (h, w):
            x = nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
        return self.conv_fusion(torch.cat((shortcut, self.conv_proj(x)), dim=1))


class _ByobBottleneck(nn.Module):
    """timm ``byobnet.BottleneckBlock`` with bottle_in, linear_out, group size 1 (MobileNetV2's inverted residual):
    1×1 expand ×4 (SiLU), 3×3 depthwise (SiLU), 1×1 project; the identity shortcut only where in = out and stride 1
    (downsample='' leaves the others without one)."""

    def __init__(self, cin: int, cout: int, stride: int, ratio: int = 4) -> None:
        super().__init__()
        mid = _make_divisible(cin * ratio)
        self.conv1_1x1 = _conv_bn_act(cin, mid, 1, act=nn.SiLU)
        self.conv2_kxk = _conv_bn_act(mid, mid, 3, stride, groups=mid, act=nn.SiLU)
        self.conv3_1x1 = _conv_bn_act(mid, cout, 1, act=None)
        self.residual = cin == cout and stride == 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv3_1x1(self.conv2_kxk(self.conv1_1x1(x)))
        return out + x if self.residual else out


def mobilevit_xs(width_mult: float = 1.0, num_classes: int = 1000) -> nn.Module:
    """MobileViT-XS (Mehta & Rastegari 2022, arXiv:2110.02178, Table 4 and Fig. 1b) as timm builds it, with timm's
    ``width_factor`` as ``width_mult``: block widths ``make_divisible(c·w, 8)``, stem ``round(16·w)``, final 1×1
    conv ``round(384·w)``; the transformer widths d = 96, 120, 144 and their 4 heads do not follow it."""
    # Source: huggingface/pytorch-image-models timm/models/mobilevit.py (model_cfgs['mobilevit_xs']: blocks
    # _inverted_residual_block(d=1, c=32, s=1), (d=3, c=48, s=2), _mobilevit_block(c=64, s=2, transformer_dim=96,
    # transformer_depth=2, patch_size=2), (c=80, 120, 4), (c=96, 144, 3), br=4.0; stem_chs=16, stem_type='3x3',
    # stem_pool='', downsample='', act_layer='silu', num_features=384; MobileVitBlock: num_heads=4, mlp_ratio=2.0,
    # qkv_bias=True, act_layer=layers.act (SiLU), nn.LayerNorm, conv_fusion on cat((shortcut, x))) and
    # timm/models/byobnet.py (create_byob_stem '3x3': one 3×3 stride-2 ConvNormAct; BottleneckBlock; create_shortcut
    # returns None for downsample=''; ByobNet: stage widths make_divisible(c · width_factor), final_conv 1×1
    # ConvNormAct, ClassifierHead avg pool + Linear). Attention products written as `@` (timm's non-fused path).
    def ch(c: int) -> int:
        return _make_divisible(c * width_mult)

    stem = round(16 * width_mult)
    layers: list[nn.Module] = [_conv_bn_act(3, stem, 3, 2, act=nn.SiLU), _ByobBottleneck(stem, ch(32), 1)]
    layers += [_ByobBottleneck(ch(32), ch(48), 2), *(_ByobBottleneck(ch(48), ch(48), 1) for _ in range(2))]
    prev = ch(48)
    for c, dim, depth in ((64, 96, 2), (80, 120, 4), (96, 144, 3)):
        layers += [_ByobBottleneck(prev, ch(c), 2), _MobileViTBlock(ch(c), dim, depth)]
        prev = ch(c)
    final = round(384 * width_mult)
    layers += [_conv_bn_act(prev, final, 1, act=nn.SiLU), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Linear(final, num_classes)]
    return nn.Sequential(*layers).eval()


FACTORIES: dict[str, Callable[..., nn.Module]] = {
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3_large": mobilenet_v3_large,
    "mobilenet_v3_small": mobilenet_v3_small,
    "efficientnet_b0": efficientnet_b0,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "shufflenet_v2_x1_0": shufflenet_v2_x1_0,
    "mnasnet1_0": mnasnet1_0,
    "mobilenet_v4_conv_small": mobilenet_v4_conv_small,
}


# --------------------------------------------------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------------------------------------------------

# fvcore's default handles, by the operator name its by_operator() reports: "conv" (aten::_convolution), "linear",
# "addmm", "mm", "matmul", "bmm", "einsum". Everything else it counts by default (batch_norm, adaptive_avg_pool2d,
# upsample, norms...) is left out.
_CONV_LINEAR_OPS = ("conv", "linear", "addmm", "mm", "matmul", "bmm", "einsum")


def fvcore_analysis(model: nn.Module, size: int = 224) -> Any:
    """fvcore's count of ``model`` (in eval mode) on one ``size``×``size`` RGB image, its warnings off."""
    from fvcore.nn import FlopCountAnalysis

    model.eval()
    with torch.no_grad():
        analysis = FlopCountAnalysis(model, torch.zeros(1, 3, size, size))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        analysis.by_operator()  # counted here, under no_grad
    return analysis


def whole_counts(model: nn.Module, size: int = 224) -> tuple[int, int, Any]:
    """fvcore's conv + linear + matmul Mult-Adds (attention's products included), every parameter the module
    holds (norms too: mobcost's params + bn_params), and the analysis itself."""
    analysis = fvcore_analysis(model, size)
    by_op = analysis.by_operator()
    return (int(sum(by_op.get(op, 0) for op in _CONV_LINEAR_OPS)), sum(p.numel() for p in model.parameters()),
            analysis)


def counts(model: nn.Module, size: int = 224) -> dict[str, int]:
    """fvcore conv+linear Mult-Adds for one ``size``×``size`` RGB image, Conv2d/Linear params, BatchNorm2d γ+β."""
    by_op = fvcore_analysis(model, size).by_operator()
    params = sum(p.numel() for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear) for p in m.parameters())
    bn = sum(m.weight.numel() + m.bias.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d) and m.affine)
    return {"mult_adds": int(sum(by_op.get(op, 0) for op in _CONV_LINEAR_OPS)), "params": params, "bn_params": bn}
