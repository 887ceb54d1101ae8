"""Calibration of token layers (issue 21): the linear, attention and LayerNorm microbenchmarks, the fit of their
rate and fixed cost, the activation passes of eager torch, the profile keys that carry them, and the prediction
that reads them. Structure and arithmetic only: nothing here is timed."""

from __future__ import annotations

from pathlib import Path

import pytest

from mobcost.errors import MobcostError
from mobcost.explore.hardware import Hardware, load_hardware, predict_layers
from mobcost.graph import build
from mobcost.measure.fit import activation_rates, fit_profile
from mobcost.measure.micro import (
    ACT_SHAPES,
    ELEMENTWISE,
    KINDS,
    MAX_MICRO_ELEMENTS,
    MAX_MICRO_MULT_ADDS,
    POOLS,
    TOKEN_KINDS,
    act_probes,
    micro_node,
    micro_shapes,
    micro_work,
)
from mobcost.spec import load_spec, specs_dir


def test_every_token_kind_has_microbenchmarks_within_limits() -> None:
    assert set(TOKEN_KINDS) == {"linear", "attention", "ln"}
    for kind in TOKEN_KINDS:
        shapes = micro_shapes(kind)
        works = [micro_work(kind, *sh) for sh in shapes]
        # a rate and a fixed cost need at least two different amounts of work; three shapes or more per kind
        assert len(shapes) >= 3 and len(set(works)) >= 2, kind
        for (c, second, n), work in zip(shapes, works, strict=True):
            assert work <= MAX_MICRO_MULT_ADDS and c * n <= MAX_MICRO_ELEMENTS, (kind, c, second, n)
            node = micro_node(kind, c, second, n)
            assert node.type == kind and node.input.tokens and (node.input.c, node.input.h) == (c, n)
            # the work, by hand: a GEMM N·C_in·C_out; LayerNorm's N·C elements; attention's four C×C projections
            # on N tokens (4·N·C²) and its two products (Q·Kᵀ and A·V, N·N·d per head each: 2·N²·C)
            expected = {"linear": n * c * second, "ln": n * c, "attention": 4 * n * c * c + 2 * n * n * c}[kind]
            assert work == expected, (kind, c, second, n)


