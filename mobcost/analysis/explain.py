"""Why two counts of the same network differ: the difference between two conventions' totals, broken into
named causes that sum to it exactly.

A side of a comparison is a :class:`Counting`: a convention, optionally with another classifier width
(``classes``) and with the first layer left out. From side A to side B, in this order, each step changing one
thing and the steps telescoping:

1. **classifier width** — A's convention on B's classifier, minus A's count;
2. **first layer** — then B's choice of counting the first layer or not;
3. then A's rules become B's, term by term: each (operation, quantity) term of the rule tables belongs to one
   cause (:data:`~mobcost.layers.conventions.CAUSES`: the factor of two, the seed's −1 terms, biases,
   BatchNorm, activations, pooling, elementwise joins), and a cause's amount is the sum of its terms'
   (B's coefficient − A's coefficient) × size over every layer.

Every amount is an exact integer and the amounts sum to B's total − A's total.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import OptionError
from ..graph import Graph, build
from ..layers.conventions import CAUSES
from ..spec import Spec
from ..spec.transforms import with_classes
from .conventions import NAMES, count_graph, get_convention

STRUCTURE = {
    "classifier_width": "the classifier's width (classes)",
    "first_layer": "the first layer with weights left out",
}
EXPLAIN_CAUSES = {**STRUCTURE, **CAUSES}

_MODIFIER = re.compile(r"classes=([0-9]{1,10})|no-first-layer")


@dataclass(frozen=True)
class Counting:
    """One side of a comparison: a convention, a classifier width (None: the spec's own) and whether the first
    layer with weights counts. Written ``NAME[,classes=N][,no-first-layer]``."""

    convention: str
    classes: int | None = None
    first_layer: bool = True

    @classmethod
    def parse(cls, text: str, where: str = "convention") -> Counting:
        name, *mods = [part.strip() for part in text.split(",")]
        get_convention(name, where)
        classes, first = None, True
        for mod in mods:
            m = _MODIFIER.fullmatch(mod)
            if m is None:
                raise OptionError(f"{mod!r} is not classes=N or no-first-layer (in {text!r})", where=where)
            if m.group(1):
                classes = int(m.group(1))
                if classes < 1:
                    raise OptionError(f"classes must be a positive integer (in {text!r})", where=where)
            else:
                first = False
        return cls(name, classes, first)

    @property
    def label(self) -> str:
        mods = ([f"classes={self.classes}"] if self.classes is not None else []) + (
            [] if self.first_layer else ["no-first-layer"])
        return ",".join([self.convention, *mods])


@dataclass(frozen=True)
class Explanation:
    """A's total, B's total and the causes of the difference (every cause, in :data:`EXPLAIN_CAUSES` order)."""

    graph: Graph  # B's network (the classifier B counts)
    source: Counting
    target: Counting
    source_total: int
    target_total: int
    causes: tuple[tuple[str, int], ...]

    @property
    def difference(self) -> int:
        return self.target_total - self.source_total

    def share(self, amount: int) -> float | None:
        """``amount`` as a percentage of the difference (None when there is no difference)."""
        return 100.0 * amount / self.difference if self.difference else None


def _graph(spec: Spec, side: Counting, alpha: float, rho: float | None, resolution: int | None) -> Graph:
    s = spec if side.classes is None else with_classes(spec, side.classes)
    return build(s, alpha, rho, resolution)


def explain(spec: Spec, source: Counting | str, target: Counting | str, alpha: float = 1.0,
            rho: float | None = None, resolution: int | None = None) -> Explanation:
    """The difference between ``source``'s and ``target``'s totals of ``spec`` at (α, ρ), by cause."""
    a = source if isinstance(source, Counting) else Counting.parse(source, "from")
    b = target if isinstance(target, Counting) else Counting.parse(target, "to")
    graph_a = _graph(spec, a, alpha, rho, resolution)
    graph_b = graph_a if a.classes == b.classes else _graph(spec, b, alpha, rho, resolution)
    start = count_graph(graph_a, a.convention, a.first_layer).total
    widened = count_graph(graph_b, a.convention, a.first_layer).total
    old_rules = count_graph(graph_b, a.convention, b.first_layer)
    new_rules = count_graph(graph_b, b.convention, b.first_layer)
    before, after = old_rules.by_cause(), new_rules.by_cause()
    causes = [("classifier_width", widened - start), ("first_layer", old_rules.total - widened),
              *((cause, after[cause] - before[cause]) for cause in CAUSES)]
    return Explanation(graph_b, a, b, start, new_rules.total, tuple(causes))


def explain_all(spec: Spec, source: Counting | str = "paper", targets: list[str] | None = None, alpha: float = 1.0,
                rho: float | None = None, resolution: int | None = None) -> list[Explanation]:
    """``source`` against each of ``targets`` (default: every other convention)."""
    a = source if isinstance(source, Counting) else Counting.parse(source, "from")
    wanted = targets or [n for n in NAMES if n != a.convention]
    return [explain(spec, a, Counting.parse(t, "to"), alpha, rho, resolution) for t in wanted]
