r"""LaTeX tables that compile as they are and fit the page.

Every cell, header and caption is escaped by :func:`report.formats.latex_text`. The output is a fragment to
``\input`` into a document; it needs no package (booktabs' rules fall back to ``\hline``), and looks best
with ``\usepackage{booktabs,graphicx}``. Width: context columns that are the same on every row move into
the caption, long text wraps in a ``p`` column, and the table is typeset at ``\small``, then
``\scriptsize`` if that is wider than the text, then scaled to the text width when graphicx is loaded.
Height: every :data:`ROWS_PER_FLOAT` rows start a new float ("continued") after a ``\clearpage``, so a long
table never runs off a page and any number of rows compiles.
"""

from __future__ import annotations

from typing import Any

from .formats import document_texts, is_number, latex_label, latex_text, number_text, plain_cell

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
        shared = "; ".join(f"{columns[i]}: {_cell(rows[0][i])}" for i in context)
        title = f"{title} ({shared})" if title else shared
        keep = [i for i in range(len(columns)) if i not in context]
        columns, rows = [columns[i] for i in keep], [[row[i] for i in keep] for row in rows]
    texts = document_texts(rows)  # separators, one fixed precision per column
    spec, wraps = _column_spec(columns, rows, texts)
    header = " & ".join(latex_text(c) for c in columns) + " \\\\"
    body = [" & ".join(_wrapped(latex_text(v), wraps.get(i)) for i, v in enumerate(row)) + " \\\\" for row in texts]
    chunks = [body[i:i + ROWS_PER_FLOAT] for i in range(0, len(body), ROWS_PER_FLOAT)] or [[]]
    floats = []
    for n, chunk in enumerate(chunks):
        caption = title if n == 0 or not title else f"{title} (continued)"
        floats.append(_float(spec, header, chunk, caption, label if n == 0 else None))
    return PREAMBLE + "\\clearpage\n".join(floats)  # one float pending at a time: no "too many unprocessed"


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
    """``r`` for numbers, ``l`` for text; the widths at which long text columns wrap."""
    numeric = [all(v is None or is_number(v) for v in (row[i] for row in rows)) for i in range(len(columns))]
    lengths = [max([len(row[i]) for row in texts] + [0]) for i in range(len(columns))]
    long = [i for i in range(len(columns)) if not numeric[i] and lengths[i] > LONG_TEXT]
    share = min(0.35, 0.6 / len(long)) if long else 0
    spec = "".join("r" if numeric[i] and any(row[i] is not None for row in rows) else "l"
                   for i in range(len(columns)))
    return spec, {i: f"{share:.2f}\\linewidth" for i in long}


def _wrapped(text: str, width: str | None) -> str:
    """Long text as a ragged-right paragraph of ``width``, breakable after ``/`` and ``_``."""
    if not (width and text):
        return text
    text = text.replace("/", "/\\allowbreak{}").replace("\\_", "\\_\\allowbreak{}")  # paths may break
    return f"\\parbox[t]{{{width}}}{{\\raggedright {text}}}"
