"""A held-out zoo of classification networks (torchvision and timm families) for issue 13's importer check.

torchvision and timm cannot be installed here, so each network is re-implemented in plain ``torch.nn`` from the
upstream definitions named in its builder's comment (pytorch/vision ``torchvision/models/*.py``; timm's
``timm/models/*.py``). What decides cost and graph shape is reproduced: layer order, widths, kernels, strides,
padding, groups, biases, BatchNorm, activations, pooling (ceil_mode, adaptive sizes), concat/add structure, SE
blocks, dropout and flatten. Weight initialisation, auxiliary heads, stochastic depth (the identity in eval) and
pretrained-weight plumbing are left out. ``PUBLISHED_PARAMS`` pins each module's total parameter count to the
figure torchvision / timm publish, which checks this file rather than being derived from it.

Networks already in ``tests/reference_models.py`` (MobileNetV3/V4, EfficientNet-B0, MnasNet, ShuffleNetV2) are
taken from there at other widths.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from . import reference_models as ref

Act = Callable[..., nn.Module]


def _cna(cin: int, cout: int, k: int | tuple[int, int] = 3, stride: int = 1, padding: int | tuple | None = None,
         groups: int = 1, act: Act | None = nn.ReLU, eps: float = 1e-5, bias: bool = False) -> nn.Sequential:
    """torchvision ``Conv2dNormActivation``: padding (k − 1) // 2 by default, conv bias off (a norm follows)."""
    if padding is None:
        padding = (k - 1) // 2 if isinstance(k, int) else tuple((d - 1) // 2 for d in k)
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=bias),
                               nn.BatchNorm2d(cout, eps=eps)]
    if act is not None:
        layers.append(act(inplace=True) if act in (nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish) else act())
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------------------------------------------------
# AlexNet, VGG (torchvision alexnet.py, vgg.py)
# --------------------------------------------------------------------------------------------------------------------


