"""matplotlib figures, returned as Figure objects (shown inline by Jupyter) or saved atomically.

Figures are made without pyplot and without choosing a backend: ``Plot`` is a ``matplotlib.figure.Figure``
that renders itself as PNG for Jupyter's rich display, and ``save`` writes png, svg or pdf through
matplotlib's own canvases. So the command line needs no display, a notebook shows every figure inline, and
a user's interactive backend is left alone.

Colours come from the Okabe–Ito palette (readable with every common colour-vision deficiency) or from
cividis for continuous maps; every axis carries its unit, every figure a title and a legend.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib.colors
import matplotlib.patches
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from ..analysis import analyze
from ..errors import OptionError
from ..explore.accuracy import (
    MOBILENET_V1_PAPER,
    MOBILENET_V1_SLIM,
    REFERENCE,
    accuracy_for,
    mobilenet_v1_accuracy,
    reference_accuracy,
)
from ..explore.budgets import Budgets
from ..explore.grid import sweep
from ..explore.hardware import Hardware
from ..explore.objectives import describe
from ..files import write_atomic
from ..spec import Spec, load_bundled
from ..units import plural


class Plot(Figure):
    """A Figure that Jupyter shows inline (as PNG) when it is a cell's value, whatever the backend."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def _figure(width: float, height: float) -> tuple[Plot, Any]:
    fig = Plot(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
RES_COLOURS = {224: OKABE_ITO[0], 192: OKABE_ITO[1], 160: OKABE_ITO[2], 128: OKABE_ITO[3]}
ALPHA_MARKERS = {1.0: "o", 0.75: "s", 0.5: "^", 0.25: "D"}
FORMATS = (".png", ".svg", ".pdf")


def _millions(x: float, _: Any = None) -> str:
    return f"{x / 1e6:g}"


def _style(ax: Any) -> None:
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    ax.spines[["top", "right"]].set_visible(False)


def _mobilenet() -> Spec:
    return load_bundled("mobilenet_v1")


def check_accuracy_spec(spec: Spec) -> None:
    """The accuracy figures draw published top-1 figures, which exist for the MobileNetV1 architecture only."""
    if accuracy_for(spec) is None:
        raise OptionError(f"no published accuracy for {spec.name!r}: the accuracy plots draw the released "
                          "MobileNetV1 models (a spec with its architecture, whatever its name); `mobcost plot "
                          "pareto SPEC` places any network among the published ones", where="SPEC")


def accuracy_figure(x_metric: str = "mult_adds", spec: Spec | None = None) -> Figure:
    """The paper's Figure 4 (x: Mult-Adds) or Figure 5 (x: parameters): 16 models, coloured by resolution.
    ``spec``: a network with MobileNetV1's architecture (default: the bundled one)."""
    spec = spec or _mobilenet()
    check_accuracy_spec(spec)
    fig, ax = _figure(7.5, 5)
    costs = {k: getattr(analyze(spec, k[0], resolution=k[1]).totals, x_metric) for k in MOBILENET_V1_SLIM}
    for (alpha, res), top1 in sorted(MOBILENET_V1_SLIM.items()):
        ax.scatter(costs[(alpha, res)], top1, s=60, color=RES_COLOURS[res], marker=ALPHA_MARKERS[alpha],
                   edgecolor="black", linewidth=0.6, zorder=3)
    for (alpha, res), top1 in MOBILENET_V1_PAPER.items():
        ax.scatter(costs[(alpha, res)], top1, s=110, facecolor="none", edgecolor=RES_COLOURS[res],
                   marker=ALPHA_MARKERS[alpha], linewidth=1.4, zorder=2)
    if x_metric == "mult_adds":
        fit = mobilenet_v1_accuracy().fit
        xs = np.geomspace(min(costs.values()) * 0.8, max(costs.values()) * 1.25, 100)
        ax.plot(xs, fit.intercept + fit.slope * np.log10(xs / 1e6), color="0.35", linestyle="--", linewidth=1.2,
                label=f"log-linear fit: {fit.intercept:.1f} + {fit.slope:.1f}·log₁₀(M Mult-Adds), "
                      f"RMSE {fit.rmse:.1f} pts")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_millions))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: _millions(x) if str(int(x / 1e6))[0] in "25" else ""))
    x_label = "Mult-Adds" if x_metric == "mult_adds" else "Parameters"
    ax.set_xlabel(f"{x_label} (millions, log scale)\nfilled: TF-Slim MobileNetV1 release (2018-02-22); "
                  "hollow: the paper's Tables 6–7", fontsize=9)
    ax.set_ylabel("ImageNet top-1 accuracy (%)")
    figure = "Figure 4" if x_metric == "mult_adds" else "Figure 5"
    what = "computation" if x_metric == "mult_adds" else "parameters"
    ax.set_title(f"{spec.name}: accuracy vs {what} (the paper's {figure})\n"
                 "α ∈ {1, 0.75, 0.5, 0.25} × resolution ∈ {224, 192, 160, 128}", fontsize=11)
    _accuracy_legend(ax)
    _style(ax)
    return fig


