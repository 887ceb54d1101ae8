"""Importing `conv_attention` (SHViT's single-head attention on a map): a spec's own torch build exported and
imported back to the same counts, both ways of writing A·V (V·Aᵀ as SHViT does, and A·Vᵀ transposed back) from both
exporters against fvcore's count of the module, and a near miss (a value part read outside the block) refused
with a located error."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("fvcore")
pytestmark = pytest.mark.slow  # torch exports

from torch import nn  # noqa: E402

from mobcost import analyze, parse_spec  # noqa: E402
from mobcost.graph import build  # noqa: E402
from mobcost.importers import ModelImportError, onnx_to_spec  # noqa: E402
from mobcost.torchside.export import export_onnx  # noqa: E402

from .reference_models import whole_counts  # noqa: E402
from .test_conv_attention import MULTI, SHSA  # noqa: E402


def _imported(module: nn.Module, size: int, dynamo: bool = False) -> str:
    return onnx_to_spec(export_onnx(module, (3, size, size), dynamo=dynamo)).yaml


class _Shsa(nn.Module):
    """timm's SHSA core on the whole map, q, k, v from one 1×1 conv + BN; A·V as V·Aᵀ (SHViT) or as A·Vᵀ
    transposed back (``transposed``); ``leak`` adds the value part to the output (read outside the block)."""

    def __init__(self, channels: int, qk: int, transposed: bool = False, leak: bool = False) -> None:
        super().__init__()
        self.qk, self.transposed, self.leak = qk, transposed, leak
        self.qkv = nn.Sequential(nn.Conv2d(channels, 2 * qk + channels, 1, bias=False),
                                 nn.BatchNorm2d(2 * qk + channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(x).split([self.qk, self.qk, c], dim=1)
        attn = ((q.flatten(2).transpose(-2, -1) @ k.flatten(2)) * self.qk**-0.5).softmax(dim=-1)
        if self.transposed:
            out = (attn @ v.flatten(2).transpose(-2, -1)).transpose(-2, -1).reshape(b, c, h, w)
        else:
            out = (v.flatten(2) @ attn.transpose(-2, -1)).reshape(b, c, h, w)
        return out + v if self.leak else out


def _model(**kwargs: bool) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), _Shsa(16, 8, **kwargs)).eval()


@pytest.mark.parametrize("text", [SHSA, MULTI])
def test_own_build_imports_back_to_the_same_counts(text: str) -> None:
    from mobcost.torchside.build import graph_module

    spec = parse_spec(text)
    imported = _imported(graph_module(build(spec)), 16)
    assert "conv_attention" in imported
    got, want = analyze(parse_spec(imported)).totals, analyze(spec).totals
    assert (got.mult_adds, got.params, got.bn_params) == (want.mult_adds, want.params, want.bn_params)


@pytest.mark.parametrize("dynamo", [False, True])
@pytest.mark.parametrize("transposed", [False, True])
def test_both_ways_of_writing_a_v_import_as_fvcore_counts(transposed: bool, dynamo: bool) -> None:
    """TorchScript writes the split as three Slices here (its sizes come from ``x.shape``), dynamo as
    SplitToSequence + SequenceAt; the zoo's SHViT (sizes constant) gets a Split."""
    model = _model(transposed=transposed)
    totals = analyze(parse_spec(_imported(model, 16, dynamo))).totals
    # fvcore's conv + matmul Mult-Adds of the module and all its parameters
    assert (totals.mult_adds, totals.params + totals.bn_params) == whole_counts(model, 16)[:2]
    # by hand: the 3×3 conv 9·3·16·64 = 27,648; conv_attention C = 16, N = 64, d = 8, d_v = 16: 64·16·32 = 32,768
    # and 64²·(8 + 16) = 98,304 → 158,720
    assert totals.mult_adds == 158_720


def test_a_value_part_read_outside_is_a_located_error() -> None:
    with pytest.raises(ModelImportError) as info:
        _imported(_model(leak=True), 16)
    message = str(info.value)
    assert "is read outside it" in message and "nearest: conv_attention" in message, message
    assert "node '" in message, message
