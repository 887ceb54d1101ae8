"""Issue 13's done-when on a held-out zoo (tests/zoo_models.py: torchvision and timm families re-implemented):
every network is imported (a) from an ONNX file the test exports (TorchScript exporter, opset 17, BatchNorm kept)
and (b) from the module (``import_torch``; the dynamo exporter on a few), without ``allow_unknown``, and must give
Mult-Adds equal to fvcore's conv + linear count of the module, params equal to the module's parameters other than
normalisation γ, β, and BN params equal to those γ, β (BatchNorm and LayerNorm). Expected values come from fvcore
and the module, never from the importer. A network that cannot import yet is ``xfail(strict=True)`` naming the
construct it lacks, so the import rate is visible in every run (and an xfail that starts passing fails)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.slow  # the held-out zoo: exports and traces dozens of networks
pytest.importorskip("onnx")
pytest.importorskip("fvcore")

from mobcost import analyze, parse_spec  # noqa: E402
from mobcost.importers import onnx_to_spec  # noqa: E402
from mobcost.torchside.export import export_onnx, import_torch  # noqa: E402

from . import zoo_models as zoo  # noqa: E402

# Smallest convenient input per network: VGG and AlexNet need 224 (their AdaptiveAvgPool2d((7, 7)) / ((6, 6))
# exports only where the map divides evenly), Inception v3 at least 75; 64 elsewhere.
SIZES = {"alexnet": 224, "vgg11_bn": 224, "vgg16": 224, "inception_v3": 75}
# The module path through the dynamo exporter for a few (3–4 s each); the TorchScript exporter for the rest.
DYNAMO = {"resnet34", "squeezenet1_1", "regnet_y_400mf"}
# 60–140 M parameters make every export of these take 3–8 s (torch's own passes over the weights): one path each,
# alternating, so both paths still meet a classifier of that size.
ONE_PATH = {"vgg16": "onnx-file", "wide_resnet50_2": "onnx-file", "vgg11_bn": "module", "alexnet": "module"}
# What the spec vocabulary (or the importer) cannot express yet, per network.
MISSING: dict[str, str] = {}

_CACHE: dict[str, tuple[torch.nn.Module, dict[str, int]]] = {}


def _model(name: str) -> tuple[torch.nn.Module, dict[str, int]]:
    """The module (built once) and what fvcore and the module itself say."""
    if name not in _CACHE:
        model = zoo.build(name)
        _CACHE[name] = model, zoo.module_counts(model, SIZES.get(name, 64))
    return _CACHE[name]


def _counted(text: str) -> dict[str, int]:
    t = analyze(parse_spec(text)).totals
    return {"mult_adds": t.mult_adds, "params": t.params, "bn_params": t.bn_params}


def _params(*paths: str) -> list:
    out = []
    for name in zoo.ZOO:
        for path in paths:
            if ONE_PATH.get(name, path) != path:
                continue
            marks = [pytest.mark.xfail(strict=True, reason=MISSING[name])] if name in MISSING else []
            out.append(pytest.param(name, path, marks=marks, id=f"{name}-{path}"))
    return out


@pytest.mark.parametrize(("name", "path"), _params("onnx-file", "module"))
def test_zoo_network_imports_to_fvcore_counts(name: str, path: str, tmp_path: Path) -> None:
    model, want = _model(name)
    size = SIZES.get(name, 64)
    if path == "onnx-file":
        file = tmp_path / f"{name}.onnx"
        file.write_bytes(export_onnx(model, (3, size, size), opset=17))  # TorchScript, BatchNorm kept
        result = onnx_to_spec(file)
    else:
        result = import_torch(model, (3, size, size), dynamo=name in DYNAMO)
    assert not result.unmapped
    assert _counted(result.yaml) == want


def test_the_zoo_is_faithful_to_the_published_parameter_counts() -> None:
    """The re-implementations hold the parameters torchvision publishes for each network (BN included)."""
    got = {n: sum(p.numel() for p in _model(n)[0].parameters()) for n in zoo.PUBLISHED_PARAMS}
    assert got == zoo.PUBLISHED_PARAMS


def test_the_zoo_covers_the_families_and_imports_at_least_90_percent() -> None:
    families = ("mobilenet_v2", "mobilenet_v3", "mobilenet_v4", "efficientnet", "mnasnet", "resnet", "resnext",
                "regnet", "shufflenet", "squeezenet", "densenet", "googlenet", "inception_v3", "vgg", "convnext")
    assert all(any(n.startswith(f) for n in zoo.ZOO) for f in families)
    assert len(zoo.ZOO) >= 20
    assert len(zoo.ZOO) - len(MISSING) >= 0.9 * len(zoo.ZOO)
