"""The paper's Table 3: the cumulative effect of each shrinking step (full convolution → depthwise
separable → α → ρ), for the paper's example layer or for a whole network."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..graph import resolve_resolution, scale_channels
from ..spec import Spec
from ..spec.transforms import densify
from .costs import Totals, analyze


@dataclass(frozen=True)
class Step:
    """One cumulative row of the paper's Table 3."""

    label: str
    mult_adds: int
    params: int


def shrink_steps(spec: Spec, alpha: float, rho: float | None = None, resolution: int | None = None,
                 *, thin_input: bool = False) -> tuple[Step, ...]:
    """Table 3's cumulative rows: Convolution → Depthwise Separable → α → ρ.

    ``thin_input`` applies α to the spec's input channels too, as for an internal layer like Table 3's
    example (eq. 6's αM); a whole network's image channels never thin.
    """
    def at(s: Spec, a: float, **size: float | int | None) -> Totals:
        if thin_input and a != 1.0:
            s = replace(s, channels=scale_channels(s.channels, a))
        return analyze(s, a, **size).totals  # type: ignore[arg-type]

    steps = [("Convolution", at(densify(spec), 1.0)), ("Depthwise Separable Conv", at(spec, 1.0)),
             (f"α = {alpha:g}", at(spec, alpha))]
    final = at(spec, alpha, rho=rho, resolution=resolution)
    rho_label = f"ρ = {rho:g}" if rho is not None else f"resolution {final_size(spec, rho, resolution)}"
    steps.append((rho_label, final))
    return tuple(Step(label, t.mult_adds, t.params) for label, t in steps)


def final_size(spec: Spec, rho: float | None, resolution: int | None) -> int:
    return resolve_resolution(spec.size, rho, resolution)[0]
