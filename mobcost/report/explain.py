"""The `explain` command's views: the difference between two conventions' totals, by cause — a summary of
every comparison, and each one's exact breakdown (rich); one JSON document; tidy records."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.text import Text

from ..analysis.explain import EXPLAIN_CAUSES, Explanation
from ..layers.conventions import CONVENTIONS, KINDS
from .formats import human
from .terminal import FitTable

CAUSE_LABELS = {
    "classifier_width": "Classifier width", "first_layer": "First layer", "factor_of_two": "Factor of two",
    "minus_one": "The −1 terms", "biases": "Biases", "batchnorm": "BatchNorm", "activations": "Activations",
    "pooling": "Pooling", "joins": "Elementwise joins", "moves": "Reshapes, dropout",
    "products": "Products of activations", "per_token": "Per-token layers",
}


def _point(e: Explanation) -> dict[str, Any]:
    g = e.graph
    return {"network": g.spec.name, "alpha": g.alpha, "rho": g.rho, "resolution": g.resolution}


def _share(e: Explanation, amount: int) -> float | None:
    share = e.share(amount)
    return None if share is None else round(share, 4)


def comparison_dict(e: Explanation) -> dict[str, Any]:
    target = CONVENTIONS[e.target.convention]
    return {"to": e.target.label, "unit": target.unit, "source": target.source, "from_total": e.source_total,
            "to_total": e.target_total, "difference": e.difference,
            "causes": [{"cause": c, "description": EXPLAIN_CAUSES[c], "amount": n, "share": _share(e, n)}
                       for c, n in e.causes]}


def explain_dict(explanations: list[Explanation]) -> dict[str, Any]:
    """``{"network", "alpha", "rho", "resolution", "from", "from_unit", "comparisons": [{"to", "unit", "source",
    "from_total", "to_total", "difference", "causes": [{"cause", "description", "amount", "share"}]}]}``:
    every cause listed, exact integers, shares in percent of the difference (null when it is 0)."""
    first = explanations[0]
    return {**_point(first), "from": first.source.label, "from_unit": CONVENTIONS[first.source.convention].unit,
            "comparisons": [comparison_dict(e) for e in explanations]}


def explain_records(explanations: list[Explanation]) -> list[dict[str, Any]]:
    """Tidy: one record per (comparison, cause), every cause, the design point repeated on every row."""
    return [{**_point(e), "from": e.source.label, "to": e.target.label, "cause": c, "amount": n,
             "share": _share(e, n), "difference": e.difference, "from_total": e.source_total,
             "to_total": e.target_total} for e in explanations for c, n in e.causes]


def document_records(explanations: list[Explanation]) -> list[dict[str, Any]]:
    """For markdown and LaTeX: per comparison, its non-zero causes and a row with the whole difference."""
    out: list[dict[str, Any]] = []
    for e in explanations:
        out += [{"To": e.target.label, "Cause": CAUSE_LABELS[c], "Amount": n, "Share (%)": _share(e, n)}
                for c, n in e.causes if n]
        out.append({"To": e.target.label, "Cause": "Difference", "Amount": e.difference,
                    "Share (%)": 100.0 if e.difference else None})
    return out


def explain_title(explanations: list[Explanation]) -> str:
    e = explanations[0]
    g = e.graph
    return (f"Why the counts differ — {g.spec.name} · α={g.alpha:g} · {g.input.h}×{g.input.w} input, "
            f"from {e.source.label}")


def _signed(n: int) -> str:
    return f"{n:+,}" if n else "0"


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share:.2f}"


def summary_table(explanations: list[Explanation]) -> FitTable:
    """Every comparison on one row: the target's total and unit, the difference, and its causes in words."""
    first = explanations[0]
    table = FitTable({"title": explain_title(explanations), "box": box.SIMPLE_HEAD, "pad_edge": False,
                      "collapse_padding": True, "title_justify": "left", "caption_justify": "left",
                      "caption": f"{first.source.label}: {first.source_total:,} "
                                 f"{CONVENTIONS[first.source.convention].unit}"})
    table.add_column("To")
    table.add_column("Unit", whole=False, drop=2)
    table.add_column("Total", justify="right")
    table.add_column("Difference", justify="right", drop=1)
    table.add_column("Causes", whole=False, fold_min=16, ratio=1)
    for e in explanations:
        causes = ", ".join(f"{CAUSE_LABELS[c]} {'+' if n > 0 else '−'}{human(abs(n)).replace(' ', '')}"
                           for c, n in e.causes if n) or "none"
        table.add_row(e.target.label, CONVENTIONS[e.target.convention].unit, f"{e.target_total:,}",
                      _signed(e.difference), causes)
    return table


