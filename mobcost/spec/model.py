"""The decoded spec: plain frozen data, before any multiplier is applied."""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Layer


@dataclass(frozen=True)
class Spec:
    """A decoded network: input shape and its expanded layers, before any multiplier.

    ``size`` is the input's height (its side, for a square input); ``width_px`` its width where it differs
    (``input: {size: [H, W]}``), else None.
    """

    name: str
    channels: int
    size: int
    layers: tuple[Layer, ...]
    file: str = "<spec>"
    description: str = ""
    source: str = ""
    divisor: int | None = None  # `width: {divisor: d}`: scaled widths become make_divisible(α·out, d)
    width_px: int | None = None  # the input's width where it differs from its height (``size: [H, W]``)
    dtype: str | None = None  # ``dtype:``, the element type it is deployed in (fp32, fp16, int8), if the spec says
    outputs: tuple[str, ...] = ()  # `outputs:` the layers the network returns, in order (empty: its sinks)
    postprocess: tuple[str, ...] = ()  # `postprocess:` steps after the outputs that have no Mult-Adds
    proposals: int | None = None  # `proposals:` region proposals each `per_roi` layer runs for (`--proposals`)

    @property
    def input_hw(self) -> tuple[int, int]:
        """The input's (height, width) at the spec's own size."""
        return self.size, self.width_px if self.width_px is not None else self.size
