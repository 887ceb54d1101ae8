"""Every closed-form count against two independent counters, on a real torch build of the same graph.

* **fvcore** ``FlopCountAnalysis`` (TorchScript tracing; one multiply-add = one flop) and
  ``parameter_count``.
* **torch.utils.flop_counter** ``FlopCounterMode`` (dispatch level; two flops per multiply-add), so the
  check survives the deprecation of the tracing fvcore relies on.

Per layer, conv and linear counts are compared with ``mult_adds``, conv/linear parameters with
``params`` and BatchNorm parameters with ``bn_params``. What the paper's convention leaves out
(fvcore's BatchNorm and pooling flops) is reported beside, and so is every op fvcore could not count.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..analysis import Analysis, analyze_graph
from ..analysis.paper import GRID_ALPHAS, GRID_RESOLUTIONS
from ..errors import ShapeError
from ..graph import Graph, build
from ..spec import Spec
from . import require_torch

# fvcore's names for conv and FC work and for products of two activations (attention's Q·Kᵀ and A·V)
MULT_ADD_OPS = ("conv", "linear", "addmm", "matmul", "mm", "bmm", "einsum")
# the parts of a layer's build (``layers.n<i>.<part>``) whose parameters are its ``params``, and those whose
# parameters are its ``bn_params`` (BatchNorm's, LayerNorm's and GroupNorm's γ, β)
PARAM_PARTS = ("conv", "fc", "se", "scale", "attn", "embed")
NORM_PARTS = ("bn", "ln", "gn")
# torch's; two flops per multiply-add (the scaled-dot-product attention kernels: both products of activations)
FLOP_COUNTER_OPS = ("convolution", "addmm", "mm", "bmm", "_scaled_dot_product_flash_attention_for_cpu",
                    "_scaled_dot_product_efficient_attention", "_scaled_dot_product_flash_attention")


@dataclass(frozen=True)
class LayerCheck:
    name: str
    type: str
    mult_adds: int
    fvcore_mult_adds: int
    flop_counter_flops: int  # FlopCounterMode's count: two flops per multiply-add
    params: int
    fvcore_params: int
    bn_params: int
    fvcore_bn_params: int
    fvcore_uncounted: dict[str, int] = field(default_factory=dict)  # BN, pooling: outside the convention

    @property
    def flop_counter_mult_adds(self) -> float:
        return self.flop_counter_flops / 2

    @property
    def match(self) -> bool:
        return (self.mult_adds == self.fvcore_mult_adds and 2 * self.mult_adds == self.flop_counter_flops
                and self.params == self.fvcore_params and self.bn_params == self.fvcore_bn_params)


@dataclass(frozen=True)
class CheckReport:
    analysis: Analysis
    layers: tuple[LayerCheck, ...]
    unsupported_ops: dict[str, int]

    @property
    def all_match(self) -> bool:
        return all(layer.match for layer in self.layers)

    def fvcore_totals(self) -> dict[str, int]:
        return {"mult_adds": sum(c.fvcore_mult_adds for c in self.layers),
                "params": sum(c.fvcore_params for c in self.layers)}

    def flop_counter_totals(self) -> dict[str, int]:
        return {"mult_adds": sum(c.flop_counter_flops for c in self.layers) // 2}


def check_graph(graph: Graph) -> CheckReport:
    """Build ``graph`` in torch, count it with fvcore and FlopCounterMode, compare layer by layer."""
    require_torch()
    import torch

    from .build import graph_module, module_key, sample_input

    analysis = analyze_graph(graph)
    model = graph_module(graph)
    x = sample_input(graph)
    with torch.no_grad():
        fv_ops, unsupported = _fvcore_counts(model, x)
        fc_ops = _flop_counter_counts(model, x)
    params, nested = _parameter_counts(model), _nested_norm_counts(model)
    checks = []
    for i, row in enumerate(analysis.rows):
        key = f"layers.{module_key(i)}"
        ops = fv_ops.get(key, Counter())
        # the torch build runs a per-RoI layer for one proposal; the row counts all of them (weights once)
        checks.append(LayerCheck(
            name=row.name, type=row.node.type, mult_adds=row.mult_adds,
            fvcore_mult_adds=row.times * sum(ops[o] for o in MULT_ADD_OPS),
            flop_counter_flops=row.times * fc_ops.get(key, 0),
            params=row.params, fvcore_params=sum(params[f"{key}.{part}"] - nested[f"{key}.{part}"]
                                                 for part in PARAM_PARTS),
            bn_params=row.bn_params, fvcore_bn_params=sum(params[f"{key}.{part}"] for part in NORM_PARTS)
            + sum(nested[f"{key}.{part}"] for part in PARAM_PARTS),
            fvcore_uncounted={o: n for o, n in sorted(ops.items()) if o not in MULT_ADD_OPS and n},
        ))
    return CheckReport(analysis, tuple(checks), unsupported)


def _fvcore_counts(model: Any, x: Any) -> tuple[dict[str, Counter[str]], dict[str, int]]:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript tracer deprecation notices
        by_module = analysis.by_module_and_operator()
    unsupported = dict(analysis.unsupported_ops())
    return {k: Counter(v) for k, v in by_module.items()}, unsupported


def _flop_counter_counts(model: Any, x: Any) -> dict[str, int]:
    """Conv and matmul flops per ``layers.n<i>`` module, from torch's dispatch-level counter."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model(x)
    counts: dict[str, int] = {}
    for module, ops in counter.get_flop_counts().items():
        parts = module.split(".")
        if len(parts) >= 3 and parts[-2] == "layers":  # "<Root>.layers.n3"
            key = ".".join(parts[-2:])
            counts[key] = sum(n for op, n in ops.items() if str(op).split(".")[-1] in FLOP_COUNTER_OPS)
    return counts


def _parameter_counts(model: Any) -> Counter[str]:
    from fvcore.nn import parameter_count

    return Counter(parameter_count(model))


def _nested_norm_counts(model: Any) -> Counter[str]:
    """The γ, β of norms inside a part (MobileNetV4 attention's K/V BatchNorms), by every enclosing module's
    name: mobcost counts them as bn_params, as it does a layer's own ``bn``."""
    from torch import nn

    counts: Counter[str] = Counter()
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d | nn.LayerNorm | nn.GroupNorm):
            parts = name.split(".")
            size = sum(p.numel() for p in module.parameters(recurse=False))
            for i in range(1, len(parts)):
                counts[".".join(parts[:i])] += size
    return counts


@dataclass(frozen=True)
class Point:
    """One design point of ``check --all``: a report, or why the point does not exist."""

    spec: str
    alpha: float
    resolution: int
    report: CheckReport | None
    skipped: str = ""




def grid_resolutions(size: int) -> list[int]:
    """The paper's resolutions for a 224 network; the same ratios of a spec's own size otherwise."""
    return [round(size * r / 224) for r in GRID_RESOLUTIONS]


def grid(specs: list[Spec]) -> list[tuple[Spec, float, int]]:
    return [(s, a, r) for s in specs for a in GRID_ALPHAS for r in grid_resolutions(s.size)]


def check_point(spec: Spec, alpha: float, resolution: int) -> Point:
    try:
        graph = build(spec, alpha, resolution=resolution)
    except ShapeError as exc:  # e.g. a fixed-size head that cannot take a smaller input
        return Point(spec.name, alpha, resolution, None, skipped=exc.message)
    return Point(spec.name, alpha, resolution, check_graph(graph))
