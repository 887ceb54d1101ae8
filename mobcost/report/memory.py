"""The `memory` command's views: RAM and flash of one design point (the figures come from
:mod:`mobcost.analysis.memory`), and the planner's buffers with their lifetimes and offsets."""

from __future__ import annotations

from typing import Any

from rich import box

from ..analysis.memory import FOREVER, Memory, memory_steps
from .formats import human
from .terminal import FitTable

SUMMARY_KEYS = ("arena_bytes", "persistent_bytes", "total_ram_bytes", "weights_bytes", "activation_peak_bytes")


def memory_title(m: Memory) -> str:
    g = m.graph
    return (f"{g.spec.name} · α={g.alpha:g} · {g.input.h}×{g.input.w} input · {m.dtype} · planner "
            f"{m.planner}")


def summary(m: Memory) -> dict[str, int | None]:
    return {"arena_bytes": m.arena_bytes, "persistent_bytes": m.persistent_bytes,
            "total_ram_bytes": m.total_ram_bytes, "weights_bytes": m.weights_bytes,
            "activation_peak_bytes": m.activation_peak_bytes}


def design_point(m: Memory) -> dict[str, Any]:
    g = m.graph
    return {"network": g.spec.name, "alpha": g.alpha, "rho": g.rho, "resolution": g.resolution,
            "dtype": m.dtype, "planner": m.planner}


def memory_dict(m: Memory) -> dict[str, Any]:
    """The JSON document: the design point, the five figures, their parts, the peak and the planned buffers."""
    w = m.weights
    return {
        **design_point(m), **summary(m),
        "weights": {"weights": w.weights, "biases": w.biases, "quantization": w.quantization},
        "peak": {"layer": m.graph.nodes[m.peak_layer].name if m.graph.nodes else None,
                 "tensors": list(m.peak_tensors)},
        "buffers": buffer_records(m),
        **({"recompute": recompute_record(m)} if m.recompute else {}),
        "notes": list(m.notes),
    }


def recompute_record(m: Memory) -> dict[str, Any]:
    """patch: the grid, the stage and the Mult-Adds its overlapping patches compute again."""
    r = m.recompute
    assert r is not None
    return {"patches": r.patches, "split": m.graph.nodes[r.split].name, "extra_mult_adds": r.extra_mult_adds,
            "extra_percent": round(r.percent, 2), "stage_mult_adds": r.stage_mult_adds}


def step_records(m: Memory, tidy: bool = True) -> list[dict[str, Any]]:
    """The per-layer view: one record per execution step (``tidy``: the design point on every row)."""
    point = design_point(m) if tidy else {}
    return [{**point, "step": r.step, "layer": r.layer, "live_bytes": r.live_bytes,
             "in_use_bytes": r.in_use_bytes, "peak": r.peak, "live_tensors": list(r.live)}
            for r in memory_steps(m)]


def steps_dict(m: Memory) -> dict[str, Any]:
    """--layers as JSON: the design point and the five figures, then the steps."""
    return {**design_point(m), **summary(m),
            "steps": step_records(m, tidy=False),
            "notes": list(m.notes)}


def steps_table(m: Memory) -> FitTable:
    """--layers, rich: a row per step; the peak's row marked."""
    table = FitTable({"title": f"{memory_title(m)}: bytes per execution step", "box": box.SIMPLE_HEAD,
                      "caption": "live: the tensors alive while the layer runs (the lower bound's rule); in use: "
                                 "the planner's bytes then (placed buffers' highest byte, or the what-if's live "
                                 "bytes); ▲ the planner's peak"})
    for header in ("step", "layer", "live tensors", "live", "in use", ""):
        table.add_column(header, justify="left" if header in ("layer", "live tensors", "") else "right")
    for r in memory_steps(m):
        table.add_row(str(r.step), r.layer, ", ".join(r.live), f"{r.live_bytes:,}", f"{r.in_use_bytes:,}",
                      "▲ peak" if r.peak else "")
    return table


