"""A network counted under a named convention (``paper``, ``flops``, ``seed``, ``fvcore``, ``thop``, …): per-layer
figures, their split by cause, and totals. The rules are data in :mod:`mobcost.layers.conventions`; this module
only applies them to a graph's layers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import OptionError
from ..graph import Graph
from ..ir import Node
from ..layers import REGISTRY
from ..layers.conventions import CAUSES, CONVENTIONS, FlopConvention, cause_of, layer_ops
from .costs import Analysis

NAMES = tuple(CONVENTIONS)


def get_convention(name: str | FlopConvention, where: str = "convention") -> FlopConvention:
    """The convention of that name; an :class:`OptionError` naming every known one otherwise."""
    if isinstance(name, FlopConvention):
        return name
    if name not in CONVENTIONS:
        raise OptionError(f"no convention {name!r}; known: {', '.join(NAMES)}", where=where)
    return CONVENTIONS[name]


@dataclass(frozen=True)
class LayerCount:
    """One layer's count under a convention, and that count split by cause (each cause's terms summed)."""

    node: Node
    count: int
    causes: Mapping[str, int]

    @property
    def name(self) -> str:
        return self.node.name


@dataclass(frozen=True)
class Counted:
    """A graph counted under one convention."""

    convention: FlopConvention
    graph: Graph
    layers: tuple[LayerCount, ...]
    first_layer: bool = True

    @property
    def total(self) -> int:
        return sum(layer.count for layer in self.layers)

    def by_cause(self) -> dict[str, int]:
        """The total split by cause (:data:`~mobcost.layers.conventions.CAUSES`), every cause present."""
        out = dict.fromkeys(CAUSES, 0)
        for layer in self.layers:
            for cause, n in layer.causes.items():
                out[cause] += n
        return out


def layer_count(node: Node, convention: FlopConvention) -> LayerCount:
    causes: dict[str, int] = {}
    for op in layer_ops(node):
        for quantity, coefficient in convention.rules.get(op.kind, {}).items():
            if coefficient:
                cause = cause_of(op.kind, quantity)
                causes[cause] = causes.get(cause, 0) + coefficient * op.sizes[quantity][0]
    return LayerCount(node, sum(causes.values()), causes)


def per_image(layer: LayerCount, proposals: int | None) -> LayerCount:
    """A ``per_roi`` layer runs once per proposal: every count of it that many times, as its Mult-Adds."""
    if not layer.node.layer.per_roi or not proposals:
        return layer
    return LayerCount(layer.node, layer.count * proposals, {k: v * proposals for k, v in layer.causes.items()})


def first_weighted(graph: Graph) -> int | None:
    """The index of the first layer with weights (the one ``--no-first-layer`` leaves out), if any."""
    return next((i for i, n in enumerate(graph.nodes) if REGISTRY[n.type].weights(n)), None)


def count_graph(graph: Graph, convention: str | FlopConvention, first_layer: bool = True) -> Counted:
    """Every layer of ``graph`` counted under ``convention``; without ``first_layer``, the first layer with
    weights counts zero (as ``analyze(…, Convention(first_layer=False))`` leaves it out)."""
    c = get_convention(convention)
    layers = [per_image(layer_count(node, c), graph.spec.proposals) for node in graph.nodes]
    skip = None if first_layer else first_weighted(graph)
    if skip is not None:
        layers[skip] = LayerCount(layers[skip].node, 0, {})
    return Counted(c, graph, tuple(layers), first_layer)


def count_analysis(analysis: Analysis, convention: str | FlopConvention, first_layer: bool = True) -> Counted:
    """The graph of ``analysis`` counted under ``convention`` (rows and counts in the same order)."""
    return count_graph(analysis.graph, convention, first_layer)


def by_category(analysis: Analysis, counted: Counted) -> dict[str, int]:
    """The counts summed per Table 2 category (the rows of ``analysis.by_type()``)."""
    out: dict[str, int] = {}
    for row, layer in zip(analysis.rows, counted.layers, strict=True):
        out[row.category] = out.get(row.category, 0) + layer.count
    return out
