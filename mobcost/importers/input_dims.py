"""The network input's free dimensions, settled before anything is inferred from them.

An exporter with dynamic axes declares the input as ``[N, 3, height, width]`` (or ``[?, 3, ?, ?]``). Shape
inference then leaves every size after it unknown, and the first operator that needs one fails far from the
cause. So the graph input is looked at first: with ``input_shape`` (C, H, W) its free dimensions are fixed
and a fixed one that disagrees is an error; without it, a free channel, height or width is one line naming
them. A free batch is 1 either way: the spec counts one image, and shape arithmetic on the batch (a torch
``x.view(x.size(0), -1)``) then folds to constants instead of leaving the shapes after it unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import OptionError
from .model import ModelImportError, printable

if TYPE_CHECKING:
    from onnx import ModelProto

# A dimension's name comes from the file: long enough to recognise, never a whole screen.
_NAME_CHARS = 40
_ROLES = "NCHW"
_MAX_SIZE = 1_000_000_000  # as the command line's --input: a size past it is a typo, not a network


class FreeInputError(ModelImportError):
    """The input has free channel/height/width dimensions and no ``input_shape`` fixes them. ``names`` are
    the free dimensions as the file names them, ``shape`` the declared shape, both printable."""

    def __init__(self, message: str, *, file: str, input_name: str, names: str, shape: str) -> None:
        super().__init__(message, file=file)
        self.input_name, self.names, self.shape = input_name, names, shape


def settle_input(proto: ModelProto, source: str, input_shape: tuple[int, int, int] | None) -> None:
    """Fix the free dimensions of ``proto``'s image input in place from ``input_shape`` (C, H, W), or refuse a
    free C, H or W when it is None. Anything else wrong with the input (several inputs, no shape, not rank 4)
    is left to the checks that already name it."""
    if input_shape is not None and (len(input_shape) != 3 or not all(
            isinstance(v, int) and 0 < v <= _MAX_SIZE for v in input_shape)):
        raise OptionError(f"expected three sizes (C, H, W) from 1 to 10⁹, got {input_shape!r}", where="input_shape")
    image = _image_input(proto)
    if image is None or not image.type.HasField("tensor_type"):
        return
    tensor = image.type.tensor_type
    if input_shape is not None and not tensor.HasField("shape"):
        for _ in range(4):  # no shape declared: every dimension is free, and --input gives all four
            tensor.shape.dim.add()
    dims = tensor.shape.dim
    name = printable(image.name)
    shape = "[" + ", ".join(_label(d) for d in dims) + "]"
    if len(dims) != 4:
        if input_shape is not None:
            raise ModelImportError(f"input {name!r} has shape {shape}: --input gives C×H×W of an N×C×H×W image",
                                   file=source)
        return  # check_input names what is wrong
    roles = _roles(proto, image.name)
    if input_shape is None:
        free = [_name(dims[i], _ROLES[role]) for i, role in enumerate(roles) if role and _free(dims[i])]
        if free:
            names = "[" + ", ".join(free) + "]"
            raise FreeInputError(f"input {name!r} has free dimensions {names} (shape {shape}): give them with "
                                 "--input CxHxW", file=source, input_name=name, names=names, shape=shape)
    wanted = (1, *(input_shape or (0, 0, 0)))  # without input_shape only a free batch is left to fix
    for i, role in enumerate(roles):
        if _free(dims[i]):
            dims[i].Clear()
            dims[i].dim_value = wanted[role]
        elif input_shape is not None and role and dims[i].dim_value != wanted[role]:
            given = "x".join(str(v) for v in input_shape)
            raise ModelImportError(f"input {name!r} has {_ROLES[role]} = {dims[i].dim_value} (shape {shape}); "
                                   f"--input {given} gives {wanted[role]}", file=source)


def _image_input(proto: ModelProto) -> Any:
    """The one graph input that is not an initializer (older exporters list weights as inputs too)."""
    stored = {t.name for t in proto.graph.initializer}
    images = [vi for vi in proto.graph.input if vi.name not in stored]
    return images[0] if len(images) == 1 else None


def _roles(proto: ModelProto, image: str) -> tuple[int, ...]:
    """Which of N, C, H, W (0–3) each declared dimension is: N×C×H×W, or N×H×W×C for a TensorFlow/Keras export
    that transposes its input first (the same test as ``onnx_graph._nchw_input``)."""
    users = [n for n in proto.graph.node if image in n.input]
    if len(users) == 1 and users[0].op_type == "Transpose":
        perm = next((list(a.ints) for a in users[0].attribute if a.name == "perm"), [])
        if perm == [0, 3, 1, 2]:
            return (0, 2, 3, 1)
    return (0, 1, 2, 3)


def _free(dim: Any) -> bool:
    """Unknown: a symbolic name, nothing at all, or a value of 0 or below (how some older files wrote it)."""
    return not dim.HasField("dim_value") or dim.dim_value <= 0


def _label(dim: Any) -> str:
    """How a message shows one declared dimension: its value, its name, or ``?``."""
    if dim.HasField("dim_value"):
        return str(dim.dim_value)
    return _name(dim, "?")


def _name(dim: Any, role: str) -> str:
    """A free dimension's name (cut short), or its role (``H``) when the file gives none."""
    if dim.HasField("dim_param") and dim.dim_param:
        text = printable(dim.dim_param)
        return text if len(text) <= _NAME_CHARS else text[:_NAME_CHARS - 1] + "…"
    return role
