"""ONNX Runtime as deployed: mobcost's own torch build of a graph, exported to ONNX and run by ORT's CPU
execution provider with fixed threads and every graph optimisation on (Conv+BatchNorm folded at export,
Conv+activation fused, NCHWc layouts), and its profiler's per-node kernel times mapped back onto the layers.

The exported node names keep the torch module path (``/n12/conv/Conv``), and ORT names a fused node after
one of its parts, so ``/n<i>/`` says which layer a kernel belongs to. Nodes ORT adds itself (layout
reorders, ``*_token_*``) are charged to the next layer in execution order: the layer that needs the layout.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import statistics
import tempfile
from typing import Any

from ...errors import MissingExtraError
from ...graph import Graph
from ...measure.schedule import median_seconds, quiet_mean

OPSET = 17  # every layer mobcost builds exports at 17; ORT 1.17+ runs it
INSTALL_HINT = ("needs onnxruntime: pip install -c constraints-cpu.txt 'mobcost[torch,onnxruntime]' "
                "(the constraints file pins the CPU build of torch)")


def require_onnxruntime() -> None:
    """Raise a one-line :class:`MissingExtraError` when onnxruntime is not installed."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"--runtime onnxruntime {INSTALL_HINT}") from None


def version() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)


def export_graph(graph: Graph) -> bytes:
    """The ONNX model of ``graph``'s torch build as a user would deploy it: eval mode, BatchNorm folded into
    the convolutions (constant folding on), batch 1; weights drawn from a fixed seed, so the file
    ``mobcost export`` writes is the model ``latency --measure`` times."""
    import torch

    from ...torchside.build import graph_module
    from ...torchside.export import export_onnx

    x = graph.input
    with torch.random.fork_rng():  # the caller's random state is left as it was
        torch.manual_seed(0)
        module = graph_module(graph)
    return export_onnx(module, (x.c, x.h, x.w), opset=OPSET, fold_bn=True)


