"""Counting conventions (issue 14): the rules as data, applied per layer, on the command line and in sweeps.

Expected values here come from independent arithmetic — the closed form's Mult-Adds (the registry's formulas,
another code path than the conventions' operation lists), hand formulas over the layers' shapes, or numbers
worked out by hand. The tools' own counts are compared in tests/test_peer_counters.py.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mobcost import analyze, build, load_spec, parse_spec
from mobcost.analysis.conventions import count_graph, get_convention
from mobcost.cli import app
from mobcost.errors import OptionError, ShapeError
from mobcost.explore.grid import sweep
from mobcost.layers import REGISTRY
from mobcost.layers.conventions import CAUSES, CONVENTIONS, KINDS, QUANTITIES, cause_of
from mobcost.spec import bundled_names

from .selection import every_bundled_spec

NAMES = list(CONVENTIONS)
TOOLS = {"fvcore": "facebookresearch/fvcore", "flop-counter": "pytorch/pytorch",
         "ptflops-pytorch": "sovrasov/flops-counter.pytorch", "ptflops-aten": "sovrasov/flops-counter.pytorch",
         "thop": "Lyken17/pytorch-OpCounter", "torchinfo": "TylerYep/torchinfo",
         "onnx-tool": "ThanatosShinji/onnx-tool"}


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.stderr + result.stdout
    return result.stdout


def points(name: str) -> list[tuple[float, int]]:
    """α ∈ {1, 0.5} × the spec's own size and 160/224 of it, less a size the network cannot take (SSD300-VGG16's
    unpadded last extra layers need 268 px); its own size always stays."""
    size = load_spec(name).size
    sizes = [size] + [r for r in (round(size * 160 / 224),) if _builds(name, r)]
    return [(a, r) for a in (1.0, 0.5) for r in sizes]


def _builds(name: str, resolution: int) -> bool:
    try:
        build(load_spec(name), resolution=resolution)
    except ShapeError:
        return False
    return True


# --- the data -----------------------------------------------------------------------------------------------


def test_rules_name_known_operations_and_quantities() -> None:
    assert set(NAMES) == {"paper", "flops", "seed", "no-products", "fvcore", "flop-counter", "ptflops-pytorch",
                          "ptflops-aten", "thop", "torchinfo", "onnx-tool"}
    for c in CONVENTIONS.values():
        assert c.unit and c.source and c.note
        assert set(c.rules) <= set(KINDS), c.name
        for kind, rule in c.rules.items():
            assert set(rule) <= set(QUANTITIES), (c.name, kind)
            assert all(isinstance(v, int) for v in rule.values())
            assert all(cause_of(kind, q) in CAUSES for q in rule)
    for name, repo in TOOLS.items():  # every tool's rules cite the repository they were read from
        assert repo in CONVENTIONS[name].source and CONVENTIONS[name].tool


def test_unknown_convention_is_an_option_error() -> None:
    with pytest.raises(OptionError, match="known: paper, flops"):
        get_convention("gflops")


# --- independent arithmetic over every bundled spec ----------------------------------------------------------


@pytest.mark.parametrize("name", bundled_names())
def test_paper_flops_and_flop_counter_follow_the_mult_adds(name: str) -> None:
    for alpha, res in points(name):
        g = build(load_spec(name), alpha, resolution=res)
        mult_adds = analyze(load_spec(name), alpha, resolution=res).totals.mult_adds
        assert count_graph(g, "paper").total == mult_adds
        assert count_graph(g, "flops").total == count_graph(g, "flop-counter").total == 2 * mult_adds
        if not any(n.type == "attention" for n in g.nodes):  # no products of two activations: as the paper
            assert count_graph(g, "no-products").total == mult_adds
        assert [c.count for c in count_graph(g, "paper").layers] == [  # a per-RoI layer once per proposal
            REGISTRY[n.type].mult_adds(n) * (g.spec.proposals if n.layer.per_roi else 1) for n in g.nodes]


def seed_by_hand(g) -> int:
    """The seed notes' formulas over the layers' shapes: (2·k_h·k_w·M/g − 1)·H′·W′·N per conv without bias (no −1
    with a bias), (2·C_i − 1)·C_o per FC; a squeeze-excite's two 1×1 convolutions have biases."""
    return sum(_seed_by_hand(n) * (g.spec.proposals if n.layer.per_roi else 1) for n in g.nodes)