def buffer_records(m: Memory) -> list[dict[str, Any]]:
    """One record per planned buffer: what it holds, its (aligned) bytes, first and last step (null: never
    freed, as LiteRT's graph inputs and outputs), offset."""
    return [{"name": b.name, "bytes": b.size, "first": b.first, "last": None if b.last == FOREVER else b.last,
             "offset": o}
            for b, o in zip(m.buffers, m.offsets, strict=True)]


def memory_records(m: Memory) -> list[dict[str, Any]]:
    """csv: one tidy row per design point, so files of several runs concatenate."""
    w = m.weights
    return [{**design_point(m), **summary(m), "weights_only_bytes": w.weights, "bias_bytes": w.biases,
             "quantization_bytes": w.quantization}]


def _shown(value: int | None) -> str:
    return "—" if value is None else f"{value:,} B ({human(value, 'B')}, {value / 1024:.2f} KiB)"


def memory_views(m: Memory, *, buffers: bool = True) -> list[Any]:
    """The rich view: the figures, then (tflm) the buffers as the planner placed them."""
    table = FitTable({"title": memory_title(m), "box": box.SIMPLE_HEAD,
                      "caption": " · ".join(m.notes)})
    table.add_column("figure")
    table.add_column("bytes", justify="right")
    labels = {"arena_bytes": "arena (planned)", "persistent_bytes": "persistent", "total_ram_bytes": "total RAM",
              "weights_bytes": "weights (flash)", "activation_peak_bytes": "activation peak (lower bound)"}
    for key, value in summary(m).items():
        table.add_row(labels[key], _shown(value))
    if m.recompute:
        r = m.recompute
        table.add_row("recompute (patches)", f"{r.extra_mult_adds:,} Mult-Adds ({r.percent:.1f}% of the network)")
    views: list[Any] = [table]
    if buffers and m.buffers:
        views.append(buffer_table(m))
    return views


def buffer_table(m: Memory) -> FitTable:
    table = FitTable({"title": "Buffers as the planner placed them (steps: 0 = input, i = layer i)",
                      "box": box.SIMPLE_HEAD})
    for header in ("tensor", "bytes", "first", "last", "offset", "end"):
        table.add_column(header, justify="left" if header == "tensor" else "right")
    for r in buffer_records(m):
        table.add_row(r["name"], f"{r['bytes']:,}", str(r["first"]), "end" if r["last"] is None else str(r["last"]),
                      f"{r['offset']:,}",
                      f"{r['offset'] + r['bytes']:,}")
    return table


def document_records(m: Memory) -> list[dict[str, Any]]:
    """markdown and LaTeX: the five figures as rows (bytes and KiB), for a document's "does it fit?" table."""
    return [{"figure": key, "bytes": value, "KiB": None if value is None else round(value / 1024, 2)}
            for key, value in summary(m).items()]


MEASURED_LABELS = {"measured_arena_bytes": "arena (TFLM head, measured)",
                   "measured_persistent_bytes": "persistent (TFLM tail, measured)",
                   "measured_total_ram_bytes": "total RAM (TFLM, measured)",
                   "file_weights_bytes": "weights as the file stores them"}


def measured_records(measured: dict[str, int]) -> list[dict[str, Any]]:
    """markdown and LaTeX: TFLM's measured figures (``memory --measure``) as rows after the predicted ones."""
    return [{"figure": key, "bytes": value, "KiB": round(value / 1024, 2)} for key, value in measured.items()]


def measured_view(measured: dict[str, int]) -> FitTable:
    """The rich view of ``memory --measure``: what TFLM's recording allocator reported, beside the prediction."""
    table = FitTable({"title": "Measured: TFLM's RecordingMicroAllocator (64-bit host build)",
                      "box": box.SIMPLE_HEAD})
    table.add_column("figure")
    table.add_column("bytes", justify="right")
    for key, value in measured.items():
        table.add_row(MEASURED_LABELS[key], _shown(value))
    return table
