"""The paper's Table 3: the cumulative effect of each shrinking step (full convolution → depthwise
separable → α → ρ), for the paper's example layer or for a whole network."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import MobcostError
from ..graph import resolve_resolution, scale_channels
from ..spec import Spec
from ..spec.transforms import densify
from .costs import analyze


@dataclass(frozen=True)
class Step:
    """One cumulative row of the paper's Table 3. A row the network cannot take (it is only valid at other
    sizes or widths than the row's) has no figures, and ``note`` says why."""

    label: str
    mult_adds: int | None
    params: int | None
    note: str = ""

    @property
    def defined(self) -> bool:
        return self.mult_adds is not None


def shrink_steps(spec: Spec, alpha: float, rho: float | None = None, resolution: int | None = None,
                 *, thin_input: bool = False) -> tuple[Step, ...]:
    """Table 3's cumulative rows: Convolution → Depthwise Separable → α → ρ.

    ``thin_input`` applies α to the spec's input channels too, as for an internal layer like Table 3's
    example (eq. 6's αM); a whole network's image channels never thin. The first three rows are at the
    spec's own input size: a spec valid only at other sizes (or only at α < 1) gets those rows without
    figures, each with the reason, rather than an error.
    """
    def at(label: str, s: Spec, a: float, **size: float | int | None) -> Step:
        try:
            if thin_input and a != 1.0:
                s = replace(s, channels=scale_channels(s.channels, a))
            t = analyze(s, a, **size).totals  # type: ignore[arg-type]
        except MobcostError as exc:  # a spec error says where; an out-of-range size needs no place
            return Step(label, None, None, note=str(exc) if exc.file else exc.message)
        return Step(label, t.mult_adds, t.params)

    rho_label = f"ρ = {rho:g}" if rho is not None else f"resolution {final_size(spec, rho, resolution)}"
    return (at("Convolution", densify(spec), 1.0), at("Depthwise Separable Conv", spec, 1.0),
            at(f"α = {alpha:g}", spec, alpha), at(rho_label, spec, alpha, rho=rho, resolution=resolution))


def final_size(spec: Spec, rho: float | None, resolution: int | None) -> int:
    return resolve_resolution(spec.size, rho, resolution)[0]
