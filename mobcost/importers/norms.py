"""Normalisations the exporters write as several operators — found before the walk (as attention is) or at their
first operator: GroupNorm, InstanceNorm and L2 normalisation.

* GroupNorm (opset 17, the TorchScript exporter): ``Reshape`` to N×G×(C/G·H·W) → ``InstanceNormalization`` with
  constant scale 1 and bias 0 per group → ``Reshape`` back → ``Mul`` by γ (C×1×1) → ``Add`` β: one `gn` layer of G
  groups (γ, β: bn_params). ``InstanceNormalization`` of the map itself (a scale and bias per channel): `gn` with
  ``group_width: 1``. ONNX's own GroupNormalization (opset 21: γ, β per channel): `gn`.
* L2 normalisation: ``ReduceL2`` over the channels (keepdims) → ``Clip``/``Max`` (the ε floor) → [``Expand``] →
  ``Div`` of the map by it → [``Mul`` by a stored γ per channel]: one `l2norm` layer (``gamma``: C weights).
* The difference and quotient of two maps outside those (``Sub``, ``Div``: FastViT's RepMixer x + γ·(mixer(x) −
  norm(x))): `sub` and `div`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .model import Op
from .patterns import Mapper, chw, sequence


def plan(m: Mapper) -> dict[str, Callable[[], None]]:
    """Every GroupNorm chain: its first operator (the Reshape to groups) → the call that emits its `gn` layer."""
    planned: dict[str, Callable[[], None]] = {}
    for op in m.g.ops:
        if op.op == "InstanceNormalization":
            chain = _group_chain(m, op)
            if chain is not None:
                planned[chain[0].name] = _emitter(m, chain)
    return planned


def _group_chain(m: Mapper, norm: Op) -> list[Op] | None:
    """[Reshape to groups, InstanceNormalization, Reshape back, Mul γ, Add β] around ``norm``, or None."""
    producer = next((op for op in m.g.ops if norm.inputs[0] in op.outputs), None)
    if producer is None or producer.op != "Reshape" or m.g.readers(norm.inputs[0]) != 1:
        return None
    x = producer.inputs[0]
    dims, grouped = m.dims(x), m.dims(norm.inputs[0])
    scale = m.g.const(norm.inputs[1]) if len(norm.inputs) > 1 else None
    if chw(dims) is None or len(dims) != 4 or len(grouped) != 3 or grouped[1] is None or scale is None \
            or scale.dims != (grouped[1],):
        return None
    back = m.sole_user(norm.outputs[0], "Reshape")
    if back is None or m.dims(back.outputs[0]) != dims:
        return None
    chain = [producer, norm, back]
    for kind in ("Mul", "Add"):  # γ, β: stored per channel (C×1×1, as views of the module's (C,) parameters)
        step = m.sole_user(chain[-1].outputs[0], kind)
        other = next((t for t in step.inputs if t != chain[-1].outputs[0]), "") if step is not None else ""
        const = m.g.const(other) if other else None
        if step is None or const is None or not const.initializer \
                or const.dims not in ((dims[1], 1, 1), (1, dims[1], 1, 1)):
            return None
        chain.append(step)
    return chain


def _emitter(m: Mapper, chain: list[Op]) -> Callable[[], None]:
    def emit() -> None:
        groups = m.dims(chain[1].inputs[0])[1]
        _, act, tail, folded = m.fold_tail(chain[-1].outputs[0], bn=False)
        m.emit(chain[0], "gn", {"groups": groups, "act": act}, (chain[0].inputs[0],), tail,
               (*chain[1:], *folded), part="gn")

    return emit


def instance_norm(m: Mapper, op: Op) -> None:
    """InstanceNormalization of a map with a scale and bias per channel: `gn` with one channel per group."""
    dims = m.dims(op.inputs[0])
    scale = m.g.const(op.inputs[1]) if len(op.inputs) > 1 else None
    if chw(dims) is None or len(dims) != 4 or scale is None or scale.dims != (dims[1],):
        m.leave_out(op, f"InstanceNormalization of {list(dims)}: only one over a map's channels (gn, "
                        "group_width 1) or inside GroupNorm's Reshape → InstanceNormalization → Reshape → Mul → Add "
                        "(gn) maps")
        return
    if not scale.initializer:  # torch's InstanceNorm2d(affine=False) writes constant ones: no γ, β to count
        m.leave_out(op, "InstanceNormalization without stored γ, β (affine=False): gn counts 2·C γ, β, which this "
                        "model does not hold; nearest: gn with group_width 1")
        return
    _, act, tail, folded = m.fold_tail(op.outputs[0], bn=False)
    m.emit(op, "gn", {"group_width": 1, "act": act}, (op.inputs[0],), tail, folded)


def group_norm(m: Mapper, op: Op) -> None:
    """ONNX's own GroupNormalization: `gn` of ``num_groups`` groups where γ, β are stored per channel (opset 21's
    form; opset 18–20 store them per group, G values each, which `gn`'s 2·C would overstate)."""
    dims, groups = m.dims(op.inputs[0]), op.attrs.get("num_groups")
    scale = m.g.const(op.inputs[1]) if len(op.inputs) > 1 else None
    if chw(dims) is None or len(dims) != 4 or scale is None or not scale.initializer or scale.dims != (dims[1],) \
            or not isinstance(groups, int) or groups < 1:
        m.leave_out(op, f"GroupNormalization of {list(dims)} with γ of dims {scale.dims if scale else None}: only "
                        "one with stored γ, β per channel (opset 21) maps (gn)")
        return
    _, act, tail, folded = m.fold_tail(op.outputs[0], bn=False)
    m.emit(op, "gn", {"groups": groups, "act": act}, (op.inputs[0],), tail, folded)