def _accuracy_legend(ax: Any) -> None:
    handles = [Line2D([], [], marker="o", linestyle="", color=c, markeredgecolor="black", label=f"{r} px")
               for r, c in RES_COLOURS.items()]
    handles += [Line2D([], [], marker=m, linestyle="", color="0.6", markeredgecolor="black", label=f"α = {a:g}")
                for a, m in ALPHA_MARKERS.items()]
    handles += [h for h in ax.get_legend_handles_labels()[0]]
    ax.legend(handles=handles, loc="lower right", fontsize=8, ncol=2, framealpha=0.9)


# Each budget's hatch and outline: no hatch is two others overlaid ("xx" looked like "//" over "\\\\", "++" like
# "||" over "--"), so where two regions overlap both patterns still read apart.
BUDGET_STYLES = {"weight_bytes": ("//", "solid"), "peak_activation_bytes": ("\\\\", "dashed"),
                 "latency_ms": ("||", "dashdot"), "energy_uj": ("--", "dotted"), "mult_adds": ("..", "solid"),
                 "params": ("oo", "dashed"), "ram_bytes": ("**", "solid"), "flash_bytes": ("OO", "dashdot")}
BUDGET_LABELS = {"weight_bytes": "weights", "peak_activation_bytes": "peak activations", "latency_ms": "latency",
                 "mult_adds": "Mult-Adds", "params": "parameters", "energy_uj": "energy", "ram_bytes": "RAM",
                 "flash_bytes": "flash"}
# What a budget map can colour by: a profile's estimates, each with its label, unit and how it is estimated.
BUDGET_METRICS = {"latency_ms": ("latency", "ms", "roofline latency estimate"),
                  "energy_uj": ("energy per inference", "µJ", "energy estimate (active power × latency)")}
MARKER_SIZES = (260, 40)  # a grid without area: few points, or more than 40 (they would overlap)
LABEL_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "0.15", "edgecolor": "none", "alpha": 0.75}


def budget_figure(spec: Spec, hardware: Hardware, alphas: list[float], resolutions: list[int],
                  budgets: Budgets | None = None, metric: str = "latency_ms") -> Figure:
    """α × resolution map for one hardware profile: ``metric`` (latency, or ``energy_uj``: energy per
    inference) as colour and iso-lines, each budget's infeasible region hatched, the Pareto points (by
    ``metric`` against top-1) and the best feasible design marked. A grid of one α or one resolution has no
    area to map: its points are drawn as hatched markers instead."""
    label, unit, how = BUDGET_METRICS[metric]
    result = sweep(spec, alphas, resolutions, hardware=hardware, budgets=budgets or Budgets(), pareto_cost=metric)
    f, c = result.factors, result.columns
    shape = (len(f.alphas), len(f.resolutions))
    fig, ax = _figure(8, 6.5)
    norm = _log_norm(c[metric])
    if min(shape) > 1:
        grid = np.meshgrid(f.resolutions, f.alphas)
        values = c[metric].reshape(shape)
        mapped = ax.pcolormesh(*grid, values, cmap="cividis", shading="nearest", norm=norm)
        lines = ax.contour(*grid, values, levels=_nice_levels(values), colors="white", linewidths=0.8)
        # Labels above the hatching (drawn later, it hid them), on a dark box readable on any colour.
        for text in ax.clabel(lines, fmt=lambda v: f"{v:g} {unit}", fontsize=7):
            text.set(zorder=6, bbox=LABEL_BOX)
    else:
        mapped = _budget_points(ax, c, metric, norm, unit)
        grid = None
    legend = _hatch_budgets(ax, c, result.budgets, grid)
    bar = fig.colorbar(mapped, ax=ax, label=f"estimated {label} on {hardware.name.split(' (')[0]} ({unit}, log "
                                            "scale)")
    _plain_log_ticks(bar.ax.yaxis)
    _mark_choices(ax, c, result.best(), result.objectives)
    handles, _ = ax.get_legend_handles_labels()
    # Below the map: inside it, the legend covered the low-cost corner where the feasible points are.
    fig.legend(handles=legend + handles, loc="outside lower center", ncol=2, fontsize=8, framealpha=0.92)
    ax.set_xlabel("input resolution (pixels)")
    ax.set_ylabel("width multiplier α")
    # The profile's short name: its full name (with SRAM and flash) ran off the figure beside a long spec name,
    # and the budgets' legend gives those figures.
    ax.set_title(f"{spec.name} design space on {hardware.name.split(' (')[0]}\n"
                 f"{how} ({hardware.dtype}); hatched: over budget", fontsize=11)
    return fig


