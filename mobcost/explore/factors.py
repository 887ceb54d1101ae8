"""A network's costs split into α-only and resolution-only arrays (the sweep's factorisation).

Every closed-form cost of a network splits into a part that depends only on α (channel counts) and a
part that depends only on the resolution (feature-map areas): a layer's Mult-Adds are
``chan(α) × area(R)``, a tensor's size ``channels(α) × H·W(R)``. So one graph build per α value and
one per resolution give everything; the registry says which area each count scales with.

Whether a network is valid splits the same way (a group α cannot split is about channels, a map that
shrinks to nothing about sizes), so the α rows are built at one valid resolution of the grid and the
resolution rows at one valid α (the *anchor*), and each invalid value is left out and named.

Counts are exact integers. They are evaluated in int64 when a bound taken up front (every product from
its factors' maxima) shows none can pass 2⁶², else with Python integers for grids small enough, else
refused with a message: a sweep never wraps around silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import OptionError, ShapeError
from ..graph import Graph, build
from ..graph.liveness import liveness
from ..layers import REGISTRY
from ..layers.conventions import FlopConvention, layer_ops, thop_adaptive
from ..spec import Spec
from .hardware import layer_act, profile_kernel, score_elements, unfused_ops
from .ranges import check_placements

INT64_SAFE = 2**62  # a bound below this leaves int64 (2⁶³ − 1) room for the bound's own rounding
EXACT_WORK = 40_000_000  # point × term products a sweep may evaluate with Python integers
MAX_NAMED = 4  # invalid values named one by one; the rest counted (the rich view shows five entries)


def _score_heads(node: Any) -> int:
    """A layer's score elements per unit of its last work term's area (attention: the heads; else 0)."""
    scores = score_elements(node)
    return scores // REGISTRY[node.type].work_terms(node)[-1][1] if scores else 0


@dataclass
class Factors:
    """A network's costs split into α-only and resolution-only arrays."""

    spec: Spec
    alphas: np.ndarray  # (A,)
    resolutions: np.ndarray  # (R,)
    channels: np.ndarray  # (A, T): channels of tensor t (0: network input, 1+i: layer i's output)
    area: np.ndarray  # (T, R): H·W of tensor t
    # Mult-Adds and work are sums of terms, one per layer but two for attention (its projections ∝ N, its
    # products of activations ∝ N²: ``LayerKind.mult_adds_terms``); ``ma_terms[i]`` lists layer i's columns.
    ma_chan: np.ndarray  # (A, K): Mult-Adds per unit of area, per term
    ma_area: np.ndarray  # (K, R)
    work_chan: np.ndarray  # (A, K'): work (formulas' ``work``) per unit of its area, per term
    work_area: np.ndarray  # (K', R)
    w_chan: np.ndarray  # (A, L): weight elements per unit of weight area
    w_area: np.ndarray  # (L, R): 1, or an FC layer's input area
    biases: np.ndarray  # (A,): bias elements (params only; not in memory access)
    reads: list[list[int]]  # tensors each layer reads
    live: list[list[int]]  # tensors alive while each layer runs (liveness in execution order)
    layer_types: list[str]
    unfused: list[int]  # BatchNorm and activation ops after each layer
    acts: list[str]  # each layer's activation (a profile may price its pass: ``Hardware.activation_rates``)
    strides: list[int | None]
    kernels: list[int | None]
    dropped: list[str] = field(default_factory=list)  # α or resolution values with no valid network
    anchor: Graph | None = None  # the network at a valid (α, resolution) of the grid
    # A counting convention's terms (``sweep --convention``): ops = ops_chan @ ops_area, one term per
    # (operation, quantity) the convention counts, its coefficient in the α part
    convention: FlopConvention | None = None
    ops_chan: np.ndarray | None = None  # (A, K)
    ops_area: np.ndarray | None = None  # (K, R)
    # terms that are no such product (thop's float count of an adaptive pool): coefficient × f(channels, sizes)
    float_coef: list[int] = field(default_factory=list)  # (F,)
    float_chan: np.ndarray | None = None  # (A, F): the pool's channels
    float_sizes: np.ndarray | None = None  # (R, F, 4): input H, W and output H, W
    ma_terms: list[list[int]] = field(default_factory=list)  # the Mult-Adds terms (columns) of each layer
    # (R,): params that follow the resolution only (attention-bias tables: heads, kept under α, × N tokens)
    tables: np.ndarray | None = None
    work_terms: list[list[int]] = field(default_factory=list)  # the work terms of each layer
    # attention's score elements per unit of the area of its last work term (the products' P·N·N′): its heads,
    # which α keeps; 0 for every other layer (``hardware.score_elements``)
    score_heads: list[int] = field(default_factory=list)

    def layer_count(self, name: str, rows: slice, i: int, floats: bool = False) -> np.ndarray:
        """Layer i's Mult-Adds (``name`` "ma") or work ("work") over a chunk of α rows × every resolution: the
        outer product of its term, or the sum of its terms' (exact integers; float64 with ``floats``)."""
        source = self.floats if floats else {k: getattr(self, k) for k in (f"{name}_chan", f"{name}_area")}
        chan, area = source[f"{name}_chan"][rows], source[f"{name}_area"]
        first, *more = getattr(self, f"{name}_terms")[i]
        total = np.outer(chan[:, first], area[first])
        for t in more:
            total = total + np.outer(chan[:, t], area[t])
        return total

    @cached_property
    def uses(self) -> np.ndarray:
        """How often each tensor is read or written: its layers' reads, plus one write per layer output."""
        uses = np.zeros(self.channels.shape[1], dtype=np.int64)
        for tensors in self.reads:
            np.add.at(uses, tensors, 1)
        uses[1:] += 1
        return uses

    @property
    def exact(self) -> bool:
        """Counts held as Python integers (object arrays): some pass what int64 holds."""
        return self.channels.dtype == object

    @cached_property
    def floats(self) -> dict[str, np.ndarray]:
        """The factors as float64, for the latency estimate (a float: it never needs exact integers)."""
        return {k: np.asarray(getattr(self, k), dtype=float)
                for k in ("channels", "area", "ma_chan", "ma_area", "work_chan", "work_area", "w_chan", "w_area")}


