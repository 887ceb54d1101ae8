"""Issue 21, LeViT on the import paths (timm/models/levit.py, as tests/attention_zoo.py writes it): LinearNorm's
Flatten → BatchNormalization → Reshape folded into `linear` (``bn``) or alone as `bn` on the tokens, and LeViT's
attention and attention-subsample as one `attention` layer (``bn``, ``proj_act``, ``out``, ``q_stride``), exactly
what fvcore counts of the module; a near-miss is a located error."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("fvcore")
pytestmark = pytest.mark.slow  # torch's exporter and fvcore

from torch import nn  # noqa: E402

from mobcost import analyze, parse_spec  # noqa: E402
from mobcost.importers import ModelImportError, onnx_to_spec  # noqa: E402
from mobcost.torchside.export import export_onnx, from_torch  # noqa: E402

from . import attention_zoo as zoo  # noqa: E402
from .reference_models import whole_counts  # noqa: E402


def small_levit() -> nn.Module:
    """LeViT's stem s16, a stage of 16 channels (2 heads of key 8), attention-subsample to 24 channels (16 / 8 = 2
    heads, values 4 × 8 wide), a stage of 24 (3 heads), NormLinear heads: at 64 px, a 4×4 grid then 2×2."""
    return zoo._Levit((16, 24), 8, (2, 3), (1, 1), 64)


def totals(text: str) -> tuple[int, int]:
    t = analyze(parse_spec(text)).totals
    return t.mult_adds, t.params + t.bn_params


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_small_levit_imports_exactly(dynamo: bool, tmp_path) -> None:
    model = small_levit().eval()
    expected = whole_counts(small_levit(), 64)[:2]
    text = from_torch(model, (3, 64, 64), dynamo=dynamo)
    assert totals(text) == expected
    assert "q_stride: 2" in text and "proj_act: hswish" in text and "out: 24" in text
    file = tmp_path / "levit.onnx"
    file.write_bytes(export_onnx(model, (3, 64, 64), dynamo=dynamo))
    assert totals(onnx_to_spec(file).yaml) == expected


class TokenNorm(nn.Module):
    """A map read as tokens, BatchNorm1d over the flattened tokens alone (LinearNorm's BN without its Linear), the
    mean token and a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn, self.fc = nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm1d(8), nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x).flatten(2).transpose(1, 2)
        return self.fc(self.bn(x.flatten(0, 1)).reshape_as(x).mean(dim=1))


def test_bn_alone_on_tokens() -> None:
    text = from_torch(TokenNorm(), (3, 16, 16))
    assert "type: bn" in text
    # conv 8·3·9·(8·8) = 13,824 + fc 8·4 = 32; params conv 216 + 8, fc 32 + 4, BN γ, β 2·8 = 276
    assert totals(text) == whole_counts(TokenNorm(), 16)[:2] == (13_856, 276)


class HalfNormed(nn.Module):
    """LeViT's attention with its output projection a plain Linear: BatchNorm after q, k, v but not after it."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = zoo._LevitAttention(16, 16, 8, 2, 2.0, 4, 1)
        self.attn.proj = nn.Sequential(nn.Hardswish(), nn.Linear(32, 16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x.flatten(2).transpose(1, 2)).mean(dim=1)


def test_near_miss_is_a_located_error() -> None:
    with pytest.raises(ModelImportError) as info:
        from_torch(HalfNormed(), (16, 4, 4))
    line = str(info.value)
    assert "BatchNorm after the q, k, v projections but not the output one" in line and "attn" in line, line


@pytest.mark.parametrize(("alpha", "size"), [(1.0, 32), (0.5, 36)])
def test_torch_build_round_trips(alpha: float, size: int) -> None:
    """tests/test_levit.py's LeViT spec → mobcost's torch build → TorchScript ONNX → the same counts (its grouped
    scores reshaped around the bias table and softmax, its BatchNorms written with Reshape, not Flatten)."""
    from mobcost import build
    from mobcost.torchside.build import graph_module

    from .test_levit import LEVIT

    data = export_onnx(graph_module(build(parse_spec(LEVIT), alpha, resolution=size)), (3, size, size))
    got = analyze(parse_spec(onnx_to_spec(data).yaml)).totals
    want = analyze(parse_spec(LEVIT), alpha, resolution=size).totals
    assert (got.mult_adds, got.params, got.bn_params) == (want.mult_adds, want.params, want.bn_params)


def test_resolution_follows_the_module_built_at_that_size() -> None:
    """Imported at 64 px (a 4×4 grid, subsampled to 2×2), counted at 96 px: a 6×6 grid subsampled to ⌈6/2⌉ = 3×3,
    bias tables h·N of the new grids — what fvcore counts of the module timm builds for 96 px."""
    text = from_torch(small_levit().eval(), (3, 64, 64))
    t = analyze(parse_spec(text), resolution=96).totals
    assert (t.mult_adds, t.params + t.bn_params) == whole_counts(zoo._Levit((16, 24), 8, (2, 3), (1, 1), 96), 96)[:2]
