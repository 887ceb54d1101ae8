"""The `check` command's views: closed form beside fvcore and FlopCounterMode, per layer and per point."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich import box
from rich.text import Text

from .formats import human
from .table import title
from .terminal import FitTable

if TYPE_CHECKING:
    from ..torchside.crosscheck import CheckReport, Point
    from ..torchside.peers import PeerCount


def peer_dicts(peers: list[PeerCount]) -> list[dict[str, Any]]:
    """Each other counter's total beside mobcost's total under that counter's rules (``match`` null when the
    tool failed, with its ``error``)."""
    return [{"convention": p.convention, "count": p.count, "mobcost": p.mobcost, "match": p.match,
             "error": p.error or None} for p in peers]


def peers_table(peers: list[PeerCount]) -> FitTable:
    """The other counters installed: each one's total beside mobcost's under its rules."""
    table = FitTable({"title": "Other counters (totals, each in its own unit)", "box": box.SIMPLE_HEAD,
                      "pad_edge": False, "collapse_padding": True, "title_justify": "left",
                      "caption": "mobcost: the closed form under that counter's rules (`mobcost explain` says why "
                                 "they differ from the Mult-Adds)", "caption_justify": "left"})
    table.add_column("Counter")
    table.add_column("Its count", justify="right")
    table.add_column("mobcost", justify="right")
    table.add_column("", justify="center")
    for p in peers:
        mark = MATCH if p.match else MISMATCH
        table.add_row(p.convention, f"{p.count:,}" if p.count is not None else Text(p.error, style="dim"),
                      f"{p.mobcost:,}", mark if p.match is not None else "")
    return table


def check_dict(r: CheckReport, peers: list[PeerCount] | None = None) -> dict[str, Any]:
    """The JSON document; ``"peers"`` (the other counters installed) comes last, and only when they ran."""
    doc = _check_dict(r)
    if peers:
        doc["peers"] = peer_dicts(peers)
    return doc


def _check_dict(r: CheckReport) -> dict[str, Any]:
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


def point_dict(p: Point, peers: list[PeerCount] | None = None) -> dict[str, Any]:
    """One point of ``check --all``; with ``--peers``, ``"mismatched_peers"`` last (the counters whose total
    differs from mobcost's under their rules)."""
    base: dict[str, Any] = {"spec": p.spec, "alpha": p.alpha, "resolution": p.resolution}
    if p.report is None:
        return {**base, "all_match": None, "skipped": p.skipped}
    r = p.report
    doc = {**base, "all_match": r.all_match, "mult_adds": r.analysis.totals.mult_adds,
           "fvcore_mult_adds": r.fvcore_totals()["mult_adds"],
           "flop_counter_mult_adds": r.flop_counter_totals()["mult_adds"], "params": r.analysis.totals.params,
           "fvcore_params": r.fvcore_totals()["params"],
           "mismatched_layers": [c.name for c in r.layers if not c.match],
           "unsupported_ops": r.unsupported_ops}
    if peers is not None:
        doc["mismatched_peers"] = [q.convention for q in peers if q.match is False]
    return doc


def points_table(points: list[Point], peers: list[list[PeerCount]] | None = None) -> FitTable:
    """One row per (spec, α, resolution); a narrow terminal or a pipe loses FlopCounter, then fvcore's params,
    never a digit. A skipped point says why in the last column; with ``peers``, a column says whether every
    other counter agreed."""
    table = FitTable({"title": "Cross-check of every bundled spec", "box": box.SIMPLE_HEAD, "pad_edge": False,
                      "collapse_padding": True, "title_justify": "left"})
    table.add_column("Spec")
    for header, drop in (("α", 0), ("Res", 0), ("Mult-Adds", 0), ("fvcore", 0), ("FlopCounter/2", 2),
                         ("Params", 0), ("fvcore", 1)):
        table.add_column(header, justify="right", drop=drop)
    table.add_column("", whole=False)
    if peers is not None:
        table.add_column("Peers", justify="center")
    for i, p in enumerate(points):
        d = point_dict(p)
        if p.report is None:
            table.add_row(p.spec, f"{p.alpha:g}", str(p.resolution), "", "", "", "", "",
                          Text(f"skipped: {p.skipped}", style="dim"))
            continue
        agreed = [] if peers is None else [MATCH if all(q.match is not False for q in peers[i]) else MISMATCH]
        table.add_row(p.spec, f"{p.alpha:g}", str(p.resolution), f"{d['mult_adds']:,}", f"{d['fvcore_mult_adds']:,}",
                      f"{d['flop_counter_mult_adds']:,}", f"{d['params']:,}", f"{d['fvcore_params']:,}",
                      MATCH if d["all_match"] else MISMATCH, *agreed)
    return table
