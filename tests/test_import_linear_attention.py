"""Issue 21: EfficientViT's LiteMLA imported as `linear_attention` on both exporters' graphs (TorchScript, as
export_onnx and from_torch write it, and dynamo), as timm writes it and as it can be rewritten, and the blocks the
layer cannot express as located errors. The modules follow timm's ``efficientvit_mit.LiteMLA`` (huggingface/
pytorch-image-models timm/models/efficientvit_mit.py); ``tests/attention_zoo.py``'s EfficientViT-B0 holds them."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("fvcore")
pytestmark = pytest.mark.slow  # torch's exporters and fvcore

from torch import Tensor, nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from mobcost import analyze, parse_spec  # noqa: E402
from mobcost.errors import MobcostError  # noqa: E402
from mobcost.torchside.export import from_torch, import_torch  # noqa: E402

from .attention_zoo import _LiteMLA  # noqa: E402
from .reference_models import whole_counts  # noqa: E402


class TimmLiteMLA(_LiteMLA):
    """timm's forward as written: ``chunk``, ``F.relu``, ``F.pad``, the ``.float()`` casts around ``_attn`` and the
    cast back."""

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        qkv = self.qkv(x)
        qkv = torch.cat([qkv, self.aggreg(qkv)], dim=1).reshape(b, -1, 3 * self.dim, h * w).transpose(-1, -2)
        q, k, v = qkv.chunk(3, dim=-1)
        q, k = F.relu(q), F.relu(k)
        v = F.pad(v, (0, 1), mode="constant", value=1.0)
        dtype = v.dtype
        q, k, v = q.float(), k.float(), v.float()
        out = q @ (k.transpose(-1, -2) @ v)
        out = (out[..., :-1] / (out[..., -1:] + 1e-5)).to(dtype)
        return self.proj(out.transpose(-1, -2).reshape(b, -1, h, w))


class UnbindLiteMLA(_LiteMLA):
    """The same arithmetic written otherwise: q, k, v by ``unbind`` of a B×h×3×d×N view (Gather, not Slice), k
    kept d×N and q transposed instead."""

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        qkv = self.qkv(x)
        q, k, v = torch.cat([qkv, self.aggreg(qkv)], dim=1).reshape(b, -1, 3, self.dim, h * w).unbind(2)
        v = F.pad(v.transpose(-1, -2), (0, 1), value=1.0)
        out = q.relu().transpose(-1, -2) @ (k.relu() @ v)
        out = out[..., :-1] / (out[..., -1:] + 1e-5)
        return self.proj(out.transpose(-1, -2).reshape(b, -1, h, w))


class Variant(_LiteMLA):
    """LiteMLA with one thing changed: v padded with ``fill``, q and k swapped, or no kernel φ."""

    def __init__(self, chs: int, dim: int, *, fill: float = 1.0, swap: bool = False, kernel: bool = True) -> None:
        super().__init__(chs, dim)
        self.fill, self.swap, self.kernel = fill, swap, kernel

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        qkv = self.qkv(x)
        qkv = torch.cat([qkv, self.aggreg(qkv)], dim=1).reshape(b, -1, 3 * self.dim, h * w).transpose(-1, -2)
        q, k, v = qkv.chunk(3, dim=-1)
        q, k = (k, q) if self.swap else (q, k)
        q, k = (q.relu(), k.relu()) if self.kernel else (q, k)
        v = F.pad(v, (0, 1), mode="constant", value=self.fill)
        out = q @ (k.transpose(-1, -2) @ v)
        out = out[..., :-1] / (out[..., -1:] + 1e-5)
        return self.proj(out.transpose(-1, -2).reshape(b, -1, h, w))


def block(attention: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 64, 3, 2, 1), attention).eval()


# A 3×3/2 conv to 64 channels and LiteMLA(64, head_dim 16) at 16 px (8×8 = 64 tokens):
# conv 3·64·9·64 = 110,592; qkv 64·192·64 = 786,432; 5×5 depthwise 192·25·64 = 307,200; grouped 1×1 (24 groups of
# 16) 192·16·64 = 196,608; linear attention on 384 channels = 8 heads of 3·16: 2·8·64·16·17 = 278,528; projection
# 128·64·64 = 524,288 — in all 2,203,648. Params: 1,728 + 64 conv, 12,288 qkv, 4,800 dw, 3,072 grouped, 8,192
# projection + 128 BN = 30,272.
HAND = (2_203_648, 30_272)


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize("cls", [TimmLiteMLA, UnbindLiteMLA], ids=["timm", "unbind"])
def test_lite_mla_imports_exactly(cls: type[nn.Module], dynamo: bool) -> None:
    module = block(cls(64, 16))
    text = from_torch(module, (3, 16, 16), dynamo=dynamo)
    assert "{type: linear_attention, head_dim: 16}" in text.replace("name: linear_attention_1.attention, ", "")
    totals = analyze(parse_spec(text)).totals
    assert (totals.mult_adds, totals.params + totals.bn_params) == HAND == whole_counts(module, 16)[:2]


def test_no_kernel_is_act_none() -> None:
    module = block(Variant(64, 16, kernel=False))
    text = from_torch(module, (3, 16, 16))
    assert "act: none, head_dim: 16}" in text
    totals = analyze(parse_spec(text)).totals
    assert (totals.mult_adds, totals.params + totals.bn_params) == HAND  # φ costs nothing either way


@pytest.mark.parametrize(("variant", "needle"), [
    ({"fill": 0.0}, "padded by [0, 0, 0, 0, 0, 0, 0, 1] with 0.0, not one column of ones"),
    ({"swap": True}, "q is not channels [0, 16) of each head's 48"),
])
def test_a_block_the_layer_cannot_express_is_located(variant: dict, needle: str) -> None:
    with pytest.raises(MobcostError) as info:
        from_torch(block(Variant(64, 16, **variant)), (3, 16, 16))
    message = f"{info.value.where}: {info.value}"
    # at the first operator of the block (the view of the qkv map as heads), saying why
    assert "node '/1/Reshape'" in message and "linear attention around Div" in message and needle in message
    # with allow_unknown, the block is left out and said so — never counted as zero silently
    result = import_torch(block(Variant(64, 16, **variant)), (3, 16, 16), allow_unknown=True)
    assert result.unmapped and needle in result.unmapped[0].reason
