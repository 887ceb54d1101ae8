"""Issue 20's newcomer defects in the views: each test fails on the defect it names. Expected figures come
from arithmetic in the comments (MobileNetV1 at α = 1, 224×224, as Table 1 lists it), never from mobcost."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from mobcost.analysis import analyze
from mobcost.cli import app
from mobcost.report.energy import energy_text
from mobcost.report.table import analysis_frame
from mobcost.spec import load_bundled


def invoke(*args: str, width: int = 100) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.stderr + result.stdout
    return result.stdout


# --- 3. --bn-in-params: the BN count is inside the params, not added to them ----------------------------------


def test_bn_in_params_caption_says_including() -> None:
    # A BN after each of the 27 convs, γ and β per output channel: 2 · (32 + 32 + 64 + 64 + 4·128 + 4·256 + 12·512
    # + 3·1024) = 2 · 10,944 = 21,888; Table 1's 4,210,088 params + 21,888 = 4,231,976
    text = " ".join(invoke("table", "--bn-in-params", "-s", "types", width=200).split())
    assert "4,231,976 params (including 21,888 BN)" in text
    assert "(+21,888 BN)" not in text
    plain = " ".join(invoke("table", "-s", "types", width=200).split())
    assert "4,210,088 params (+21,888 BN)" in plain  # without the option, BN is beside the params


# --- 12. --no-first-layer leaves the whole first layer out, memory access included ----------------------------


def test_no_first_layer_leaves_its_memory_access_out() -> None:
    full = json.loads(invoke("table", "-f", "json"))
    skip = json.loads(invoke("table", "-f", "json", "--no-first-layer"))
    # conv1 (3×3×3×32, stride 2 on 224×224×3): input 3·224² = 150,528, output 32·112² = 401,408, weights 864;
    # 150,528 + 401,408 + 864 = 552,800 elements leave with it
    assert full["totals"]["memory_access"] - skip["totals"]["memory_access"] == 552_800
    assert skip["layers"][0]["memory_access"] == 0
    assert skip["totals"]["memory_access_bytes"] == 4 * skip["totals"]["memory_access"]


# --- 7. `paper 3 --convention`: Table 3's Mult-Adds are recounted too --------------------------------------------


def test_paper_table3_is_recounted_under_a_convention() -> None:
    rows = json.loads(invoke("paper", "3", "-C", "flops", "-f", "json"))["rows"]
    flops = {r["row"]: r["convention_value"] for r in rows if r["metric"] == "mult_adds"}
    # Table 3's layer, D_K = 3, M = N = 512, D_F = 14, at 2 FLOPs per multiply-add (millions):
    # full conv 3·3·512·512·14² = 462,422,016; separable 3·3·512·14² + 512²·14² = 52,283,392;
    # α = 0.75 (M = N = 384) 3·3·384·14² + 384²·14² = 29,578,752; ρ = 0.714 (D_F = 10) 3·3·384·10² + 384²·10²
    # = 15,091,200
    assert flops == {"Convolution": 924.844032, "Depthwise Separable Conv": 104.566784, "α = 0.75": 59.157504,
                     "ρ = 0.714": 30.1824}
    assert all(r["convention_value"] is None for r in rows if r["metric"] == "params")
    assert "924.84 M" in invoke("paper", "3", "-C", "flops", width=200)  # the rich column is no longer empty


# --- 8. sweep's Energy footnote leaves with its column; --by type with --section layers -------------------------


def test_sweep_energy_footnote_goes_with_its_column() -> None:
    narrow = invoke("sweep", "-H", "cortex_m7", width=80)  # a pipe: 80 columns, the Energy column dropped
    assert "Energy" not in narrow and "active power" not in narrow  # neither the column nor its footnote
    wide = invoke("sweep", "-H", "cortex_m7", width=200)  # room for it: the column and its footnote
    header = next(line for line in wide.splitlines() if "Mult-Adds" in line)
    assert "Energy" in header and "active power" in wide
    best = invoke("sweep", "-H", "cortex_m7", "--best", width=200)  # --best rewrites the first caption line only
    assert "active power" in best and "1 shown" in best


def test_by_type_with_section_layers_shows_the_per_type_table() -> None:
    by_type = invoke("table", "--by", "type", "-s", "layers")
    assert by_type == invoke("table", "--by", "type", "-s", "types")
    assert "Resource per layer type" in by_type and "pw3" not in by_type  # no per-layer rows
    both = invoke("table", "--by", "type", "-s", "layers", "-s", "shrink")
    assert "Resource per layer type" in both and "Table 3" in both and "pw3" not in both


# --- 6. counts are integers, every energy of a column has its significant figures --------------------------------


def test_small_counts_are_integers_in_the_rich_view(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text("name: tiny\ninput: {channels: 8, size: 8}\nlayers:\n  - {type: dw, kernel: 3}\n", encoding="utf-8")
    text = invoke("table", str(spec), "-s", "layers", width=200)
    row = next(line for line in text.splitlines() if "Conv dw" in line or "Conv DW" in line)
    # a 3×3 depthwise conv on 8 channels: 3·3·8 = 72 weights; 8×8 output: 72·64 = 4,608 Mult-Adds
    assert " 72 " in f"{row} " and "72.0" not in row and "4.61 k" in row


def test_energy_keeps_its_significant_figures() -> None:
    # 0.9996 µJ to 3 significant figures is 1.00 (beside 1.04, never "1"); 0.5 is 0.500 (beside 0.512)
    assert energy_text(0.9996) == "1.00 µJ" and energy_text(0.5) == "0.500 µJ" and energy_text(1.0) == "1.00 µJ"


def test_frame_integer_columns_with_gaps_stay_integers() -> None:
    frame = analysis_frame(analyze(load_bundled("googlenet")))  # concat rows have no kernel, stride or groups
    assert str(frame["kernel"].dtype) == "Int64" and frame["kernel"].iloc[0] == 7  # conv1/7x7_s2
    assert "7.0" not in frame[["kernel", "stride", "groups"]].to_string()


# --- 5. LaTeX: one label per table, numbers as a page prints them -------------------------------------------------


def test_latex_labels_are_unique_per_table() -> None:
    assert "\\label{tab:mobilenetv1-layers}" in invoke("table", "-f", "latex")
    assert "\\label{tab:mobilenetv1-types}" in invoke("table", "-f", "latex", "--by", "type")


def test_latex_numbers_are_fixed_precision() -> None:
    tex = invoke("paper", "-f", "latex")
    # Table 2, Conv 1×1: 539,492,352 / 568,740,352 = 94.857407…%, shown at the printed 2 decimals + 2
    assert "94.8574" in tex and "94.857407" not in tex
    assert not re.search(r"\d[eE][-+]?\d", tex)  # no scientific notation (the FC's Δ was 4.7e-05)
    types = invoke("table", "-f", "latex", "--by", "type")
    # shares at 2 decimals on every row: the avg pool's 0 Mult-Adds are 0.00 %, the totals 100.00 %
    avg = next(line for line in types.splitlines() if line.startswith("Avg Pool"))
    total = next(line for line in types.splitlines() if line.startswith("Total"))
    assert " 0.00 & " in avg and " 100.00 & " in total and " 94.86 & " in types


# --- 15. markdown is a document: the rich view's headers, thousands separators ------------------------------------


def test_markdown_has_human_headers_and_separators() -> None:
    md = invoke("table", "-f", "markdown")
    header = md.splitlines()[2]
    assert "Mult-Adds" in header and "Memory (fp32, bytes)" in header
    assert "in_c" not in md and "memory_access_bytes" not in md
    total = next(line for line in md.splitlines() if line.startswith("| Total"))
    assert "568,740,352" in total and "4,210,088" in total  # Table 1's totals
    csv_header = invoke("table", "-f", "csv").splitlines()[0]  # csv stays tidy: raw names, plain numbers
    assert "memory_access_bytes" in csv_header and "in_c" in csv_header


def test_document_headers_are_for_people_in_every_view() -> None:
    # issue 20, item 15: markdown and LaTeX headers read "Memory access (B)", never the tidy key; CSV keeps keys
    from typer.testing import CliRunner

    from mobcost.cli import app
    from mobcost.report.text import header_text

    assert [header_text(c) for c in ("memory_access_bytes", "alpha", "latency_ms", "energy_uj", "Type")] == [
        "Memory access (B)", "α", "Latency (ms)", "Energy (µJ)", "Type"]
    for args in (["sweep", "--alpha", "0.5:1:0.5", "--resolution", "128:224:96"], ["specs"],
                 ["latency", "-H", "rpi4"]):
        markdown = CliRunner().invoke(app, [*args, "-f", "markdown"]).stdout
        header = markdown.splitlines()[0]
        assert "Mult-Adds" in header and "mult_adds" not in header and "_" not in header, (args, header)
        csv_header = CliRunner().invoke(app, [*args, "-f", "csv"]).stdout.splitlines()[0]
        assert "mult_adds" in csv_header, args  # tidy keys stay in CSV
