"""Trust in what mobcost writes: names from specs and profiles are shown as text in every format (never run as
LaTeX, rich markup, a spreadsheet formula or a terminal escape), every table reads at 80 columns and in a
pipe, gaps are blank, an output path is written only if it is what it seems, and every failure — a bad
argument, a full disk, a closed pipe, a kill — ends in one line (or none) without a traceback or a stray file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mobcost.cli import app
from mobcost.cli.common import error_line
from mobcost.errors import OptionError, SpecError
from mobcost.files import write_atomic
from mobcost.report.formats import Format, clean, csv_cell, json_text, latex_text, markdown_cell, records_text
from mobcost.report.terminal import FitTable, plain_text

from .conftest import SPECS

PDFLATEX = shutil.which("pdflatex")
ESC = "\x1b"
# Characters that must never reach a terminal from data: ESC, CSI (C1), bidi override and isolate, BEL.
FORBIDDEN = [ESC, "\x9b", "\u202e", "\u2066", "\x07"]


def hostile_spec(folder: Path, secret: Path) -> Path:
    """A valid spec whose names try every trick: LaTeX commands, rich markup, formulas, escapes, bidi."""
    path = folder / "hostile.yaml"
    path.write_text(
        "name: \"Net_%&#$ [link=https://x]x[/] \\e[31mred\\u202e {} ~^\"\n"
        "input: {channels: 3, size: 32}\n"
        "layers:\n"
        f"  - {{type: conv, out: 8, kernel: 3, stride: 2, name: '\\input{{{secret.with_suffix('')}}}'}}\n"
        "  - {type: pw, out: 16, name: '=HYPERLINK(\"http://x\",\"y\")'}\n"
        "  - {type: pw, out: 16, name: '[/]'}\n"
        "  - {type: pw, out: 16, name: \"\\e]8;;http://x\\e\\\\[bold]b\\x9b2J\"}\n"
        "  - {type: avgpool, name: '-2+3'}\n"
        "  - {type: fc, out: 10, name: '@SUM(1)_%&#'}\n",
        encoding="utf-8")
    return path


def hostile_profile(folder: Path) -> Path:
    text = (SPECS / "hardware" / "rpi4.yaml").read_text(encoding="utf-8")
    path = folder / "hostile_hw.yaml"
    name = 'name: "[/]Pi \\e[2J[link=x]\\u202e_%&"'
    path.write_text(re.sub(r"(?m)^name: .*$", lambda m: name, text), encoding="utf-8")
    return path


@pytest.fixture
def hostile(tmp_path: Path) -> dict[str, Path]:
    secret = tmp_path / "secret.tex"
    secret.write_text("\\typeout{MOBCOST-SECRET-READ}SECRET\n", encoding="utf-8")
    return {"spec": hostile_spec(tmp_path, secret), "hw": hostile_profile(tmp_path), "secret": secret}


def run(*args: str, columns: int = 100) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str, columns: int = 100) -> str:
    code, out, err = run(*args, columns=columns)
    assert code == 0, err + out
    return out


# --- 1. LaTeX: escaped, compiles, fits ---------------------------------------------------------


def test_latex_text_escapes_every_special_character() -> None:
    assert latex_text(r"\input{/etc/hostname}") == r"\textbackslash{}input\{/etc/hostname\}"
    assert latex_text("a_b%c&d#e$f~g^h") == r"a\_b\%c\&d\#e\$f\textasciitilde{}g\textasciicircum{}h"
    assert latex_text("[x]*<|>") == r"{[}x{]}{*}\textless{}\textbar{}\textgreater{}"
    assert latex_text("--alpha") == "-{}-alpha"  # never an en dash
    assert latex_text("α=0.75 · 224×224") == r"$\alpha$=0.75 $\cdot$ 224$\times$224"
    assert latex_text("\x1b[31m\u202e") == "{[}31m"
    assert latex_text("漢😀") == "??" and latex_text("é") == "é" and latex_text("ﬁ") == "fi"


def latex_commands(hostile: dict[str, Path]) -> list[list[str]]:
    spec, hw = str(hostile["spec"]), str(hostile["hw"])
    commands = [["table", spec], ["table", spec, "--by", "type"], ["table", "googlenet"], ["specs"], ["paper"],
                ["sweep", spec, "--alpha", "0.5,1", "--resolution", "32,64", "-H", hw],
                ["sweep", "--alpha", "0.25:1:0.25", "--resolution", "128:224:32"], ["latency", spec, "-H", hw],
                ["latency", "-H", "rpi4", "--grid"]]
    if shutil.which("python") and _has_torch():
        commands.append(["check", "table3_separable"])
    return commands


def _has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("fvcore") is not None


def compile_latex(folder: Path, body: str, preamble: str) -> str:
    (folder / "body.tex").write_text(body, encoding="utf-8")
    (folder / "doc.tex").write_text(f"\\documentclass{{article}}\n{preamble}\n\\begin{{document}}\n"
                                    "\\input{body}\n\\end{document}\n", encoding="utf-8")
    proc = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "doc.tex"],
                          cwd=folder, capture_output=True, text=True, timeout=120)
    log = (folder / "doc.log").read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == 0, log[-3000:]
    return log


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed (Debian: texlive-latex-base "
                    "texlive-latex-recommended)")
@pytest.mark.slow
def test_latex_from_every_command_compiles_and_fits(hostile: dict[str, Path], tmp_path: Path) -> None:
    for args in latex_commands(hostile):
        body = ok(*args, "--format", "latex")
        assert "\\input{" not in body.replace("\\input{body}", "")
        # As it is (no package) and as recommended: both compile; nothing from the secret file is read.
        for preamble in ("", "\\usepackage{booktabs,graphicx}"):
            log = compile_latex(tmp_path, body, preamble)
            assert "MOBCOST-SECRET-READ" not in log, args
        # With graphicx, every table fits the text width and every float the page.
        overfull = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
        assert not [x for x in overfull if x > 1.0], (args, overfull)
        assert "Float too large" not in log, args


def test_latex_table_is_split_across_floats_and_context_moves_to_caption() -> None:
    records = [{"network": "N", "alpha": 1.0, "name": f"l{i}", "mult_adds": i} for i in range(85)]
    tex = records_text(records, Format.latex, title="T")
    assert tex.count("\\begin{table}") == 3  # 40 + 40 + 5 rows
    # the shared columns move to the caption under their document headers (network → Network, alpha → α)
    assert "T (Network: N; $\\alpha$: 1.0)" in tex and "T (Network: N; $\\alpha$: 1.0) (continued)" in tex
    assert "Network &" not in tex and "Name & Mult-Adds" in tex
    assert tex.count("\\clearpage") == 2  # between floats: one pending at a time


@pytest.mark.slow
@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex not installed")
def test_latex_of_a_long_sweep_compiles(tmp_path: Path) -> None:
    # 901 × 13 points: 293 floats, past what LaTeX can hold unprocessed without a \clearpage between them
    body = ok("sweep", "--alpha", "0.1:1:0.001", "--resolution", "128:224:8", "--format", "latex")
    log = compile_latex(tmp_path, body, "\\usepackage{booktabs,graphicx}")
    # a float per page, each at most 40 lines: ⌈11,713 / 40⌉ = 293 floats at least (more where the Top-1 source
    # wraps onto several lines)
    floats = body.count("\\begin{table}")
    assert floats >= 293 and f"({floats} pages" in log


# --- 2. rich: markup and control characters are text ------------------------------------------


def test_clean_drops_controls_and_bidi() -> None:
    assert clean("a\x1b[31mb\x9bc\u202ed\u2066e\x07f\u200bg") == "a[31mbcdefg"
    assert clean("tab\there\nnl") == "tab here nl" and clean("x\ny", newlines=True) == "x\ny"
    assert clean("plain α×ρ") == "plain α×ρ"


def test_every_rich_view_shows_hostile_names_as_text(hostile: dict[str, Path]) -> None:
    spec, hw = str(hostile["spec"]), str(hostile["hw"])
    for args in (["table", spec], ["table", spec, "--by", "type"], ["latency", spec, "-H", hw],
                 ["sweep", spec, "--alpha", "0.5,1", "--resolution", "32,64", "-H", hw]):
        for columns in (80, 200):
            out = ok(*args, columns=columns)
            assert not [c for c in FORBIDDEN if c in out], (args, out)
            assert "[/]" in out  # shown, not parsed as a closing tag (MarkupError before)
    assert "[link=https://x]x[/]" in ok("table", spec, "--section", "layers", columns=200)
    assert "[/]Pi" in ok("latency", spec, "-H", hw, columns=200)


def test_safe_console_and_fit_table_drop_controls_from_text_objects() -> None:
    from rich.text import Text

    table = FitTable({"title": "t\x1b[2J"})
    table.add_column("name")
    table.add_row(Text("a\x1b]8;;x\x07b"))
    out = plain_text(table, Text("n\u202eote"), "[bold]x[/] :warning:", width=80)
    assert not [c for c in FORBIDDEN if c in out]
    assert "[bold]x[/] :warning:" in out and "note" in out and "a]8;;xb" in out


def test_error_lines_are_one_clean_line(hostile: dict[str, Path], tmp_path: Path) -> None:
    line = error_line(SpecError("unknown layer '\x1b[31m[/]\u202e'", file="f\x1b.yaml", line=3, where="x"))
    assert line == "mobcost: error: f.yaml:3: x: unknown layer '[31m[/]'"
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: {channels: 3, size: 32}\nlayers:\n  - {type: pw, out: 8, from: \"\\e[2J[/]\\u202e\"}\n")
    code, _, err = run("table", str(bad))
    assert code == 2 and err.count("\n") == 1 and err.startswith("mobcost: error: ")
    assert not [c for c in FORBIDDEN if c in err] and "Traceback" not in err


@pytest.mark.parametrize(("where", "flag"), [("alpha", "--alpha"), ("rho", "--rho"), ("resolution", "--resolution"),
                                             ("classes", "--classes"), ("--output", "--output"),
                                             ("layers[0].out", "layers[0].out")])
def test_library_parameter_names_become_flags(where: str, flag: str) -> None:
    assert error_line(OptionError("bad", where=where)) == f"mobcost: error: {flag}: bad"
    # a place inside a spec file is never renamed
    assert error_line(SpecError("bad", file="s.yaml", where="alpha")) == "mobcost: error: s.yaml: alpha: bad"


# --- 3. CSV: formula injection -----------------------------------------------------------------


def test_csv_cells_never_start_a_formula() -> None:
    for text in ("=1+1", "+1+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "  =1"):
        assert csv_cell(text).lstrip('"').startswith("'"), text
    assert csv_cell(-1) == "-1" and csv_cell(-0.5) == "-0.5"
    assert csv_cell("-1") == "-1" and csv_cell("+2.5e3") == "+2.5e3"  # text that is just a number
    assert csv_cell("a,b") == '"a,b"' and csv_cell('=a"b') == '"\'=a""b"'
    assert csv_cell(None) == "" and csv_cell(float("nan")) == "" and csv_cell(True) == "True"


def test_csv_from_a_hostile_spec(hostile: dict[str, Path]) -> None:
    lines = ok("table", str(hostile["spec"]), "--format", "csv").splitlines()
    names = [line.split(",")[4] for line in lines[1:]]
    assert "'=HYPERLINK(\"\"http://x\"\"" in lines[2]  # quoted field, formula neutralised
    assert "'-2+3" in names and "'@SUM(1)_%&#" in names
    assert not [c for c in FORBIDDEN if c in "".join(lines)]


# --- 4. --output: only what it seems --------------------------------------------------------------


def test_output_refuses_links_read_only_files_and_special_files(tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("precious")
    (tmp_path / "link.txt").symlink_to(target)
    (tmp_path / "hard.txt").hardlink_to(target)
    ro = tmp_path / "ro.txt"
    ro.write_text("read-only")
    ro.chmod(0o444)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    cases = {"link.txt": "symbolic link", "hard.txt": "hard link", "ro.txt": "read-only", "sock": "socket",
             ".": "directory"}
    try:
        for name, needle in cases.items():
            code, _, err = run("table", "--format", "json", "--output", str(tmp_path / name))
            assert code == 2 and needle in err and err.count("\n") == 1, (name, err)
    finally:
        sock.close()
    assert target.read_text() == "precious" and ro.read_text() == "read-only"
    assert (tmp_path / "link.txt").is_symlink() and os.stat(target).st_nlink == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.txt", "link.txt", "ro.txt", "sock", "target.txt"]


def device(folder: Path, name: str, major: int, minor: int) -> Path:
    """A character device of our own (never the system's /dev: a regression must not clobber those)."""
    path = folder / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    except (PermissionError, AttributeError):
        pytest.skip("cannot create device nodes here (needs CAP_MKNOD)")
    return path


def test_output_writes_straight_to_devices_and_fifos(tmp_path: Path) -> None:
    null, full = device(tmp_path, "null", 1, 3), device(tmp_path, "full", 1, 7)
    before = os.stat(null)
    assert run("table", "--format", "json", "--output", str(null))[0] == 0
    after = os.lstat(null)
    assert stat.S_ISCHR(after.st_mode) and (before.st_ino, before.st_rdev) == (after.st_ino, after.st_rdev)
    code, _, err = run("table", "--output", str(full))
    assert code == 2 and "No space left on device" in err
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code, _, err = run("table", "--output", str(fifo))  # nobody reads it: an error, not a wait
    assert code == 2 and "no process is reading" in err
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    time.sleep(0.2)
    assert run("table", "--format", "json", "--output", str(fifo))[0] == 0
    assert json.loads(reader.communicate(timeout=10)[0])["totals"]["mult_adds"] == 568_740_352
    # a symbolic link to a stream (as /dev/stdout is, to a pipe here) is written through; the link stays
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    proc = subprocess.run([sys.executable, "-m", "mobcost", "table", "-f", "json", "-o", str(link)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout)["totals"]["params"] == 4_210_088
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "full", "null", "stdout"]


def test_output_replaces_a_regular_file_keeping_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old")
    path.chmod(0o640)
    write_atomic(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o640
    long_name = tmp_path / ("n" * 250)  # the temporary name must not pass NAME_MAX either
    write_atomic(long_name, "x")
    assert long_name.read_text() == "x" and len(list(tmp_path.iterdir())) == 2


def sweep_process(out: Path) -> subprocess.Popen[bytes]:
    # ~3 million points: several seconds of streaming, enough to be killed midway
    # The sweep keeps a signal its parent ignores ignored (SIGHUP under nohup, as a tool should): start it with
    # the default handlers, so the test does not depend on how the test run itself was started.
    return subprocess.Popen([sys.executable, "-m", "mobcost", "sweep", "-f", "csv", "--alpha", "0.001:1:0.001",
                             "--resolution", "32:3031:1", "-o", str(out)], cwd=out.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_default_signals)


def _default_signals() -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)


@pytest.mark.slow  # three child processes, each streaming a sweep until it is killed
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_killed_streamed_sweep_leaves_no_temporary_file(tmp_path: Path, sig: int) -> None:
    out = tmp_path / "x.csv"
    out.write_text("old")
    proc = sweep_process(out)
    deadline = time.monotonic() + 30
    while not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp") and p.stat().st_size > 0]:
        assert time.monotonic() < deadline and proc.poll() is None, "the sweep never started writing"
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert b"Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"] and out.read_text() == "old"


