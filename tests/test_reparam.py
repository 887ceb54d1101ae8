"""Issue 21: reparameterisable models are counted as given, with a note; `reparameterize=True` (`import --torch
--reparameterize`) counts the deployed graph, folded by the module's own methods (mobcost.torchside.reparam).

The blocks below are written from the papers: MobileOne (Vasu et al., CVPR 2023, §3.1: k over-parameterised
k×k conv-BN branches, a 1×1 conv-BN branch and a BN identity, folded into one k×k conv with a bias) with
``reparameterize()`` folding in place, and RepViT's (Wang et al., CVPR 2024) conv-BN pair whose ``fuse()`` returns
the replacing conv."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
from torch import nn  # noqa: E402

pytestmark = pytest.mark.slow  # five torch exports
from typer.testing import CliRunner  # noqa: E402

from mobcost import analyze, parse_spec  # noqa: E402
from mobcost.cli import app  # noqa: E402
from mobcost.torchside.export import from_torch  # noqa: E402
from mobcost.torchside.reparam import foldable, reparameterize  # noqa: E402


def _conv_bn(c: int, k: int, groups: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c, c, k, 1, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c))


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    std = (bn.running_var + bn.eps).sqrt()
    return conv.weight * (bn.weight / std).reshape(-1, 1, 1, 1), bn.bias - bn.running_mean * bn.weight / std


class MobileOneBlock(nn.Module):
    """C → C, k×k, depthwise (groups = C) or dense; ``branches`` k×k conv-BN + 1×1 conv-BN + BN identity."""

    def __init__(self, c: int, k: int = 3, groups: int = 1, branches: int = 2) -> None:
        super().__init__()
        self.c, self.k, self.groups = c, k, groups
        self.kxk = nn.ModuleList(_conv_bn(c, k, groups) for _ in range(branches))
        self.scale = _conv_bn(c, 1, groups)
        self.skip = nn.BatchNorm2d(c)
        self.act = nn.ReLU()
        self.fused: nn.Conv2d | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused is not None:
            return self.act(self.fused(x))
        return self.act(sum(b(x) for b in self.kxk) + self.scale(x) + self.skip(x))

    def reparameterize(self) -> None:
        w = torch.zeros(self.c, self.c // self.groups, self.k, self.k)
        b = torch.zeros(self.c)
        for branch in self.kxk:
            dw, db = _fold(branch[0], branch[1])
            w, b = w + dw, b + db
        dw, db = _fold(self.scale[0], self.scale[1])
        w[:, :, self.k // 2, self.k // 2] += dw[:, :, 0, 0]
        b = b + db
        identity = torch.zeros_like(w)
        for i in range(self.c):
            identity[i, i % (self.c // self.groups), self.k // 2, self.k // 2] = 1.0
        std = (self.skip.running_var + self.skip.eps).sqrt()
        w = w + identity * (self.skip.weight / std).reshape(-1, 1, 1, 1)
        b = b + self.skip.bias - self.skip.running_mean * self.skip.weight / std
        self.fused = nn.Conv2d(self.c, self.c, self.k, 1, self.k // 2, groups=self.groups)
        self.fused.weight.copy_(w)
        self.fused.bias.copy_(b)
        del self.kxk, self.scale, self.skip


class ConvNorm(nn.Sequential):
    """RepViT's Conv2d_BN: ``fuse()`` returns the conv with BN folded into a bias."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def fuse(self) -> nn.Conv2d:
        w, b = _fold(self[0], self[1])
        conv = nn.Conv2d(self[0].in_channels, self[0].out_channels, 1)
        conv.weight.copy_(w)
        conv.bias.copy_(b)
        return conv


def net() -> nn.Module:
    """3×32×32 → stem 3×3 s2 to 16 → MobileOne dw 3×3 → MobileOne pw (k = 1) → ConvNorm 16 → 32."""
    return nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), MobileOneBlock(16, 3, groups=16),
                         MobileOneBlock(16, 1, groups=1), ConvNorm(16, 32))


def _counts(text: str) -> tuple[int, int, int]:
    t = analyze(parse_spec(text)).totals
    return t.mult_adds, t.params, t.bn_params


def test_foldable_blocks_are_found_outermost_first() -> None:
    assert foldable(net()) == ["1", "2", "3"]


def test_the_folded_module_computes_what_the_given_one_does() -> None:
    model = net().eval()
    for m in model.modules():  # non-trivial BN statistics, so a wrong fold shows
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(reparameterize(model)(x), model(x), atol=1e-4)
    assert hasattr(model[1], "kxk")  # the given module is left as it was


def test_counted_as_given_and_as_deployed() -> None:
    # 16×16 output maps (N = 256). As given: stem 3·16·9·256 = 110,592; dw block: 3 branches (two 3×3, one 1×1)
    # 16·(9 + 9 + 1)·256 = 77,824; pw block: three 1×1 dense 3·16·16·256 = 196,608; ConvNorm 16·32·256 = 131,072.
    # Deployed: dw 16·9·256 = 36,864 and pw 16·16·256 = 65,536 instead.
    given = _counts(from_torch(net(), (3, 32, 32)))
    deployed = _counts(from_torch(net(), (3, 32, 32), reparameterize=True))
    assert given[0] == 110_592 + 77_824 + 196_608 + 131_072
    assert deployed[0] == 110_592 + 36_864 + 65_536 + 131_072
    # params deployed: stem 432 + 16; dw 144 + 16; pw 256 + 16; ConvNorm 512 + 32; no BN left
    assert (deployed[1], deployed[2]) == (432 + 16 + 144 + 16 + 256 + 16 + 512 + 32, 0)
    # as given: dw 3 convs (144 + 144 + 16) + pw 3 convs (256·3) + 512; 8 BNs of 16 and one of 32, γ and β each
    # (running statistics are buffers, not parameters)
    assert given[1] == 432 + 16 + 304 + 768 + 512 and given[2] == 2 * (8 * 16 + 32)


def test_the_cli_notes_it_and_counts_the_deployed_graph(tmp_path, monkeypatch) -> None:
    (tmp_path / "repnet.py").write_text("from tests.test_reparam import net\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    given = CliRunner().invoke(app, ["import", "--torch", "repnet:net", "--input", "3x32x32"])
    assert given.exit_code == 0, given.output
    assert "note: counted as given: 3 blocks (1, …)" in given.stderr
    deployed = CliRunner().invoke(app, ["import", "--torch", "repnet:net", "--input", "3x32x32", "--reparameterize"])
    assert deployed.exit_code == 0 and "note:" not in deployed.stderr
    assert _counts(deployed.stdout)[0] == 110_592 + 36_864 + 65_536 + 131_072


def test_a_fold_that_fails_names_its_block() -> None:
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

        def reparameterize(self) -> None:
            raise RuntimeError("no")

    from mobcost.errors import OptionError

    with pytest.raises(OptionError, match=r"0: Broken.reparameterize\(\) failed: RuntimeError: no"):
        reparameterize(nn.Sequential(Broken()))


def test_reparameterize_is_for_torch_only(tmp_path) -> None:
    done = CliRunner().invoke(app, ["import", str(tmp_path / "m.onnx"), "--reparameterize"])
    assert done.exit_code != 0 and "apply to --torch only" in done.stderr
