"""Held-out check of `calibrate --from-measurements` (issue 24's done-when): published measurements the bundled
profiles were not fitted on, each board fitted from three or four of its own rows and asked for the rest.

    python benchmarks/heldout_boards.py            # the Markdown tables (README, "Held-out boards")
    python benchmarks/heldout_boards.py summary    # the four done-when fractions
    python benchmarks/heldout_boards.py subsets    # the zoo sweep fitted from every 12th choice of four rows

Data (tests/data/heldout/, every row with its source: repository@commit, file or table):

* ``mlperf_tiny_heldout.csv``: MLPerf Tiny v1.1, v1.2 and v1.3 closed-division microcontroller results (written by
  benchmarks/heldout_gather.py from the rounds' results repositories). A group is one board × stack × round
  (``group``); with four benchmarks per group, each is predicted by a fit to the other three, and its energy,
  where published, as the mean power (µJ ÷ ms) of those three × the predicted latency.
* ``st_zoo_h747.csv``: STMicroelectronics' model zoo, MobileNet v1 and v2 int8 at several widths, resolutions and
  class counts on one STM32H747I-DISCO (Cortex-M7, 400 MHz, STM32Cube.AI 10.0.0). Fitted from the four rows
  ``ZOO_FIT`` (each family's smallest and largest network, the corners a user would time first), the other eight
  are the sweep.

Every fit is the command's (``devicefit.fit``) with the bundled ``cortex_m7`` profile as the prior, as the bundled
board profiles are fitted (benchmarks/mlperf_tiny_boards.py).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mobcost.explore.devicefit import fit
from mobcost.explore.hardware import Hardware, load_hardware, predict_layers
from mobcost.explore.measurements import MeasuredRow, graph_of, read_measurements

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "heldout"
MLPERF = DATA / "mlperf_tiny_heldout.csv"
ZOO = DATA / "st_zoo_h747.csv"
BASE = "cortex_m7"
# The zoo rows fitted on (0-based, file order): MobileNet v1 α=0.25 at 96 (5 classes) and α=1.0 at 224 (1000),
# MobileNet v2 α=0.35 at 128 (5) and α=1.4 at 224 (1000).
ZOO_FIT = (2, 5, 6, 11)
LATENCY_BAND, SWEEP_BAND, ENERGY_BAND = 0.30, 0.20, 0.40  # the done-when's ±30 %, ±20 %, ±40 %


@dataclass(frozen=True)
class Predicted:
    group: str
    row: MeasuredRow
    ms: float  # predicted latency
    uj: float | None  # predicted energy, where the row publishes one and the fitted rows give a power

    @property
    def error(self) -> float:
        return self.ms / self.row.latency_ms - 1

    @property
    def energy_error(self) -> float | None:
        return None if self.uj is None or self.row.energy_uj is None else self.uj / self.row.energy_uj - 1


def _mean_power(rows: list[MeasuredRow]) -> float | None:
    powers = [r.energy_uj / r.latency_ms for r in rows if r.energy_uj]  # µJ / ms = mW
    return sum(powers) / len(powers) if powers else None


def _predict(rows: list[MeasuredRow], graphs: list, fit_on: list[int], target: int, base: Hardware,
             group: str) -> Predicted:
    fitted = fit([rows[j] for j in fit_on], [graphs[j] for j in fit_on], base)
    ms = sum(predict_layers(graphs[target], fitted.hardware)) * 1e3
    power = _mean_power([rows[j] for j in fit_on])
    uj = ms * power if power is not None and rows[target].energy_uj else None
    return Predicted(group, rows[target], ms, uj)


def mlperf_heldout(path: Path = MLPERF) -> list[Predicted]:
    """Every benchmark of every group of four, predicted by a fit to the group's other three."""
    rows = read_measurements(path)
    groups: dict[str, list[MeasuredRow]] = defaultdict(list)
    for row in rows:
        groups[row.extra["group"]].append(row)
    base = load_hardware(BASE)
    out = []
    for group, members in groups.items():
        if len(members) < 4:  # three to fit and one to predict
            continue
        graphs = [graph_of(r, path) for r in members]
        for i in range(len(members)):
            out.append(_predict(members, graphs, [j for j in range(len(members)) if j != i], i, base, group))
    return out


def zoo_sweep(path: Path = ZOO, fit_on: tuple[int, ...] = ZOO_FIT) -> list[Predicted]:
    """The zoo's rows other than ``fit_on``, predicted by one fit to ``fit_on``."""
    rows = read_measurements(path)
    graphs = [graph_of(r, path) for r in rows]
    base = load_hardware(BASE)
    fitted = fit([rows[j] for j in fit_on], [graphs[j] for j in fit_on], base)
    return [Predicted(rows[i].extra["group"], rows[i], sum(predict_layers(graphs[i], fitted.hardware)) * 1e3, None)
            for i in range(len(rows)) if i not in fit_on]