# --- 5. gaps: blank, and integers stay integers ---------------------------------------------------


def test_gaps_are_blank_in_every_tabular_format(hostile: dict[str, Path]) -> None:
    commands = [["table"], ["table", "googlenet"], ["table", "--by", "type"], ["specs"], ["paper"],
                ["sweep", "--alpha", "0.5,1", "--resolution", "128,160"], ["latency", "-H", "rpi4"],
                ["latency", "-H", "rpi4", "--grid"]]
    for args in commands:
        for fmt in ("csv", "markdown", "latex"):
            text = ok(*args, "--format", fmt)
            assert not re.search(r"\b(nan|NaN|<NA>|None|inf)\b", text), (args, fmt)
    md = ok("table", "--format", "markdown")
    total = next(line for line in md.splitlines() if line.startswith("| Total"))
    # the rich view's columns (Name, Type / Stride, Filter Shape, Input Size, Mult-Adds, …): no total for the texts
    assert [c.strip() for c in total.strip("|").split("|")][:5] == ["Total", "", "", "", "568,740,352"]


def test_integer_columns_with_gaps_stay_integers() -> None:
    lines = ok("table", "googlenet", "--format", "csv").splitlines()
    header = lines[0].split(",")
    kernel = header.index("kernel")
    rows = [line.split(",") for line in lines[1:] if "inception" not in line.split(",")[4] or True]
    conv1 = next(r for r in rows if r[4] == "conv1/7x7_s2")
    assert conv1[kernel] == "7"  # was 7.0: a concat row (no kernel) made pandas upcast the column
    assert not [r for r in rows if re.fullmatch(r"\d+\.0", r[kernel])]
    text = records_text([{"a": 1, "b": None}, {"a": None, "b": 2}], Format.csv)
    assert text == "a,b\n1,\n,2\n"
    md = records_text([{"a": 1, "b": None}, {"a": None, "b": 2.5}], Format.markdown)
    assert "nan" not in md and "| 1 |" in md.replace("   ", " ").replace("  ", " ")


