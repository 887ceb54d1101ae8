"""A sequence of H·W tokens back to a channels-first map: ``x.transpose(1, 2).reshape(B, C, H, W)`` (or
``permute(0, 2, 1)``; SwiftFormer's additive attention ends so), the inverse of ``tokens``' flatten + transpose:
`untokens`, its H×W read from the map the tokens were read from (``windows.py`` maps the channels-last merges)."""

from __future__ import annotations

from .model import Op
from .patterns import Mapper, sequence
from .windows import _source


def map_untokens(m: Mapper, op: Op) -> bool:
    """``op`` is Transpose(0, 2, 1) of one B×N×C sequence whose sole reader reshapes it to B×C×H×W, H×W the map a
    `tokens` layer of N tokens read: the `untokens` layer (no cost)."""
    seq = sequence(m.dims(op.inputs[0]))
    if op.op != "Transpose" or list(op.attrs.get("perm", [])) != [0, 2, 1] or seq is None:
        return False
    n, c = seq
    back = m.sole_user(op.outputs[0], "Reshape")
    dims = m.dims(back.outputs[0]) if back is not None else ()
    source = _source(m, n)
    if back is None or len(dims) != 4 or None in dims or dims[1] != c or source is None \
            or source.type != "tokens" or tuple(m.dims(source.inputs[0])[2:]) != tuple(dims[2:]) \
            or dims[2] * dims[3] != n:  # type: ignore[operator]
        return False
    m.emit(op, "untokens", {"size_of": source.inputs[0]}, (op.inputs[0],), back.outputs[0], (back,),
           part="untokens")
    return True
