"""Constant folding in plain Python for the small tensors exporters compute instead of storing: Clip bounds
(``CastLike(Constant)``), ReduceMean axes, Slice starts, a zero bias built by ``Expand``, the shape a class
token is expanded to (``Equal``/``Where``). No numpy (it is fenced out of this room) and no runtime: a value
this cannot work out is simply unknown (None), and only a mapping that needs it says so."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

from .model import MAX_CONST_VALUES, Const

Values = tuple[Any, ...] | None

# Exact integers have no overflow in Python: unbounded, ``Pow(10, 10**9)`` runs for hours and a chain of
# ``Mul`` squares its way through the memory. Every folded integer stays within int64, as in ONNX itself.
INT_BOUND = 1 << 63

# ONNX TensorProto data types that hold integers (Cast's ``to``), so Cast keeps integer arithmetic exact.
_INT_TYPES = {2, 3, 4, 5, 6, 7, 9, 12, 13}
_FLOAT_TYPES = {1, 10, 11, 16}  # float, float16, double, bfloat16

_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "Add": operator.add, "Sub": operator.sub, "Mul": operator.mul, "Max": max, "Min": min,
    "Pow": lambda x, y: _pow(x, y), "Equal": operator.eq,
}
_UNARY: dict[str, Callable[[Any], Any]] = {
    "Neg": operator.neg, "Sqrt": math.sqrt, "Floor": math.floor, "Ceil": math.ceil, "Abs": abs,
    "Reciprocal": lambda v: 1 / v,
}


def evaluate(op: str, attrs: dict[str, Any], ins: Sequence[Const | None], out_dims: tuple[int, ...]) -> Values:
    """The flat values of a constant operator's first output, or None when unknown or too large."""
    if any(c is None for c in ins) or math.prod(out_dims) > MAX_CONST_VALUES:
        return None
    vals = [c.values for c in ins if c is not None]
    if op in ("Identity", "Unsqueeze", "Squeeze", "Reshape", "Flatten", "CastLike") and vals:
        return vals[0]
    if op == "Cast" and vals and vals[0] is not None:
        if attrs.get("to") in _FLOAT_TYPES:  # an int cast to float divides as a float (timm's x / stride)
            return tuple(float(v) for v in vals[0])
        return bounded(tuple(int(v) for v in vals[0])) if attrs.get("to") in _INT_TYPES else vals[0]
    if any(v is None for v in vals):
        return None
    if op in ("Max", "Min") and len(vals) == 1:  # variadic: of one input, that input (dynamo, on an index buffer)
        return vals[0]
    return bounded(_compute(op, attrs, [c for c in ins if c is not None], out_dims))


def bounded(values: Values) -> Values:
    """The values, if every integer among them fits int64; else ValueError (the caller names the node)."""
    for v in values or ():
        if isinstance(v, int) and not -INT_BOUND <= v < INT_BOUND:
            raise ValueError(f"a value of {v.bit_length()} bits: folded integers are bounded by int64")
    return values


def _pow(x: Any, y: Any) -> Any:
    """x ** y, refused before it is computed when an integer result would pass int64 (its bits are about
    y·log2|x|: a bound checked in constant time)."""
    if isinstance(x, int) and isinstance(y, int) and y > 0 and abs(x) > 1 and y * (abs(x).bit_length() - 1) >= 64:
        raise ValueError(f"{x} ** {y} is past int64: folded integers are bounded by int64")
    return x ** y


def _compute(op: str, attrs: dict[str, Any], ins: list[Const], out_dims: tuple[int, ...]) -> Values:
    vals = [c.values for c in ins]
    if op in _BINARY or op == "Div":
        return _broadcast(op, vals[0], vals[1], math.prod(out_dims))
    if op in _UNARY:
        return tuple(_UNARY[op](v) for v in vals[0])  # type: ignore[union-attr]
    if op == "Concat":
        return tuple(v for part in vals for v in part) if all(len(c.dims) <= 1 for c in ins) else None
    if op == "Gather" and len(ins[0].dims) <= 1 and attrs.get("axis", 0) == 0:
        data = vals[0]
        return tuple(data[int(i)] for i in vals[1])  # type: ignore[index]
    if op == "Expand":
        value = ins[0].scalar
        return None if value is None else (value,) * math.prod(out_dims)
    if op == "ConstantOfShape":
        value = attrs.get("value")
        fill = value.values[0] if isinstance(value, Const) and value.values else 0.0
        return (fill,) * math.prod(out_dims)
    if op == "Where" and len(vals) == 3:
        return _where(vals[0], vals[1], vals[2], math.prod(out_dims))  # type: ignore[arg-type]
    if op == "Slice":
        return _slice(ins[0].dims, vals[0], vals[1:])  # type: ignore[arg-type]
    if op == "Transpose":
        return _transpose(ins[0].dims, vals[0], attrs.get("perm"))  # type: ignore[arg-type]
    if op == "Clip":
        return _clip(vals[0], attrs.get("min"), attrs.get("max"))  # type: ignore[arg-type]
    return None


