"""Torch modules → ONNX (both of torch's exporters) → specs: every imported model's Mult-Adds equal fvcore's
conv+linear count of the original module, its params the module's conv+linear params, its BN params the module's.
The modules are defined here or in tests/reference_models.py; expected values come from fvcore and the module."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.slow  # torch's exporters and fvcore on every module
pytest.importorskip("onnx")
pytest.importorskip("fvcore")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from mobcost import analyze, build, parse_spec, to_torch  # noqa: E402
from mobcost.errors import OptionError  # noqa: E402
from mobcost.importers import ModelImportError, onnx_to_spec  # noqa: E402
from mobcost.layers import ACTIVATIONS, REGISTRY  # noqa: E402
from mobcost.torchside.export import export_onnx, from_torch, import_torch, load_factory  # noqa: E402

from . import reference_models as ref  # noqa: E402
from . import zoo_models as zoo  # noqa: E402

SIZE = 96  # any size checks the closed forms; smaller keeps fvcore and the exporters fast
# Issue 12's vocabulary (being added): the networks that need it are checked in full once it is there.
NEW_VOCABULARY = {"act", "bn", "mul", "split", "shuffle"} <= set(REGISTRY) and \
    {"hswish", "hsigmoid", "sigmoid", "silu"} <= set(ACTIVATIONS)
needs_vocabulary = pytest.mark.skipif(not NEW_VOCABULARY, reason="issue 12's layer types are not registered yet")


def _cbr(cin: int, cout: int, k: int = 3, s: int = 1, groups: int = 1, act: type = nn.ReLU) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout),
                         act(inplace=True))


def mobilenet_v1(width: float = 1.0) -> nn.Module:
    """Howard et al. 2017, Table 1."""
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5, (1024, 2), (1024, 1)]
    c = int(32 * width)
    layers = [_cbr(3, c, 3, 2)]
    for out, stride in plan:
        layers += [_cbr(c, c, 3, stride, groups=c), _cbr(c, int(out * width), 1)]
        c = int(out * width)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 1000))


class _InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        layers = [_cbr(cin, hidden, 1, act=nn.ReLU6)] if expand != 1 else []
        layers += [_cbr(hidden, hidden, 3, stride, hidden, nn.ReLU6), nn.Conv2d(hidden, cout, 1, bias=False),
                   nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_v2(stages: int = 7) -> nn.Module:
    """Sandler et al. 2018, Table 2 (torchvision's layout: features, then dropout and the classifier); fewer
    ``stages`` keep the exporter quick where a test repeats it (opsets, folding)."""
    plan = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
            (6, 320, 1, 1)][:stages]
    layers: list[nn.Module] = [_cbr(3, 32, 3, 2, act=nn.ReLU6)]
    c = 32
    for t, out, n, s in plan:
        for i in range(n):
            layers.append(_InvertedResidual(c, out, s if i == 0 else 1, t))
            c = out
    layers.append(_cbr(c, 1280, 1, act=nn.ReLU6))
    return nn.Sequential(nn.Sequential(*layers), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                         nn.Linear(1280, 1000))


class VGGish(nn.Module):
    """VGG's shape: biased convolutions without BatchNorm, max pools, adaptive pooling to 7×7, three FC layers."""

    def __init__(self) -> None:
        super().__init__()
        cfg = [32, "M", 64, "M", 128, 128, "M", 128, "M"]
        layers: list[nn.Module] = []
        c = 3
        for v in cfg:
            layers += [nn.MaxPool2d(2, 2)] if v == "M" else [nn.Conv2d(c, int(v), 3, padding=1), nn.ReLU(True)]
            c = int(v) if v != "M" else c
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((3, 3))
        self.classifier = nn.Sequential(nn.Linear(128 * 9, 512), nn.ReLU(True), nn.Dropout(), nn.Linear(512, 512),
                                        nn.ReLU(True), nn.Dropout(), nn.Linear(512, 1000))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.view(x.size(0), -1))


