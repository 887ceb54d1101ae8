"""Published ImageNet top-1 accuracy, each figure with its source, and the paper's log-linear estimate.

Figure 4 of the MobileNets paper: "Results are log linear with a jump when models get very small at
α = 0.25". :func:`fit` fits top-1 = a + b·log10(Mult-Adds) to the 16 released models; estimates are
always labelled as such, with the fit's error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..graph import build
from ..layers import REGISTRY
from ..spec import Spec

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

# Other networks at their own input size: (top-1 %, source).
REFERENCE: dict[str, tuple[float, str]] = {
    "VGG16": (71.5, "Howard et al. 2017, Table 8"),
    "GoogLeNet": (69.8, "Howard et al. 2017, Table 8"),
    "AlexNet": (57.2, "Howard et al. 2017, Table 9"),
    "SqueezeNet 1.0": (57.5, "Howard et al. 2017, Table 9"),
    "MobileNetV2": (72.0, "Sandler et al. 2018, Table 4"),
    "Conv MobileNet": (71.7, "Howard et al. 2017, Table 4"),
    "Shallow MobileNet": (65.3, "Howard et al. 2017, Table 5"),
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


@dataclass(frozen=True)
class Accuracy:
    """Top-1 for points of the MobileNetV1 grid: published where released, else the log-linear estimate."""

    fit: LogLinearFit
    published: dict[tuple[float, int], float]

    def arrays(self, alpha: np.ndarray, res: np.ndarray, mult_adds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top1 = self.fit.intercept + self.fit.slope * np.log10(mult_adds / 1e6)
        source = np.full(alpha.shape, 2, dtype=np.int8)
        for (a, r), value in self.published.items():
            hit = np.isclose(alpha, a) & (res == r)
            top1[hit], source[hit] = value, 1
        return top1, source


def accuracy_for(spec: Spec) -> Accuracy | None:
    """Accuracy data exists for the MobileNetV1 grid only (the paper's Figure 4)."""
    if spec.name != "MobileNetV1":
        return None
    grid = {k: _grid_mult_adds(spec, *k) for k in MOBILENET_V1_SLIM}
    return Accuracy(mobilenet_v1_fit(grid), MOBILENET_V1_SLIM)


def _grid_mult_adds(spec: Spec, alpha: float, res: int) -> int:
    g = build(spec, alpha, resolution=res)
    return sum(REGISTRY[n.type].mult_adds(n) for n in g.nodes)
