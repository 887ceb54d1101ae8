"""`mobcost paper`: the paper's Tables 1–10 recomputed, beside the published figures."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import OptionError
from ..report.formats import TABULAR, Format
from .common import FormatOpt, OutputOpt, app, emit_json, emit_records, friendly, render_rich


@app.command()
@friendly
def paper(
    tables: Annotated[list[str] | None, typer.Argument(help="Table numbers (1–10); default: all.",
                                                       show_default=False)] = None,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Regenerate the MobileNets paper's Tables 1–10 from specs, side by side with the published figures.

    Every figure is `match` (equal at the paper's printed precision, rounded or truncated) or `differs`,
    with a one-line explanation.
    """
    from ..analysis.paper import TABLES, figures
    from ..report.paper import figure_dict, paper_summary, paper_tables

    wanted = [t.lower().removeprefix("table").strip() for t in tables or []]
    for t in wanted:
        if t not in TABLES:
            raise OptionError(f"no table {t!r}; the paper's resource tables are 1–10", where="TABLE")
    figs = figures(wanted or None)
    if fmt == Format.json:
        emit_json({"rows": [figure_dict(f) for f in figs]}, output)
    elif fmt in TABULAR:
        emit_records([figure_dict(f) for f in figs], fmt, output)
    else:
        render_rich(*paper_tables(figs), paper_summary(figs), output=output)
