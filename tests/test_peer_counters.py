"""Each convention's total against the real tool's count of mobcost's torch build, exactly.

The tools run here directly (not through ``mobcost.torchside.peers``): fvcore, torch's FlopCounterMode, ptflops
(both backends), thop, torchinfo and onnx-tool (on the ONNX graph torch.onnx.export writes, BatchNorm kept).
A tool that is not installed is skipped (`pip install ptflops thop torchinfo onnx-tool`).

Every bundled spec is counted by every tool at one of four points (α ∈ {1, 0.5} × its own size and 160/224
of it), the tool and the point rotating with the spec, so each tool sees every spec and every point; onnx-tool,
whose export is the slowest, runs at α = 0.5. ``MOBCOST_PEERS_FULL=1`` runs every tool at every point (about a
minute). A probe network holds every layer type and activation.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = [pytest.mark.slow,  # every peer tool on mobcost's torch build
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]  # thop's distutils version checks
torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from typer.testing import CliRunner  # noqa: E402

from mobcost import build, load_spec, parse_spec  # noqa: E402
from mobcost.analysis.conventions import count_graph  # noqa: E402
from mobcost.cli import app  # noqa: E402
from mobcost.errors import ShapeError  # noqa: E402
from mobcost.layers import ACTIVATIONS, REGISTRY  # noqa: E402
from mobcost.spec import bundled_names  # noqa: E402
from mobcost.spec.transforms import with_proposals  # noqa: E402

from .test_levit import LEVIT  # noqa: E402  (LeViT's BatchNorms, activation before the projection, subsample)


def _fvcore(model: Any, x: Any) -> int:
    from fvcore.nn import FlopCountAnalysis

    a = FlopCountAnalysis(model, x)
    a.unsupported_ops_warnings(False)
    a.uncalled_modules_warnings(False)
    return a.total()


def _flop_counter(model: Any, x: Any) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


def _ptflops(backend: str) -> Callable[[Any, Any], int]:
    def count(model: Any, x: Any) -> int:
        from ptflops import get_model_complexity_info

        macs, _ = get_model_complexity_info(model, tuple(x.shape[1:]), as_strings=False,
                                            print_per_layer_stat=False, backend=backend)
        return macs

    return count


def _thop(model: Any, x: Any) -> int:
    from thop import profile

    macs, _ = profile(model, inputs=(x,), verbose=False)
    assert macs == int(macs)  # thop adds float64s: exact below 2⁵³
    return int(macs)


def _torchinfo(model: Any, x: Any) -> int:
    from torchinfo import summary

    return summary(model, input_data=x, verbose=0).total_mult_adds


def _onnx_tool(model: Any, x: Any) -> int:
    import onnx
    import onnx_tool

    buffer = io.BytesIO()
    torch.onnx.export(model, (x,), buffer, dynamo=False, training=torch.onnx.TrainingMode.EVAL,
                      do_constant_folding=False)
    tool = onnx_tool.Model(onnx.load_from_string(buffer.getvalue()))
    tool.graph.shape_infer()
    tool.graph.profile()
    return round(tool.graph.macs[0])


TOOLS: dict[str, tuple[str, Callable[[Any, Any], int]]] = {
    "fvcore": ("fvcore", _fvcore), "flop-counter": ("torch", _flop_counter),
    "ptflops-pytorch": ("ptflops", _ptflops("pytorch")), "ptflops-aten": ("ptflops", _ptflops("aten")),
    "thop": ("thop", _thop), "torchinfo": ("torchinfo", _torchinfo), "onnx-tool": ("onnx_tool", _onnx_tool),
}


def available(name: str) -> bool:
    module = TOOLS[name][0]
    try:
        __import__(module)
        if module == "onnx_tool":
            __import__("onnx")
    except ImportError:
        return False
    return True


def tool_count(name: str, model: Any, x: Any) -> int:
    with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return TOOLS[name][1](model, x)


def compare(spec: Any, alpha: float, resolution: int, tools: list[str]) -> list[str]:
    """The tools' counts against the conventions' totals; the disagreements, described."""
    from mobcost.torchside.build import graph_module, sample_input

    graph = build(spec, alpha, resolution=resolution)
    model, x = graph_module(graph), sample_input(graph)
    bad = []
    for name in tools:
        theirs, ours = tool_count(name, model, x), count_graph(graph, name).total
        if theirs != ours:
            bad.append(f"{spec.name} α={alpha:g} {resolution}px {name}: tool {theirs:,}, mobcost {ours:,} "
                       f"(residual {theirs - ours:+,})")
    return bad


def points(size: int) -> list[tuple[float, int]]:
    return [(1.0, size), (1.0, round(size * 160 / 224)), (0.5, size), (0.5, round(size * 160 / 224))]


def rotation(j: int) -> dict[int, list[str]]:
    """Spec number ``j``: which tools run at which of its four points."""
    plan: dict[int, list[str]] = {}
    for i, name in enumerate(TOOLS):
        k = 2 + j % 2 if name == "onnx-tool" else (i + j) % 4
        plan.setdefault(k, []).append(name)
    return plan


def installed_tools() -> list[str]:
    return [name for name in TOOLS if available(name)]


@pytest.mark.parametrize("j,name", list(enumerate(bundled_names())))
def test_every_tool_on_every_bundled_spec(j: int, name: str) -> None:
    spec = load_spec(name)
    if spec.proposals:  # the torch build runs one proposal's head, so the tools count one
        spec = with_proposals(spec, 1)
    have = installed_tools()
    full = os.environ.get("MOBCOST_PEERS_FULL") == "1"
    bad = []
    for k, (alpha, res) in enumerate(points(spec.size)):
        tools = have if full else [t for t in rotation(j).get(k, []) if t in have]
        if not tools:
            continue
        try:
            bad += compare(spec, alpha, res, tools)
        except ShapeError:  # a spec only valid at other sizes
            continue
    assert not bad, "\n".join(bad)


def test_the_rotation_covers_every_tool_and_point() -> None:
    n = len(bundled_names())
    seen = {(t, k) for j in range(n) for k, tools in rotation(j).items() for t in tools}
    for name in TOOLS:
        assert {k for t, k in seen if t == name} == ({2, 3} if name == "onnx-tool" else {0, 1, 2, 3})


ACTIVE = [a for a in ACTIVATIONS if a != "none"]
PROBE = "\n".join([
    "input: {channels: 4, size: 16}",
    "layers:",
    "  - {type: conv, out: 8, kernel: 3, stride: 2, bias: true, act: relu6, name: a}",
    "  - {type: conv, out: 8, kernel: 3, groups: 2, bn: false, act: leaky_relu}",
    "  - {type: dw, kernel: 5, bias: true, act: hswish}",
    "  - {type: pw, expand: 2, act: silu}",
    "  - {type: pw, out: 8, act: none, name: b}",
    "  - {type: add, from: [a, b, -1], act: relu}",
    "  - {type: concat, from: [a, -1], name: c}",
    "  - {type: maxpool, kernel: 3, stride: 2, ceil_mode: true}",
    "  - {type: maxpool, kernel: 3, stride: 1, padding: 1}",
    "  - {type: avgpool, kernel: 2, stride: 1, padding: 1}",
    "  - {type: bn, act: gelu}",
    *(f"  - {{type: act, act: {a}}}" for a in ACTIVE),
    "  - {type: se, reduction: 4, divisor: 8, act: relu, gate: hsigmoid}",
    "  - {type: se, reduction: 2, act: silu, gate: sigmoid}",
    "  - {type: split, parts: 2, index: 1, name: half}",
    "  - {type: shuffle, groups: 2}",
    "  - {type: avgpool, name: g}",
    "  - {type: mul, from: [half, g]}",
    "  - {type: dropout}",
    "  - {type: conv, out: 6, kernel: 1, act: tanh}",
    "  - {type: flatten}",
    "  - {type: fc, out: 10, bias: false, act: relu}",
    "  - {type: fc, out: 3}",
])


# detection and segmentation heads, ConvNeXt's LayerNorm and layer scale, adaptive pooling, dilation
HEADS = """
input: {channels: 4, size: 16}
layers:
  - {type: conv, out: 8, kernel: 3, stride: 2, act: relu}
  - {type: conv, out: 8, kernel: 3, dilation: 2, bias: true}
  - {type: deconv, out: 8, kernel: 3, stride: 2, padding: 1, output_padding: 1, bias: true}
  - {type: deconv, out: 8, kernel: 2, stride: 2, groups: 2, act: none, bn: false}
  - {type: ln, act: gelu}
  - {type: layerscale}
  - {type: maxpool, kernel: 4}
  - {type: avgpool, output: 4}
  - {type: upsample, factor: 2}
  - {type: upsample, factor: 2, mode: bilinear}
  - {type: resize, size: [5, 7], mode: bilinear}
  - {type: resize, size_of: input}
  - {type: avgpool}
  - {type: flatten}
  - {type: fc, out: 3}
