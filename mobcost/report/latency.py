"""The `latency` command's views: predicted (and measured) time per layer, per type and in total; the
16-model grid with Spearman's ρ and the median error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich import box

from ..analysis import Analysis
from ..explore.energy import network_energy, uj
from ..explore.stats import median_ape, spearman
from ..units import plural
from .energy import energy_basis, energy_by_category, energy_caption, energy_dict, energy_text, layer_energy_dict
from .formats import human
from .table import title, type_label
from .terminal import FitTable

if TYPE_CHECKING:
    from ..explore.energy import NetworkEnergy
    from ..explore.hardware import Hardware
    from ..measure.timing import Measurement


def type_shares(a: Analysis, predicted: list[float], measured: list[float] | None) -> list[dict[str, Any]]:
    """Per layer type: share of Mult-Adds, of predicted time and of measured time (the paper's "95% of
    the time in 1×1 convolutions")."""
    groups: dict[str, list[float]] = {}
    for i, row in enumerate(a.rows):
        g = groups.setdefault(row.category, [0.0, 0.0, 0.0])
        g[0] += row.mult_adds
        g[1] += predicted[i]
        g[2] += measured[i] if measured else 0.0
    total_ma, total_p = a.totals.mult_adds or 1, sum(predicted) or 1.0
    total_m = sum(measured) if measured else 1.0
    out = [{"type": k, "mult_adds_pct": round(100 * v[0] / total_ma, 2),
            "predicted_pct": round(100 * v[1] / total_p, 2),
            "measured_pct": round(100 * v[2] / total_m, 2) if measured else None} for k, v in groups.items()]
    return sorted(out, key=lambda d: -d["mult_adds_pct"])


def latency_dict(a: Analysis, hw: Hardware, threads: int, predicted: list[float],
                 measured: Measurement | None, runtime: str | None = "torch") -> dict[str, Any]:
    """The JSON document; the energy on the same profile (``explore.energy``) comes last in the totals, each
    layer and each type."""
    g = a.graph
    layers = measured.layers_s if measured else None
    energy = network_energy(g, hw)
    return {
        "network": a.network, "alpha": g.alpha, "rho": g.rho, "resolution": g.resolution, "threads": threads,
        "hardware": hw.name, "runtime": runtime, "predicted_ms": round(1e3 * sum(predicted), 4),
        "measured_ms": round(1e3 * measured.total_s, 4) if measured else None,
        "measured_layers_sum_ms": round(1e3 * sum(layers), 4) if layers else None,
        **energy_dict(energy.pj, energy.compute_pj, energy.memory_pj), **energy_basis(energy),
        "layers": [{"name": r.name, "type": r.node.type, "mult_adds": r.mult_adds,
                    "predicted_ms": round(1e3 * p, 5), "measured_ms": round(1e3 * layers[i], 5) if layers else None,
                    **layer_energy_dict(energy.layers[i])}
                   for i, (r, p) in enumerate(zip(a.rows, predicted, strict=True))],
        "types": type_energy(a, energy, type_shares(a, predicted, layers)),
    }


def type_energy(a: Analysis, energy: NetworkEnergy, types: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each type's record with its share of the energy and its energy (the Mult-Adds share beside them shows
    how little the arithmetic says about the joules when bytes dominate)."""
    spent = energy_by_category(a, energy)
    total = energy.pj or 1.0
    return [{**t, "energy_pct": round(100 * spent[t["type"]][0] / total, 2), "energy_uj": uj(spent[t["type"]][0])}
            for t in types]


# How each runtime's layers are timed apart (the note under the table).
PER_LAYER = {"torch": "per layer with forward hooks (their sum can differ from the whole)",
             "onnxruntime": "per layer from ORT's profiler: each node's kernel time less the profiler's own, layout "
                            "reorders charged to the layer after them",
             "litert": "not per layer (LiteRT's XNNPACK delegate runs the network as one node)"}


def latency_tables(a: Analysis, hw: Hardware, predicted: list[float], measured: Measurement | None,
                   runtime: str | None = "torch") -> list[Any]:
    layers = measured.layers_s if measured else None
    energy = network_energy(a.graph, hw)
    t = FitTable({"title": f"Latency — {title(a)} on {hw.name}", "box": box.SIMPLE_HEAD, "pad_edge": False,
                  "collapse_padding": True, "title_justify": "left"})
    t.add_column("Name", whole=False)
    t.add_column("Type / Stride", whole=False, drop=2)
    for header, drop in (("Mult-Adds", 1), ("Predicted", 0), ("Measured", 0), ("Meas./Pred.", 0), ("Energy", 3)):
        t.add_column(header, justify="right", drop=drop)
    for i, (row, p) in enumerate(zip(a.rows, predicted, strict=True)):
        m = layers[i] if layers else None
        t.add_row(row.name, type_label(row), human(row.mult_adds), f"{1e3 * p:.3f} ms",
                  "" if m is None else f"{1e3 * m:.3f} ms", "" if m is None else f"{m / p:.2f}",
                  energy_text(energy.layers[i].pj / 1e6))
    t.add_section()
    total_m = measured.total_s if measured else None
    t.add_row("Total", "", human(a.totals.mult_adds), f"{1e3 * sum(predicted):.2f} ms",
              "" if total_m is None else f"{1e3 * total_m:.2f} ms",
              "" if total_m is None else f"{total_m / sum(predicted):.2f}", energy_text(energy.pj / 1e6), style="bold")
    shares = FitTable({"title": "Time share per layer type (the paper: 95% of the time in 1×1 convolutions)",
                       "box": box.SIMPLE_HEAD, "pad_edge": False, "collapse_padding": True, "title_justify": "left"})
    for header in ("Type", "% Mult-Adds", "% predicted time", "% measured time", "% energy"):
        shares.add_column(header, justify="left" if header == "Type" else "right")
    for d in type_energy(a, energy, type_shares(a, predicted, layers)):
        shares.add_row(d["type"], f"{d['mult_adds_pct']:.2f}", f"{d['predicted_pct']:.2f}",
                       "" if d["measured_pct"] is None else f"{d['measured_pct']:.2f}", f"{d['energy_pct']:.2f}")
    note = (f"Measured under {runtime}: whole inference, median of all runs over 5 interleaved rounds after "
            f"warm-up; {PER_LAYER[runtime or 'torch']}." if measured else "Add --measure to time it on this CPU.")
    return [t, shares, note, energy_caption(energy)]


def grid_dict(points: list[tuple[float, int, float, float | None]], hw: Hardware, threads: int,
              runtime: str = "torch", energies_pj: list[float] | None = None) -> dict[str, Any]:
    """The grid's JSON document; each point's energy on the same profile when ``energies_pj`` is given."""
    measured = [p[3] for p in points]
    have = all(m is not None for m in measured)
    energy = [{"energy_uj": uj(e)} for e in energies_pj] if energies_pj else [{} for _ in points]
    doc: dict[str, Any] = {
        "threads": threads, "hardware": hw.name, "runtime": runtime,
        "points": [{"alpha": a, "resolution": r, "predicted_ms": round(1e3 * p, 4),
                    "measured_ms": None if m is None else round(1e3 * m, 4), **e}
                   for (a, r, p, m), e in zip(points, energy, strict=True)],
        "spearman": None, "median_ape": None,
    }
    if have:
        predicted = [p[2] for p in points]
        doc["spearman"] = round(spearman(predicted, measured), 4)  # type: ignore[arg-type]
        doc["median_ape"] = round(median_ape(predicted, measured), 4)  # type: ignore[arg-type]
    return doc


def grid_table(doc: dict[str, Any]) -> FitTable:
    caption = (f"Spearman rank correlation {doc['spearman']:.3f}, median absolute error "
               f"{100 * doc['median_ape']:.1f}%" if doc["spearman"] is not None else "Add --measure to compare.")
    runtime = f", {doc['runtime']}" if doc.get("runtime") else ""
    # The profile's short name: a host profile's full name already says its threads and runtime, said next.
    hardware = doc["hardware"].split(" (")[0]
    title = f"The 16 MobileNet models on {hardware} ({plural(doc['threads'], 'thread')}{runtime})"
    t = FitTable({"title": title, "caption": caption, "box": box.SIMPLE_HEAD, "pad_edge": False,
                  "collapse_padding": True, "title_justify": "left", "caption_justify": "left"})
    for header in ("α", "Resolution", "Predicted", "Measured", "Error", "Energy"):
        t.add_column(header, justify="right")
    for p in doc["points"]:
        m = p["measured_ms"]
        err = "" if m is None else f"{100 * (p['predicted_ms'] - m) / m:+.1f}%"
        joules = "" if "energy_uj" not in p else energy_text(p["energy_uj"])
        t.add_row(f"{p['alpha']:g}", str(p["resolution"]), f"{p['predicted_ms']:.2f} ms",
                  "" if m is None else f"{m:.2f} ms", err, joules)
    return t
