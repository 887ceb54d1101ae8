"""The MobileNets paper's published resource figures (Howard et al. 2017, Tables 1–14), recomputed.

Each :class:`Figure` names the table, row and metric, the printed value and its precision, how to
compute it from a bundled spec (multipliers, classes, counting convention), and — where the two
differ — a one-line explanation. ``status`` is ``match`` when the computed value agrees with the printed
one at the paper's printed precision (rounded, or truncated: the paper does both), else ``differs``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from .costs import Convention
from .figure import Figure, recount
from .figure import bundled_analysis as _analysis
from .figure import bundled_spec as _spec
from .figure import model_figures as _model
from .figure import width_label as _width
from .paper_apps import table11, table12, table13, table14
from .table3 import step_analysis, step_points

__all__ = ["BUILDERS", "GRID_ALPHAS", "GRID_RESOLUTIONS", "TABLES", "Figure", "figures", "recount"]

# The paper's 16 models (Figure 4): width multipliers × input resolutions.
GRID_ALPHAS = (1.0, 0.75, 0.5, 0.25)
GRID_RESOLUTIONS = (224, 192, 160, 128)
NO_FC_BIAS = Convention(fc_bias=False)


# Table 1 as printed: (row, stride, input size H×W×C); "5×" rows expanded. Row 27 prints s2.
TABLE1 = [
    ("Conv", 2, "224×224×3"), ("Conv dw", 1, "112×112×32"), ("Conv 1×1", 1, "112×112×32"),
    ("Conv dw", 2, "112×112×64"), ("Conv 1×1", 1, "56×56×64"), ("Conv dw", 1, "56×56×128"),
    ("Conv 1×1", 1, "56×56×128"), ("Conv dw", 2, "56×56×128"), ("Conv 1×1", 1, "28×28×128"),
    ("Conv dw", 1, "28×28×256"), ("Conv 1×1", 1, "28×28×256"), ("Conv dw", 2, "28×28×256"),
    ("Conv 1×1", 1, "14×14×256"),
    *[r for _ in range(5) for r in (("Conv dw", 1, "14×14×512"), ("Conv 1×1", 1, "14×14×512"))],
    ("Conv dw", 2, "14×14×512"), ("Conv 1×1", 1, "7×7×512"), ("Conv dw", 2, "7×7×1024"),
    ("Conv 1×1", 1, "7×7×1024"), ("Avg Pool", 1, "7×7×1024"), ("FC", 1, "1×1×1024"),
]
TABLE1_STRIDE_TYPO = ("Table 1 prints s2, but the 7×7 input must stay 7×7 for the 7×7 average pool: "
                      "every released MobileNetV1 uses stride 1 here")


def table1() -> Iterator[Figure]:
    rows = _analysis("mobilenet_v1").rows
    for i, ((label, stride, size), row) in enumerate(zip(TABLE1, rows, strict=True), start=1):
        name = f"{i:02d} {label} / s{stride}"
        why = TABLE1_STRIDE_TYPO if (label, size) == ("Conv dw", "7×7×1024") else ""
        yield Figure("1", name, "stride", stride, "", 0, row.node.stride or 1, why)
        yield Figure("1", name, "input_size", size, "H×W×C", 0, str(row.node.input))


TABLE2 = [("Conv 1×1", 94.86, 74.59), ("Conv DW 3×3", 3.06, 1.06), ("Conv 3×3", 1.19, 0.02),
          ("Fully Connected", 0.18, 24.33)]


def table2() -> Iterator[Figure]:
    a = _analysis("mobilenet_v1", convention=NO_FC_BIAS)
    groups = {g.category: g.totals for g in a.by_type()}
    for category, ma_pct, p_pct in TABLE2:
        g = groups[category]
        why = "a transposition in the paper: 1.91% makes the column sum to 100%" if category == "Conv 3×3" else ""
        yield Figure("2", category, "mult_adds_pct", ma_pct, "%", 2, 100 * g.mult_adds / a.totals.mult_adds, why)
        yield Figure("2", category, "params_pct", p_pct, "%", 2, 100 * g.params / a.totals.params,
                     convention="FC bias excluded, as this table does")


TABLE3 = [("Convolution", 462, 2.36, 0, 2), ("Depthwise Separable Conv", 52.3, 0.27, 1, 2),
          ("α = 0.75", 29.6, 0.15, 1, 2), ("ρ = 0.714", 15.1, 0.15, 1, 2)]


def table3() -> Iterator[Figure]:
    points = step_points(_spec("table3_separable"), 0.75, 0.714)
    for (row, ma, params, ma_d, p_d), (_, spec, alpha, size) in zip(TABLE3, points, strict=True):
        source = partial(step_analysis, spec, alpha, size, True)  # the example layer thins its input too
        t = source().totals
        yield Figure("3", row, "mult_adds", ma, "M", ma_d, t.mult_adds / 1e6, source=source)
        yield Figure("3", row, "params", params, "M", p_d, t.params / 1e6)


def table4() -> Iterator[Figure]:
    yield from _model("4", "Conv MobileNet", "conv_mobilenet", 4866, 29.3,
                      why_ma="4,866.27 M without the FC layer's 1.02 M: the paper leaves the FC layer out here")
    yield from _model("4", "MobileNet", "mobilenet_v1", 569, 4.2)


def table5() -> Iterator[Figure]:
    yield from _model("5", "0.75 MobileNet", "mobilenet_v1", 325, 2.6, alpha=0.75)
    yield from _model("5", "Shallow MobileNet", "shallow_mobilenet", 307, 2.9)


def table6() -> Iterator[Figure]:
    for alpha, ma, params in [(1.0, 569, 4.2), (0.75, 325, 2.6), (0.5, 149, 1.3), (0.25, 41, 0.5)]:
        yield from _model("6", f"{_width(alpha)} MobileNet-224", "mobilenet_v1", ma, params, alpha=alpha)


def table7() -> Iterator[Figure]:
    for res, ma in [(224, 569), (192, 418), (160, 290), (128, 186)]:
        yield from _model("7", f"1.0 MobileNet-{res}", "mobilenet_v1", ma, 4.2, resolution=res)


def table8() -> Iterator[Figure]:
    yield from _model("8", "1.0 MobileNet-224", "mobilenet_v1", 569, 4.2)
    yield from _model("8", "GoogleNet", "googlenet", 1550, 6.8,
                      why_ma="GoogLeNet's own Table 1 lists rounded per-layer ops that sum to about 1.5 G; "
                             "the exact count with its 5×5 branches is 1,582.7 M",
                      why_params="GoogLeNet's Table 1 lists per-layer params a few % under the exact count "
                                 "(inception 4e: 840 K listed, 867 K exact); 6.97 M without biases")
    yield from _model("8", "VGG 16", "vgg16", 15300, 138, ma_decimals=-2, p_decimals=0,
                      why_ma="close to VGG16's convolutions alone (15,346.6 M); with its FC layers 15,470.3 M")


def table9() -> Iterator[Figure]:
    yield from _model("9", "0.50 MobileNet-160", "mobilenet_v1", 76, 1.32, alpha=0.5, resolution=160, p_decimals=2)
    yield from _model("9", "Squeezenet", "squeezenet1_0", 1700, 1.25, ma_decimals=-2, p_decimals=2,
                      why_ma="the SqueezeNet authors' 1.72 GFLOPS (two flops per multiply-add, and more): "
                             "about twice its 832.7 M Mult-Adds")
    yield from _model("9", "AlexNet", "alexnet", 720, 60, ma_decimals=-1, p_decimals=0)


def table10() -> Iterator[Figure]:
    # Stanford Dogs: the same networks with a 120-class classifier.
    repeated = ("the paper repeats the 1000-class figure; a 120-class FC layer has {saved:.2f} M fewer "
                "Mult-Adds")
    for alpha, res, ma, params in [(1.0, 224, 569, 3.3), (0.75, 224, 325, 1.9), (1.0, 192, 418, 3.3),
                                   (0.75, 192, 239, 1.9)]:
        saved = int(1024 * alpha) * 880 / 1e6
        yield from _model("10", f"{_width(alpha)} MobileNet-{res}", "mobilenet_v1", ma, params, alpha=alpha,
                          resolution=res, classes=120, why_ma=repeated.format(saved=saved))


BUILDERS: dict[str, Callable[[], Iterator[Figure]]] = {
    "1": table1, "2": table2, "3": table3, "4": table4, "5": table5, "6": table6, "7": table7,
    "8": table8, "9": table9, "10": table10,
    "11": table11, "12": table12, "13": table13, "14": table14,
}
TABLES = tuple(BUILDERS)


def figures(tables: list[str] | None = None) -> list[Figure]:
    """Every published figure of the requested tables (all by default), recomputed."""
    return [f for t in (tables or list(BUILDERS)) for f in BUILDERS[t]()]