def test_attention_microbenchmarks_span_head_widths_and_product_shares() -> None:
    shapes = micro_shapes("attention")
    assert all(c % heads == 0 for c, heads, _ in shapes)
    widths = {c // heads for c, heads, _ in shapes}
    assert min(widths) <= 32 and max(widths) >= 64  # MobileViT's 24–36 and DeiT's 64
    # the products' share of the Mult-Adds is 2·N²·C / (4·N·C² + 2·N²·C) = N / (2·C + N): e.g. C = 64, N = 256 →
    # 256 / 384 = 2/3; C = 256, N = 16 → 16 / 528 ≈ 3%
    shares = [n / (2 * c + n) for c, _, n in shapes]
    assert min(shares) < 0.05 and max(shares) > 0.6


# Synthetic times for every job fit_profile reads: each kind's time = fixed + work / rate with known figures.
FIXED_US = {"linear": 40.0, "attention": 150.0, "ln": 30.0}
RATES = {"linear": 60e9, "attention": 30e9, "ln": 2e9}  # Mult-Adds/s; LayerNorm: elements/s


def synthetic_times() -> dict[tuple[str, tuple[int, int, int]], float]:
    times = {}
    for kind in (*KINDS, *POOLS, *ELEMENTWISE, *TOKEN_KINDS):
        fixed, rate = FIXED_US.get(kind, 20.0) * 1e-6, RATES.get(kind, 10e9)
        for sh in micro_shapes(kind):
            times[(kind, sh)] = fixed + micro_work(kind, *sh) / rate
    return times


def test_fit_recovers_token_rates_and_fixed_costs() -> None:
    hw = fit_profile(synthetic_times(), bandwidth=1e10, call_s=3e-6)
    # the peak is the fastest Mult-Adds kind: linear's 60 G/s (every convolution kind is at 10 G/s)
    assert hw.peak_mult_adds_per_s == pytest.approx(60e9, rel=1e-9)
    # efficiencies are rate / peak: linear 60/60 = 1, attention 30/60 = 0.5, LayerNorm 2/60 = 1/30
    assert hw.efficiency["linear"] == pytest.approx(1.0, rel=1e-9)
    assert hw.efficiency["attention"] == pytest.approx(0.5, rel=1e-9)
    assert hw.efficiency["ln"] == pytest.approx(1 / 30, rel=1e-9)
    for kind, micros in FIXED_US.items():
        assert hw.overhead_us_by_type[kind] == pytest.approx(micros, rel=1e-6), kind
    assert hw.efficiency["pw"] == pytest.approx(10 / 60, rel=1e-9)  # the convolutions' 10 G/s of 60


def test_fit_recovers_attention_softmax_rate() -> None:
    times = synthetic_times()
    for c, heads, n in micro_shapes("attention"):
        # the softmax's h·N² scores at 1 G/s on top: e.g. (96, 4, 256): 4·256² = 262,144 → +262 µs
        times[("attention", (c, heads, n))] += heads * n * n / 1e9
    hw = fit_profile(times, bandwidth=1e10, call_s=3e-6)
    assert hw.activation_rates["softmax"] == pytest.approx(1e9, rel=1e-9)
    assert hw.efficiency["attention"] == pytest.approx(0.5, rel=1e-9)  # still 30 of 60 G Mult-Adds/s
    assert hw.overhead_us_by_type["attention"] == pytest.approx(150.0, rel=1e-9)
    # without that cost (synthetic_times alone) the fit finds none and the profile prices no softmax
    assert "softmax" not in fit_profile(synthetic_times(), bandwidth=1e10, call_s=3e-6).activation_rates


def test_torch_activation_rates_are_the_extra_over_the_relu_pass() -> None:
    times = synthetic_times()
    for act in act_probes():
        for c, _, size in ACT_SHAPES:
            # GELU costs 1 ns per element more than the ReLU pass (1 G elements/s), hswish 0.25 ns (4 G/s); the
            # others cost what ReLU does, and are left out
            extra = {"gelu": 1e-9, "hswish": 0.25e-9}.get(act, 0.0)
            times[(f"act/{act}", (c, c, size))] = times[("relu", (c, c, size))] + extra * c * size * size
    rates = activation_rates(times, baseline="relu")
    assert set(rates) == {"gelu", "hswish"}
    assert rates["gelu"] == pytest.approx(1e9, rel=1e-9) and rates["hswish"] == pytest.approx(4e9, rel=1e-9)


BASE = "name: x\npeak_mult_adds_per_s: 1G\nbandwidth_bytes_per_s: 1G\n"


@pytest.mark.parametrize(("line", "key", "line_no"), [
    ("efficiency: {linear/s2: 0.5}", "efficiency.linear/s2", 4),
    ("overhead_us:\n  default: 1\n  attention/k3: 5", "overhead_us.attention/k3", 6),
    ("efficiency: {ln/k1/s1: 0.5}", "efficiency.ln/k1/s1", 4),
    ("unblocked: {channel_multiple: 4, efficiency: {linear/s1: 0.5}}", "unblocked.efficiency.linear/s1", 4),
])
def test_token_keys_cannot_be_narrowed(tmp_path: Path, line: str, key: str, line_no: int) -> None:
    path = tmp_path / "hw.yaml"
    path.write_text(BASE + line + "\n")
    with pytest.raises(MobcostError) as info:
        load_hardware(path)
    text = str(info.value)
    assert str(path) in text and key in text and "no kernel or stride" in text and "\n" not in text
    assert f":{line_no}" in text  # the line of the key


@pytest.mark.parametrize(("line", "needle"), [
    ("activations: {softmax: 0.5}", "activations.softmax"),  # a rate under 1/s
    ("activations: {softmaxx: 1G}", "activations.softmaxx"),
])
def test_softmax_rate_errors_are_located(tmp_path: Path, line: str, needle: str) -> None:
    path = tmp_path / "hw.yaml"
    path.write_text(BASE + line + "\n")
    with pytest.raises(MobcostError) as info:
        load_hardware(path)
    assert str(path) in str(info.value) and needle in str(info.value) and ":4" in str(info.value)


def test_token_keys_load(tmp_path: Path) -> None:
    path = tmp_path / "hw.yaml"
    path.write_text(BASE + "efficiency: {linear: 0.8, attention: 0.4, ln: 0.01, patch_embed: 0.5}\n"
                    "overhead_us: {linear: 12, attention: 90, ln: 4}\nactivations: {softmax: 2G, gelu: 1.5G}\n")
    hw = load_hardware(path)
    assert hw.activation_rates == {"softmax": 2e9, "gelu": 1.5e9}
    assert hw.efficiency == {"linear": 0.8, "attention": 0.4, "ln": 0.01, "patch_embed": 0.5}
    assert hw.overhead_of("attention", None, None) == 90.0


def eager_profile() -> Hardware:
    """An eager-torch-like profile: token kinds calibrated, activations as passes, memory never the bound."""
    return Hardware(name="t", peak_mult_adds_per_s=1e10, bandwidth_bytes_per_s=1e15, runtime="torch",
                    efficiency={"linear": 0.5, "attention": 0.25, "ln": 0.01},
                    overhead_us_by_type={"linear": 10.0, "attention": 100.0, "ln": 5.0},
                    elementwise_overhead_us=2.0, elementwise_bytes_per_s=1e10,
                    activation_rates={"gelu": 1e9, "softmax": 2e9})


def test_prediction_reads_the_token_kinds() -> None:
    graph = build(load_spec(specs_dir() / "deit_tiny.yaml"))
    seconds = dict(zip((n.name for n in graph.nodes), predict_layers(graph, eager_profile()), strict=True))
    names = [n.name for n in graph.nodes]
    norm1, attn, fc1 = (next(x for x in names if x.endswith(s)) for s in ("norm1", "attn", "fc1"))
    # DeiT-Tiny at 224: N = 197 tokens of C = 192 (memory terms are ~10⁻⁹ s at 1 PB/s and never the max)
    # ln: 197·192 = 37,824 elements / (1e10 · 0.01) = 378.24 µs, + 5 µs fixed
    assert seconds[norm1] == pytest.approx(383.24e-6, rel=1e-9)
    # attention: 4·197·192² = 29,048,832 + 2·197²·192 = 14,902,656 → 43,951,488 / (1e10 · 0.25) = 17,580.5952 µs,
    # + 100 µs fixed, + softmax over 3·197² = 116,427 scores / 2e9 = 58.2135 µs → 17,738.8087 µs
    assert seconds[attn] == pytest.approx(17_738.8087e-6, rel=1e-9)
    # fc1 (192 → 768, GELU): 197·192·768 = 29,048,832 / (1e10 · 0.5) = 5,809.7664 µs + 10 µs; GELU's pass over
    # 197·768 = 151,296 outputs: 2 µs + 2·151,296·4 B / 1e10 B/s = 121.0368 µs, and its extra 151,296 / 1e9 =
    # 151.296 µs → 6,094.0992 µs
    assert seconds[fc1] == pytest.approx(6_094.0992e-6, rel=1e-9)


@pytest.mark.parametrize("name", ["deit_tiny", "mobilevit_xs", "mobilenet_v4_hybrid_medium"])
def test_sweep_latency_equals_prediction_with_token_kinds(name: str) -> None:
    from mobcost.explore import sweep

    # DeiT's plain sequences, MobileViT's P unfolded sequences, MobileNetV4's attention on a map with K/V
    # down-sampled (N′ < N): the sweep's scores (heads × the products' area) equal the layer's own
    spec, hw = load_spec(specs_dir() / f"{name}.yaml"), eager_profile()
    r = sweep(spec, [1.0, 0.5], [224, 160], hardware=hw)
    for i in range(len(r)):
        graph = build(spec, float(r.columns["alpha"][i]), resolution=int(r.columns["resolution"][i]))
        assert r.columns["latency_ms"][i] == pytest.approx(1e3 * sum(predict_layers(graph, hw)), rel=1e-9)


def test_softmax_counts_every_head_and_sequence() -> None:
    from mobcost.layers import REGISTRY

    graph = build(load_spec(specs_dir() / "mobilevit_xs.yaml"), resolution=256)
    node = next(n for n in graph.nodes if n.type == "attention")
    # the first MobileViT block at 256 px: a 32×32 map, 2×2 patches → P = 4 sequences of N = 16·16 = 256 tokens,
    # 4 heads: 4 · 4 · 256 · 256 = 1,048,576 scores
    assert REGISTRY["attention"].score_elements(node) == 1_048_576


def test_ort_layer_time_leaves_out_the_token_view(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime")
    from mobcost.runtimes.ort import calibrate as oc
    from mobcost.runtimes.ort import session

    monkeypatch.setattr(session, "profiler_overhead", lambda: 0.0)

    def event(name: str, op: str, us: float) -> dict[str, object]:
        return {"name": f"{name}_kernel_time", "dur": us, "args": {"op_name": op}}

    run = [event("/n0/tokens/Transpose", "Transpose", 7.0), event("gemm_input_reshape", "Reshape", 1.0),
           event("/n1/fc/MatMul/MatMulAddFusion", "Gemm", 30.0), event("gemm_output_reshape", "Reshape", 2.0)]
    # per run: the Gemm and the reshapes ORT added around it (30 + 1 + 2 = 33 µs), not the tokens' 7 µs
    assert oc.layer_seconds(run * 2, 2, oc.first_layer("linear")) == pytest.approx([33e-6, 33e-6])
    # a convolution's graph has no token view: layer 0 is the layer timed (7 + 1 + 30 + 2 = 40 µs)
    assert oc.layer_seconds(run, 1, oc.first_layer("pw")) == pytest.approx([40e-6])


def test_torch_token_benches_build_and_run() -> None:
    torch = pytest.importorskip("torch")
    from mobcost.runtimes import torch_eager

    jobs = torch_eager.jobs()
    for kind in TOKEN_KINDS:
        assert {sh for k, sh in jobs if k == kind} == set(micro_shapes(kind))
    assert {k for k, _ in jobs if k.startswith("act/")} == {f"act/{a}" for a in act_probes()}
    with torch.no_grad():
        for kind in TOKEN_KINDS:
            c, second, n = micro_shapes(kind)[0]
            out = torch_eager.micro_module(kind, c, second, n).eval()(torch_eager.micro_input(kind, c, n))
            # a sequence in, a sequence out: (1, N, C_out) for linear, (1, N, C) otherwise
            assert tuple(out.shape) == (1, n, second if kind == "linear" else c), kind


@pytest.mark.slow  # a LiteRT conversion
def test_litert_token_benches_convert_and_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ai_edge_litert")
    pytest.importorskip("litert_torch")
    import math
    import random

    from mobcost.measure.micro import micro_graph
    from mobcost.runtimes.litert import calibrate as lc
    from mobcost.torchside.build import graph_module, sample_input

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    graphs = [((kind, micro_shapes(kind)[0]), micro_graph(kind, *micro_shapes(kind)[0], fused=True))
              for kind in TOKEN_KINDS]
    jobs = [(job, graph_module(g), sample_input(g), f"t{i}") for i, (job, g) in enumerate(graphs)] + lc.invoke_jobs()
    samples = lc.run_litert_rounds(lc.make_benches(jobs, 1), 3, random.Random(0), lambda _: None)
    assert {job for job in samples if job[0] in TOKEN_KINDS} == {job for job, _ in graphs}
    assert all(len(s) == 3 and all(math.isfinite(x) and x > 0 for x in s) for s in samples.values())
