"""Measured latency on this CPU under a runtime: whole networks and each layer, and a calibrated profile of
the host.

Warm-up, then the runtime's summary of all runs (the median; ORT: a quiet mean, as its calibration) over
several interleaved rounds, fixed threads, the process settled by the runtime (``Runtime.prepare``); results
are cached per (spec, α, resolution, threads, the runtime's versions) in :mod:`.cache`. Calibration takes the
same statistic over rounds spread in time too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import MobcostError
from ..explore.hardware import Hardware, load_hardware, predict_layers
from ..graph import Graph
from .cache import cache_key, open_cache, store, valid_entry
from .profiles import check_profile_path, host_profile_path, profile_doc, save_profile
from .runtime import Runtime, Subject
from .schedule import CALIBRATION_ROUNDS, run_seconds


@dataclass(frozen=True)
class Measurement:
    total_s: float  # the whole forward pass, median
    layers_s: list[float]  # each layer, median over profiled runs; empty when the runtime cannot time layers


MEASURE_ROUNDS = 5


def measure(graph: Graph, threads: int, *, runtime: Runtime, use_cache: bool = True,
            progress: Callable[[int], None] | None = None) -> Measurement:
    """Time ``graph`` on the CPU under ``runtime``: whole model, then per layer; cached unless asked not to."""
    return measure_all([graph], threads, runtime=runtime, use_cache=use_cache, progress=progress)[0]


def measure_all(graphs: list[Graph], threads: int, *, runtime: Runtime, use_cache: bool = True,
                rounds: int = MEASURE_ROUNDS, progress: Callable[[int], None] | None = None) -> list[Measurement]:
    """Time every graph in interleaved rounds, so a slow phase of a shared machine hits them all alike;
    each one's figure is the runtime's ``summary`` of all its runs (the median; ORT: ``quiet_mean``).
    ``progress(1)`` after each graph of each round."""
    cache = open_cache()
    keys = [cache_key(g, threads, runtime) for g in graphs]
    todo = [i for i, (g, k) in enumerate(zip(graphs, keys, strict=True))
            if not (use_cache and valid_entry(cache.get(k), len(g.nodes)))]
    runtime.prepare(threads)
    subjects = {i: runtime.subject(graphs[i], threads) for i in todo}
    totals: dict[int, list[float]] = {i: [] for i in todo}
    for round_ in range(rounds):
        for i, timed in subjects.items():
            totals[i] += run_seconds(timed.run, warmup=3 if round_ == 0 else 1, repeats=15, budget_s=0.5)
            timed.profile_round()
            if progress:
                progress(1)
    fresh = {keys[i]: {"total_s": runtime.summary(totals[i]), "layers_s": _layer_figures(subjects[i], runtime)}
             for i in todo}
    if fresh:
        store(fresh)  # merged under a lock with what other runs wrote meanwhile
    cache.update(fresh)
    return [Measurement(float(cache[k]["total_s"]), [float(x) for x in cache[k]["layers_s"]]) for k in keys]


def _layer_figures(timed: Subject, runtime: Runtime) -> list[float]:
    """Each layer's seconds (the runtime's ``summary`` of its runs); empty when the runtime cannot time layers
    apart (LiteRT's delegate runs the whole network as one node)."""
    samples = timed.layer_samples()
    return [] if samples is None else [runtime.summary(s) for s in samples]


@dataclass(frozen=True)
class Comparison:
    """Predicted beside measured, for one design point."""

    alpha: float
    resolution: int
    predicted_s: list[float]  # per layer
    measured: Measurement

    @property
    def predicted_total_s(self) -> float:
        return sum(self.predicted_s)


def compare_grid(graphs: list[Graph], hw: Hardware, threads: int, *, runtime: Runtime, use_cache: bool = True,
                 progress: Callable[[int], None] | None = None) -> list[Comparison]:
    """Predicted beside measured for each graph (measured in interleaved rounds, see ``measure_all``)."""
    measured = measure_all(graphs, threads, runtime=runtime, use_cache=use_cache, progress=progress)
    return [Comparison(g.alpha, g.resolution, predict_layers(g, hw), m) for g, m in zip(graphs, measured, strict=True)]


def calibrate(threads: int, runtime: Runtime, advance: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Measure this machine under ``runtime`` with its microbenchmarks; the profile as a YAML-ready mapping.
    ``advance(1)`` is called after the setup and after each of ``CALIBRATION_ROUNDS`` rounds."""
    runtime.prepare(threads)
    hw = runtime.calibrate(threads, advance or (lambda n: None))
    return profile_doc(hw, threads, runtime, CALIBRATION_ROUNDS)


def host_profile(threads: int, runtime: Runtime, advance: Callable[[int], None] | None = None) -> Hardware:
    """The host profile for ``threads`` and ``runtime``, calibrating first if there is none."""
    path = host_profile_path(threads, runtime.name)
    if not path.exists():
        check_profile_path(path)
        save_profile(calibrate(threads, runtime, advance), path)
    try:
        return load_hardware(path)
    except MobcostError as exc:  # a damaged profile: say how to get a good one back
        again = f"mobcost calibrate --threads {threads} --runtime {runtime.name}"
        raise type(exc)(f"{exc.message} (this host's profile: run `{again}` to measure it again)", file=exc.file,
                        line=exc.line, column=exc.column, where=exc.where) from None
