"""Plain data shared by every stage: tensor shapes, decoded layers and shaped graph nodes."""

from __future__ import annotations

from dataclasses import dataclass

INPUT = "input"  # the network input's name in `from`: reserved, no layer may take it


@dataclass(frozen=True)
class Shape:
    """A feature map of ``c`` channels and ``h``×``w`` pixels (batch 1)."""

    c: int
    h: int
    w: int

    @property
    def numel(self) -> int:
        return self.c * self.h * self.w

    def as_list(self) -> list[int]:
        return [self.c, self.h, self.w]

    def __str__(self) -> str:
        # The paper writes sizes as H × W × C (Table 1's "Input Size").
        return f"{self.h}×{self.w}×{self.c}"


@dataclass(frozen=True)
class Layer:
    """One decoded layer of a spec, before the width and resolution multipliers are applied.

    ``where`` is the spec path it came from (``layers[4].layers[0]``) and ``line`` its line in the
    file, so errors found later (shapes, groups) still point at the text the user wrote.
    """

    type: str
    name: str
    where: str
    line: int | None = None
    out: int | None = None
    kernel: int | None = None
    stride: int | None = None
    padding: int | None = None
    groups: int = 1
    bias: bool = False
    bn: bool = False
    act: str = "none"
    scale: bool = True
    ceil_mode: bool = False
    inputs: tuple[str | int, ...] = ()  # names, or negative offsets (-1: the previous layer)


@dataclass(frozen=True)
class Node:
    """A layer placed in the graph: multipliers applied, inputs resolved, shapes inferred."""

    layer: Layer
    inputs: tuple[Shape, ...]
    output: Shape
    out_channels: int
    kernel: int | None  # None where the idea does not apply (add, concat)
    stride: int | None
    padding: int | None
    groups: int | None

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def type(self) -> str:
        return self.layer.type

    @property
    def input(self) -> Shape:
        return self.inputs[0]
