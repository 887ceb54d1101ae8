"""The mapping state and the folding rules it shares: which ONNX tensors a spec layer stands for, BatchNorm and
activations folded into the layer before them, and what happens to an operator mobcost cannot map (an error
naming it; with ``allow_unknown``, left out and wired around when its output has its input's shape)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..layers import ACTIVATIONS, REGISTRY
from ..spec.decode import SHARING
from .model import Emitted, ModelImportError, Op, OpGraph, Unmapped

# ONNX activation operators that are an `act` value by themselves (Clip and HardSigmoid need their bounds
# checked; see `unary_act`).
_UNARY_ACTS = {"Relu": "relu", "HardSwish": "hswish", "Sigmoid": "sigmoid", "Tanh": "tanh", "Gelu": "gelu",
               "LeakyRelu": "leaky_relu"}
# x · gate(x) written as two operators (SiLU, and hardswish before opset 14)
_GATED = {"Sigmoid": "silu", "HardSigmoid": "hswish"}
ACT_OPS = frozenset({*_UNARY_ACTS, "Clip", "HardSigmoid"})
# Activations written as several elementwise operators, by operator counts (see `Mapper._region`).
_ELEMENTWISE = frozenset({"Add", "Sub", "Mul", "Div", "Pow", "Erf", "Tanh", "Sigmoid", "HardSigmoid", "Clip",
                          "Relu"})
_REGIONS = {
    (("Add", 1), ("Div", 1), ("Erf", 1), ("Mul", 2)): "gelu",  # x · ½(1 + erf(x/√2))
    (("Add", 2), ("Mul", 6), ("Tanh", 1)): "gelu",  # the tanh approximation
    (("Add", 2), ("Mul", 4), ("Pow", 1), ("Tanh", 1)): "gelu",
    (("Mul", 1), ("Sigmoid", 1)): "silu",
    (("HardSigmoid", 1), ("Mul", 1)): "hswish",
    (("Add", 1), ("Clip", 1), ("Div", 1), ("Mul", 1)): "hswish",  # x · relu6(x + 3) / 6
    (("Add", 1), ("Clip", 1), ("Div", 1)): "hsigmoid",  # relu6(x + 3) / 6
}
_MAX_REGION = 12
_WEIGHTED = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul"})  # weight: input 1 (bias: input 2)


def walk_back(tensor: str, producer: dict[str, Op], ops: Iterable[str], limit: int) -> tuple[list[Op], Op | None]:
    """From ``tensor`` back through producers whose type is in ``ops`` along their first input, at most ``limit``
    of them: (those operators, the producer before them or None)."""
    walked: list[Op] = []
    op = producer.get(tensor)
    while op is not None and op.op in ops and len(walked) < limit:
        walked.append(op)
        op = producer.get(op.inputs[0])
    return walked, op


def chw(dims: tuple[int | None, ...]) -> tuple[int, int, int] | None:
    """The (C, H, W) a mobcost layer would give a tensor of these ONNX dims: NCHW as is, NC as C×1×1."""
    if len(dims) == 4 and None not in dims[1:]:
        return dims[1], dims[2], dims[3]  # type: ignore[return-value]
    if len(dims) == 2 and dims[1] is not None:
        return dims[1], 1, 1
    return None


def sequence(dims: tuple[int | None, ...]) -> tuple[int, int] | None:
    """(N, C) of a B×N×C token sequence: N tokens of C channels. The batch is free or 1, or the P sequences of
    MobileViT's unfold (the layers after it hold P in their shape)."""
    if len(dims) == 3 and (dims[0] is None or dims[0] >= 1) and dims[1] is not None and dims[2] is not None:
        return dims[1], dims[2]
    return None


def layer_shape(dims: tuple[int | None, ...]) -> tuple[int, int, int] | None:
    """The (C, H, W) a mobcost layer gives a map, a vector or a sequence (N tokens of C are held as C×N×1)."""
    seq = sequence(dims)
    return (seq[1], seq[0], 1) if seq is not None else chw(dims)


def shown(dims: tuple[int | None, ...]) -> str:
    return "×".join("?" if d is None else str(d) for d in dims) if dims else "scalar"


def close(value: Any, target: float) -> bool:
    return isinstance(value, int | float) and math.isclose(value, target, rel_tol=1e-4, abs_tol=1e-6)


