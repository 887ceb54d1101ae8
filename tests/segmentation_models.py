"""Independent plain-``torch.nn`` re-implementations of torchvision's MobileNetV3 detection and segmentation models and
of DeepLab's own DeepLabV3-MobileNetV2, for cross-checking mobcost's bundled specs and importers.

torchvision cannot be installed here; each model is rewritten from its upstream definition (cited per builder),
reproducing only what determines cost — layer order, widths and their rounding, kernels, strides, dilation, padding,
which convolutions carry a bias, and the resizes — and returning the raw outputs (segmentation logits resized to the
input; a detector's raw box and class maps, or torchvision's reshaped and concatenated form with ``concat=True``).

Sources (pytorch/vision, main): torchvision/models/mobilenetv3.py (``_mobilenet_v3_conf`` with ``reduced_tail`` and
``dilated``, ``InvertedResidual``: a dilated depthwise keeps stride 1 and pads (k − 1)/2 · d), models/_utils.py
(``_make_divisible``), models/segmentation/lraspp.py (``LRASPPHead``, ``_lraspp_mobilenetv3``: low = C2, high = the
last 1×1 conv), models/segmentation/deeplabv3.py (``DeepLabHead``, ``ASPP``, ``ASPPPooling``), models/segmentation/
fcn.py (``FCNHead``: the auxiliary classifier), models/segmentation/_utils.py (``_SimpleSegmentationModel``),
models/detection/ssdlite.py (``_prediction_block``, ``_extra_block``, ``SSDLiteFeatureExtractorMobileNet``),
models/detection/ssd.py (``SSDScoringHead``'s view/permute/reshape/cat).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .reference_models import _make_divisible

# (input, kernel, expanded, out, use_se, activation, stride, is the C4 stage) of torchvision's MobileNetV3-Large;
# the C4 stage's widths are halved by ``reduced_tail`` and its depthwise convolutions dilated by ``dilated``
_LARGE = [
    (16, 3, 16, 16, False, "RE", 1, False),
    (16, 3, 64, 24, False, "RE", 2, False),  # C1
    (24, 3, 72, 24, False, "RE", 1, False),
    (24, 5, 72, 40, True, "RE", 2, False),  # C2
    (40, 5, 120, 40, True, "RE", 1, False),
    (40, 5, 120, 40, True, "RE", 1, False),
    (40, 3, 240, 80, False, "HS", 2, False),  # C3
    (80, 3, 200, 80, False, "HS", 1, False),
    (80, 3, 184, 80, False, "HS", 1, False),
    (80, 3, 184, 80, False, "HS", 1, False),
    (80, 3, 480, 112, True, "HS", 1, False),
    (112, 3, 672, 112, True, "HS", 1, False),
    (112, 5, 672, 160, True, "HS", 2, True),  # C4
    (160, 5, 960, 160, True, "HS", 1, True),
    (160, 5, 960, 160, True, "HS", 1, True),
]


def _cba(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, dilation: int = 1,
         act: Callable[[], nn.Module] | None = nn.ReLU) -> nn.Sequential:
    """torchvision's ``Conv2dNormActivation``: padding (k − 1)/2 · dilation, no bias, BatchNorm, activation."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2 * dilation, dilation=dilation,
                                         groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, *([act()] if act is not None else []))


class _SE(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        squeeze = _make_divisible(channels // 4, 8)
        self.fc1, self.fc2 = nn.Conv2d(channels, squeeze, 1), nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        return x * F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))


class _InvertedResidual(nn.Module):
    def __init__(self, cin: int, k: int, exp: int, cout: int, se: bool, act: str, stride: int, dilation: int) -> None:
        super().__init__()
        a = nn.Hardswish if act == "HS" else nn.ReLU
        self.expand = _cba(cin, exp, 1, act=a) if exp != cin else None
        self.dw = _cba(exp, exp, k, 1 if dilation > 1 else stride, groups=exp, dilation=dilation, act=a)
        self.se = _SE(exp) if se else None
        self.project = _cba(exp, cout, 1, act=None)
        self.residual = stride == 1 and cin == cout  # the configured stride, as torchvision's use_res_connect

    def forward(self, x: Tensor) -> Tensor:
        y = self.expand(x) if self.expand is not None else x
        y = self.dw(y)
        y = self.se(y) if self.se is not None else y
        y = self.project(y)
        return y + x if self.residual else y


