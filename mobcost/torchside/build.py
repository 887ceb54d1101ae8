"""Graph → a real ``torch.nn.Module`` (eval mode, CPU, explicit integer padding). Imports torch: only
the cross-check and measurement paths import this module.

Each layer becomes one submodule ``layers.n<i>`` of a :class:`GraphNet`, a ``Sequential`` of named
parts (``conv``/``fc``/``se``, then ``bn``, then ``act``), so counters can attribute every op and parameter
to the layer it belongs to. Parts name a ``torch.nn`` class, or one of mobcost's own small modules below
(:data:`MODULES`: squeeze-and-excitation, channel slice, channel shuffle).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..errors import OptionError
from ..graph import INPUT, Graph, input_names
from ..ir import Node
from ..layers import REGISTRY, TORCH_ACTIVATIONS, TorchPart
from .additive import MODULES as ADDITIVE_MODULES
from .cascaded import CascadedAttention
from .levit import MODULES as LEVIT_MODULES
from .linear_attention import LinearAttention
from .separable import MODULES as SEPARABLE_MODULES
from .sequences import MODULES as SEQUENCE_MODULES
from .xca import MODULES as XCA_MODULES

# A torch build of a design point may allocate at most this much (fp32 weights + every activation).
MAX_BUILD_BYTES = 4 << 30


class Join(nn.Module):
    """A layer of several inputs: their sum (``add``, then an optional activation), ``concat``, or the product
    x · gate (``mul``, the gate broadcast over H×W)."""

    def __init__(self, how: str, after: nn.Module | None = None) -> None:
        super().__init__()
        self.how = how
        self.after = after

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.how == "concat":
            out = torch.cat(xs, dim=1)
        elif self.how == "mul":
            out = xs[0] * xs[1]
        elif self.how == "sub":
            out = xs[0] - xs[1]
        elif self.how == "div":
            out = xs[0] / xs[1]
        else:
            out = xs[0]
            for x in xs[1:]:
                out = out + x
        return self.after(out) if self.after is not None else out


def activation(name: str, inplace: bool = True) -> nn.Module:
    """An activation by its spec name (``none``: the identity)."""
    if name not in TORCH_ACTIVATIONS:
        return nn.Identity()
    module, kwargs, can = TORCH_ACTIVATIONS[name]
    return getattr(nn, module)(**kwargs, **({"inplace": True} if can and inplace else {}))


class SqueezeExcite(nn.Module):
    """x · gate(fc2(act(fc1(avgpool(x))))): 1×1 convs C→s→C with biases (torchvision's SqueezeExcitation)."""

    def __init__(self, channels: int, squeeze: int, act: str = "relu", gate: str = "sigmoid") -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.act = activation(act)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.gate = activation(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))


# The modules below take their sizes as plain integers, so a trace holds no shape arithmetic (which fvcore
# would list as uncounted ops): they cost nothing, and counters see nothing.


class ChannelSlice(nn.Module):
    """Channels [start, start + width): one of equal parts (a view, as ShuffleNetV2's ``chunk``)."""

    def __init__(self, start: int, width: int) -> None:
        super().__init__()
        self.start, self.width = start, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.narrow(1, self.start, self.width)


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle with view and transpose (as torchvision writes it) rather than
    ``nn.ChannelShuffle``, whose op fvcore cannot name."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.channels, self.groups = channels, groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, self.groups, self.channels // self.groups, *x.shape[2:]).transpose(1, 2)
        return x.flatten(1, 2)


class FlattenMap(nn.Module):
    """C×H×W → (C·H·W)×1×1, kept four-dimensional so any layer type can follow."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, self.channels, 1, 1)


class ZeroPad(nn.Module):
    """Padding (left, right, top, bottom) with ``value`` (0, or −∞ before a max pool), as ``constant_pad_nd``
    (which fvcore knows costs nothing; ``nn.ZeroPad2d`` traces as ``aten::pad``, which it would list as
    uncounted)."""

    def __init__(self, pads: tuple[int, int, int, int], value: float = 0.0) -> None:
        super().__init__()
        self.pads, self.value = list(pads), value
        self.own_input = False  # set for litert-torch by runtimes.litert.convert.pads_apart (why: there)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.constant_pad_nd(x * 1.0 if self.own_input else x, self.pads, self.value)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of each pixel of an N×C×H×W map (torchvision's ConvNeXt LayerNorm2d)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class LayerScale(nn.Module):
    """x · γ, one learned γ per channel (ConvNeXt's ``layer_scale``)."""

    def __init__(self, channels: int, tokens: bool = False) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels) if tokens else torch.ones(channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class L2Norm(nn.Module):
    """x / ‖x‖₂ over the channels (dim 1 of a map, the last of a sequence), then × γ per channel when ``gamma``
    (SSD300's L2Norm); the norm clamped below by 1e-12, as ``F.normalize``."""

    def __init__(self, channels: int, gamma: bool, tokens: bool = False) -> None:
        super().__init__()
        self.dim = -1 if tokens else 1
        shape = (channels,) if tokens else (channels, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape)) if gamma else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x / x.norm(p=2, dim=self.dim, keepdim=True).clamp_min(1e-12)
        return x * self.gamma if self.gamma is not None else x


