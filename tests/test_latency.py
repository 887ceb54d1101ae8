"""Latency: the roofline arithmetic, profile validation, rank statistics, and the calibrate/latency commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobcost.cli import app
from mobcost.errors import MobcostError
from mobcost.explore.hardware import Hardware, layer_seconds, load_hardware

DATA = Path(__file__).parent / "data"


def test_layer_seconds_by_hand() -> None:
    hw = Hardware(name="t", peak_mult_adds_per_s=1e9, bandwidth_bytes_per_s=1e9, overhead_us=10,
                  overhead_us_by_type={"dw/s2": 50}, efficiency={"dw": 0.5, "dw/s2": 0.25},
                  elementwise_overhead_us=2, elementwise_bytes_per_s=1e9, context_factor=2.0)
    # dw, stride 1: compute 1e6 / (1e9·0.5) = 2 ms; memory 1e5·4 B / 1e9 = 0.4 ms → 2 ms + 10 µs
    # two unfused ops (BN, ReLU) over 1e4 outputs: each 2 µs + 2·1e4·4 B / 1e9 = 82 µs → 164 µs
    # (2 ms + 10 µs + 164 µs) · context 2 = 4.348 ms
    got = layer_seconds(1e6, 1e5, "dw", hw, stride=1, outputs=1e4, unfused_ops=2)
    assert got == pytest.approx(4.348e-3)
    # stride 2 uses dw/s2: compute 1e6 / (1e9·0.25) = 4 ms, overhead 50 µs → (4.05 ms) · 2 = 8.1 ms
    assert layer_seconds(1e6, 1e5, "dw", hw, stride=2) == pytest.approx(8.1e-3)
    # memory-bound: 1e3 Mult-Adds, 1e7 elements · 4 B / 1e9 = 40 ms (+ 10 µs overhead) · 2
    assert layer_seconds(1e3, 1e7, "pw", hw) == pytest.approx(2 * 40.01e-3)


@pytest.mark.parametrize(("text", "needle"), [
    ("name: x\npeak_mult_adds_per_s: 1G\n", "missing 'bandwidth_bytes_per_s'"),
    ("name: x\npeak_mult_adds_per_s: fast\nbandwidth_bytes_per_s: 1G\n", "peak_mult_adds_per_s"),
    ("name: x\npeak_mult_adds_per_s: 1G\nbandwidth_bytes_per_s: 1G\nefficiency: {dw: 1.5}\n", "efficiency.dw"),
    ("name: x\npeak_mult_adds_per_s: 1G\nbandwidth_bytes_per_s: 1G\nefficiency: {conv3d: 0.5}\n",
     "efficiency.conv3d"),
    ("name: x\npeak_mult_adds_per_s: 1G\nbandwidth_bytes_per_s: 1G\noverhead_us: {pw: -1}\n", "overhead_us.pw"),
    ("name: x\npeak_mult_adds_per_s: 1G\nbandwidth_bytes_per_s: 1G\nturbo: true\n", "unknown key 'turbo'"),
    ("name: x\npeak_mult_adds_per_s: 1G\nbandwidth_bytes_per_s: 1G\ndtype: fp64\n", "dtype"),
])
def test_profile_errors(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "hw.yaml"
    path.write_text(text)
    with pytest.raises(MobcostError) as info:
        load_hardware(path)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_every_bundled_profile_cites_its_figures() -> None:
    from mobcost.explore.hardware import bundled_hardware

    for name in bundled_hardware():
        hw = load_hardware(name)
        for key in ("peak_mult_adds_per_s", "bandwidth_bytes_per_s"):
            assert hw.sources.get(key), (name, key)
        if hw.ram_bytes:
            assert hw.sources.get("ram_bytes"), name
        if hw.storage_bytes:
            assert hw.sources.get("storage_bytes"), name


def test_rank_statistics() -> None:
    from mobcost.explore import stats as measure
    assert measure.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert measure.spearman([1, 2, 3, 4], [40, 30, 20, 10]) == pytest.approx(-1.0)
    # one swapped pair of 4: 1 − 6·(1 + 1)/(4·15) = 0.8
    assert measure.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    # |1.1 − 1|/1 = 10%, |1.5 − 2|/2 = 25%, |3 − 3|/3 = 0 → median 10%
    assert measure.median_ape([1.1, 1.5, 3.0], [1.0, 2.0, 3.0]) == pytest.approx(0.1)


def test_fit_fixed_and_rate_recovers_known_values() -> None:
    measure = pytest.importorskip("mobcost.measure.fit")
    work = [1e5, 1e6, 1e7, 1e8]
    seconds = [20e-6 + w / 5e9 for w in work]  # 20 µs fixed, 5 G/s
    fixed, rate = measure.fit_fixed_and_rate(work, seconds)
    assert fixed == pytest.approx(20e-6, rel=1e-6) and rate == pytest.approx(5e9, rel=1e-6)


def test_latency_prediction_without_torch_path() -> None:
    result = CliRunner().invoke(app, ["latency", "--hardware", "pixel1", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["measured_ms"] is None and doc["hardware"].startswith("Pixel 1")
    assert doc["predicted_ms"] == pytest.approx(sum(x["predicted_ms"] for x in doc["layers"]), rel=1e-6)
    assert sum(t["mult_adds_pct"] for t in doc["types"]) == pytest.approx(100, abs=0.05)
    grid = json.loads(CliRunner().invoke(app, ["latency", "--grid", "--hardware", "rpi4", "-f", "json"]).stdout)
    assert len(grid["points"]) == 16 and grid["spearman"] is None and grid["threads"] == 1


def test_activations_move_at_their_own_bandwidth(tmp_path: Path) -> None:
    import numpy as np

    hw = Hardware(name="t", peak_mult_adds_per_s=1e12, bandwidth_bytes_per_s=1e9,
                  activation_bandwidth_bytes_per_s=4e9)
    # 1e7 elements of which 2e6 weights, fp32: weights 2e6·4 B / 1e9 = 8 ms, the rest 8e6·4 B / 4e9 = 8 ms → 16 ms
    # (compute 1e3 / 1e12 is nothing)
    assert layer_seconds(1e3, 1e7, "pw", hw, weights=2e6) == pytest.approx(16e-3)
    # the sweep's arrays take the same path
    got = layer_seconds(np.array([1e3]), np.array([1e7]), "pw", hw, weights=np.array([2e6]), maximum=np.maximum)
    assert got[0] == pytest.approx(16e-3)
    # without an activation bandwidth, all 1e7 elements move at 1e9: 40 ms, whatever the weights' share
    plain = Hardware(name="t", peak_mult_adds_per_s=1e12, bandwidth_bytes_per_s=1e9)
    assert layer_seconds(1e3, 1e7, "pw", plain, weights=2e6) == pytest.approx(40e-3)
    # read from a profile, and checked like the other rates
    path = tmp_path / "p.yaml"
    path.write_text("name: x\npeak_mult_adds_per_s: 1G\nbandwidth_bytes_per_s: 1G\n"
                    "activation_bandwidth_bytes_per_s: 4G\n")
    assert load_hardware(path).activation_bandwidth_bytes_per_s == 4e9
    path.write_text("name: x\npeak_mult_adds_per_s: 1G\nbandwidth_bytes_per_s: 1G\n"
                    "activation_bandwidth_bytes_per_s: -1\n")
    with pytest.raises(MobcostError, match="activation_bandwidth_bytes_per_s"):
        load_hardware(path)


def test_quiet_mean_is_the_window_from_the_10th_to_the_60th_percentile() -> None:
    from mobcost.measure.schedule import quiet_mean

    # 20 samples 1..20: the window is sorted[2:12] = 3..12, mean 7.5; a burst of contention (the top ones ×10)
    # does not move it, where the plain mean (10.5) would go to 10.5 + (6 · 10 · 17.5 − 6 · 17.5) / 20 = 57.75
    samples = [float(i) for i in range(1, 21)]
    assert quiet_mean(samples) == pytest.approx(7.5)
    burst = samples[:14] + [10 * x for x in samples[14:]]
    assert quiet_mean(burst) == pytest.approx(7.5)
    assert quiet_mean([4.0]) == 4.0  # too few for a window: what there is


def test_profile_keys_narrow_by_kernel_and_stride(tmp_path: Path) -> None:
    hw = Hardware(name="t", peak_mult_adds_per_s=1e9, bandwidth_bytes_per_s=1e12,
                  efficiency={"dw": 0.1, "dw/s2": 0.05, "dw/k5": 0.2, "dw/k5/s2": 0.08})
    # the most specific key present: dw/k5/s2, then dw/k5, then dw/s2, then dw
    assert hw.efficiency_of("dw", 2, 5) == 0.08 and hw.efficiency_of("dw", 1, 5) == 0.2
    assert hw.efficiency_of("dw", 2, 3) == 0.05 and hw.efficiency_of("dw", 1, 7) == 0.1
    assert hw.efficiency_of("conv", 1, 3) == 1.0  # no key: the peak
    # 1e6 Mult-Adds of a 5×5 depthwise layer at stride 2: 1e6 / (1e9 · 0.08) = 12.5 ms
    assert layer_seconds(1e6, 0, "dw", hw, stride=2, kernel=5) == pytest.approx(12.5e-3)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npeak_mult_adds_per_s: 1e9\nbandwidth_bytes_per_s: 1e9\nefficiency: {dw/k5x: 0.5}\n")
    with pytest.raises(MobcostError, match=r"efficiency\.dw/k5x.*unknown layer type"):
        load_hardware(bad)


@pytest.mark.slow
def test_calibrate_then_measure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = CliRunner().invoke(app, ["calibrate", "--threads", "1"])
    assert result.exit_code == 0, result.stderr
    profile = tmp_path / "config" / "mobcost" / "host-1t.yaml"
    hw = load_hardware(profile)
    assert hw.measured["threads"] == 1 and hw.measured["torch"] and hw.measured["date"]
    assert hw.peak_mult_adds_per_s > 0 and set(hw.efficiency) >= {"pw", "dw", "dw/s2", "conv", "fc", "maxpool"}
    # BatchNorm and ReLU are timed apart: the profile charges them as passes over each layer's output
    assert not hw.fuses_elementwise and hw.elementwise_bytes_per_s > 0
    result = CliRunner().invoke(app, ["latency", "--alpha", "0.25", "--resolution", "128", "--measure", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["measured_ms"] > 0 and all(x["measured_ms"] > 0 for x in doc["layers"])
    assert sum(t["measured_pct"] for t in doc["types"]) == pytest.approx(100, abs=0.05)
    cache = json.loads((tmp_path / "cache" / "mobcost" / "measurements.json").read_text())
    assert len(cache) == 1 and next(iter(cache)).endswith(f"|128|1|{__import__('torch').__version__}")


@pytest.mark.slow
def test_time_share_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    # A ready host profile (no calibration), so only the network is timed.
    config = tmp_path / "config" / "mobcost"
    config.mkdir(parents=True)
    (config / "host-1t.yaml").write_text((DATA / "slow_profile.yaml").read_text())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    out = tmp_path / "share.png"
    result = CliRunner().invoke(app, ["plot", "time-share", "--output", str(out)])
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().startswith(b"\x89PNG")


def test_microbenchmarks_run_in_sequence_by_size() -> None:
    pytest.importorskip("torch")
    import random

    import torch

    from mobcost.runtimes import torch_eager as measure

    calls: list[int] = []

    class Recorder(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls.append(x.numel())
            return x

    sizes = [9, 1, 4, 4, 16]
    items = [measure.Bench("pw", (n, i, 1), Recorder(), torch.zeros(n)) for i, n in enumerate(sizes)]
    rounds: list[int] = []
    samples = measure.run_rounds(items, 3, random.Random(0), rounds.append)
    # one warm-up call each, then per round every bench once, smallest input first
    assert calls[:5] == sizes and rounds == [0, 1, 2]
    for r in range(3):
        assert calls[5 + 5 * r: 10 + 5 * r] == [1, 4, 4, 9, 16]
    assert len(samples) == 5 and all(len(v) == 3 and min(v) > 0 for v in samples.values())


def test_latency_tabular_formats_are_tidy() -> None:
    import csv
    import io

    runner = CliRunner()
    result = runner.invoke(app, ["latency", "--hardware", "rpi4", "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    # Table 1: conv1, 13 × (dw + pw), avg pool, FC = 29 layers, one row each, the design point on every row
    assert len(rows) == 29 and {r["alpha"] for r in rows} == {"1.0"} and {r["resolution"] for r in rows} == {"224"}
    # 1.0 MobileNet-224: 568,740,352 Mult-Adds including the FC layer (Table 1 arithmetic, pinned in test_analysis)
    assert sum(int(r["mult_adds"]) for r in rows) == 568_740_352
    grid_csv = runner.invoke(app, ["latency", "-H", "rpi4", "--grid", "-f", "csv"]).stdout
    grid = list(csv.DictReader(io.StringIO(grid_csv)))
    assert len(grid) == 16 and {(r["alpha"], r["resolution"]) for r in grid} >= {("0.25", "128"), ("1.0", "224")}
    markdown = runner.invoke(app, ["latency", "-H", "rpi4", "-f", "markdown"]).stdout
    # a document's headers are for people (issue 20, item 15): "Predicted (ms)", never "predicted_ms"
    assert markdown.startswith("| Network") and markdown.count("\n") == 29 + 2
    assert "Predicted (ms)" in markdown and "predicted_ms" not in markdown


# --- issue 11: profiles, the host profile and the cache never give a traceback, NaN or Infinity -----------

BASE_PROFILE = "name: x\npeak_mult_adds_per_s: 1G\nbandwidth_bytes_per_s: 1G\n"


@pytest.mark.parametrize("line", [
    "peak_mult_adds_per_s: []", "bandwidth_bytes_per_s: {a: 1}", "peak_mult_adds_per_s: .inf",
    "bandwidth_bytes_per_s: .nan", "peak_mult_adds_per_s: 1e-300", "overhead_us: .inf", "overhead_us: {dw: .inf}",
    "overhead_us: {default: .nan}", "elementwise: {bytes_per_s: 1G, overhead_us: .inf}", "dtype: [fp32]",
    "measured: 5", "name: [a, b]", "description: {a: 1}", "context_factor: .inf", "ram_bytes: null",
    "efficiency: {dw: .nan}", "efficiency: {dw: 1e-300}",
])
def test_bad_profile_values_are_located_errors(tmp_path: Path, line: str) -> None:
    path = tmp_path / "hw.yaml"
    key = line.split(":")[0]
    path.write_text("\n".join(x for x in BASE_PROFILE.splitlines() if not x.startswith(key + ":")) + f"\n{line}\n")
    with pytest.raises(MobcostError) as info:
        load_hardware(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_sweep_latency_is_finite_or_refused(tmp_path: Path) -> None:
    # The slowest profile the format allows: 1 Mult-Add/s, 1 B/s, an efficiency of 1e-9, 10¹² µs a layer.
    slow = tmp_path / "slow.yaml"
    slow.write_text("name: slow\npeak_mult_adds_per_s: 1\nbandwidth_bytes_per_s: 1\nefficiency: {conv: 1e-9}\n"
                    "overhead_us: 1e12\n")
    result = CliRunner().invoke(app, ["sweep", "-H", str(slow), "-a", "1", "-R", "1000000000", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert "Infinity" not in result.stdout and "NaN" not in result.stdout
    latency = json.loads(result.stdout)["points"][0]["latency_ms"]
    # at least 1.0 MobileNet's 28 layers × 10¹² µs = 2.8·10¹⁶ ms, and finite
    assert 2.8e16 <= latency < float("inf")


def _graph_entry(layers: int) -> dict:
    return {"total_s": 0.01, "layers_s": [0.001] * layers}


def test_cache_lock_keeps_every_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from mobcost.measure import cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    # two writers, 40 merges each, of different keys: a read-modify-write without the lock loses some
    def writer(tag: str) -> None:
        for i in range(40):
            cache.store({f"{tag}{i}": _graph_entry(1)})

    threads = [threading.Thread(target=writer, args=(tag,)) for tag in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(cache.read_cache()) == {f"{tag}{i}" for tag in "ab" for i in range(40)}


@pytest.mark.parametrize("text", ["[]", '{"k": 5}', "not json", '{"k": {"total_s": NaN, "layers_s": []}}'])
def test_damaged_cache_is_set_aside_or_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from mobcost.measure import cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = tmp_path / "mobcost" / "measurements.json"
    path.parent.mkdir()
    path.write_text(text)
    entries = cache.open_cache()
    assert not any(cache.valid_entry(v, 0) for v in entries.values())  # nothing usable: measured again
    cache.store({"fresh": _graph_entry(2)})
    stored = json.loads(path.read_text())  # strict JSON: no NaN or Infinity
    assert cache.valid_entry(stored["fresh"], 2)
    if not text.startswith("{"):  # not a mapping: set aside with a one-line warning naming the file
        assert (path.parent / "measurements.json.corrupt").read_text() == text
        warning = capsys.readouterr().err
        assert warning.count("\n") == 1 and str(path) in warning


def test_cache_folder_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = CliRunner().invoke(app, ["latency", "-H", "rpi4", "--measure"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "cache" in result.stderr


# --- issue 11: every argument checked before any calibration or timing ----------------------------------


@pytest.fixture
def no_slow_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty config folder (no host profile), and calibration or timing fails the test if it starts."""
    pytest.importorskip("torch")
    from mobcost.measure import timing

    def slow(*_: object, **__: object) -> None:
        raise AssertionError("slow work started before the arguments were checked")

    monkeypatch.setattr(timing, "calibrate", slow)
    monkeypatch.setattr(timing, "measure_all", slow)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


