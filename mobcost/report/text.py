"""The one rule for text from outside, and a record's value as a cell: what every format and the rich
views share. It imports no other view module, so ``formats``, ``latex`` and ``terminal`` all build on it
without importing each other."""

from __future__ import annotations

import math
import re
from typing import Any

# --- the one rule for text from outside ---------------------------------------------------------

# Characters a terminal or a document must never receive from data: C0 and C1 controls (ESC starts escape
# sequences), Unicode format characters (bidi overrides and isolates, zero-width characters, tags), line and
# paragraph separators, surrogates. Unicode categories Cc, Cf, Zl, Zp, Cs.
FORMAT_CHARS = (
    "\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
UNSAFE = re.compile(f"[\x00-\x1f{FORMAT_CHARS}]")
_SPACE_LIKE = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029"


def clean(text: object, *, newlines: bool = False) -> str:
    """``text`` without control or format characters: whitespace controls become a space (newlines stay if
    ``newlines``), the rest are dropped. Every name shown by any view goes through here."""
    s = str(text)
    if not UNSAFE.search(s):
        return s

    def replace(m: re.Match[str]) -> str:
        ch = m.group()
        if ch == "\n" and newlines:
            return ch
        return " " if ch in _SPACE_LIKE else ""

    return UNSAFE.sub(replace, s)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_gap(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def plain_cell(value: Any) -> Any:
    """A record's value as one cell: a list becomes ``a;b``, a mapping ``k=v;k=v``, NaN a gap (None)."""
    if isinstance(value, dict):
        return ";".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ";".join(map(str, value))
    return None if is_gap(value) else value


def number_text(value: int | float) -> str:
    """Integers as integers, floats by their shortest round-trip form (0.714, 1.0, 1e-05)."""
    return str(value) if isinstance(value, int) else repr(value)


def document_texts(rows: list[list[Any]]) -> list[list[str]]:
    """Cells of a table for a document (markdown, LaTeX) as text: an integer with thousands separators, every
    float of a column at the same fixed decimals — as many as its values need, 1 to 6 — so 4.00 stands beside
    93.05 and no float is shown in scientific notation or as its repr; a gap is empty. (CSV and JSON keep the
    plain numbers.)"""
    places = [min(6, max([1] + [_decimals(v) for v in column if isinstance(v, float) and math.isfinite(v)]))
              for column in zip(*rows, strict=True)]
    return [[_document_cell(v, places[i]) for i, v in enumerate(row)] for row in rows]


def _decimals(value: float) -> int:
    return len(f"{value:.6f}".rstrip("0").split(".")[1])


def _document_cell(value: Any, places: int) -> str:
    value = plain_cell(value)
    if value is None:
        return ""
    if isinstance(value, bool) or not is_number(value):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.{places}f}"


# Column names as a document shows them: CSV and JSON keep the tidy keys (``memory_access_bytes``), a table
# for people reads "Memory access (B)". Names a view already wrote for people (with a capital or a space) pass.
HEADERS = {"alpha": "α", "rho": "ρ", "mult_adds": "Mult-Adds", "bn_params": "BN params", "top1": "Top-1",
           "in_c": "In channels", "out_c": "Out channels", "flops": "FLOPs", "fvcore": "fvcore",
           "mult_adds_pct": "% Mult-Adds", "params_pct": "% params", "top1_source": "Top-1 source",
           "onnx_tool": "onnx-tool", "flop_counter": "FlopCounterMode", "weight": "weights", "onchip": "on-chip"}
UNITS = {"bytes": "B", "ms": "ms", "uj": "µJ", "pct": "%", "s": "s", "us": "µs", "px": "px"}
_KEY = re.compile(r"[a-z][a-z0-9_]*")


def header_text(column: str) -> str:
    """``memory_access_bytes`` → ``Memory access (B)``, ``alpha`` → ``α``; a header already for people as is."""
    if column in HEADERS or not _KEY.fullmatch(column):
        return HEADERS.get(column, column)
    words = column.split("_")
    unit = UNITS.get(words[-1]) if len(words) > 1 else None
    if unit:
        words = words[:-1]
    text = " ".join(HEADERS.get(w, w) for w in words)
    text = text[0].upper() + text[1:]
    return f"{text} ({unit})" if unit else text
