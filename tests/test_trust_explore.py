"""Issue 11, the sweep's share: exact integers or a refusal (never int64 wrap-around), accuracy attached by
architecture (never by name) with extrapolations labelled, bounded grids and a streamed --best, and grids
whose points are valid even where the spec is not at its own size or at α = 1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mobcost.cli import app
from mobcost.explore import Budgets, sweep
from mobcost.explore.stream import stream_best
from mobcost.spec import load_spec, parse_spec

from .conftest import SPECS

MOBILENET = load_spec(SPECS / "mobilenet_v1.yaml")
# 10⁹ input channels on a 4×4 map, one 1×1 convolution to 10⁹ channels: within the spec format's limits.
HUGE = "input: {channels: 1000000000, size: 4}\nlayers:\n  - {type: pw, out: 1000000000}\n"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, err: str, needle: str) -> None:
    assert code == 2 and err.startswith("mobcost: error: ") and err.count("\n") == 1, err
    assert needle in err, err


@pytest.fixture
def no_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused grid is refused before any of its points is evaluated (not after minutes of work)."""
    import mobcost.explore.grid as grid

    def evaluate(*_: object, **__: object) -> None:
        raise AssertionError("grid points evaluated before the grid was refused")

    monkeypatch.setattr(grid, "_chunk", evaluate)


# --- 1. exact integers, never a silent int64 wrap-around -------------------------------------------------


def test_sweep_past_int64_is_exact(write_spec) -> None:
    path = str(write_spec(HUGE))
    code, out, err = invoke("sweep", path, "--alpha", "1", "--resolution", "4,8", "--format", "json")
    assert code == 0, err
    at4, at8 = json.loads(out)["points"]
    # Mult-Adds M·N·D_F² = 10⁹·10⁹·16 = 1.6·10¹⁹ > 2⁶³ − 1 ≈ 9.22·10¹⁸ (int64 would wrap it negative);
    # at 8×8: 10¹⁸·64 = 6.4·10¹⁹.
    assert at4["mult_adds"] == 16 * 10**18 and at8["mult_adds"] == 64 * 10**18
    # params 10⁹·10⁹ = 10¹⁸; memory access 10⁹·16 in + 10⁹·16 out + 10¹⁸ weights; fp32 weights 4·10¹⁸ bytes
    assert at4["params"] == 10**18 and at4["memory_access"] == 10**18 + 32 * 10**9
    assert at4["weight_bytes"] == 4 * 10**18 and at4["peak_activation"] == 32 * 10**9
    table = json.loads(invoke("table", path, "--format", "json")[1])["totals"]
    assert (table["mult_adds"], table["memory_access"]) == (at4["mult_adds"], at4["memory_access"])
    code, out, err = invoke("sweep", path, "--alpha", "1", "--resolution", "4", "--format", "csv")
    assert code == 0 and out.splitlines()[1].split(",")[2] == str(16 * 10**18), err


def test_huge_resolution_equals_table() -> None:
    # 1.0 MobileNet at 10⁹ pixels: conv1 alone is 3·3·3·32·(5·10⁸)² = 2.16·10²¹ Mult-Adds, past int64.
    code, out, err = invoke("sweep", "-a", "0.25,1", "-R", "1000000000", "-f", "json")
    assert code == 0, err
    for point in json.loads(out)["points"]:
        table = json.loads(invoke("table", "-a", str(point["alpha"]), "-R", "1000000000", "-f", "json")[1])["totals"]
        assert point["mult_adds"] > 2.16e21 if point["alpha"] == 1 else point["mult_adds"] > 2**63
        assert (point["mult_adds"], point["params"], point["memory_access"]) == (
            table["mult_adds"], table["params"], table["memory_access"])


def test_grid_too_large_to_evaluate_exactly_is_refused(write_spec, no_evaluation) -> None:
    # 10,000 α × 997 resolutions ≈ 10⁷ points whose counts pass int64: exact evaluation would take minutes.
    code, _, err = invoke("sweep", str(write_spec(HUGE)), "--alpha", "0.0001:1:0.0001", "--resolution", "4:1000:1",
                          "--format", "csv")
    one_line_error(code, err, "64-bit")


