"""Grid axes from the command line: inclusive ``START:STOP:STEP`` ranges in exact decimal steps, or lists."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ..errors import OptionError
from ..graph import check_multiplier


def parse_range(text: str, *, integer: bool, where: str) -> list[float]:
    """'0.25:1.0:0.25' (inclusive) or '0.25,0.5,1' → values, in exact decimal steps."""
    try:
        if ":" in text:
            parts = [Decimal(p) for p in text.split(":")]
            if len(parts) != 3:
                raise OptionError(f"expected START:STOP:STEP, got {text!r}", where=where)
            start, stop, step = parts
            if step <= 0 or stop < start:
                raise OptionError(f"need STEP > 0 and STOP ≥ START, got {text!r}", where=where)
            count = int((stop - start) / step) + 1
            if count > 10**7:
                raise OptionError(f"{count:,} values; at most 10,000,000", where=where)
            values = [start + i * step for i in range(count)]
        else:
            values = [Decimal(p) for p in text.split(",") if p.strip()]
    except InvalidOperation:
        raise OptionError(f"expected numbers like 0.25:1.0:0.25 or 0.5,0.75, got {text!r}", where=where) from None
    if not values or not all(v.is_finite() for v in values):
        raise OptionError(f"expected numbers, got {text!r}", where=where)
    if integer:
        if any(v != v.to_integral_value() or v < 1 for v in values):
            raise OptionError(f"resolutions must be positive integers, got {text!r}", where=where)
        return [int(v) for v in values]
    return [float(v) for v in values]


def grid_axes(alpha: str, resolution: str) -> tuple[list[float], list[int]]:
    """The α and resolution values of `--alpha` and `--resolution` ranges, each α checked to be in (0, 1]."""
    alphas = parse_range(alpha, integer=False, where="--alpha")
    for a in alphas:
        check_multiplier("alpha", a)
    return alphas, parse_range(resolution, integer=True, where="--resolution")  # type: ignore[return-value]
