"""Graph → per-layer cost rows, totals, and the paper's per-type view (Table 2)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import ShapeError
from ..graph import Graph, build
from ..ir import Node
from ..layers import REGISTRY
from ..spec import Spec

COSTS = ("mult_adds", "params", "bn_params", "memory_access")


@dataclass(frozen=True)
class Convention:
    """How published figures count, when they differ from the default (the paper's own convention).

    ``fc_bias``: FC biases count as parameters (the paper's Table 2 leaves them out).
    ``bn_in_params``: BatchNorm's γ, β count as parameters (Keras and torchvision summaries do).
    ``fc_mult_adds``: FC layers count in Mult-Adds (VGG16's "15300 M" is its convolutions alone).
    ``first_layer``: the first layer with weights counts (some papers leave the image-facing conv out); without
    it, none of that layer's costs count, memory access included.
    """

    fc_bias: bool = True
    bn_in_params: bool = False
    fc_mult_adds: bool = True
    first_layer: bool = True


DEFAULT = Convention()


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
    times: int = 1  # runs per image: a `per_roi` layer's `proposals`, its Mult-Adds and memory access counted so often

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
    convention: Convention = DEFAULT  # how the rows were counted: a view must say what its params include

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


def cost_row(node: Node, convention: Convention = DEFAULT) -> Row:
    kind = REGISTRY[node.type]
    is_fc = node.type == "fc"
    # weights another layer stores (`shares`) are that layer's params; every use still costs Mult-Adds and reads
    weights = 0 if node.layer.shares else kind.weights(node)
    params = weights + (kind.biases(node) if convention.fc_bias or not is_fc else 0)
    if convention.bn_in_params:
        params += kind.bn_params(node)
    mult_adds = kind.mult_adds(node) if convention.fc_mult_adds or not is_fc else 0
    return Row(node, kind.category(node), kind.filter_shape(node), mult_adds, params, kind.bn_params(node),
               kind.memory_access(node))


def per_image(row: Row, proposals: int | None) -> Row:
    """A ``per_roi`` layer's row for the whole image: one run per proposal, the one set of weights once."""
    if not row.node.layer.per_roi or not proposals:
        return row
    return replace(row, mult_adds=row.mult_adds * proposals, memory_access=row.memory_access * proposals,
                   times=proposals)


def analyze_graph(graph: Graph, convention: Convention = DEFAULT) -> Analysis:
    check_shared(graph)
    rows = tuple(per_image(cost_row(node, convention), graph.spec.proposals) for node in graph.nodes)
    if not convention.first_layer:
        first = next((i for i, r in enumerate(rows) if REGISTRY[r.node.type].weights(r.node)), None)
        if first is not None:
            # the whole layer leaves, as the network would begin at the next one (whose input read it keeps):
            # its weights and its own input and output traffic too, not only its Mult-Adds and params
            left_out = replace(rows[first], mult_adds=0, params=0, bn_params=0, memory_access=0)
            rows = (*rows[:first], left_out, *rows[first + 1:])
    totals = Totals()
    for row in rows:
        totals += row
    return Analysis(graph, rows, totals, convention)


def check_shared(graph: Graph) -> None:
    """A layer that ``shares`` another's weights has as many as it (α and ρ applied): one tensor, one shape."""
    by_name = {node.name: node for node in graph.nodes}
    for node in graph.nodes:
        owner = by_name.get(node.layer.shares or "")
        if owner is not None and REGISTRY[node.type].weights(node) != REGISTRY[owner.type].weights(owner):
            raise ShapeError(f"{REGISTRY[node.type].weights(node):,} weights, {owner.name!r} has "
                             f"{REGISTRY[owner.type].weights(owner):,}: only equal weights can be one stored tensor",
                             file=graph.spec.file, line=node.layer.line, where=f"{node.layer.where}.shares")


def analyze(spec: Spec, alpha: float = 1.0, rho: float | None = None, resolution: int | None = None,
            convention: Convention = DEFAULT) -> Analysis:
    """Closed-form costs of ``spec`` at width α and resolution ρ (or an explicit input size)."""
    return analyze_graph(build(spec, alpha, rho, resolution), convention)
