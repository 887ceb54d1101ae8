"""Analyses → rich tables, JSON-ready dicts and pandas DataFrames. Nothing here prints.

pandas is imported only inside the functions that build DataFrames (csv, markdown, latex), so the
rich and JSON views start without it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from rich import box
from rich.table import Table

from .analysis import DTYPE_BYTES, Analysis, Group, Row, Step, Totals
from .formulas import REGISTRY
from .layers import Shape
from .units import plural

if TYPE_CHECKING:
    import pandas as pd

    from .crosscheck import CheckReport, Point
    from .explore import SweepResult
    from .hardware import Hardware
    from .measure import Measurement
    from .paper import Figure


class Format(StrEnum):
    rich = "rich"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    latex = "latex"


class By(StrEnum):
    layer = "layer"
    type = "type"


class Section(StrEnum):
    layers = "layers"
    types = "types"
    shrink = "shrink"


class Dtype(StrEnum):
    fp32 = "fp32"
    fp16 = "fp16"
    int8 = "int8"


def human(n: float, unit: str = "", digits: int = 3) -> str:
    """``digits`` significant figures (at least) with an SI prefix: 569 M, 14.7 M, 32.9 k, 864."""
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")):
        if abs(n) >= factor:
            value = n / factor
            decimals = max(0, digits - len(str(int(abs(value)))))
            return f"{value:.{decimals}f} {prefix}{unit}".rstrip()
    return f"{n:g} {unit}".rstrip()


def share(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def title(a: Analysis) -> str:
    g = a.graph
    return f"{a.network} · α={g.alpha:g} · {g.resolution}×{g.resolution} input (ρ={g.rho:.3g})"


def totals_caption(t: Totals, dtype: Dtype | None) -> str:
    text = (f"Totals: {t.mult_adds:,} Mult-Adds · {t.params:,} params (+{t.bn_params:,} BN) · "
            f"{t.memory_access:,} elements of memory access")
    if dtype:
        b = DTYPE_BYTES[dtype]
        text += f" · {dtype}: {human(t.params * b, 'B')} of weights, {human(t.memory_access * b, 'B')} moved"
    return text


# --- rich ---------------------------------------------------------------------------------------


def layer_table(a: Analysis, dtype: Dtype | None = None) -> Table:
    """Table 1's columns (Type / Stride, Filter Shape, Input Size) plus the costs and their shares."""
    mem = f"Memory ({dtype})" if dtype else "Memory"
    table = _table(title(a), a.totals, dtype)
    table.add_column("Name", overflow="fold")
    for header in ("Type / Stride", "Filter Shape", "Input Size"):
        table.add_column(header, overflow="fold")
    for header in ("Mult-Adds", "% MA", "Params", "% P", mem):
        table.add_column(header, justify="right", no_wrap=True)
    for row in a.rows:
        node = row.node
        table.add_row(row.name, _type_label(row), row.filter_shape, _input_sizes(node.inputs),
                      *_cost_cells(row, a.totals, dtype))
    table.add_section()
    table.add_row("Total", "", "", "", *_cost_cells(a.totals, a.totals, dtype, digits=4), style="bold")
    return table


def _input_sizes(inputs: tuple[Shape, ...]) -> str:
    """H×W×C, or H×W×(C1+C2+…) for a join of equal-sized maps."""
    if len(inputs) == 1 or len({(x.h, x.w) for x in inputs}) > 1:
        return " + ".join(str(x) for x in inputs)
    return f"{inputs[0].h}×{inputs[0].w}×({'+'.join(str(x.c) for x in inputs)})"


def type_table(a: Analysis, dtype: Dtype | None = None) -> Table:
    """The paper's Table 2: resource per layer type."""
    mem = f"Memory ({dtype})" if dtype else "Memory"
    table = _table(f"Resource per layer type — {title(a)}", a.totals, dtype)
    table.add_column("Type", no_wrap=True)  # Table 2's row label
    table.add_column("Layers", justify="right")
    for header in ("Mult-Adds", "% MA", "Params", "% P", mem):
        table.add_column(header, justify="right", no_wrap=True)
    for g in a.by_type():
        table.add_row(g.category, str(g.layers), *_cost_cells(g.totals, a.totals, dtype))
    table.add_section()
    table.add_row("Total", str(len(a.rows)), *_cost_cells(a.totals, a.totals, dtype, digits=4), style="bold")
    return table


