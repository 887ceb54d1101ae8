"""Issue 21's vocabulary outside attention on held-out networks (tests/vocab_models.py: timm's TensorFlow ports with
run-time "same" padding, FasterNet-T0's 1:3 channel split, PoolFormer-S12's GroupNorm and pool − x, FastViT's
RepMixer, an L2-normalised head). Each is imported (a) from an ONNX file the test exports (TorchScript exporter,
opset 17, BatchNorm kept) and (b) from the module (``import_torch``; the dynamo exporter on one), without
``allow_unknown``, and must give Mult-Adds equal to fvcore's conv + linear count of the module, params equal to the
module's parameters other than normalisation γ, β, and BN params equal to BatchNorm's and GroupNorm's γ, β. The
expected values come from fvcore and the module, never from the importer."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.slow  # exports and fvcore on seven networks
pytest.importorskip("onnx")
pytest.importorskip("fvcore")

from mobcost import analyze, parse_spec  # noqa: E402
from mobcost.importers import onnx_to_spec  # noqa: E402
from mobcost.torchside.export import export_onnx, import_torch  # noqa: E402

from . import vocab_models as zoo  # noqa: E402

SIZE = 64  # even: every stride-2 "same" convolution pads 0 before and 1 after
# the module path through the dynamo exporter on two (FasterNet's split with sizes and PoolFormer's GroupNorm do not
# import through it yet: their SequenceAt and GroupNorm outputs have no inferred shapes)
DYNAMO = {"repmixer_net", "tf_mobilenetv3_large_100"}
_CACHE: dict[str, tuple[torch.nn.Module, dict[str, int]]] = {}


def _model(name: str) -> tuple[torch.nn.Module, dict[str, int]]:
    if name not in _CACHE:
        model = zoo.build(name)
        _CACHE[name] = model, zoo.module_counts(model, SIZE)
    return _CACHE[name]


def _counted(text: str) -> dict[str, int]:
    t = analyze(parse_spec(text)).totals
    return {"mult_adds": t.mult_adds, "params": t.params, "bn_params": t.bn_params}


@pytest.mark.parametrize("path", ["onnx-file", "module"])
@pytest.mark.parametrize("name", list(zoo.VOCAB_ZOO))
def test_vocabulary_network_imports_to_fvcore_counts(name: str, path: str, tmp_path: Path) -> None:
    model, want = _model(name)
    if path == "onnx-file":
        file = tmp_path / f"{name}.onnx"
        file.write_bytes(export_onnx(model, (3, SIZE, SIZE), opset=17))
        result = onnx_to_spec(file)
    else:
        result = import_torch(model, (3, SIZE, SIZE), dynamo=name in DYNAMO)
    assert not result.unmapped
    assert _counted(result.yaml) == want


def test_the_ports_hold_timms_published_parameters() -> None:
    """Every parameter (norms included), rounded as timm's model cards print them."""
    got = {n: round(sum(p.numel() for p in _model(n)[0].parameters()) / 1e6, 2) for n in zoo.PUBLISHED_PARAMS_M}
    assert {n: round(v, 1) for n, v in got.items()} == {n: round(v, 1) for n, v in zoo.PUBLISHED_PARAMS_M.items()}


def test_the_tf_ports_pad_asymmetrically_and_import_as_same() -> None:
    """The stride-2 convolutions of the ports pad (0, 1) at 64 px (TF "same": ⌈64/2⌉ = 32 outputs need
    (32 − 1)·2 + 3 − 64 = 1 pixel, after); the importer writes them `padding: same`."""
    for name in ("tf_mobilenetv3_large_100", "tf_efficientnet_b0"):
        model, _ = _model(name)
        same = [m for m in model.modules() if isinstance(m, zoo.Conv2dSame)]
        assert len(same) == 5  # the stem and the four stride-2 depthwise convolutions
        spec = parse_spec(import_torch(model, (3, SIZE, SIZE)).yaml)
        assert sum(layer.padding == "same" for layer in spec.layers) == 5


def test_fasternet_splits_one_quarter() -> None:
    """FasterNet-T0's partial convolution: 40 channels as 10 + 30 (n_div 4), in every block of every stage."""
    spec = parse_spec(import_torch(_model("fasternet_t0")[0], (3, SIZE, SIZE)).yaml)
    splits = [(layer.sizes, layer.index) for layer in spec.layers if layer.type == "split"]
    # depths (1, 2, 8, 2): 13 blocks, each one Split into [10, 30]·2^stage → sizes [1, 3], both parts read
    assert sorted(splits) == [((1, 3), 0)] * 13 + [((1, 3), 1)] * 13


def test_poolformer_and_repmixer_map_groupnorm_and_sub() -> None:
    spec = parse_spec(import_torch(_model("poolformer_s12")[0], (3, SIZE, SIZE)).yaml)
    types = [layer.type for layer in spec.layers]
    assert types.count("gn") == 2 * 12 + 1 and types.count("sub") == 12  # 12 blocks; the final norm
    spec = parse_spec(import_torch(_model("repmixer_net")[0], (3, SIZE, SIZE)).yaml)
    assert [layer.type for layer in spec.layers].count("sub") == 6  # one per RepMixer block
