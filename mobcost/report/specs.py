"""The `specs` command's rich view: the bundled specs with their totals."""

from __future__ import annotations

from typing import Any

from rich import box

from .formats import human
from .terminal import FitTable


def specs_table(entries: list[dict[str, Any]]) -> FitTable:
    """A name you type is never cut: a narrow terminal folds the network's description and drops the layer
    count, then the input size, then the description."""
    view = FitTable({"title": "Bundled specs", "box": box.HEAVY_HEAD})
    view.add_column("Name")
    view.add_column("Network", whole=False, drop=1)
    view.add_column("Input", drop=2)
    view.add_column("Layers", drop=3)
    view.add_column("Mult-Adds")
    view.add_column("Params")
    for e in entries:
        c, h, w = e["input"]
        view.add_row(e["name"], e["network"], f"{h}×{w}×{c}", str(e["layers"]), human(e["mult_adds"]),
                     human(e["params"]))
    return view
