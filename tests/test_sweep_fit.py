"""`sweep --max-ram/--max-flash`: the per-point RAM (TFLM's planned arena plus its persistent tail, or the lower
bound) and flash columns equal ``plan_memory`` on the network built at that point; profiles naming a planner."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from mobcost.analysis.memory import plan_memory
from mobcost.cli import app
from mobcost.explore.budgets import Budgets
from mobcost.explore.grid import sweep
from mobcost.explore.hardware import load_hardware
from mobcost.graph import build
from mobcost.spec import load_bundled, parse_spec

# the attention kinds' biases and scales (one per projection's output channel), SHViT's BatchNorm'd q, k, v conv,
# EfficientFormer's h·N bias table (it grows with the resolution)
ATTENTION_KINDS = """
name: kinds
input: {channels: 3, size: 32}
layers:
  - {type: conv, out: 24, kernel: 3, stride: 2, padding: 1, bn: true, act: relu}
  - {type: conv_attention, head_dim: 4, heads: 2}
  - {type: pw, out: 24, bn: true}
  - {type: tokens}
  - {type: additive_attention}
  - {type: xca, heads: 4}
  - {type: separable_attention}
  - {type: attention, heads: 2}
"""


@pytest.mark.parametrize("name", ["mobilenet_v2", "mobilenet_v3_small", "lraspp_mobilenet_v3_large",
                                  "efficientformer_l1", "mobilevit_xs"])
def test_the_columns_equal_plan_memory_point_by_point(name: str) -> None:
    # MobileNetV3: SE, whose squeeze width is a rounded fraction of C; LR-ASPP: a bias-free 1×1 conv
    spec = load_bundled(name)
    # an odd size too: a stride-2 window on an odd map needs no PAD (SAME pads 1/1), so LiteRT's buffers differ
    alphas, sizes = [0.35, 0.5, 1.0], [96, 113, 160]
    for planner in ("tflm", "lower-bound", "tflite"):
        r = sweep(spec, alphas, sizes, dtype="int8", budgets=Budgets(ram_bytes=1e12, flash_bytes=1e12,
                                                                      planner=planner))
        c = r.columns
        for i in range(len(r)):
            m = plan_memory(build(spec, float(c["alpha"][i]), resolution=int(c["resolution"][i])), planner, "int8")
            assert c["ram_bytes"][i] == (m.total_ram_bytes if planner == "tflm" else m.arena_bytes)
            assert c["flash_bytes"][i] == m.weights_bytes


def test_the_flash_column_equals_memory_on_the_attention_kinds() -> None:
    spec = parse_spec(ATTENTION_KINDS)
    r = sweep(spec, [0.5, 0.75, 1.0], [24, 32, 40], dtype="int8", budgets=Budgets(flash_bytes=1e12))
    c = r.columns
    for i in range(len(r)):
        graph = build(spec, float(c["alpha"][i]), resolution=int(c["resolution"][i]))
        assert c["flash_bytes"][i] == plan_memory(graph, "lower-bound", "int8").weights_bytes


def test_a_profile_naming_its_planner_bounds_ram_and_flash() -> None:
    hw = replace(load_hardware("cortex_m7"), planner="tflm")
    b = Budgets().with_hardware(hw)
    assert (b.ram_bytes, b.flash_bytes, b.ram_planner) == (320 * 1024, 1024**2, "tflm")
    assert b.peak_activation_bytes is None and b.weight_bytes is None
    r = sweep(load_bundled("mobilenet_v1"), [0.25, 0.5, 1.0], [96, 224], hardware=hw)
    c = r.columns
    assert np.array_equal(c["fits"], (c["ram_bytes"] <= 320 * 1024) & (c["flash_bytes"] <= 1024**2))
    assert c["fits"].any() and not c["fits"].all()


def test_no_point_fits_names_the_tightest_budget() -> None:
    done = CliRunner().invoke(app, ["sweep", "mobilenet_v1", "-a", "0.25,0.5", "-R", "96,128", "--dtype", "int8",
                                    "--max-ram", "100KiB", "--max-flash", "300KiB", "--best", "-f", "json"])
    assert done.exit_code == 1
    assert "the tightest, --max-flash (flash ≤ 307 kB), excludes all 4 points alone" in done.stderr
    bad = CliRunner().invoke(app, ["sweep", "mobilenet_v1", "--planner", "greedy", "--max-ram", "1MiB"])
    assert bad.exit_code != 0 and "--planner" in bad.stderr


def test_the_ram_and_flash_columns_are_written_under_their_budgets() -> None:
    args = ["sweep", "mobilenet_v1", "-a", "0.25", "-R", "96", "--dtype", "int8", "--planner", "tflite",
            "--max-ram", "1MiB", "--max-flash", "1MiB"]
    csv = CliRunner().invoke(app, [*args, "-f", "csv"]).stdout.splitlines()
    row = dict(zip(csv[0].split(","), csv[1].split(","), strict=False))
    point = json.loads(CliRunner().invoke(app, [*args, "-f", "json"]).stdout)["points"][0]
    m = plan_memory(build(load_bundled("mobilenet_v1"), 0.25, resolution=96), "tflite", "int8")
    assert int(row["ram_bytes"]) == point["ram_bytes"] == m.arena_bytes
    assert int(row["flash_bytes"]) == point["flash_bytes"] == m.weights_bytes
    bad = CliRunner().invoke(app, ["sweep", "mobilenet_v1", "--planner", "patch", "--max-ram", "1MiB"])
    assert bad.exit_code == 2 and "lower-bound or tflm or tflite" in bad.stderr


def test_an_attention_networks_ram_follows_its_tokens() -> None:
    # MobileViT-XS's attention keeps TFLM copies of K and V (2 × tokens × channels each layer) in the tail: the
    # sweep's RAM must follow the resolution, not only α
    spec = load_bundled("mobilevit_xs")
    r = sweep(spec, [0.25, 0.5], [96, 128], dtype="int8", budgets=Budgets(ram_bytes=1e12, flash_bytes=1e12,
                                                                           planner="tflm"))
    c = r.columns
    for i in range(len(r)):
        m = plan_memory(build(spec, float(c["alpha"][i]), resolution=int(c["resolution"][i])), "tflm", "int8")
        assert c["ram_bytes"][i] == m.total_ram_bytes


def test_a_ram_budget_plans_in_the_element_type_memory_does() -> None:
    # without --dtype or a profile, `memory` plans int8 (a runtime's planner is an int8 runtime's); the sweep's RAM
    # column under the same planner is the same figure at the same point, not an fp32 plan 4× its size
    from typer.testing import CliRunner

    from mobcost.cli import app

    runner = CliRunner()
    swept = runner.invoke(app, ["sweep", "mobilenet_v1", "-a", "0.25", "-R", "96", "--max-ram", "10MB",
                                "--planner", "tflm", "-f", "json"])
    planned = runner.invoke(app, ["memory", "mobilenet_v1", "-a", "0.25", "-R", "96", "-f", "json"])
    assert swept.exit_code == 0 and planned.exit_code == 0, swept.output + planned.output
    import json

    assert json.loads(swept.stdout)["points"][0]["ram_bytes"] == json.loads(planned.stdout)["total_ram_bytes"]
