"""Plots render to every format atomically; the design-space notebook runs top to bottom."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobcost.cli import app

from .conftest import ROOT

# Figures are drawn with matplotlib (about a second each): the full suite runs them, `-m "not slow"` does not.
pytestmark = pytest.mark.slow

MAGIC = {".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}


@pytest.mark.parametrize(("kind", "suffix"), [("accuracy-macs", ".png"), ("accuracy-params", ".svg"),
                                               ("budget", ".pdf"), ("pareto", ".png")])
def test_plot_kinds(tmp_path: Path, kind: str, suffix: str) -> None:
    out = tmp_path / f"{kind}{suffix}"
    args = ["plot", kind, "--output", str(out)]
    if kind == "budget":
        args += ["--alpha", "0.25:1.0:0.25", "--resolution", "128:224:32", "--max-latency-ms", "500"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().startswith(MAGIC[suffix]) and out.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_plot_errors_keep_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "fig.png"
    out.write_bytes(b"keep")
    result = CliRunner().invoke(app, ["plot", "budget", "--hardware", "nope", "--output", str(out)])
    assert result.exit_code == 2 and "no bundled hardware profile" in result.stderr
    assert out.read_bytes() == b"keep"
    result = CliRunner().invoke(app, ["plot", "pareto", "--output", str(tmp_path / "fig.gif")])
    assert result.exit_code == 2 and ".png, .svg or .pdf" in result.stderr


@pytest.mark.slow
def test_notebook_runs() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    path = ROOT / "notebooks" / "design_space.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "commit it without outputs"
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "568,740,352 Mult-Adds" in text and "fit the budgets" in text and "top1_source" in text
    # The map is shown inline: a PNG image among the outputs (not only "<Figure size …>" as text).
    images = [o["data"]["image/png"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert images and all(len(i) > 10_000 for i in images)


# --- issue 11: every plot honours its arguments or refuses them; figures show in Jupyter --------------------


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list:
    """The figures `mobcost plot` would save, kept instead of written."""
    from mobcost import plots

    figures: list = []
    monkeypatch.setattr(plots, "save", lambda fig, output: figures.append(fig))
    return figures


def texts(fig) -> str:
    ax = fig.axes[0]
    legend = ax.get_legend()
    return " | ".join([ax.get_title(), *([t.get_text() for t in legend.get_texts()] if legend else [])])


def test_accuracy_plots_need_the_mobilenet_architecture(captured: list, write_spec) -> None:
    result = CliRunner().invoke(app, ["plot", "accuracy-macs", "vgg16"])
    assert result.exit_code == 2 and "no published accuracy for 'VGG16'" in result.stderr
    assert result.stderr.count("\n") == 1 and not captured
    renamed = (ROOT / "specs" / "mobilenet_v1.yaml").read_text().replace("name: MobileNetV1", "name: Renamed")
    result = CliRunner().invoke(app, ["plot", "accuracy-params", str(write_spec(renamed))])
    assert result.exit_code == 0, result.stderr
    assert "Renamed" in texts(captured[0])


def test_pareto_places_the_spec(captured: list, write_spec) -> None:
    tiny = write_spec("name: Tiny\ninput: {channels: 3, size: 32}\nlayers:\n  - {type: conv, out: 8, stride: 2}\n"
                      "  - {type: avgpool}\n  - {type: fc, out: 10, scale: false}\n")
    for args in (["plot", "pareto"], ["plot", "pareto", str(tiny)], ["plot", "pareto", "googlenet"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.stderr
    default, with_tiny, with_googlenet = (texts(f) for f in captured)
    assert "Tiny" not in default and "Tiny: this spec" in with_tiny and "no published top-1" in with_tiny
    # GoogLeNet's architecture has a published top-1 (the paper's Table 8): starred at it
    assert "GoogLeNet: this spec (Howard et al. 2017, Table 8)" in with_googlenet


def test_latency_plot_is_titled_by_its_spec(captured: list, monkeypatch: pytest.MonkeyPatch) -> None:
    from mobcost.cli import plot as plot_cli
    from mobcost.explore.hardware import load_hardware

    # No timing here: the measurement side is replaced by fixed figures (10% over the prediction).
    monkeypatch.setattr(plot_cli, "prepare_measure", lambda runtime="torch": None)
    monkeypatch.setattr(plot_cli, "predictor",
                        lambda hardware, threads, runtime="torch": load_hardware(hardware or "rpi4"))

    def fake_grid(graphs, hw, threads, with_measure, use_cache=True, runtime="torch"):
        points = [{"alpha": g.alpha, "resolution": g.resolution, "predicted_ms": 10.0 + i,
                   "measured_ms": 11.0 + 1.1 * i} for i, g in enumerate(graphs)]
        return {"points": points, "spearman": 1.0, "median_ape": 0.1}

    monkeypatch.setattr(plot_cli, "latency_grid", fake_grid)
    result = CliRunner().invoke(app, ["plot", "latency", "vgg16", "-H", "pixel1"])
    assert result.exit_code == 0, result.stderr
    title = captured[0].axes[0].get_title()
    assert title.startswith("VGG16, 16 models") and "Pixel 1" in title and "MobileNetV1" not in title
    assert "torch, 1 thread" in captured[0].axes[0].get_ylabel()
    # the measured axis names the runtime that ran (issue 20, newcomer item 1: it said "torch" for every one)
    result = CliRunner().invoke(app, ["plot", "latency", "-H", "pixel1", "--runtime", "onnxruntime"])
    assert result.exit_code == 0, result.stderr
    label = captured[1].axes[0].get_ylabel()
    assert "onnxruntime, 1 thread" in label and "torch" not in label, label


@pytest.mark.parametrize(("args", "needle"), [
    (["plot", "pareto", "--alpha", "0.5"], "plot pareto does not use --alpha"),
    (["plot", "accuracy-macs", "--hardware", "rpi4"], "does not use --hardware"),
    (["plot", "budget", "--threads", "1"], "does not use --threads"),
    (["plot", "latency", "--max-mult-adds", "1M"], "does not use --max-mult-adds"),
    (["plot", "time-share", "--alpha", "0.5,1"], "time-share draws one network"),
    (["plot", "budget", "--alpha", "0.1:1:0.00001"], "budget map"),
])
def test_plot_options_are_used_or_refused(captured: list, args: list[str], needle: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and needle in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_plots_leave_the_backend_alone() -> None:
    import os
    import subprocess
    import sys

    # Importing mobcost.plots used to force Agg, so a notebook never showed a figure.
    code = "import mobcost.plots, matplotlib; print(matplotlib.get_backend())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "MPLBACKEND": "svg"})
    assert done.stdout.strip() == "svg", done.stderr
    from mobcost.plots import pareto_figure

    assert pareto_figure()._repr_png_().startswith(MAGIC[".png"])  # Jupyter's inline display


def test_time_share_leaves_out_measurements_of_another_machine(captured: list,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """issue 20, newcomer item 10: x86 torch timings were drawn beside Cortex-M7 predictions under one title."""
    from mobcost.cli import plot as plot_cli

    def timing(*_: object, **__: object) -> None:
        raise AssertionError("this host was timed for another machine's plot")

    monkeypatch.setattr(plot_cli, "prepare_measure", timing)
    monkeypatch.setattr(plot_cli, "timed", timing)
    result = CliRunner().invoke(app, ["plot", "time-share", "-H", "cortex_m7"])
    assert result.exit_code == 0, result.stderr
    note, wrote = result.stderr.splitlines()
    assert note.startswith("mobcost: note: measured time left out: the profile is another machine"), note
    assert "Cortex-M7" in note and wrote.startswith("wrote")
    ax = captured[0].axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Mult-Adds", "predicted time"]
    assert "predicted on Cortex-M7 (int8)" in ax.get_title() and "measured time left out" in ax.get_title()


# --- issue 20, newcomer items 11 and 13: the budget map reads clearly, and any grid draws --------------------

STROKES = {"/": "/", "\\": "\\", "|": "|", "-": "-", "x": "/\\", "X": "/\\", "+": "|-", "o": "o", "O": "O",
           ".": ".", "*": "*"}


def strokes(hatch: str) -> frozenset[str]:
    return frozenset("".join(STROKES[ch] for ch in hatch))


def test_budget_map_reads_clearly(captured: list) -> None:
    result = CliRunner().invoke(app, ["plot", "budget", "--alpha", "0.25:1:0.125", "--resolution", "128:224:16",
                                      "--max-latency-ms", "400", "--max-mult-adds", "300M", "--max-energy-uj", "1e9"])
    assert result.exit_code == 0, result.stderr
    fig = captured[0]
    ax = fig.axes[0]
    legend = fig.legends[0] if fig.legends else ax.get_legend()
    entries = dict(zip([t.get_text() for t in legend.get_texts()], legend.legend_handles, strict=True))
    # a budget no point is over has no region: said so, not listed as if hatched somewhere
    assert "energy budget (1e+09 µJ): met everywhere (no region)" in entries
    assert not any(label.startswith("over energy") for label in entries)
    # no budget's hatch looks like two others overlaid (latency's "xx" was "//" over "\\\\")
    hatches = [h.get_hatch() for label, h in entries.items() if label.startswith("over ")]
    assert len(hatches) == 4, entries
    for i, hatch in enumerate(hatches):
        others = [strokes(h) for j, h in enumerate(hatches) if j != i]
        assert all(strokes(hatch) != a | b for a in others for b in others if a != b), hatches
    # the best design's star is drawn whole at the map's edge, not clipped by it
    star = next(c for c in ax.collections if c.get_label().startswith("best feasible"))
    assert not star.get_clip_on()
    # the iso-line labels sit above the hatching, on a box
    labels = [t for t in ax.texts if t.get_text().endswith(" ms")]
    hatched = [c for c in ax.collections if any(getattr(c, "hatches", None) or [])]
    assert labels and hatched and all(t.get_bbox_patch() is not None for t in labels)
    assert min(t.get_zorder() for t in labels) > max(c.get_zorder() for c in hatched)
    assert fig._repr_png_().startswith(MAGIC[".png"])


@pytest.mark.parametrize(("alpha", "resolution", "points"), [("0.5", "128", 1), ("0.5", "96:256:32", 6),
                                                             ("0.25:1:0.25", "160", 4)])
def test_budget_map_of_one_row_or_column(tmp_path: Path, alpha: str, resolution: str, points: int) -> None:
    """A 1×1, 1×N or N×1 grid ended in a matplotlib traceback (contours need 2×2): its points are drawn."""
    out = tmp_path / "budget.png"
    result = CliRunner().invoke(app, ["plot", "budget", "--alpha", alpha, "--resolution", resolution,
                                      "--max-latency-ms", "150", "-o", str(out)])
    assert result.exit_code == 0 and result.stderr == f"wrote {out}\n", result.output
    assert out.read_bytes().startswith(MAGIC[".png"])
    from mobcost import plots
    from mobcost.explore.budgets import Budgets
    from mobcost.explore.hardware import load_hardware
    from mobcost.explore.ranges import grid_axes
    from mobcost.spec import load_bundled

    fig = plots.budget_figure(load_bundled("mobilenet_v1"), load_hardware("cortex_m7"),
                              *grid_axes(alpha, resolution), Budgets(latency_ms=150))
    ax = fig.axes[0]
    assert len(ax.collections[0].get_offsets()) == points  # one marker per design, coloured by its latency
    assert any(c.get_hatch() == "||" for c in ax.collections)  # the latency budget's hatch on those over it
    values = [t.get_text() for t in ax.texts]
    assert len(values) == points and all(v.endswith(" ms") for v in values)