def test_resolutions_beyond_the_spec_format_are_refused() -> None:
    for args in (["--resolution", "1e400"], ["--resolution", "1:1e30:1"], ["--resolution", "2000000000"]):
        code, _, err = invoke("sweep", *args)
        one_line_error(code, err, "--resolution")


# --- 2. accuracy belongs to the architecture ---------------------------------------------------------------


def test_a_name_alone_gets_no_published_accuracy(write_spec) -> None:
    impostor = write_spec("name: MobileNetV1\ninput: {channels: 3, size: 224}\nlayers:\n"
                          "  - {type: conv, out: 32, kernel: 3, stride: 2}\n  - {type: avgpool}\n"
                          "  - {type: fc, out: 1000, scale: false}\n")
    point = json.loads(invoke("sweep", str(impostor), "-a", "1", "-R", "224", "-f", "json")[1])["points"][0]
    assert point["top1"] is None and point["top1_source"] is None


def test_the_architecture_under_another_name_gets_it(write_spec) -> None:
    # MobileNetV1 written out: explicit dw/pw pairs (not dwsep), explicit padding, other names everywhere.
    rows = [("", 64, 1), ("", 128, 2), ("", 128, 1), ("", 256, 2), ("", 256, 1), ("", 512, 2)] + [("", 512, 1)] * 5
    rows += [("", 1024, 2), ("", 1024, 1)]
    layers = ["  - {type: conv, name: stem, out: 32, kernel: 3, stride: 2, padding: 1}"]
    for i, (_, out, stride) in enumerate(rows):
        layers += [f"  - {{type: dw, name: depth{i}, kernel: 3, stride: {stride}, padding: 1}}",
                   f"  - {{type: pw, name: point{i}, out: {out}}}"]
    layers += ["  - {type: avgpool, name: pool}", "  - {type: fc, name: classifier, out: 1000, scale: false}"]
    path = write_spec("name: Somebody's net\ndescription: not a MobileNet at all\ninput: {channels: 3, size: 224}\n"
                      "layers:\n" + "\n".join(layers) + "\n")
    point = json.loads(invoke("sweep", str(path), "-a", "0.5", "-R", "160", "-f", "json")[1])["points"][0]
    # TF-Slim's mobilenet_v1_0.5_160: 59.1% top-1
    assert point["top1"] == 59.1 and "TF-Slim" in point["top1_source"]


def test_extrapolations_are_labelled_and_never_negative() -> None:
    # The fit 21.2 + 19.1·log₁₀(M Mult-Adds) goes negative below 10^(−21.2/19.1) M ≈ 77,600 Mult-Adds.
    tiny, _, huge = sweep(MOBILENET, [0.01, 1.0], [32, 448]).columns["top1"][[0, 1, 3]].tolist()
    doc = json.loads(invoke("sweep", "-a", "0.01,1", "-R", "32,448", "-f", "json")[1])["points"]
    low, high = doc[0], doc[3]
    assert low["mult_adds"] < 77_600 and low["top1"] == 0.0 == tiny
    assert "extrapolated" in low["top1_source"] and "clamped" in low["top1_source"]
    # 1.0 MobileNet-448: 4 × 568.7 M ≈ 2,275 M, past the fitted 14–569 M: 21.2 + 19.1·log₁₀(2275) ≈ 85.3
    assert high["mult_adds"] > 569e6 and 84 < high["top1"] < 87 and high["top1"] == round(huge, 2)
    assert "extrapolated" in high["top1_source"] and "clamped" not in high["top1_source"]


# --- 3. bounded grids; --best streams ----------------------------------------------------------------------


@pytest.mark.parametrize(("args", "needle"), [
    (["--alpha", "0.0000001:1:0.0000001", "--resolution", "1:10000000:1"], "--format csv -o"),
    (["--alpha", "0.01:1:0.0001", "--resolution", "100:200:1", "-f", "json"], "--format csv -o"),
    (["--alpha", "0.1:inf:0.1"], "finite"),
    (["--alpha", "1e400"], "alpha must be > 0 and at most 1,000,000,000"),
    (["--alpha", "1e-400"], "alpha must be > 0"),
    (["--alpha", "0.5:1e10:1e9"], "alpha must be > 0 and at most 1,000,000,000"),
    (["--alpha", "0.1:1:1e-999999999"], "at most 10,000,000"),
    (["--alpha", "1", "--resolution", "1:9000000:1", "-f", "csv"], "layer placements"),
])
def test_grid_limits(no_evaluation, args: list[str], needle: str) -> None:
    code, _, err = invoke("sweep", *args)
    one_line_error(code, err, needle)


