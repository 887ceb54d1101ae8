"""Importing cross-covariance attention and the Fourier position encoding (importers/xca.py) on both paths — the
ONNX file (export_onnx → onnx_to_spec) and from_torch — from modules written from timm's definitions
(tests/attention_zoo.py: ``_XCA``, ``_FourierPosition``): the spec counts what fvcore counts of the module and
every parameter it holds; a near-miss is a located error, and a convolution of constants is never a free scalar."""

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

from .attention_zoo import _XCA, _FourierPosition  # noqa: E402
from .reference_models import whole_counts  # noqa: E402

SIZE = 32  # a 4×4/4 stem: 8×8 = 64 tokens


class _TokenNet(nn.Module):
    """Stem → tokens (+ Fourier position) → LayerNorm → XCA (+ residual) → mean → classifier."""

    def __init__(self, attn: nn.Module, pos: bool = True, dim: int = 48) -> None:
        super().__init__()
        self.stem, self.norm, self.attn = nn.Conv2d(3, dim, 4, 4), nn.LayerNorm(dim), attn
        self.pos = _FourierPosition(dim) if pos else None
        self.fc = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        b, c, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        if self.pos is not None:
            x = x + self.pos(h, w).reshape(b, c, h * w).transpose(1, 2)
        x = x + self.attn(self.norm(x))
        return self.fc(x.mean(1))


class _ChannelNormXCA(_XCA):
    """A near-miss: q and k normalised over their channels (dim −2), not over the tokens."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, -1).permute(2, 0, 3, 4, 1).unbind(0)
        attn = nn.functional.normalize(q, dim=-2) @ nn.functional.normalize(k, dim=-2).transpose(-2, -1)
        x = ((attn * self.temperature).softmax(dim=-1) @ v).permute(0, 3, 1, 2).reshape(b, n, c)
        return self.proj(x)


def _spec(model: nn.Module, path: str, tmp_path) -> str:
    if path == "torch":
        return from_torch(model.eval(), (3, SIZE, SIZE))
    file = tmp_path / "net.onnx"
    file.write_bytes(export_onnx(model.eval(), (3, SIZE, SIZE)))
    return onnx_to_spec(file).yaml


@pytest.mark.parametrize("path", ["onnx", "torch"])
@pytest.mark.parametrize("heads", [4, 2])
def test_xca_and_fourier_position_import_exactly(path: str, heads: int, tmp_path) -> None:
    model = _TokenNet(_XCA(48, heads))
    spec = parse_spec(_spec(model, path, tmp_path))
    layers = {layer.type: layer for layer in spec.layers}
    assert layers["xca"].heads == heads and layers["xca"].bias and layers["pos_fourier"].hidden == 32
    totals = analyze(spec).totals
    assert (totals.mult_adds, totals.params + totals.bn_params) == whole_counts(model, SIZE)[:2]


def test_a_near_miss_is_located(tmp_path) -> None:
    with pytest.raises(ModelImportError) as info:
        _spec(_TokenNet(_ChannelNormXCA(48, 4), pos=False), "onnx", tmp_path)
    text = str(info.value)
    assert "node '" in text and "cross-covariance attention around Softmax" in text
    assert "not L2-normalised along their last axis" in text


class _ConstConvOnMap(nn.Module):
    """A stored-weight 1×1 conv of a constant grid added to a map (not a sequence): no layer says it."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.proj = nn.Conv2d(3, 8, 4, 4), nn.Conv2d(4, 8, 1)
        self.register_buffer("grid", torch.linspace(0, 1, 4 * 8 * 8).reshape(1, 4, 8, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stem(x) + self.proj(self.grid)


def test_a_convolution_of_constants_is_not_dropped(tmp_path) -> None:
    # folded by the loader, its value remembers the conv's 4·8 + 8 params: never "an Add by a scalar constant"
    with pytest.raises(ModelImportError, match="adding a constant tensor"):
        _spec(_ConstConvOnMap(), "onnx", tmp_path)