"""
# token sequences (issue 21): a vision transformer's layers, a map read as tokens with a mean over them, and
# MobileViT's unfold → transformer → fold (at 13 px the 7×7 map is resized to whole 2×2 patches and back)
TOKENS = """
input: {channels: 3, size: 16}
layers:
  - {type: patch_embed, out: 24, patch: 4}
  - {type: cls_token}
  - {type: pos_embed, name: x0}
  - {type: ln}
  - {type: attention, heads: 3}
  - {type: add, from: [x0, -1], name: x1}
  - {type: ln}
  - {type: linear, expand: 4, act: gelu}
  - {type: dropout}
  - {type: linear, out: 24}
  - {type: add, from: [x1, -1]}
  - {type: ln}
  - {type: pool_tokens}
  - {type: fc, out: 5}
  - {type: conv, out: 8, stride: 2, from: input}
  - {type: tokens}
  - {type: ln, act: gelu}
  - {type: pos_fourier}
  - {type: xca, heads: 2, bias: false}
  - {type: attention, heads: 2, head_dim: 6, bias: false}
  - {type: additive_attention}
  - {type: act, act: relu}
  - {type: linear, out: 12, bias: false}
  - {type: gn, groups: 2}
  - {type: separable_attention, bias: false, out_bias: false}
  - {type: pool_tokens, mode: mean}
  - {type: fc, out: 3}
  - {type: conv, out: 8, stride: 2, from: input, name: m}
  - {type: unfold, patch: 2}
  - {type: ln, name: u0}
  - {type: attention, heads: 2}
  - {type: add, from: [u0, -1]}
  - {type: linear, expand: 2, act: silu}
  - {type: linear, out: 8}
  - {type: gn, groups: 1, name: u1}
  - {type: separable_attention}
  - {type: add, from: [u1, -1]}
  - {type: fold}
  - {type: concat, from: [m, -1]}
  - {type: avgpool}
  - {type: fc, out: 3}
