"""Energy per inference, per layer and in total.

**With an active power** (a profile's ``active_power_mw``: measured, or a datasheet's current × voltage at the
clock), a layer's energy is that power × the layer's predicted time (:func:`.hardware.predict_layers`): what a
microcontroller's supply delivers while it runs, leakage, clock tree, flash and instruction fetch included. The
per-operation table below then only *attributes* that energy: each layer's total is split between compute and
memory in the proportions the table gives it (labelled an attribution wherever it shows).

**Without one** (a host profile, say), the energy is the table's alone, a lower bound: per layer, in picojoules,

* **compute** = Mult-Adds × (pJ per multiply + pJ per add) + (work − Mult-Adds) × pJ per add, where work is
  the registry's ``work`` (Mult-Adds; for pooling, which has none, its window reads): a multiply-add is a
  multiply and an add, and every other unit of work (a window read summed or compared) one add;
* **memory** = bytes moved × pJ per byte, where bytes moved are the layer's memory access (inputs + output +
  weights, in the profile's element type) and a byte comes from on-chip memory when the layer's working set
  (those same bytes) fits the profile's on-chip size, else from DRAM.

The defaults are M. Horowitz's 45 nm table (ISSCC 2014) for the profile's element type; a profile's
``energy:`` mapping overrides any of them (keys :data:`ENERGY_KEYS`). Counting conventions (``--no-first-layer``,
``--convention``) change what a table counts, never the energy: the registry's own counts are used.
This module is numpy-free; the sweep passes ``np.where`` to :func:`layer_energy_pj` to evaluate grids.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import OptionError
from ..layers import REGISTRY
from ..units import DTYPE_BYTES
from .profile_energy import ENERGY_KEYS

if TYPE_CHECKING:
    from ..graph import Graph
    from .hardware import Hardware

HOROWITZ = ('M. Horowitz, "Computing\'s energy problem (and what we can do about it)", ISSCC 2014, '
            "45 nm, 0.9 V")


@dataclass(frozen=True)
class Cited:
    """A figure and the line it comes from."""

    value: float
    source: str


# Energy of one operation (pJ) per element type: Horowitz's table. DTYPE_BYTES's types (fp32, fp16, int8) are
# all here; int16 and int32 too, for profiles of other element types.
ADD_PJ = {
    "int8": Cited(0.03, f"{HOROWITZ}: 8-bit integer add, 0.03 pJ"),
    "int16": Cited(0.05, f"{HOROWITZ}: 16-bit integer add, 0.05 pJ"),
    "int32": Cited(0.1, f"{HOROWITZ}: 32-bit integer add, 0.1 pJ"),
    "fp16": Cited(0.4, f"{HOROWITZ}: 16-bit float add, 0.4 pJ"),
    "fp32": Cited(0.9, f"{HOROWITZ}: 32-bit float add, 0.9 pJ"),
}
MULT_PJ = {
    "int8": Cited(0.2, f"{HOROWITZ}: 8-bit integer multiply, 0.2 pJ"),
    # Not in the table: an array multiplier grows with bits², which the table's own 8 → 32-bit step follows
    # (16× the bits², 15.5× the energy), so 0.2 pJ × (16/8)².
    "int16": Cited(0.8, f"interpolated, not in the table of {HOROWITZ}: 16-bit integer multiply 0.2 pJ × (16/8)² "
                        "= 0.8 pJ (multiplier energy ∝ bits², as its 8-bit 0.2 pJ and 32-bit 3.1 pJ follow)"),
    "int32": Cited(3.1, f"{HOROWITZ}: 32-bit integer multiply, 3.1 pJ"),
    "fp16": Cited(1.1, f"{HOROWITZ}: 16-bit float multiply, 1.1 pJ"),
    "fp32": Cited(3.7, f"{HOROWITZ}: 32-bit float multiply, 3.7 pJ"),
}
KIB, MIB = 2**10, 2**20
# A 64-bit SRAM read by array size (8 bytes a read): the on-chip figure is the smallest array ≥ the on-chip size.
SRAM_READ_64BIT = (
    (8 * KIB, Cited(10.0, f"{HOROWITZ}: 64-bit read of an 8 KB SRAM, 10 pJ (1.25 pJ/byte)")),
    (32 * KIB, Cited(20.0, f"{HOROWITZ}: 64-bit read of a 32 KB SRAM, 20 pJ (2.5 pJ/byte)")),
    (MIB, Cited(100.0, f"{HOROWITZ}: 64-bit read of a 1 MB SRAM, 100 pJ (12.5 pJ/byte)")),
)
DRAM_PJ_PER_BYTE = Cited(640.0 / 4, f"{HOROWITZ}: DRAM, 1.3–2.6 nJ per 64-bit access; its lower end as 640 pJ per "
                                    "32-bit access (160 pJ/byte) in Han et al. 2015, 'Learning both Weights and "
                                    "Connections for Efficient Neural Networks', energy table, and Han et al. "
                                    "2016, EIE, Table I")


def sram_pj_per_byte(onchip_bytes: float | None) -> Cited:
    """The on-chip figure: the table's smallest SRAM array at least ``onchip_bytes``. Above 1 MB, the 1 MB
    figure × √(size / 1 MB) — the table's own trend (8 → 32 KB: 4× the size, 2× the energy; 32 KB → 1 MB:
    32×, 5×), as wires grow with an array's side — but never more than a DRAM byte."""
    size = onchip_bytes or 0.0
    for array, read in SRAM_READ_64BIT:
        if size <= array:
            return Cited(read.value / 8, read.source + ("" if onchip_bytes else "; no on-chip size in the profile, "
                                                        "so every layer's bytes are priced as DRAM"))
    top = SRAM_READ_64BIT[-1][1]
    scaled = top.value / 8 * math.sqrt(size / MIB)
    if scaled >= DRAM_PJ_PER_BYTE.value:
        return Cited(DRAM_PJ_PER_BYTE.value, f"extrapolated from {HOROWITZ}: an SRAM of {size / MIB:g} MB would "
                                             "cost more per byte than DRAM, so the DRAM figure, 160 pJ/byte")
    return Cited(scaled, f"extrapolated from {HOROWITZ}: 1 MB SRAM 12.5 pJ/byte × √({size / MIB:g} MB / 1 MB) = "
                         f"{scaled:.4g} pJ/byte (the table's √size trend)")


