"""The `check` command's views: closed form beside fvcore and FlopCounterMode, per layer and per point."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich import box
from rich.text import Text

from .formats import human
from .table import title
from .terminal import FitTable

if TYPE_CHECKING:
    from ..pytorch.crosscheck import CheckReport, Point


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


MATCH, MISMATCH = Text("✓", style="green"), Text("✗", style="bold red")


def check_table(r: CheckReport) -> FitTable:
    """Closed form beside fvcore and FlopCounterMode, layer by layer (BN params are checked too). A narrow
    terminal loses fvcore's extra counts first, then the torch column and fvcore's params."""
    table = FitTable({"title": f"Cross-check — {title(r.analysis)}", "box": box.SIMPLE_HEAD, "pad_edge": False,
                      "collapse_padding": True, "title_justify": "left", "caption_justify": "left",
                      "caption": check_caption(r)})
    table.add_column("Name", whole=False)
    for header, drop in (("Mult-Adds", 0), ("fvcore", 0), ("torch ÷ 2", 3), ("Params", 0), ("fvcore", 2)):
        table.add_column(header, justify="right", drop=drop)
    table.add_column("", justify="center")
    table.add_column("fvcore extra", whole=False, drop=4)
    for c in r.layers:
        extra = ", ".join(f"{UNCOUNTED_NAMES.get(op, op)} {human(n)}" for op, n in c.fvcore_uncounted.items())
        table.add_row(c.name, f"{c.mult_adds:,}", f"{c.fvcore_mult_adds:,}", f"{c.flop_counter_flops // 2:,}",
                      f"{c.params:,}", f"{c.fvcore_params:,}", MATCH if c.match else MISMATCH, extra)
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


def points_table(points: list[Point]) -> FitTable:
    """One row per (spec, α, resolution); a narrow terminal or a pipe loses FlopCounter, then fvcore's params,
    never a digit. A skipped point says why in the last column."""
    table = FitTable({"title": "Cross-check of every bundled spec", "box": box.SIMPLE_HEAD, "pad_edge": False,
                      "collapse_padding": True, "title_justify": "left"})
    table.add_column("Spec")
    for header, drop in (("α", 0), ("Res", 0), ("Mult-Adds", 0), ("fvcore", 0), ("FlopCounter/2", 2),
                         ("Params", 0), ("fvcore", 1)):
        table.add_column(header, justify="right", drop=drop)
    table.add_column("", whole=False)
    for p in points:
        d = point_dict(p)
        if p.report is None:
            table.add_row(p.spec, f"{p.alpha:g}", str(p.resolution), "", "", "", "", "",
                          Text(f"skipped: {p.skipped}", style="dim"))
            continue
        table.add_row(p.spec, f"{p.alpha:g}", str(p.resolution), f"{d['mult_adds']:,}", f"{d['fvcore_mult_adds']:,}",
                      f"{d['flop_counter_mult_adds']:,}", f"{d['params']:,}", f"{d['fvcore_params']:,}",
                      MATCH if d["all_match"] else MISMATCH)
    return table
