"""The other counters, run on mobcost's torch build: ptflops (both backends), thop, torchinfo and onnx-tool —
whichever are installed (none is required). Each returns its own total, in its own unit, for the convention of
the same name in :mod:`mobcost.layers.conventions`, so ``mobcost check`` can put every tool's count beside
mobcost's figure under that tool's rules.

fvcore and torch's FlopCounterMode, which ``check`` runs per layer already, are here too (totals only), so a
test can run every counter the same way.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..analysis.conventions import count_graph
from ..graph import Graph

# convention name → the module that must be importable for its counter to run
PEERS = {"fvcore": "fvcore", "flop-counter": "torch", "ptflops-pytorch": "ptflops", "ptflops-aten": "ptflops",
         "thop": "thop", "torchinfo": "torchinfo", "onnx-tool": "onnx_tool"}
CHECKED = ("ptflops-pytorch", "ptflops-aten", "thop", "torchinfo", "onnx-tool")  # beside check's own two


@dataclass(frozen=True)
class PeerCount:
    """A tool's total for a network (or why it could not count it), beside mobcost's total under its rules."""

    convention: str
    count: int | None
    mobcost: int
    error: str = ""

    @property
    def match(self) -> bool | None:
        """Whether the tool and mobcost agree exactly (None when the tool failed)."""
        return None if self.count is None else self.count == self.mobcost


def installed(convention: str) -> bool:
    """Whether the tool of ``convention`` can be imported (onnx-tool also needs onnx)."""
    module = PEERS[convention]
    needs = [module, "onnx"] if module == "onnx_tool" else [module]
    return all(importlib.util.find_spec(m) is not None for m in needs)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The tools print banners and warnings on every call."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def fvcore_total(model: nn.Module, x: torch.Tensor) -> int:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return int(analysis.total())


def flop_counter_total(model: nn.Module, x: torch.Tensor) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


def ptflops_total(model: nn.Module, x: torch.Tensor, backend: str) -> int:
    from ptflops import get_model_complexity_info

    macs, _ = get_model_complexity_info(model, tuple(x.shape[1:]), as_strings=False, print_per_layer_stat=False,
                                        backend=backend, verbose=False)
    if macs is None:
        raise RuntimeError(f"ptflops ({backend}) could not count this model")
    return int(macs)


def thop_total(model: nn.Module, x: torch.Tensor) -> int:
    from thop import profile

    macs, _ = profile(model, inputs=(x,), verbose=False)
    return int(macs)


def torchinfo_total(model: nn.Module, x: torch.Tensor) -> int:
    from torchinfo import summary

    return int(summary(model, input_data=x, verbose=0).total_mult_adds)


def onnx_tool_total(model: nn.Module, x: torch.Tensor) -> int:
    """onnx-tool's MACs of the ONNX graph of ``model`` (TorchScript exporter, eval mode, BatchNorm kept)."""
    import onnx
    import onnx_tool

    from .export import export_onnx

    proto = onnx.load_from_string(export_onnx(model, tuple(x.shape[1:])))
    tool = onnx_tool.Model(proto)
    tool.graph.shape_infer()
    tool.graph.profile()
    return round(float(tool.graph.macs[0]))


COUNTERS: dict[str, Callable[[nn.Module, torch.Tensor], int]] = {
    "fvcore": fvcore_total, "flop-counter": flop_counter_total,
    "ptflops-pytorch": lambda m, x: ptflops_total(m, x, "pytorch"),
    "ptflops-aten": lambda m, x: ptflops_total(m, x, "aten"),
    "thop": thop_total, "torchinfo": torchinfo_total, "onnx-tool": onnx_tool_total,
}


def count_with(convention: str, model: nn.Module, x: torch.Tensor) -> int:
    """The tool of ``convention``'s total for ``model`` on input ``x`` (batch 1, no gradients)."""
    with _quiet(), torch.no_grad():
        return COUNTERS[convention](model, x)


def peer_counts(graph: Graph, conventions: tuple[str, ...] = CHECKED, model: Any = None) -> list[PeerCount]:
    """The installed tools' totals for ``graph``'s torch build, each beside mobcost's total under that tool's
    rules; a tool that fails says why instead."""
    from .build import graph_module, sample_input

    wanted = [name for name in conventions if installed(name)]
    if not wanted:
        return []
    model = graph_module(graph) if model is None else model
    x = sample_input(graph)
    out = []
    for name in wanted:
        mine = count_graph(graph, name).total
        try:
            out.append(PeerCount(name, count_with(name, model, x), mine))
        except Exception as exc:  # a tool's failure is reported beside the others, never fatal
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(". ")[0]
            first = first if len(first) <= 100 else first[:99] + "…"
            out.append(PeerCount(name, None, mine, f"could not count: {first}"))
    return out
