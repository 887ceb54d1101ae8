"""Published ImageNet top-1 accuracy, each figure with its source, and the paper's log-linear estimate.

Figure 4 of the MobileNets paper: "Results are log linear with a jump when models get very small at
α = 0.25". :func:`fit` fits top-1 = a + b·log10(Mult-Adds) to the 16 released models; estimates are
always labelled as such, with the fit's error, and as extrapolations outside the fitted range.

Published figures belong to architectures, not names: a spec gets them when the fingerprint of its graph
(layer types, widths, kernels, strides, connections — names and descriptions aside) equals a bundled
network's.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import MobcostError
from ..graph import Graph, build, input_names
from ..layers import REGISTRY
from ..spec import Spec, load_bundled

PAPER = "Howard et al. 2017, Tables 6–7"
SLIM = "TF-Slim MobileNetV1 release 2018-02-22 (tensorflow/models research/slim/nets/mobilenet_v1.md)"

# (α, resolution) → top-1 %, MobileNets paper Tables 6 and 7 (the points it prints).
MOBILENET_V1_PAPER: dict[tuple[float, int], float] = {
    (1.0, 224): 70.6, (0.75, 224): 68.4, (0.5, 224): 63.7, (0.25, 224): 50.6,
    (1.0, 192): 69.1, (1.0, 160): 67.2, (1.0, 128): 64.4,
}

# The 16 float models of the TF-Slim release (single crop). Its α < 1 models round widths to multiples
# of 8, so their MACs differ slightly from the paper's (0.75-224: 317 M vs 325 M); the accuracy is
# attributed to the nominal (α, resolution).
MOBILENET_V1_SLIM: dict[tuple[float, int], float] = {
    (1.0, 224): 70.9, (1.0, 192): 70.0, (1.0, 160): 68.0, (1.0, 128): 65.2,
    (0.75, 224): 68.4, (0.75, 192): 67.2, (0.75, 160): 65.3, (0.75, 128): 62.1,
    (0.5, 224): 63.3, (0.5, 192): 61.7, (0.5, 160): 59.1, (0.5, 128): 56.3,
    (0.25, 224): 49.8, (0.25, 192): 47.7, (0.25, 160): 45.5, (0.25, 128): 41.5,
}

# Other networks at their own input size, by bundled spec: (top-1 %, source). Attached to a spec by its
# architecture (``reference_accuracy``), never by its name.
REFERENCE: dict[str, tuple[float, str]] = {
    "vgg16": (71.5, "Howard et al. 2017, Table 8"),
    "googlenet": (69.8, "Howard et al. 2017, Table 8"),
    "alexnet": (57.2, "Howard et al. 2017, Table 9"),
    "squeezenet1_0": (57.5, "Howard et al. 2017, Table 9"),
    "mobilenet_v2": (72.0, "Sandler et al. 2018, Table 4"),
    "conv_mobilenet": (71.7, "Howard et al. 2017, Table 4"),
    "shallow_mobilenet": (65.3, "Howard et al. 2017, Table 5"),
}


@dataclass(frozen=True)
class LogLinearFit:
    """top-1 = intercept + slope · log10(Mult-Adds in millions)."""

    intercept: float
    slope: float
    rmse: float  # percentage points, on the points it was fitted to
    points: int

    def predict(self, mult_adds: float) -> float:
        return self.intercept + self.slope * math.log10(mult_adds / 1e6)

    @property
    def label(self) -> str:
        return f"estimate: log-linear fit to {self.points} TF-Slim models (RMSE {self.rmse:.1f} pts)"


def fit(mult_adds: list[float], top1: list[float]) -> LogLinearFit:
    """Least squares in log10 space (no numpy needed for 16 points)."""
    xs = [math.log10(m / 1e6) for m in mult_adds]
    n = len(xs)
    mx, my = sum(xs) / n, sum(top1) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, top1, strict=True)) / sum((x - mx) ** 2 for x in xs)
    intercept = my - slope * mx
    rmse = math.sqrt(sum((intercept + slope * x - y) ** 2 for x, y in zip(xs, top1, strict=True)) / n)
    return LogLinearFit(intercept, slope, rmse, n)


def mobilenet_v1_fit(mult_adds_of: dict[tuple[float, int], int]) -> LogLinearFit:
    """The fit over the 16 released models, with x = mobcost's Mult-Adds at each (α, resolution)."""
    keys = sorted(MOBILENET_V1_SLIM)
    return fit([mult_adds_of[k] for k in keys], [MOBILENET_V1_SLIM[k] for k in keys])


# top1_source codes of a sweep's points (``Accuracy.labels`` gives each its text)
UNKNOWN, PUBLISHED, ESTIMATE, EXTRAPOLATED, CLAMPED = range(5)