@dataclass(frozen=True)
class EnergyModel:
    """The figures one profile prices a layer with, each with its source line."""

    dtype: str
    pj_per_mult: float
    pj_per_add: float
    pj_per_byte_onchip: float
    pj_per_byte_dram: float
    onchip_bytes: float | None  # None: no on-chip size known, every byte is a DRAM byte
    sources: dict[str, str]

    @property
    def onchip_limit(self) -> float:
        """The largest working set counted as on chip. An on-chip memory no cheaper per byte than DRAM (a VM
        whose cache reads 300 MiB: 12.5 pJ × √300 > 160 pJ) is no on-chip memory to the model: its bytes are
        counted as DRAM's, as they are priced, rather than "on chip" at DRAM's price."""
        if not self.onchip_bytes or self.pj_per_byte_onchip >= self.pj_per_byte_dram:
            return 0.0
        return self.onchip_bytes

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the figures, then their sources."""
        return {"dtype": self.dtype, **{k: getattr(self, k) for k in ENERGY_KEYS}, "sources": dict(self.sources)}


def energy_model(hw: Hardware) -> EnergyModel:
    """A profile's figures: its ``energy:`` overrides, the table's figures for its element type elsewhere."""
    given = hw.energy
    onchip = given.get("onchip_bytes")
    defaults = {"pj_per_mult": MULT_PJ[hw.dtype], "pj_per_add": ADD_PJ[hw.dtype],
                "pj_per_byte_onchip": sram_pj_per_byte(onchip), "pj_per_byte_dram": DRAM_PJ_PER_BYTE}
    own = f"the profile {hw.name!r}" + (f": {hw.sources['energy']}" if hw.sources.get("energy") else "")
    values = {k: given.get(k, cited.value) for k, cited in defaults.items()}
    sources = {k: own if k in given else cited.source for k, cited in defaults.items()}
    sources["onchip_bytes"] = own if onchip else "none given: every byte is priced as DRAM"
    return EnergyModel(hw.dtype, values["pj_per_mult"], values["pj_per_add"], values["pj_per_byte_onchip"],
                       values["pj_per_byte_dram"], onchip, sources)


def _choose(condition: Any, if_true: Any, if_false: Any) -> Any:
    return if_true if condition else if_false


def layer_energy_pj(mult_adds: Any, other_work: Any, bytes_moved: Any, model: EnergyModel, *,
                    select: Callable[[Any, Any, Any], Any] = _choose) -> tuple[Any, Any]:
    """(compute, memory) picojoules of one layer (see the module docstring). Works on floats, or on numpy
    arrays with ``select=np.where``: the sweep and :func:`network_energy` do the same float operations in the
    same order, so a grid's figures equal the one-network figures exactly."""
    compute = mult_adds * (model.pj_per_mult + model.pj_per_add) + other_work * model.pj_per_add
    per_byte = select(bytes_moved <= model.onchip_limit, model.pj_per_byte_onchip, model.pj_per_byte_dram)
    return compute, bytes_moved * per_byte


