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
    live = []
    for i in range(len(graph.nodes)):
        alive = [t for t in range(i + 1) if last_use.get(t, -1) >= i]  # produced before step i, read at ≥ i
        live.append([*alive, i + 1])
    return reads, live
