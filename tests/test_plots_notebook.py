"""Plots render to every format atomically; the design-space notebook runs top to bottom."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobcost.cli import app

from .conftest import ROOT

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
