"""The output formats every view shares: json, csv, markdown and latex (through pandas), and rich.

Views build JSON-ready dicts, flat records or rich renderables; this module turns them into text. Nothing
here prints: the command line writes the text where it belongs. pandas is imported only to write csv,
markdown and latex, so the rich and JSON views start without it.
"""

from __future__ import annotations

import io
import json
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
    """``digits`` significant figures (at least) with an SI prefix: 569 M, 14.7 M, 32.9 k, 864."""
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")):
        if abs(n) >= factor:
            value = n / factor
            decimals = max(0, digits - len(str(int(abs(value)))))
            return f"{value:.{decimals}f} {prefix}{unit}".rstrip()
    return f"{n:g} {unit}".rstrip()


def share(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0



def json_text(doc: Any) -> str:
    """Stable JSON: keys in the order the view wrote them, two-space indent, UTF-8 left as is."""
    return json.dumps(doc, indent=2, ensure_ascii=False)


def records_text(records: list[dict[str, Any]], fmt: Format) -> str:
    """Flat records as one table through pandas: tidy CSV (a row per record), Markdown or LaTeX.
    A list or mapping inside a record becomes one ``;``-separated cell."""
    import pandas as pd

    def cell(value: Any) -> Any:
        if isinstance(value, dict):
            return ";".join(f"{k}={v}" for k, v in value.items())
        return ";".join(map(str, value)) if isinstance(value, list) else value

    frame = pd.DataFrame.from_records([{k: cell(v) for k, v in r.items()} for r in records])
    return {Format.csv: lambda: frame.to_csv(index=False, lineterminator="\n"),
            Format.markdown: lambda: frame.to_markdown(index=False, missingval="") + "\n",
            Format.latex: lambda: frame.to_latex(index=False, na_rep="")}[fmt]()


def rich_text(*renderables: Any, width: int = 120) -> str:
    """Rich renderables as plain text (for a file): recorded on a console of ``width`` columns."""
    from rich.console import Console

    console = Console(record=True, width=width, file=io.StringIO())
    for r in renderables:
        console.print(r)
    return console.export_text()