@pytest.mark.parametrize(("args", "needle"), [
    (["latency", "--alpha", "nan"], "alpha"), (["latency", "--rho", "inf"], "rho"),
    (["latency", "--resolution", "0"], "resolution"), (["latency", "nosuchspec"], "nosuchspec"),
    (["latency", "--hardware", "toaster"], "toaster"), (["latency", "-o", "/nonexistent/out.json"], "/nonexistent"),
    (["latency", "--grid", "--alpha", "0.5"], "--grid"), (["latency", "--measure", "--alpha", "2e9"], "alpha"),
    (["plot", "latency", "-o", "/nonexistent/x.png"], "/nonexistent"), (["plot", "time-share", "-a", "nan"], "alpha"),
    (["plot", "latency", "nosuchspec"], "nosuchspec"), (["calibrate", "-o", "/nonexistent/hw.yaml"], "/nonexistent"),
])
def test_argument_errors_come_before_calibration(no_slow_work: Path, args: list[str], needle: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and needle in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_config_folder_that_is_a_file(no_slow_work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (no_slow_work / "cfg").write_text("a file")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(no_slow_work / "cfg"))
    result = CliRunner().invoke(app, ["latency"])
    assert result.exit_code == 2 and "Not a directory" in result.stderr and result.stderr.count("\n") == 1


def test_grid_without_measure_does_not_measure(no_slow_work: Path) -> None:
    # a ready host profile: --grid predicts with it and times nothing (measure_all would fail the test)
    config = no_slow_work / "config" / "mobcost"
    config.mkdir(parents=True)
    (config / "host-1t.yaml").write_text((DATA / "slow_profile.yaml").read_text())
    result = CliRunner().invoke(app, ["latency", "--grid", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert len(doc["points"]) == 16 and all(p["measured_ms"] is None for p in doc["points"])


def test_damaged_host_profile_is_one_line(no_slow_work: Path) -> None:
    config = no_slow_work / "config" / "mobcost"
    config.mkdir(parents=True)
    (config / "host-1t.yaml").write_text("[]\n")
    result = CliRunner().invoke(app, ["latency"])
    assert result.exit_code == 2 and "host-1t.yaml" in result.stderr and "mobcost calibrate" in result.stderr
    assert result.stderr.count("\n") == 1


def test_grid_names_its_runtime_and_energy_per_point() -> None:
    """`latency --grid` on a datasheet profile: no timing, every point with its energy on that profile."""
    result = CliRunner().invoke(app, ["latency", "--grid", "-H", "pixel1", "--runtime", "onnxruntime", "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # nothing ran, and Pixel 1 is a datasheet profile: the figures describe no runtime of this host
    assert doc["runtime"] is None and len(doc["points"]) == 16
    first = doc["points"][0]
    assert (first["alpha"], first["resolution"]) == (1.0, 224)
    # MobileNetV1 α = 1, 224 on Pixel 1 (fp32, 1 MiB on chip): 10,936.365978 µJ, worked out layer by layer from
    # the paper's Table 1 shapes and Horowitz's figures in tests/test_energy.py.
    assert first["energy_uj"] == pytest.approx(10936.365978, abs=1e-6)
    at_alpha_1 = [p["energy_uj"] for p in doc["points"][:4]]  # 224, 192, 160, 128: fewer bytes, less energy
    assert at_alpha_1 == sorted(at_alpha_1, reverse=True) and at_alpha_1[-1] > 0


def test_latency_csv_rows_name_the_runtime(tmp_path: Path) -> None:
    """Without --measure, the runtime is the profile's (the figures describe it)."""
    profile = tmp_path / "ort.yaml"
    profile.write_text("name: an ORT profile\nruntime: onnxruntime\npeak_mult_adds_per_s: 50G\n"
                       "bandwidth_bytes_per_s: 20G\n")
    result = CliRunner().invoke(app, ["latency", "-H", str(profile), "-f", "csv"])
    assert result.exit_code == 0, result.output
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 29 and {row["runtime"] for row in rows} == {"onnxruntime"}


def test_measuring_beside_another_machines_profile_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    from mobcost.cli import latency as latency_cli
    from mobcost.measure.timing import Measurement

    monkeypatch.setattr(latency_cli, "prepare_measure", lambda runtime="torch": None)
    monkeypatch.setattr(latency_cli, "timed", lambda graph, threads, use_cache=True, runtime="torch":
                        Measurement(0.01, [0.01 / len(graph.nodes)] * len(graph.nodes)))
    result = CliRunner().invoke(app, ["latency", "-H", "pixel1", "--runtime", "onnxruntime", "--measure", "-f",
                                      "json"])
    assert result.exit_code == 0, result.output
    assert "warning" in result.stderr and "datasheet" in result.stderr and len(result.stderr.splitlines()) == 1
    assert json.loads(result.stdout)["runtime"] == "onnxruntime"


# --- issue 20, newcomer item 1: titles and axes name the runtime that ran, once ---------------------------


def test_grid_title_says_threads_and_runtime_once(tmp_path: Path) -> None:
    # A host profile's name already carries its threads and runtime: the title said them twice.
    profile = tmp_path / "host.yaml"
    profile.write_text("name: this host (x86_64, 1 thread, torch eager)\nruntime: torch\npeak_mult_adds_per_s: 50G\n"
                       "bandwidth_bytes_per_s: 20G\n")
    result = CliRunner().invoke(app, ["latency", "--grid", "-H", str(profile)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    title = result.stdout.splitlines()[0]
    assert "on this host (1 thread, torch)" in title and title.count("thread") == 1, title
