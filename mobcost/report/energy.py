"""Energy in the views (``table --hardware``, ``latency``, ``sweep``): short texts, the caption that says where
the energy goes, and the JSON keys. The figures come from :mod:`mobcost.explore.energy`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .formats import human

if TYPE_CHECKING:
    from ..analysis import Analysis
    from ..explore.energy import LayerEnergy, NetworkEnergy


def energy_text(microjoules: float) -> str:
    """Energy with a unit that keeps it short: 812 µJ, 10.9 mJ, 1.25 J (3 significant figures or more)."""
    for factor, unit in ((1e6, "J"), (1e3, "mJ")):
        if abs(microjoules) >= factor:
            return human(microjoules / factor, unit)
    return f"{human(microjoules)} µJ" if microjoules >= 1 else f"{microjoules:#.3g} µJ"  # 1.00 µJ, never 1 µJ


def energy_caption(energy: NetworkEnergy) -> str:
    """The totals and where they go: compute against memory, and how many layers' working sets left the chip."""
    m = energy.model
    onchip = f"{_binary(m.onchip_bytes)} on chip" if m.onchip_bytes else "no on-chip size given"
    if m.onchip_bytes and not m.onchip_limit:
        onchip += ", no cheaper per byte than DRAM: counted as DRAM"
    table = (f"{m.dtype}: {m.pj_per_mult:g} pJ a multiply, {m.pj_per_add:g} pJ an add, {m.pj_per_byte_onchip:.4g} pJ "
             f"an on-chip byte, {m.pj_per_byte_dram:g} pJ a DRAM byte (Horowitz, ISSCC 2014, 45 nm, unless the "
             "profile sets them)")
    split = (f"compute {energy_text(energy.compute_pj / 1e6)}, memory {energy_text(energy.memory_pj / 1e6)}; "
             f"{energy.dram_layers} of {len(energy.layers)} layers from DRAM ({onchip})")
    if energy.active_power_mw is None:
        return (f"Energy on {energy.hardware}: {energy_text(energy.pj / 1e6)} (the per-operation table alone: no "
                f"active power in the profile, a lower bound) — {split}. {table}")
    return (f"Energy on {energy.hardware}: {energy_text(energy.pj / 1e6)} = {energy.active_power_mw:g} mW active "
            f"power × {energy.seconds * 1e3:.4g} ms predicted. Where it goes (an attribution, in the proportions of "
            f"the per-operation table, whose own total is {energy_text(energy.table_pj / 1e6)}): {split}. {table}")


def _binary(size: float) -> str:
    """320 KiB, 1 MiB (as profiles write on-chip sizes), else SI bytes."""
    for factor, unit in ((2**20, "MiB"), (2**10, "KiB")):
        if size >= factor and size % factor == 0:
            return f"{size / factor:g} {unit}"
    return human(size, "B")


def energy_cells(energy: NetworkEnergy | None, pj: float | None) -> list[str]:
    return [] if energy is None or pj is None else [energy_text(pj / 1e6)]


def energy_by_category(a: Analysis, energy: NetworkEnergy) -> dict[str, tuple[float, float, float]]:
    """(total, compute, memory) picojoules per Table 2 category, summed in layer order."""
    out: dict[str, tuple[float, float, float]] = {}
    for row, e in zip(a.rows, energy.layers, strict=True):
        pj, compute, memory = out.get(row.category, (0.0, 0.0, 0.0))
        out[row.category] = (pj + e.pj, compute + e.compute_pj, memory + e.memory_pj)
    return out


ENERGY_KEYS = ("energy_uj", "energy_compute_uj", "energy_memory_uj", "energy_onchip")


def energy_dict(pj: float, compute_pj: float, memory_pj: float) -> dict[str, float]:
    from ..explore.energy import uj

    return {"energy_uj": uj(pj), "energy_compute_uj": uj(compute_pj), "energy_memory_uj": uj(memory_pj)}


def energy_basis(energy: NetworkEnergy) -> dict[str, Any]:
    """What ``energy_uj`` is: the profile's active power × the predicted latency (a prediction of the device), or,
    with no power in the profile, the per-operation table's sum (a lower bound that leaves out the clock tree,
    leakage, instruction fetch and the rest of a running chip: a microcontroller draws hundreds of times more)."""
    basis = "table_lower_bound" if energy.active_power_mw is None else "active_power"
    return {"energy_basis": basis, "active_power_mw": energy.active_power_mw}


def layer_energy_dict(e: LayerEnergy) -> dict[str, Any]:
    """A layer's energy keys: the total, its compute and memory parts, and whether its bytes came from on chip."""
    return {**energy_dict(e.pj, e.compute_pj, e.memory_pj), "energy_onchip": e.onchip}
