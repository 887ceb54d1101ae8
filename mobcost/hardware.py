"""Hardware profiles (``specs/hardware/*.yaml`` or a user's file) and the roofline latency estimate.

A layer takes max(Mult-Adds / (peak · efficiency of its type), bytes moved / bandwidth) plus a fixed
per-layer overhead; bytes moved are the layer's memory access (inputs + output + weights) in the
profile's element type. Every figure of a profile carries a source line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analysis import DTYPE_BYTES
from .bundled import specs_dir
from .errors import SpecError
from .formulas import REGISTRY
from .spec import load_mapping
from .units import parse_si

REQUIRED = ("name", "peak_mult_adds_per_s", "bandwidth_bytes_per_s")
NUMBERS = ("peak_mult_adds_per_s", "bandwidth_bytes_per_s", "overhead_us", "ram_bytes", "storage_bytes")
KEYS = (*REQUIRED, "description", "dtype", "overhead_us", "ram_bytes", "storage_bytes", "efficiency",
        "sources", "measured")
DEFAULT_HARDWARE = "cortex_m7"


@dataclass(frozen=True)
class Hardware:
    name: str
    peak_mult_adds_per_s: float
    bandwidth_bytes_per_s: float
    dtype: str = "fp32"
    overhead_us: float = 0.0
    ram_bytes: float | None = None  # budget for peak activations
    storage_bytes: float | None = None  # budget for weights
    efficiency: dict[str, float] = field(default_factory=dict)  # per layer type, of the peak
    sources: dict[str, str] = field(default_factory=dict)
    description: str = ""
    file: str = ""
    measured: dict[str, Any] = field(default_factory=dict)

    def efficiency_of(self, layer_type: str) -> float:
        return self.efficiency.get(layer_type, 1.0)

    @property
    def dtype_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]


def hardware_dir() -> Path:
    return specs_dir() / "hardware"


def bundled_hardware() -> list[str]:
    return sorted(p.stem for p in hardware_dir().glob("*.yaml"))


def load_hardware(name_or_path: str | Path) -> Hardware:
    path = Path(name_or_path)
    if not path.exists() and path.suffix not in (".yaml", ".yml") and "/" not in str(name_or_path):
        bundled = hardware_dir() / f"{str(name_or_path).replace('-', '_').lower()}.yaml"
        if not bundled.exists():
            raise SpecError(f"no such file, and no bundled hardware profile of that name "
                            f"(bundled: {', '.join(bundled_hardware())})", file=str(name_or_path))
        path = bundled
    value, doc = load_mapping(path)
    for key in value:
        if key not in KEYS:
            raise doc.error(key, f"unknown key {key!r}; allowed: {', '.join(KEYS)}")
    for key in REQUIRED:
        if key not in value:
            raise doc.error("", f"missing '{key}'")
    numbers = {k: _number(value[k], k, doc) for k in NUMBERS if k in value}
    dtype = value.get("dtype", "fp32")
    if dtype not in DTYPE_BYTES:
        raise doc.error("dtype", f"must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}")
    return Hardware(name=str(value["name"]), dtype=dtype, efficiency=_efficiency(value.get("efficiency", {}), doc),
                    sources=_strings(value.get("sources", {}), "sources", doc), description=str(value.get(
                        "description", "")), file=str(path), measured=dict(value.get("measured") or {}), **numbers)


def _number(value: Any, key: str, doc: Any) -> float:
    try:
        return parse_si(value if not isinstance(value, str) else value.replace("_", ""), unit="B")
    except Exception as exc:  # OptionError from parse_si: re-raised with the file's location
        raise doc.error(key, getattr(exc, "message", str(exc))) from None


def _efficiency(value: Any, doc: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise doc.error("efficiency", "must be a mapping from layer type to a fraction in (0, 1]")
    out = {}
    for kind, frac in value.items():
        if kind not in REGISTRY:
            raise doc.error(f"efficiency.{kind}", f"unknown layer type; known: {', '.join(REGISTRY)}")
        if isinstance(frac, bool) or not isinstance(frac, int | float) or not 0 < frac <= 1:
            raise doc.error(f"efficiency.{kind}", f"must be a fraction in (0, 1], got {frac!r}")
        out[kind] = float(frac)
    return out


def _strings(value: Any, key: str, doc: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise doc.error(key, "must be a mapping of strings")
    return dict(value)