def _log_norm(values: np.ndarray) -> matplotlib.colors.LogNorm:
    """The colour scale over ``values``; one value gets a span around it (a zero span has no colours)."""
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    return matplotlib.colors.LogNorm(lo, hi) if hi > lo else matplotlib.colors.LogNorm(lo / 1.5, hi * 1.5)


def _plain_log_ticks(axis: Any) -> None:
    """Log-scale ticks as plain numbers (20, 50), not 2×10¹."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "25" else ""))


def _mark_choices(ax: Any, c: dict[str, np.ndarray], best: int | None, objectives: tuple[str, ...]) -> None:
    """The feasible Pareto points and the best feasible design; never clipped where they sit on the map's
    edge (the best is often its corner)."""
    front = c["pareto"] & c["fits"]
    if front.any():
        ax.scatter(c["resolution"][front], c["alpha"][front], s=14, color=OKABE_ITO[1], edgecolor="black",
                   linewidth=0.4, zorder=4, clip_on=False,
                   label=f"feasible and Pareto-optimal ({describe(objectives)})")
    if best is not None:
        top1 = c["top1"][best]
        ax.scatter(c["resolution"][best], c["alpha"][best], s=220, marker="*", color=OKABE_ITO[5],
                   edgecolor="black", zorder=7, clip_on=False,
                   label=f"best feasible: α={c['alpha'][best]:g}, {c['resolution'][best]} px"
                         + ("" if np.isnan(top1) else f", top-1 ≈ {top1:.1f}%"))


def _budget_bounds(b: Budgets) -> list[tuple[str, float]]:
    return [(column, getattr(b, column)) for column in BUDGET_STYLES if getattr(b, column) is not None]


def _budget_entry(column: str, bound: float, over: bool, planner: str = "") -> Any:
    """A budget's legend entry: its hatch and outline, or — when no point is over it — said so, unhatched."""
    hatch, style = BUDGET_STYLES[column]
    what = f"{BUDGET_LABELS[column]} budget ({_bound(column, bound)}{planner * (column == 'ram_bytes')})"
    if not over:
        return matplotlib.patches.Patch(facecolor="none", edgecolor="0.6", label=f"{what}: met everywhere "
                                        "(no region)")
    return matplotlib.patches.Patch(facecolor="white", edgecolor="black", hatch=hatch, linestyle=style,
                                    label=f"over {what}")


def _hatch_budgets(ax: Any, c: dict[str, np.ndarray], b: Budgets, grid: Any = None) -> list[Any]:
    """Each budget's infeasible region hatched and outlined on the map (``grid``), or without one each point
    over it hatched; the budgets' legend entries."""
    legend = []
    for column, bound in _budget_bounds(b):
        over = c[column] > bound
        hatch, style = BUDGET_STYLES[column]
        if over.any() and grid is not None:
            region = over.reshape(grid[0].shape).astype(float)
            ax.contourf(*grid, region, levels=[0.5, 1.5], colors="none", hatches=[hatch], zorder=3)
            ax.contour(*grid, region, levels=[0.5], colors="black", linewidths=1.0, linestyles=style, zorder=3)
        elif over.any():
            ax.scatter(c["resolution"][over], c["alpha"][over], marker="s", s=MARKER_SIZES[len(over) > 40],
                       facecolor="none", edgecolor="black", hatch=hatch, linewidth=0.5, zorder=3, clip_on=False)
        legend.append(_budget_entry(column, bound, bool(over.any()), f", {b.ram_planner} planner"))
    return legend


