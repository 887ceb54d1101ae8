"""MobileViT's unfold and fold (timm ``MobileVitBlock``): a C×H×W map cut into p×p patches and read as P = p²
sequences of N = (H/p)·(W/p) tokens, and back. Exporters write each as a chain of four or five Reshape and
Transpose operators whose shapes and permutations depend on how the module is written, so the chain is not
matched by its operators: its index movement is replayed on the numbers 0…C·H·W−1 and compared with the layer's
(sequence py·p + px, token i·(W/p) + j, channel c ← pixel (c, i·p + py, j·p + px)). Only a chain that moves every
value exactly as `unfold` (or `fold`) does maps; anything else goes on to the handlers a CNN uses."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .model import Op
from .patterns import Mapper

_MOVES = frozenset({"Reshape", "Transpose", "Identity"})
_MAX_CHAIN = 8  # timm writes 5 operators (plus the dynamo exporter's Identity copies)


@dataclass(frozen=True)
class _Values:
    """A row-major array of element numbers (the importer room has no numpy): enough to replay Reshape and
    Transpose."""

    flat: tuple[int, ...]
    shape: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return len(self.flat)

    def reshape(self, shape: tuple[int, ...]) -> _Values:
        return _Values(self.flat, tuple(shape))

    def transpose(self, perm: list[int] | tuple[int, ...]) -> _Values:
        strides = [math.prod(self.shape[i + 1:]) for i in range(self.ndim)]
        offsets = [0]
        for axis in perm:  # the source offset of every output element, output axes outermost first
            offsets = [o + k * strides[axis] for o in offsets for k in range(self.shape[axis])]
        return _Values(tuple(self.flat[o] for o in offsets), tuple(self.shape[a] for a in perm))


def _arange(*shape: int) -> _Values:
    return _Values(tuple(range(math.prod(shape))), shape)


def _replay(m: Mapper, first: Op, values: _Values, done: Callable[[_Values], bool]
            ) -> tuple[list[Op], _Values] | None:
    """Apply ``first`` and the operators that alone read its output (Reshape, Transpose) to ``values`` until
    ``done(values)``: the operators and the values, or None when the chain ends first or cannot be replayed."""
    chain, op = [], first
    while op is not None and op.op in _MOVES and len(chain) < _MAX_CHAIN:
        out = m.dims(op.outputs[0])
        if op.op == "Reshape":
            if None in out or math.prod(out) != values.size:  # type: ignore[arg-type]
                return None
            values = values.reshape(out)  # type: ignore[arg-type]
        elif op.op == "Transpose":
            perm = list(op.attrs.get("perm", reversed(range(values.ndim))))  # ONNX: no perm reverses the axes
            if sorted(perm) != list(range(values.ndim)):
                return None
            values = values.transpose(perm)
        chain.append(op)
        if done(values):
            return chain, values
        op = m.sole_user(op.outputs[0])
        if op is not None and op.inputs[0] != chain[-1].outputs[0]:
            return None
    return None


def _unfolded(x: _Values, p: int) -> _Values:
    """The layer's unfold of a 1×C×H×W array: P×N×C."""
    _, c, h, w = x.shape
    return x.reshape((c, h // p, p, w // p, p)).transpose((2, 4, 1, 3, 0)).reshape((p * p, (h // p) * (w // p), c))


def _channels_first(v: _Values) -> _Values:
    """P×N×C sequences as MobileViTv2 holds them: 1×C×P×N (timm's ``MobileVitV2Block``)."""
    big_p, n, c = v.shape
    return v.transpose((2, 0, 1)).reshape((1, c, big_p, n))


def _patch_of(shape: tuple[int, ...], c: int, h: int, w: int) -> int:
    """p of an unfold of a C×H×W map into p×p patches laid out P×N×C (v1) or 1×C×P×N (v2); 0 for neither."""
    if len(shape) == 3:
        big_p, n, channels = shape
    elif len(shape) == 4 and shape[0] == 1:
        _, channels, big_p, n = shape
    else:
        return 0
    p = math.isqrt(big_p)
    whole = p > 1 and p * p == big_p and not h % p and not w % p and n == h * w // big_p
    return p if whole and channels == c else 0


def map_unfold(m: Mapper, op: Op) -> bool:
    """``op`` starts a MobileViT unfold of a map: the `unfold` layer (no cost). Its P×N×C sequences (v1), or the
    same values held 1×C×P×N (v2: ``cfirst``, the layers after it read them channels-first)."""
    src = m.dims(op.inputs[0])
    if op.op not in ("Reshape", "Transpose") or len(src) != 4 or None in src[1:]:
        return False
    _, c, h, w = src
    x = _arange(1, c, h, w)  # type: ignore[arg-type]

    def unfolds(v: _Values) -> bool:
        p = _patch_of(v.shape, c, h, w)  # type: ignore[arg-type]
        if not p:
            return False
        sequences = _unfolded(x, p)
        return v.flat == (sequences if v.ndim == 3 else _channels_first(sequences)).flat

    found = _replay(m, op, x, unfolds)
    if found is None:
        return False
    chain, values = found
    p = _patch_of(values.shape, c, h, w)  # type: ignore[arg-type]
    out = chain[-1].outputs[0]
    m.emit(op, "unfold", {"patch": p}, (op.inputs[0],), out, tuple(chain[1:]), part="tokens")
    if values.ndim == 4:
        m.cfirst.add(out)
    return True


def map_fold_channels_first(m: Mapper, op: Op) -> bool:
    """``op`` starts the fold of 1×C×P×N channels-first patches (MobileViTv2) back into their map: `fold`."""
    src = m.dims(op.inputs[0])
    if op.op not in ("Reshape", "Transpose") or len(src) != 4 or None in src[1:]:
        return False
    _, c, big_p, n = src
    p = math.isqrt(big_p)  # type: ignore[arg-type]
    if p < 2 or p * p != big_p:
        return False
    x = _arange(1, c, big_p, n)  # type: ignore[arg-type]

    def folds(v: _Values) -> bool:
        return v.ndim == 4 and v.shape[:2] == (1, c) and not v.shape[2] % p and not v.shape[3] % p \
            and v.size == x.size and _channels_first(_unfolded(v, p)).flat == x.flat

    found = _replay(m, op, x, folds)
    if found is None:
        return False
    chain = found[0]
    m.emit(op, "fold", {}, (op.inputs[0],), chain[-1].outputs[0], tuple(chain[1:]), part="tokens")
    return True


def map_fold(m: Mapper, op: Op) -> bool:
    """``op`` starts the fold of the P sequences of an unfold back into its map: the `fold` layer (no cost)."""
    src = m.dims(op.inputs[0])
    if op.op not in ("Reshape", "Transpose") or len(src) != 3 or None in src or src[0] < 4:  # type: ignore[operator]
        return False
    big_p, n, c = src
    p = math.isqrt(big_p)  # type: ignore[arg-type]
    if p * p != big_p:
        return False
    x = _arange(big_p, n, c)  # type: ignore[arg-type]

    def folds(v: _Values) -> bool:
        return v.ndim == 4 and v.shape[:2] == (1, c) and not v.shape[2] % p and not v.shape[3] % p \
            and v.size == x.size and _unfolded(v, p).flat == x.flat

    found = _replay(m, op, x, folds)
    if found is None:
        return False
    chain = found[0]
    m.emit(op, "fold", {}, (op.inputs[0],), chain[-1].outputs[0], tuple(chain[1:]), part="tokens")
    return True
