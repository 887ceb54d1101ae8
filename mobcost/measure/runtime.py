"""What a runtime is to mobcost: the one small protocol eager torch, ONNX Runtime and LiteRT implement (and
the next runtime will). The machinery in this room times and calibrates through it and never imports a
runtime; :func:`mobcost.runtimes.runtime` looks one up by its ``--runtime`` name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..explore.hardware import Hardware
    from ..graph import Graph

Job = tuple[str, tuple[int, int, int]]  # a microbenchmark: (kind, (in channels, out channels, input size))


class Subject(Protocol):
    """One network, built and loaded in a runtime, ready to be timed."""

    def run(self) -> Any:
        """One inference as a user times it."""

    def profile_round(self) -> None:
        """A few inferences timed per layer (nothing, for a runtime that cannot time layers apart)."""

    def layer_samples(self) -> list[list[float]] | None:
        """Every layer's seconds so far; None when the runtime cannot time layers apart."""


class Runtime(Protocol):
    """A runtime: how mobcost builds or exports a graph's model for it, runs and times it, names its version,
    and calibrates a profile of this host under it with its own microbenchmarks."""

    name: str  # the --runtime value and the profile's `runtime:`
    timed: str  # how its microbenchmarks are timed, for the profile's source lines
    default_overhead: str  # what its default per-node fixed cost is, likewise
    calibration_seconds: int  # about how long a calibration takes, said when there is no progress bar
    # how a measurement's runs are summed up into one figure: the statistic its calibration takes of its
    # microbenchmarks, so that predicted and measured describe the same runs
    summary: Callable[[list[float]], float]

    def require(self) -> None:
        """A one-line ``MissingExtraError`` when the runtime's packages are not installed."""

    def version(self) -> str:
        """The runtime's version, as profiles and the measurement cache record it."""

    def key_parts(self) -> tuple[str, ...]:
        """What a measurement depends on besides the network (versions of the runtime and its converter)."""

    def export(self, graph: Graph) -> bytes:
        """The model file the runtime runs for ``graph`` (what ``mobcost export`` writes)."""

    def prepare(self, threads: int) -> None:
        """Fix the thread count and settle the process before timing."""

    def subject(self, graph: Graph, threads: int) -> Subject:
        """``graph`` loaded and ready to time."""

    def benches(self, threads: int) -> list[Any]:
        """Its calibration microbenchmarks, each loaded and ready to run (``.kind``, ``.shape``)."""

    def calibrate(self, threads: int, step: Callable[[int], None]) -> Hardware:
        """Run the runtime's microbenchmarks and fit a profile; ``step(1)`` after the setup and each round."""
