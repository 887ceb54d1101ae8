"""Measured latencies (and energies) of whole networks on one device, read from a CSV file.

Header ``spec,alpha,resolution,classes,latency_ms,energy_uj`` (more columns may follow and are kept as
descriptions): one measured network per row; ``spec`` a bundled name or a path; ``resolution``, ``classes``
and ``energy_uj`` may be empty (the spec's own input size and classifier width; no energy measured). Every bad
cell is a one-line error naming the file, the line and the column (``file.csv:3: latency_ms: …``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MobcostError, OptionError
from ..graph import build
from ..spec import load_spec
from ..spec.transforms import with_classes

if TYPE_CHECKING:
    from ..graph import Graph

COLUMNS = ("spec", "alpha", "resolution", "classes", "latency_ms", "energy_uj")
MAX_ROWS = 10_000  # a device's measurements, not a data set


@dataclass(frozen=True)
class MeasuredRow:
    line: int  # in the file, for messages
    spec: str
    alpha: float
    resolution: int | None
    classes: int | None
    latency_ms: float
    energy_uj: float | None
    extra: dict[str, str] = field(default_factory=dict)  # the descriptive columns after the six

    def as_record(self) -> dict[str, object]:
        """The row as a profile records it (``measured.rows``)."""
        return {"spec": self.spec, "alpha": self.alpha, "resolution": self.resolution, "classes": self.classes,
                "latency_ms": self.latency_ms, "energy_uj": self.energy_uj, **self.extra}


def read_measurements(path: Path) -> list[MeasuredRow]:
    """The rows of a measurements CSV, each checked (a located one-line error for the first bad cell)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise OptionError(f"cannot read it: {exc.__class__.__name__}", file=str(path),
                          where="--from-measurements") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header[:6]) != COLUMNS:
        raise OptionError(f"the header must begin {','.join(COLUMNS)}", file=str(path), line=1)
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise OptionError(f"more than {MAX_ROWS:,} rows", file=str(path), line=number)
        rows.append(_row(cells, header, path, number))
    if not rows:
        raise OptionError("no measured rows", file=str(path), line=2)
    return rows


def _row(cells: list[str], header: list[str], path: Path, line: int) -> MeasuredRow:
    def bad(column: str, message: str) -> OptionError:
        return OptionError(message, file=str(path), line=line, where=column)

    if len(cells) < len(COLUMNS):
        raise bad(COLUMNS[len(cells)], f"missing: the row has {len(cells)} of the {len(COLUMNS)} columns")
    value = dict(zip(COLUMNS, (c.strip() for c in cells), strict=False))
    if not value["spec"]:
        raise bad("spec", "empty: give a bundled spec's name or a path")
    extra = {h.strip(): c.strip() for h, c in zip(header[6:], cells[6:], strict=False) if h.strip()}
    return MeasuredRow(line, value["spec"], _number(value["alpha"] or "1", "alpha", bad),
                       _whole(value["resolution"], "resolution", bad), _whole(value["classes"], "classes", bad),
                       _number(value["latency_ms"], "latency_ms", bad),
                       _number(value["energy_uj"], "energy_uj", bad) if value["energy_uj"] else None, extra)


def _number(text: str, column: str, bad) -> float:  # type: ignore[no-untyped-def]
    try:
        number = float(text)
    except ValueError:
        raise bad(column, f"must be a positive number, got {text!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise bad(column, f"must be a positive number, got {text!r}")
    return number


def _whole(text: str, column: str, bad) -> int | None:  # type: ignore[no-untyped-def]
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise bad(column, f"must be a positive whole number or empty, got {text!r}")
    return int(text)


def graph_of(row: MeasuredRow, path: Path) -> Graph:
    """The network a row measured, built at its width, resolution and classes (an error names the row)."""
    try:
        spec = load_spec(row.spec)
        spec = with_classes(spec, row.classes) if row.classes else spec
        return build(spec, row.alpha, resolution=row.resolution)
    except MobcostError as exc:
        raise OptionError(str(exc), file=str(path), line=row.line, where="spec") from None