def factors(spec: Spec, alphas: list[float], resolutions: list[int],
            convention: FlopConvention | None = None) -> Factors:
    """One graph build per α and per resolution; only their per-layer numbers are kept (not the graphs). With a
    ``convention``, its terms too (:func:`convention_terms`)."""
    check_placements(len(spec.layers), len(alphas), len(resolutions))
    if spec.proposals:  # its factors have no term for the proposals each per-RoI row runs: refused, never undercounted
        raise OptionError(f"{spec.name} has per-RoI layers (× {spec.proposals} proposals), which the sweep does not "
                          "take yet; use `mobcost table` per point", file=spec.file)
    a0, r0 = anchor(spec, alphas, resolutions)
    dropped = Dropped()

    def alpha_row(g: Graph) -> dict[str, list[int]]:
        if not convention:
            return _alpha_row(g)
        terms = convention_terms(g, convention)
        return {**_alpha_row(g), "ops_chan": terms.chan, "float_chan": [c for c, *_ in terms.floats]}

    def res_row(g: Graph) -> dict[str, list[int]]:
        if not convention:
            return _resolution_row(g)
        terms = convention_terms(g, convention)
        return {**_resolution_row(g), "ops_area": terms.area, "float_sizes": [v for _, *s in terms.floats for v in s]}

    alpha_rows = _rows(dropped, alphas, "α", lambda a: build(spec, a, resolution=r0), alpha_row)
    res_rows = _rows(dropped, resolutions, "resolution", lambda r: build(spec, a0, resolution=r), res_row)
    first = build(spec, a0, resolution=r0)
    reads, live = liveness(first)
    dtype = _dtype(alpha_rows, res_rows)

    def stack(rows: list[tuple[Any, dict[str, list[int]]]], key: str) -> np.ndarray:
        return np.array([r[key] for _, r in rows], dtype=dtype)

    f = Factors(spec, np.array([a for a, _ in alpha_rows]), np.array([r for r, _ in res_rows], dtype=np.int64),
                stack(alpha_rows, "channels"), stack(res_rows, "area").T, stack(alpha_rows, "ma_chan"),
                stack(res_rows, "ma_area").T, stack(alpha_rows, "work_chan"), stack(res_rows, "work_area").T,
                stack(alpha_rows, "w_chan"), stack(res_rows, "w_area").T,
                stack(alpha_rows, "biases")[:, 0], reads, live, [n.type for n in first.nodes],
                [unfused_ops(n.layer) for n in first.nodes], [layer_act(n.layer) for n in first.nodes],
                [n.stride for n in first.nodes],
                [profile_kernel(n) for n in first.nodes], dropped.named(), first, convention,
                ma_terms=_term_columns(first, "mult_adds_terms"), work_terms=_term_columns(first, "work_terms"),
                tables=stack(res_rows, "tables")[:, 0], score_heads=[_score_heads(n) for n in first.nodes])
    if convention:
        f.ops_chan, f.ops_area = stack(alpha_rows, "ops_chan"), stack(res_rows, "ops_area").T
        f.float_coef = convention_terms(first, convention).coefficients
        f.float_chan = stack(alpha_rows, "float_chan")
        f.float_sizes = stack(res_rows, "float_sizes").reshape(len(res_rows), len(f.float_coef), 4)
    check_exactness(f)
    return f