def mobilenet_v3_large_features(width_mult: float = 1.0, reduced_tail: bool = False,
                                dilated: bool = False) -> nn.Sequential:
    """torchvision's ``mobilenet_v3_large(...).features``: stem, the 15 blocks, the last 1×1 conv (6 × the last
    block's width); index 4 is the C2 block (stride 8), 13 the C4 block, 16 the last conv."""
    def adj(c: int) -> int:
        return _make_divisible(c * width_mult, 8)

    divider, dilation = (2 if reduced_tail else 1), (2 if dilated else 1)
    layers: list[nn.Module] = [_cba(3, adj(16), 3, 2, act=nn.Hardswish)]
    for cin, k, exp, cout, se, act, stride, c4 in _LARGE:
        if c4:  # reduced_tail halves the C4 stage's widths (its first input, 112, and expansion, 672, stay)
            cin, exp = (cin, exp) if cin == 112 else (cin // divider, exp // divider)
            cout //= divider
        layers.append(_InvertedResidual(adj(cin), k, adj(exp), adj(cout), se, act, stride,
                                        dilation if c4 else 1))
    last = adj(_LARGE[-1][3] // divider)
    layers.append(_cba(last, 6 * last, 1, act=nn.Hardswish))
    return nn.Sequential(*layers)


class _Features(nn.Module):
    """The backbone's outputs at the given indices (torchvision's ``IntermediateLayerGetter``: runs up to the last)."""

    def __init__(self, features: nn.Sequential, taps: tuple[int, ...]) -> None:
        super().__init__()
        self.body = features[: max(taps) + 1]
        self.taps = taps

    def forward(self, x: Tensor) -> list[Tensor]:
        out = []
        for i, block in enumerate(self.body):
            x = block(x)
            if i in self.taps:
                out.append(x)
        return out


def _out_channels(block: nn.Module) -> int:
    return [m for m in block.modules() if isinstance(m, nn.Conv2d)][-1].out_channels


class LRASPP(nn.Module):
    """torchvision's ``lraspp_mobilenet_v3_large``: dilated backbone (not reduced), low = features[4] (C2, stride 8),
    high = features[16]; ``LRASPPHead`` with 128 inter channels; the logits resized bilinearly to the input."""

    def __init__(self, width_mult: float = 1.0, num_classes: int = 21) -> None:
        super().__init__()
        features = mobilenet_v3_large_features(width_mult, dilated=True)
        self.backbone = _Features(features, (4, 16))
        low, high = _out_channels(features[4]), _out_channels(features[16])
        self.cbr = _cba(high, 128, 1)
        self.scale = nn.Conv2d(high, 128, 1, bias=False)
        self.low_classifier = nn.Conv2d(low, num_classes, 1)
        self.high_classifier = nn.Conv2d(128, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        low, high = self.backbone(x)
        y = self.cbr(high) * torch.sigmoid(self.scale(F.adaptive_avg_pool2d(high, 1)))
        y = F.interpolate(y, size=low.shape[-2:], mode="bilinear", align_corners=False)
        out = self.low_classifier(low) + self.high_classifier(y)
        return F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)


class _ASPP(nn.Module):
    """torchvision's ``ASPP(in, [12, 24, 36])``: a 1×1 branch, three dilated 3×3 branches, image pooling (resized back
    to the map), concatenated and projected to 256 (its dropout is the identity at inference)."""

    def __init__(self, cin: int, rates: tuple[int, ...] = (12, 24, 36), out: int = 256) -> None:
        super().__init__()
        self.branches = nn.ModuleList([_cba(cin, out, 1), *(_cba(cin, out, 3, dilation=r) for r in rates)])
        self.pool = _cba(cin, out, 1)
        self.project = _cba(out * (len(rates) + 2), out, 1)

    def forward(self, x: Tensor) -> Tensor:
        pooled = F.interpolate(self.pool(F.adaptive_avg_pool2d(x, 1)), size=x.shape[-2:], mode="bilinear",
                               align_corners=False)
        return self.project(torch.cat([*(b(x) for b in self.branches), pooled], dim=1))


class DeepLabV3MobileNetV3(nn.Module):
    """torchvision's ``deeplabv3_mobilenet_v3_large``: dilated backbone to features[16]; ``DeepLabHead`` (ASPP, 3×3
    conv 256, 1×1 conv to the classes with bias); logits resized to the input. ``aux``: the ``FCNHead`` on features[4]
    (3×3 conv to in/4, 1×1 to the classes) that the COCO weights carry (``aux_loss=True``) and eval still runs."""

    def __init__(self, width_mult: float = 1.0, num_classes: int = 21, aux: bool = False) -> None:
        super().__init__()
        features = mobilenet_v3_large_features(width_mult, dilated=True)
        self.backbone = _Features(features, (4, 16))
        high = _out_channels(features[16])
        self.head = nn.Sequential(_ASPP(high), _cba(256, 256, 3), nn.Conv2d(256, num_classes, 1))
        low = _out_channels(features[4])
        self.aux = nn.Sequential(_cba(low, low // 4, 3), nn.Conv2d(low // 4, num_classes, 1)) if aux else None

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        low, high = self.backbone(x)
        out = F.interpolate(self.head(high), size=x.shape[-2:], mode="bilinear", align_corners=False)
        if self.aux is None:
            return out
        return out, F.interpolate(self.aux(low), size=x.shape[-2:], mode="bilinear", align_corners=False)


class SSDLiteMobileNetV3(nn.Module):
    """torchvision's ``ssdlite320_mobilenet_v3_large`` up to the raw head outputs: the reduced-tail backbone split at
    the C4 block's expansion (features[13].block[0]: 20×20×672 at 320 px) and its end (10×10×480); four
    ``_extra_block``s (1×1 to d/2, 3×3 stride-2 depthwise, 1×1 to d; d = max(16, int(α·d)) for 512, 256, 256, 128);
    on each of the six maps a ``_prediction_block`` (3×3 depthwise + BN + ReLU6, then 1×1 with bias) for 6 anchors × 4
    box codes and 6 × ``num_classes``. ``concat``: return torchvision's (1, anchors, 4) and (1, anchors, classes) after
    ``SSDScoringHead``'s view/permute/reshape/cat, else the twelve maps."""

    def __init__(self, width_mult: float = 1.0, num_classes: int = 91, concat: bool = False) -> None:
        super().__init__()
        f = mobilenet_v3_large_features(width_mult, reduced_tail=True)
        c4 = f[13]
        self.stage1 = nn.Sequential(*f[:13], c4.expand)
        self.stage2 = nn.Sequential(c4.dw, c4.se, c4.project, *f[14:])
        depths = [max(16, int(d * width_mult)) for d in (512, 256, 256, 128)]
        cin, extra = _out_channels(f[16]), []
        for d in depths:
            extra.append(nn.Sequential(_cba(cin, d // 2, 1, act=nn.ReLU6),
                                       _cba(d // 2, d // 2, 3, 2, groups=d // 2, act=nn.ReLU6),
                                       _cba(d // 2, d, 1, act=nn.ReLU6)))
            cin = d
        self.extra = nn.ModuleList(extra)
        maps = [_out_channels(c4.expand), _out_channels(f[16]), *depths]
        self.box = nn.ModuleList(self._predictor(c, 6 * 4) for c in maps)
        self.cls = nn.ModuleList(self._predictor(c, 6 * num_classes) for c in maps)
        self.num_classes, self.concat = num_classes, concat

    @staticmethod
    def _predictor(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(_cba(cin, cin, 3, groups=cin, act=nn.ReLU6), nn.Conv2d(cin, cout, 1))

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        maps = [self.stage1(x)]
        maps.append(self.stage2(maps[0]))
        for block in self.extra:
            maps.append(block(maps[-1]))
        boxes = [head(m) for head, m in zip(self.box, maps, strict=True)]
        scores = [head(m) for head, m in zip(self.cls, maps, strict=True)]
        if not self.concat:
            return tuple(t for pair in zip(boxes, scores, strict=True) for t in pair)
        return _scoring(boxes, 4), _scoring(scores, self.num_classes)


def _scoring(outputs: list[Tensor], k: int) -> Tensor:
    """``SSDScoringHead``: each (N, A·K, H, W) map → (N, H·W·A, K), concatenated over the maps."""
    flat = []
    for y in outputs:
        n, _, h, w = y.shape
        flat.append(y.view(n, -1, k, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, k))
    return torch.cat(flat, dim=1)


# TF-Slim mobilenet_v2 V2_DEF after layer_1 (3×3/2, 32): (expansion t, output depth c, repeats n, first stride s)
_MOBILENET_V2_DEF = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                     (6, 320, 1, 1)]


class _TFSame(nn.Module):
    """TensorFlow's "SAME" padding of a k×k window of stride s and rate d: output ⌈H/s⌉, the odd pixel after."""

    def __init__(self, kernel: int, stride: int, rate: int = 1) -> None:
        super().__init__()
        self.span, self.stride = rate * (kernel - 1) + 1, stride

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size in (x.shape[3], x.shape[2]):
            total = max((-(-size // self.stride) - 1) * self.stride + self.span - size, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)


def _tf_conv(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, rate: int = 1,
             act: bool = True) -> nn.Sequential:
    """slim.conv2d / separable_conv2d in DeepLab's MobileNetV2 arg scope: SAME padding, no bias, BN, ReLU6."""
    return nn.Sequential(_TFSame(k, stride, rate), nn.Conv2d(cin, cout, k, stride, dilation=rate, groups=groups,
                                                             bias=False), nn.BatchNorm2d(cout),
                         *([nn.ReLU6()] if act else []))


class _ExpandedConv(nn.Module):
    """slim mobilenet ``expanded_conv``: 1×1 expansion to make_divisible(6·in, 8) (none where t = 1), 3×3 depthwise
    (stride, rate), linear 1×1 projection, a residual where the stride is 1 and the depths match."""

    def __init__(self, cin: int, t: int, cout: int, stride: int, rate: int) -> None:
        super().__init__()
        mid = _make_divisible(cin * t, 8) if t != 1 else cin
        self.expand = _tf_conv(cin, mid, 1) if mid > cin else nn.Identity()
        self.rest = nn.Sequential(_tf_conv(mid, mid, 3, stride, groups=mid, rate=rate),
                                  _tf_conv(mid, cout, 1, act=False))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        y = self.rest(self.expand(x))
        return x + y if self.residual else y


class DeepLabV3MobileNetV2(nn.Module):
    """DeepLab's own DeepLabV3 on MobileNetV2 (tensorflow/models research/deeplab: model.py ``extract_features`` and
    ``get_branch_logits``, core/feature_extractor.py with final_endpoint layer_18, slim nets/mobilenet/mobilenet.py
    ``mobilenet_base`` with output_stride 16 — where the stride reaches 16, a strided layer runs at stride 1 and the
    rate doubles for the layers after it), at depth multiplier α (slim: make_divisible(α·d, 8)). Head: image pooling
    (mean, 1×1 conv 256 + BN + ReLU, bilinear resize back, align_corners) and a 1×1 conv 256 + BN + ReLU, concatenated,
    1×1 projection 256 + BN + ReLU, 1×1 logits with bias; resized (align_corners) to the input."""

    def __init__(self, depth_multiplier: float = 1.0, num_classes: int = 21, output_stride: int = 16) -> None:
        super().__init__()

        def depth(d: int) -> int:
            return _make_divisible(d * depth_multiplier, 8)

        layers: list[nn.Module] = [_tf_conv(3, depth(32), 3, 2)]
        cin, current, rate = depth(32), 2, 1
        for t, c, n, s in _MOBILENET_V2_DEF:
            for i in range(n):
                stride = s if i == 0 else 1
                layer_rate = 1
                if current == output_stride and stride > 1:
                    stride, layer_rate, rate = 1, rate, rate * stride
                else:
                    current *= stride
                    layer_rate = rate
                layers.append(_ExpandedConv(cin, t, depth(c), stride, layer_rate))
                cin = depth(c)
        self.body = nn.Sequential(*layers)
        self.pool_conv = _cba(cin, 256, 1)
        self.aspp0 = _cba(cin, 256, 1)
        self.project = _cba(512, 256, 1)
        self.logits = nn.Conv2d(256, num_classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        f = self.body(x)
        pooled = F.interpolate(self.pool_conv(f.mean(dim=(2, 3), keepdim=True)), size=f.shape[-2:], mode="bilinear",
                               align_corners=True)
        y = self.logits(self.project(torch.cat([pooled, self.aspp0(f)], dim=1)))
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=True)


class FasterRCNNMobileNetV3FPN(nn.Module):
    """torchvision's ``fasterrcnn_mobilenet_v3_large_fpn`` up to the RPN's raw outputs (pytorch/vision torchvision/
    models/detection/faster_rcnn.py ``_fasterrcnn_mobilenet_v3_large_fpn``, backbone_utils.py ``_mobilenet_extractor``
    with fpn=True, ops/feature_pyramid_network.py ``FeaturePyramidNetwork`` and ``LastLevelMaxPool``, rpn.py
    ``RPNHead``): MobileNetV3-Large features (not dilated, not reduced); the FPN reads stage_indices[4] = features[13]
    (the C4 block, 160 wide) and features[16] (960) — both at stride 32 —, with 1×1 lateral and 3×3 output convs of 256
    (biases, no norm), the top-down path resized (nearest) to the lateral's size and added, and a max pool (kernel 1,
    stride 2) of the last level; one RPNHead shared by the three levels: a 3×3 conv 256 with bias and ReLU, 1×1 convs
    with bias to 15 objectness logits and 60 box deltas (5 sizes × 3 ratios per location). Returns the six raw maps
    (objectness and deltas per level); anchors, decoding, NMS and the RoI heads are not here."""

    def __init__(self, width_mult: float = 1.0, anchors: int = 15) -> None:
        super().__init__()
        features = mobilenet_v3_large_features(width_mult)
        self.backbone = _Features(features, (13, 16))
        c4, c5 = _out_channels(features[13]), _out_channels(features[16])
        self.inner = nn.ModuleList([nn.Conv2d(c4, 256, 1), nn.Conv2d(c5, 256, 1)])
        self.layer = nn.ModuleList([nn.Conv2d(256, 256, 3, padding=1), nn.Conv2d(256, 256, 3, padding=1)])
        self.rpn_conv = nn.Conv2d(256, 256, 3, padding=1)
        self.objectness = nn.Conv2d(256, anchors, 1)
        self.deltas = nn.Conv2d(256, 4 * anchors, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        c4, c5 = self.backbone(x)
        top = self.inner[1](c5)
        p5 = self.layer[1](top)
        lateral = self.inner[0](c4)
        p4 = self.layer[0](lateral + F.interpolate(top, size=lateral.shape[-2:], mode="nearest"))
        levels = [p4, p5, F.max_pool2d(p5, 1, 2, 0)]
        out = []
        for p in levels:
            t = F.relu(self.rpn_conv(p))
            out += [self.objectness(t), self.deltas(t)]
        return tuple(out)


# torchvision's vgg16 features (configuration D): widths, "M" a 2×2 max pool
_VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]


class SSD300VGG16(nn.Module):
    """torchvision's ``ssd300_vgg16`` up to its head outputs (pytorch/vision torchvision/models/detection/ssd.py:
    ``SSDFeatureExtractorVGG``, ``SSDHead``, ``ssd300_vgg16``): VGG16 to conv4_3 with pool3 rounded up (38×38 at
    300 px), L2Norm on conv4_3 (F.normalize over the channels × a learned 512-vector), conv5 with pool5 replaced by
    a 3×3 stride-1 pool, fc6 as a 3×3 conv of 1024 with dilation 6 and fc7 a 1×1 conv of 1024; four extra blocks
    (1×1 then 3×3: stride 2 to 10 and 5, unpadded to 3 and 1); 3×3 box and class convs with bias on the six maps,
    4, 6, 6, 6, 4, 4 anchors. Returns torchvision's concatenated (1, 8,732, 4) and (1, 8,732, classes)."""

    def __init__(self, num_classes: int = 91) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin, pools = 3, 0
        for v in _VGG16:
            if v == "M":
                pools += 1
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=pools == 3))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        pool4 = [i for i, m in enumerate(layers) if isinstance(m, nn.MaxPool2d)][3]
        self.features = nn.Sequential(*layers[:pool4])
        self.scale_weight = nn.Parameter(torch.full((512,), 20.0))
        fc = [nn.MaxPool2d(3, 1, 1), nn.Conv2d(512, 1024, 3, padding=6, dilation=6), nn.ReLU(inplace=True),
              nn.Conv2d(1024, 1024, 1), nn.ReLU(inplace=True)]
        self.extra = nn.ModuleList([nn.Sequential(*layers[pool4:], *fc)])
        for c_in, mid, out, stride, pad in ((1024, 256, 512, 2, 1), (512, 128, 256, 2, 1), (256, 128, 256, 1, 0),
                                            (256, 128, 256, 1, 0)):
            self.extra.append(nn.Sequential(nn.Conv2d(c_in, mid, 1), nn.ReLU(inplace=True),
                                            nn.Conv2d(mid, out, 3, stride, pad), nn.ReLU(inplace=True)))
        maps, anchors = (512, 1024, 512, 256, 256, 256), (4, 6, 6, 6, 4, 4)
        self.box = nn.ModuleList(nn.Conv2d(c, 4 * a, 3, padding=1) for c, a in zip(maps, anchors, strict=True))
        self.cls = nn.ModuleList(nn.Conv2d(c, num_classes * a, 3, padding=1) for c, a in zip(maps, anchors,
                                                                                            strict=True))
        self.num_classes = num_classes

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = self.features(x)
        maps = [self.scale_weight.view(1, -1, 1, 1) * F.normalize(x)]
        for block in self.extra:
            x = block(x)
            maps.append(x)
        boxes = [head(m) for head, m in zip(self.box, maps, strict=True)]
        scores = [head(m) for head, m in zip(self.cls, maps, strict=True)]
        return _scoring(boxes, 4), _scoring(scores, self.num_classes)
