"""Cold-start wall time and peak memory of `mobcost table --alpha 0.75 --rho 0.714`, side by side with a
fresh-process fvcore count of the same network.

Each run is a fresh interpreter (as a user's shell would start it). The commands are timed in the same
rounds, one after the other, so a busy machine slows them alike: the JSON view, the rich view (its tables
drawn into a pipe) and a Python process that builds the same network in torch and counts it with fvcore
(needs the ``torch`` extra; left out when fvcore is missing). Prints each one's median and spread of wall
time over N runs, the peak resident memory, a bare interpreter's start for scale, and how many times faster
than fvcore the JSON view is. Not a test: timings belong here, not in the suite.

Bytecode is cached (in a private folder), as it is for a package pip installed; ``--no-bytecode`` measures
starts that compile mobcost's sources every time (a checkout run with PYTHONDONTWRITEBYTECODE set).
``--against DIR`` also times the mobcost source tree in DIR (say, ``git worktree add /tmp/old HEAD~1``) in
the same rounds: before and after, on the same machine at the same moment. ``--python PY`` also times this
source tree under another interpreter (say, another virtual environment's, with other releases of typer and
the rest), ``PY -m mobcost``, in the same rounds.

    python benchmarks/cold_start.py [N] [--no-bytecode] [--against DIR] [--python PY]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

COMMAND = ["table", "--alpha", "0.75", "--rho", "0.714"]
FVCORE_NAME = "fvcore, fresh process"
# The same network counted by fvcore: mobcost's torch build of MobileNet v1 at α=0.75, ρ=0.714 (160 px).
FVCORE = (
    "import torch\n"
    "from fvcore.nn import FlopCountAnalysis\n"
    "from mobcost import load_spec, to_torch\n"
    "model = to_torch(load_spec('mobilenet_v1'), 0.75, 0.714)\n"
    "counter = FlopCountAnalysis(model, torch.zeros(1, 3, 160, 160))\n"
    "counter.unsupported_ops_warnings(False)\n"
    "counter.uncalled_modules_warnings(False)\n"
    "print(counter.total())\n"
)

Run = tuple[list[str], dict[str, str]]


def timed(run: Run, cwd: str) -> tuple[float, int]:
    """Wall seconds of one run, and the largest resident set (KiB) of any child so far."""
    argv, env = run
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
    elapsed = time.perf_counter() - start
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def environment(cache: str | None, source: str | None = None) -> dict[str, str]:
    """The children's environment: bytecode written to ``cache`` (None: never written, so compiled at each
    start), and mobcost imported from ``source`` when given."""
    env = dict(os.environ)
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.abspath(source), env.get("PYTHONPATH")) if p)
    return env


def commands(cache: str | None, against: str | None, python: str | None = None) -> dict[str, Run]:
    exe = shutil.which("mobcost")
    mobcost = [exe] if exe else [sys.executable, "-m", "mobcost"]
    json_view, rich_view = [*mobcost, *COMMAND, "--format", "json"], [*mobcost, *COMMAND]
    env = environment(cache)
    out = {"table --format json": (json_view, env), "table (rich view)": (rich_view, env)}
    if against is not None:
        other = environment(cache, against)
        out |= {"DIR: table --format json": (json_view, other), "DIR: table (rich view)": (rich_view, other)}
    if python is not None:
        here = environment(cache, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        table = [python, "-m", "mobcost", *COMMAND]
        out |= {"PY: table --format json": ([*table, "--format", "json"], here), "PY: table (rich view)": (table, here)}
    if importlib.util.find_spec("fvcore") is not None:
        out[FVCORE_NAME] = ([sys.executable, "-c", FVCORE], env)
    return out


def summary(name: str, walls: list[float], baseline: float) -> str:
    walls = sorted(walls)
    median = statistics.median(walls)
    return (f"  {name:<24} median {median * 1000:6.0f} ms, min {walls[0] * 1000:6.0f} ms, "
            f"max {walls[-1] * 1000:6.0f} ms  ({median / baseline:.1f}× a bare start)")


def measure(runs: int, cache: str | None, against: str | None, cwd: str, python: str | None = None) -> None:
    """Warm up, then time every command once a round, ``runs`` rounds, and print the figures."""
    table = commands(cache, against, python)
    peak = 0
    for name, run in table.items():  # warm the OS file cache (and write the bytecode), as any second run would
        _, peak_kib = timed(run, cwd)
        if not name.startswith(("DIR", "PY", FVCORE_NAME)):  # the max RSS so far: read before the others run
            peak = peak_kib
    bare: Run = ([sys.executable, "-c", "pass"], environment(cache))
    baseline = statistics.median(timed(bare, cwd)[0] for _ in range(runs))
    walls: dict[str, list[float]] = {name: [] for name in table}
    for _ in range(runs):  # interleaved: each round runs every command once
        for name, run in table.items():
            walls[name].append(timed(run, cwd)[0])
    bytecode = "cached bytecode" if cache else "no bytecode: sources compiled at every start"
    print(f"mobcost {' '.join(COMMAND)}  ({runs} cold starts each, interleaved; {bytecode})")
    for name, times in walls.items():
        print(summary(name, times, baseline))
    print(f"  bare interpreter:        median {baseline * 1000:6.0f} ms")
    if FVCORE_NAME in walls:
        ratio = statistics.median(walls[FVCORE_NAME]) / statistics.median(walls["table --format json"])
        print(f"  table --format json is {ratio:.1f}× faster than fvcore")
    print(f"  peak memory of mobcost (max RSS of the table runs): {peak / 1024:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="?", type=int, default=20)
    parser.add_argument("--no-bytecode", action="store_true", help="compile mobcost's sources at every start")
    parser.add_argument("--against", metavar="DIR", help="also time the mobcost source tree in DIR")
    parser.add_argument("--python", metavar="PY", help="also time this source tree under the interpreter PY")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:  # the bytecode cache, and a folder that shadows no mobcost
        measure(args.runs, None if args.no_bytecode else tmp, args.against, tmp, args.python)


if __name__ == "__main__":
    main()
