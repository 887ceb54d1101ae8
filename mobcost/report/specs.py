"""The `specs` command's rich view: the bundled specs with their totals."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from .formats import human


def specs_table(entries: list[dict[str, Any]]) -> Table:
    view = Table("Name", "Network", "Input", "Layers", "Mult-Adds", "Params", title="Bundled specs")
    for e in entries:
        c, h, w = e["input"]
        view.add_row(e["name"], e["network"], f"{h}×{w}×{c}", str(e["layers"]), human(e["mult_adds"]),
                     human(e["params"]))
    return view
