"""A published figure beside its recomputed value (:class:`Figure`), and the cached analyses of bundled specs the
paper's tables are computed from (shared by ``paper`` — Tables 1–10 — and ``paper_apps`` — Tables 11–14)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, partial

from ..spec import Spec, load_bundled
from ..spec.transforms import with_classes
from .conventions import count_analysis
from .costs import DEFAULT, Analysis, Convention, analyze


@dataclass(frozen=True)
class Figure:
    table: str
    row: str
    metric: str  # mult_adds | params (millions), mult_adds_pct | params_pct (%), stride, input_size
    paper: float | str
    unit: str
    decimals: int  # digits after the point as printed (negative: trailing zeros, e.g. 15300 → -2)
    computed: float | str
    explanation: str = ""  # why a differing figure differs
    convention: str = ""  # the convention the paper used for this figure, when not the default
    # the analysis a Mult-Adds figure is computed from (a model's network, or a Table 3 step's layer), for
    # recounting it under another counting convention (`paper --convention`); None where nothing is recounted
    source: Callable[[], Analysis] | None = None

    @property
    def rounding(self) -> str:
        """'round' or 'truncate' if the computed value matches the printed one that way, else ''."""
        if isinstance(self.paper, str) or isinstance(self.computed, str):
            return "round" if self.paper == self.computed else ""
        scale = 10.0**self.decimals
        if round(self.computed, self.decimals) == round(self.paper, self.decimals) or math.isclose(
                round(self.computed * scale), round(self.paper * scale)):
            return "round"
        if math.floor(self.computed * scale + 1e-9) == round(self.paper * scale):
            return "truncate"
        return ""

    @property
    def status(self) -> str:
        return "match" if self.rounding else "differs"

    @property
    def difference(self) -> float | None:
        if isinstance(self.paper, str) or isinstance(self.computed, str):
            return None
        return self.computed - self.paper

    @property
    def note(self) -> str:
        parts = [self.convention] if self.convention else []
        if self.rounding == "truncate":
            parts.append(f"the paper truncates ({_fmt(self.computed)})")
        elif self.status == "differs":
            parts.append(self.explanation or "unexplained")
        return "; ".join(parts)


def width_label(alpha: float) -> str:
    return "1.0" if alpha == 1 else f"{alpha:g}"


def _fmt(x: float | str) -> str:
    return x if isinstance(x, str) else f"{x:,.2f}"


def recount(f: Figure, convention: str) -> float | None:
    """A model's Mult-Adds figure counted under another convention, in millions of that convention's unit (None
    for the figures that are not a network's Mult-Adds)."""
    if f.source is None or f.metric != "mult_adds":
        return None
    return count_analysis(f.source(), convention).total / 1e6


@cache
def bundled_spec(name: str) -> Spec:
    return load_bundled(name)


@cache
def bundled_analysis(name: str, alpha: float = 1.0, resolution: int | None = None, classes: int | None = None,
                     convention: Convention = DEFAULT) -> Analysis:
    spec = bundled_spec(name) if classes is None else with_classes(bundled_spec(name), classes)
    return analyze(spec, alpha, resolution=resolution, convention=convention)


def model_figures(table: str, row: str, spec: str, mult_adds: float, params: float, *, alpha: float = 1.0,
                  resolution: int | None = None, classes: int | None = None, ma_decimals: int = 0,
                  p_decimals: int = 1, why_ma: str = "", why_params: str = "", how: str = "") -> Iterator[Figure]:
    """A model's Mult-Adds and params figures; ``how`` (shown in both notes) says how the paper's network was
    derived from the spec where that is an inference (a head's width the paper implies but does not print)."""
    t = bundled_analysis(spec, alpha, resolution, classes).totals
    source = partial(bundled_analysis, spec, alpha, resolution, classes)
    yield Figure(table, row, "mult_adds", mult_adds, "M", ma_decimals, t.mult_adds / 1e6, why_ma, how,
                 source=source)
    yield Figure(table, row, "params", params, "M", p_decimals, t.params / 1e6, why_params, how, source=source)
