"""Closed form == fvcore == FlopCounterMode, on mobcost's torch build and on independently written models."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mobcost.analysis import analyze
from mobcost.cli import app
from mobcost.graph import build
from mobcost.layers import ACTIVATIONS, REGISTRY
from mobcost.spec import load_spec, parse_spec

from .conftest import SPECS

torch = pytest.importorskip("torch")
fvcore_nn = pytest.importorskip("fvcore.nn")
pytestmark = pytest.mark.slow  # torch builds traced by fvcore and FlopCounterMode
nn = torch.nn


def seed_mobilenet_v1(alpha: float = 1.0) -> nn.Module:
    """The seed's PyTorch MobileNetV1 (shared/seeds/000), written out by hand, with a width multiplier."""

    def c(n: int) -> int:
        return int(alpha * n)

    def conv_bn(inp: int, oup: int, stride: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup), nn.ReLU())

    def conv_dw(inp: int, oup: int, stride: int) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False), nn.BatchNorm2d(inp), nn.ReLU(),
            nn.Conv2d(inp, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup), nn.ReLU())

    plan = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2),
            *[(512, 512, 1)] * 5, (512, 1024, 2), (1024, 1024, 1)]
    return nn.Sequential(conv_bn(3, c(32), 2), *(conv_dw(c(m), c(n), s) for m, n, s in plan),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c(1024), 1000)).eval()


def fvcore_conv_linear(model: nn.Module, size: int) -> tuple[int, int]:
    x = torch.zeros(1, 3, size, size)
    analysis = fvcore_nn.FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    ops = analysis.by_operator()
    params = sum(p.numel() for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear) for p in m.parameters())
    return ops["conv"] + ops["linear"], params