def zoo_subsets(path: Path = ZOO, size: int = 4, every: int = 12) -> list[float]:
    """For every ``every``-th choice of ``size`` zoo rows to fit (C(12, 4) = 495 in lexicographic order; each fit of
    four MobileNets takes seconds): the share of the other rows predicted within ±20 % — whether ``ZOO_FIT`` is a
    lucky choice."""
    from itertools import combinations

    rows = read_measurements(path)
    graphs = [graph_of(r, path) for r in rows]
    base = load_hardware(BASE)
    shares = []
    for fit_on in list(combinations(range(len(rows)), size))[::every]:
        fitted = fit([rows[j] for j in fit_on], [graphs[j] for j in fit_on], base)
        errors = [sum(predict_layers(graphs[i], fitted.hardware)) * 1e3 / rows[i].latency_ms - 1
                  for i in range(len(rows)) if i not in fit_on]
        shares.append(sum(abs(e) <= SWEEP_BAND for e in errors) / len(errors))
    return shares


def fractions(mlperf: list[Predicted], zoo: list[Predicted]) -> dict[str, tuple[int, int]]:
    """The done-when's counts: (within, of) for latency ±30 % (MLPerf groups), the zoo sweep ±20 %, energy ±40 %
    and energy within a factor of two."""
    energies = [p.energy_error for p in mlperf if p.energy_error is not None]
    return {"latency_30": (sum(abs(p.error) <= LATENCY_BAND for p in mlperf), len(mlperf)),
            "sweep_20": (sum(abs(p.error) <= SWEEP_BAND for p in zoo), len(zoo)),
            "energy_40": (sum(abs(e) <= ENERGY_BAND for e in energies), len(energies)),
            "energy_x2": (sum(0.5 <= 1 + e <= 2 for e in energies), len(energies))}


def table(mlperf: list[Predicted], zoo: list[Predicted]) -> str:
    """Markdown: one line per MLPerf group (each benchmark's published / predicted ms, left out; energy where
    published), then the zoo's sweep, then the done-when counts."""
    by_group: dict[str, list[Predicted]] = defaultdict(list)
    for p in mlperf:
        by_group[p.group].append(p)
    lines = ["| round: submitter/system | board (MHz), stack | VWW ms | IC ms | KWS ms | AD ms | "
             "energy µJ, VWW · IC · KWS · AD (left out) |", "|---|---|---:|---:|---:|---:|---|"]
    for group, preds in by_group.items():
        first, cells = preds[0].row.extra, {p.row.spec: p for p in preds}
        ms = [f"{c.row.latency_ms:.4g} / {c.ms:.4g} ({c.error:+.0%})" if (c := cells.get(s)) else "—" for s in SPECS]
        uj = [f"{c.row.energy_uj:,.0f} / {c.uj:,.0f} ({c.energy_error:+.0%})" for s in SPECS
              if (c := cells.get(s)) and c.energy_error is not None]
        lines.append(f"| {group} | {first['board']} ({first['mhz']}), {first['software']} | {' | '.join(ms)} | "
                     f"{' · '.join(uj) or '— (not published)'} |")
    lines += ["", "| network (STM32H747I-DISCO, 400 MHz, STM32Cube.AI 10.0.0) | α | resolution | classes | "
              "published ms | predicted ms | error |", "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {p.row.spec} | {p.row.alpha:g} | {p.row.resolution} | {p.row.classes} | {p.row.latency_ms:g} | "
              f"{p.ms:.4g} | {p.error:+.0%} |" for p in zoo]
    counts = fractions(mlperf, zoo)
    lines += ["", "  ".join(f"{k}: {a}/{n} ({a / n:.0%})" for k, (a, n) in counts.items())]
    return "\n".join(lines)


SPECS = ("mlperf_tiny_vww", "mlperf_tiny_ic", "mlperf_tiny_kws", "mlperf_tiny_ad")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "subsets":
        shares = sorted(zoo_subsets())
        good = sum(s >= 0.8 for s in shares)
        print(f"{len(shares)} choices of four rows (every 12th of 495): {good} give ≥ 80% of the other eight within "
              f"±20%; worst {shares[0]:.0%}, median {shares[len(shares) // 2]:.0%}")
        sys.exit()
    mlperf, zoo = mlperf_heldout(), zoo_sweep()
    if len(sys.argv) > 1 and sys.argv[1] == "summary":
        for key, (within, of) in fractions(mlperf, zoo).items():
            print(f"{key}: {within}/{of} = {within / of:.1%}")
    else:
        print(table(mlperf, zoo))
