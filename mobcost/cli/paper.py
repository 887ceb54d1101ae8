"""`mobcost paper`: the paper's Tables 1–14 recomputed, beside the published figures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import OptionError
from ..report.formats import TABULAR, Format

if TYPE_CHECKING:
    from ..analysis.paper import Figure
from .common import ConventionOpt, FormatOpt, OutputOpt, app, emit_json, emit_records, friendly, render_rich


@app.command()
@friendly
def paper(
    tables: Annotated[list[str] | None, typer.Argument(help="Table numbers (1–14); default: all.",
                                                       show_default=False)] = None,
    convention: ConventionOpt = None,
    fmt: FormatOpt = Format.rich,
    output: OutputOpt = None,
) -> None:
    """Regenerate the MobileNets paper's Tables 1–14 from specs, side by side with the published figures.

    Every figure is `match` (equal at the paper's printed precision, rounded or truncated) or `differs`,
    with a one-line explanation. With `--convention`, each network's Mult-Adds are also counted under that
    convention (in millions of its unit): what that tool or paper would print for the same network.
    """
    from ..analysis.paper import TABLES, figures, recount
    from ..report.paper import figure_dict, figure_document, paper_summary, paper_tables

    wanted = [t.lower().removeprefix("table").strip() for t in tables or []]
    for t in wanted:
        if t not in TABLES:
            raise OptionError(f"no table {t!r}; the paper's resource tables are 1–14", where="TABLE")
    figs = figures(wanted or None)
    name = str(convention.value) if convention else ""

    def record(f: Figure) -> dict[str, Any]:
        if not name:
            return figure_dict(f)
        again = recount(f, name)
        return {**figure_dict(f), "convention": name, "convention_value": None if again is None else round(again, 6)}

    if fmt == Format.json:
        emit_json({"rows": [record(f) for f in figs]}, output)
    elif fmt == Format.csv:  # tidy: the records as JSON has them
        emit_records([record(f) for f in figs], fmt, output)
    elif fmt in TABULAR:  # a document: as printed, under the rich view's headers
        emit_records([figure_document(f, recount(f, name) if name else None, name) for f in figs], fmt, output)
    else:
        render_rich(*paper_tables(figs, (lambda f: recount(f, name)) if name else None, name), paper_summary(figs),
                    output=output)
