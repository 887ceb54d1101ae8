"""Grid axes from the command line: inclusive ``START:STOP:STEP`` ranges in exact decimal steps, or lists.

Every value is checked before any is made: α > 0 (above 1 widens; at most 10⁹), resolutions whole
numbers in [1, 10⁹] (the spec format's integer limit), at most ``MAX_VALUES`` per axis and ``MAX_POINTS``
in the whole grid, so a mistyped range is a one-line error, never a long wait or a traceback.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

from ..errors import OptionError
from ..graph.build import MAX_ALPHA
from ..spec import MAX_INT

MAX_VALUES = 10**7  # values on one axis
MAX_POINTS = 10**7  # points in one grid (α values × resolutions): what a streamed CSV sweep handles
MAX_RESOLUTION = MAX_INT
STREAM_HINT = "stream larger grids with --format csv -o FILE (or --best)"


def _shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _decimal(part: str, text: str, where: str) -> Decimal:
    try:
        value = Decimal(part.strip())
    except (decimal.DecimalException, ValueError):
        raise OptionError(f"expected numbers like 0.25:1.0:0.25 or 0.5,0.75, got {_shown(text)}",
                          where=where) from None
    if not value.is_finite():
        raise OptionError(f"expected finite numbers, got {_shown(text)}", where=where)
    return value


class Axis:
    """One axis as typed: how many values, the smallest and largest, and whether all are whole numbers;
    ``values()`` makes them (only once the counts are known to be fine)."""

    def __init__(self, text: str, where: str) -> None:
        self.text, self.where = text, where
        if ":" not in text:
            self._list = [_decimal(p, text, where) for p in text.split(",") if p.strip()]
            if not self._list:
                raise OptionError(f"expected numbers, got {_shown(text)}", where=where)
            self.count, self.low, self.high = len(self._list), min(self._list), max(self._list)
            self.whole = all(v == v.to_integral_value() for v in self._list)
            return
        parts = text.split(":")
        if len(parts) != 3:
            raise OptionError(f"expected START:STOP:STEP, got {_shown(text)}", where=where)
        self.start, stop, self.step = (_decimal(p, text, where) for p in parts)
        if self.step <= 0 or stop < self.start:
            raise OptionError(f"need STEP > 0 and STOP ≥ START, got {_shown(text)}", where=where)
        count = _range_count(self.start, stop, self.step)
        if count > MAX_VALUES:
            raise OptionError(f"{_count(count)} values; at most {MAX_VALUES:,} on one axis", where=where)
        self.count, self._list = int(count), None
        self.low, self.high = self.start, self.start + (self.count - 1) * self.step
        self.whole = self.start == self.start.to_integral_value() and (
            self.count == 1 or self.step == self.step.to_integral_value())

    def values(self) -> list[Decimal]:
        if self._list is not None:
            return self._list
        return [self.start + i * self.step for i in range(self.count)]

    def check(self, *, integer: bool) -> None:
        if integer:
            if not self.whole or self.low < 1:
                raise OptionError(f"resolutions must be positive integers, got {_shown(self.text)}",
                                  where=self.where)
            if self.high > MAX_RESOLUTION:
                raise OptionError(f"resolutions must be at most {MAX_RESOLUTION:,} (the spec format's integer "
                                  f"limit), got {_shown(self.text)}", where=self.where)
        elif not (self.low > 0 and self.high <= MAX_ALPHA and float(self.low) > 0):
            raise OptionError(f"alpha must be > 0 and at most {MAX_ALPHA:,}, got {_shown(self.text)}",
                              where=self.where)


def _range_count(start: Decimal, stop: Decimal, step: Decimal) -> int | Decimal:
    """⌊(stop − start) / step⌋ + 1, exactly; a huge count (or one past Decimal's range) comes back as is."""
    try:
        with decimal.localcontext(decimal.Context(prec=80, Emax=10**6, Emin=-(10**6), traps=[
                decimal.Overflow, decimal.InvalidOperation, decimal.DivisionByZero])):
            ratio = (stop - start) / step
            if ratio >= MAX_VALUES:
                return ratio
            return int(ratio.to_integral_value(rounding=decimal.ROUND_FLOOR)) + 1
    except decimal.DecimalException:
        return Decimal("1e1000000")


def _count(count: int | Decimal) -> str:
    return f"{int(count):,}" if count < 10**15 else f"about {float(count):.1e}" if count < Decimal("1e300") \
        else "more than 10³⁰⁰"


def parse_range(text: str, *, integer: bool, where: str) -> list[float]:
    """'0.25:1.0:0.25' (inclusive) or '0.25,0.5,1' → values, in exact decimal steps, each checked."""
    axis = Axis(text, where)
    axis.check(integer=integer)
    return [int(v) for v in axis.values()] if integer else [float(v) for v in axis.values()]


def grid_axes(alpha: str, resolution: str, *, max_points: int = MAX_POINTS, why: str = "",
              layers: int = 1) -> tuple[list[float], list[int]]:
    """The α and resolution values of `--alpha` and `--resolution`, each checked, and at most ``max_points``
    points in all; ``why`` explains a lower limit in its error. With the spec's number of ``layers``, the
    graph builds the grid needs are bounded too (``check_placements``). All is counted before any value
    is made."""
    alphas, sizes = Axis(alpha, "--alpha"), Axis(resolution, "--resolution")
    alphas.check(integer=False)
    sizes.check(integer=True)
    total = alphas.count * sizes.count
    if total > max_points:
        raise OptionError(f"{alphas.count:,} α values × {sizes.count:,} resolutions = {total:,} points; at most "
                          f"{max_points:,}{why}", where="--alpha/--resolution")
    check_placements(layers, alphas.count, sizes.count)
    return [float(v) for v in alphas.values()], [int(v) for v in sizes.values()]


MAX_PLACEMENTS = 1_000_000  # (α values + resolutions) × layers: a sweep builds the graph once per axis value


def check_placements(layers: int, n_alphas: int, n_resolutions: int) -> None:
    """Refuse, before any build, a grid whose graph builds alone would take minutes (~8 µs a layer)."""
    placements = (n_alphas + n_resolutions) * max(1, layers)
    if placements > MAX_PLACEMENTS:
        raise OptionError(f"{n_alphas:,} α values + {n_resolutions:,} resolutions, one graph build each of "
                          f"{layers:,} layers = {placements:,} layer placements; at most {MAX_PLACEMENTS:,}: use "
                          "coarser steps", where="--alpha/--resolution")