def _budget_points(ax: Any, c: dict[str, np.ndarray], metric: str, norm: Any, unit: str) -> Any:
    """A grid of one α or one resolution (or one point): each point a square coloured like the map, its value
    written beside it when there are few; the axis of one value is that value's tick alone."""
    points = ax.scatter(c["resolution"], c["alpha"], c=c[metric], cmap="cividis", norm=norm, marker="s",
                        s=MARKER_SIZES[len(c[metric]) > 40], edgecolor="black", linewidth=0.5, zorder=2, clip_on=False)
    if len(c[metric]) <= 12:
        for x, y, v in zip(c["resolution"], c["alpha"], c[metric], strict=True):
            ax.annotate(f"{v:.3g} {unit}", (x, y), xytext=(0, 14), textcoords="offset points", ha="center",
                        fontsize=7, color="white", bbox=LABEL_BOX, zorder=6)
    for values, axis in ((c["resolution"], ax.xaxis), (c["alpha"], ax.yaxis)):
        if len(np.unique(values)) == 1:
            axis.set_ticks([values[0]])
    return points


def _bound(column: str, bound: float) -> str:
    from ..report.formats import human

    if column == "latency_ms":
        return f"{bound:g} ms"
    if column == "energy_uj":
        return f"{bound:g} µJ"
    return human(bound, "B" if "bytes" in column else "")


def _nice_levels(values: np.ndarray) -> list[float]:
    lo, hi = np.nanmin(values), np.nanmax(values)
    levels = [m * 10.0**e for e in range(-3, 6) for m in (1, 2, 5)]
    return [v for v in levels if lo < v < hi] or [float(np.nanmedian(values))]


PARETO_NETWORKS = ("vgg16", "googlenet", "alexnet", "squeezenet1_0", "mobilenet_v2", "conv_mobilenet",
                   "shallow_mobilenet")


def pareto_figure(spec: Spec | None = None) -> Figure:
    """Mult-Adds vs top-1: the MobileNet grid against the networks the paper compares, and ``spec`` among them
    — its 16 models if it has MobileNetV1's architecture, its published point (starred) if it has one of the
    others', else a line at its Mult-Adds (no published top-1 to place it by)."""
    from ..explore.budgets import pareto_mask

    fig, ax = _figure(8, 5.5)
    grid_spec = spec if spec is not None and accuracy_for(spec) is not None else _mobilenet()
    points = [(analyze(grid_spec, a, resolution=r).totals.mult_adds, top1)
              for (a, r), top1 in MOBILENET_V1_SLIM.items()]
    xs, ys = np.array([p[0] for p in points], dtype=float), np.array([p[1] for p in points])
    ax.scatter(xs, ys, s=36, color=OKABE_ITO[0], edgecolor="black", linewidth=0.5, zorder=3,
               label=f"{grid_spec.name}, 16 α × resolution models (TF-Slim MobileNetV1 release)")
    subject = reference_accuracy(spec) if spec is not None and grid_spec is not spec else None
    others = []
    for i, name in enumerate(PARETO_NETWORKS):
        s = load_bundled(name)
        top1, source = REFERENCE[name]
        ma = analyze(s).totals.mult_adds
        others.append((ma, top1))
        ax.scatter(ma, top1, s=80, marker="D", color=OKABE_ITO[(i + 1) % len(OKABE_ITO)], edgecolor="black",
                   zorder=4, label=f"{s.name} ({source})")
    if spec is not None and grid_spec is not spec:
        _place_subject(ax, spec, subject)
    all_x = np.concatenate([xs, [o[0] for o in others]])
    all_y = np.concatenate([ys, [o[1] for o in others]])
    front = pareto_mask(all_x, all_y)
    order = np.argsort(all_x[front])
    ax.step(all_x[front][order], all_y[front][order], where="post", color="0.3", linewidth=1.2, linestyle="--",
            label="Pareto front (no model cheaper and more accurate)", zorder=2)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_millions))
    ax.set_xlabel("Mult-Adds (millions, log scale; mobcost's counts)")
    ax.set_ylabel("ImageNet top-1 accuracy (%)")
    who = "MobileNets" if spec is None else spec.name
    ax.set_title(f"Accuracy vs computation: {who} against the networks the paper compares", fontsize=11)
    ax.legend(fontsize=7.5, loc="lower right", framealpha=0.92)
    _style(ax)
    return fig


