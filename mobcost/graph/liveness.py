"""Tensor liveness in execution order: which tensors each layer reads, and which are alive while it runs
(what peak activation memory is made of)."""

from __future__ import annotations

from .build import Graph, input_names


def liveness(graph: Graph) -> tuple[list[list[int]], list[list[int]]]:
    """Which tensors each layer reads, and which are alive while it runs (inputs still needed + output)."""
    index = {n.name: i + 1 for i, n in enumerate(graph.nodes)}
    reads = [[index.get(name, 0) for name in input_names(graph.spec, i)] for i in range(len(graph.nodes))]
    last_use = {0: 0}
    for i, tensors in enumerate(reads):
        for t in tensors:
            last_use[t] = max(last_use.get(t, 0), i)
    for name in graph.spec.outputs:  # what the network returns is held to its end (a detector's every head);
        if index[name] < len(graph.nodes):  # the last layer's output is alive at its own step anyway
            last_use[index[name]] = len(graph.nodes) - 1
    # One pass over the steps, keeping the tensors alive so far (produced, and read at this step or later) in
    # production order: linear in layers and live tensors (testing every earlier tensor at every step took
    # seconds at 10,000 layers).
    dies: dict[int, list[int]] = {}
    for t, last in last_use.items():
        dies.setdefault(last, []).append(t)
    alive: dict[int, None] = {}  # an insertion-ordered set
    live = []
    for i in range(len(graph.nodes)):
        if i in last_use:  # tensor i (the input for i = 0) is produced before step i and read at i or later
            alive[i] = None
        live.append([*alive, i + 1])
        for t in dies.get(i, ()):
            del alive[t]
    return reads, live
