"""Every `mobcost` example in the README runs, in order, from an empty folder: exit 0, and what the README
shows of its output is what it prints — the lines of a console block, and the exact figures a comment
promises (``# 56,510,400 Mult-Adds``). Set-up lines (pip, pytest, benchmarks) are CI's own job."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FIGURE = re.compile(r"\d{1,3}(?:,\d{3})+")  # an exact count as the README writes it: 56,510,400


def examples() -> list[tuple[str, list[str]]]:
    """(command, the output lines a console block shows after it) for every mobcost command in a code block."""
    found = []
    for lang, body in re.findall(r"```(\w*)\n(.*?)```", README, re.S):
        lines = re.sub(r"\\\n\s*", "", body).splitlines()  # a command continued with \ is one line
        for i, line in enumerate(lines):
            text = line.strip()
            if lang == "console" and text.startswith("$ mobcost "):
                shown = []
                for after in lines[i + 1:]:
                    if after.startswith("$ "):
                        break
                    shown.append(after.rstrip())
                found.append((text[2:], shown))
            elif lang in ("sh", "bash") and text.startswith("mobcost "):
                found.append((text, []))
    return found


def run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    line, _, _ = command.partition("#")
    env = {**os.environ, "COLUMNS": "120", "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(cwd / "cache"),
           "XDG_CONFIG_HOME": str(cwd / "config")}
    argv = [sys.executable, "-m", "mobcost", *shlex.split(line)[1:]]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_the_readme_has_examples() -> None:
    commands = [c for c, _ in examples()]
    assert "mobcost table --alpha 0.75 --rho 0.714" in commands and len(commands) >= 8


@pytest.mark.slow
def test_every_readme_example_runs_and_shows_what_it_says(tmp_path: Path) -> None:
    pytest.importorskip("torch")  # one example imports a torch module
    for command, shown in examples():
        done = run(command, tmp_path)
        assert done.returncode == 0, f"{command}\n{done.stderr}"
        printed = [line.rstrip() for line in (done.stdout + done.stderr).splitlines()]
        for line in shown:
            if line.strip() and "…" not in line:
                assert line in printed, f"{command}: the README shows {line!r}"
        comment = command.partition("#")[2]
        for figure in FIGURE.findall(comment):
            assert figure in done.stdout + done.stderr, f"{command}: the README promises {figure}"