def shrink_table(example: tuple[Step, ...], network: tuple[Step, ...], name: str) -> Table:
    """The paper's Table 3: cumulative effect of each shrinking step, for its example layer and the network."""
    table = Table(title="Resource use as each shrinking step is added (the paper's Table 3, cumulative)",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title_justify="left",
                  caption="Example layer: D_K = 3, M = N = 512, D_F = 14 (α thins M and N; ρ scales D_F). "
                          "Convolution row of the network: each dw + pw pair as one full convolution.",
                  caption_justify="left")
    table.add_column("Layer / Modification", no_wrap=True)
    for header in ("Example M-Adds", "Example Params", f"{name} M-Adds", f"{name} Params"):
        table.add_column(header, justify="right", overflow="fold")
    for e, n in zip(example, network, strict=True):
        table.add_row(n.label, _millions(e.mult_adds), _millions(e.params), _millions(n.mult_adds),
                      _millions(n.params))
    return table


def _millions(n: int) -> str:
    """Three significant figures, as the paper prints Table 3 (462, 52.3, 0.27), without exponents."""
    m = n / 1e6
    return f"{m:,.0f} M" if m >= 100 else f"{m:.3g} M"


def step_dicts(steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [{"label": s.label, "mult_adds": s.mult_adds, "params": s.params} for s in steps]


def _table(heading: str, totals: Totals, dtype: Dtype | None) -> Table:
    return Table(title=heading, caption=totals_caption(totals, dtype), box=box.SIMPLE_HEAD, pad_edge=False,
                 collapse_padding=True, title_justify="left", caption_justify="left")


def _type_label(row: Row) -> str:
    return REGISTRY[row.node.type].type_label(row.node)


def _cost_cells(c: Row | Totals | Group, whole: Totals, dtype: Dtype | None, digits: int = 3) -> list[str]:
    memory = human(c.memory_access * DTYPE_BYTES[dtype], "B", digits) if dtype else human(c.memory_access, "", digits)
    return [human(c.mult_adds, "", digits), f"{share(c.mult_adds, whole.mult_adds):.2f}",
            human(c.params, "", digits), f"{share(c.params, whole.params):.2f}", memory]


# --- JSON ---------------------------------------------------------------------------------------


def analysis_dict(a: Analysis, by: By = By.layer, dtype: Dtype = Dtype.fp32) -> dict[str, Any]:
    """The stable JSON document: exact integers, keys in a fixed order."""
    g = a.graph
    doc: dict[str, Any] = {"network": a.network, "alpha": g.alpha, "rho": g.rho, "resolution": g.resolution,
                           "dtype": str(dtype)}
    if by == By.type:
        doc["types"] = [_group_dict(grp, a.totals) for grp in a.by_type()]
    else:
        doc["layers"] = [_row_dict(r) for r in a.rows]
    t = a.totals
    b = DTYPE_BYTES[dtype]
    doc["totals"] = {"mult_adds": t.mult_adds, "params": t.params, "memory_access": t.memory_access,
                     "bn_params": t.bn_params, "weight_bytes": t.params * b, "memory_access_bytes": t.memory_access * b,
                     "flops": 2 * t.mult_adds}  # FLOPs as most later papers count them: 2 per multiply-add
    return doc


def _row_dict(r: Row) -> dict[str, Any]:
    n = r.node
    return {"name": r.name, "type": n.type, "kernel": n.kernel, "stride": n.stride, "groups": n.groups,
            "input": n.input.as_list(), "output": n.output.as_list(), "mult_adds": r.mult_adds,
            "params": r.params, "memory_access": r.memory_access, "bn_params": r.bn_params,
            "category": r.category, "inputs": [x.as_list() for x in n.inputs]}


def _group_dict(g: Group, whole: Totals) -> dict[str, Any]:
    t = g.totals
    return {"type": g.category, "layers": g.layers, "mult_adds": t.mult_adds,
            "mult_adds_pct": round(share(t.mult_adds, whole.mult_adds), 4), "params": t.params,
            "params_pct": round(share(t.params, whole.params), 4), "memory_access": t.memory_access,
            "bn_params": t.bn_params}


# --- pandas -------------------------------------------------------------------------------------


def analysis_frame(a: Analysis, by: By = By.layer, dtype: Dtype = Dtype.fp32) -> pd.DataFrame:
    """A tidy frame: one row per layer (or type), one column per variable, no totals row."""
    import pandas as pd

    doc = analysis_dict(a, by, dtype)
    context = {k: doc[k] for k in ("network", "alpha", "rho", "resolution")}
    if by == By.type:
        records = [{**context, **t} for t in doc["types"]]
    else:
        records = [{**context, **_flat_layer(r)} for r in doc["layers"]]
    frame = pd.DataFrame.from_records(records)
    frame["memory_access_bytes"] = frame["memory_access"] * DTYPE_BYTES[dtype]
    return frame


def _flat_layer(r: dict[str, Any]) -> dict[str, Any]:
    (ic, ih, iw), (oc, oh, ow) = r["input"], r["output"]
    keep = {k: v for k, v in r.items() if k not in ("input", "output", "inputs")}
    return {**keep, "in_c": ic, "in_h": ih, "in_w": iw, "out_c": oc, "out_h": oh, "out_w": ow}


def document_frame(a: Analysis, by: By, dtype: Dtype) -> pd.DataFrame:
    """The frame for human-facing documents (markdown, LaTeX): no repeated context, a totals row."""
    import pandas as pd

    frame = analysis_frame(a, by, dtype).drop(columns=["network", "alpha", "rho", "resolution"])
    label = "type" if by == By.type else "name"
    totals: dict[str, Any] = {label: "Total", "mult_adds": a.totals.mult_adds, "params": a.totals.params,
              "memory_access": a.totals.memory_access, "bn_params": a.totals.bn_params,
              "memory_access_bytes": a.totals.memory_access * DTYPE_BYTES[dtype]}
    if by == By.type:
        totals.update(layers=len(a.rows), mult_adds_pct=100.0, params_pct=100.0)
    return pd.concat([frame, pd.DataFrame([totals])], ignore_index=True).convert_dtypes()


# --- cross-check --------------------------------------------------------------------------------


def check_dict(r: CheckReport) -> dict[str, Any]:
    g = r.analysis.graph
    return {
        "all_match": r.all_match,
        "network": r.analysis.network, "alpha": g.alpha, "rho": g.rho, "resolution": g.resolution,
        "mult_adds": r.analysis.totals.mult_adds, "params": r.analysis.totals.params,
        "fvcore": r.fvcore_totals(),
        "flop_counter": r.flop_counter_totals(),
        "layers": [{"name": c.name, "mult_adds": c.mult_adds, "fvcore_mult_adds": c.fvcore_mult_adds,
                    "params": c.params, "fvcore_params": c.fvcore_params, "match": c.match, "type": c.type,
                    "flop_counter_mult_adds": c.flop_counter_flops // 2, "flop_counter_flops": c.flop_counter_flops,
                    "bn_params": c.bn_params, "fvcore_bn_params": c.fvcore_bn_params,
                    "fvcore_uncounted": c.fvcore_uncounted} for c in r.layers],
        "unsupported_ops": r.unsupported_ops,
    }


UNCOUNTED_NAMES = {"batch_norm": "BN", "adaptive_avg_pool2d": "avgpool", "avg_pool2d": "avgpool"}


def check_table(r: CheckReport) -> Table:
    """Closed form beside fvcore and FlopCounterMode, layer by layer (BN params are checked too)."""
    table = Table(title=f"Cross-check — {title(r.analysis)}", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True, title_justify="left", caption_justify="left",
                  caption=check_caption(r))
    table.add_column("Name", overflow="fold")
    for header in ("Mult-Adds", "fvcore", "torch ÷ 2", "Params", "fvcore"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("", justify="center")
    table.add_column("fvcore extra", overflow="fold")
    for c in r.layers:
        extra = ", ".join(f"{UNCOUNTED_NAMES.get(op, op)} {human(n)}" for op, n in c.fvcore_uncounted.items())
        table.add_row(c.name, f"{c.mult_adds:,}", f"{c.fvcore_mult_adds:,}", f"{c.flop_counter_flops // 2:,}",
                      f"{c.params:,}", f"{c.fvcore_params:,}", "[green]✓[/]" if c.match else "[bold red]✗[/]",
                      extra)
    return table


def check_caption(r: CheckReport) -> str:
    fv, fc = r.fvcore_totals(), r.flop_counter_totals()
    t = r.analysis.totals
    lines = [f"Closed form {t.mult_adds:,} Mult-Adds, {t.params:,} params (+{t.bn_params:,} BN) · fvcore "
             f"{fv['mult_adds']:,} / {fv['params']:,} · torch FlopCounterMode {fc['mult_adds']:,} (its flops ÷ 2)",
             "fvcore extra: flops fvcore counts that the paper's convention leaves out (BN folded, pooling free)"]
    if r.unsupported_ops:
        ops = ", ".join(f"{op} ×{n}" for op, n in sorted(r.unsupported_ops.items()))
        lines.append(f"fvcore could not count: {ops} (no Mult-Adds under the paper's convention)")
    bad = [c.name for c in r.layers if not c.match]
    lines.append("All layers agree exactly." if not bad else f"MISMATCH in {len(bad)} layers: {', '.join(bad)}")
    return "\n".join(lines)


def point_dict(p: Point) -> dict[str, Any]:
    base: dict[str, Any] = {"spec": p.spec, "alpha": p.alpha, "resolution": p.resolution}
    if p.report is None:
        return {**base, "all_match": None, "skipped": p.skipped}
    r = p.report
    return {**base, "all_match": r.all_match, "mult_adds": r.analysis.totals.mult_adds,
            "fvcore_mult_adds": r.fvcore_totals()["mult_adds"],
            "flop_counter_mult_adds": r.flop_counter_totals()["mult_adds"], "params": r.analysis.totals.params,
            "fvcore_params": r.fvcore_totals()["params"],
            "mismatched_layers": [c.name for c in r.layers if not c.match],
            "unsupported_ops": r.unsupported_ops}


def points_table(points: list[Point]) -> Table:
    table = Table(title="Cross-check of every bundled spec", box=box.SIMPLE_HEAD, pad_edge=False,
                  collapse_padding=True, title_justify="left")
    table.add_column("Spec")
    for header in ("α", "Res", "Mult-Adds", "fvcore", "FlopCounter/2", "Params", "fvcore"):
        table.add_column(header, justify="right")
    table.add_column("", justify="center")
    for p in points:
        d = point_dict(p)
        if p.report is None:
            table.add_row(p.spec, f"{p.alpha:g}", str(p.resolution), f"[dim]skipped: {p.skipped}[/]")
            continue
        table.add_row(p.spec, f"{p.alpha:g}", str(p.resolution), f"{d['mult_adds']:,}", f"{d['fvcore_mult_adds']:,}",
                      f"{d['flop_counter_mult_adds']:,}", f"{d['params']:,}", f"{d['fvcore_params']:,}",
                      "[green]✓[/]" if d["all_match"] else "[bold red]✗[/]")
    return table


# --- paper --------------------------------------------------------------------------------------


def figure_dict(f: Figure) -> dict[str, Any]:
    return {"table": f.table, "row": f.row, "metric": f.metric, "paper": f.paper, "computed": f.computed,
            "unit": f.unit, "status": f.status, "note": f.note,
            "difference": None if f.difference is None else round(f.difference, 6)}


def _value(x: float | str, decimals: int) -> str:
    if isinstance(x, str):
        return x
    return f"{x:,.{max(decimals, 0) + 2}f}".rstrip("0").rstrip(".") if isinstance(x, float) else f"{x:,}"


def paper_tables(figs: list[Figure]) -> list[Table]:
    """One rich table per paper table: published beside computed, with status and explanation."""
    tables: list[Table] = []
    for number in dict.fromkeys(f.table for f in figs):
        rows = [f for f in figs if f.table == number]
        t = Table(title=f"Table {number}", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
                  title_justify="left")
        t.add_column("Row", overflow="fold", max_width=26)
        t.add_column("Metric", no_wrap=True)
        for header in ("Paper", "Computed", "Δ"):
            t.add_column(header, justify="right", no_wrap=True)
        t.add_column("Status", no_wrap=True)
        t.add_column("Note", overflow="fold", ratio=1)
        for f in rows:
            unit = f" {f.unit}" if f.unit in ("M", "%") else ""
            diff = "" if f.difference is None else f"{f.difference:+,.2f}"
            status = "[green]match[/]" if f.status == "match" else "[yellow]differs[/]"
            paper, computed = _value(f.paper, f.decimals), _value(f.computed, f.decimals)
            t.add_row(f.row, f.metric, f"{paper}{unit}", f"{computed}{unit}", diff, status, f.note)
        tables.append(t)
    return tables


def paper_summary(figs: list[Figure]) -> str:
    differs = [f for f in figs if f.status == "differs"]
    unexplained = [f for f in differs if f.note == "unexplained"]
    return (f"{len(figs)} published figures: {len(figs) - len(differs)} match at the paper's printed precision, "
            f"{len(differs)} differ ({len(differs) - len(unexplained)} explained).")


# --- sweep --------------------------------------------------------------------------------------

SWEEP_ROWS = 40  # a terminal view; json and csv carry every point


def sweep_tables(result: SweepResult, indices: list[int] | None = None) -> list[Any]:
    """The design points (all of a small grid; otherwise the Pareto front and the best), and a summary."""
    from .explore import point_records

    best = result.best()
    if indices is None:
        indices = list(range(len(result))) if len(result) <= SWEEP_ROWS else _highlights(result, best)
    hw = result.hardware
    title_text = f"Design points — {result.factors.spec.name}" + (f" on {hw.name}" if hw else "")
    table = Table(title=title_text, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title_justify="left")
    for header in ("α", "Res", "Mult-Adds", "Params", "Weights", "Peak act.", "Latency", "Top-1", "Fits", ""):
        table.add_column(header, justify="right" if header not in ("Fits", "") else "center", no_wrap=True)
    for i, rec in zip(indices, point_records(result, indices), strict=True):
        top1 = "" if rec["top1"] is None else f"{rec['top1']:.1f}" + ("*" if "estimate" in rec["top1_source"] else "")
        latency = "" if rec["latency_ms"] is None else f"{rec['latency_ms']:.1f} ms"
        mark = ("★" if i == best else "") + ("P" if rec["pareto"] else "")
        table.add_row(f"{rec['alpha']:g}", str(rec["resolution"]), human(rec["mult_adds"]), human(rec["params"]),
                      human(rec["weight_bytes"], "B"), human(rec["peak_activation_bytes"], "B"), latency, top1,
                      "[green]yes[/]" if rec["fits"] else "[red]no[/]", mark)
    return [table, _sweep_caption(result, best, len(indices))]


def _highlights(result: SweepResult, best: int | None) -> list[int]:
    import numpy as np

    front = list(np.flatnonzero(result.columns["pareto"]))
    if len(front) > SWEEP_ROWS:
        front = [front[int(k)] for k in np.linspace(0, len(front) - 1, SWEEP_ROWS)]
    picked = sorted(set(front) | ({best} if best is not None else set()))
    return picked or list(range(min(SWEEP_ROWS, len(result))))


def _sweep_caption(result: SweepResult, best: int | None, shown: int) -> str:
    c = result.columns
    lines = [f"{len(result):,} points ({shown} shown), {int(c['fits'].sum()):,} fit the budgets, "
             f"{int(c['pareto'].sum()):,} on the Pareto front (cost: {result.pareto_cost}). ★ best, P Pareto."]
    if result.accuracy:
        lines.append(f"Top-1: TF-Slim MobileNetV1 release where published; * {result.accuracy.fit.label}.")
    b = result.budgets
    bounds = [f"{name} ≤ {human(v, unit)}" for name, v, unit in (
        ("Mult-Adds", b.mult_adds, ""), ("params", b.params, ""), ("weights", b.weight_bytes, "B"),
        ("peak activation", b.peak_activation_bytes, "B")) if v is not None]
    if b.latency_ms is not None:
        bounds.append(f"latency ≤ {b.latency_ms:g} ms")
    lines.append("Budgets: " + (", ".join(bounds) if bounds else "none"))
    if result.factors.dropped:
        lines.append("Left out (no valid network): " + "; ".join(result.factors.dropped[:5]))
    if best is None:
        lines.append("No point meets every budget.")
    return "\n".join(lines)


# --- latency ------------------------------------------------------------------------------------


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
                 measured: Measurement | None) -> dict[str, Any]:
    g = a.graph
    layers = measured.layers_s if measured else None
    return {
        "network": a.network, "alpha": g.alpha, "rho": g.rho, "resolution": g.resolution, "threads": threads,
        "hardware": hw.name, "predicted_ms": round(1e3 * sum(predicted), 4),
        "measured_ms": round(1e3 * measured.total_s, 4) if measured else None,
        "measured_layers_sum_ms": round(1e3 * sum(layers), 4) if layers else None,
        "layers": [{"name": r.name, "type": r.node.type, "mult_adds": r.mult_adds,
                    "predicted_ms": round(1e3 * p, 5), "measured_ms": round(1e3 * layers[i], 5) if layers else None}
                   for i, (r, p) in enumerate(zip(a.rows, predicted, strict=True))],
        "types": type_shares(a, predicted, layers),
    }


def latency_tables(a: Analysis, hw: Hardware, predicted: list[float], measured: Measurement | None) -> list[Any]:
    layers = measured.layers_s if measured else None
    t = Table(title=f"Latency — {title(a)} on {hw.name}", box=box.SIMPLE_HEAD, pad_edge=False,
              collapse_padding=True, title_justify="left")
    t.add_column("Name", overflow="fold")
    t.add_column("Type / Stride", no_wrap=True)
    for header in ("Mult-Adds", "Predicted", "Measured", "Meas./Pred."):
        t.add_column(header, justify="right", no_wrap=True)
    for i, (row, p) in enumerate(zip(a.rows, predicted, strict=True)):
        m = layers[i] if layers else None
        t.add_row(row.name, _type_label(row), human(row.mult_adds), f"{1e3 * p:.3f} ms",
                  "" if m is None else f"{1e3 * m:.3f} ms", "" if m is None else f"{m / p:.2f}")
    t.add_section()
    total_m = measured.total_s if measured else None
    t.add_row("Total", "", human(a.totals.mult_adds), f"{1e3 * sum(predicted):.2f} ms",
              "" if total_m is None else f"{1e3 * total_m:.2f} ms",
              "" if total_m is None else f"{total_m / sum(predicted):.2f}", style="bold")
    shares = Table(title="Time share per layer type (the paper: 95% of the time in 1×1 convolutions)",
                   box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title_justify="left")
    for header in ("Type", "% Mult-Adds", "% predicted time", "% measured time"):
        shares.add_column(header, justify="left" if header == "Type" else "right")
    for d in type_shares(a, predicted, layers):
        shares.add_row(d["type"], f"{d['mult_adds_pct']:.2f}", f"{d['predicted_pct']:.2f}",
                       "" if d["measured_pct"] is None else f"{d['measured_pct']:.2f}")
    note = ("Measured: whole forward pass, median of all runs over 5 interleaved rounds after warm-up; per layer "
            "with forward hooks (their sum can differ from the whole)." if measured
            else "Add --measure to time it on this CPU.")
    return [t, shares, note]


def grid_dict(points: list[tuple[float, int, float, float | None]], hw: Hardware, threads: int) -> dict[str, Any]:
    from .measure import median_ape, spearman

    measured = [p[3] for p in points]
    have = all(m is not None for m in measured)
    doc: dict[str, Any] = {
        "threads": threads, "hardware": hw.name,
        "points": [{"alpha": a, "resolution": r, "predicted_ms": round(1e3 * p, 4),
                    "measured_ms": None if m is None else round(1e3 * m, 4)} for a, r, p, m in points],
        "spearman": None, "median_ape": None,
    }
    if have:
        predicted = [p[2] for p in points]
        doc["spearman"] = round(spearman(predicted, measured), 4)  # type: ignore[arg-type]
        doc["median_ape"] = round(median_ape(predicted, measured), 4)  # type: ignore[arg-type]
    return doc


def grid_table(doc: dict[str, Any]) -> Table:
    caption = (f"Spearman rank correlation {doc['spearman']:.3f}, median absolute error "
               f"{100 * doc['median_ape']:.1f}%" if doc["spearman"] is not None else "Add --measure to compare.")
    title = f"The 16 MobileNet models on {doc['hardware']} ({plural(doc['threads'], 'thread')})"
    t = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
              title_justify="left", caption_justify="left")
    for header in ("α", "Resolution", "Predicted", "Measured", "Error"):
        t.add_column(header, justify="right")
    for p in doc["points"]:
        m = p["measured_ms"]
        err = "" if m is None else f"{100 * (p['predicted_ms'] - m) / m:+.1f}%"
        t.add_row(f"{p['alpha']:g}", str(p["resolution"]), f"{p['predicted_ms']:.2f} ms",
                  "" if m is None else f"{m:.2f} ms", err)
    return t
