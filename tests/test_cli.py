"""The CLI through typer's CliRunner: JSON contract, golden views, output files, module entry point."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command_name
from typer.testing import CliRunner

from mobcost.cli import app
from mobcost.cli.common import COMMANDS
from mobcost.spec.schema import spec_schema

from .conftest import ROOT

LAYER_KEYS = ["name", "type", "kernel", "stride", "groups", "input", "output", "mult_adds", "params",
              "memory_access"]


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.stderr + result.stdout
    return result.stdout


def test_json_contract() -> None:
    doc = json.loads(invoke("table", "--alpha", "0.75", "--rho", "0.714", "--format", "json"))
    assert list(doc)[:4] == ["network", "alpha", "rho", "resolution"]
    assert (doc["network"], doc["alpha"], doc["rho"], doc["resolution"]) == ("MobileNetV1", 0.75, 0.714, 160)
    assert all(list(layer)[: len(LAYER_KEYS)] == LAYER_KEYS for layer in doc["layers"])
    totals = doc["totals"]
    assert (totals["mult_adds"], totals["params"]) == (166_396_800, 2_569_144)
    assert {"mult_adds", "params", "memory_access", "bn_params"} <= set(totals)
    # 0.75 MobileNet's first layer: 3×3×3×24 on 160 → 80: 3·3·3·24·80·80 = 4,147,200
    first = doc["layers"][0]
    assert (first["input"], first["output"], first["mult_adds"]) == ([3, 160, 160], [24, 80, 80], 4_147_200)


def test_by_type_json() -> None:
    doc = json.loads(invoke("table", "--by", "type", "--format", "json"))
    top = doc["types"][0]
    assert (top["type"], top["layers"], round(top["mult_adds_pct"], 2)) == ("Conv 1×1", 13, 94.86)


def test_dtype_bytes() -> None:
    doc = json.loads(invoke("table", "--format", "json", "--dtype", "fp16"))
    t = doc["totals"]
    assert t["weight_bytes"] == 2 * t["params"] and t["memory_access_bytes"] == 2 * t["memory_access"]
    assert "MB moved" in invoke("table", "--dtype", "int8")


def test_golden_views(golden) -> None:
    golden("table_rich.txt", invoke("table", "--alpha", "0.75", "--rho", "0.714"))
    golden("table_by_type_rich.txt", invoke("table", "--by", "type", "--dtype", "fp32"))
    golden("table.csv", invoke("table", "--alpha", "0.5", "--resolution", "160", "--format", "csv"))
    golden("table.json", invoke("table", "--alpha", "0.25", "--resolution", "128", "--format", "json"))


def test_csv_is_tidy() -> None:
    lines = invoke("table", "--format", "csv").splitlines()
    header = lines[0].split(",")
    assert header[:4] == ["network", "alpha", "rho", "resolution"]
    assert len(lines) == 1 + 29  # one row per layer, no totals row
    mult_adds = header.index("mult_adds")
    assert sum(int(line.split(",")[mult_adds]) for line in lines[1:]) == 568_740_352


def test_markdown_and_latex() -> None:
    md = invoke("table", "--format", "markdown", "--by", "type")
    assert "| Conv 1×1" in md and "| Total" in md and "568,740,352" in md  # a document: separators
    tex = invoke("table", "--format", "latex")
    assert r"\begin{tabular}" in tex and "Total" in tex and r"\alpha" in tex


def test_output_file_is_written(tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    out.write_text("old")
    result = CliRunner().invoke(app, ["table", "--format", "json", "--output", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text())["totals"]["mult_adds"] == 568_740_352
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]  # no temporary file left behind
    rich_out = tmp_path / "t.txt"
    CliRunner().invoke(app, ["table", "--output", str(rich_out)])
    assert "\x1b[" not in rich_out.read_text() and "MobileNetV1" in rich_out.read_text()


def test_specs_listing() -> None:
    doc = json.loads(invoke("specs", "--format", "json"))
    names = {s["name"]: s for s in doc["specs"]}
    assert names["mobilenet_v1"]["mult_adds"] == 568_740_352
    assert "mobilenet_v1" in invoke("specs")


def test_validate_ok() -> None:
    assert invoke("validate", "mobilenet_v1").startswith("ok: ")


def test_schema_matches_docs_copy() -> None:
    assert json.loads(invoke("schema")) == spec_schema()
    assert json.loads((ROOT / "docs" / "spec.schema.json").read_text()) == spec_schema(), (
        "docs/spec.schema.json is stale: mobcost schema -o docs/spec.schema.json")


def test_help_reads_well() -> None:
    text = invoke("table", "--help")
    for option in ("--alpha", "--rho", "--resolution", "--format", "--by", "--dtype", "--output"):
        assert option in text


def test_module_entry_point_and_light_imports(tmp_path: Path) -> None:
    # `python -m mobcost` works from another folder, and the closed-form path imports nothing heavy.
    code = ("import runpy, sys; sys.argv = ['mobcost', 'table', '--format', 'json']\n"
            "try:\n    runpy.run_module('mobcost', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "heavy = ('torch', 'fvcore', 'matplotlib', 'pandas', 'numpy', 'onnx', 'onnxruntime', 'ai_edge_litert',"
            " 'litert_torch')\n"
            "heavy = [m for m in heavy if m in sys.modules]\n"
            "print('HEAVY', heavy, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["params"] == 4_210_088
    assert "HEAVY []" in proc.stderr


def test_convention_options() -> None:
    base = json.loads(invoke("table", "--format", "json"))["totals"]
    assert base["flops"] == 2 * base["mult_adds"]
    # Without the first conv: 568,740,352 − 3·3·3·32·112² (10,838,016) = 557,902,336; params − 864
    skip = json.loads(invoke("table", "--format", "json", "--no-first-layer"))["totals"]
    assert (skip["mult_adds"], skip["params"]) == (557_902_336, 4_210_088 - 864)
    # Without the FC bias: − 1000 params; with BN γ, β: + 21,888
    assert json.loads(invoke("table", "-f", "json", "--no-fc-bias"))["totals"]["params"] == 4_209_088
    assert json.loads(invoke("table", "-f", "json", "--bn-in-params"))["totals"]["params"] == 4_210_088 + 21_888
    # 1001 classes: + 1024 weights + 1 bias
    assert json.loads(invoke("table", "-f", "json", "--classes", "1001"))["totals"]["params"] == 4_211_113


def test_commands_are_listed_in_workflow_order() -> None:
    # `mobcost --help` lists commands in COMMANDS' order: the package layout must not reshuffle them.
    assert list(COMMANDS) == ["table", "specs", "validate", "paper", "sweep", "plot", "calibrate", "latency", "check",
                              "explain", "memory", "import", "export", "schema"]


def test_every_lazy_command_is_its_module_own() -> None:
    # COMMANDS is kept by hand beside the modules: each name is registered by the module it names, and its
    # one-line help is the first paragraph of that command's docstring, as typer would show it.
    for name, (module, help_line) in COMMANDS.items():
        importlib.import_module(f"mobcost.cli.{module}")
        info = [c for c in app.registered_commands if (c.name or get_command_name(c.callback.__name__)) == name]
        assert len(info) == 1 and info[0].callback.__module__ == f"mobcost.cli.{module}", name  # type: ignore[union-attr]
        assert inspect.getdoc(info[0].callback).split("\n\n")[0] == help_line, name  # type: ignore[union-attr]
    assert len(app.registered_commands) == len(COMMANDS)


LAZY_PROBE = """
import sys
from mobcost.cli import app
try:
    app(sys.argv[1:], prog_name="mobcost", standalone_mode=False)
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_modules(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``mobcost ARGS`` (standard output left aside)."""
    proc = subprocess.run([sys.executable, "-c", LAZY_PROBE, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "100"})
    assert proc.returncode == 0, proc.stderr
    return set(proc.stderr.split())


def test_a_command_imports_only_what_it_uses() -> None:
    # Laziness is a correctness property here (which modules load), not a timing: speed is benchmarks/' job.
    others = {f"mobcost.cli.{module}" for module, _ in COMMANDS.values()} - {"mobcost.cli.table"}
    unused = {"mobcost.explore.hardware", "mobcost.explore.energy", "mobcost.measure", "mobcost.runtimes",
              "mobcost.torchside", "mobcost.plots",
              "mobcost.importers", "rich", "typer.rich_utils", "matplotlib", "pandas", "numpy", "torch", "onnx",
              "pydantic"}  # typer 0.29+ checks values with pydantic unless mobcost's PlainValue does
    loaded = loaded_modules("table", "--alpha", "0.75", "--rho", "0.714", "--format", "json")
    assert "mobcost.cli.table" in loaded and "mobcost.report.table" in loaded
    assert not loaded & (others | unused), sorted(loaded & (others | unused))
    # The group's help lists every command without importing one.
    assert not {m for m in loaded_modules("--help") if m.startswith("mobcost.cli.")} - {"mobcost.cli.common",
                                                                                       "mobcost.cli.values"}


def test_lazy_help_equals_the_eager_help() -> None:
    # `mobcost --help` from the lazy group is byte for byte the help of the group built from every module.
    probe = ("import importlib, io, contextlib\nfrom mobcost.cli import app\nfrom mobcost.cli.common import COMMANDS\n"
             "def helped():\n    out = io.StringIO()\n    with contextlib.redirect_stdout(out):\n"
             "        try:\n            app(['--help'], prog_name='mobcost', standalone_mode=False)\n"
             "        except SystemExit:\n            pass\n    return out.getvalue()\n"
             "lazy = helped()\nfor module, _ in COMMANDS.values():\n"
             "    importlib.import_module('mobcost.cli.' + module)\n"
             "assert lazy == helped(), (lazy, helped())\nprint(lazy)\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "100"})
    assert proc.returncode == 0, proc.stderr
    assert all(name in proc.stdout for name in COMMANDS)


def test_multiplier_help_says_above_one_works() -> None:
    # issue 20, newcomer item 4: the help said "(0, 1]" for ρ (and α) where values above 1 are accepted
    for command in ("table", "latency", "explain", "export", "validate", "check"):
        text = " ".join(invoke(command, "--help").split())
        assert "(0, 1]" not in text, command
        assert "α > 0" in text and "ρ > 0" in text, command
    widened = json.loads(invoke("table", "--alpha", "1.4", "--rho", "1.5", "-f", "json"))
    assert (widened["alpha"], widened["resolution"]) == (1.4, 336)


# --- issue 20, newcomer item 9: errors name the flag, help offers only what runs, every listing can be saved ---


def test_explain_errors_name_the_flag() -> None:
    for flag in ("--from", "--to"):
        result = CliRunner().invoke(app, ["explain", flag, "nonsense"])
        assert result.exit_code == 2 and result.stderr.startswith(f"mobcost: error: {flag}: no convention"), \
            result.stderr


def test_export_offers_only_runtimes_with_a_model_file() -> None:
    text = " ".join(invoke("export", "--help").split())
    assert "<onnxruntime|litert>" in text and "torch|" not in text
    result = CliRunner().invoke(app, ["export", "--runtime", "torch"])
    assert result.exit_code == 2 and "--runtime: 'torch' is not one of 'onnxruntime', 'litert'" in result.stderr


def test_specs_writes_to_output(tmp_path: Path) -> None:
    out = tmp_path / "specs.json"
    result = CliRunner().invoke(app, ["specs", "-f", "json", "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == "" and "wrote" in result.stderr, result.output
    assert "mobilenet_v1" in [s["name"] for s in json.loads(out.read_text())["specs"]]
    text = tmp_path / "specs.txt"
    assert CliRunner().invoke(app, ["specs", "--output", str(text)]).exit_code == 0
    assert "Bundled specs" in text.read_text()
    # the same rules as every --output: a missing folder, a folder, or a bundled spec it reads is one line
    bundled = ROOT / "specs" / "mobilenet_v1.yaml"
    before = bundled.read_bytes()
    for target, needle in ((tmp_path / "no" / "x.txt", "does not exist"), (tmp_path, "is a directory"),
                           (bundled, "is a bundled spec")):
        result = CliRunner().invoke(app, ["specs", "-o", str(target)])
        assert result.exit_code == 2 and needle in result.stderr and len(result.stderr.splitlines()) == 1
    assert bundled.read_bytes() == before


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown", "latex"])
def test_section_outside_the_rich_view_is_an_error_not_ignored(fmt: str) -> None:
    result = CliRunner().invoke(app, ["table", "--section", "types", "--format", fmt])
    assert result.exit_code == 2
    assert "--section" in result.output and "--by type" in result.output and "Traceback" not in result.output