class AlexNet(nn.Module):
    """torchvision ``alexnet.py``: the single-tower variant, AdaptiveAvgPool2d((6, 6)) before the classifier."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


_VGG_CFGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}


class VGG(nn.Module):
    """torchvision ``vgg.py``: biased 3×3 convs (+ BN for ``_bn``), 2×2 max pools, AdaptiveAvgPool2d((7, 7))."""

    def __init__(self, cfg: str, batch_norm: bool, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for v in _VGG_CFGS[cfg]:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            layers.append(nn.Conv2d(c, int(v), 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(int(v)))
            layers.append(nn.ReLU(inplace=True))
            c = int(v)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(dropout), nn.Linear(4096, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# --------------------------------------------------------------------------------------------------------------------
# SqueezeNet (torchvision squeezenet.py)
# --------------------------------------------------------------------------------------------------------------------


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, e1: int, e3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, e1, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, e3, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """torchvision ``squeezenet.py``: ceil-mode 3×3/2 max pools; the classifier is dropout, a biased 1×1 conv to
    the classes, ReLU and global average pooling."""

    def __init__(self, version: str = "1_0", num_classes: int = 1000) -> None:
        super().__init__()
        pool = partial(nn.MaxPool2d, kernel_size=3, stride=2, ceil_mode=True)
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, 7, 2), nn.ReLU(inplace=True), pool(),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128), pool(),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                pool(), Fire(512, 64, 256, 256))
        else:
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, 3, 2), nn.ReLU(inplace=True), pool(),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256))
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(512, num_classes, 1), nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))

    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


# --------------------------------------------------------------------------------------------------------------------
# GoogLeNet, Inception v3 (torchvision googlenet.py, inception.py); no auxiliary heads, transform_input=False
# --------------------------------------------------------------------------------------------------------------------


class BasicConv2d(nn.Module):
    """Both files' ``BasicConv2d``: bias-free conv, BatchNorm (eps 0.001), ReLU."""

    def __init__(self, cin: int, cout: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """GoogLeNet's block; torchvision's "5×5" branch is a 3×3 (a known quirk kept for its weights)."""

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, proj: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(cin, c1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(cin, c3r, kernel_size=1), BasicConv2d(c3r, c3, kernel_size=3,
                                                                                       padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(cin, c5r, kernel_size=1), BasicConv2d(c5r, c5, kernel_size=3,
                                                                                       padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(cin, proj, kernel_size=1))

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        for name in ("4a", "4b", "4c", "4d", "4e"):
            x = getattr(self, f"inception{name}")(x)
        x = self.inception5b(self.inception5a(self.maxpool4(x)))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([b3, bd, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for i in range(1, 6):
            bd = getattr(self, f"branch7x7dbl_{i}")(bd)
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([b1, b3, bd, bp], 1)


class Inception3(nn.Module):
    """torchvision ``inception.py``, ``aux_logits=False``: 1×7/7×1 factorised convolutions (non-square)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, c7=128)
        self.Mixed_6c = InceptionC(768, c7=160)
        self.Mixed_6d = InceptionC(768, c7=160)
        self.Mixed_6e = InceptionC(768, c7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool1(self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))))
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


# --------------------------------------------------------------------------------------------------------------------
# DenseNet (torchvision densenet.py; memory_efficient=False)
# --------------------------------------------------------------------------------------------------------------------


class _DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int, bn_size: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(cin, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, inputs: list[Tensor]) -> Tensor:
        x = torch.cat(inputs, 1)
        return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))


class _DenseBlock(nn.ModuleDict):
    def __init__(self, layers: int, cin: int, growth: int, bn_size: int) -> None:
        super().__init__()
        for i in range(layers):
            self.add_module(f"denselayer{i + 1}", _DenseLayer(cin + i * growth, growth, bn_size))

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class DenseNet(nn.Module):
    def __init__(self, growth: int = 32, blocks: Sequence[int] = (6, 12, 24, 16), init: int = 64, bn_size: int = 4,
                 num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[tuple[str, nn.Module]] = [
            ("conv0", nn.Conv2d(3, init, 7, 2, 3, bias=False)), ("norm0", nn.BatchNorm2d(init)),
            ("relu0", nn.ReLU(inplace=True)), ("pool0", nn.MaxPool2d(3, 2, 1))]
        c = init
        for i, n in enumerate(blocks):
            layers.append((f"denseblock{i + 1}", _DenseBlock(n, c, growth, bn_size)))
            c += n * growth
            if i != len(blocks) - 1:
                layers.append((f"transition{i + 1}", nn.Sequential(
                    nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.Conv2d(c, c // 2, 1, bias=False), nn.AvgPool2d(2, 2))))
                c //= 2
        layers.append(("norm5", nn.BatchNorm2d(c)))
        self.features = nn.Sequential()
        for name, module in layers:
            self.features.add_module(name, module)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(F.relu(self.features(x), inplace=True), (1, 1))
        return self.classifier(torch.flatten(x, 1))


# --------------------------------------------------------------------------------------------------------------------
# ResNet family (torchvision resnet.py: resnet34, resnext50_32x4d, wide_resnet50_2; timm resnet.py: resnet26d)
# --------------------------------------------------------------------------------------------------------------------


class ResNet(nn.Module):
    """torchvision ``ResNet``; ``deep_stem``/``avg_down`` give timm's ``resnet*d`` (3×3 stem 32-32-64, and an
    AvgPool2d(2, ceil_mode=True, count_include_pad=False) before each strided 1×1 shortcut)."""

    def __init__(self, block: type, layers: Sequence[int], groups: int = 1, width_per_group: int = 64,
                 deep_stem: bool = False, avg_down: bool = False, num_classes: int = 1000) -> None:
        super().__init__()
        self.groups, self.base_width, self.avg_down = groups, width_per_group, avg_down
        if deep_stem:  # timm: conv1 is a Sequential of three 3×3 convs; bn1/act1 follow the last
            self.conv1 = nn.Sequential(
                nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
                nn.Conv2d(32, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
                nn.Conv2d(32, 64, 3, 1, 1, bias=False))
        else:
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.inplanes = 64
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block: type, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        out = planes * block.expansion
        if stride != 1 or self.inplanes != out:
            if self.avg_down:
                pool: nn.Module = nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride != 1 \
                    else nn.Identity()
                downsample = nn.Sequential(pool, nn.Conv2d(self.inplanes, out, 1, 1, bias=False), nn.BatchNorm2d(out))
            else:
                downsample = nn.Sequential(nn.Conv2d(self.inplanes, out, 1, stride, bias=False), nn.BatchNorm2d(out))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width)]
        self.inplanes = out
        layers += [block(out, planes, groups=self.groups, base_width=self.base_width) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --------------------------------------------------------------------------------------------------------------------
# RegNet (torchvision regnet.py)
# --------------------------------------------------------------------------------------------------------------------


def _regnet_params(depth: int, w_0: int, w_a: float, w_m: float, group_width: int) -> list[tuple[int, int, int]]:
    """``BlockParams.from_init_params`` (bottleneck multiplier 1): (width, depth, group width) per stage."""
    widths_cont = torch.arange(depth) * w_a + w_0
    capacity = torch.round(torch.log(widths_cont / w_0) / math.log(w_m))
    block_widths = (torch.round(torch.divide(w_0 * torch.pow(w_m, capacity), 8)) * 8).int().tolist()
    splits = [w != wp for w, wp in zip([*block_widths, 0], [0, *block_widths], strict=True)]
    stage_widths = [w for w, t in zip(block_widths, splits[:-1], strict=True) if t]
    stage_depths = torch.diff(torch.tensor([d for d, t in enumerate(splits) if t])).int().tolist()
    group_widths = [min(group_width, w) for w in stage_widths]
    stage_widths = [ref._make_divisible(w, g) for w, g in zip(stage_widths, group_widths, strict=True)]
    return list(zip(stage_widths, stage_depths, group_widths, strict=True))


class _RegNetBlock(nn.Module):
    """``ResBottleneckBlock``: 1×1, grouped 3×3 (stride), [SE on the block's input width], 1×1; projection."""

    def __init__(self, cin: int, cout: int, stride: int, group_width: int, se_ratio: float | None) -> None:
        super().__init__()
        self.proj = _cna(cin, cout, 1, stride, act=None) if cin != cout or stride != 1 else None
        layers: list[tuple[str, nn.Module]] = [("a", _cna(cin, cout, 1)),
                                               ("b", _cna(cout, cout, 3, stride, groups=cout // group_width))]
        if se_ratio:
            layers.append(("se", ref._SqueezeExcitation(cout, round(se_ratio * cin), nn.ReLU, nn.Sigmoid)))
        layers.append(("c", _cna(cout, cout, 1, act=None)))
        self.f = nn.Sequential()
        for name, module in layers:
            self.f.add_module(name, module)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.activation((x if self.proj is None else self.proj(x)) + self.f(x))


class RegNet(nn.Module):
    def __init__(self, depth: int, w_0: int, w_a: float, w_m: float, group_width: int,
                 se_ratio: float | None = None, num_classes: int = 1000) -> None:
        super().__init__()
        self.stem = _cna(3, 32, 3, 2)
        stages = []
        c = 32
        for width, n, gw in _regnet_params(depth, w_0, w_a, w_m, group_width):
            stages.append(nn.Sequential(*(_RegNetBlock(c if i == 0 else width, width, 2 if i == 0 else 1, gw, se_ratio)
                                          for i in range(n))))
            c = width
        self.trunk_output = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.avgpool(self.trunk_output(self.stem(x))).flatten(start_dim=1))


# --------------------------------------------------------------------------------------------------------------------
# MobileNetV2 (torchvision mobilenetv2.py), EfficientNetV2-S (torchvision efficientnet.py)
# --------------------------------------------------------------------------------------------------------------------


class _InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = round(cin * expand)
        layers: list[nn.Module] = [_cna(cin, hidden, 1, act=nn.ReLU6)] if expand != 1 else []
        layers += [_cna(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6), nn.Conv2d(hidden, cout, 1, bias=False),
                   nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000) -> None:
        super().__init__()
        c = ref._make_divisible(32 * width_mult, 8)
        last = ref._make_divisible(1280 * max(1.0, width_mult), 8)
        features: list[nn.Module] = [_cna(3, c, 3, 2, act=nn.ReLU6)]
        for t, ch, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                            (6, 160, 3, 2), (6, 320, 1, 1)]:
            out = ref._make_divisible(ch * width_mult, 8)
            for i in range(n):
                features.append(_InvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        features.append(_cna(c, last, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class _MBConv(nn.Module):
    """torchvision ``MBConv``: expand 1×1, depthwise, SE (squeeze = input channels // 4, SiLU), project 1×1."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, expand: float) -> None:
        super().__init__()
        act, bn = nn.SiLU, 1e-3
        mid = ref._make_divisible(cin * expand, 8)
        layers: list[nn.Module] = [_cna(cin, mid, 1, act=act, eps=bn)] if mid != cin else []
        layers += [_cna(mid, mid, k, stride, groups=mid, act=act, eps=bn),
                   ref._SqueezeExcitation(mid, max(1, cin // 4), nn.SiLU, nn.Sigmoid),
                   _cna(mid, cout, 1, act=None, eps=bn)]
        self.block = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x) + x if self.use_res_connect else self.block(x)


class _FusedMBConv(nn.Module):
    """torchvision ``FusedMBConv``: a full k×k expansion conv (stride) then a 1×1 projection; no SE."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, expand: float) -> None:
        super().__init__()
        mid = ref._make_divisible(cin * expand, 8)
        if mid != cin:
            layers = [_cna(cin, mid, k, stride, act=nn.SiLU, eps=1e-3), _cna(mid, cout, 1, act=None, eps=1e-3)]
        else:
            layers = [_cna(cin, cout, k, stride, act=nn.SiLU, eps=1e-3)]
        self.block = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        return self.block(x) + x if self.use_res_connect else self.block(x)


class EfficientNetV2S(nn.Module):
    # (block, expand, kernel, stride, in, out, layers) from torchvision _efficientnet_conf("efficientnet_v2_s")
    SETTING = [("F", 1, 3, 1, 24, 24, 2), ("F", 4, 3, 2, 24, 48, 4), ("F", 4, 3, 2, 48, 64, 4),
               ("M", 4, 3, 2, 64, 128, 6), ("M", 6, 3, 1, 128, 160, 9), ("M", 6, 3, 2, 160, 256, 15)]

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [_cna(3, 24, 3, 2, act=nn.SiLU, eps=1e-3)]
        for kind, e, k, s, cin, cout, n in self.SETTING:
            block = _FusedMBConv if kind == "F" else _MBConv
            layers.append(nn.Sequential(*(block(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e)
                                          for i in range(n))))
        layers.append(_cna(256, 1280, 1, act=nn.SiLU, eps=1e-3))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(0.2, inplace=True), nn.Linear(1280, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# --------------------------------------------------------------------------------------------------------------------
# ConvNeXt (torchvision convnext.py)
# --------------------------------------------------------------------------------------------------------------------


class LayerNorm2d(nn.LayerNorm):
    """torchvision ``LayerNorm2d``: permute to channels-last, layer_norm over C, permute back."""

    def forward(self, x: Tensor) -> Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Permute(nn.Module):
    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return torch.permute(x, self.dims)


class CNBlock(nn.Module):
    """dw 7×7 (bias) → channels-last LayerNorm → Linear 4C → GELU → Linear C → back; layer scale; residual."""

    def __init__(self, dim: int, layer_scale: float = 1e-6) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, 7, padding=3, groups=dim, bias=True), Permute([0, 2, 3, 1]),
            nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim, bias=True), nn.GELU(),
            nn.Linear(4 * dim, dim, bias=True), Permute([0, 3, 1, 2]))
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)

    def forward(self, x: Tensor) -> Tensor:
        return self.layer_scale * self.block(x) + x  # stochastic depth is the identity in eval


class ConvNeXt(nn.Module):
    def __init__(self, dims: Sequence[int] = (96, 192, 384, 768), depths: Sequence[int] = (3, 3, 9, 3),
                 num_classes: int = 1000) -> None:
        super().__init__()
        norm = partial(LayerNorm2d, eps=1e-6)
        layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(3, dims[0], 4, 4, 0, bias=True), norm(dims[0]))]
        for i, (dim, n) in enumerate(zip(dims, depths, strict=True)):
            layers.append(nn.Sequential(*(CNBlock(dim) for _ in range(n))))
            if i + 1 < len(dims):
                layers.append(nn.Sequential(norm(dim), nn.Conv2d(dim, dims[i + 1], 2, 2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(norm(dims[-1]), nn.Flatten(1), nn.Linear(dims[-1], num_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)))


# --------------------------------------------------------------------------------------------------------------------
# The zoo
# --------------------------------------------------------------------------------------------------------------------

ZOO: dict[str, Callable[[], nn.Module]] = {
    "alexnet": AlexNet,
    "vgg11_bn": partial(VGG, "A", True),
    "vgg16": partial(VGG, "D", False),
    "squeezenet1_0": partial(SqueezeNet, "1_0"),
    "squeezenet1_1": partial(SqueezeNet, "1_1"),
    "googlenet": GoogLeNet,
    "inception_v3": Inception3,
    "densenet121": DenseNet,
    "resnet34": partial(ResNet, ref.BasicBlock, [3, 4, 6, 3]),
    "resnext50_32x4d": partial(ResNet, ref.Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4),
    "wide_resnet50_2": partial(ResNet, ref.Bottleneck, [3, 4, 6, 3], width_per_group=128),
    "resnet26d": partial(ResNet, ref.Bottleneck, [2, 2, 2, 2], deep_stem=True, avg_down=True),
    "regnet_x_400mf": partial(RegNet, 22, 24, 24.48, 2.54, 16),
    "regnet_y_400mf": partial(RegNet, 16, 48, 27.89, 2.09, 8, se_ratio=0.25),
    "mobilenet_v2": MobileNetV2,
    "mobilenet_v3_large_075": partial(ref.mobilenet_v3_large, 0.75),
    "mobilenet_v4_conv_small": ref.mobilenet_v4_conv_small,
    "efficientnet_b0": ref.efficientnet_b0,
    "efficientnet_v2_s": EfficientNetV2S,
    "convnext_tiny": ConvNeXt,
    "mnasnet0_5": partial(ref.mnasnet1_0, 0.5),
    "shufflenet_v2_x0_5": partial(ref.shufflenet_v2_x1_0, 0.5),
}

# The total parameter count torchvision / timm publish for each (``num_params`` in the weights' metadata; timm's
# model cards), checked against the modules above. Inception v3 without its auxiliary head: 27,161,264 − 3,326,696.
PUBLISHED_PARAMS: dict[str, int] = {
    "alexnet": 61_100_840,
    "vgg11_bn": 132_868_840,
    "vgg16": 138_357_544,
    "squeezenet1_0": 1_248_424,
    "squeezenet1_1": 1_235_496,
    "googlenet": 6_624_904,
    "inception_v3": 23_834_568,
    "densenet121": 7_978_856,
    "resnet34": 21_797_672,
    "resnext50_32x4d": 25_028_904,
    "wide_resnet50_2": 68_883_240,
    "regnet_x_400mf": 5_495_976,
    "regnet_y_400mf": 4_344_144,
    "mobilenet_v2": 3_504_872,
    "efficientnet_v2_s": 21_458_488,
    "convnext_tiny": 28_589_128,
    "mnasnet0_5": 2_218_512,
    "shufflenet_v2_x0_5": 1_366_792,
}


def build(name: str) -> nn.Module:
    return ZOO[name]().eval()


def module_counts(model: nn.Module, size: int) -> dict[str, int]:
    """What the module holds and what fvcore counts: Mult-Adds = fvcore's conv + linear count at ``size``×``size``;
    params = every parameter but the normalisation layers' γ, β (conv and linear weights and biases, layer scale);
    bn_params = the γ, β of BatchNorm and LayerNorm."""
    mult_adds = ref.counts(model, size)["mult_adds"]
    norm = sum(p.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d | nn.LayerNorm)
               for p in m.parameters(recurse=False))
    total = sum(p.numel() for p in model.parameters())
    return {"mult_adds": mult_adds, "params": total - norm, "bn_params": norm}
