"""The tflite planner (LiteRT's arena planner) and the what-ifs (in-place depthwise, MCUNetV2's patches): offsets
and bytes worked out by hand on small chains, MCUNetV2's published MobileNetV2 figures, and — with
ai-edge-litert installed — every tensor's offset in LiteRT's own arena."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobcost.analysis.memory import litert_buffers, memory_steps, plan_memory
from mobcost.analysis.planners import FOREVER, Buffer, litert_arena, litert_offsets
from mobcost.analysis.whatif import default_split
from mobcost.cli import app
from mobcost.graph import build
from mobcost.spec import load_bundled, parse_spec

ROOT = Path(__file__).resolve().parent.parent

CHAIN = """input: {channels: 3, size: 8}
layers:
  - {type: conv, name: c1, out: 4, stride: 2}
  - {type: pw, name: p1, out: 8}
  - {type: dw, name: d1}
  - {type: pw, name: p2, out: 4}
  - {type: add, name: a1, from: [-1, -4]}
  - {type: pw, name: p3, out: 2}
"""


def test_litert_places_the_whole_run_buffers_first_then_largest_first_by_best_fit() -> None:
    # Sizes multiples of 64, so alignment does not hide the rule. Order: w (whole run), then 960, 640, 192,
    # and the two 128s by allocating step: d (step 0) before e (step 1).
    w, a, b = Buffer(64, 0, FOREVER), Buffer(960, 0, 0), Buffer(640, 0, 1)
    c, d, e = Buffer(192, 0, 0), Buffer(128, 0, 1), Buffer(128, 1, 1)
    # w → 0; a meets w → 64; b meets w and a → 1024; c meets all three → 1664; d too → 1856.
    # e (step 1) meets w [0, 64), b [1024, 1664), d [1856, 1984): gaps of 960 B at 64 and 192 B at 1664;
    # best fit takes the smaller, 1664 (first fit would take 64).
    assert litert_offsets([w, a, b, c, d, e]) == [0, 64, 1024, 1664, 1856, 1664]
    assert litert_arena([w, a, b, c, d, e])[1] == 1984


def test_litert_aligns_offsets_to_64_bytes_not_sizes() -> None:
    # 100 B from step 0 to the end, then 300 B meeting it: at 128 (100 rounded up), ending at 428, not 448.
    assert litert_arena([Buffer(100, 0, FOREVER), Buffer(300, 0, 1)]) == ([0, 128], 428)


def test_litert_buffers_of_a_chain_with_a_residual_add() -> None:
    # int8, 8×8×3 input: c1 3×3/2 → 4×4×4 (64 B), p1 → 4×4×8 (128), d1 (128), p2 → 4×4×4 (64), a1 = p2 + c1,
    # p3 → 4×4×2 (32). c1 pads 1 on every side where TensorFlow's SAME pads (0, 1): the converter writes a PAD
    # first (node 0, a 10×10×3 = 300 B map), so c1 runs at node 1, p1 at 2, … p3 at 6. The input lives
    # throughout, as does the output p3. a1 writes over p2 (its only reader) — not over c1, which p1 reads
    # too — so p2's buffer lives to p3 (6); c1 to a1 (5). c1 is 3×3: an im2col of 4·4·3·3·3 = 432 B at node 1.
    m = plan_memory(build(parse_spec(CHAIN), 1.0), "tflite", "int8")
    assert [(b.name, b.size, b.first, b.last) for b in m.buffers] == [
        ("input", 192, 0, FOREVER), ("c1", 64, 1, 5), ("p1", 128, 2, 3), ("d1", 128, 3, 4), ("p2", 64, 4, 6),
        ("p3", 32, 6, FOREVER), ("c1 pad", 300, 0, 1), ("c1 im2col", 432, 1, 1)]
    # input → 0; im2col (432) → 192; the PAD's map (0–1) meets it → 624, aligned 640; p1 (2–3) → 192; d1 meets
    # p1 → 320; c1 (1–5) meets the im2col and the PAD's map, which ends at 940 → 960; p2 (4–6): the gap
    # [192, 320) holds it exactly and beats [448, 960) → 192; p3 (6–) after p2 → 256. The arena ends at c1: 1,024.
    assert m.offsets == (0, 960, 192, 320, 192, 256, 640, 192)
    assert m.arena_bytes == 1_024 and m.activation_peak_bytes == 320
    assert m.layer_steps == (1, 2, 3, 4, 5, 6)


def test_in_place_depthwise_keeps_max_in_out_and_one_channel() -> None:
    # While d1 runs: p1 (128) + d1 (128) + c1 (64, held for a1) = 320 by the lower bound's rule; in place,
    # d1 writes over p1 through one 4×4 channel: 64 + 128 + 16 = 208. Every other step is unchanged.
    g = build(parse_spec(CHAIN), 1.0)
    assert plan_memory(g, "lower-bound").in_use == (256, 192, 320, 256, 192, 96)
    assert plan_memory(g, "inplace-dw").in_use == (256, 192, 208, 256, 192, 96)


PATCH_CHAIN = """input: {channels: 3, size: 16}
layers:
  - {type: conv, name: c1, out: 8, stride: 2}
  - {type: dw, name: d1}
  - {type: pw, name: p1, out: 16}