def test_json_never_holds_nan_or_infinity_and_escapes_controls() -> None:
    text = json_text({"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5], "c": "x\u202ey\x9b"})
    assert json.loads(text) == {"a": None, "b": [None, None, 1.5], "c": "x\u202ey\x9b"}  # lossless
    assert "\u202e" not in text and "\x9b" not in text and "NaN" not in text and "Infinity" not in text


def test_markdown_cells_cannot_break_the_table() -> None:
    assert markdown_cell("a|b") == "a\\|b" and markdown_cell("[x](http://y)") == "\\[x\\](http://y)"
    assert markdown_cell("<img src=x>") == "&lt;img src=x&gt;" and markdown_cell("a\nb") == "a b"


# --- 6. standard output that fails ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rich", "json", "csv", "latex"])
def test_full_disk_on_stdout_is_one_line(fmt: str) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "mobcost", "table", "--format", fmt], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == "mobcost: error: standard output: No space left on device\n"


@pytest.mark.parametrize("args", [["table"], ["paper"], ["sweep", "-f", "csv", "--alpha", "0.01:1:0.01",
                                                          "--resolution", "32:1024:1"]])
def test_closed_pipe_ends_quietly(args: list[str]) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "mobcost", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read() if proc.stderr else b""
    proc.wait(timeout=60)
    assert err == b"" and proc.returncode == 141


# --- 7. argument-parsing errors ---------------------------------------------------------------


# (arguments, mobcost's own start of the line, what the rest must name). Past the start, the words of a
# rejected value are click's (its to change in any release): only the value they must name is checked.
@pytest.mark.parametrize(("args", "start", "names"), [
    (["table", "--format", "xml"], "mobcost: error: --format: ", "xml"),
    (["latency", "--threads", "99"], "mobcost: error: --threads: ", "99"),
    (["table", "--resolution", "1e400"], "mobcost: error: --resolution: ", "1e400"),
    (["validate"], "mobcost: error: SPEC: missing argument", ""),
    (["table", "--alpha"], "mobcost: error: --alpha: needs a value", ""),
    (["table", "--alpha", "wide"], "mobcost: error: --alpha: ", "wide"),
    (["export", "--runtime", "torch"], "mobcost: error: --runtime: ", "torch"),
    (["table", "--bogus"], "mobcost: error: --bogus: no such option", ""),
    (["tabel"], "mobcost: error: ", "tabel"),
    (["plot", "nope"], "mobcost: error: KIND: ", "nope"),
])
def test_argument_errors_are_one_line(args: list[str], start: str, names: str) -> None:
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert err.startswith(start) and names in err[len(start):] and err.count("\n") == 1 and "╭" not in err, err


def test_help_keeps_its_rich_boxes() -> None:
    code, out, _ = run("table", "--help")
    assert code == 0 and "Usage: " in out and " table [OPTIONS]" in out and "╭─ Options" in out


# --- 8. 80 columns and pipes ---------------------------------------------------------------------


def lines_fit(text: str, width: int) -> bool:
    return all(len(line.rstrip()) <= width for line in text.splitlines())


def test_table_reads_at_80_columns() -> None:
    out = ok("table", "--alpha", "0.75", columns=80)
    assert lines_fit(out, 80)
    # conv1 at α=0.75: 3×3×3×24 on 224 → 112: 3·3·3·24·112² = 8,128,512 Mult-Adds, 648 params — whole cells
    row = next(line for line in out.splitlines() if line.lstrip().startswith("conv1"))
    for cell in ("Conv / s2", "3×3×3×24", "224×224×3", "8.13 M", "648"):
        assert cell in row, row
    # 0.75·1024 = 768 channels into the 1000-way classifier: 768·1000 + 1000 = 769,000 params
    fc = next(line for line in out.splitlines() if line.lstrip().startswith("fc29"))
    assert "769 k" in fc and "768×1000" in fc
    types = ok("table", "--by", "type", "--dtype", "fp16", columns=80)
    assert lines_fit(types, 80) and "Fully Connected" in types


def test_specs_names_are_never_cut() -> None:
    for columns in (80, 60):
        out = ok("specs", columns=columns)
        assert lines_fit(out, columns) and "…" not in out
        for name in ("shallow_mobilenet", "table3_separable", "squeezenet1_0", "mobilenet_v2"):
            assert name in out, (columns, out)


def test_every_command_reads_at_80_columns_and_in_a_pipe(hostile: dict[str, Path]) -> None:
    commands = [["table", "googlenet"], ["table", "mobilenet_v2", "--section", "layers"], ["paper"],
                ["sweep", "--alpha", "0.25:1:0.25", "--resolution", "128:224:32", "-H", "rpi4"],
                ["latency", "-H", "rpi4"], ["latency", "-H", "rpi4", "--grid"], ["table", str(hostile["spec"])]]
    for args in commands:
        out = ok(*args, columns=80)
        assert lines_fit(out, 80) and "…" not in out, (args, out)
    # a real pipe, no COLUMNS: rich's 80 columns
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.run([sys.executable, "-m", "mobcost", "table"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0 and lines_fit(proc.stdout, 80) and "10.8 M" in proc.stdout


def test_fit_table_drops_ranked_columns_and_never_splits_whole_cells() -> None:
    table = FitTable({"title": "t"})
    table.add_column("Name", whole=False)
    table.add_column("Mult-Adds", justify="right")
    table.add_column("Spare", drop=1)
    for i in range(3):
        table.add_row(f"layer-with-a-long-name-{i}", "4,867,293,184", "x" * 30)
    wide = plain_text(table, width=120)
    assert "Spare" in wide and "4,867,293,184" in wide
    narrow = plain_text(table, width=40)
    assert "Spare" not in narrow and narrow.count("4,867,293,184") == 3 and lines_fit(narrow, 40)
    console = Console(width=80, file=__import__("io").StringIO(), record=True)
    console.print(table)
    assert console.export_text().count("4,867,293,184") == 3


@pytest.mark.slow  # torch cross-check: fvcore and FlopCounterMode at two points
@pytest.mark.skipif(not _has_torch(), reason="needs the torch extra")
def test_check_views_read_at_80_columns() -> None:
    from mobcost.report.check import check_table, points_table
    from mobcost.spec import load_bundled
    from mobcost.torchside.crosscheck import check_point

    spec = load_bundled("mobilenet_v1")
    points = [check_point(spec, alpha, res) for alpha, res in ((1.0, 224), (0.25, 128))]
    out = plain_text(points_table(points), width=80)
    assert lines_fit(out, 80) and "…" not in out
    # α=1 at 224: 568,740,352 Mult-Adds and 4,210,088 params (the paper's 569 M and 4.2 M), whole
    assert "568,740,352" in out and "4,210,088" in out
    layer = plain_text(check_table(points[0].report), width=80)  # type: ignore[arg-type]
    assert lines_fit(layer, 80) and "10,838,016" in layer  # conv1: 3·3·3·32·112² Mult-Adds
