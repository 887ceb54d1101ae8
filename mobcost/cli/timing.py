"""Shared by `latency` and `plot`: the host's profile (calibrating on first use) and timed networks, each
with a progress bar while torch works. Every check that can fail fast (spec, points, profile, cache and
config folders) runs before anything slow: calibration takes ~25 s, timing the 16 models ~40 s."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ..graph import Graph, build
from ..spec import Spec
from ..units import plural
from .common import progress_bar

if TYPE_CHECKING:
    from ..explore.hardware import Hardware
    from ..pytorch.timing import Measurement


def interactive() -> bool:
    """Progress bars only on a terminal: on a pipe or a file they add stray lines around the output and errors."""
    return sys.stderr.isatty()


def grid_graphs(s: Spec) -> list[Graph]:
    """The paper's 16 α × resolution models of ``s`` (built now, so an invalid one is reported up front)."""
    from ..analysis.paper import GRID_ALPHAS, GRID_RESOLUTIONS

    return [build(s, a, resolution=r) for a in GRID_ALPHAS for r in GRID_RESOLUTIONS]


def latency_grid(graphs: list[Graph], hw: Any, threads: int, with_measure: bool,
                 use_cache: bool = True) -> dict[str, Any]:
    """Predicted totals of ``graphs``, and measured ones (interleaved rounds) only when asked."""
    from ..explore.hardware import predict_layers
    from ..report.latency import grid_dict

    if not with_measure:
        return grid_dict([(g.alpha, g.resolution, sum(predict_layers(g, hw)), None) for g in graphs], hw, threads)
    from ..pytorch.timing import MEASURE_ROUNDS, compare_grid

    with progress_bar(MEASURE_ROUNDS * len(graphs), f"timing the {len(graphs)} models ({MEASURE_ROUNDS} "
                      "interleaved rounds)", enabled=interactive()) as advance:
        rows = compare_grid(graphs, hw, threads, use_cache=use_cache, progress=advance)
    return grid_dict([(c.alpha, c.resolution, c.predicted_total_s, c.measured.total_s) for c in rows], hw, threads)


def prepare_measure() -> None:
    """Before anything slow: torch is installed and the measurement cache can be kept."""
    from ..pytorch import require_torch

    require_torch()
    from ..pytorch.cache import check_cache

    check_cache()


def timed(graph: Graph, threads: int, *, use_cache: bool = True) -> Measurement:
    """One network's measurement (cached), with a progress bar while it runs."""
    from ..pytorch.cache import cache_has
    from ..pytorch.timing import MEASURE_ROUNDS, measure

    fresh = not (use_cache and cache_has(graph, threads))
    label = f"timing {graph.spec.name} on {plural(threads, 'thread')} ({MEASURE_ROUNDS} rounds)"
    with progress_bar(MEASURE_ROUNDS, label, enabled=fresh and interactive()) as advance:
        return measure(graph, threads, use_cache=use_cache, progress=advance)


def predictor(hardware: str | None, threads: int) -> Hardware:
    """The profile predictions use: ``hardware`` (a name or file), else this host's — calibrated first when
    there is none (its folder checked before calibrating)."""
    from ..explore.hardware import load_hardware

    if hardware is not None:
        return load_hardware(hardware)
    from ..pytorch import require_torch

    require_torch()
    return host_hardware(threads)


def host_hardware(threads: int) -> Hardware:
    """This host's profile, calibrating first (with a progress bar) when there is none."""
    from ..pytorch.calibrate import CALIBRATION_STEPS, check_profile_path, host_profile, host_profile_path

    path = host_profile_path(threads)
    missing = not path.exists()
    if missing:
        check_profile_path(path)
    label = "no profile of this host yet: calibrating"
    with progress_bar(CALIBRATION_STEPS, label, enabled=missing and interactive()) as advance:
        return host_profile(threads, advance)
