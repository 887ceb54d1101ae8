"""MobileViTv2's block (timm ``MobileVitV2Block``, ``LinearSelfAttention``): the unfold held channels-first and the
separable self-attention on it.

timm unfolds the C×H×W map into B×C×P×N (``reshape(B, C, n_h, p, n_w, p).permute(0, 1, 3, 5, 2, 4).reshape(B, C,
P, N)``: P = p² positions in a patch, N patches) and keeps that layout through the transformer, so its token-wise
layers are 1×1 convolutions and GroupNorm(1) on the 4-D tensor. The unfold is the `unfold` layer whichever the
layout (``patches.map_unfold`` replays the chain's index movement and names the channels-first result in
``Mapper.cfirst``); the tensors computed from it stay channels-first patches (``channels_first``), on which a 1×1
convolution is a `linear` layer, GroupNorm a `gn` (``norms.py``), a sum an `add`, and the chain back to the map a
`fold` (``patches.map_fold_channels_first``). After the walk their dims are held P×N×C, as mobcost holds an
unfold's sequences, for the final shape check.

Separable attention, found before the walk (as multi-head attention is): a 1×1 ``Conv`` to 1 + 2C channels →
``Split`` [1, C, C] along the channels → ``Softmax`` over the tokens (the last axis) of the 1-channel scores →
``Mul`` by the keys → ``ReduceSum`` over the tokens (kept) → [``Expand``] → ``Mul`` by ``Relu`` of the values →
a 1×1 ``Conv`` C → C: one `separable_attention` layer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .model import Op
from .ops import _has_bias
from .patches import map_fold_channels_first
from .patterns import Mapper, shown

# layer types that keep an unfold's channels-first patches as they are (a chain of them is followed back to it)
_KEEPING = frozenset({"gn", "ln", "add", "sub", "mul", "div", "act", "linear", "separable_attention", "layerscale",
                      "dropout"})


def channels_first(m: Mapper, tensor: str) -> bool:
    """Whether ``tensor`` holds an unfold's patches channels-first: the unfold's own output, or the output of a layer
    of a type that keeps its input's layout, reading such a tensor."""
    tensor = m.resolve(tensor)
    if tensor in m.cfirst:
        return True
    layer = next((e for e in reversed(m.layers) if e.output == tensor), None)
    if layer is None or layer.type not in _KEEPING or not any(channels_first(m, t) for t in layer.inputs):
        return False
    m.cfirst.add(tensor)
    return True


def on_patches(m: Mapper, op: Op) -> bool:
    """``op`` reads channels-first patches: a 1×1 convolution (`linear`) or the fold back to the map; False to leave
    any other operator to its handler (sums, activations), which keeps the layout."""
    x = next((t for t in m.g.dynamic_inputs(op) if channels_first(m, t)), None)
    if x is None:
        return False
    if op.op in ("Reshape", "Transpose"):
        if not map_fold_channels_first(m, op):
            m.leave_out(op, f"a {op.op} of the channels-first patches {shown(m.dims(x))} (B×C×P×N) that is no fold "
                            "back to their map (timm's MobileVitV2Block); nearest: fold")
        return True
    if op.op == "Conv":
        _token_conv(m, op, x)
        return True
    return False


def _token_conv(m: Mapper, op: Op, x: str) -> None:
    """A 1×1 convolution (stride 1, one group, no padding) of channels-first patches: a linear layer on every token."""
    weight = m.g.const(op.inputs[1]) if len(op.inputs) > 1 else None
    plain = set(op.attrs.get("strides", [1, 1])) == {1} and not any(op.attrs.get("pads", [0])) \
        and op.attrs.get("group", 1) == 1 and set(op.attrs.get("dilations", [1])) == {1}
    if weight is None or len(weight.dims) != 4 or weight.dims[2:] != (1, 1) or not plain:
        dims = weight.dims if weight is not None else None
        m.leave_out(op, f"a convolution (weight {dims}) of the channels-first patches {shown(m.dims(x))}: only a "
                        "1×1 convolution of stride 1 (a linear layer on every token) maps on an unfold's patches")
        return
    m.fits(op, weight.dims[1], m.dims(x)[1], f"a {shown(weight.dims)} weight")
    _, act, tail, folded = m.fold_tail(op.outputs[0], bn=False)
    m.emit(op, "linear", {"out": weight.dims[0], "bias": _has_bias(m, op, 2), "act": act}, (x,), tail, folded)


def held_as_tokens(m: Mapper) -> None:
    """After the walk: every channels-first patch tensor a layer ends at as P×N×C, as mobcost holds the sequences."""
    for e in m.layers:
        dims = m.dims(e.output)
        if len(dims) == 4 and None not in dims[1:] and channels_first(m, e.output):
            _, c, big_p, n = dims
            m.g.dims[e.output] = (big_p, n, c)


def plan(m: Mapper) -> dict[str, Callable[[], None]]:
    """Every separable attention: its input projection's name → the call that emits its layer."""
    producer = {out: op for op in m.g.ops for out in op.outputs}
    planned: dict[str, Callable[[], None]] = {}
    for op in m.g.ops:
        if op.op == "Softmax":
            found = _separable(m, op, producer)
            if found is not None:
                planned[found[0].name] = _emitter(m, found)
    return planned