def _broadcast(op: str, a: Values, b: Values, size: int) -> Values:
    if a is None or b is None or not a or not b:
        return None
    if len(a) != len(b) and 1 not in (len(a), len(b)):
        return None  # a real broadcast over several axes: not needed for the small tensors this serves
    n = max(len(a), len(b))
    pairs = [(a[i % len(a)], b[i % len(b)]) for i in range(n)]
    if op == "Div":
        return tuple(_divide(x, y) for x, y in pairs)
    return tuple(_BINARY[op](x, y) for x, y in pairs) if n == size or size == 1 else None


def _where(cond: tuple[Any, ...], a: tuple[Any, ...], b: tuple[Any, ...], size: int) -> Values:
    """The TorchScript exporter's ``expand(1, -1, -1)``: -1 replaced by 1 through Equal and Where; one-element
    or equal-length inputs only, as ``_broadcast``."""
    if not cond or not a or not b or any(len(v) not in (1, size) for v in (cond, a, b)):
        return None
    return tuple(a[i % len(a)] if cond[i % len(cond)] else b[i % len(b)] for i in range(size))


def _divide(x: Any, y: Any) -> Any:
    if isinstance(x, int) and isinstance(y, int):
        return int(x / y)  # ONNX integer Div truncates toward zero
    return x / y


def _slice(dims: tuple[int, ...], data: tuple[Any, ...], args: list[tuple[Any, ...]]) -> Values:
    """ONNX Slice of any rank (numpy's rules: negative indices count from the end, out-of-range ones are clamped,
    a step −1 walks backwards — the exporter's ``F.pad`` reverses its [-1, 2] pads table so)."""
    starts, ends = args[0], args[1]
    axes = args[2] if len(args) > 2 and args[2] else tuple(range(len(starts)))
    steps = args[3] if len(args) > 3 and args[3] else (1,) * len(starts)
    if 0 in (int(s) for s in steps):
        raise ValueError("a Slice step of 0")
    if not dims or not len(starts) == len(ends) == len(axes) == len(steps):
        return None
    picks = [range(d) for d in dims]
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        a = int(axis) % len(dims)
        picks[a] = range(*slice(int(start), _clamp(int(end)), int(step)).indices(dims[a]))
    return tuple(data[_flat(index, dims)] for index in _product(picks))


def _transpose(dims: tuple[int, ...], data: tuple[Any, ...], perm: Sequence[int] | None) -> Values:
    """ONNX Transpose: output axis i is input axis perm[i] (reversed axes by default)."""
    order = list(perm) if perm is not None else list(range(len(dims)))[::-1]
    if sorted(order) != list(range(len(dims))):
        return None
    out_dims = [dims[p] for p in order]
    values = []
    for out_index in _product([range(d) for d in out_dims]):
        index = [0] * len(dims)
        for i, p in enumerate(order):
            index[p] = out_index[i]
        values.append(data[_flat(tuple(index), dims)])
    return tuple(values)


def _clip(data: tuple[Any, ...], low: Any, high: Any) -> Values:
    """ONNX Clip (timm's ``clamp(..., min=0)`` in TensorFlow's "same" formula); a bound of None is none."""
    low = -math.inf if low is None else low
    high = math.inf if high is None else high
    return tuple(min(max(v, low), high) for v in data)


def _product(ranges: list[range]) -> list[tuple[int, ...]]:
    """Every index of the ranges' grid, row-major."""
    out: list[tuple[int, ...]] = [()]
    for r in ranges:
        out = [(*head, i) for head in out for i in r]
    return out


def _flat(index: tuple[int, ...], dims: tuple[int, ...]) -> int:
    flat = 0
    for i, d in zip(index, dims, strict=True):
        flat = flat * d + i
    return flat


def _clamp(end: int) -> int:
    # exporters write "to the end" as INT64_MAX, which Python's slicing takes as is
    return min(end, 1 << 62)


def split_1d(data: tuple[Any, ...], sizes: Sequence[int] | None, outputs: int) -> list[Values]:
    """ONNX Split of a 1-D constant: the parts of ``sizes``, or ``outputs`` equal parts (the last one shorter)."""
    if sizes is None:
        step = -(-len(data) // outputs)
        sizes = [min(step, max(0, len(data) - i * step)) for i in range(outputs)]
    if sum(sizes) != len(data) or len(sizes) != outputs:
        return [None] * outputs
    starts = [sum(sizes[:i]) for i in range(outputs)]
    return [tuple(data[a:a + n]) for a, n in zip(starts, sizes, strict=True)]
