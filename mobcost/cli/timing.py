"""Shared by `latency` and `plot`: the host's profile (calibrating on first use) and timed networks, each
with a progress bar while torch works. Every check that can fail fast (spec, points, profile, cache and
config folders) runs before anything slow: calibration takes ~30 s, timing the 16 models ~40 s."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ..graph import Graph, build
from ..spec import Spec
from ..units import plural
from .common import progress_bar

if TYPE_CHECKING:
    from ..explore.hardware import Hardware
    from ..measure.timing import Measurement


def interactive() -> bool:
    """Progress bars only on a terminal: on a pipe or a file they add stray lines around the output and errors."""
    return sys.stderr.isatty()


def grid_graphs(s: Spec) -> list[Graph]:
    """The paper's 16 α × resolution models of ``s`` (built now, so an invalid one is reported up front)."""
    from ..analysis.paper import GRID_ALPHAS, GRID_RESOLUTIONS

    return [build(s, a, resolution=r) for a in GRID_ALPHAS for r in GRID_RESOLUTIONS]


def latency_grid(graphs: list[Graph], hw: Any, threads: int, with_measure: bool,
                 use_cache: bool = True, runtime: str = "torch") -> dict[str, Any]:
    """Predicted totals of ``graphs``, and measured ones (interleaved rounds) only when asked."""
    from ..explore.energy import network_energy
    from ..explore.hardware import predict_layers
    from ..report.latency import grid_dict

    energies = [network_energy(g, hw).pj for g in graphs]
    if not with_measure:
        return grid_dict([(g.alpha, g.resolution, sum(predict_layers(g, hw)), None) for g in graphs], hw, threads,
                         runtime, energies)
    from ..measure.timing import MEASURE_ROUNDS, compare_grid
    from ..runtimes import runtime as runtime_named

    with progress_bar(MEASURE_ROUNDS * len(graphs), f"timing the {len(graphs)} models under {runtime} "
                      f"({MEASURE_ROUNDS} interleaved rounds)", enabled=interactive()) as advance:
        rows = compare_grid(graphs, hw, threads, runtime=runtime_named(runtime), use_cache=use_cache,
                            progress=advance)
    return grid_dict([(c.alpha, c.resolution, c.predicted_total_s, c.measured.total_s) for c in rows], hw, threads,
                     runtime, energies)


def require_runtime(runtime: str) -> None:
    """A one-line error now, before anything slow, when the runtime's packages are not installed."""
    from ..runtimes import runtime as runtime_named

    runtime_named(runtime).require()


def prepare_measure(runtime: str = "torch") -> None:
    """Before anything slow: the runtime is installed and the measurement cache can be kept."""
    require_runtime(runtime)
    from ..measure.cache import check_cache

    check_cache()


def timed(graph: Graph, threads: int, *, use_cache: bool = True, runtime: str = "torch") -> Measurement:
    """One network's measurement under ``runtime`` (cached), with a progress bar while it runs."""
    from ..measure.cache import cache_has
    from ..measure.timing import MEASURE_ROUNDS, measure
    from ..runtimes import runtime as runtime_named

    runner = runtime_named(runtime)
    fresh = not (use_cache and cache_has(graph, threads, runner))
    label = f"timing {graph.spec.name} under {runtime} on {plural(threads, 'thread')} ({MEASURE_ROUNDS} rounds)"
    with progress_bar(MEASURE_ROUNDS, label, enabled=fresh and interactive()) as advance:
        return measure(graph, threads, runtime=runner, use_cache=use_cache, progress=advance)


def predictor(hardware: str | None, threads: int, runtime: str = "torch") -> Hardware:
    """The profile predictions use: ``hardware`` (a name or file), else this host's for ``runtime`` —
    calibrated first when there is none (its folder checked before calibrating)."""
    from ..explore.hardware import load_hardware

    if hardware is not None:
        return load_hardware(hardware)
    require_runtime(runtime)
    return host_hardware(threads, runtime)


def host_hardware(threads: int, runtime: str = "torch") -> Hardware:
    """This host's profile for ``runtime``, calibrating first (with a progress bar) when there is none."""
    from ..measure.profiles import check_profile_path, host_profile_path
    from ..measure.schedule import CALIBRATION_STEPS
    from ..measure.timing import host_profile
    from ..runtimes import runtime as runtime_named

    path = host_profile_path(threads, runtime)
    missing = not path.exists()
    if missing:
        check_profile_path(path)
    label = f"no {runtime} profile of this host yet: calibrating"
    if missing:
        say_calibrating(label, runtime)
    with progress_bar(CALIBRATION_STEPS, label, enabled=missing and interactive()) as advance:
        return host_profile(threads, runtime_named(runtime), advance)


def say_calibrating(label: str, runtime: str) -> None:
    """Off a terminal there is no progress bar: one line says what the pause is (a log would show silence)."""
    if not interactive():
        from ..runtimes import runtime as runtime_named

        seconds = runtime_named(runtime).calibration_seconds
        print(f"mobcost: {label} (about {seconds} s)", file=sys.stderr, flush=True)


def warn_if_elsewhere(hw: Hardware, runtime: str) -> None:
    """Measurements beside a profile of another machine or runtime compare two different things: say so."""
    if hw.runtime != runtime:
        what = f"the {hw.runtime} runtime" if hw.runtime else "a datasheet profile"
        print(f"mobcost: warning: predicting with {hw.name!r} ({what}) beside measurements of this host under "
              f"{runtime}: measured/predicted compares two different machines or runtimes", file=sys.stderr)
