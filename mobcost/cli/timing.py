"""Shared by `latency` and `plot`: the host's profile (calibrating on first use) and timed networks, each
with a progress bar while torch works."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..graph import Graph, build
from ..spec import Spec
from ..units import plural
from .common import progress_bar

if TYPE_CHECKING:
    from ..explore.hardware import Hardware
    from ..pytorch.timing import Measurement


def latency_grid(s: Spec, hw: Any, threads: int, with_measure: bool, use_cache: bool = True) -> dict[str, Any]:
    """The paper's 16 models: predicted totals, and measured ones (interleaved rounds) when asked."""
    from ..analysis.paper import GRID_ALPHAS, GRID_RESOLUTIONS
    from ..explore.hardware import predict_layers
    from ..report.latency import grid_dict

    graphs = [build(s, a, resolution=r) for a in GRID_ALPHAS for r in GRID_RESOLUTIONS]
    if not with_measure:
        return grid_dict([(g.alpha, g.resolution, sum(predict_layers(g, hw)), None) for g in graphs], hw, threads)
    from ..pytorch import require_torch

    require_torch()
    from ..pytorch.timing import MEASURE_ROUNDS, compare_grid

    with progress_bar(MEASURE_ROUNDS * len(graphs), f"timing the 16 models ({MEASURE_ROUNDS} interleaved rounds)",
                      enabled=True) as advance:
        rows = compare_grid(graphs, hw, threads, use_cache=use_cache, progress=advance)
    return grid_dict([(c.alpha, c.resolution, c.predicted_total_s, c.measured.total_s) for c in rows], hw, threads)


def timed(graph: Graph, threads: int, *, use_cache: bool = True) -> Measurement:
    """One network's measurement (cached), with a progress bar while it runs."""
    from ..pytorch.cache import cache_has
    from ..pytorch.timing import MEASURE_ROUNDS, measure

    fresh = not (use_cache and cache_has(graph, threads))
    label = f"timing {graph.spec.name} on {plural(threads, 'thread')} ({MEASURE_ROUNDS} rounds)"
    with progress_bar(MEASURE_ROUNDS, label, enabled=fresh) as advance:
        return measure(graph, threads, use_cache=use_cache, progress=advance)


def host_hardware(threads: int) -> Hardware:
    """This host's profile, calibrating first (with a progress bar) when there is none."""
    from ..pytorch.calibrate import CALIBRATION_STEPS, host_profile, host_profile_path

    missing = not host_profile_path(threads).exists()
    with progress_bar(CALIBRATION_STEPS, "no profile of this host yet: calibrating", enabled=missing) as advance:
        return host_profile(threads, advance)

