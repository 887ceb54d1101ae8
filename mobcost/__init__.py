"""mobcost: the MobileNets paper's closed-form cost model (Mult-Adds, params, memory access) as a library.

    >>> from mobcost import load_spec, analyze
    >>> a = analyze(load_spec("specs/mobilenet_v1.yaml"), alpha=0.75, rho=0.714)
    >>> a.totals.mult_adds
    166396800
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .analysis import Analysis, Row, Totals, analyze
from .errors import MobcostError, OptionError, ShapeError, SpecError
from .graph import Graph, build
from .spec import Spec, load_spec, parse_spec
from .version import __version__

if TYPE_CHECKING:
    from torch.nn import Module



def to_torch(spec: Spec, alpha: float = 1.0, rho: float | None = None, resolution: int | None = None) -> Module:
    """A ``torch.nn.Module`` of ``spec`` at (α, ρ): eval mode, CPU, BN and activations as the spec implies.

    Needs the ``torch`` extra; imports torch only when called.
    """
    from .pytorch import require_torch

    require_torch()
    from .pytorch.build import graph_module

    return graph_module(build(spec, alpha, rho, resolution))


__all__ = ["Analysis", "Graph", "MobcostError", "OptionError", "Row", "ShapeError", "Spec", "SpecError",
           "Totals", "__version__", "analyze", "build", "load_spec", "parse_spec", "to_torch"]