"""
# Swin's windows: a shifted 4×4 partition of the 8×8 map (16 px) with the relative-position table, merged back, then
# TinyViT's attention biases on 8×8 windows (16 and 32 px: maps of 8×8 and 16×16)
WINDOWS = """
input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 8, stride: 2, name: m}
  - {type: window, window: 4, shift: 2, name: w0}
  - {type: ln}
  - {type: attention, heads: 2, relative_table: true}
  - {type: add, from: [w0, -1]}
  - {type: linear, expand: 2, act: gelu}
  - {type: unwindow, shift: 2}
  - {type: pw, out: 8}
  - {type: window, window: 8}
  - {type: attention, heads: 2, bias_table: true}
  - {type: unwindow}
  - {type: tokens}
  - {type: linear, out: 8}
  - {type: untokens, size_of: m}
  - {type: space_to_depth, patch: 2}
  - {type: ln}
  - {type: pw, out: 8, bn: false, bias: false}
  - {type: avgpool}
  - {type: fc, out: 3}
"""
# TensorFlow's "same" padding: an explicit zero padding before the convolution
SAME = """
input: {channels: 4, size: 16}
layers:
  - {type: conv, out: 8, kernel: 3, stride: 2, padding: same, act: relu}
  - {type: dw, kernel: 5, stride: 2, padding: same}
  - {type: conv, out: 8, kernel: 3, padding: same, act: relu}
  - {type: avgpool}
  - {type: fc, out: 3}