def l2_norm(m: Mapper, op: Op) -> None:
    """ReduceL2 over the channels (of a map's pixels, or of a B×N×C sequence's tokens) → ε floor → [Expand] → Div
    → [Mul γ]: `l2norm`."""
    x, dims = op.inputs[0], m.dims(op.inputs[0])
    axes = op.attrs.get("axes")
    if axes is None and len(op.inputs) > 1 and op.inputs[1]:
        const = m.g.const(op.inputs[1])
        axes = list(const.values) if const is not None and const.values is not None else None
    walked, step, _ = m.walk_forward(op.outputs[0], ("Clip", "Max", "Expand", "Add"), 3)
    seq = sequence(dims)  # B×N×C tokens: the channels are the last axis (SwiftFormer's F.normalize(q, dim=-1))
    channel = 2 if seq is not None else 1
    shaped = seq is not None or (chw(dims) is not None and len(dims) == 4)
    if not shaped or axes is None or [a % len(dims) for a in axes] != [channel] \
            or not op.attrs.get("keepdims", 1) or step is None or step.op != "Div" or step.inputs[0] != x:
        m.leave_out(op, f"ReduceL2 of {list(dims)} over axes {axes}: only x / ‖x‖ over the channels of a map or of "
                        "each token maps (l2norm)")
        return
    walked.append(step)
    end, gamma = step.outputs[0], False
    scale = m.sole_user(end, "Mul")
    other = next((t for t in scale.inputs if t != end), "") if scale is not None else ""
    const = m.g.const(other) if other else None
    if scale is not None and const is not None and const.initializer \
            and const.dims in (((dims[2],), (1, 1, dims[2])) if seq is not None
                               else ((dims[1], 1, 1), (1, dims[1], 1, 1))):
        walked.append(scale)
        end, gamma = scale.outputs[0], True
    m.emit(op, "l2norm", {"gamma": gamma}, (x,), end, tuple(walked))


def difference(m: Mapper, op: Op, data: list[str]) -> None:
    """x − y and x / y of two data tensors (FastViT's RepMixer, a norm's division): `sub`, `div`; y of x's shape or
    broadcast over it (C×1×1, 1×H×W)."""
    x, y = data
    a, b = chw(m.dims(x)), chw(m.dims(y))
    kind = "sub" if op.op == "Sub" else "div"
    if a is None or b is None or b[0] not in (1, a[0]) or b[1:] not in ((1, 1), a[1:]) \
            or op.inputs[0] != x or len(m.dims(x)) != len(m.dims(y)):
        m.leave_out(op, f"{op.op} of {a} and {b}: `{kind}` needs the second of the first's shape, or broadcast "
                        "over it (C×1×1, 1×H×W)")
        return
    _, act, tail, folded = m.fold_tail(op.outputs[0], bn=False) if kind == "sub" else (False, "none",
                                                                                       op.outputs[0], ())
    keys: dict[str, Any] = {"from": (x, y), **({"act": act} if kind == "sub" else {})}
    m.emit(op, kind, keys, (x, y), tail, folded)
