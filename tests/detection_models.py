"""Independent plain-``torch.nn`` re-implementations of detection networks, for cross-checking mobcost.

torchvision and TensorFlow are not installable here, so each detector is rebuilt from its upstream definition (cited
in its builder) in the style of ``tests/reference_models.py``: only what determines cost is reproduced — layer order,
channel counts and their rounding, kernels, strides, TensorFlow's "SAME" padding, groups and which convolutions carry
a bias. The forward pass returns the raw prediction maps; anchors, decoding and NMS are left out (no Mult-Adds).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn


class _SamePad(nn.Module):
    """TensorFlow's "SAME" padding for a k×k window of stride s: output ⌈H/s⌉, the odd pixel after (bottom, right)."""

    def __init__(self, kernel: int, stride: int) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size in (x.shape[3], x.shape[2]):  # F.pad takes the last axis first: (left, right, top, bottom)
            total = max((math.ceil(size / self.stride) - 1) * self.stride + self.kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return nn.functional.pad(x, pads)


def _conv_bn_relu6(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """slim.conv2d / separable_conv2d with TF-Slim's MobileNet arg scope: no bias, BatchNorm, ReLU6, SAME padding."""
    return nn.Sequential(_SamePad(kernel, stride), nn.Conv2d(cin, cout, kernel, stride, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


# TF-Slim nets/mobilenet_v1.py MOBILENETV1_CONV_DEFS after Conv2d_0 (3×3/2, 32): (stride, depth) of each DepSepConv
_MOBILENET_V1 = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), *[(1, 512)] * 5, (2, 1024), (1, 1024)]
# ssd_mobilenet_v1_feature_extractor.py: feature_map_layout layer_depth for the four maps after Conv2d_13
_EXTRA_DEPTHS = (512, 256, 256, 128)
# ssd_anchor_generator with num_layers 6, 5 aspect ratios, reduce_boxes_in_lowest_layer: 3 boxes, then 6 per location
_ANCHORS = (3, 6, 6, 6, 6, 6)


class SSDMobileNetV1(nn.Module):
    """TF Object Detection API's SSD MobileNetV1 (ssd_mobilenet_v1_coco): MobilenetV1 to Conv2d_13_pointwise,
    feature maps Conv2d_11_pointwise and Conv2d_13_pointwise plus four from ``multi_resolution_feature_maps`` (1×1 to
    depth/2, then 3×3 stride 2 to depth), and a ``ConvolutionalBoxPredictor`` (kernel 1, box_code_size 4, biases, no
    BN) per map. ``depth_multiplier`` and ``min_depth`` as TF's ``depth_fn``: max(int(d·α), min_depth)."""

    def __init__(self, depth_multiplier: float = 1.0, num_classes: int = 91, min_depth: int = 16) -> None:
        super().__init__()

        def depth(d: int) -> int:
            return max(int(d * depth_multiplier), min_depth)

        body = [_conv_bn_relu6(3, depth(32), 3, 2)]
        cin = depth(32)
        for stride, d in _MOBILENET_V1:
            body += [_conv_bn_relu6(cin, cin, 3, stride, groups=cin), _conv_bn_relu6(cin, depth(d), 1)]
            cin = depth(d)
        self.body = nn.ModuleList(body)
        self.taps = (2 * 11, 2 * 13)  # indices of Conv2d_11_pointwise and Conv2d_13_pointwise in ``body``
        extras, maps = [], [depth(512), cin]
        for d in _EXTRA_DEPTHS:
            half = depth(d // 2)
            extras.append(nn.Sequential(_conv_bn_relu6(cin, half, 1), _conv_bn_relu6(half, depth(d), 3, 2)))
            cin = depth(d)
            maps.append(cin)
        self.extras = nn.ModuleList(extras)
        self.box = nn.ModuleList(nn.Conv2d(c, a * 4, 1) for c, a in zip(maps, _ANCHORS, strict=True))
        self.cls = nn.ModuleList(nn.Conv2d(c, a * num_classes, 1) for c, a in zip(maps, _ANCHORS, strict=True))

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        features = []
        for i, layer in enumerate(self.body):
            x = layer(x)
            if i in self.taps:
                features.append(x)
        for extra in self.extras:
            x = extra(x)
            features.append(x)
        return tuple(t for f, box, cls in zip(features, self.box, self.cls, strict=True) for t in (box(f), cls(f)))


def ssd300_mobilenet_v1(depth_multiplier: float = 1.0, num_classes: int = 91) -> nn.Module:
    with torch.no_grad():
        return SSDMobileNetV1(depth_multiplier, num_classes).eval()


# faster_rcnn_meta_arch: the RPN's 3×3 conv depth (first_stage_box_predictor_depth) and grid_anchor_generator's 4
# scales × 3 aspect ratios; the crop fed to the box classifier (initial_crop_size 14, no max pool, as Table 13's
# 25.2 B requires: a 2×2 max pool to 7×7 would give 9.5 B)
_RPN_DEPTH, _RPN_ANCHORS, _CROP = 512, 12, 14


class FasterRCNNMobileNetV1Shared(nn.Module):
    """The once-per-image part of TF Object Detection API's Faster R-CNN MobileNetV1
    (faster_rcnn_mobilenet_v1_feature_extractor.py): MobilenetV1 to Conv2d_11_pointwise (first_stage_features_stride
    16), then the RPN: a 3×3 conv (bias, ReLU, no BN) and 1×1 box (anchors × 4) and objectness (anchors × 2) convs.
    Returns the feature map the proposals are cropped from and the two raw RPN maps."""

    def __init__(self, depth_multiplier: float = 1.0, min_depth: int = 16) -> None:
        super().__init__()

        def depth(d: int) -> int:
            return max(int(d * depth_multiplier), min_depth)

        body = [_conv_bn_relu6(3, depth(32), 3, 2)]
        cin = depth(32)
        for stride, d in _MOBILENET_V1[:11]:  # Conv2d_1 … Conv2d_11
            body += [_conv_bn_relu6(cin, cin, 3, stride, groups=cin), _conv_bn_relu6(cin, depth(d), 1)]
            cin = depth(d)
        self.body = nn.Sequential(*body)
        self.rpn = nn.Sequential(nn.Conv2d(cin, _RPN_DEPTH, 3, padding=1), nn.ReLU(inplace=True))
        self.rpn_box = nn.Conv2d(_RPN_DEPTH, _RPN_ANCHORS * 4, 1)
        self.rpn_objectness = nn.Conv2d(_RPN_DEPTH, _RPN_ANCHORS * 2, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        features = self.body(x)
        hidden = self.rpn(features)
        return features, self.rpn_box(hidden), self.rpn_objectness(hidden)


class FasterRCNNMobileNetV1RoIHead(nn.Module):
    """The once-per-proposal part, on one 14×14 crop of Conv2d_11_pointwise: the feature extractor's
    ``_extract_box_classifier_features`` (separable Conv2d_12, stride 2, and Conv2d_13, to depth 1024 thinned by
    α), then mask_rcnn_box_predictor: a spatial mean and two FCs, num_classes + 1 scores and num_classes × 4
    codes."""

    def __init__(self, depth_multiplier: float = 1.0, num_classes: int = 90, min_depth: int = 16) -> None:
        super().__init__()
        cin, cout = (max(int(d * depth_multiplier), min_depth) for d in (512, 1024))
        self.head = nn.Sequential(
            _conv_bn_relu6(cin, cin, 3, 2, groups=cin), _conv_bn_relu6(cin, cout, 1),
            _conv_bn_relu6(cout, cout, 3, 1, groups=cout), _conv_bn_relu6(cout, cout, 1))
        self.box = nn.Linear(cout, num_classes * 4)
        self.cls = nn.Linear(cout, num_classes + 1)

    def forward(self, crop: Tensor) -> tuple[Tensor, Tensor]:
        pooled = self.head(crop).mean(dim=(2, 3))
        return self.box(pooled), self.cls(pooled)


def faster_rcnn_mobilenet_v1(depth_multiplier: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """(shared part, one RoI's head), each in eval mode."""
    return (FasterRCNNMobileNetV1Shared(depth_multiplier).eval(),
            FasterRCNNMobileNetV1RoIHead(depth_multiplier).eval())


def roi_crop_shape(depth_multiplier: float = 1.0) -> tuple[int, int, int, int]:
    """One proposal's crop as the head reads it: 1 × C × 14 × 14 of Conv2d_11_pointwise."""
    return (1, max(int(512 * depth_multiplier), 16), _CROP, _CROP)


# TF-Slim nets/mobilenet/mobilenet_v2.py V2_DEF after layer_2 (t=1, 16): (expansion t, output c, stride) of layer_3 …
# layer_18, then layer_19: a 1×1 conv to 1280
_MOBILENET_V2 = [(6, 24, 2), (6, 24, 1), (6, 32, 2), (6, 32, 1), (6, 32, 1), (6, 64, 2), (6, 64, 1), (6, 64, 1),
                 (6, 64, 1), (6, 96, 1), (6, 96, 1), (6, 96, 1), (6, 160, 2), (6, 160, 1), (6, 160, 1), (6, 320, 1)]


class _InvertedResidual(nn.Module):
    """expanded_conv: 1×1 expansion (BN, ReLU6; none at t = 1), 3×3 depthwise (BN, ReLU6), linear 1×1 projection
    (BN), a residual where stride 1 and widths match. ``expansion`` is kept: SSDLite's first map is layer_15's."""

    def __init__(self, cin: int, t: int, cout: int, stride: int) -> None:
        super().__init__()
        mid = cin * t
        self.expansion = _conv_bn_relu6(cin, mid, 1) if t != 1 else nn.Identity()
        self.rest = nn.Sequential(_conv_bn_relu6(mid, mid, 3, stride, groups=mid), nn.Conv2d(mid, cout, 1, bias=False),
                                  nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        expanded = self.expansion(x)
        y = self.rest(expanded)
        return (x + y if self.residual else y), expanded


class SSDLiteMobileNetV2(nn.Module):
    """TF Object Detection API's SSDLite MobileNetV2 (ssdlite_mobilenet_v2_coco) at depth multiplier 1: feature maps
    layer_15/expansion_output and layer_19, four extra maps from ``multi_resolution_feature_maps`` with use_depthwise
    (1×1 to depth/2, 3×3 depthwise stride 2, 1×1 to depth; BN, ReLU6), and a ``ConvolutionalBoxPredictor`` with
    use_depthwise and kernel 3 per map: for boxes and for classes each, a 3×3 depthwise (BN, ReLU6) and a 1×1 conv
    with bias."""

    def __init__(self, num_classes: int = 91) -> None:
        super().__init__()
        self.stem = nn.Sequential(_conv_bn_relu6(3, 32, 3, 2), _InvertedResidual(32, 1, 16, 1))
        blocks, cin = [], 16
        for t, c, s in _MOBILENET_V2:
            blocks.append(_InvertedResidual(cin, t, c, s))
            cin = c
        self.blocks = nn.ModuleList(blocks)
        self.layer_19 = _conv_bn_relu6(cin, 1280, 1)
        extras, maps, cin = [], [576, 1280], 1280
        for d in _EXTRA_DEPTHS:
            extras.append(nn.Sequential(_conv_bn_relu6(cin, d // 2, 1), _conv_bn_relu6(d // 2, d // 2, 3, 2, d // 2),
                                        _conv_bn_relu6(d // 2, d, 1)))
            cin = d
            maps.append(d)
        self.extras = nn.ModuleList(extras)

        def predictor(c: int, outputs: int) -> nn.Sequential:
            return nn.Sequential(_conv_bn_relu6(c, c, 3, groups=c), nn.Conv2d(c, outputs, 1))

        self.box = nn.ModuleList(predictor(c, a * 4) for c, a in zip(maps, _ANCHORS, strict=True))
        self.cls = nn.ModuleList(predictor(c, a * num_classes) for c, a in zip(maps, _ANCHORS, strict=True))

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        x, _ = self.stem[1](self.stem[0](x))
        features = []
        for i, block in enumerate(self.blocks):
            x, expanded = block(x)
            if i == 12:  # layer_15: the first 160-wide block (blocks start at layer_3)
                features.append(expanded)
        x = self.layer_19(x)
        features.append(x)
        for extra in self.extras:
            x = extra(x)
            features.append(x)
        return tuple(t for f, box, cls in zip(features, self.box, self.cls, strict=True) for t in (box(f), cls(f)))


def ssdlite_mobilenet_v2(num_classes: int = 91) -> nn.Module:
    with torch.no_grad():
        return SSDLiteMobileNetV2(num_classes).eval()


# TF-Slim nets/inception_v2.py (tensorflow/models research/slim), inception_v2_base: each Mixed block's branch depths
# (Branch_0 1×1 | Branch_1 1×1 → 3×3 | Branch_2 1×1 → 3×3 → 3×3 | Branch_3 3×3 pool → 1×1), the pool average but in
# Mixed_5c (max), all stride 1 "SAME"; the two reduction blocks Mixed_4a and Mixed_5a (Branch_0 1×1 → 3×3/2 |
# Branch_1 1×1 → 3×3 → 3×3/2 | Branch_2 3×3/2 max pool).
_INCEPTION_MIXED = {
    "Mixed_3b": (64, 64, 64, 64, 96, "avg", 32), "Mixed_3c": (64, 64, 96, 64, 96, "avg", 64),
    "Mixed_4b": (224, 64, 96, 96, 128, "avg", 128), "Mixed_4c": (192, 96, 128, 96, 128, "avg", 128),
    "Mixed_4d": (160, 128, 160, 128, 160, "avg", 96), "Mixed_4e": (96, 128, 192, 160, 192, "avg", 96),
    "Mixed_5b": (352, 192, 320, 160, 224, "avg", 128), "Mixed_5c": (352, 192, 320, 192, 224, "max", 128)}
_INCEPTION_REDUCE = {"Mixed_4a": (128, 160, 64, 96), "Mixed_5a": (128, 192, 192, 256)}
_INCEPTION_ORDER = ["Mixed_3b", "Mixed_3c", "Mixed_4a", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_5a",
                    "Mixed_5b", "Mixed_5c"]


def _pool_same(kind: str, stride: int) -> nn.Sequential:
    """slim.max_pool2d / avg_pool2d 3×3 with "SAME" padding (shapes only: the pad value costs nothing)."""
    pool = nn.MaxPool2d(3, stride) if kind == "max" else nn.AvgPool2d(3, stride)
    return nn.Sequential(_SamePad(3, stride), pool)


class _Mixed(nn.Module):
    """An Inception V2 block: four branches (or three in a reduction block) concatenated over the channels."""

    def __init__(self, name: str, cin: int, depth: Callable[[int], int]) -> None:
        super().__init__()
        if name in _INCEPTION_REDUCE:
            a, b, c, d = (depth(v) for v in _INCEPTION_REDUCE[name])
            self.branches = nn.ModuleList([
                nn.Sequential(_conv_bn_relu6(cin, a, 1), _conv_bn_relu6(a, b, 3, 2)),
                nn.Sequential(_conv_bn_relu6(cin, c, 1), _conv_bn_relu6(c, d, 3), _conv_bn_relu6(d, d, 3, 2)),
                _pool_same("max", 2)])
            self.out = b + d + cin
            return
        b0, b1a, b1b, b2a, b2b, pool, b3 = _INCEPTION_MIXED[name]
        b0, b1a, b1b, b2a, b2b, b3 = (depth(v) for v in (b0, b1a, b1b, b2a, b2b, b3))
        self.branches = nn.ModuleList([
            _conv_bn_relu6(cin, b0, 1),
            nn.Sequential(_conv_bn_relu6(cin, b1a, 1), _conv_bn_relu6(b1a, b1b, 3)),
            nn.Sequential(_conv_bn_relu6(cin, b2a, 1), _conv_bn_relu6(b2a, b2b, 3), _conv_bn_relu6(b2b, b2b, 3)),
            nn.Sequential(_pool_same(pool, 1), _conv_bn_relu6(cin, b3, 1))])
        self.out = b0 + b1b + b2b + b3

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class InceptionV2Base(nn.Module):
    """TF-Slim's ``inception_v2_base`` up to ``final_endpoint``: Conv2d_1a_7x7 a separable 7×7 stride-2 conv (a
    depthwise 7×7 with depth multiplier min(int(depth(64)/3), 8) = 8, no BN between, then a 1×1 to depth(64)),
    MaxPool_2a 3×3/2, Conv2d_2b 1×1 64, Conv2d_2c 3×3 192, MaxPool_3a 3×3/2, then the Mixed blocks; every conv
    without bias with BatchNorm, "SAME" padding. ``depth`` as TF's: max(int(d·α), min_depth 16). Returns the
    endpoints named in ``taps`` (the last one is ``final_endpoint``)."""

    def __init__(self, depth_multiplier: float = 1.0, final_endpoint: str = "Mixed_5c",
                 taps: tuple[str, ...] = ("Mixed_5c",)) -> None:
        super().__init__()

        def depth(d: int) -> int:
            return max(int(d * depth_multiplier), 16)

        mult = min(depth(64) // 3, 8)
        self.stem = nn.Sequential(
            _SamePad(7, 2), nn.Conv2d(3, 3 * mult, 7, 2, groups=3, bias=False),  # the separable conv's depthwise
            _conv_bn_relu6(3 * mult, depth(64), 1), _pool_same("max", 2), _conv_bn_relu6(depth(64), depth(64), 1),
            _conv_bn_relu6(depth(64), depth(192), 3), _pool_same("max", 2))
        blocks, cin = [], depth(192)
        for name in _INCEPTION_ORDER[:_INCEPTION_ORDER.index(final_endpoint) + 1]:
            blocks.append(_Mixed(name, cin, depth))
            cin = blocks[-1].out
        self.blocks = nn.ModuleList(blocks)
        self.names = _INCEPTION_ORDER[:len(blocks)]
        self.taps, self.out = taps, cin

    def forward(self, x: Tensor) -> list[Tensor]:
        x, found = self.stem(x), []
        for name, block in zip(self.names, self.blocks, strict=True):
            x = block(x)
            if name in self.taps:
                found.append(x)
        return found


class SSDInceptionV2(nn.Module):
    """TF Object Detection API's SSD Inception V2 (ssd_inception_v2_feature_extractor.py): inception_v2_base to
    Mixed_5c, feature maps Mixed_4c and Mixed_5c and four from ``multi_resolution_feature_maps`` (layer_depth 512,
    256, 256, 128: a 1×1 to depth/2, a 3×3 stride 2 to depth, BN), a ConvolutionalBoxPredictor of kernel
    ``kernel`` per map (biases, no BN), 3 then 6 anchors per location. ``kernel`` 1 is what the paper's figures
    imply; the released ssd_inception_v2_coco.config sets 3."""

    def __init__(self, depth_multiplier: float = 1.0, num_classes: int = 91, kernel: int = 1) -> None:
        super().__init__()

        def depth(d: int) -> int:
            return max(int(d * depth_multiplier), 16)

        self.body = InceptionV2Base(depth_multiplier, "Mixed_5c", ("Mixed_4c", "Mixed_5c"))
        cin = self.body.out
        extras, maps = [], [depth(576), cin]
        for d in _EXTRA_DEPTHS:
            extras.append(nn.Sequential(_conv_bn_relu6(cin, depth(d // 2), 1), _conv_bn_relu6(depth(d // 2), depth(d),
                                                                                                3, 2)))
            cin = depth(d)
            maps.append(cin)
        self.extras = nn.ModuleList(extras)
        pad = kernel // 2
        self.box = nn.ModuleList(nn.Conv2d(c, a * 4, kernel, padding=pad) for c, a in zip(maps, _ANCHORS, strict=True))
        self.cls = nn.ModuleList(nn.Conv2d(c, a * num_classes, kernel, padding=pad)
                                 for c, a in zip(maps, _ANCHORS, strict=True))

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        features = self.body(x)
        x = features[-1]
        for extra in self.extras:
            x = extra(x)
            features.append(x)
        return tuple(t for f, box, cls in zip(features, self.box, self.cls, strict=True) for t in (box(f), cls(f)))


def ssd300_inception_v2(depth_multiplier: float = 1.0, num_classes: int = 91, kernel: int = 1) -> nn.Module:
    with torch.no_grad():
        return SSDInceptionV2(depth_multiplier, num_classes, kernel).eval()


class FasterRCNNInceptionV2Shared(nn.Module):
    """The once-per-image part of TF Object Detection API's Faster R-CNN Inception V2
    (faster_rcnn_inception_v2_feature_extractor.py ``_extract_proposal_features``): inception_v2_base to Mixed_4e
    (stride 16), then the RPN as for MobileNet: a 3×3 conv of 512 (bias, ReLU) and 1×1 box and objectness convs."""

    def __init__(self, depth_multiplier: float = 1.0) -> None:
        super().__init__()
        self.body = InceptionV2Base(depth_multiplier, "Mixed_4e", ("Mixed_4e",))
        self.rpn = nn.Sequential(nn.Conv2d(self.body.out, _RPN_DEPTH, 3, padding=1), nn.ReLU(inplace=True))
        self.rpn_box = nn.Conv2d(_RPN_DEPTH, _RPN_ANCHORS * 4, 1)
        self.rpn_objectness = nn.Conv2d(_RPN_DEPTH, _RPN_ANCHORS * 2, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        (features,) = self.body(x)
        hidden = self.rpn(features)
        return features, self.rpn_box(hidden), self.rpn_objectness(hidden)


class FasterRCNNInceptionV2RoIHead(nn.Module):
    """The once-per-proposal part (``_extract_box_classifier_features``): Mixed_5a, 5b and 5c on one 14×14 crop of
    Mixed_4e (no max pool before: the paper's 118.2 B requires it), a spatial mean, and mask_rcnn_box_predictor's
    two FCs: num_classes + 1 scores and num_classes × 4 codes."""

    def __init__(self, depth_multiplier: float = 1.0, num_classes: int = 90) -> None:
        super().__init__()

        def depth(d: int) -> int:
            return max(int(d * depth_multiplier), 16)

        blocks, cin = [], depth(576)
        for name in ("Mixed_5a", "Mixed_5b", "Mixed_5c"):
            blocks.append(_Mixed(name, cin, depth))
            cin = blocks[-1].out
        self.head = nn.Sequential(*blocks)
        self.box = nn.Linear(cin, num_classes * 4)
        self.cls = nn.Linear(cin, num_classes + 1)

    def forward(self, crop: Tensor) -> tuple[Tensor, Tensor]:
        pooled = self.head(crop).mean(dim=(2, 3))
        return self.box(pooled), self.cls(pooled)


def faster_rcnn_inception_v2(depth_multiplier: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """(shared part, one RoI's head), each in eval mode."""
    return (FasterRCNNInceptionV2Shared(depth_multiplier).eval(),
            FasterRCNNInceptionV2RoIHead(depth_multiplier).eval())
