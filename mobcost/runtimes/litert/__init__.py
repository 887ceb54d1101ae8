"""LiteRT (TensorFlow Lite) as deployed (:mod:`.convert`: litert-torch's conversion, the interpreter with
XNNPACK, whole-model timing) and its calibration (:mod:`.calibrate`), behind the
:class:`~mobcost.measure.runtime.Runtime` protocol."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...explore.hardware import Hardware
    from ...graph import Graph
    from .convert import LitertSubject


class LitertRuntime:
    name = "litert"
    timed = ("the median wall time of the second of two invokes in a row, less the fixed cost of an invoke "
             "(a one-op model less that op; BatchNorm folded, ReLU fused)")
    default_overhead = "an ADD+ReLU on a 2×2×8 map, the wall-time slope of a chain of 64"
    calibration_seconds = 70
    summary = staticmethod(statistics.median)

    def require(self) -> None:
        from ...torchside import require_torch
        from .convert import require_litert

        require_torch()
        require_litert()

    def version(self) -> str:
        from .convert import version

        return version()

    def key_parts(self) -> tuple[str, ...]:
        import torch

        from .convert import converter_version

        # the converter decides the model as much as the runtime runs it
        return (str(torch.__version__), f"{self.name} {self.version()}", f"litert-torch {converter_version()}")

    def export(self, graph: Graph) -> bytes:
        from .convert import export_graph

        return export_graph(graph)

    def prepare(self, threads: int) -> None:
        from ...torchside.host import prepare_timing

        prepare_timing(threads)

    def subject(self, graph: Graph, threads: int) -> LitertSubject:
        from .convert import LitertSubject

        return LitertSubject(graph, threads)

    def benches(self, threads: int) -> list[Any]:
        from .calibrate import litert_benches

        return litert_benches(threads)

    def calibrate(self, threads: int, step: Callable[[int], None]) -> Hardware:
        from ...torchside.host import CopyBandwidth
        from .calibrate import calibrate

        return calibrate(threads, CopyBandwidth(), step)


RUNTIME = LitertRuntime()
