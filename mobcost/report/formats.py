"""The output formats every view shares: json, csv, markdown and latex, and the rules that make text safe in each.

Views build JSON-ready dicts, flat records or rich renderables; this module turns them into text. Nothing
here prints: the command line writes the text where it belongs. Every cell and caption of every format goes
through one rule here: :func:`clean` drops control characters (escape sequences, bidi overrides) from text
that came from a spec or a profile, and each format then escapes what is special to it (:func:`csv_cell`,
:func:`markdown_cell`, :func:`latex_text`; rich views render through ``report.terminal``, which applies
:func:`clean` and never reads markup in data). :func:`clean` and the cell helpers live in
``report.text``, below this module and the LaTeX and rich writers, so that none imports another to share
them. A gap (``None`` or NaN) is an empty cell in every format, and an integer stays an integer beside it.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from enum import StrEnum
from typing import Any

# clean lives in .text and LaTeX's escaping beside its tables in .latex; both stay importable from here, where
# the views and callers have always found them.
from .latex import latex_table, latex_text  # noqa: F401  (latex_text: re-exported)
from .text import FORMAT_CHARS, clean, document_texts, header_text, is_number, number_text, plain_cell


class Format(StrEnum):
    rich = "rich"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    latex = "latex"


TABULAR = (Format.csv, Format.markdown, Format.latex)


def human(n: float, unit: str = "", digits: int = 3) -> str:
    """``digits`` significant figures (at least) with an SI prefix: 569 M, 14.7 M, 32.9 k, 864; a count under
    1000 as the integer it is (72, never 72.0), a float as its significant figures (1.00, never 1)."""
    if isinstance(n, numbers.Integral) and abs(n) < 1000:
        return f"{n} {unit}".rstrip()
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")):
        if abs(n) >= factor:
            value = n / factor
            decimals = max(0, digits - len(str(int(abs(value)))))
            return f"{value:.{decimals}f} {prefix}{unit}".rstrip()
    return f"{n:#.{digits}g} {unit}".rstrip()  # '#' keeps trailing zeros: 0.500 beside 0.512


def share(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


# --- JSON ---------------------------------------------------------------------------------------

_JSON_UNSAFE = re.compile(f"[{FORMAT_CHARS}]")  # json.dumps already escapes \x00-\x1f


def finite(doc: Any) -> Any:
    """``doc`` with every NaN or infinite float replaced by None (JSON has no such numbers)."""
    if isinstance(doc, float):
        return doc if math.isfinite(doc) else None
    if isinstance(doc, dict):
        return {k: finite(v) for k, v in doc.items()}
    if isinstance(doc, list | tuple):
        return [finite(v) for v in doc]
    return doc


def _json_escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    if code > 0xFFFF:  # a surrogate pair, as JSON spells characters beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_text(doc: Any) -> str:
    """Stable JSON: keys in the order the view wrote them, two-space indent, UTF-8 left as is, except that
    control and format characters are written as ``\\uXXXX`` escapes (lossless, and safe on a terminal).
    Never NaN or Infinity: a non-finite float is null."""
    text = json.dumps(finite(doc), indent=2, ensure_ascii=False, allow_nan=False)
    return _JSON_UNSAFE.sub(_json_escape, text) if _JSON_UNSAFE.search(text) else text


# --- csv ------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMERIC = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_cell(value: Any) -> str:
    """One CSV field. Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
    ``@``, tab or CR — OWASP's list) gets a leading ``'``; numbers, and text that is just a number, never do."""
    value = plain_cell(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if is_number(value):
        return number_text(value)
    text = clean(value)
    if text.lstrip(" ").startswith(_FORMULA_START) and not _NUMERIC.fullmatch(text):
        text = "'" + text
    if any(c in text for c in ',"\n\r'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def csv_text(records: list[dict[str, Any]]) -> str:
    """Tidy CSV: a header, a row per record (keys in first-seen order; a key a record lacks is a gap)."""
    columns = _columns(records)
    lines = [",".join(csv_cell(c) for c in columns)]
    lines += [",".join(csv_cell(r.get(c)) for c in columns) for r in records]
    return "\n".join(lines) + "\n"


def _columns(records: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for r in records for k in r))


# --- markdown -------------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\|`*\[\]])")


def markdown_cell(value: Any) -> str:
    """Text for a Markdown table cell: one line, ``|`` and the characters that start links, code or
    emphasis escaped, ``<`` and ``>`` as entities (no HTML reaches a renderer)."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", clean(value))
    return text.replace("<", "&lt;").replace(">", "&gt;")


def markdown_text(records: list[dict[str, Any]], title: str | None = None) -> str:
    """A pipe table (tabulate): numbers as :func:`document_texts` writes them and right-aligned, gaps empty,
    every text cell escaped."""
    from tabulate import tabulate

    columns = _columns(records)
    rows = [[plain_cell(r.get(c)) for c in columns] for r in records]
    numeric = [all(v is None or (is_number(v) and not isinstance(v, bool)) for v in (row[i] for row in rows))
               for i in range(len(columns))]
    texts = [[v if numeric[i] else markdown_cell(v) for i, v in enumerate(row)] for row in document_texts(rows)]
    headers = [markdown_cell(header_text(c)) for c in columns]
    table = tabulate(texts, headers=headers, tablefmt="pipe", disable_numparse=True,
                     colalign=["right" if n else "left" for n in numeric] or None)
    heading = f"**{markdown_cell(title)}**\n\n" if title else ""
    return heading + table + "\n"


def records_text(records: list[dict[str, Any]], fmt: Format, title: str | None = None,
                 label: str | None = None) -> str:
    """Flat records as one table: tidy CSV (a row per record), Markdown or LaTeX (with ``title`` above, or
    as the caption). A list or mapping inside a record becomes one ``;``-separated cell."""
    if fmt == Format.csv:
        return csv_text(records)
    if fmt == Format.markdown:
        return markdown_text(records, title)
    return latex_table(records, title, label)
