"""Calibration under LiteRT: the same one-layer microbenchmarks as eager torch, each converted from mobcost's own
torch build to ``.tflite`` as deployed (BatchNorm folded, ReLU fused, NHWC: ``convert.channel_last``) and run in
its own interpreter with the XNNPACK delegate, one after another in rounds as inside a network.

LiteRT 2.3 has no per-op profiler from Python, so a layer's time is the wall time of ``invoke`` less the fixed
cost of an invoke: that of a model of one trivial op, less that op (the slope of a chain of such ops).

One ``litert_torch.convert`` costs ~3.5 s however small the model (torch.export and its decompositions run per
signature), and there are ~200 microbenchmarks. So they are converted together, as the independent branches of
one module with one input and one output per branch (one conversion, ~40 s), and the ``.tflite`` is then cut
into one model per branch: the converter's own ops, options and weights, nothing rewritten. Each cut model is
kept in the conversion cache (``convert.cache_dir``): a warm calibration converts nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ...explore.hardware import Hardware
from ...measure.fit import activation_rates, fit_profile
from ...measure.micro import ACT_SHAPES, KINDS, POOLS, TOKEN_KINDS, act_graph, act_probes, micro_graph, micro_shapes
from ...measure.runtime import Job
from ...measure.schedule import BURST, CALIBRATION_ROUNDS, in_rounds
from ...torchside.host import CopyBandwidth, sampling_rounds
from .convert import cached, channel_last, convert, converter_version, interpreter, keep, model_digest

# The fixed cost of an invoke: a model of one trivial op (an add and a fused ReLU on a 2×2×8 map), and of
# CHAIN such ops in a row; their difference over CHAIN − 1 is the cost of one op.
BASE: Job = ("invoke", (8, 8, 2))
CHAIN = 64
CHAIN_JOB: Job = ("chain", (8, 8, 2))


@dataclass
class LitertBench:
    kind: str
    shape: tuple[int, int, int]
    numel: int
    interpreter: Any
    index: int
    x: Any

    def seconds(self) -> float:
        # Write the input first, untimed: inside a network a layer reads what the layer before it has just
        # written, without a copy in from Python.
        self.interpreter.set_tensor(self.index, self.x)
        start = time.perf_counter()
        self.interpreter.invoke()
        return time.perf_counter() - start


def trivial_chain(ops: int) -> Any:
    """``ops`` adds of a constant, each with its ReLU (fused into the ADD): ops that cost next to nothing,
    none of which the converter can fold into another."""
    import torch
    from torch import nn

    class Chain(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("c", torch.linspace(0.01, 1.0, ops).reshape(ops, 1, 1, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for i in range(ops):
                x = torch.relu(x + self.c[i])
            return x

    return Chain().eval()


def job_modules() -> list[tuple[Job, Any, Any, str]]:
    """(job, NCHW torch module, NCHW sample input, conversion digest) of every microbenchmark: the layers,
    the activation probes (``micro.act_graph``), and the two invoke-cost models."""
    from ...torchside.build import graph_module, sample_input

    graphs = [((kind, shape), micro_graph(kind, *shape, fused=True)) for kind in (*KINDS, *POOLS, *TOKEN_KINDS)
              for shape in micro_shapes(kind)]
    graphs += [((f"act/{a}", shape), act_graph(a, shape)) for a in act_probes() for shape in ACT_SHAPES]
    return [(job, graph_module(g), sample_input(g), model_digest(g)) for job, g in graphs] + invoke_jobs()


def invoke_jobs() -> list[tuple[Job, Any, Any, str]]:
    """The two models that price an invoke (``BASE``, ``CHAIN_JOB``), as ``job_modules`` gives jobs."""
    import hashlib

    import torch

    out = []
    for job, ops in ((BASE, 1), (CHAIN_JOB, CHAIN)):
        key = repr(("litert-calibrate", job, ops, torch.__version__, converter_version()))
        x = torch.randn(1, 8, 2, 2, generator=torch.Generator().manual_seed(0))
        out.append((job, trivial_chain(ops), x, hashlib.sha256(key.encode()).hexdigest()[:24]))
    return out


def convert_branches(pairs: list[tuple[Any, Any]]) -> list[bytes]:
    """One conversion of (module, NCHW input) pairs as independent branches, cut into one model per branch."""
    import torch
    from torch import nn

    wrapped = [channel_last(module, x) for module, x in pairs]

    class Branches(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.branches = nn.ModuleList(m for m, _ in wrapped)

        def forward(self, *xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
            return tuple(m(x) for m, x in zip(self.branches, xs, strict=True))

    return split_branches(convert(Branches(), tuple(x for _, x in wrapped)))


def split_branches(model: bytes) -> list[bytes]:
    """A model of independent branches (input i feeds output i and nothing else) as one model per branch: the
    ops that output i depends on, their tensors and buffers, with the whole model's operator codes."""
    import copy

    from ai_edge_litert import schema_py_generated as schema

    whole = schema.ModelT.InitFromPackedBuf(model, 0)
    graph = whole.subgraphs[0]
    producer = {t: i for i, op in enumerate(graph.operators) for t in op.outputs}
    models = []
    for i, (x, y) in enumerate(zip(graph.inputs, graph.outputs, strict=True)):
        ops, todo = set(), [y]
        while todo:  # every op the output depends on, back to the branch's input
            op = producer.get(todo.pop())
            if op is not None and op not in ops:
                ops.add(op)
                todo += [t for t in graph.operators[op].inputs if t >= 0]
        part = copy.copy(whole)
        part.signatureDefs, part.metadata, part.metadataBuffer = None, None, None
        part.buffers = [schema.BufferT()]
        part.subgraphs = [_cut(graph, sorted(ops), x, y, whole.buffers, part, i)]
        models.append(_pack(part))
    return models