@dataclass
class Mapper:
    """Walks the data-path operators once, in order; each handler emits layers and marks what it folded."""

    g: OpGraph
    allow_unknown: bool
    layers: list[Emitted] = field(default_factory=list)
    alias: dict[str, str] = field(default_factory=dict)  # tensor → the tensor it stands for (Identity, Flatten…)
    done: set[str] = field(default_factory=set)  # names of operators already folded into a layer
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tainted: dict[str, str] = field(default_factory=dict)  # tensor → the left-out node it comes from
    # a Pad's output → the padding its reader adds (top, left, bottom, right: ONNX's order)
    pads: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    stored: dict[str, Emitted] = field(default_factory=dict)  # a stored weight or bias → the layer counting it
    # head maps a detector's network output is made of by moves alone (SSD's reshape and concat): outputs too
    head_maps: list[str] = field(default_factory=list)
    # tensors that are a map held channels-last (N×H×W×C in the file): Swin's and TinyViT's blocks (windows.py)
    nhwc: set[str] = field(default_factory=set)
    rolls: dict[str, dict[int, int]] = field(default_factory=dict)  # a rolled channels-last map → {axis: −shift}
    # an unfold's patches held channels-first (B×C×P×N in the file: MobileViTv2), the tensors named by `unfold`
    # itself; the layers after it are found from these (``separable.channels_first``)
    cfirst: set[str] = field(default_factory=set)

    def resolve(self, tensor: str) -> str:
        while tensor in self.alias:
            tensor = self.alias[tensor]
        return tensor

    def dims(self, tensor: str) -> tuple[int | None, ...]:
        return self.g.shape(tensor)

    def emit(self, op: Op, kind: str, keys: dict[str, Any], inputs: tuple[str, ...], output: str,
             folded: tuple[Op, ...] = (), part: str = "") -> None:
        """Add a layer standing for ``op`` (and the operators folded into it), if this mobcost has its type."""
        if kind not in REGISTRY:
            self.leave_out(op, f"maps to a `{kind}` layer, which this mobcost does not have yet",
                           through=folded, output=output)
            return
        self.layers.append(Emitted(kind, self._shared(op, kind, keys), inputs, output,
                                   (op.name, *(f.name for f in folded)), op.path, part or op.part))
        self.done.update({op.name, *(f.name for f in folded)})
        for t in self._stored(op):
            self.stored.setdefault(t, self.layers[-1])

    def _stored(self, op: Op) -> list[str]:
        """The stored tensors (initializers) an operator with weights reads as its weight and bias."""
        if op.op not in _WEIGHTED:
            return []
        names = op.inputs[1:2] if op.op == "MatMul" else op.inputs[1:3]
        return [t for t in names if t and (c := self.g.const(t)) is not None and c.initializer]

    def _shared(self, op: Op, kind: str, keys: dict[str, Any]) -> dict[str, Any]:
        """One stored weight read by several layers is one tensor of params: the later layers ``shares`` the
        first (their Mult-Adds still count), and a stored bias counted already is no bias of theirs."""
        stored = self._stored(op)
        owner = self.stored.get(stored[0]) if stored and stored[0] == op.inputs[1] else None
        if owner is None:
            return keys
        if owner.type != kind or kind not in SHARING:  # the spec cannot say it: counted twice, and said so
            self.notes.append(f"{op.name} reads the weights of {owner.nodes[0]}, a {owner.type} layer: as a "
                              f"{kind} layer its params are counted again")
            return keys
        bias = keys.get("bias", False) and not any(t in self.stored for t in stored[1:])
        return {**keys, "bias": bias, "shares": owner.output}

    def leave_out(self, op: Op, reason: str, *, through: tuple[Op, ...] = (), output: str | None = None) -> None:
        """An error naming the operator — or, with ``allow_unknown``, a note and a wire around it (and around the
        operators ``through`` it would have been folded with, up to ``output``)."""
        shapes = tuple(self._input_shape(t) for t in op.inputs if t)
        if not self.allow_unknown:
            inputs = f"inputs {', '.join(shapes) or 'none'}"
            # an ONNX node is named without its type; a TFLite operator's name has it, and its inputs are shown NCHW
            said = f"{op.op} ({inputs})" if self.g.kind == "ONNX" else f"{inputs} (as N×C×H×W)"
            raise ModelImportError(f"{said}: {reason}", file=self.g.source, where=self.g.where(op.name))
        self.unmapped.append(Unmapped(op.name, op.op, shapes, reason))
        self.done.update({op.name, *(t.name for t in through)})
        data = [self.resolve(t) for t in self.g.dynamic_inputs(op)]
        for out in (output,) if output else op.outputs:
            shape = layer_shape(self.dims(out))
            same = next((t for t in data if shape is not None and layer_shape(self.dims(t)) == shape), None)
            if same is not None:
                self.alias[out] = same  # shape-preserving: the layers after it read its input instead
            elif out:
                self.tainted[out] = op.name

    def fits(self, op: Op, expected: int, got: int | None, weight: str) -> None:
        """A stored weight made for another input is a broken file, not a layer to count: the params would
        follow the weight and the Mult-Adds the input."""
        if got != expected:
            raise ModelImportError(f"{weight} takes {expected} input channels or features; the input has "
                                   f"{'an unknown number' if got is None else got}", file=self.g.source,
                                   where=self.g.where(op.name, op.op))

    def _input_shape(self, tensor: str) -> str:
        const = self.g.const(tensor)
        return f"const {shown(const.dims)}" if const is not None else shown(self.dims(tensor))

    def skip_tainted(self, op: Op) -> bool:
        """An operator reading the output of a left-out, shape-changing operator cannot be placed: left out too."""
        sources = [self.tainted[t] for t in self.g.dynamic_inputs(op) if t in self.tainted]
        if not sources:
            return False
        shapes = tuple(self._input_shape(t) for t in op.inputs if t)
        self.unmapped.append(Unmapped(op.name, op.op, shapes, f"reads the output of left-out node {sources[0]!r}"))
        self.done.add(op.name)
        self.tainted.update({out: sources[0] for out in op.outputs if out})
        return True

    # --- folding -----------------------------------------------------------------------------------------

    def sole_user(self, tensor: str, op_type: str | None = None) -> Op | None:
        """The one operator reading ``tensor`` (not a graph output, not folded yet), of ``op_type`` if given."""
        users = self.g.users(tensor)
        if len(users) != 1 or self.g.readers(tensor) != 1 or users[0].name in self.done:
            return None
        return users[0] if op_type is None or users[0].op == op_type else None

    def walk_forward(self, tensor: str, ops: Iterable[str], limit: int) -> tuple[list[Op], Op | None, str]:
        """From ``tensor`` through sole users whose type is in ``ops``, at most ``limit`` of them: (those
        operators, the sole user after them or None, the tensor it reads)."""
        walked: list[Op] = []
        user = self.sole_user(tensor)
        while user is not None and user.op in ops and len(walked) < limit:
            walked.append(user)
            tensor = user.outputs[0]
            user = self.sole_user(tensor)
        return walked, user, tensor

    def fold_tail(self, tensor: str, *, bn: bool) -> tuple[bool, str, str, tuple[Op, ...]]:
        """(BatchNorm folded?, act, the tensor the layer now ends at, folded operators) after a layer."""
        folded: list[Op] = []
        norm = self.sole_user(tensor, "BatchNormalization") if bn else None
        norm = norm if norm is not None and norm.inputs[0] == tensor else None
        if norm is not None:
            folded.append(norm)
            tensor = norm.outputs[0]
        match = self.match_act(tensor)
        if match is None or match[0] not in ACTIVATIONS:
            return norm is not None, "none", tensor, tuple(folded)
        return norm is not None, match[0], match[1], (*folded, *match[2])

    def match_act(self, tensor: str) -> tuple[str, str, tuple[Op, ...]] | None:
        """The activation applied to ``tensor`` and nothing else: (act, its output, its operators)."""
        user = self.sole_user(tensor)
        act = self.unary_act(user) if user is not None and user.inputs[0] == tensor else None
        if act is not None:
            return act, user.outputs[0], (user,)  # type: ignore[union-attr]
        users = self.g.users(tensor)
        if not users or self.g.readers(tensor) != len(users) or {u.name for u in users} & self.done:
            return None
        gated = self._gated(tensor, users) if len(users) == 2 else None
        return gated or self._region(tensor)

    def _region(self, tensor: str) -> tuple[str, str, tuple[Op, ...]] | None:
        """An activation the exporter wrote as several elementwise operators (GELU as Div/Erf/Add/Mul before
        opset 20, ``x * relu6(x + 3) / 6``): the operators reading only ``tensor``, each other and scalar
        constants, with one tensor leaving them, recognised by their operator counts."""
        inside, ops = {tensor}, []
        grown = True
        while grown and len(ops) <= _MAX_REGION:
            grown = False
            for user in [u for t in list(inside) for u in self.g.users(t)]:
                if user in ops or user.name in self.done or user.op not in _ELEMENTWISE:
                    continue
                if all(t in inside or self.scalar(t) for t in user.inputs if t):
                    ops.append(user)
                    inside.update(o for o in user.outputs if o)
                    grown = True
        names = {o.name for o in ops}
        leaving = [t for t in inside - {tensor}
                   if t in self.g.outputs or any(u.name not in names for u in self.g.users(t))]
        if len(leaving) != 1 or any(u.name not in names for u in self.g.users(tensor)):
            return None
        act = _REGIONS.get(tuple(sorted(Counter(o.op for o in ops).items())))
        return (act, leaving[0], tuple(ops)) if act else None

    def scalar(self, tensor: str) -> bool:
        const = self.g.const(tensor)
        # dims () may be dims shape inference left unknown: a value computed by a stored-weight layer is no scalar
        return const is not None and math.prod(const.dims) == 1 and not const.weights

    def unary_act(self, op: Op) -> str | None:
        if op.op in _UNARY_ACTS:
            return _UNARY_ACTS[op.op]
        if op.op == "HardSigmoid" and self._hard_sigmoid(op):
            return "hsigmoid"
        if op.op == "Clip":
            low, high = self._clip_bounds(op)
            if low is not None and close(low, 0.0):
                return "relu" if high is None else "relu6" if close(high, 6.0) else None
        return None

    @staticmethod
    def _hard_sigmoid(op: Op) -> bool:
        # torch's hardsigmoid is relu6(x + 3) / 6: ONNX HardSigmoid(alpha=1/6, beta=0.5)
        return close(op.attrs.get("alpha", 0.2), 1 / 6) and close(op.attrs.get("beta", 0.5), 0.5)

    def _clip_bounds(self, op: Op) -> tuple[Any, Any]:
        """Clip's min and max: attributes before opset 11, optional inputs since (None where absent)."""
        if "min" in op.attrs or "max" in op.attrs:
            return op.attrs.get("min"), op.attrs.get("max")
        bounds = []
        for i in (1, 2):
            name = op.inputs[i] if len(op.inputs) > i else ""
            const = self.g.const(name) if name else None
            bounds.append(const.scalar if const is not None else None)
        return bounds[0], bounds[1]

    def _gated(self, tensor: str, users: list[Op]) -> tuple[str, str, tuple[Op, ...]] | None:
        gate = next((u for u in users if u.op in _GATED and u.inputs[0] == tensor), None)
        mul = next((u for u in users if u.op == "Mul"), None)
        if gate is None or mul is None or (gate.op == "HardSigmoid" and not self._hard_sigmoid(gate)):
            return None
        if set(mul.inputs) != {tensor, gate.outputs[0]} or self.g.readers(gate.outputs[0]) != 1:
            return None
        return _GATED[gate.op], mul.outputs[0], (gate, mul)


