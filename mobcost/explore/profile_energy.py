"""A hardware profile's ``energy:`` mapping, read and checked: the overrides of the energy model's figures.

Its own module, below both :mod:`.hardware` (which reads profiles) and :mod:`.energy` (which prices a layer
with a profile's figures), so that neither imports the other to share the keys.
"""

from __future__ import annotations

from typing import Any

from ..errors import OptionError
from ..units import parse_si

ENERGY_KEYS = ("pj_per_mult", "pj_per_add", "onchip_bytes", "pj_per_byte_onchip", "pj_per_byte_dram")
PJ_RANGE = (1e-6, 1e6)  # a picojoule figure outside is a typo (a unit slip), and keeps every total finite


def parse_energy(value: Any, doc: Any) -> dict[str, float]:
    """A profile's ``energy:`` mapping, checked: every key optional, each a located one-line error when wrong."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error("energy", f"must be a mapping with any of {', '.join(ENERGY_KEYS)}")
    out = {}
    for key, figure in value.items():
        where = f"energy.{key}"
        if key not in ENERGY_KEYS:
            raise doc.error(where, f"unknown key {key!r}; allowed: {', '.join(ENERGY_KEYS)}")
        out[key] = _figure(figure, where, doc, key == "onchip_bytes")
    return out


def _figure(value: Any, where: str, doc: Any, is_bytes: bool) -> float:
    what = "a size in bytes like 320KiB or 1MB" if is_bytes else "a number of picojoules like 3.7"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise doc.error(where, f"must be {what}, got {type(value).__name__}")
    try:
        number = parse_si(value.replace("_", "") if isinstance(value, str) else value, unit="B" if is_bytes else "")
    except OptionError as exc:  # re-raised with the file's location
        raise doc.error(where, exc.message) from None
    if not is_bytes and not PJ_RANGE[0] <= number <= PJ_RANGE[1]:
        raise doc.error(where, f"must be picojoules in [{PJ_RANGE[0]:g}, {PJ_RANGE[1]:g}], got {number:g}")
    return number
