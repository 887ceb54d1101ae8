"""The four MLPerf Tiny reference models as plain ``torch.nn`` modules, written from the benchmark's Keras definitions
(mlcommons/tiny, ``benchmark/training/``) and independent of mobcost, for ``tests/test_mlperf_tiny.py``.

Only what sets a count is reproduced: layer order, channels, kernels, strides, TensorFlow's ``padding='same'``
(an explicit zero pad, odd pixel bottom/right, since torch's own ``'same'`` refuses stride 2), biases (Keras's
``use_bias=True`` default on every Conv2D, DepthwiseConv2D and Dense) and BatchNorm. Dropout is an identity at
inference and is left out. Each factory returns ``(module, input_shape)``.
"""

from __future__ import annotations

import math
from itertools import pairwise

from torch import Tensor, nn


def _same(size: tuple[int, int], kernel: tuple[int, int], stride: int) -> tuple[int, int, int, int]:
    """TensorFlow's 'same' padding as nn.ZeroPad2d's (left, right, top, bottom)."""
    pads = []
    for n, k in zip(size, kernel, strict=True):
        total = max((math.ceil(n / stride) - 1) * stride + k - n, 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return left, right, top, bottom


def conv(cin: int, cout: int, size: tuple[int, int], kernel: int | tuple[int, int] = 3, stride: int = 1,
         groups: int = 1, bn: bool = True, relu: bool = True) -> nn.Sequential:
    """Keras Conv2D / DepthwiseConv2D(padding='same', use_bias=True) [+ BatchNormalization] [+ ReLU]."""
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    parts: list[nn.Module] = [nn.ZeroPad2d(_same(size, k, stride)), nn.Conv2d(cin, cout, k, stride, groups=groups)]
    parts += [nn.BatchNorm2d(cout)] if bn else []
    parts += [nn.ReLU()] if relu else []
    return nn.Sequential(*parts)


def _half(size: tuple[int, int]) -> tuple[int, int]:
    return math.ceil(size[0] / 2), math.ceil(size[1] / 2)


def vww() -> tuple[nn.Module, tuple[int, ...]]:
    """visual_wake_words/vww_model.py ``mobilenet_v1``: α = 0.25 written out, 96×96×3, 2 classes."""
    size, layers, cin = (96, 96), [], 8
    layers.append(conv(3, 8, size, 3, 2))
    size = _half(size)
    for cout, stride in [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), *[(128, 1)] * 5, (256, 2), (256, 1)]:
        layers.append(conv(cin, cin, size, 3, stride, groups=cin))
        size = _half(size) if stride == 2 else size
        layers.append(conv(cin, cout, size, 1))
        cin = cout
    layers += [nn.AvgPool2d(size), nn.Flatten(), nn.Linear(256, 2)]
    return nn.Sequential(*layers), (1, 3, 96, 96)


class _Stack(nn.Module):
    """One stack of image_classification/keras_model.py ``resnet_v1_eembc``: two 3×3 convs, the add, ReLU."""

    def __init__(self, cin: int, cout: int, size: tuple[int, int], stride: int) -> None:
        super().__init__()
        self.conv1 = conv(cin, cout, size, 3, stride)
        self.conv2 = conv(cout, cout, _half(size) if stride == 2 else size, 3, relu=False)
        # the shortcut: a strided 1×1 Conv2D, no BatchNorm, no activation
        self.shortcut = conv(cin, cout, size, 1, stride, bn=False, relu=False) if stride == 2 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return (self.shortcut(x) + self.conv2(self.conv1(x))).relu()


def ic() -> tuple[nn.Module, tuple[int, ...]]:
    """image_classification/keras_model.py ``resnet_v1_eembc``: 16/32/64 filters, 32×32×3, 10 classes."""
    module = nn.Sequential(conv(3, 16, (32, 32)), _Stack(16, 16, (32, 32), 1), _Stack(16, 32, (32, 32), 2),
                           _Stack(32, 64, (16, 16), 2), nn.AvgPool2d(8), nn.Flatten(), nn.Linear(64, 10))
    return module, (1, 3, 32, 32)


def kws() -> tuple[nn.Module, tuple[int, ...]]:
    """keyword_spotting/keras_model.py ``ds_cnn``: 49×10×1 MFCCs, 64 channels, 12 classes."""
    layers: list[nn.Module] = [conv(1, 64, (49, 10), (10, 4), 2)]
    for _ in range(4):
        layers += [conv(64, 64, (25, 5), 3, groups=64), conv(64, 64, (25, 5), 1)]
    layers += [nn.AvgPool2d((25, 5)), nn.Flatten(), nn.Linear(64, 12)]
    return nn.Sequential(*layers), (1, 1, 49, 10)


def ad() -> tuple[nn.Module, tuple[int, ...]]:
    """anomaly_detection/keras_model.py ``get_model(640)``: Dense + BatchNormalization + ReLU ×9, Dense(640)."""
    layers: list[nn.Module] = []
    widths = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128]
    for cin, cout in pairwise(widths):
        layers += [nn.Linear(cin, cout), nn.BatchNorm1d(cout), nn.ReLU()]
    layers.append(nn.Linear(128, 640))
    return nn.Sequential(*layers), (1, 640)


FACTORIES = {"mlperf_tiny_vww": vww, "mlperf_tiny_ic": ic, "mlperf_tiny_kws": kws, "mlperf_tiny_ad": ad}