Block = TypeVar("Block")


def plan_blocks(m: Mapper, anchor: str, match: Callable[[Mapper, Op, dict[str, Op]], Block | None],
                ops_of: Callable[[Block], Iterable[Op]],
                emitter: Callable[[Mapper, Op, Op, Block], Callable[[], None]]) -> dict[str, Callable[[], None]]:
    """For every block ``match`` finds at an operator of type ``anchor``: its first operator in file order → the
    call that emits its layer (or the located error saying why the layer cannot express it) when the walk
    reaches it. The block importers (additive, linear, conv and cascaded attention, XCA) share this plan."""
    producer = {t: op for op in m.g.ops for t in op.outputs if t}
    order = {op.name: i for i, op in enumerate(m.g.ops)}
    planned: dict[str, Callable[[], None]] = {}
    for op in m.g.ops:
        block = match(m, op, producer) if op.op == anchor else None
        if block is not None:
            first = min(ops_of(block), key=lambda o: order[o.name])
            planned[first.name] = emitter(m, op, first, block)
    return planned


def closed_block(m: Mapper, ops: list[Op], tail: str) -> str:
    """Why a matched block cannot be one layer: a tensor made inside it read outside it (but its end, ``tail``);
    "" when it can. Every block importer (attention, LeViT's, conv, additive, linear, XCA) asks it."""
    names = {o.name for o in ops}
    for op in ops:
        for t in op.outputs:
            if t and t != tail and (t in m.g.outputs or any(u.name not in names for u in m.g.users(t))):
                return f"{t!r}, made inside it, is read outside it"
    return ""