@pytest.mark.parametrize("objectives", [None, ("accuracy", "mult_adds", "peak_activation"), ("capacity", "params")])
@pytest.mark.parametrize("budgets", [Budgets(), Budgets(mult_adds=150e6, params=1.5e6), Budgets(mult_adds=1e3)])
def test_streamed_best_equals_the_best_of_the_whole_grid(budgets: Budgets, objectives: tuple[str, ...] | None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import mobcost.explore.grid as grid

    alphas, sizes = [0.25, 0.5, 0.6, 0.75, 1.0], list(range(96, 257, 16))
    whole = sweep(MOBILENET, alphas, sizes, budgets=budgets, objectives=objectives)
    monkeypatch.setattr(grid, "CHUNK_POINTS", 7)  # many chunks: the running best and front cross chunk borders
    streamed = stream_best(MOBILENET, alphas, sizes, budgets=budgets, objectives=objectives)
    c = whole.columns
    counts = (len(whole), int(c["fits"].sum()), int(c["pareto"].sum()))
    assert (streamed.points, streamed.fits, streamed.pareto) == counts
    i = whole.best()
    if i is None:
        assert streamed.best is None
        return
    best = streamed.best.columns
    for key in ("alpha", "resolution", "mult_adds", "top1", "fits", "pareto"):
        assert best[key][0] == c[key][i], key


def test_best_without_accuracy_is_the_largest_that_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    import mobcost.explore.grid as grid

    vgg = load_spec(SPECS / "vgg16.yaml")
    monkeypatch.setattr(grid, "CHUNK_POINTS", 3)
    # no accuracy for VGG16: the most Mult-Adds, which grow with α and with the size: α = 1 at 224
    streamed = stream_best(vgg, [0.5, 0.75, 1.0], [160, 192, 224])
    assert streamed.best is not None and streamed.plan.objectives == ("capacity", "params")
    assert (streamed.best.columns["alpha"][0], streamed.best.columns["resolution"][0]) == (1.0, 224)
    # VGG16 at α = 0.5 (channels 32…256, fc 2048) and 224 px: the 13 convolutions give
    # 224²·(27·32 + 9·32·32) + 112²·(9·32·64 + 9·64·64) + 56²·(9·64·128 + 2·9·128·128)
    # + 28²·(9·128·256 + 2·9·256·256) + 14²·(3·9·256·256) = 3,858,333,696, fc6–fc8 7·7·256·2048 + 2048·2048
    # + 2048·1000 = 31,932,416: 3,890,266,112. α = 0.75 at 160 px is already (3/2)²·(160/224)² ≈ 1.15 times
    # the convolutions, past 4·10⁹: under 4·10⁹ Mult-Adds only α = 0.5 fits, its largest at 224.
    capped = stream_best(vgg, [0.5, 0.75, 1.0], [160, 192, 224], budgets=Budgets(mult_adds=4e9))
    assert capped.best is not None
    assert (capped.best.columns["alpha"][0], capped.best.columns["resolution"][0]) == (0.5, 224)
    assert int(capped.best.columns["mult_adds"][0]) == 3_890_266_112


def test_best_does_not_hold_the_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    import mobcost.explore.grid as grid

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("--best held every column in memory")

    monkeypatch.setattr(grid, "sweep", refuse)
    code, out, err = invoke("sweep", "--best", "-a", "0.25:1:0.25", "-R", "128:224:32", "-f", "json")
    assert code == 0, err
    assert json.loads(out)["points"][0]["top1"] == 70.9  # 1.0 MobileNet-224, TF-Slim


# --- 4. points valid where the spec is not (at its own size, at α = 1) -----------------------------------


def test_spec_invalid_at_its_own_size(write_spec) -> None:
    # A 3×3 convolution without padding cannot take the spec's own 2×2 input, but takes 4×4 and 6×6.
    path = write_spec("input: {channels: 3, size: 2}\nlayers:\n  - {type: conv, out: 8, kernel: 3, padding: 0}\n")
    code, out, err = invoke("sweep", str(path), "-a", "0.5,1", "-R", "2,4,6", "-f", "json")
    assert code == 0, err
    got = {(p["alpha"], p["resolution"]): p["mult_adds"] for p in json.loads(out)["points"]}
    # 3·3·3·N·(R−2)²: N = 4 at α=0.5, 8 at α=1; resolution 2 is left out
    assert got == {(0.5, 4): 27 * 4 * 4, (0.5, 6): 27 * 4 * 16, (1.0, 4): 27 * 8 * 4, (1.0, 6): 27 * 8 * 16}


def test_spec_invalid_at_alpha_one(write_spec) -> None:
    # 12 channels cannot be split into 8 groups (α = 1); at α = 0.6667, ⌊0.6667·12⌋ = 8 and ⌊0.6667·24⌋ = 16 can.
    path = write_spec("input: {channels: 3, size: 8}\nlayers:\n  - {type: conv, out: 12, kernel: 1}\n"
                      "  - {type: conv, out: 24, kernel: 1, groups: 8}\n")
    result = sweep(parse_spec(Path(path).read_text()), [0.5, 0.6667, 1.0], [8])
    # 3·8·64 = 1,536 + (8/8)·16·64 = 1,024 → 2,560
    assert result.columns["alpha"].tolist() == [0.6667] and result.columns["mult_adds"].tolist() == [2560]
    assert len(result.factors.dropped) == 2 and all("groups" in d for d in result.factors.dropped)


def test_many_invalid_values_are_counted_not_listed(write_spec) -> None:
    path = write_spec("input: {channels: 3, size: 64}\nlayers:\n  - {type: conv, out: 8, kernel: 33, padding: 0}\n")
    r = sweep(parse_spec(Path(path).read_text()), [1.0], list(range(1, 65)))
    # sizes 1–32 are smaller than the 33×33 kernel: 4 named, then "and 28 more"
    assert len(r) == 32 and len(r.factors.dropped) == 5 and r.factors.dropped[-1] == "and 28 more"
    assert np.all(r.columns["resolution"] >= 33)


def test_fingerprint_sees_every_key() -> None:
    # A pw written `expand: 2` instead of `out: 64` after a 32-channel conv has the same shapes at α = 1
    # (32·2 = 64) but another width rule under α: another architecture, so another fingerprint.
    from mobcost.explore.accuracy import fingerprint
    from mobcost.graph import build
    from mobcost.spec import parse_spec

    head = "input: {channels: 3, size: 32}\nlayers:\n  - {type: conv, out: 32}\n"
    out, expand = parse_spec(head + "  - {type: pw, out: 64}\n"), parse_spec(head + "  - {type: pw, expand: 2}\n")
    assert build(out).nodes[1].output == build(expand).nodes[1].output  # same shapes at α = 1
    assert fingerprint(build(out)) != fingerprint(build(expand))
    renamed = parse_spec("name: other\n" + head + "  - {type: pw, out: 64, name: p}\n")
    assert fingerprint(build(renamed)) == fingerprint(build(out))  # names are not the architecture


@pytest.mark.parametrize("fmt", ["csv", "json", "markdown"])
def test_points_without_a_valid_network_are_said_in_every_format(tmp_path: Path, fmt: str) -> None:
    # α 0.75 thins 8 channels to 6, which GroupNorm's 4 groups do not divide: the grid's 3 α give 2 points
    spec = tmp_path / "g.yaml"
    spec.write_text("input: {channels: 3, size: 32}\nlayers:\n  - {type: conv, out: 8}\n  - {type: gn, groups: 4}\n",
                    encoding="utf-8")
    result = CliRunner().invoke(app, ["sweep", str(spec), "--alpha", "0.5:1:0.25", "-R", "32", "-f", fmt])
    assert result.exit_code == 0, result.output
    assert "α 0.75" in result.stderr and "groups=4" in result.stderr
    if fmt == "json":
        doc = json.loads(result.stdout)
        assert [p["alpha"] for p in doc["points"]] == [0.5, 1.0] and len(doc["left_out"]) == 1
