"""Window keys that take a pair: ``kernel: [1, 7]``, ``stride: [2, 1]``, ``padding: [0, 3]`` or
``padding: [[0, 1], [0, 1]]``, and ``input: {size: [H, W]}``.

Values are canonical once decoded, so a spec written with pairs that are square equals one written with
integers (``kernel: [3, 3]`` is ``kernel: 3``): a size is an int, or the pair (height, width) where they differ;
a padding an int, or (top, bottom, left, right) where the sides differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .reading import Doc, kind_name

# (value, positive, path, doc, alternative) → the integer, or a located error (decode's ``_integer``)
Integer = Callable[[Any, bool, str, Doc, str], int]

SIZE_FORM = "an integer or [height, width]"
PADS_FORM = "an integer or [height, width]"
PADDING_FORM = 'an integer, [height, width] (each an integer or [before, after]) or "same"'


def _items(value: Any, count: int, path: str, doc: Doc, form: str) -> list[Any]:
    """The items of a list of ``count`` values, or a located error naming the accepted form."""
    if isinstance(value, list) and len(value) == count:
        return value
    got = f"a list of {len(value)}" if isinstance(value, list) else f"{kind_name(value)} {value!r}"
    raise doc.error(path, f"must be {form}, got {got}")


def decode_size(value: Any, path: str, doc: Doc, integer: Integer) -> int | tuple[int, int]:
    """``kernel``, ``stride``, ``input.size``: a positive integer, or [height, width]."""
    if not isinstance(value, list):
        return integer(value, True, path, doc, " or [height, width]")
    h, w = (integer(v, True, f"{path}[{i}]", doc, "") for i, v in enumerate(_items(value, 2, path, doc, SIZE_FORM)))
    return h if h == w else (h, w)


def decode_pads(value: Any, path: str, doc: Doc, integer: Integer) -> int | tuple[int, int, int, int]:
    """A pool's or transposed convolution's ``padding``: an integer ≥ 0, or [height, width] (each side of it)."""
    if not isinstance(value, list):
        return integer(value, False, path, doc, " or [height, width]")
    h, w = (integer(v, False, f"{path}[{i}]", doc, "") for i, v in enumerate(_items(value, 2, path, doc, PADS_FORM)))
    return h if h == w else (h, h, w, w)


def decode_padding(value: Any, path: str, doc: Doc, integer: Integer) -> int | str | tuple[int, int, int, int]:
    """A convolution's ``padding``: an integer ≥ 0 on every side, ``same``, or [height, width] where each is an
    integer (both sides of that axis) or [before, after] (top and bottom, or left and right)."""
    if value == "same":
        return value
    if not isinstance(value, list):
        return integer(value, False, path, doc, ', [height, width] or "same"')
    sides: list[int] = []
    for i, axis in enumerate(_items(value, 2, path, doc, PADDING_FORM)):
        where = f"{path}[{i}]"
        if isinstance(axis, list):
            sides += [integer(v, False, f"{where}[{j}]", doc, "")
                      for j, v in enumerate(_items(axis, 2, where, doc, "an integer or [before, after]"))]
        else:
            sides += [integer(axis, False, where, doc, " or [before, after]")] * 2
    top, bottom, left, right = sides
    return top if top == bottom == left == right else (top, bottom, left, right)


SIZES_FORM = "a list of two or more positive integers"


def decode_sizes(value: Any, path: str, doc: Doc, integer: Integer) -> tuple[int, ...]:
    """A split's ``sizes``: the channel proportions of its parts, two or more positive integers."""
    if not isinstance(value, list) or len(value) < 2:
        got = f"a list of {len(value)}" if isinstance(value, list) else f"{kind_name(value)} {value!r}"
        raise doc.error(path, f"must be {SIZES_FORM}, got {got}")
    if len(value) > 64:
        raise doc.error(path, f"must have at most 64 parts, got {len(value)}")
    return tuple(integer(v, True, f"{path}[{i}]", doc, "") for i, v in enumerate(value))