def active_pj(power_mw: Any, seconds: Any) -> Any:
    """Picojoules of ``seconds`` at ``power_mw``: mW × s = mJ = 10⁹ pJ (one expression for the network and the
    sweep, so their figures are equal, not approximately)."""
    return power_mw * seconds * 1e9


def attribute(total: Any, compute: Any, memory: Any, *,
              select: Callable[[Any, Any, Any], Any] = _choose) -> tuple[Any, Any]:
    """``total`` split between compute and memory in the proportions ``compute : memory`` (the table's); a layer
    the table gives nothing (a flatten) puts its whole share (its fixed cost) under memory."""
    both = compute + memory
    share = select(both > 0, compute / select(both > 0, both, 1.0), 0.0)
    return total * share, total - total * share


@dataclass(frozen=True)
class LayerEnergy:
    compute_pj: float  # with an active power: its share of pj in the table's proportions (an attribution)
    memory_pj: float
    bytes_moved: int
    onchip: bool  # the working set fits on chip
    table_pj: float = 0.0  # the per-operation table's figure alone (45 nm arithmetic + data movement)

    @property
    def pj(self) -> float:
        return self.compute_pj + self.memory_pj


@dataclass(frozen=True)
class NetworkEnergy:
    """Every layer's energy on one profile, in the graph's order."""

    hardware: str
    model: EnergyModel
    layers: tuple[LayerEnergy, ...]
    active_power_mw: float | None = None  # None: the table's figures alone (no power in the profile)
    seconds: float = 0.0  # the predicted latency the active power runs for

    @property
    def table_pj(self) -> float:
        return sum(layer.table_pj for layer in self.layers)

    @property
    def pj(self) -> float:
        if self.active_power_mw is not None:
            return active_pj(self.active_power_mw, self.seconds)
        return sum(layer.pj for layer in self.layers)

    @property
    def compute_pj(self) -> float:
        return sum(layer.compute_pj for layer in self.layers)

    @property
    def memory_pj(self) -> float:
        return sum(layer.memory_pj for layer in self.layers)

    @property
    def dram_layers(self) -> int:
        return sum(not layer.onchip for layer in self.layers)


def uj(pj: float) -> float:
    """Picojoules as microjoules, rounded to the picojoule (the outputs' precision)."""
    return round(pj / 1e6, 6)


def network_energy(graph: Graph, hw: Hardware) -> NetworkEnergy:
    """The energy of every layer of ``graph`` on ``hw`` (closed form; no torch, no numpy); always finite."""
    from .hardware import predict_layers

    model = energy_model(hw)
    power = hw.active_power_mw
    seconds = predict_layers(graph, hw) if power is not None else [0.0] * len(graph.nodes)
    layers = []
    for node, t in zip(graph.nodes, seconds, strict=True):
        kind = REGISTRY[node.type]
        runs = (graph.spec.proposals or 1) if node.layer.per_roi else 1  # a per-RoI layer: once per proposal
        mult_adds, work = kind.mult_adds(node), kind.work(node)
        moved = kind.memory_access(node) * DTYPE_BYTES[hw.dtype]
        compute, memory = layer_energy_pj(float(mult_adds), float(work - mult_adds), float(moved), model)
        onchip = float(moved) <= model.onchip_limit  # one run's traffic decides where it lives
        compute, memory, moved = runs * compute, runs * memory, runs * moved
        table = compute + memory
        if power is not None:
            compute, memory = attribute(active_pj(power, t), compute, memory)
        layers.append(LayerEnergy(compute, memory, moved, onchip, table))
    result = NetworkEnergy(hw.name, model, tuple(layers), power, sum(seconds))
    check_finite(math.isfinite(result.pj), hw)
    return result


def check_finite(ok: bool, hw: Hardware, what: str = "network") -> None:
    if not ok:
        raise OptionError(f"the energy estimate on {hw.name!r} passes what a float holds for this {what}",
                          file=hw.file or None, where="--hardware")


CPU_CACHES = Path("/sys/devices/system/cpu/cpu0/cache")
CACHE_UNITS = {"": 1, "K": KIB, "M": MIB, "G": 2**30}  # sysfs sizes are binary: "1024K" is 1 MiB


def host_onchip_bytes(caches: Path = CPU_CACHES) -> int | None:
    """This host's largest CPU cache in bytes (Linux sysfs, ``index*/size``), for a calibrated profile's
    ``energy.onchip_bytes``; None when none can be read (another OS, a container without sysfs)."""
    sizes = []
    try:
        paths = sorted(caches.glob("index*/size"))
    except OSError:
        return None
    for path in paths:
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        match = re.fullmatch(r"([0-9]+)([KMG]?)", text)
        if match:
            sizes.append(int(match[1]) * CACHE_UNITS[match[2]])
    return max(sizes, default=0) or None
