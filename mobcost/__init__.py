"""mobcost: the MobileNets paper's closed-form cost model (Mult-Adds, params, memory access) as a library.

    >>> from mobcost import load_spec, analyze
    >>> a = analyze(load_spec("specs/mobilenet_v1.yaml"), alpha=0.75, rho=0.714)
    >>> a.totals.mult_adds
    166396800
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import MobcostError, OptionError, ShapeError, SpecError
from .version import __version__

if TYPE_CHECKING:
    from torch.nn import Module

    from .analysis import Analysis, Row, Totals, analyze
    from .graph import Graph, build
    from .spec import Spec, load_spec, parse_spec

# The API's names from the rooms below, imported on first use (PEP 562): `import mobcost.cli` for `mobcost
# --help` or `mobcost schema` then does not load the spec reader, the graph and the analysis.
_HOMES = {"Analysis": "analysis", "Row": "analysis", "Totals": "analysis", "analyze": "analysis",
          "Graph": "graph", "build": "graph", "Spec": "spec", "load_spec": "spec", "parse_spec": "spec"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    if not name.startswith("_"):  # a room, as `mobcost.analysis` was reachable when this file imported it
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_torch(spec: Spec, alpha: float = 1.0, rho: float | None = None, resolution: int | None = None) -> Module:
    """A ``torch.nn.Module`` of ``spec`` at (α, ρ): eval mode, CPU, BN and activations as the spec implies.

    Needs the ``torch`` extra; imports torch only when called.
    """
    from .torchside import require_torch

    require_torch()
    from .graph import build
    from .torchside.build import graph_module

    return graph_module(build(spec, alpha, rho, resolution))


def from_torch(module: Module, input_shape: tuple[int, ...] = (3, 224, 224), *, dynamo: bool = False,
               allow_unknown: bool = False) -> Spec:
    """The spec of a ``torch.nn.Module``: exported to ONNX in memory (eval mode, BatchNorm kept) and imported, so
    params and BN params equal the module's. Needs the ``torch`` extra; see ``mobcost.importers`` for ONNX files.
    """
    from .torchside import require_torch

    require_torch()
    from .spec import parse_spec
    from .torchside.export import import_torch

    result = import_torch(module, input_shape, dynamo=dynamo, allow_unknown=allow_unknown)
    return parse_spec(result.yaml, file=f"<{type(module).__name__} (imported)>", default_name=result.name)


__all__ = ["Analysis", "Graph", "MobcostError", "OptionError", "Row", "ShapeError", "Spec", "SpecError",
           "Totals", "__version__", "analyze", "build", "from_torch", "load_spec", "parse_spec", "to_torch"]
