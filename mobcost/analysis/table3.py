"""The paper's Table 3: the cumulative effect of each shrinking step (full convolution → depthwise
separable → α → ρ), for the paper's example layer or for a whole network."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import MobcostError
from ..graph import resolve_resolution, scale_channels
from ..spec import Spec
from ..spec.transforms import densify
from .costs import Analysis, analyze


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
    def at(label: str, s: Spec, a: float, size: dict[str, float | int | None]) -> Step:
        try:
            t = step_analysis(s, a, size, thin_input).totals
        except MobcostError as exc:  # a spec error says where; an out-of-range size needs no place
            return Step(label, None, None, note=str(exc) if exc.file else exc.message)
        return Step(label, t.mult_adds, t.params)

    return tuple(at(*point) for point in step_points(spec, alpha, rho, resolution))


StepPoint = tuple[str, Spec, float, dict[str, float | int | None]]  # label, spec, α, the size arguments


def step_points(spec: Spec, alpha: float, rho: float | None = None, resolution: int | None = None
                ) -> tuple[StepPoint, ...]:
    """What each of Table 3's rows is computed from: a row's figures can then be recounted under another
    convention (``paper 3 --convention``) from the same network."""
    rho_label = f"ρ = {rho:g}" if rho is not None else f"resolution {final_size(spec, rho, resolution)}"
    return (("Convolution", densify(spec), 1.0, {}), ("Depthwise Separable Conv", spec, 1.0, {}),
            (f"α = {alpha:g}", spec, alpha, {}), (rho_label, spec, alpha, {"rho": rho, "resolution": resolution}))


def step_analysis(spec: Spec, alpha: float, size: dict[str, float | int | None], thin_input: bool) -> Analysis:
    """One row's network analysed (may raise: :func:`shrink_steps` turns that into a row without figures)."""
    if thin_input and alpha != 1.0:
        spec = replace(spec, channels=scale_channels(spec.channels, alpha))
    return analyze(spec, alpha, **size)  # type: ignore[arg-type]


def final_size(spec: Spec, rho: float | None, resolution: int | None) -> int:
    return resolve_resolution(spec.size, rho, resolution)[0]
