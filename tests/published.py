"""Figures measured on the real networks, kept apart from any code that could produce them (no torch needed)."""

# fvcore's conv+linear count (1×3×224×224) and Conv2d/Linear params of torchvision's own models (timm's for
# MobileNetV4), BatchNorm γ+β apart: (Mult-Adds, params, BN params). Issue 12's table, measured on those models,
# not derived from mobcost: tests/test_reference_models.py pins tests/reference_models.py to it, and
# tests/test_bundled_vocabulary.py the bundled specs.
PUBLISHED = {
    "mobilenet_v3_large": (216_589_760, 5_458_632, 24_400),
    "mobilenet_v3_small": (56_510_400, 2_530_744, 12_112),
    "efficientnet_b0": (385_814_752, 5_246_532, 42_016),
    "resnet18": (1_814_073_344, 11_679_912, 9_600),
    "resnet50": (4_089_184_256, 25_503_912, 53_120),
    "shufflenet_v2_x1_0": (144_907_992, 2_262_424, 16_180),
    "mnasnet1_0": (314_415_872, 4_345_392, 37_920),
    "mobilenet_v4_conv_small": (186_005_568, 3_748_936, 25_088),
}