"""

# issue 21's vocabulary outside attention: explicit and per-side padding (pools too), GroupNorm and InstanceNorm,
# L2 normalisation, sub and div, unequal splits
VOCAB = """
input: {channels: 4, size: 16}
layers:
  - {type: pad, padding: [[0, 1], [2, 1]]}
  - {type: conv, out: 8, kernel: 3, stride: 2, padding: 0, act: relu, name: a}
  - {type: maxpool, kernel: 3, stride: 2, padding: same}
  - {type: avgpool, kernel: 3, stride: 1, padding: [[1, 1], [0, 1]]}
  - {type: conv, out: 8, kernel: 3, padding: [[0, 2], [1, 1]], name: b}
  - {type: gn, groups: 2, act: gelu, name: g}
  - {type: gn, group_width: 1}
  - {type: sub, from: [g, -1]}
  - {type: l2norm, gamma: true}
  - {type: l2norm, name: n}
  - {type: avgpool, name: gp}
  - {type: div, from: [n, gp]}
  - {type: split, sizes: [1, 3], index: 1, name: s}
  - {type: dw, kernel: 3, from: s}
  - {type: split, sizes: [1, 3], index: 0, from: n}
  - {type: concat, from: [-1, -2]}
  - {type: cascaded_attention, heads: 2, head_dim: 4, kernel: 3, window: 3}
  - {type: cascaded_attention, heads: 2, head_dim: 2, bn: false}
  - {type: avgpool}
  - {type: fc, out: 3}
"""

# EfficientViT's LiteMLA (issue 21): qkv 1×1 conv, 5×5 depthwise + grouped 1×1 aggregation, ReLU linear attention on
# the concatenation (head_dim 4: 8 heads, 4 at α = 0.5), output conv, residual; beside it a 2-head one on the qkv
# map alone with φ = hard-swish
LINEAR = """
input: {channels: 4, size: 16}
layers:
  - {type: conv, out: 8, kernel: 3, stride: 2, act: hswish, name: x}
  - {type: pw, out: 48, bn: false, name: qkv}
  - {type: dw, kernel: 5, bn: false}
  - {type: conv, out: 48, kernel: 1, groups: 12, bn: false}
  - {type: concat, from: [qkv, -1]}
  - {type: linear_attention, head_dim: 4}
  - {type: pw, out: 8}
  - {type: add, from: [x, -1], name: y}
  - {type: linear_attention, heads: 2, act: hswish, from: qkv}
  - {type: concat, from: [y, -1]}
  - {type: avgpool}
  - {type: fc, out: 3}
"""

# SHViT's single-head attention on a map (conv_attention) between its split, GroupNorm and concat; then with heads,
# a value width of its own, a bias and no BatchNorm
SHSA = """
input: {channels: 4, size: 16}
layers:
  - {type: conv, out: 16, stride: 2, name: x}
  - {type: split, sizes: [1, 3], index: 0, name: x1}
  - {type: split, sizes: [1, 3], index: 1, from: x, name: x2}
  - {type: gn, groups: 1, from: x1}
  - {type: conv_attention, head_dim: 4, name: att}
  - {type: concat, from: [att, x2]}
  - {type: act, act: relu}
  - {type: pw, out: 16, act: none}
  - {type: conv_attention, heads: 2, head_dim: 2, value_dim: 3, bias: true, bn: false}
  - {type: avgpool}
  - {type: fc, out: 3}
