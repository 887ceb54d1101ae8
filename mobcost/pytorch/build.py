"""Graph → a real ``torch.nn.Module`` (eval mode, CPU, explicit integer padding). Imports torch: only
the cross-check and measurement paths import this module.

Each layer becomes one submodule ``layers.n<i>`` of a :class:`GraphNet`, a ``Sequential`` of named
parts (``conv``/``fc``, then ``bn``, then ``act``), so counters can attribute every op and parameter to
the layer it belongs to.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..errors import OptionError
from ..graph import INPUT, Graph, input_names
from ..ir import Node
from ..layers import REGISTRY, TorchPart

# A torch build of a design point may allocate at most this much (fp32 weights + every activation).
MAX_BUILD_BYTES = 4 << 30


class Join(nn.Module):
    """A layer of several inputs: their sum (``add``, then an optional activation) or ``concat``."""

    def __init__(self, how: str, after: nn.Module | None = None) -> None:
        super().__init__()
        self.how = how
        self.after = after

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.how == "concat":
            out = torch.cat(xs, dim=1)
        else:
            out = xs[0]
            for x in xs[1:]:
                out = out + x
        return self.after(out) if self.after is not None else out


def _part(part: TorchPart) -> nn.Module:
    return getattr(nn, part.module)(*part.args, **part.kwargs)


def layer_module(node: Node) -> nn.Module:
    """One layer as the registry describes its build (``LayerKind.torch_parts``): a ``Sequential`` of named
    parts, or a :class:`Join` of several inputs followed by its parts."""
    parts = REGISTRY[node.type].torch_parts(node)
    if parts and parts[0].name == "join":
        rest = OrderedDict((p.name, _part(p)) for p in parts[1:])
        return Join(parts[0].module, nn.Sequential(rest) if rest else None)
    return nn.Sequential(OrderedDict((p.name, _part(p)) for p in parts))


class GraphNet(nn.Module):
    """Runs the layers in execution order, feeding each the outputs it names."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.network = graph.spec.name
        self.layers = nn.ModuleDict({module_key(i): layer_module(n) for i, n in enumerate(graph.nodes)})
        index = {n.name: i for i, n in enumerate(graph.nodes)}
        # for each layer, the indices of its inputs (-1: the network input)
        self.sources = [[index.get(r, -1) if r != INPUT else -1 for r in input_names(graph.spec, i)]
                        for i in range(len(graph.nodes))]
        # Free each output after its last reader, as an eager network would: keeping every activation
        # alive makes each layer write to fresh (page-faulting) memory and distorts timings.
        last_reader = {s: i for i, sources in enumerate(self.sources) for s in sources if s >= 0}
        self.release = [[s for s, last in last_reader.items() if last == i] for i in range(len(graph.nodes))]
        # Every output nothing reads (the last layer, and any dead branch) is returned: a tracer such as
        # fvcore's drops the ops of outputs the forward pass does not return, so their counts would vanish.
        self.sinks = [i for i in range(len(graph.nodes)) if i not in last_reader]

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """The last layer's output; with dead branches, every sink's output in execution order (last one last)."""
        outputs: list[torch.Tensor | None] = []
        for module, sources, release in zip(self.layers.values(), self.sources, self.release, strict=True):
            outputs.append(module(*(x if s < 0 else outputs[s] for s in sources)))
            for s in release:
                outputs[s] = None
        sinks = tuple(outputs[i] for i in self.sinks)
        return sinks[0] if len(sinks) == 1 else sinks  # type: ignore[return-value]


def module_key(index: int) -> str:
    return f"n{index}"


def build_bytes(graph: Graph) -> int:
    """fp32 bytes a build would hold at once, at most: every weight and every activation."""
    weights = sum(REGISTRY[n.type].params(n) + REGISTRY[n.type].bn_params(n) for n in graph.nodes)
    activations = graph.input.numel + sum(n.output.numel for n in graph.nodes)
    return 4 * (weights + activations)


def graph_module(graph: Graph) -> GraphNet:
    """The torch module of a graph, in eval mode on the CPU, refusing builds over ``MAX_BUILD_BYTES``."""
    need = build_bytes(graph)
    if need > MAX_BUILD_BYTES:
        raise OptionError(f"a torch build of {graph.spec.name} at α={graph.alpha:g}, {graph.resolution}px would "
                          f"need {need / 2**30:.1f} GiB (limit {MAX_BUILD_BYTES / 2**30:.0f} GiB)",
                          file=graph.spec.file)
    with torch.no_grad():
        return GraphNet(graph).eval()


def sample_input(graph: Graph) -> torch.Tensor:
    """A fixed random image (seeded): timings see real values, as a user's would."""
    shape = (1, graph.spec.channels, graph.resolution, graph.resolution)
    return torch.randn(shape, generator=torch.Generator().manual_seed(0))