class _Inception(nn.Module):
    def __init__(self, cin: int, b1: int, r3: int, b3: int, r5: int, b5: int, pool: int) -> None:
        super().__init__()
        self.b1 = _cbr(cin, b1, 1)
        self.b2 = nn.Sequential(_cbr(cin, r3, 1), _cbr(r3, b3, 3))
        self.b3 = nn.Sequential(_cbr(cin, r5, 1), _cbr(r5, b5, 5))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), _cbr(cin, pool, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class GoogLeNetish(nn.Module):
    """Inception branches joined by concat, Caffe's ceil-mode max pools, dropout before the classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(_cbr(3, 64, 7, 2), nn.MaxPool2d(3, 2, ceil_mode=True), _cbr(64, 192, 3),
                                  nn.MaxPool2d(3, 2, ceil_mode=True))
        self.inception3a = _Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = _Inception(256, 128, 128, 192, 32, 96, 64)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception4a = _Inception(480, 192, 96, 208, 16, 48, 64)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inception4a(self.pool(self.inception3b(self.inception3a(self.stem(x)))))
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


class _Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1x1(x)), F.relu(self.expand3x3(x))], 1)


class SqueezeNetish(nn.Module):
    """SqueezeNet 1.0's shape: fire modules, a convolutional classifier, global pooling, softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 96, 7, 2), nn.ReLU(True), nn.MaxPool2d(3, 2, ceil_mode=True),
                                      _Fire(96, 16, 64), _Fire(128, 16, 64), nn.MaxPool2d(3, 2, ceil_mode=True),
                                      _Fire(128, 32, 128))
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(256, 1000, 1), nn.ReLU(True),
                                        nn.AdaptiveAvgPool2d(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(torch.flatten(self.classifier(self.features(x)), 1), 1)


class DenseNetish(nn.Module):
    """DenseNet's pre-activation: BatchNorm → ReLU → conv, so BatchNorm follows a concat, not a convolution."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _cbr(3, 32, 3, 2)
        self.blocks = nn.ModuleList(nn.ModuleDict({"norm1": nn.BatchNorm2d(32 + 16 * i), "conv1": nn.Conv2d(
            32 + 16 * i, 64, 1, bias=False), "norm2": nn.BatchNorm2d(64), "conv2": nn.Conv2d(64, 16, 3, padding=1,
                                                                                            bias=False)})
                                    for i in range(3))
        self.norm = nn.BatchNorm2d(80)
        self.fc = nn.Linear(80, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for b in self.blocks:
            y = b["conv2"](F.relu(b["norm2"](b["conv1"](F.relu(b["norm1"](x))))))
            x = torch.cat([x, y], 1)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(F.relu(self.norm(x)), 1), 1))


# ResNet-50 and MobileNetV3-Large import exactly too (both exporters, 224×224); left out here for time.
MODELS = {
    "mobilenet_v1": mobilenet_v1, "mobilenet_v2": mobilenet_v2, "mobilenet_v2_short": lambda: mobilenet_v2(3),
    "vgg": VGGish, "googlenet": GoogLeNetish, "squeezenet": SqueezeNetish, "resnet18": ref.resnet18,
    "mnasnet1_0": ref.mnasnet1_0, "mobilenet_v4_conv_small": ref.mobilenet_v4_conv_small,
}
# Issue 12's vocabulary: SE, hardswish/SiLU, channel split and shuffle, pre-activation BatchNorm.
NEW_MODELS = {
    "mobilenet_v3_small": ref.mobilenet_v3_small, "efficientnet_b0": ref.efficientnet_b0,
    "shufflenet_v2_x1_0": ref.shufflenet_v2_x1_0, "densenet": DenseNetish,
}
_COUNTS: dict[str, dict[str, int]] = {}
_MODULES: dict[str, nn.Module] = {}


def module(name: str) -> nn.Module:
    if name not in _MODULES:
        torch.manual_seed(0)
        _MODULES[name] = {**MODELS, **NEW_MODELS}[name]().eval()
    return _MODULES[name]


def expected(name: str) -> dict[str, int]:
    if name not in _COUNTS:
        _COUNTS[name] = ref.counts(module(name), SIZE)
    return _COUNTS[name]


def counted(text: str) -> dict[str, int]:
    t = analyze(parse_spec(text)).totals
    return {"mult_adds": t.mult_adds, "params": t.params, "bn_params": t.bn_params}


@pytest.mark.parametrize("name", [n for n in MODELS if n != "mobilenet_v2_short"])
def test_torchscript_export_imports_to_fvcore_counts(name: str) -> None:
    assert counted(from_torch(module(name), (3, SIZE, SIZE))) == expected(name)


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet18", "googlenet", "squeezenet"])
def test_dynamo_export_imports_to_fvcore_counts(name: str) -> None:
    assert counted(from_torch(module(name), (3, SIZE, SIZE), dynamo=True)) == expected(name)


@needs_vocabulary
@pytest.mark.parametrize(("name", "dynamo"), [(n, False) for n in NEW_MODELS] + [
    ("mobilenet_v3_small", True), ("shufflenet_v2_x1_0", True)])
def test_issue_12_networks_import_to_fvcore_counts(name: str, dynamo: bool) -> None:
    result = import_torch(module(name), (3, SIZE, SIZE), dynamo=dynamo)
    assert not result.unmapped
    assert counted(result.yaml) == expected(name)


def test_without_issue_12_vocabulary_allow_unknown_still_counts_mobilenet_v3() -> None:
    """Hardswish, the SE gate and its multiply cost nothing: left out, wired around, every count intact."""
    result = import_torch(module("mobilenet_v3_small"), (3, SIZE, SIZE), allow_unknown=True)
    assert counted(result.yaml) == expected("mobilenet_v3_small")
    assert all("not in the vocabulary yet" in u.reason or "does not have yet" in u.reason for u in result.unmapped)
    assert bool(result.unmapped) != NEW_VOCABULARY


@pytest.mark.parametrize("name", ["mobilenet_v1", "resnet18"])
def test_round_trip_to_torch_counts_like_the_original(name: str) -> None:
    spec = parse_spec(from_torch(module(name), (3, SIZE, SIZE)))
    assert ref.counts(to_torch(spec), SIZE) == expected(name)


def _randomise_batchnorm(model: nn.Module) -> nn.Module:
    """Fresh BatchNorm is the identity; an exporter may then drop it instead of folding it into a bias."""
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            for t in (m.weight.data, m.bias.data, m.running_mean):
                t.copy_(torch.rand(t.shape, generator=gen) - 0.5)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
    return model


@pytest.mark.parametrize("dynamo", [False, True])
def test_batchnorm_folded_by_the_exporter_leaves_conv_biases(dynamo: bool) -> None:
    """Params are what the file holds: every BatchNorm folded into a bias-less conv adds one bias per channel."""
    model = _randomise_batchnorm(mobilenet_v2(3).eval())
    want = ref.counts(model, SIZE)
    text = onnx_to_spec(export_onnx(model, (3, SIZE, SIZE), dynamo=dynamo, fold_bn=True)).yaml
    assert "defaults: {bias: true, bn: false}" in text
    assert counted(text) == {"mult_adds": want["mult_adds"], "params": want["params"] + want["bn_params"] // 2,
                             "bn_params": 0}


@pytest.mark.parametrize(("dynamo", "opset"), [(False, 11), (False, 13), (False, 17), (False, 21), (True, 18),
                                               (True, 21)])
def test_opset_sweep(dynamo: bool, opset: int) -> None:
    """The TorchScript exporter writes opsets 11–21 as asked; the dynamo exporter 18 and up."""
    result = onnx_to_spec(export_onnx(module("mobilenet_v2_short"), (3, SIZE, SIZE), dynamo=dynamo, opset=opset))
    assert f"ONNX opset {opset})" in result.yaml.splitlines()[1]
    assert counted(result.yaml) == expected("mobilenet_v2_short")


def test_names_follow_the_module_paths_and_branches_use_from() -> None:
    spec = parse_spec(from_torch(module("resnet18"), (3, SIZE, SIZE)))
    names = [layer.name for layer in spec.layers]
    assert names[:3] == ["conv1", "maxpool", "layer1.0.conv1"]
    down = spec.layers[names.index("layer2.0.downsample.0")]
    assert (down.type, down.stride, down.act) == ("pw", 2, "none")
    join = spec.layers[names.index("layer2.0.add")]
    assert join.inputs == ("layer2.0.conv2", "layer2.0.downsample.0") and join.act == "relu"
    assert spec.layers[-1].name == "fc" and spec.layers[-1].scale is False


def test_header_says_where_a_torch_module_came_from() -> None:
    text = from_torch(module("squeezenet"), (3, SIZE, SIZE))
    assert "torch module tests.test_import_torch.SqueezeNetish via torch.onnx.export (TorchScript)" in text
    assert parse_spec(text).name == "SqueezeNetish"
    assert "Softmax) is not a layer: it costs nothing" in text
    assert parse_spec(text).layers[-2].scale is False  # the convolutional classifier keeps 1000 classes under α


class _Odd(nn.Module):
    def __init__(self, tail: nn.Module) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.odd = tail
        self.head = nn.Conv2d(8, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.odd(self.conv(x)))


def test_an_unknown_operator_is_a_located_one_line_error() -> None:
    with pytest.raises(ModelImportError) as info:
        from_torch(_Odd(nn.Upsample(scale_factor=2, mode="bicubic")), (3, 16, 16))
    text = str(info.value)
    assert "\n" not in text and "node '/odd/Resize': Resize (inputs 1×8×16×16" in text
    assert "cubic interpolation: only nearest and bilinear map (upsample, resize)" in text


@pytest.mark.parametrize("dynamo", [False, True])
def test_upsampling_transposed_convolution_dilation_and_layer_norm_map_to_their_layers(dynamo: bool) -> None:
    """The vocabulary's newer layers, from a module: upsample (nearest, bilinear), deconv, dilated conv, ln."""

    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=2, dilation=2)
            self.up = nn.Upsample(scale_factor=2)
            self.deconv = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, output_padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.bilinear = nn.Upsample(scale_factor=2, mode="bilinear")
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.norm = nn.LayerNorm(4)
            self.fc = nn.Linear(4, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.bilinear(torch.relu(self.bn(self.deconv(self.up(self.conv(x))))))
            return self.fc(self.norm(torch.flatten(self.pool(x), 1)))

    model = Head().eval()
    result = import_torch(model, (3, 8, 8), dynamo=dynamo)
    spec = parse_spec(result.yaml)
    assert [la.type for la in spec.layers] == ["conv", "upsample", "deconv", "upsample", "avgpool", "ln", "fc"]
    assert (spec.layers[0].dilation, spec.layers[2].output_padding, spec.layers[3].mode) == (2, 1, "bilinear")
    # fvcore's conv + linear count (a transposed conv is "conv" to it); every parameter but the norms' γ, β
    assert counted(result.yaml) == zoo.module_counts(model, 8)


def test_allow_unknown_lists_what_it_left_out() -> None:
    result = import_torch(_Odd(nn.Softplus()), (3, 16, 16), allow_unknown=True)
    assert [(u.node, u.op) for u in result.unmapped] == [("/odd/Softplus", "Softplus")]
    assert "# unmapped:" in result.yaml
    assert counted(result.yaml)["mult_adds"] == ref.counts(_Odd(nn.Softplus()), 16)["mult_adds"]


def test_export_leaves_the_module_in_its_mode_and_checks_the_shape() -> None:
    model = mobilenet_v1(0.25).train()
    from_torch(model, (3, 64, 64))
    assert model.training
    with pytest.raises(OptionError, match="input_shape must be three positive integers"):
        from_torch(model, (64, 64))
    with pytest.raises(OptionError, match=r"expected a torch\.nn\.Module, got int"):
        from_torch(3)  # type: ignore[arg-type]


def test_alpha_applies_to_an_imported_spec() -> None:
    spec = parse_spec(from_torch(mobilenet_v1(), (3, SIZE, SIZE)))
    quarter = ref.counts(mobilenet_v1(0.25), SIZE)
    # MobileNetV1 at α = 0.25 is the same network built with width 0.25, the classifier kept at 1000
    assert analyze(spec, alpha=0.25).totals.mult_adds == quarter["mult_adds"]
    assert math.isclose(build(spec, alpha=0.25).nodes[-1].out_channels, 1000)


def tiny_factory() -> nn.Module:
    return mobilenet_v1(0.25)


def not_a_module() -> int:
    return 3


def raising_factory() -> nn.Module:
    raise RuntimeError("no weights here")


def test_load_factory_returns_the_module() -> None:
    assert isinstance(load_factory("tests.test_import_torch:tiny_factory"), nn.Sequential)


@pytest.mark.parametrize(("target", "message"), [
    ("tests.test_import_torch", "expected package.module:factory"),
    ("no_such_package_xyz.models:make", "cannot import 'no_such_package_xyz.models'"),
    ("tests.test_import_torch:missing", "has no attribute 'missing'"),
    ("tests.test_import_torch:SIZE", "is not callable"),
    ("tests.test_import_torch:not_a_module", "returned int, not a torch.nn.Module"),
    ("tests.test_import_torch:raising_factory", "raised RuntimeError: no weights here"),
])
def test_load_factory_errors_are_one_line(target: str, message: str) -> None:
    with pytest.raises(OptionError, match=message) as info:
        load_factory(target)
    assert "\n" not in str(info.value)


def test_cli_imports_a_factory_from_the_current_folder(tmp_path) -> None:
    # A user's own module beside them, as `python -m` would find it: the `mobcost` script must too.
    import shutil
    import subprocess
    import sys as _sys

    (tmp_path / "mynet.py").write_text(
        "from torch import nn\n\ndef tiny():\n"
        "    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()).eval()\n",
        encoding="utf-8")
    exe = shutil.which("mobcost")
    argv = [exe] if exe else [_sys.executable, "-m", "mobcost"]
    done = subprocess.run([*argv, "import", "--torch", "mynet:tiny", "--input", "3x8x8"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    from mobcost import analyze, parse_spec

    totals = analyze(parse_spec(done.stdout)).totals
    # 3·3·3·8 = 216 weights on an 8×8 output: 216·64 = 13,824 Mult-Adds; BN: 2·8 = 16 params apart
    assert (totals.mult_adds, totals.params, totals.bn_params) == (13_824, 216, 16)
    assert "name: tiny" in done.stdout


@pytest.mark.parametrize(("source", "message"), [
    ("def tiny(:\n    pass\n", "syntax error in"),  # a module that does not parse
    ("raise ValueError('broken at import')\n", "raised ValueError: broken at import"),
    ("import sys\n\ndef tiny():\n    sys.exit(0)\n", "called sys.exit(0)"),  # would exit 0 with no output
])
def test_cli_user_code_failures_are_one_located_line(tmp_path, source: str, message: str) -> None:
    import subprocess
    import sys as _sys

    (tmp_path / "badnet.py").write_text(source, encoding="utf-8")
    done = subprocess.run([_sys.executable, "-m", "mobcost", "import", "--torch", "badnet:tiny"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert message in done.stderr and "--torch" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_cli_refuses_an_input_too_large_to_run_before_running_it(tmp_path) -> None:
    import subprocess
    import sys as _sys

    # The factory would say so if it ran: the bound is checked before any user code.
    (tmp_path / "spy.py").write_text("raise SystemExit('imported')\n", encoding="utf-8")
    done = subprocess.run([_sys.executable, "-m", "mobcost", "import", "--torch", "spy:tiny", "--input",
                           "3x60000x60000"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    # 3·60,000·60,000 = 10.8 G elements (43 GB of fp32) against the 8,388,608 bound
    assert done.returncode == 2 and "--input" in done.stderr and "8,388,608" in done.stderr
    assert "imported" not in done.stderr and done.stderr.count("\n") == 1