"""


def test_the_probes_hold_every_layer_type() -> None:
    types = {layer.type for text in (PROBE, HEADS, SAME, TOKENS, WINDOWS, VOCAB, SHSA, LINEAR)
             for layer in parse_spec(text).layers}
    # roi_crop runs only in a spec with `proposals:`: the bundled Faster R-CNN spec holds it (counted above)
    assert types >= set(REGISTRY) - {"dwsep", "roi_crop"}


@pytest.mark.parametrize("tool", list(TOOLS))
def test_probe_networks(tool: str) -> None:
    if not available(tool):
        pytest.skip(f"{TOOLS[tool][0]} is not installed")
    bad = []
    for text, sizes in ((PROBE, (16, 13)), (SAME, (16, 13)), (HEADS, (16,)), (TOKENS, (16, 13)), (VOCAB, (16, 13)),
                        (WINDOWS, (16, 32)), (SHSA, (16, 13)), (LEVIT, (32, 36)),
                        (LINEAR, (16, 13))):
        for res in sizes:
            for alpha in (1.0, 0.5):
                bad += compare(parse_spec(text), alpha, res, [tool])
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("tool", [t for t in TOOLS if t != "onnx-tool"])
def test_adaptive_pools_of_any_size(tool: str) -> None:
    """An adaptive pool whose output does not divide its input (13 → 4, 20 → 4, 13 → 6 on 256 channels, where
    thop's float count falls one short); the TorchScript exporter refuses those, so onnx-tool cannot count them."""
    if not available(tool):
        pytest.skip(f"{TOOLS[tool][0]} is not installed")
    wide = "input: {channels: 3, size: 13}\nlayers:\n  - {type: pw, out: 256}\n  - {type: avgpool, output: 6}\n"
    bad = compare(parse_spec(HEADS), 0.5, 13, [tool]) + compare(parse_spec(HEADS), 1.0, 20, [tool])
    assert not bad + compare(parse_spec(wide), 1.0, 13, [tool]), "\n".join(bad)


def test_thop_float_count_by_hand() -> None:
    """thop's adaptive pool 13×13 → 6×6 on 256 channels: (13/6·13/6 + 1)·9216 in float64 is just under
    52,480 = in + out, and thop truncates it."""
    from mobcost.layers.conventions import thop_adaptive

    assert 256 * 13 * 13 + 256 * 6 * 6 == 52_480 and thop_adaptive(256, 13, 13, 6, 6) == 52_479
    if available("thop"):
        from torch import nn

        assert tool_count("thop", nn.AdaptiveAvgPool2d(6), torch.zeros(1, 256, 13, 13)) == 52_479


def test_peers_module_runs_the_same_counts() -> None:
    from mobcost.torchside.build import graph_module, sample_input
    from mobcost.torchside.peers import count_with, peer_counts

    graph = build(load_spec("mobilenet_v3_small"), 0.5, resolution=64)
    model, x = graph_module(graph), sample_input(graph)
    for name in installed_tools():
        assert count_with(name, model, x) == tool_count(name, model, x)
    for p in peer_counts(graph):
        assert p.match and p.count == p.mobcost == count_graph(graph, p.convention).total


def test_check_reports_the_peers() -> None:
    result = CliRunner().invoke(app, ["check", "table3_separable", "--format", "json"])
    assert result.exit_code == 0, result.stderr + result.stdout
    doc = json.loads(result.stdout)
    peers = {p["convention"]: p for p in doc.get("peers", [])}
    assert set(peers) == {t for t in ("ptflops-pytorch", "ptflops-aten", "thop", "torchinfo", "onnx-tool")
                          if available(t)}
    assert all(p["match"] and p["count"] == p["mobcost"] for p in peers.values())
    quiet = CliRunner().invoke(app, ["check", "table3_separable", "--no-peers", "--format", "json"])
    assert "peers" not in json.loads(quiet.stdout)
    rich = CliRunner().invoke(app, ["check", "table3_separable"], env={"COLUMNS": "100"}).stdout
    assert ("Other counters" in rich) == bool(peers)