@dataclass
class Terms:
    """A convention's count of a graph as terms (see :func:`convention_terms`)."""

    chan: list[int] = field(default_factory=list)
    area: list[int] = field(default_factory=list)
    floats: list[tuple[int, int, int, int, int]] = field(default_factory=list)  # channels, in H, W, out H, W
    coefficients: list[int] = field(default_factory=list)  # of the float terms


def convention_terms(g: Graph, convention: FlopConvention) -> Terms:
    """The convention's count of ``g`` as terms: each counted (operation, quantity) of each layer gives its α part
    (coefficient × value // area) and its resolution part (area), so that the count is Σ α part × area; a size
    whose α part the operation states (``Op.widths``: a resize present at some resolutions only, area 0 at the
    others) gives that part, and a size that is no such product (area 0) a float term instead. The terms come in
    the same order at every α and resolution (the operations follow the layers' keys, not sizes)."""
    t = Terms()
    for node in g.nodes:
        for op in layer_ops(node):
            for quantity, coefficient in convention.rules.get(op.kind, {}).items():
                value, part = op.sizes[quantity]
                if coefficient and (part or quantity in op.widths):
                    t.chan.append(coefficient * op.widths.get(quantity, value // max(part, 1)))
                    t.area.append(part)
                elif coefficient and op.float_sizes is not None:
                    t.floats.append(op.float_sizes)
                    t.coefficients.append(coefficient)
    return t


def float_terms(f: Factors, rows: slice) -> np.ndarray:
    """The float terms of a chunk of α rows × every resolution, as their counter computes them
    (:func:`~mobcost.layers.conventions.thop_adaptive`): (a, R) integers."""
    chan, sizes = f.float_chan[rows], f.float_sizes  # type: ignore[index]
    if f.exact:
        return np.array([[sum(k * thop_adaptive(c, *sizes[r, t]) for t, (k, c) in enumerate(zip(f.float_coef, row,
                                                                                                     strict=True)))
                          for r in range(sizes.shape[0])] for row in chan.tolist()], dtype=object)
    ih, iw, oh, ow = (sizes[:, :, k].T.astype(float) for k in range(4))  # (F, R)
    per_output = (ih / oh) * (iw / ow) + 1
    outputs = chan.astype(float)[:, :, None] * (oh * ow)[None]  # (a, F, R): exact below 2⁵³, as thop's
    values = np.trunc(per_output[None] * outputs).astype(np.int64)
    return (values * np.asarray(f.float_coef, dtype=np.int64)[None, :, None]).sum(axis=1)


def _dtype(alpha_rows: list[Any], res_rows: list[Any]) -> Any:
    """int64 when every factor fits it (products are checked later), else Python integers."""
    for rows in (alpha_rows, res_rows):
        for _, row in rows:
            for values in row.values():
                if values and max(map(abs, values)) > INT64_SAFE:
                    return object
    return np.int64


def check_exactness(f: Factors) -> None:
    """Bound every count from its factors' maxima before any product is taken: int64 if the bound allows,
    Python integers for small grids, else a refusal naming the limit."""
    bound = count_bound(f)
    if bound < INT64_SAFE and not f.exact:
        return
    if not np.isfinite(bound) or bound > 1e300:
        raise OptionError("a count of this network passes 10³⁰⁰ at some point of the grid; a sweep cannot "
                          "hold it: narrow the α or resolution range", where="--alpha/--resolution")
    terms = 0 if f.ops_area is None else len(f.ops_area)
    work = len(f.alphas) * len(f.resolutions) * (4 * len(f.layer_types) + len(f.uses) + sum(map(len, f.live)) + terms)
    if work > EXACT_WORK:
        raise OptionError(f"counts reach about {bound:.2g} at some point of this grid, past the 64-bit integers "
                          f"(≤ 9.2e18) a large sweep computes with; such grids are evaluated exactly only up to "
                          f"{EXACT_WORK:,} point × term products (this one needs {work:,}): sweep fewer points, "
                          "or use `mobcost table` for one point", where="--alpha/--resolution")
    for name in ("channels", "area", "ma_chan", "ma_area", "work_chan", "work_area", "w_chan", "w_area", "biases",
                 *(("tables",) if f.tables is not None else ()),
                 *(("ops_chan", "ops_area", "float_chan", "float_sizes") if f.ops_chan is not None else ())):
        setattr(f, name, np.asarray(getattr(f, name)).astype(object))


def count_bound(f: Factors) -> float:
    """An upper bound (float64, relative error far below 2×) of every integer column of the sweep."""
    def top(a: np.ndarray, axis: int) -> np.ndarray:
        try:
            return np.asarray(a, dtype=float).max(axis=axis) if a.size else np.zeros(a.shape[1 - axis])
        except OverflowError:
            return np.full(a.shape[1 - axis], np.inf)

    with np.errstate(over="ignore", invalid="ignore"):
        mult_adds = top(f.ma_chan, 0) @ top(f.ma_area, 1)
        weights = top(f.w_chan, 0) @ top(f.w_area, 1)
        params = weights + (float(max(f.biases.tolist())) if f.biases.size else 0.0)
        params = params + (float(max(f.tables.tolist())) if f.tables is not None and f.tables.size else 0.0)
        activations = (top(f.channels, 0) * np.maximum(f.uses, 1)) @ top(f.area, 1)  # ≥ any peak
        bytes_per_element = 4  # fp32, the widest element type
        ops = 0.0
        if f.ops_chan is not None and f.ops_area is not None and f.ops_area.size:
            ops = float(top(np.abs(np.asarray(f.ops_chan, dtype=float)), 0) @ top(f.ops_area, 1))  # Σ|terms| ≥ |ops|
        if f.float_chan is not None and f.float_sizes is not None and f.float_sizes.size:
            sizes = np.asarray(f.float_sizes, dtype=float)
            pixels = sizes[:, :, 0] * sizes[:, :, 1] + sizes[:, :, 2] * sizes[:, :, 3]  # in + out, ≥ the float count
            ops += float(np.abs(f.float_coef) @ (top(np.asarray(f.float_chan, dtype=float), 0) * pixels.max(axis=0)))
        return float(max(mult_adds, bytes_per_element * params, activations + weights,
                         bytes_per_element * activations, ops))


class Dropped:
    """The α or resolution values with no valid network: the first few named, the rest counted."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.count = 0

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.messages) < MAX_NAMED:
            self.messages.append(message)

    def named(self) -> list[str]:
        more = self.count - len(self.messages)
        return self.messages + ([f"and {more:,} more"] if more else [])


def anchor(spec: Spec, alphas: list[float], resolutions: list[int]) -> tuple[float, int]:
    """A valid (α, resolution) of the grid: the spec's own size and α = 1 first when the grid has them,
    then the largest values (maps shrink to nothing at small sizes), whole rows and columns in turn."""
    a_order = _preferred(alphas, 1.0)
    r_order = _preferred(resolutions, spec.size)
    reasons: list[str] = []
    tried: set[tuple[Any, Any]] = set()
    budget = max(64, 4 * (len(alphas) + len(resolutions)))  # builds: a few rows and columns of the grid
    for k in range(max(len(a_order), len(r_order))):
        lines = ([(a, r_order[k]) for a in a_order] if k < len(r_order) else []) + (
            [(a_order[k], r) for r in r_order] if k < len(a_order) else [])
        for a, r in (pair for pair in lines if pair not in tried):
            if len(tried) >= budget:
                break
            tried.add((a, r))
            try:
                build(spec, a, resolution=r)
                return a, r
            except ShapeError as exc:
                if len(reasons) < 3:
                    reasons.append(f"α {a:g}, resolution {r}: {exc.message}")
    scope = "in the grid" if len(tried) == len(a_order) * len(r_order) else f"among the {len(tried):,} tried"
    raise OptionError(f"no (α, resolution) {scope} gives a valid network: " + "; ".join(reasons))


def _preferred(values: list[Any], first: Any) -> list[Any]:
    rest = sorted(set(values), reverse=True)
    return ([first] if first in rest else []) + [v for v in rest if v != first]


def _terms(g: Graph, method: str) -> list[tuple[int, int]]:
    """Every layer's (count, area) terms of ``method`` (``mult_adds_terms``, ``work_terms``), in layer order."""
    return [term for n in g.nodes for term in getattr(REGISTRY[n.type], method)(n)]


def _term_columns(g: Graph, method: str) -> list[list[int]]:
    """The columns each layer's terms take in the arrays :func:`_terms` fills (a type gives as many terms at
    every α and resolution)."""
    columns, start = [], 0
    for n in g.nodes:
        count = len(getattr(REGISTRY[n.type], method)(n))
        columns.append(list(range(start, start + count)))
        start += count
    return columns


def _alpha_row(g: Graph) -> dict[str, list[int]]:
    kinds = [REGISTRY[n.type] for n in g.nodes]
    pairs = list(zip(kinds, g.nodes, strict=True))
    return {"channels": [g.spec.channels] + [n.output.depth for n in g.nodes],
            "ma_chan": [count // area for count, area in _terms(g, "mult_adds_terms")],
            "work_chan": [count // area for count, area in _terms(g, "work_terms")],
            "w_chan": [k.weights(n) // k.weights_area(n) for k, n in pairs],
            # params only: biases, less the weights a layer `shares` (counted in memory access, not as params)
            "biases": [sum(k.biases(n) - k.table_params(n) - (k.weights(n) if n.layer.shares else 0)
                           for k, n in pairs)]}


def _resolution_row(g: Graph) -> dict[str, list[int]]:
    return {"area": [g.input.area] + [n.output.area for n in g.nodes],
            "ma_area": [area for _, area in _terms(g, "mult_adds_terms")],
            "work_area": [area for _, area in _terms(g, "work_terms")],
            "w_area": [REGISTRY[n.type].weights_area(n) for n in g.nodes],
            "tables": [sum(REGISTRY[n.type].table_params(n) for n in g.nodes)]}


def _rows(dropped: Dropped, values: list[Any], label: str, make: Any, extract: Any) -> list[tuple[Any, Any]]:
    out = []
    for value in values:
        try:
            out.append((value, extract(make(value))))
        except ShapeError as exc:
            dropped.add(f"{label} {value:g}: {exc.message}")
    return out
