"""Issue 21, windows imported (mobcost/importers/windows.py): a small Swin (channels-last maps, shifted windows by
torch.roll, the relative-position bias table and mask, patch merging, the mean over H and W) and a small TinyViT
stage (a window partition of a channels-last map, tokens read from a conv and viewed back) import on both paths to
what fvcore counts of the module and every parameter it holds; chains that do not move values as the layers do are
located errors."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.slow  # torch's exporter and fvcore
pytest.importorskip("onnx")
pytest.importorskip("fvcore")
from torch import nn  # noqa: E402

from mobcost import analyze, parse_spec  # noqa: E402
from mobcost.importers import ModelImportError, onnx_to_spec  # noqa: E402
from mobcost.torchside.export import export_onnx, from_torch  # noqa: E402

from . import attention_zoo as zoo  # noqa: E402
from .reference_models import whole_counts  # noqa: E402


def imported(text: str) -> tuple[int, int]:
    totals = analyze(parse_spec(text)).totals
    return totals.mult_adds, totals.params + totals.bn_params


def both_paths(model: nn.Module, size: int, tmp_path) -> tuple[str, str]:
    file = tmp_path / "m.onnx"
    file.write_bytes(export_onnx(model, (3, size, size)))
    return onnx_to_spec(file).yaml, from_torch(model, (3, size, size))


def test_a_small_swin_imports_exactly(tmp_path) -> None:
    # 32 px, 4×4 patches of 16 channels: an 8×8 map in 4×4 windows (4 windows, the second block shifted by 2), patch
    # merging to 4×4×32, then one 4×4 window (no shift: timm shifts only where the map is larger than a window)
    model = zoo._Swin(16, (2, 2), (2, 4), 32, 4).eval()
    expected = whole_counts(model, 32)[:2]
    for text in both_paths(model, 32, tmp_path):
        assert imported(text) == expected
        assert "type: window, window: 4, shift: 2" in text and "type: unwindow, shift: 2" in text
        assert text.count("relative_table: true") == 4 and "type: space_to_depth, patch: 2" in text
    # the relative tables alone: (2·4 − 1)²·heads = 49·2 twice and 49·4 twice
    params = sum(p.numel() for n, p in model.named_parameters() if "relative" in n)
    assert params == 2 * 49 * 2 + 2 * 49 * 4


def test_a_small_tiny_vit_stage_imports_exactly(tmp_path) -> None:
    # a TinyViT stage on a 16×16 map: 4×4 windows with attention biases (h·16 each), the local conv read as tokens,
    # the MLP, the tokens viewed back into the map (`untokens`)
    model = nn.Sequential(nn.Conv2d(3, 16, 2, 2), zoo._TinyStage(16, 16, 2, 2, 4), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(16, 10)).eval()
    expected = whole_counts(model, 64)[:2]
    for text in both_paths(model, 64, tmp_path):
        assert imported(text) == expected
        assert "type: window, window: 4" in text and "type: untokens" in text and "bias_table: true" in text


class _Scrambled(nn.Module):
    """A 1×1 conv, then a reshape of the channels-last map into 4×4 "windows" without timm's transpose: each
    sequence holds a strip of 16 pixels of one row, which no `window` layer is — and, with ``roll``, a map rolled
    by two pixels and then added to itself, which no window reads."""

    def __init__(self, roll: bool) -> None:
        super().__init__()
        self.conv, self.fc, self.roll = nn.Conv2d(3, 8, 1), nn.Linear(8, 8), roll

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x).permute(0, 2, 3, 1)
        if self.roll:
            return (x + torch.roll(x, shifts=(2, 2), dims=(1, 2))).permute(0, 3, 1, 2)
        y = self.fc(x.reshape(-1, 16, 8)).reshape(1, 16, 16, 8)
        return (x + y).permute(0, 3, 1, 2)


@pytest.mark.parametrize(("roll", "needle"), [(False, "Reshape"), (True, "reads a rolled map")])
def test_moves_no_layer_makes_are_located_errors(roll: bool, needle: str) -> None:
    with pytest.raises(ModelImportError, match=needle):
        from_torch(_Scrambled(roll).eval(), (3, 16, 16))