def _cut(graph: Any, ops: list[int], x: int, y: int, buffers: list[Any], part: Any, index: int) -> Any:
    """The subgraph of ``ops`` (in execution order) from tensor ``x`` to ``y``; the buffers its tensors read
    are appended to ``part.buffers`` (buffer 0 stays the empty one, as the format wants)."""
    import copy

    from ai_edge_litert import schema_py_generated as schema

    used = sorted({x, y} | {t for i in ops for t in (*graph.operators[i].inputs, *graph.operators[i].outputs)
                            if t >= 0})
    new = {t: n for n, t in enumerate(used)}
    tensors = []
    for t in used:
        tensor = copy.copy(graph.tensors[t])
        data = buffers[tensor.buffer] if tensor.buffer > 0 else None
        if data is not None and data.offset > 1:
            raise ValueError("a buffer stored outside the flatbuffer (a model over 2 GB): cut fewer branches")
        tensor.buffer = 0
        if data is not None and data.data is not None and len(data.data):
            tensor.buffer = len(part.buffers)
            part.buffers.append(data)
        tensors.append(tensor)
    sub = schema.SubGraphT()
    sub.tensors, sub.inputs, sub.outputs, sub.name = tensors, [new[x]], [new[y]], f"branch{index}"
    sub.operators = []
    for i in ops:
        op = copy.copy(graph.operators[i])
        op.inputs = [new[t] if t >= 0 else t for t in op.inputs]
        op.outputs = [new[t] for t in op.outputs]
        sub.operators.append(op)
    return sub


def _pack(model: Any) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def micro_models(jobs: list[tuple[Job, Any, Any, str]]) -> list[bytes]:
    """The ``.tflite`` of every job: from the cache, the missing ones converted together and cached."""
    models = [cached(digest) for *_, digest in jobs]
    missing = [i for i, m in enumerate(models) if m is None]
    if missing:
        for i, model in zip(missing, convert_branches([(jobs[i][1], jobs[i][2]) for i in missing]), strict=True):
            models[i] = model
            keep(jobs[i][3], model)
    return [m for m in models if m is not None]


def litert_benches(threads: int) -> list[LitertBench]:
    """Every layer microbenchmark, deployed (BatchNorm folded, ReLU fused), the activation probes, and the
    invoke-cost models, each in its own interpreter."""
    return make_benches(job_modules(), threads)


def make_benches(jobs: list[tuple[Job, Any, Any, str]], threads: int) -> list[LitertBench]:
    """The benches of ``job_modules``-like jobs (``run_litert_rounds`` needs ``BASE`` and ``CHAIN_JOB`` among them)."""
    out = []
    for ((kind, shape), _, x, _), model in zip(jobs, micro_models(jobs), strict=True):
        it = interpreter(model, threads)
        nhwc = x.permute(0, 2, 3, 1).contiguous().numpy()
        out.append(LitertBench(kind, shape, nhwc.size, it, it.get_input_details()[0]["index"], nhwc))
    return out


def run_litert_rounds(items: list[LitertBench], rounds: int, rng: random.Random,
                      after_round: Callable[[int], None]) -> dict[Job, list[float]]:
    """Each microbenchmark ``BURST`` times per round, smallest inputs first (ties in random order); per round,
    the wall time of the last invoke of its burst less the fixed cost of an invoke (``invoke_seconds``). The
    invoke-cost models are left out, but for the chain: ``node_seconds`` reads a trivial op's cost off it."""
    import statistics

    # warm-up: the first invokes pay for setup (XNNPACK's weight packing)
    times = in_rounds(items, rounds, rng, after_round, run=LitertBench.seconds, size=lambda b: b.numel, warmup=2,
                      burst=BURST)
    samples = {(b.kind, b.shape): t for b, t in zip(items, times, strict=True)}
    base, chain = (statistics.median(samples.pop(BASE, [])), statistics.median(samples[CHAIN_JOB]))
    invoke = base - (chain - base) / (CHAIN - 1)  # one trivial op's model, less that op
    # A layer faster than the invoke's noise would read 0 or less: a floor keeps the fit's 1/t finite.
    return {job: [max(FLOOR, s - invoke) for s in times] for job, times in samples.items()}


FLOOR = 1e-8


def node_seconds(times: dict[Job, float]) -> float:
    """The cost of an op with no work to speak of (the profile's default fixed cost): the chain's time, less
    the invoke's, per op."""
    return times[CHAIN_JOB] / CHAIN


def calibrate(threads: int, bandwidth: CopyBandwidth, step: Callable[[int], None]) -> Hardware:
    """LiteRT has no per-op profiler: each one-layer model's invoke time less the fixed cost of an invoke (a token
    kind's model also holds the reshape that reads its input map as tokens: a few µs at most, left in)."""
    import statistics

    items = litert_benches(threads)
    step(1)
    samples = run_litert_rounds(items, CALIBRATION_ROUNDS, random.Random(0), sampling_rounds(bandwidth, step=step))
    times = {job: statistics.median(t) for job, t in samples.items()}
    hw = fit_profile(times, bandwidth.value(), node_seconds(times), elementwise=False)
    return replace(hw, activation_rates={**hw.activation_rates, **activation_rates(times)})