@dataclass(frozen=True)
class Accuracy:
    """Top-1 for points of the MobileNetV1 architecture: published where released, else the log-linear
    estimate — labelled an extrapolation outside the Mult-Adds range of the models it was fitted to, and
    clamped to 0–100% (a percentage cannot leave it)."""

    fit: LogLinearFit
    published: dict[tuple[float, int], float]
    fit_range: tuple[float, float]  # Mult-Adds of the cheapest and dearest fitted model

    @property
    def labels(self) -> tuple[str, ...]:
        lo, hi = (f"{m / 1e6:.0f}" for m in self.fit_range)
        # ASCII only: one non-ASCII character would double the memory of every streamed CSV row holding it
        outside = f"outside the {lo}-{hi} M Mult-Adds of the log-linear fit to {self.fit.points} TF-Slim models"
        return ("", SLIM, self.fit.label, f"extrapolated estimate: {outside}",
                f"extrapolated estimate, clamped to 0-100%: {outside}")

    def arrays(self, alpha: np.ndarray, res: np.ndarray, mult_adds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ma = np.asarray(mult_adds, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = self.fit.intercept + self.fit.slope * np.log10(ma / 1e6)
        top1 = np.clip(np.nan_to_num(raw, nan=0.0, neginf=0.0, posinf=100.0), 0.0, 100.0)
        lo, hi = self.fit_range
        source = np.where((ma < lo) | (ma > hi), EXTRAPOLATED, ESTIMATE).astype(np.int8)
        source[top1 != raw] = CLAMPED
        for (a, r), value in self.published.items():
            hit = (alpha == a) & (res == r)
            top1[hit], source[hit] = value, PUBLISHED
        return top1, source


def accuracy_for(spec: Spec, graph: Graph | None = None) -> Accuracy | None:
    """Accuracy data exists for the MobileNetV1 architecture only (the paper's Figure 4): a spec gets it when
    its graph (``graph``, or the spec at α = 1 and its own size) has the fingerprint of the bundled one —
    whatever it is called, and no spec gets it for its name alone."""
    if graph is None:
        try:
            graph = build(spec)
        except MobcostError:
            return None
    if fingerprint(graph) != _mobilenet_v1()[0]:
        return None
    return _mobilenet_v1()[1]


# How a layer is written and referred to, not what it is; the window is compared as placed (an explicit
# `padding: 1` is the default padding of a 3×3).
NAMING = ("name", "where", "line", "inputs", "kernel", "stride", "padding")


def fingerprint(graph: Graph) -> str:
    """The architecture of a graph, names and descriptions aside: input channels, the width rule, and per layer
    every decoded key (type, width, α-scaling, kernel, stride, padding, groups, bias, BatchNorm, activation…),
    its window and the positions of its inputs. Independent of α and resolution (a global pool's window aside)."""
    spec = graph.spec
    position = {layer.name: i for i, layer in enumerate(spec.layers)}
    parts: list[Any] = [spec.channels, spec.divisor]
    if spec.width_px is not None:  # a rectangular input is another network's input (square ones unchanged)
        parts.append(("aspect", Fraction(spec.width_px, spec.size)))
    for i, node in enumerate(graph.nodes):
        layer = node.layer
        is_global = node.type == "avgpool" and layer.kernel is None
        window = None if is_global else (node.kernel_hw, node.stride_hw, node.padding_hw)
        inputs = tuple(position.get(n, -1) for n in input_names(spec, i))
        # Every decoded key but the naming ones, so a new key (dilation, expand, gate…) can never make two
        # networks look alike; the global pool's window is left out as it follows the resolution.
        keys = tuple((f.name, getattr(layer, f.name)) for f in dataclasses.fields(layer) if f.name not in NAMING)
        parts.append((keys, window, inputs))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@functools.cache
def _mobilenet_v1() -> tuple[str, Accuracy]:
    spec = load_bundled("mobilenet_v1")
    grid = {k: _grid_mult_adds(spec, *k) for k in MOBILENET_V1_SLIM}
    return fingerprint(build(spec)), Accuracy(mobilenet_v1_fit(grid), MOBILENET_V1_SLIM,
                                              (min(grid.values()), max(grid.values())))


def mobilenet_v1_accuracy() -> Accuracy:
    """The accuracy data of the bundled MobileNetV1 (for the plots of the paper's figures)."""
    return _mobilenet_v1()[1]


@functools.cache
def _reference_prints() -> dict[str, str]:
    return {fingerprint(build(load_bundled(name))): name for name in REFERENCE}


def reference_accuracy(spec: Spec, graph: Graph | None = None) -> tuple[float, str] | None:
    """(top-1, source) when ``spec`` has the architecture of one of the networks the paper compares."""
    try:
        name = _reference_prints().get(fingerprint(graph or build(spec)))
    except MobcostError:
        return None
    return REFERENCE[name] if name else None


def _grid_mult_adds(spec: Spec, alpha: float, res: int) -> int:
    g = build(spec, alpha, resolution=res)
    return sum(REGISTRY[n.type].mult_adds(n) for n in g.nodes)
