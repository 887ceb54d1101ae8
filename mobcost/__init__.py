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
    from .torchside import require_torch

    require_torch()
    from .torchside.build import graph_module

    return graph_module(build(spec, alpha, rho, resolution))


def from_torch(module: Module, input_shape: tuple[int, ...] = (3, 224, 224), *, dynamo: bool = False,
               allow_unknown: bool = False) -> Spec:
    """The spec of a ``torch.nn.Module``: exported to ONNX in memory (eval mode, BatchNorm kept) and imported, so
    params and BN params equal the module's. Needs the ``torch`` extra; see ``mobcost.importers`` for ONNX files.
    """
    from .torchside import require_torch

    require_torch()
    from .torchside.export import import_torch

    result = import_torch(module, input_shape, dynamo=dynamo, allow_unknown=allow_unknown)
    return parse_spec(result.yaml, file=f"<{type(module).__name__} (imported)>", default_name=result.name)


__all__ = ["Analysis", "Graph", "MobcostError", "OptionError", "Row", "ShapeError", "Spec", "SpecError",
           "Totals", "__version__", "analyze", "build", "from_torch", "load_spec", "parse_spec", "to_torch"]
