"""ONNX ``Resize`` / ``Upsample``: by one integer factor, ``upsample``; to any other size, ``resize`` — following ρ
(``size_of``) where the file shows which map's size it takes."""

from __future__ import annotations

from .model import Op
from .ops import _pair
from .patterns import Mapper, chw

_RESIZE_MODES = {"nearest": "nearest", "linear": "bilinear"}


def resize(m: Mapper, op: Op) -> None:
    """Resize / Upsample, nearest or (bi)linear, read from the shapes (which ONNX shape inference gives whether the
    file stores scales or sizes): by one integer factor on H and W, `upsample`; to any other size (a non-integer
    scale, a 33 → 65 resize, a 3×3 → 7×7 one), `resize` — to the network input's size as `size_of: input`, so that
    it follows ρ as a segmentation head's final resize does (torchvision's ``F.interpolate(size=input_shape)``,
    which the exporters write as sizes computed from, or folded out of, the input's shape), else to a fixed size."""
    x, y = chw(m.dims(op.inputs[0])), chw(m.dims(op.outputs[0]))
    mode = _RESIZE_MODES.get(str(op.attrs.get("mode", "nearest")))
    if x is None or y is None or len(m.dims(op.inputs[0])) != 4 or x[0] != y[0]:
        m.leave_out(op, f"a resize from {x} to {y} (C, H, W): only resizing H and W maps (upsample, resize); it "
                        "has no Mult-Adds")
        return
    if mode is None:
        m.leave_out(op, f"{op.attrs.get('mode')} interpolation: only nearest and bilinear map (upsample, resize); "
                        "it has no Mult-Adds")
        return
    corners = str(op.attrs.get("coordinate_transformation_mode", "half_pixel")) == "align_corners"
    factor = y[1] // x[1] if x[1] else 0
    source = _size_source(m, op, y[1:]) if y[1:] != x[1:] else None
    extra = {"align_corners": True} if corners and mode == "bilinear" else {}
    if y[1:] == x[1:]:
        m.alias[op.outputs[0]] = op.inputs[0]
        m.done.add(op.name)
    elif source is not None:
        m.emit(op, "resize", {"size_of": source, "mode": mode, **extra}, (op.inputs[0],), op.outputs[0])
    elif factor > 1 and y[1:] == (x[1] * factor, x[2] * factor) and not corners:
        m.emit(op, "upsample", {"factor": factor, "mode": mode}, (op.inputs[0],), op.outputs[0])
    else:
        m.emit(op, "resize", {"size": _pair(y[1], y[2]), "mode": mode, **extra}, (op.inputs[0],), op.outputs[0])


def _size_source(m: Mapper, op: Op, hw: tuple[int, int]) -> str | None:
    """The tensor whose size a resize takes, so that it follows ρ: the network input where the sizes are the input's
    (a segmentation head's last resize); else, where the resize is joined (add, mul, concat; directly or through
    operators that keep its size, as a classifier conv) with another map of its size (LR-ASPP's gated map resized to
    the C2 map, ASPP's pooled branch resized back, an FPN's top-down path), that map — or, if it is computed after
    the resize, the map already computed that it comes from. None: a fixed size."""
    image = chw(m.dims(m.g.input))
    if image is not None and hw == image[1:]:
        return m.g.input
    join, t = None, op.outputs[0]
    for _ in range(64):  # forward through single readers that keep the size (a classifier conv), to a join
        users = m.g.users(t)
        if len(users) != 1 or not users[0].outputs:
            return None
        if users[0].op in ("Add", "Mul", "Concat", "Sum"):
            join = users[0]
            break
        out = chw(m.dims(users[0].outputs[0]))
        if out is None or out[1:] != hw:
            return None
        t = users[0].outputs[0]
    if join is None:
        return None
    emitted = {e.output for e in m.layers} | {m.g.input}
    producer = {t: o for o in m.g.ops for t in o.outputs}
    mine = t
    for t in join.inputs:
        if t == mine or not t or m.g.const(t) is not None:
            continue
        for _ in range(64):  # back through the operators that keep the size, to one already a layer's output
            t = m.resolve(t)
            shape = chw(m.dims(t))
            if shape is None or shape[1:] != hw:
                break
            if t in emitted:
                return t
            before = producer.get(t)
            inputs = m.g.dynamic_inputs(before) if before is not None else []
            if not inputs:
                break
            t = inputs[0]
    return None