def _place_subject(ax: Any, spec: Spec, published: tuple[float, str] | None) -> None:
    """``spec`` on the Pareto chart: a star at its published top-1, or a line at its Mult-Adds."""
    from ..report.formats import human

    ma = analyze(spec).totals.mult_adds
    if ma <= 0:
        raise OptionError(f"{spec.name!r} has no Mult-Adds to place on the chart's log axis", where="SPEC")
    if published is not None:
        ax.scatter(ma, published[0], s=260, marker="*", color=OKABE_ITO[5], edgecolor="black", zorder=5,
                   label=f"{spec.name}: this spec ({published[1]})")
    else:
        ax.axvline(ma, color=OKABE_ITO[5], linewidth=1.6, linestyle=":", zorder=5,
                   label=f"{spec.name}: this spec, {human(ma)} Mult-Adds (no published top-1)")


def save(fig: Figure, output: Path) -> None:
    """Save as png, svg or pdf by the file's suffix, atomically."""
    suffix = Path(output).suffix.lower()
    if suffix not in FORMATS:
        raise OptionError(f"unknown image type {suffix or '(none)'!r}; use .png, .svg or .pdf",
                          file=str(output), where="--output")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=suffix[1:], dpi=150, metadata=None if suffix != ".png" else {"Software": "mobcost"})
    write_atomic(Path(output), buffer.getvalue())


def latency_figure(points: list[dict[str, Any]], hardware_name: str, threads: int, spearman: float,
                   median_ape: float, network: str = "MobileNetV1", runtime: str = "torch") -> Figure:
    """Predicted vs measured latency of the 16 models of ``network``, log-log, with the identity line;
    ``runtime``: what the measurements ran under."""
    fig, ax = _figure(6.5, 6)
    pred = np.array([p["predicted_ms"] for p in points])
    meas = np.array([p["measured_ms"] for p in points])
    for p in points:
        ax.scatter(p["predicted_ms"], p["measured_ms"], s=60, color=RES_COLOURS.get(p["resolution"], OKABE_ITO[7]),
                   marker=ALPHA_MARKERS.get(p["alpha"], "o"), edgecolor="black", linewidth=0.6, zorder=3)
    lo, hi = min(pred.min(), meas.min()) * 0.8, max(pred.max(), meas.max()) * 1.25
    ax.plot([lo, hi], [lo, hi], color="0.3", linewidth=1, label="identity (prediction = measurement)")
    ax.fill_between([lo, hi], [lo / 1.2, hi / 1.2], [lo * 1.2, hi * 1.2], color="0.85", zorder=0,
                    label="±20% band")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    for axis in (ax.xaxis, ax.yaxis):
        _plain_log_ticks(axis)
    ax.set_xlabel("predicted latency (ms, log scale; roofline of the calibrated profile)")
    ax.set_ylabel(f"measured latency (ms, log scale; {runtime}, {plural(threads, 'thread')}, median)")
    ax.set_title(f"{network}, {len(points)} models: predicted vs measured on {hardware_name.split(' (')[0]}\n"
                 f"Spearman {spearman:.3f}, median absolute error {100 * median_ape:.1f}%", fontsize=11)
    _accuracy_legend(ax)
    _style(ax)
    return fig


def time_share_figure(types: list[dict[str, Any]], title_text: str) -> Figure:
    """Per layer type: share of Mult-Adds beside share of predicted and measured time."""
    fig, ax = _figure(8, 4.5)
    labels = [t["type"] for t in types]
    series = [("mult_adds_pct", "Mult-Adds", OKABE_ITO[0]), ("predicted_pct", "predicted time", OKABE_ITO[1]),
              ("measured_pct", "measured time", OKABE_ITO[2])]
    series = [s for s in series if all(t[s[0]] is not None for t in types)]
    width = 0.8 / len(series)
    y = np.arange(len(labels))
    for k, (key, label, colour) in enumerate(series):
        values = [t[key] for t in types]
        bars = ax.barh(y + (k - (len(series) - 1) / 2) * width, values, height=width, color=colour, label=label,
                       edgecolor="black", linewidth=0.4)
        ax.bar_label(bars, fmt="%.1f%%", fontsize=7, padding=2)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("share of the network's total (%)")
    ax.set_xlim(0, 110)
    ax.set_title(title_text, fontsize=11)
    ax.legend(loc="lower right", fontsize=8)
    _style(ax)
    return fig
