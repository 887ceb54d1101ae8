"""The activation arena over execution steps, as a planner lays it out (`mobcost plot memory`)."""

from __future__ import annotations

import matplotlib.patches
from matplotlib.figure import Figure

from ..analysis.memory import FOREVER, Memory, live_totals
from . import OKABE_ITO, _figure, _style


def memory_figure(m: Memory) -> Figure:
    """The activation arena over execution steps as ``m``'s planner lays it out (a ``Memory``): each placed
    buffer a rectangle from its first to its last step (x) at its offset (y), as TFLM's planner prints its plan;
    a what-if planner's bytes in use per layer as a filled step line; the lower bound's live bytes beside."""
    fig, ax = _figure(9, 5.5)
    g = m.graph
    steps = list(m.layer_steps) or list(range(len(g.nodes)))
    end = max(steps, default=0) + 1
    kib = 1024
    if m.buffers:
        biggest = sorted(range(len(m.buffers)), key=lambda i: -m.buffers[i].size)[:8]
        extra = (" scratch", " im2col", " pad", " rank", " axes", " sum")  # what is not a layer's output
        for i, (b, o) in enumerate(zip(m.buffers, m.offsets, strict=True)):
            right = end if b.last == FOREVER else min(b.last, end - 1) + 1
            scratch = b.name.endswith(extra)
            ax.add_patch(matplotlib.patches.Rectangle(
                (b.first, o / kib), right - b.first, b.size / kib, facecolor=OKABE_ITO[1 if scratch else 0],
                alpha=0.55, edgecolor="black", linewidth=0.6, zorder=2))
            if i in biggest:
                ax.text(b.first + 0.1, (o + b.size / 2) / kib, b.name, fontsize=7, va="center", zorder=5)
        keys = [matplotlib.patches.Patch(facecolor=OKABE_ITO[0], alpha=0.55, edgecolor="black",
                                         label="tensor buffer (x: its steps, y: its bytes in the arena)"),
                matplotlib.patches.Patch(facecolor=OKABE_ITO[1], alpha=0.55, edgecolor="black",
                                         label="scratch, im2col or padded map")]
        keys = keys if any(b.name.endswith(extra) for b in m.buffers) else keys[:1]
    else:
        keys = []
        xs = [*steps, end]
        ax.fill_between(xs, [*m.in_use, m.in_use[-1]] if m.in_use else [0, 0], step="post", color=OKABE_ITO[0],
                        alpha=0.45, label=f"bytes in use under {m.planner}", zorder=2)
    live = live_totals(g, m.dtype)
    ax.step([*steps, end], [v / kib for v in [*live, live[-1]]], where="post", color=OKABE_ITO[5], linewidth=1.6,
            label="lower bound: live activations while each layer runs", zorder=4)
    ax.axhline(m.arena_bytes / kib, color="0.2", linestyle="--", linewidth=1.0, zorder=3,
               label=f"arena ({m.planner}): {m.arena_bytes:,} B = {m.arena_bytes / kib:,.1f} KiB")
    ax.set_xlim(0, end)
    ax.set_ylim(0, max(m.arena_bytes, max(live, default=0)) / kib * 1.08 or 1)
    first = "0 = the input, i + 1 = layer i" if m.planner == "tflm" else "a node per operator"
    ax.set_xlabel(f"execution step ({first})" if m.buffers else "layer (execution order)")
    ax.set_ylabel("offset in the arena (KiB)" if m.buffers else "bytes in use (KiB)")
    ax.set_title(f"{g.spec.name} (α={g.alpha:g}, {g.input.h}×{g.input.w}, {m.dtype}): activation arena, "
                 f"planner {m.planner}", fontsize=11)
    ax.legend(handles=[*ax.get_legend_handles_labels()[0], *keys], fontsize=8, loc="upper right", framealpha=0.92)
    _style(ax)
    return fig