def _seed_by_hand(n) -> int:
    """One run of layer ``n`` under the seed notes' formulas (a per-RoI layer runs once per proposal)."""
    total = 0
    if n.type in ("conv", "dw", "pw"):
        kh, kw = n.kernel_hw  # k×k, or a k_h×k_w window (the DS-CNN's 10×4)
        per_output = 2 * kh * kw * (n.input.c // n.groups) - (0 if n.layer.bias else 1)
        total += per_output * n.output.numel
    elif n.type == "deconv":  # the notes are silent: as a convolution of its Mult-Adds (input map)
        total += 2 * REGISTRY["deconv"].mult_adds(n) - (0 if n.layer.bias else n.output.numel)
    elif n.type == "fc":
        total += (2 * n.input.numel - 1) * n.out_channels
    elif n.type == "se":
        total += 2 * REGISTRY["se"].mult_adds(n)  # 2·k·k·M·H′·W′·N for a convolution with bias
    elif n.type == "patch_embed":  # a p×p convolution on the patch grid
        total += 2 * REGISTRY["patch_embed"].mult_adds(n) - (0 if n.layer.bias else n.output.numel)
    elif n.type == "linear":  # an FC layer per token (N·P of them on an unfold's P sequences)
        total += (2 * n.input.c - 1) * n.out_channels * n.input.length * n.input.sequences
    elif n.type == "attention":
        total += attention_seed(n)
    else:
        assert REGISTRY[n.type].mult_adds(n) == 0, n.type  # every type with Mult-Adds is covered above
    return total


def attention_seed(n) -> int:
    """q, k, v and output projections per token (FC layers; 1×1 convolutions on a map, MobileNetV4's, with the
    K/V paths' 3×3 depthwise convolutions); Q·Kᵀ: h·N·N′ dot products of d, A·V: N·h·d_v dot products of N′; in
    each of an unfold's P sequences."""
    c, heads, seqs = n.input.c, n.layer.heads, n.input.sequences
    d = n.layer.head_dim or c // heads
    g, dv = n.layer.kv_heads or heads, n.layer.value_dim or d
    tokens, s = n.input.length, n.layer.kv_stride or 1
    keys = ((n.input.h - 1) // s + 1) * ((n.input.w - 1) // s + 1) if s > 1 else tokens
    products = ((2 * d - 1) * heads * tokens * keys + (2 * keys - 1) * tokens * heads * dv) * seqs
    if n.layer.kv_stride is None:
        return products + ((2 * c - 1) * (heads * d + g * (d + dv)) + (2 * heads * dv - 1) * c) * tokens * seqs
    b, ob = (0 if n.layer.bias else 1), (0 if n.layer.out_bias else 1)
    convs = (2 * c - b) * heads * d * tokens + (2 * c - b) * g * (d + dv) * keys + (2 * heads * dv - ob) * c * tokens
    return products + convs + (2 * (2 * 9 - 1) * c * keys if s > 1 else 0)


@pytest.mark.parametrize("name", bundled_names())
def test_seed_formulas(name: str) -> None:
    for alpha, res in points(name):
        g = build(load_spec(name), alpha, resolution=res)
        assert count_graph(g, "seed").total == seed_by_hand(g)


def test_mobilenet_v1_by_hand() -> None:
    """MobileNetV1-224: 27 convolutions without bias (outputs Σ H′W′N = 5,042,688), FC 1024 → 1000 with bias;
    BatchNorm after every convolution (5,042,688 elements, 10,944 channels); a 7×7×1024 global pool."""
    g = build(load_spec("mobilenet_v1"))
    ma, outputs, channels, fc_out = 568_740_352, 5_042_688, 10_944, 1000
    assert sum(n.output.numel for n in g.nodes if n.type in ("conv", "dw", "pw")) == outputs
    assert sum(n.out_channels for n in g.nodes if n.type in ("conv", "dw", "pw")) == channels
    expected = {
        "paper": ma, "flops": 2 * ma, "seed": 2 * ma - outputs - fc_out, "no-products": ma,
        "fvcore": ma + 2 * outputs + 7 * 7 * 1024,
        "flop-counter": 2 * ma, "ptflops-pytorch": ma + fc_out + 2 * outputs + 2 * outputs + 2 * 7 * 7 * 1024,
        "ptflops-aten": ma + fc_out, "thop": ma + 4 * outputs + (7 * 7 + 1) * 1024,
        "torchinfo": ma + fc_out + 2 * channels,
        "onnx-tool": ma + fc_out + 31 * outputs + outputs + (7 * 7 * 1024 + 4 * 1024),
    }
    assert {n: count_graph(g, n).total for n in NAMES} == expected


def test_small_network_by_hand() -> None:
    """conv 3×3 4→8 (bias, BN, ReLU6) on 6×6, 2×2 max pool, hard-swish, SE (C=8, s=2, sigmoid gate), FC 72→5."""
    spec = parse_spec("""
input: {channels: 4, size: 6}
layers:
  - {type: conv, out: 8, bias: true, act: relu6}
  - {type: maxpool, kernel: 2}
  - {type: act, act: hswish}
  - {type: se, reduction: 4}
  - {type: fc, out: 5}
""")
    g = build(spec)
    conv_ma, conv_out, pool_in, pool_out, fc_ma = 9 * 4 * 8 * 36, 8 * 36, 8 * 36, 8 * 9, 72 * 5
    se_ma, se_biases = 2 * 8 * 2, 2 + 8
    assert count_graph(g, "paper").total == conv_ma + se_ma + fc_ma
    assert count_graph(g, "ptflops-aten").total == conv_ma + conv_out + se_ma + se_biases + fc_ma + 5
    # ReLU6 1 per element, pool inputs twice (module hook and F.max_pool2d), SE: its global pool twice, its ReLU
    # twice (module and F.relu), sigmoid and hard-swish nothing
    assert count_graph(g, "ptflops-pytorch").total == (conv_ma + conv_out + 2 * conv_out + conv_out + 2 * pool_in
                                                       + se_ma + se_biases + 2 * pool_out + 2 * 2 + fc_ma + 5)
    # onnx-tool: bias adds, BN 31, Clip 2, MaxPool 4 reads per output, HardSwish 5, GlobalAveragePool in + 4·out,
    # SE's Relu 1 and Sigmoid 32, x·gate 1 per element, Gemm with bias
    assert count_graph(g, "onnx-tool").total == (conv_ma + conv_out + 31 * conv_out + 2 * conv_out + 4 * pool_out
                                                 + 5 * pool_out + pool_out + 4 * 8 + se_ma + se_biases + 2 + 32 * 8
                                                 + pool_out + fc_ma + 5)
    assert count_graph(g, "thop").total == conv_ma + 4 * conv_out + (9 + 1) * 8 + se_ma + fc_ma


def test_no_first_layer_leaves_the_whole_first_layer_out() -> None:
    g = build(load_spec("mobilenet_v1"))
    full, without = count_graph(g, "onnx-tool"), count_graph(g, "onnx-tool", first_layer=False)
    assert without.layers[0].count == 0 and without.total == full.total - full.layers[0].count
    # the first layer: 3×3×3×32 on 112×112 (Mult-Adds), BN 31 and ReLU 1 per output element
    assert full.layers[0].count == 10_838_016 + 32 * 32 * 112 * 112


# --- `table --convention` ---------------------------------------------------------------------------------------


def test_table_json_with_a_convention() -> None:
    doc = json.loads(invoke("table", "--convention", "thop", "--format", "json"))
    assert (doc["convention"], doc["convention_unit"]) == ("thop", "MACs")
    assert list(doc)[:7] == ["network", "alpha", "rho", "resolution", "dtype", "convention", "convention_unit"]
    assert all(list(layer)[7:9] == ["mult_adds", "ops"] for layer in doc["layers"])
    assert sum(layer["ops"] for layer in doc["layers"]) == doc["totals"]["ops"] == 588_962_304
    by_type = json.loads(invoke("table", "-C", "thop", "--by", "type", "--format", "json"))
    assert sum(t["ops"] for t in by_type["types"]) == by_type["totals"]["ops"] == 588_962_304


def test_table_default_json_has_no_convention() -> None:
    doc = json.loads(invoke("table", "--format", "json"))
    assert "convention" not in doc and "ops" not in doc["totals"] and "ops" not in doc["layers"][0]
    paper = json.loads(invoke("table", "--convention", "paper", "--format", "json"))
    assert paper["convention"] == "paper" and all(x["ops"] == x["mult_adds"] for x in paper["layers"])


def test_table_convention_follows_classes_and_first_layer() -> None:
    doc = json.loads(invoke("table", "-C", "seed", "--classes", "1001", "--no-first-layer", "--format", "json"))
    assert doc["layers"][0]["ops"] == 0
    assert doc["layers"][-1]["ops"] == (2 * 1024 - 1) * 1001


def test_table_views_with_a_convention() -> None:
    rich = invoke("table", "-C", "fvcore")
    assert "Under the fvcore convention: 578,875,904 flops" in rich and " fvcore " in rich
    assert invoke("table", "-C", "paper") == invoke("table")  # the paper's figure is the Mult-Adds column
    csv = invoke("table", "-C", "onnx-tool", "--format", "csv").splitlines()
    header = csv[0].split(",")
    assert header[4] == "convention" and header[header.index("mult_adds") + 1] == "ops"
    assert all(row.split(",")[4] == "onnx-tool" for row in csv[1:])
    markdown = invoke("table", "-C", "torchinfo", "--format", "markdown")
    assert "counted as torchinfo" in markdown and "568,763,240" in markdown
    assert "torchinfo (mult-adds)" in invoke("table", "-C", "torchinfo", "--format", "latex")


def test_bad_convention_is_one_line() -> None:
    result = CliRunner().invoke(app, ["table", "--convention", "gflops"])
    start, err = "mobcost: error: --convention: ", result.stderr  # after it, click's words: only the value is checked
    assert result.exit_code == 2 and err.startswith(start) and "gflops" in err[len(start):] and err.count("\n") == 1


# --- `sweep --convention`: the vectorised form -----------------------------------------------------------------


def test_no_products_deit_tiny() -> None:
    """DeiT-Tiny at 224 without attention's Q·Kᵀ and A·V: 12 blocks × 2·197²·192 = 178,831,872 fewer."""
    g = build(load_spec("deit_tiny"))
    assert count_graph(g, "paper").total == 1_253_683_200
    # 1,253,683,200 − 178,831,872 = 1,074,851,328: the layers with weights alone
    assert count_graph(g, "no-products").total == 1_253_683_200 - 12 * 2 * 197 * 197 * 192 == 1_074_851_328


@pytest.mark.parametrize("name", every_bundled_spec())
def test_sweep_terms_equal_the_per_point_count(name: str) -> None:
    if load_spec(name).proposals:
        pytest.skip("the sweep refuses per-RoI specs (tests/test_faster_rcnn.py); per point they count as above")
    size = load_spec(name).size
    alphas, resolutions = [0.5, 1.0], [round(size * 160 / 224), size]
    for convention in NAMES:
        result = sweep(load_spec(name), alphas, resolutions, convention=convention)
        c = result.columns
        for a, r, ops in zip(c["alpha"].tolist(), c["resolution"].tolist(), c["ops"].tolist(), strict=True):
            assert ops == count_graph(build(load_spec(name), a, resolution=r), convention).total, (convention, a, r)


def test_sweep_outputs_with_a_convention() -> None:
    args = ["sweep", "--alpha", "0.5,1", "--resolution", "160,224"]
    doc = json.loads(invoke(*args, "-C", "thop", "--format", "json"))
    assert list(doc) == ["convention", "objectives", "left_out", "points"] and doc["convention"] == "thop"
    assert [p["ops"] for p in doc["points"]][-1] == 588_962_304
    assert list(json.loads(invoke(*args, "--format", "json"))) == ["objectives", "left_out", "points"]
    assert "ops" not in invoke(*args, "--format", "csv").splitlines()[0].split(",")
    header = invoke(*args, "-C", "seed", "--format", "csv").splitlines()[0].split(",")
    assert header[header.index("memory_access") + 1] == "ops"
    best = json.loads(invoke(*args, "-C", "seed", "--best", "--format", "json"))
    assert best["convention"] == "seed" and best["points"][0]["ops"] == 2 * 568_740_352 - 5_042_688 - 1000
    assert " seed " in invoke(*args, "-C", "seed")


def test_sweep_of_a_huge_grid_stays_exact() -> None:
    """Counts past int64 are computed with Python integers for a convention's terms too."""
    spec = parse_spec("input: {channels: 3, size: 8}\nlayers:\n  - {type: conv, out: 1000000000, kernel: 3}\n")
    result = sweep(spec, [1.0], [1_000_000_000], convention="onnx-tool")
    expected = count_graph(build(spec, 1.0, resolution=1_000_000_000), "onnx-tool").total
    assert expected > 2**63 and result.columns["ops"].tolist() == [expected]


# --- `paper --convention` ---------------------------------------------------------------------------------------


def test_paper_with_a_convention() -> None:
    rows = json.loads(invoke("paper", "6", "--convention", "flops", "--format", "json"))["rows"]
    for row in rows:
        assert row["convention"] == "flops"
        if row["metric"] == "mult_adds":
            assert row["convention_value"] == pytest.approx(2 * row["computed"], abs=1e-6)
        else:
            assert row["convention_value"] is None
    plain = json.loads(invoke("paper", "6", "--format", "json"))["rows"]
    assert all("convention" not in row for row in plain)
    assert "1,137.48 M" in invoke("paper", "6", "-C", "flops")
