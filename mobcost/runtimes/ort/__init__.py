"""ONNX Runtime as deployed (:mod:`.session`: export, sessions, the profiler's per-node times) and its
calibration (:mod:`.calibrate`), behind the :class:`~mobcost.measure.runtime.Runtime` protocol."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...measure.schedule import quiet_mean

if TYPE_CHECKING:
    from ...explore.hardware import Hardware
    from ...graph import Graph
    from .session import OrtSubject


class OrtRuntime:
    name = "onnxruntime"
    timed = ("the mean of ORT profiler kernel times from the 10th to the 60th percentile less the profiler's own "
             "~1.8 µs a node (BatchNorm folded, ReLU fused)")
    default_overhead = "a ReLU node on a 2×2 map, the wall-time slope of a chain of 64"
    calibration_seconds = 55
    summary = staticmethod(quiet_mean)  # as its calibration: see measure.schedule.quiet_mean

    def require(self) -> None:
        from ...torchside import require_torch
        from .session import require_onnxruntime

        require_torch()
        require_onnxruntime()

    def version(self) -> str:
        from .session import version

        return version()

    def key_parts(self) -> tuple[str, ...]:
        import torch

        return (str(torch.__version__), f"{self.name} {self.version()}", "quiet mean")  # not the medians of before

    def export(self, graph: Graph) -> bytes:
        from .session import export_graph

        return export_graph(graph)

    def prepare(self, threads: int) -> None:
        from ...torchside.host import prepare_timing

        prepare_timing(threads)

    def subject(self, graph: Graph, threads: int) -> OrtSubject:
        from .session import OrtSubject

        return OrtSubject(graph, threads)

    def benches(self, threads: int) -> list[Any]:
        from .calibrate import ort_benches

        return ort_benches(threads)

    def calibrate(self, threads: int, step: Callable[[int], None]) -> Hardware:
        from ...torchside.host import CopyBandwidth
        from .calibrate import calibrate

        return calibrate(threads, CopyBandwidth(), step)


RUNTIME = OrtRuntime()
