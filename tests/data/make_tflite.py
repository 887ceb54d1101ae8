"""How tests/data/*_float.tflite and *_int8.tflite were made (tests/test_import_tflite.py reads them; neither
the test suite nor CI can run this: it needs litert-torch and ai-edge-quantizer, the `litert` extra and more).

    python tests/data/make_tflite.py tests/data

litert-torch converts each torch module (eval mode, BatchNorm folded into the convolutions' biases, an NHWC
input as TFLite models take) to a float .tflite; ai-edge-quantizer's static int8 recipe (int8 weights and
activations, int32 biases, per-channel scales) quantizes it with four random calibration inputs. The weights
are drawn from a fixed seed, so a rerun makes the same graphs (their values may differ across versions).
"""

from __future__ import annotations

import os
import sys
import tempfile

import torch
from torch import nn


def _conv(cin: int, cout: int, k: int, s: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout))


class MiniMobileNet(nn.Module):
    """MobileNetV1's pattern at 32×32: conv 3→8 /2, dw/pw pairs (8→16, 16→32 /2), hardswish, global mean, fc 10."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _conv(3, 8, 3, 2)
        self.dw1, self.pw1 = _conv(8, 8, 3, 1, 8), _conv(8, 16, 1, 1)
        self.dw2, self.pw2 = _conv(16, 16, 3, 2, 16), _conv(16, 32, 1, 1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 3, 1, 2)  # the NHWC input a TFLite model takes
        x = nn.functional.relu6(self.stem(x))
        x = nn.functional.relu6(self.pw1(nn.functional.relu6(self.dw1(x))))
        x = nn.functional.hardswish(self.pw2(torch.relu(self.dw2(x))))
        return torch.softmax(self.fc(x.mean((2, 3))), dim=1)


class Branches(nn.Module):
    """Two branches concatenated, a residual ADD, a squeeze-excite MUL by a sigmoid gate, a max pool, fc 5."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _conv(3, 8, 3, 1)
        self.a, self.b = _conv(8, 8, 1, 1), _conv(8, 8, 3, 1)
        self.mix = _conv(16, 8, 1, 1)
        self.gate = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8 * 8 * 8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x.permute(0, 3, 1, 2)))
        y = torch.relu(self.mix(torch.cat([torch.relu(self.a(x)), torch.relu(self.b(x))], dim=1)))
        x = x + y
        x = x * torch.sigmoid(self.gate(x.mean((2, 3), keepdim=True)))
        x = nn.functional.max_pool2d(x, 2)
        return self.fc(x.permute(0, 2, 3, 1).reshape(1, -1))


def convert(module: nn.Module, size: int, floating: str, quantized: str | None) -> None:
    import litert_torch
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer, recipe

    litert_torch.convert(module.eval(), (torch.randn(1, size, size, 3),)).export(floating)
    if quantized is None:
        return
    signature = Interpreter(floating).get_signature_list()
    key = next(iter(signature))
    name = signature[key]["inputs"][0]
    rng = np.random.default_rng(0)
    samples = [{name: rng.standard_normal((1, size, size, 3)).astype(np.float32)} for _ in range(4)]
    q = quantizer.Quantizer(floating, recipe.static_wi8_ai8())
    q.quantize(q.calibrate({key: samples})).export_model(quantized, overwrite=True)


def main(out: str) -> None:
    torch.manual_seed(0)
    mobile, branches = MiniMobileNet(), Branches()
    for m in (mobile, branches):  # BatchNorm statistics that are not the identity, so folding shows
        for bn in (x for x in m.modules() if isinstance(x, nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    convert(mobile, 32, os.path.join(out, "mini_mobilenet_float.tflite"),
            os.path.join(out, "mini_mobilenet_int8.tflite"))
    with tempfile.TemporaryDirectory() as tmp:
        convert(branches, 16, os.path.join(tmp, "branches_float.tflite"), os.path.join(out, "branches_int8.tflite"))


if __name__ == "__main__":
    main(sys.argv[1])
