"""Numbers with SI suffixes, as budgets are written: 150M, 1.5M, 320KiB, 1MB, 30 (ms)."""

from __future__ import annotations

import math
import re

from .errors import OptionError

# Bytes per element of each element type a report or hardware profile can use.
DTYPE_BYTES = {"fp32": 4, "fp16": 2, "int8": 1}

PREFIXES = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(Ki|Mi|Gi|[kKMGT]?)(B?)\s*$")


def parse_si(text: str | float | int, *, where: str = "", unit: str = "") -> float:
    """'150M' → 150e6; '320KiB' → 327,680; '1MB' → 1e6 (KB, MB are decimal; KiB, MiB binary)."""
    if isinstance(text, bool):
        raise OptionError(f"expected a number, got {text!r}", where=where or None)
    if isinstance(text, int | float):
        value = float(text)
    else:
        match = PATTERN.match(text)
        if not match:
            raise OptionError(f"expected a number like 150M, 1.5M, 320KiB or 1MB, got {text!r}", where=where or None)
        number, prefix, byte = match.groups()
        if byte and unit != "B":
            raise OptionError(f"{text!r}: a byte size where a count is expected", where=where or None)
        value = float(number) * PREFIXES[prefix]
    if not math.isfinite(value) or value <= 0:
        raise OptionError(f"must be a positive number, got {text!r}", where=where or None)
    return value


def plural(count: int, word: str) -> str:
    """``1 thread``, ``2 threads``."""
    return f"{count} {word}{'' if count == 1 else 's'}"
