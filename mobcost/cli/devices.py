"""``mobcost calibrate --from-measurements FILE.csv -o PROFILE.yaml [--base PROFILE]``: a device's profile from a
handful of networks measured on it (:mod:`mobcost.explore.devicefit`), the fit's residual per row on stderr."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..errors import OptionError
from ..report.text import clean

DEFAULT_BASE = "cortex_m7"


def calibrate_from_measurements(csv_path: Path, output: Path | None, base_name: str | None) -> None:
    import yaml

    from ..explore.devicefit import fit, leave_one_out, profile_document
    from ..explore.hardware import load_hardware
    from ..explore.measurements import graph_of, read_measurements
    from ..files import note_input, write_atomic

    if output is None:
        raise OptionError("--from-measurements needs --output: the profile file to write", where="--output")
    base = load_hardware(base_name or DEFAULT_BASE)
    rows = read_measurements(csv_path)
    note_input(csv_path)  # -o may not replace the measurements it was fitted from
    graphs = [graph_of(row, csv_path) for row in rows]
    result = fit(rows, graphs, base)
    # leave-one-out needs at least two rows left to fit; with fewer it says nothing
    loo = leave_one_out(rows, graphs, base) if len(rows) >= 3 else None
    doc = profile_document(result, rows, base, csv_path.name, loo)
    header = (f"# Written by `mobcost calibrate --from-measurements {csv_path.name}`: fitted to the measured networks "
              "recorded under `measured.rows`, the base profile's figures as the prior.\n")
    write_atomic(output, header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    for i, (row, residual) in enumerate(zip(rows, result.residuals(rows), strict=True)):
        held = f", left out: {loo[i]:+.1%}" if loo else ""
        print(f"{clean(csv_path.name)}:{row.line}: {clean(row.spec)} α={row.alpha:g}: measured "
              f"{row.latency_ms:.4g} ms, fitted {result.predicted_ms[i]:.4g} ms ({residual:+.1%}{held})",
              file=sys.stderr)
    if loo:
        print(f"leave-one-out: median |error| {sorted(abs(e) for e in loo)[len(loo) // 2]:.1%}, worst "
              f"{max(loo, key=abs):+.1%}", file=sys.stderr)
    power = f", active power {result.active_power_mw:.4g} mW" if result.active_power_mw else ""
    print(f"wrote {clean(output)}: {len(rows)} rows, families {', '.join(result.families)}{power}", file=sys.stderr)
    if result.active_power_mw is None:
        print("mobcost: warning: no row gives energy_uj, so the profile has no active power and its energy is the "
              "per-operation table's lower bound; add energy rows, or active_power_mw from the datasheet (current × "
              "voltage at the clock) with its source line", file=sys.stderr)


def warn_unexercised(graph: Any, hw: Any) -> None:
    """One line on stderr when a profile fitted from measurements predicts layer families none of its rows ran."""
    from ..explore.devicefit import unexercised

    missing = unexercised(graph, hw)
    if missing:
        print(f"mobcost: warning: {', '.join(missing)} layers: no measured row of {clean(hw.file or hw.name)} "
              "exercised them; their figures are the prior's", file=sys.stderr)
