"""Graph → per-layer cost rows, totals, and the paper's per-type view (Table 2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .formulas import REGISTRY
from .graph import Graph, build
from .layers import Node
from .spec import Spec

DTYPE_BYTES = {"fp32": 4, "fp16": 2, "int8": 1}
COSTS = ("mult_adds", "params", "bn_params", "memory_access")


@dataclass(frozen=True)
class Row:
    """Closed-form costs of one layer, exact integers in elements."""

    node: Node
    category: str
    filter_shape: str
    mult_adds: int
    params: int
    bn_params: int
    memory_access: int

    @property
    def name(self) -> str:
        return self.node.name


@dataclass(frozen=True)
class Totals:
    mult_adds: int = 0
    params: int = 0
    bn_params: int = 0
    memory_access: int = 0

    def __add__(self, other: Totals | Row) -> Totals:
        return Totals(*(getattr(self, c) + getattr(other, c) for c in COSTS))


@dataclass(frozen=True)
class Group:
    """One row of the per-type view: all layers of a category summed."""

    category: str
    layers: int
    totals: Totals


@dataclass(frozen=True)
class Analysis:
    graph: Graph
    rows: tuple[Row, ...]
    totals: Totals = field(default_factory=Totals)

    @property
    def network(self) -> str:
        return self.graph.spec.name

    def by_type(self) -> tuple[Group, ...]:
        """Rows summed per layer category, in order of Mult-Adds then params (Table 2)."""
        groups: dict[str, tuple[int, Totals]] = {}
        for row in self.rows:
            count, sums = groups.get(row.category, (0, Totals()))
            groups[row.category] = (count + 1, sums + row)
        ordered = sorted(groups.items(), key=lambda kv: (-kv[1][1].mult_adds, -kv[1][1].params, kv[0]))
        return tuple(Group(cat, n, t) for cat, (n, t) in ordered)


def cost_row(node: Node) -> Row:
    kind = REGISTRY[node.type]
    return Row(node, kind.category(node), kind.filter_shape(node), kind.mult_adds(node),
               kind.params(node), kind.bn_params(node), kind.memory_access(node))


def analyze_graph(graph: Graph) -> Analysis:
    rows = tuple(cost_row(node) for node in graph.nodes)
    totals = Totals()
    for row in rows:
        totals += row
    return Analysis(graph, rows, totals)


def analyze(spec: Spec, alpha: float = 1.0, rho: float | None = None, resolution: int | None = None) -> Analysis:
    """Closed-form costs of ``spec`` at width α and resolution ρ (or an explicit input size)."""
    return analyze_graph(build(spec, alpha, rho, resolution))