def _conv_1x1(m: Mapper, op: Op | None, cin: int | None, cout: int) -> bool:
    """``op`` is a 1×1 convolution of a stored cout×cin weight (stride 1, one group)."""
    weight = m.g.const(op.inputs[1]) if op is not None and op.op == "Conv" and len(op.inputs) > 1 else None
    return weight is not None and weight.dims == (cout, cin, 1, 1) and op.attrs.get("group", 1) == 1 \
        and set(op.attrs.get("strides", [1, 1])) == {1}  # type: ignore[union-attr]


def _axes(m: Mapper, op: Op) -> list[int] | None:
    axes = op.attrs.get("axes")
    if axes is None and len(op.inputs) > 1 and op.inputs[1]:
        const = m.g.const(op.inputs[1])
        axes = list(const.values) if const is not None and const.values is not None else None
    return None if axes is None else [a % 4 for a in axes]


def _split(m: Mapper, score: str, producer: dict[str, Op]) -> tuple[list[Op], str, str, int] | None:
    """The channel split [1, C, C] whose first part is ``score``: (its operators, keys, values, C). TorchScript
    writes one ``Split``; the dynamo exporter ``SplitToSequence`` and a ``SequenceAt`` per part."""
    op = producer.get(score)
    if op is not None and op.op == "Split" and len(op.outputs) == 3 and op.outputs[0] == score:
        widths = [m.dims(t)[1] if len(m.dims(t)) == 4 else None for t in op.outputs]
        c = widths[1]
        if c is None or widths != [1, c, c] or op.attrs.get("axis", 0) % 4 != 1:
            return None
        return [op], op.outputs[1], op.outputs[2], c
    if op is None or op.op != "SequenceAt":
        return None
    split = producer.get(op.inputs[0])
    sizes = m.g.const(split.inputs[1]) if split is not None and len(split.inputs) > 1 else None
    if split is None or split.op != "SplitToSequence" or sizes is None or sizes.values is None \
            or len(sizes.values) != 3 or split.attrs.get("axis", 0) % 4 != 1:
        return None
    c = int(sizes.values[1])
    parts = {_index(m, u): u for u in m.g.users(split.outputs[0])}
    if list(sizes.values) != [1, c, c] or sorted(parts) != [0, 1, 2] or parts[0] is not op:  # type: ignore[type-var]
        return None
    return [split, *(parts[i] for i in (0, 1, 2))], parts[1].outputs[0], parts[2].outputs[0], c


def _index(m: Mapper, op: Op) -> int | None:
    const = m.g.const(op.inputs[1]) if op.op == "SequenceAt" and len(op.inputs) > 1 else None
    return int(const.scalar) % 3 if const is not None and const.scalar is not None else None


def _separable(m: Mapper, softmax: Op, producer: dict[str, Op]) -> list[Op] | None:
    """[input projection, split, Softmax, Mul, ReduceSum, Relu, (Expand,) Mul, output projection] around
    ``softmax``, or None."""
    split = _split(m, softmax.inputs[0], producer)
    if split is None or softmax.attrs.get("axis", -1) % 4 != 3:
        return None
    parts, keys, values, c = split
    qkv = producer.get(parts[0].inputs[0])
    if not _conv_1x1(m, qkv, c, 1 + 2 * c) or m.g.readers(parts[0].inputs[0]) != 1:
        return None
    weigh = m.sole_user(softmax.outputs[0], "Mul")
    total = m.sole_user(weigh.outputs[0], "ReduceSum") if weigh is not None else None
    relu = m.sole_user(values, "Relu")
    if weigh is None or set(weigh.inputs) != {keys, softmax.outputs[0]} or m.g.readers(keys) != 1 \
            or total is None or _axes(m, total) != [3] or not total.attrs.get("keepdims", 1) or relu is None:
        return None
    chain = [qkv, *parts, softmax, weigh, total, relu]
    context = m.sole_user(total.outputs[0])
    if context is not None and context.op == "Expand":  # timm's context.expand_as(value)
        chain.append(context)
        context = m.sole_user(context.outputs[0])
    if context is None or context.op != "Mul" or set(context.inputs) != {chain[-1].outputs[0], relu.outputs[0]}:
        return None
    out = m.sole_user(context.outputs[0], "Conv")
    if not _conv_1x1(m, out, c, c):
        return None
    return [*chain, context, out]  # type: ignore[list-item]


def _emitter(m: Mapper, chain: list[Op]) -> Callable[[], None]:
    def emit() -> None:
        qkv, out = chain[0], chain[-1]
        x = qkv.inputs[0]
        if not channels_first(m, x):
            m.leave_out(qkv, f"separable self-attention on {shown(m.dims(x))}, which is not an unfold's patches: "
                             "it maps on the B×C×P×N patches of an unfold (MobileViTv2), each of the P sequences of "
                             "N tokens with its own context vector; nearest: unfold, then separable_attention",
                        through=tuple(chain[1:]), output=out.outputs[0])
            return
        keys = {"bias": _has_bias(m, qkv, 2), "out_bias": _has_bias(m, out, 2)}
        softmax = next(op for op in chain if op.op == "Softmax")
        named = dataclasses.replace(qkv, path=softmax.path or qkv.path, part="")  # the module's name (timm's `attn`)
        m.emit(named, "separable_attention", keys, (x,), out.outputs[0], tuple(chain[1:]), part="attention")

    return emit