# mobcost's own modules a ``TorchPart`` may name; every other name is a ``torch.nn`` class
MODULES: dict[str, type[nn.Module]] = {"SqueezeExcite": SqueezeExcite, "ChannelSlice": ChannelSlice,
                                       "ChannelShuffle": ChannelShuffle, "FlattenMap": FlattenMap,
                                       "LayerNorm2d": LayerNorm2d, "LayerScale": LayerScale, "ZeroPad": ZeroPad,
                                       "L2Norm": L2Norm,
                                       **SEQUENCE_MODULES, **ADDITIVE_MODULES, **LEVIT_MODULES, **XCA_MODULES,
                                       **SEPARABLE_MODULES, "LinearAttention": LinearAttention,
                                       "CascadedAttention": CascadedAttention}


def part_module(part: TorchPart) -> nn.Module:
    """The torch module of one part of a layer's build."""
    module = MODULES[part.module] if part.module in MODULES else getattr(nn, part.module)
    return module(*part.args, **part.kwargs)


def layer_module(node: Node) -> nn.Module:
    """One layer as the registry describes its build (``LayerKind.torch_parts``): a ``Sequential`` of named
    parts, or a :class:`Join` of several inputs followed by its parts."""
    parts = REGISTRY[node.type].torch_parts(node)
    if parts and parts[0].name == "join":
        rest = OrderedDict((p.name, part_module(p)) for p in parts[1:])
        return Join(parts[0].module, nn.Sequential(rest) if rest else None)
    return nn.Sequential(OrderedDict((p.name, part_module(p)) for p in parts))


WEIGHTED = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def tie_shared(graph: Graph, modules: list[nn.Module], index: dict[str, int]) -> None:
    """A layer that ``shares`` an earlier one's weights (an RPN head on every FPN level) reads that layer's very
    Parameters, so the module holds them once, as the closed form counts them (torch's named_parameters, and
    with it fvcore, list a tied tensor under its first name only)."""
    for node, module in zip(graph.nodes, modules, strict=True):
        if not node.layer.shares:
            continue
        owner = dict(modules[index[node.layer.shares]].named_modules())
        for name, part in module.named_modules():
            if isinstance(part, WEIGHTED) and isinstance(owner.get(name), type(part)):
                part.weight = owner[name].weight
                if part.bias is not None:
                    part.bias = owner[name].bias


class GraphNet(nn.Module):
    """Runs the layers in execution order, feeding each the outputs it names."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.network = graph.spec.name
        self.layers = nn.ModuleDict({module_key(i): layer_module(n) for i, n in enumerate(graph.nodes)})
        index = {n.name: i for i, n in enumerate(graph.nodes)}
        tie_shared(graph, list(self.layers.values()), index)
        # for each layer, the indices of its inputs (-1: the network input)
        self.sources = [[index.get(r, -1) if r != INPUT else -1 for r in input_names(graph.spec, i)]
                        for i in range(len(graph.nodes))]
        # Free each output after its last reader, as an eager network would: keeping every activation
        # alive makes each layer write to fresh (page-faulting) memory and distorts timings.
        last_reader = {s: i for i, sources in enumerate(self.sources) for s in sources if s >= 0}
        # A spec's `outputs:` are returned in its order (and kept until then, though later layers read them);
        # without them, every output nothing reads (the last layer, and any dead branch) is returned: a tracer
        # such as fvcore's drops the ops of outputs the forward pass does not return, so their counts would vanish.
        declared = [index[name] for name in graph.spec.outputs]
        self.sinks = declared or [i for i in range(len(graph.nodes)) if i not in last_reader]
        self.release = [[s for s, last in last_reader.items() if last == i and s not in declared]
                        for i in range(len(graph.nodes))]

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """The last layer's output; with dead branches, every sink's output in execution order (last one last); with
        the spec's ``outputs:``, those, in its order."""
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
        x = graph.input
        raise OptionError(f"a torch build of {graph.spec.name} at α={graph.alpha:g}, {x.h}×{x.w} px would "
                          f"need {need / 2**30:.1f} GiB (limit {MAX_BUILD_BYTES / 2**30:.0f} GiB)",
                          file=graph.spec.file)
    with torch.no_grad():
        return GraphNet(graph).eval()


def sample_input(graph: Graph) -> torch.Tensor:
    """A fixed random image (seeded): timings see real values, as a user's would."""
    x = graph.input
    shape = (1, x.c, x.h, x.w)
    return torch.randn(shape, generator=torch.Generator().manual_seed(0))