def session(model: bytes, threads: int, *, profile: bool = False, folder: str | None = None) -> Any:
    """An ORT session as deployed: CPU provider, ``threads`` intra-op threads, one inter-op, sequential,
    ``ORT_ENABLE_ALL``; with ``profile``, its profiler writes into ``folder``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # ORT warns about every constant it folds
    if profile:
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(folder or tempfile.gettempdir(), "mobcost-ort")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def feeds(sess: Any, x: Any) -> dict[str, Any]:
    return {sess.get_inputs()[0].name: x}


LAYER = re.compile(r"/n(\d+)/")


def node_layer(name: str) -> int | None:
    """The layer index a profiled node belongs to (``/n12/…`` → 12); None for nodes ORT added."""
    match = LAYER.match(name)
    return int(match[1]) if match else None


def kernel_events(path: str) -> list[dict[str, Any]]:
    """The per-node kernel-time events of an ORT profile file, in execution order."""
    with open(path, encoding="utf-8") as f:
        events = json.load(f)
    return [e for e in events if e.get("cat") == "Node" and str(e.get("name", "")).endswith("_kernel_time")]


def layer_runs(events: list[dict[str, Any]], layers: int, runs: int, *, total_runs: int) -> list[list[float]]:
    """Seconds per layer in each of the last ``runs`` of ``total_runs`` profiled runs: a node's kernel time
    (less the profiler's own share, ``profiler_overhead``) goes to its layer; a node ORT added goes to the next
    layer that runs (the one that needs its layout), or to the last layer."""
    per_run = len(events) // max(1, total_runs)
    samples: list[list[float]] = [[] for _ in range(layers)]
    for start in range(len(events) - runs * per_run, len(events), per_run):
        seconds = [0.0] * layers
        pending = 0.0
        for event in events[start:start + per_run]:
            index = node_layer(event["name"][: -len("_kernel_time")])
            own = own_seconds(event)
            if index is None or index >= layers:
                pending += own
                continue
            seconds[index] += own + pending
            pending = 0.0
        seconds[-1] += pending
        for layer, s in zip(samples, seconds, strict=True):
            layer.append(s)
    return samples


def own_seconds(event: dict[str, Any]) -> float:
    """A profiled node's kernel time in seconds, less what the profiler itself adds to it (never below 0)."""
    return max(0.0, event["dur"] * 1e-6 - profiler_overhead())


def chain_model(nodes: int, shape: tuple[int, ...] = (1, 8, 2, 2)) -> bytes:
    """An ONNX model of ``nodes`` ReLUs in a row on a tiny map: nodes that cost next to nothing."""
    from onnx import TensorProto, helper

    relus = [helper.make_node("Relu", [f"x{i}"], [f"x{i + 1}"], name=f"relu{i}") for i in range(nodes)]
    graph = helper.make_graph(relus, "chain", [helper.make_tensor_value_info("x0", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(f"x{nodes}", TensorProto.FLOAT, shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what ORT releases since 1.14 read
    return model.SerializeToString()


CHAIN = 64


def profiler_overhead() -> float:
    """Seconds ORT's profiler adds to each node's kernel time (timestamps, memory statistics)."""
    return chain_costs()[0]


def node_seconds() -> float:
    """The cost of a node with no work to speak of, without the profiler: a ReLU on a 2×2 map."""
    return chain_costs()[1]


@functools.cache  # a property of this process's ORT build and machine: measured once
def chain_costs() -> tuple[float, float]:
    """(profiler's share of a kernel time, a trivial node's cost), each the median over ``CHAIN_SESSIONS``
    measurements in fresh sessions (``chain_cost``): most sessions here read 1.77 and 0.23 µs, but one in four
    or five reads up to 3.5 and 0.5 µs, and one such reading moved every fixed cost of a calibration."""
    costs = [chain_cost() for _ in range(CHAIN_SESSIONS)]
    return statistics.median(c[0] for c in costs), statistics.median(c[1] for c in costs)


CHAIN_SESSIONS = 5


def chain_cost() -> tuple[float, float]:
    """One measurement of ``chain_costs``: the profiler reads ~2 µs for a ReLU on a 2×2 map that costs ~0.2 µs
    without it. The kernel times of a chain of such nodes, less their cost without the profiler (the
    wall-time slope over the chain's length). The profiler counts whole microseconds, so the median reading
    jumps by 1 µs when the node's time crosses one; a mean over a window of the readings (the one the
    calibration takes of every layer's, ``quiet_mean``) follows the time instead."""
    import numpy as np

    x = np.ones((1, 8, 2, 2), np.float32)
    plain = [session(chain_model(n), 1) for n in (1, CHAIN)]
    walls = [median_seconds(lambda s=s: s.run(None, {"x0": x}), warmup=30, repeats=200, budget_s=math.inf)
             for s in plain]
    per_node = max(0.0, (walls[1] - walls[0]) / (CHAIN - 1))
    profiled = Profiled(chain_model(CHAIN), 1)
    for _ in range(40):
        profiled.session.run(None, {"x0": x})
    kernel = quiet_mean([e["dur"] * 1e-6 for e in profiled.events()[-30 * CHAIN:]])  # as the layers' times
    return max(0.0, kernel - per_node), per_node


class Profiled:
    """A profiling session whose profile file lives in a private temporary folder, removed by ``events``."""

    def __init__(self, model: bytes, threads: int) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="mobcost-ort-")
        self.session = session(model, threads, profile=True, folder=self.folder.name)

    def events(self) -> list[dict[str, Any]]:
        """End profiling; the kernel events of every run so far."""
        try:
            return kernel_events(self.session.end_profiling())
        finally:
            self.folder.cleanup()


PROFILED_RUNS = 5  # per round, as the torch side's forward-hook runs


class OrtSubject:
    """One network under ORT for ``measure.timing.measure_all``: wall times of ``run`` on a plain session (what a user
    times), per-layer kernel times from a second, profiling session."""

    def __init__(self, graph: Graph, threads: int) -> None:
        from ...torchside.build import sample_input

        model = export_graph(graph)
        self.layers = len(graph.nodes)
        self.session = session(model, threads)
        self.x = sample_input(graph).numpy()
        self.feeds = feeds(self.session, self.x)
        self.profiled = Profiled(model, threads)
        self.profiled_feeds = feeds(self.profiled.session, self.x)
        self.profiled_runs = 0
        self.warm = False

    def run(self) -> Any:
        return self.session.run(None, self.feeds)

    def profile_round(self) -> None:
        if not self.warm:  # warm-up, profiled too: ``layer_samples`` skips it
            self.profiled.session.run(None, self.profiled_feeds)
            self.warm = True
        for _ in range(PROFILED_RUNS):
            self.profiled.session.run(None, self.profiled_feeds)
        self.profiled_runs += PROFILED_RUNS

    def layer_samples(self) -> list[list[float]]:
        events = self.profiled.events()
        return layer_runs(events, self.layers, self.profiled_runs, total_runs=self.profiled_runs + 1)
