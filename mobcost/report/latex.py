r"""LaTeX tables that compile as they are and fit the page.

Every cell, header and caption is escaped by :func:`latex_text`. The output is a fragment to
``\input`` into a document; it needs no package (booktabs' rules fall back to ``\hline``), and looks best
with ``\usepackage{booktabs,graphicx}``. Width: context columns that are the same on every row move into
the caption, long text wraps in a ``p`` column, and the table is typeset at ``\small``, then
``\scriptsize`` if that is wider than the text, then scaled to the text width when graphicx is loaded.
Height: every :data:`ROWS_PER_FLOAT` rows start a new float ("continued") after a ``\clearpage``, so a long
table never runs off a page and any number of rows compiles.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from .text import clean, document_texts, header_text, is_number, number_text, plain_cell

# --- the escaping rule: every cell, header and caption ------------------------------------------

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


# --- the table layout -----------------------------------------------------------------------------

ROWS_PER_FLOAT = 40
LONG_TEXT = 32  # characters: a text column wider than this wraps
PREAMBLE = (
    "% mobcost table: \\input it into a document; best with \\usepackage{booktabs,graphicx}\n"
    "\\providecommand{\\toprule}{\\hline}\\providecommand{\\midrule}{\\hline}"
    "\\providecommand{\\bottomrule}{\\hline}\n"
    "\\ifdefined\\mobcostbox\\else\\newsavebox{\\mobcostbox}\\fi\n"
)
FIT = (
    "\\sbox{\\mobcostbox}{\\small\\mobcosttabular}%\n"
    "\\ifdim\\wd\\mobcostbox>\\linewidth\\sbox{\\mobcostbox}{\\scriptsize\\mobcosttabular}\\fi\n"
    "\\ifdim\\wd\\mobcostbox>\\linewidth\\ifdefined\\resizebox"
    "\\resizebox{\\linewidth}{!}{\\usebox{\\mobcostbox}}\\else\\usebox{\\mobcostbox}\\fi"
    "\\else\\usebox{\\mobcostbox}\\fi\n"
)


def latex_table(records: list[dict[str, Any]], title: str | None = None, label: str | None = None) -> str:
    """``records`` as one or more ``table`` floats (see the module's docstring)."""
    columns = list(dict.fromkeys(k for r in records for k in r))
    rows = [[plain_cell(r.get(c)) for c in columns] for r in records]
    if not columns:
        return "% mobcost table: no rows\n"
    context = _context_columns(columns, rows)
    if context:
        shared = "; ".join(f"{header_text(columns[i])}: {_cell(rows[0][i])}" for i in context)
        title = f"{title} ({shared})" if title else shared
        keep = [i for i in range(len(columns)) if i not in context]
        columns, rows = [columns[i] for i in keep], [[row[i] for i in keep] for row in rows]
    texts = document_texts(rows)  # separators, one fixed precision per column
    spec, wraps = _column_spec(columns, rows, texts)
    header = " & ".join(latex_text(header_text(c)) for c in columns) + " \\\\"
    body = [" & ".join(_wrapped(latex_text(v), wraps.get(i)) for i, v in enumerate(row)) + " \\\\" for row in texts]
    chunks = _chunks(body, [_row_lines(row, wraps) for row in texts]) or [[]]
    floats = []
    for n, chunk in enumerate(chunks):
        caption = title if n == 0 or not title else f"{title} (continued)"
        floats.append(_float(spec, header, chunk, caption, label if n == 0 else None))
    return PREAMBLE + "\\clearpage\n".join(floats)  # one float pending at a time: no "too many unprocessed"


# A wrapped cell of share × \\linewidth holds about share × 76 characters a line at \\small (345 pt of text
# width, ~4.5 pt a character), so a table of long descriptions fills a page in far fewer than 40 rows.
CHARS_PER_LINEWIDTH = 76


def _row_lines(row: list[str], wraps: dict[int, str]) -> int:
    """Lines a row takes: its tallest wrapped cell's, estimated from its length and width."""
    lines = [math.ceil(len(row[i]) / max(1.0, float(width.split("\\")[0]) * CHARS_PER_LINEWIDTH))
             for i, width in wraps.items()]
    return max([1, *lines])


def _chunks(body: list[str], row_lines: list[int]) -> list[list[str]]:
    """Rows in floats of at most ``ROWS_PER_FLOAT`` lines each, so no float is taller than a page."""
    chunks: list[list[str]] = []
    used = ROWS_PER_FLOAT
    for row, lines in zip(body, row_lines, strict=True):
        if used + lines > ROWS_PER_FLOAT:
            chunks.append([])
            used = 0
        chunks[-1].append(row)
        used += lines
    return chunks


def _float(spec: str, header: str, rows: list[str], caption: str | None, label: str | None) -> str:
    lines = ["\\begin{table}[htbp]", "\\centering"]
    if caption:
        lines.append(f"\\caption{{{latex_text(caption)}}}")
    if label:
        lines.append(f"\\label{{tab:{latex_label(label)}}}")
    lines += [f"\\def\\mobcosttabular{{\\setlength{{\\tabcolsep}}{{4pt}}\\begin{{tabular}}{{{spec}}}",
              "\\toprule", header, "\\midrule", *rows, "\\bottomrule", "\\end{tabular}}%"]
    return "\n".join(lines) + "\n" + FIT + "\\end{table}\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return number_text(value) if is_number(value) else str(value)


def _context_columns(columns: list[str], rows: list[list[Any]]) -> list[int]:
    """The leading columns whose value is the same on every row (the design point of tidy records)."""
    if len(rows) < 2:
        return []
    context = []
    for i in range(len(columns)):
        first = rows[0][i]
        if first is None or any(row[i] != first for row in rows):
            break
        context.append(i)
    return context if len(context) < len(columns) else []


def _column_spec(columns: list[str], rows: list[list[Any]], texts: list[list[str]]) -> tuple[str, dict[int, str]]:
    """``r`` for numbers, ``l`` for text; the widths at which long prose columns wrap."""
    numeric = [all(v is None or is_number(v) for v in (row[i] for row in rows)) for i in range(len(columns))]
    lengths = [max([len(row[i]) for row in texts] + [0]) for i in range(len(columns))]
    # only prose wraps: a column of single names (fasterrcnn_mobilenet_v3_large_fpn, DeepLabV3-MobileNetV3-Large)
    # gains nothing from a narrow paragraph but words wider than it; it widens the table, which then shrinks
    prose = [any(" " in row[i] for row in texts) for i in range(len(columns))]
    long = [i for i in range(len(columns)) if not numeric[i] and prose[i] and lengths[i] > LONG_TEXT]
    share = min(0.35, 0.6 / len(long)) if long else 0
    spec = "".join("r" if numeric[i] and any(row[i] is not None for row in rows) else "l"
                   for i in range(len(columns)))
    return spec, {i: f"{share:.2f}\\linewidth" for i in long}


def _wrapped(text: str, width: str | None) -> str:
    """Long text as a ragged-right paragraph of ``width``, breakable after ``/``, ``_``, ``:`` and a dot before a
    letter."""
    if not (width and text):
        return text
    # paths may break, and so may identifiers like arXiv:1704.04861 (wider than a narrow column at 9 pt)
    text = text.replace("/", "/\\allowbreak{}").replace("\\_", "\\_\\allowbreak{}").replace(":", ":\\allowbreak{}")
    text = re.sub(r"\.(?=[A-Za-z])", ".\\\\allowbreak{}", text)  # a file name's extension (efficientformer.py)
    return f"\\parbox[t]{{{width}}}{{\\raggedright {text}}}"