def breakdown_table(e: Explanation) -> FitTable:
    """One comparison, exactly: each non-zero cause with its amount and share, then the difference they sum to."""
    target = CONVENTIONS[e.target.convention]
    table = FitTable({"title": f"{e.source.label} → {e.target.label}: {e.source_total:,} → {e.target_total:,} "
                               f"({target.unit})", "box": box.SIMPLE_HEAD, "pad_edge": False,
                      "collapse_padding": True, "title_justify": "left", "caption_justify": "left",
                      "caption": f"{e.target.convention}: {target.note}."})
    table.add_column("Cause")
    table.add_column("Amount", justify="right")
    table.add_column("Share %", justify="right")
    table.add_column("What", whole=False, drop=1, fold_min=16, ratio=1)
    for c, n in e.causes:
        if n:
            table.add_row(CAUSE_LABELS[c], _signed(n), _pct(e.share(n)), EXPLAIN_CAUSES[c])
    table.add_section()
    table.add_row("Difference", _signed(e.difference), "100.00" if e.difference else "", "", style="bold")
    return table


def explain_views(explanations: list[Explanation]) -> list[Any]:
    """The rich view: the summary, then each comparison's breakdown (none for a comparison with no difference)."""
    views: list[Any] = [summary_table(explanations)]
    views += [breakdown_table(e) for e in explanations if e.difference or any(n for _, n in e.causes)]
    if len(views) == 1:
        views.append(Text("The counts are equal: nothing to explain."))
    return views


# --- the rules themselves (`explain --rules`) --------------------------------------------------------------------

QUANTITY_SYMBOLS = {"macs": "MA", "out": "out", "in": "in", "window": "reads", "channels": "C", "positions": "H·W",
                    "out_x_in": "out·k²M/g", "out_x_out": "out·k²N/g", "count": "1",
                    "thop_adaptive": "⌊(in/out+1)·out⌋",
                    "weights": "W"}  # a token-wise layer's C_in·C_out (torchinfo counts it once per batch item)


def rule_text(rule: dict[str, int]) -> str:
    """A rule as a formula over its quantities: ``2·MA − out``, ``31·out``, ``0``."""
    text = ""
    for quantity, c in rule.items():
        term = QUANTITY_SYMBOLS[quantity] if abs(c) == 1 else f"{abs(c)}·{QUANTITY_SYMBOLS[quantity]}"
        text += (f" {'−' if c < 0 else '+'} " if text else ("−" if c < 0 else "")) + term
    return text or "0"


def rules_records() -> list[dict[str, str]]:
    """One record per operation kind, one column per convention: what each counts for it."""
    return [{"operation": kind, **{name: rule_text(dict(c.rules.get(kind, {}))) for name, c in CONVENTIONS.items()}}
            for kind in KINDS]


def rules_dict() -> dict[str, Any]:
    """``{"quantities": {…}, "conventions": [{"name", "unit", "source", "note", "rules": {kind: {quantity:
    coefficient}}}]}``."""
    return {"quantities": QUANTITY_SYMBOLS,
            "conventions": [{"name": c.name, "unit": c.unit, "source": c.source, "note": c.note,
                             "rules": {k: dict(v) for k, v in c.rules.items()}} for c in CONVENTIONS.values()]}


RULES_CAPTION = ("MA: multiply-adds (k·k·M/g·N·H′·W′; a transposed convolution's on its input map; C_in·C_out for "
                 "FC); out, in: output and input elements; reads: output elements × kernel area; C: channels; "
                 "⌊(in/out+1)·out⌋: thop's float64 count, truncated. Sources: `mobcost explain --rules -f json`.")


def rules_table() -> FitTable:
    table = FitTable({"title": "What each convention counts, per operation", "box": box.SIMPLE_HEAD,
                      "pad_edge": False, "collapse_padding": True, "title_justify": "left",
                      "caption": RULES_CAPTION, "caption_justify": "left"})
    table.add_column("Operation")
    for name in CONVENTIONS:
        table.add_column(name.replace("-", " "), whole=False, fold_min=5)
    for record in rules_records():
        table.add_row(*record.values())
    return table