@pytest.mark.parametrize(("alpha", "size"), [(1.0, 224), (0.75, 160), (0.25, 128)])
def test_check_equals_independent_model(alpha: float, size: int) -> None:
    result = CliRunner().invoke(app, ["check", "--alpha", str(alpha), "--resolution", str(size), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["all_match"] is True
    independent = fvcore_conv_linear(seed_mobilenet_v1(alpha), size)
    assert (doc["fvcore"]["mult_adds"], doc["fvcore"]["params"]) == independent
    assert doc["flop_counter"]["mult_adds"] == independent[0]
    if (alpha, size) == (1.0, 224):
        assert independent == (568_740_352, 4_210_088)  # the figures the issue states


def test_check_reports_what_fvcore_leaves_out() -> None:
    result = CliRunner().invoke(app, ["check", "--format", "json"])
    doc = json.loads(result.stdout)
    first = doc["layers"][0]
    # BN on conv1's 32×112×112 output: fvcore counts 2 flops per element: 2·401,408 = 802,816
    assert first["fvcore_uncounted"] == {"batch_norm": 802_816}
    assert first["bn_params"] == first["fvcore_bn_params"] == 64


def test_every_layer_type_can_be_built() -> None:
    # One spec that uses every registered type: a new type fails here until it has a torch build.
    from mobcost.torchside.build import graph_module

    spec = parse_spec("""
input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 8, name: a}
  - {type: dw}
  - {type: pw, out: 8, name: b}
  - {type: add, from: [a, b]}
  - {type: maxpool, kernel: 2, name: p}
  - {type: avgpool, kernel: 2, stride: 1, padding: 1, from: a, name: q}
  - {type: concat, from: [p, p]}
  - {type: bn, act: hswish}
  - {type: act, act: gelu}
  - {type: se, reduction: 4, divisor: 8, gate: hsigmoid}
  - {type: split, parts: 2, index: 1, name: half}
  - {type: shuffle, groups: 2}
  - {type: avgpool}
  - {type: mul, from: [half, -1]}
  - {type: dropout}
  - {type: deconv, out: 8, kernel: 2, stride: 2}
  - {type: upsample, mode: bilinear}
  - {type: resize, size: [5, 7], mode: bilinear, align_corners: true}
  - {type: resize, size_of: a}
  - {type: ln}
  - {type: layerscale}
  - {type: avgpool, output: 3}
  - {type: avgpool}
  - {type: flatten}
  - {type: fc, out: 4}
  - {type: tokens, from: a}
  - {type: pos_fourier}
  - {type: xca, heads: 2}
  - {type: patch_embed, out: 6, patch: 4, from: input}
  - {type: cls_token}
  - {type: pos_embed}
  - {type: attention, heads: 2}
  - {type: linear, out: 8}
  - {type: additive_attention}
  - {type: pool_tokens}
  - {type: unfold, patch: 3, from: a}
  - {type: gn, groups: 1}
  - {type: separable_attention}
  - {type: fold}
  - {type: window, window: 4, shift: 2}
  - {type: attention, heads: 2, relative_table: true}
  - {type: unwindow, shift: 2}
  - {type: cascaded_attention, heads: 2, head_dim: 4, kernel: 3, window: 3}
  - {type: tokens}
  - {type: untokens, size_of: a}
  - {type: space_to_depth, patch: 2}
  - {type: pad, padding: [[0, 1], [1, 0]], from: a, name: pd}
  - {type: gn, groups: 2}
  - {type: sub, from: [pd, -1]}
  - {type: l2norm, gamma: true}
  - {type: div, from: [pd, -1]}
  - {type: split, sizes: [1, 3], index: 1}
  - {type: conv_attention, heads: 2, head_dim: 2}
  - {type: pw, out: 12}
  - {type: linear_attention, heads: 2}
""")
    # roi_crop runs only in a spec with `proposals:` (per-RoI layers): the bundled Faster R-CNN spec holds it
    assert {layer.type for layer in spec.layers} == set(REGISTRY) - {"roi_crop"}
    graph = build(spec)
    report_types = [name for name, _ in graph_module(graph).layers.named_children()]
    assert len(report_types) == len(spec.layers)
    from mobcost.torchside.crosscheck import check_graph

    assert check_graph(graph).all_match


def test_refuses_oversized_build() -> None:
    # 64·20000·20000 fp32 activations = 102 GB: refused before anything is allocated.
    from mobcost.errors import OptionError
    from mobcost.torchside.build import graph_module

    spec = parse_spec("input: {channels: 3, size: 20000}\nlayers: [{type: conv, out: 64}]")
    with pytest.raises(OptionError, match=r"would need .* GiB"):
        graph_module(build(spec))


def test_missing_extra_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fvcore", None)  # makes `import fvcore` raise ImportError
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 2
    assert "pip install" in result.stderr and "mobcost[torch]" in result.stderr


def test_mismatch_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    # The check must be able to fail: break the closed form for depthwise layers and expect exit 1.
    monkeypatch.setattr(type(REGISTRY["dw"]), "mult_adds", lambda self, node: 1)
    result = CliRunner().invoke(app, ["check", "--format", "json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["all_match"] is False
    assert {x["name"] for x in doc["layers"] if not x["match"]} == {f"dw{i}" for i in range(2, 27, 2)}



DEAD_BRANCH = """input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 8, name: a}
  - {type: pw, out: 16, name: dead}
  - {type: dw, name: dead2, from: a}
  - {type: pw, out: 4, from: a}
"""


def test_dead_branches_are_counted(write_spec) -> None:
    # The reproducer: fvcore traces only what forward() returns, so a layer nothing reads lost its counts and
    # check reported a mismatch. On 16×16 (stride 1, same padding): conv a 3·3·3·8·256 = 55,296; dead (pw 8→16)
    # 8·16·256 = 32,768; dead2 (dw 3×3 on a) 9·8·256 = 18,432; the last pw 8·4·256 = 8,192 → 114,688 Mult-Adds.
    # Params 216 + 128 + 72 + 32 = 448.
    result = CliRunner().invoke(app, ["check", str(write_spec(DEAD_BRANCH)), "--format", "json"])
    assert result.exit_code == 0, result.stdout
    doc = json.loads(result.stdout)
    assert doc["all_match"] is True
    assert doc["mult_adds"] == doc["fvcore"]["mult_adds"] == doc["flop_counter"]["mult_adds"] == 114_688
    assert doc["params"] == doc["fvcore"]["params"] == 448
    # the module returns every sink (dead, dead2, and the last layer), in execution order
    from mobcost.torchside.build import graph_module, sample_input

    graph = build(parse_spec(DEAD_BRANCH))
    with torch.no_grad():
        outputs = graph_module(graph)(sample_input(graph))
    assert [tuple(o.shape) for o in outputs] == [(1, 16, 16, 16), (1, 8, 16, 16), (1, 4, 16, 16)]
    # a chain still returns one tensor, as before
    chain = build(parse_spec("input: {channels: 3, size: 8}\nlayers: [{type: pw, out: 4}, {type: pw, out: 2}]"))
    with torch.no_grad():
        assert tuple(graph_module(chain)(sample_input(chain)).shape) == (1, 2, 8, 8)

# --- property test: random valid specs in the core format ----------------------------------------

LAYER = st.one_of(
    st.fixed_dictionaries({"type": st.just("conv"), "out": st.integers(1, 24), "kernel": st.sampled_from([1, 3, 5]),
                           "stride": st.integers(1, 2), "groups": st.sampled_from([1, 2, 4]),
                           "bias": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("dw"), "kernel": st.sampled_from([3, 5]), "stride": st.integers(1, 2)}),
    st.fixed_dictionaries({"type": st.just("pw"), "out": st.integers(1, 24)}),
    st.fixed_dictionaries({"type": st.just("dwsep"), "out": st.integers(1, 24), "stride": st.integers(1, 2)}),
    st.fixed_dictionaries({"type": st.just("maxpool"), "kernel": st.sampled_from([2, 3]),
                           "stride": st.integers(1, 2), "ceil_mode": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("avgpool"), "kernel": st.just(2)}),
    # issue 12's vocabulary: layers any input takes
    st.fixed_dictionaries({"type": st.just("pw"), "expand": st.integers(1, 3), "act": st.sampled_from(ACTIVATIONS)}),
    st.fixed_dictionaries({"type": st.just("se"), "reduction": st.sampled_from([1, 4, 16]),
                           "divisor": st.sampled_from([1, 8]), "act": st.sampled_from(ACTIVATIONS),
                           "gate": st.sampled_from([a for a in ACTIVATIONS if a != "none"])}),
    st.fixed_dictionaries({"type": st.just("bn"), "act": st.sampled_from(ACTIVATIONS)}),
    st.fixed_dictionaries({"type": st.just("act"), "act": st.sampled_from([a for a in ACTIVATIONS if a != "none"])}),
    st.fixed_dictionaries({"type": st.just("dropout")}),
)


def render(layer: dict) -> str:
    return "{" + ", ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in layer.items()) + "}"


@st.composite
def specs(draw: st.DrawFn) -> tuple[str, float]:
    body = draw(st.lists(LAYER, min_size=1, max_size=6))
    lines = []
    for layer in body:
        if layer["type"] == "conv" and layer["groups"] > 1:
            layer["out"] = layer["groups"] * max(1, layer["out"] // layer["groups"])
        if draw(st.integers(0, 4)) == 0:
            lines.append(f"  - {{repeat: {draw(st.integers(1, 3))}, layers: [{render(layer)}]}}")
        else:
            lines.append(f"  - {render(layer)}")
    if draw(st.booleans()):
        lines.append("  - {type: avgpool}")
    lines.append(f"  - {{type: fc, out: {draw(st.integers(1, 20))}, scale: false}}")
    channels = draw(st.sampled_from([4, 8, 12]))
    size = draw(st.integers(16, 48))
    alpha = draw(st.sampled_from([1.0, 0.75, 0.5, 0.3]))
    return f"input: {{channels: {channels}, size: {size}}}\nlayers:\n" + "\n".join(lines) + "\n", alpha


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(case=specs())
def test_property_closed_form_equals_both_counters(case: tuple[str, float]) -> None:
    from mobcost.errors import ShapeError
    from mobcost.torchside.crosscheck import check_graph

    text, alpha = case
    spec = parse_spec(text)
    try:
        graph = build(spec, alpha)
    except ShapeError:
        reject()  # the random layers shrank the map to nothing or α broke a group: not a valid network
    report = check_graph(graph)
    for layer in report.layers:
        assert layer.mult_adds == layer.fvcore_mult_adds, (text, layer)
        assert 2 * layer.mult_adds == layer.flop_counter_flops, (text, layer)
        assert layer.params == layer.fvcore_params and layer.bn_params == layer.fvcore_bn_params, (text, layer)
    assert report.all_match


def test_all_bundled_specs_check_at_default_point() -> None:
    from mobcost.torchside.crosscheck import check_graph

    for path in sorted(SPECS.glob("*.yaml")):
        report = check_graph(build(load_spec(path)))
        assert report.all_match, path
        assert report.fvcore_totals()["mult_adds"] == analyze(load_spec(path)).totals.mult_adds


def test_check_all_shows_progress_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """issue 20, newcomer item 16: `check --all` ran 4 minutes without a word. On a terminal a bar names the point
    being checked; off one (a log, CI) one line says what the wait is, and no bar's control codes land there —
    even where FORCE_COLOR makes rich take any stream for a terminal."""
    from mobcost.cli import check as check_cli
    from mobcost.spec import load_bundled
    from mobcost.torchside import crosscheck

    small = load_bundled("table3_separable")
    monkeypatch.setattr(crosscheck, "grid", lambda specs: [(small, 1.0, 14), (small, 0.5, 14)])
    result = CliRunner().invoke(app, ["check", "--all", "-f", "json"], env={"FORCE_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert result.stderr == "mobcost: cross-checking 2 points (every bundled spec × 4 α × 4 resolutions), a few " \
                            "minutes\n", result.stderr
    assert len(json.loads(result.stdout)["points"]) == 2
    monkeypatch.setattr(check_cli, "interactive", lambda: True)  # stderr a terminal (FORCE_COLOR lets rich draw)
    result = CliRunner().invoke(app, ["check", "--all", "-f", "json"], env={"FORCE_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "cross-checking" in result.stderr and "α=0.5 14px" in result.stderr and "\x1b[" in result.stderr
