"""The decoded spec: plain frozen data, before any multiplier is applied."""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Layer


@dataclass(frozen=True)
class Spec:
    """A decoded network: input shape and its expanded layers, before any multiplier."""

    name: str
    channels: int
    size: int
    layers: tuple[Layer, ...]
    file: str = "<spec>"
    description: str = ""
    source: str = ""
    divisor: int | None = None  # `width: {divisor: d}`: scaled widths become make_divisible(α·out, d)
