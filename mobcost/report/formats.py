"""The output formats every view shares: json, csv, markdown and latex, and the rules that make text safe in each.

Views build JSON-ready dicts, flat records or rich renderables; this module turns them into text. Nothing
here prints: the command line writes the text where it belongs. Every cell and caption of every format goes
through one rule here: :func:`clean` drops control characters (escape sequences, bidi overrides) from text
that came from a spec or a profile, and each format then escapes what is special to it (:func:`csv_cell`,
:func:`markdown_cell`, :func:`latex_text`; rich views render through ``report.terminal``, which applies
:func:`clean` and never reads markup in data). A gap (``None`` or NaN) is an empty cell in every format, and
an integer stays an integer beside it.
"""

from __future__ import annotations

import json
import math
import numbers
import re
import unicodedata
from enum import StrEnum
from typing import Any


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


# --- the one rule for text from outside ---------------------------------------------------------

# Characters a terminal or a document must never receive from data: C0 and C1 controls (ESC starts escape
# sequences), Unicode format characters (bidi overrides and isolates, zero-width characters, tags), line and
# paragraph separators, surrogates. Unicode categories Cc, Cf, Zl, Zp, Cs.
_FORMAT_CHARS = (
    "\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
UNSAFE = re.compile(f"[\x00-\x1f{_FORMAT_CHARS}]")
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


# --- JSON ---------------------------------------------------------------------------------------

_JSON_UNSAFE = re.compile(f"[{_FORMAT_CHARS}]")  # json.dumps already escapes \x00-\x1f


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
    table = tabulate(texts, headers=[markdown_cell(c) for c in columns], tablefmt="pipe", disable_numparse=True,
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
    from .latex import latex_table

    return latex_table(records, title, label)


# --- LaTeX: the escaping rule (the table layout is in report.latex) -------------------------------

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&",
    "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
    ">": r"\textgreater{}", "|": r"\textbar{}", "[": "{[}", "]": "{]}", "*": "{*}", '"': "''",
    "×": r"$\times$", "·": r"$\cdot$", "÷": r"$\div$", "±": r"$\pm$", "α": r"$\alpha$", "ρ": r"$\rho$",
    "Δ": r"$\Delta$", "μ": r"$\mu$", "µ": r"$\mu$", "→": r"$\rightarrow$", "≤": r"$\leq$", "≥": r"$\geq$",
    "≈": r"$\approx$", "−": "-", "–": r"\textendash{}", "—": r"\textemdash{}", "…": r"\ldots{}",
    "★": r"$\star$", "✓": "yes", "✗": "no", "§": r"\S{}", "°": r"$^\circ$", "‘": "`", "’": "'", "“": "``",
    "”": "''", "²": r"$^2$", "³": r"$^3$", "¹": r"$^1$", "⁰": r"$^0$", "⁹": r"$^9$", "\u00a0": "~",
}
# Latin-1 letters that LaTeX's utf8 input encoding sets up for the default (OT1) font encoding.
_LATIN_LETTERS = frozenset(chr(c) for c in range(0xC0, 0x100)) - set("×÷ÐðÞþ")


def latex_text(text: object) -> str:
    """Text for any LaTeX cell or caption: every character with a meaning to TeX is escaped (so nothing in
    a name can run a command such as ``\\input``), ``--`` cannot join into a dash, and non-ASCII characters
    are spelt so that pdflatex compiles them (decomposed to ASCII, or ``?``)."""
    s = clean(text)
    out: list[str] = []
    for i, ch in enumerate(s):
        if ch == "-":
            out.append("-{}" if s[i + 1:i + 2] == "-" else "-")
        elif ch in _LATEX_SPECIAL:
            out.append(_LATEX_SPECIAL[ch])
        elif ch < "\x7f" or ch in _LATIN_LETTERS:
            out.append(ch)
        else:
            ascii_form = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append("".join(_LATEX_SPECIAL.get(c, c) for c in ascii_form) if ascii_form else "?")
    return "".join(out)


def latex_label(text: str) -> str:
    """A ``\\label`` key: lowercase ASCII letters, digits and hyphens only."""
    return re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", text).lower()).strip("-") or "table"


def rich_text(*renderables: Any, width: int = 120) -> str:
    """Rich renderables as plain text (for a file): recorded on a console of ``width`` columns."""
    from .terminal import plain_text

    return plain_text(*renderables, width=width)