"""


def test_patches_hold_receptive_fields_and_pay_for_their_overlap() -> None:
    # 2×2 patches of p1's 8×8 output: 4×4 each. Walking back: d1 (3×3, pad 1) needs c1 rows [0, 5) for the
    # first patch row and [3, 8) for the second; c1 (3×3/2, pad 1) needs input rows [0, 10) and [5, 16).
    m = plan_memory(build(parse_spec(PATCH_CHAIN), 1.0), "patch", "int8", patches=2, split=2)
    # c1 computes 5×5 per patch, 100 pixels instead of 64: 36 × (3·3·3·8 = 216) = 7,776 extra Mult-Adds, of
    # 64 × (216 + 9·8 + 8·16) = 26,624, the whole network (the stage here): 29.2%.
    r = m.recompute
    assert r is not None and (r.extra_mult_adds, r.network_mult_adds) == (7_776, 26_624)
    # The last patch reads 11×11×3 = 363 B of input and writes c1's 5×5×8 = 200 B, beside p1's whole 8×8×16 =
    # 1,024 B output buffer: 1,587 B. (d1 in place: 200 + 16 + 1,024; p1: 128 + 1,024.)
    assert m.in_use == (1_587, 1_240, 1_152)
    assert m.arena_bytes == 1_587  # more than the lower bound here (768 + … at p1: 512 + 1,024 = 1,536)
    assert m.activation_peak_bytes == 1_536


def test_mobilenet_v2_beside_mcunetv2() -> None:
    # MCUNetV2 (Lin et al., NeurIPS 2021), Figure 1: MobileNetV2 1.0/224 int8 peaks at 1,372 kB layer by layer
    # and 172 kB with 4×4 patches over its first blocks (down to 28×28).
    g = build(load_bundled("mobilenet_v2"), 1.0, resolution=224)
    # 1,372 kB is pw4's input and output, 112·112·(16 + 96) = 1,404,928 B = 1,372 KiB: the layer-by-layer peak
    # with in-place depthwise (without it, dw5's 112²·96 + 56²·96 = 1,505,280 B is the lower bound).
    assert plan_memory(g, "inplace-dw").arena_bytes == 112 * 112 * (16 + 96) == 1_372 * 1024
    assert plan_memory(g, "lower-bound").arena_bytes == 112 * 112 * 96 + 56 * 56 * 96
    split = default_split(g)
    assert g.nodes[split].name == "pw13"  # the first 28×28 block's projection (224 / 8)
    m = plan_memory(g, "patch", "int8", patches=4)
    # After the stage the peak is pw16, block 4's projection: its input 28²·192, its output 28²·32 and the
    # block's input 28²·32, held for the residual add: 200,704 B = 196 KiB. MCUNetV2's 172 kB is
    # 28²·(32 + 192) = 175,616 B = 171.5 KiB (pw14's input and output): it leaves the held residual out.
    assert m.arena_bytes == 28 * 28 * (192 + 32 + 32)
    assert round(28 * 28 * (32 + 192) / 1024) == 172
    # Inside the stage the largest patch (rows 23–58 of 112, 35 wide) peaks at pw4: 35²·(16 + 96) B beside
    # the stage's 28²·32 output buffer.
    assert max(m.in_use[: split + 1]) == 35 * 35 * (16 + 96) + 28 * 28 * 32
    # Recompute, by receptive field per patch row (the grid is square, so a layer's pixels are (Σ rows)²):
    # conv1 139 rows of 112 (864 MA/pixel), dw2 / pw3 / pw4 133 (288, 512, 1,536), dw5 / pw6 / pw7 65 of 56
    # (864, 2,304, 3,456), dw8 / pw9 / pw11 59 (1,296, 3,456, 3,456); dw12 and pw13 compute no overlap.
    extra = ((139**2 - 112**2) * 864 + (133**2 - 112**2) * (288 + 512 + 1_536)
             + (65**2 - 56**2) * (864 + 2_304 + 3_456) + (59**2 - 56**2) * (1_296 + 3_456 + 3_456))
    assert m.recompute is not None and m.recompute.extra_mult_adds == extra == 27_919_344
    assert round(m.recompute.percent, 1) == 9.3  # of mobcost's 300,774,272 Mult-Adds


def test_a_patch_stage_must_end_in_one_tensor() -> None:
    g = build(parse_spec(CHAIN), 1.0)
    with pytest.raises(Exception, match="across the split"):
        plan_memory(g, "patch", split=1)  # c1 is read by a1, after p1
    # ResNet-8 on 32×32 reaches 4×4 only at its global pool: no default stage, a one-line error
    bad = CliRunner().invoke(app, ["memory", "mlperf_tiny_ic", "-p", "patch"])
    assert bad.exit_code == 2 and "no default split" in bad.stderr and bad.stderr.count("\n") == 1


def test_the_per_layer_view_marks_the_peak() -> None:
    g = build(load_bundled("mobilenet_v1"), 0.25, resolution=96)
    for planner in ("lower-bound", "tflm", "tflite", "inplace-dw"):
        m = plan_memory(g, planner)
        rows = memory_steps(m)
        assert len(rows) == len(g.nodes) and sum(r.peak for r in rows) == 1
        assert max(r.in_use_bytes for r in rows) == m.arena_bytes == next(r for r in rows if r.peak).in_use_bytes
    lower = memory_steps(plan_memory(g, "lower-bound"))
    # pw3 reads dw2's 48×48×8 and writes 48×48×16: the lower bound's 55,296 B.
    assert [(r.layer, r.live, r.live_bytes) for r in lower if r.peak] == [("pw3", ("dw2", "pw3"), 55_296)]


def test_the_layers_option_in_every_format() -> None:
    runner = CliRunner()
    base = ["memory", "-a", "0.25", "-R", "96", "--layers"]
    doc = json.loads(runner.invoke(app, [*base, "-f", "json"]).stdout)
    assert len(doc["steps"]) == 29  # 27 convolutions, the pool, the classifier
    # TFLM's arena (with the PADs the spec's symmetric stride-2 padding needs) is reached while pw3 runs
    assert [s["layer"] for s in doc["steps"] if s["peak"]] == ["pw3"]
    assert max(s["in_use_bytes"] for s in doc["steps"]) == doc["arena_bytes"]
    csv = runner.invoke(app, [*base, "-f", "csv", "-p", "patch"]).stdout.splitlines()
    assert csv[0].startswith("network,alpha,rho,resolution,dtype,planner,step,layer") and len(csv) == 30
    md = runner.invoke(app, [*base, "-f", "markdown", "-p", "tflite"]).stdout
    assert "planner tflite" in md and "| conv1" in md
    bad = runner.invoke(app, ["memory", "--split", "pw3"])
    assert bad.exit_code == 2 and "--planner patch" in bad.stderr and bad.stderr.count("\n") == 1
    bad = runner.invoke(app, ["memory", "-p", "patch", "--split", "nope"])
    assert bad.exit_code == 2 and "no layer named 'nope'" in bad.stderr


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("litert_arena", ROOT / "benchmarks" / "litert_arena.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize("name", ["tflm_chain_int8", "mini_mobilenet_int8", "mini_mobilenet_float", "branches_int8"])
def test_every_offset_is_litert_own(name: str) -> None:
    pytest.importorskip("ai_edge_litert", reason="pip install ai-edge-litert")
    b = _bench()
    it = b.interpreter(str(ROOT / "tests" / "data" / f"{name}.tflite"))
    tensors, buffers, offsets = b.plan(it)
    measured = b.measured_offsets(it, tensors)
    # The arena (high-water mark) to the byte; every tensor at LiteRT's offset, except that two buffers of equal
    # size allocated at the same node may trade places (LiteRT's order between them is that of an unordered_set
    # and std::sort, not emulated): compare (size, first node, offset) as multisets, then count the swaps.
    assert max(o + x.size for x, o in zip(buffers, measured, strict=True)) == litert_arena(buffers)[1]
    assert sorted((x.size, x.first, o) for x, o in zip(buffers, offsets, strict=True)) == sorted(
        (x.size, x.first, o) for x, o in zip(buffers, measured, strict=True))
    assert sum(o != m for o, m in zip(offsets, measured, strict=True)) <= 2


def test_litert_buffers_keep_their_readers_on_branching_networks() -> None:
    for name in ("resnet18", "mobilenet_v2", "shufflenet_v2_x1_0"):
        g = build(load_bundled(name), 0.5, resolution=96)
        bs = litert_buffers(g, "int8")
        assert all(b.first <= b.last for b in bs)
        m = plan_memory(g, "tflite")
        assert m.activation_peak_bytes <= m.arena_bytes


@pytest.mark.slow
@pytest.mark.parametrize(("name", "alpha", "size"), [("mobilenet_v1", 0.25, 96), ("mobilenet_v2", 0.35, 96),
                                                     ("mlperf_tiny_kws", 0.5, 96), ("resnet18", 0.5, 96)])
def test_the_spec_level_plan_is_litert_arena_for_mobcost_own_export(name: str, alpha: float, size: int) -> None:
    # mobcost's export (litert-torch, float) run by LiteRT: its arena — the highest byte of any tensor, by the
    # tensors' addresses — is the tflite planner's figure for the spec at that point (548,416 B, 1,032,960 B,
    # 130,560 B and 1,885,104 B when written: the input kept, conv1's PAD map and im2col beside its output; the
    # KWS network's one-channel conv1 written as a DEPTHWISE_CONV_2D, without im2col; ResNet-18's max pool
    # padded by a PAD of its own and its residual ADDs in place).
    pytest.importorskip("ai_edge_litert", reason="pip install ai-edge-litert")
    pytest.importorskip("litert_torch", reason="pip install litert-torch")
    from mobcost.runtimes.litert import convert

    b = _bench()
    g = build(load_bundled(name), alpha, resolution=size)
    it = b.interpreter(convert.export_graph(g))
    tensors, buffers, _ = b.plan(it)
    measured = b.measured_offsets(it, tensors)
    highest = max(o + x.size for x, o in zip(buffers, measured, strict=True))
    assert highest == plan_memory(g, "tflite", "fp32").arena_bytes


def test_plot_memory_and_the_budget_map_with_ram_and_flash(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "arena.png"
    done = runner.invoke(app, ["plot", "memory", "-a", "0.25", "-R", "96", "--planner", "tflite", "-o", str(out)])
    assert done.exit_code == 0, done.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    refused = runner.invoke(app, ["plot", "memory", "--max-ram", "1MiB", "-o", str(tmp_path / "x.png")])
    assert refused.exit_code == 2 and "--max-ram" in refused.stderr and not (tmp_path / "x.png").exists()
    bad = runner.invoke(app, ["plot", "memory", "--planner", "best", "-o", str(tmp_path / "y.png")])
    assert bad.exit_code == 2 and "--planner" in bad.stderr
    from mobcost import plots
    from mobcost.explore.budgets import Budgets
    from mobcost.explore.hardware import load_hardware

    fig = plots.budget_figure(load_bundled("mobilenet_v1"), load_hardware("cortex_m7"), [0.25, 0.5, 0.75],
                              [96, 128, 160], Budgets(ram_bytes=200 * 1024, planner="tflite"))
    texts = [t.get_text() for t in fig.legends[0].texts]
    # the option's 200 KiB is tighter than the profile's 320 KiB; the profile's 1 MiB bounds the flash
    assert "over RAM budget (205 kB, tflite planner)" in texts, texts
    assert any("flash budget (1.05 MB)" in t for t in texts), texts
    done = runner.invoke(app, ["plot", "budget", "-H", "cortex_m7", "--max-ram", "200KiB", "--planner", "tflite",
                               "-a", "0.25:0.5:0.25", "-R", "96:128:32", "-o", str(tmp_path / "b.png")])
    assert done.exit_code == 0, done.stderr


def test_a_profile_names_a_runtime_planner_or_says_where_it_is_wrong(tmp_path: Path) -> None:
    from mobcost.errors import MobcostError
    from mobcost.explore.hardware import load_hardware

    path = tmp_path / "hw.yaml"
    base = "name: t\ndtype: int8\npeak_mult_adds_per_s: 1G\nbandwidth_bytes_per_s: 1G\n"
    path.write_text(base + "planner: tflite\n")
    assert load_hardware(path).planner == "tflite"
    path.write_text(base + "planner: patch\n")  # a what-if, not a runtime: refused, with its line
    with pytest.raises(MobcostError) as caught:
        load_hardware(path)
    assert "hw.yaml:5" in str(caught.value) and "planner" in str(caught.value) and "tflite" in str(caught.value)
    assert load_hardware("cortex_m7").planner == "tflm"


def test_litert_buffers_of_an_unfused_silu() -> None:
    # int8, 4×4×2 input (32 B): p1 (1×1 → 4 channels, SiLU: 64 B), p2 (1×1 → 2: 32 B). TFLite cannot fuse SiLU:
    # p1 writes a pre-activation tensor (node 0), LOGISTIC the gate (node 1), MUL p1's output (node 2), p2 at 3.
    # MUL reads the pre-activation (read twice, so not shareable) and the gate (read once): its output takes the
    # gate's buffer, which then lives to p2 (node 3).
    text = "input: {channels: 2, size: 4}\nlayers:\n  - {type: pw, name: p1, out: 4, act: silu}\n" \
           "  - {type: pw, name: p2, out: 2}\n"
    m = plan_memory(build(parse_spec(text), 1.0), "tflite", "int8")
    assert [(b.name, b.size, b.first, b.last) for b in m.buffers] == [
        ("input", 32, 0, FOREVER), ("p2", 32, 3, FOREVER), ("p1 pre-activation", 64, 0, 2), ("p1 logistic", 64, 1, 3)]
    # input → 0; pre-activation → 64 (32 rounded up to 64); gate meets it → 128; p2 (3–) meets the gate only:
    # the gap [32 → 64, 128) holds it → 64. Arena: 192.
    assert m.offsets == (0, 64, 64, 128) and m.arena_bytes == 192
    assert m.layer_steps == (2, 3)
