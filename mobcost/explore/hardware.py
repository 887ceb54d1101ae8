"""Hardware profiles (``specs/hardware/*.yaml`` or a user's file) and the roofline latency estimate.

A layer takes max(work / (peak · efficiency of its type), bytes moved / bandwidth) plus a fixed
per-layer overhead. Work is its Mult-Adds (pooling: its window reads); bytes moved are its memory
access (inputs + output + weights) in the profile's element type. Every figure of a profile carries a
source line. An optional ``energy:`` mapping overrides the energy model's figures (:mod:`.energy`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis.planners import RUNTIME_PLANNERS
from ..errors import OptionError, SpecError
from ..layers import ACTIVATIONS, REGISTRY
from ..spec import load_mapping, specs_dir
from ..units import DTYPE_BYTES, parse_si
from .profile_energy import parse_energy

REQUIRED = ("name", "peak_mult_adds_per_s", "bandwidth_bytes_per_s")
NUMBERS = ("peak_mult_adds_per_s", "bandwidth_bytes_per_s", "activation_bandwidth_bytes_per_s", "ram_bytes",
           "storage_bytes", "context_factor", "active_power_mw")
KEYS = (*REQUIRED, "activation_bandwidth_bytes_per_s", "description", "dtype", "runtime", "overhead_us", "ram_bytes",
        "storage_bytes", "efficiency", "elementwise", "activations", "unblocked", "context_factor", "energy", "sources",
        "measured", "active_power_mw", "planner")
# What a profile's figures describe: eager PyTorch (BatchNorm and activations run as passes of their own),
# ONNX Runtime or LiteRT (each fuses a convolution with its BatchNorm and activation into one kernel).
RUNTIMES = ("torch", "onnxruntime", "litert")
DEFAULT_HARDWARE = "cortex_m7"


@dataclass(frozen=True)
class Hardware:
    name: str
    peak_mult_adds_per_s: float
    bandwidth_bytes_per_s: float
    dtype: str = "fp32"
    runtime: str | None = None  # the runtime calibrated (RUNTIMES); None for a datasheet profile
    overhead_us: float = 0.0  # fixed cost of one layer call
    overhead_us_by_type: dict[str, float] = field(default_factory=dict)  # overrides per layer type
    ram_bytes: float | None = None  # budget for peak activations
    storage_bytes: float | None = None  # budget for weights
    efficiency: dict[str, float] = field(default_factory=dict)  # per layer type, of the peak
    sources: dict[str, str] = field(default_factory=dict)
    description: str = ""
    file: str = ""
    measured: dict[str, Any] = field(default_factory=dict)
    # Runtimes that do not fuse BatchNorm and activations into the convolution (eager PyTorch) pay for
    # each as a memory pass: this fixed cost plus output bytes read and written at this rate.
    elementwise_overhead_us: float | None = None
    elementwise_bytes_per_s: float | None = None
    # Runtimes that fold BatchNorm and fuse the activation into the convolution (ONNX Runtime) still pay for
    # most activations as a pass over the output inside the kernel: output elements per second, per
    # activation; one not listed costs nothing extra (ReLU rides in the kernel's store). Eager torch's are the
    # extra over its ReLU pass. ``softmax``: attention's score elements (h·N·N′) per second, beside its rate.
    activation_rates: dict[str, float] = field(default_factory=dict)
    # Layers inside a network can run slower than the same layer timed alone (caches, allocation): an
    # optional multiplier for profiles whose figures come from isolated-layer benchmarks; 1 by default.
    context_factor: float = 1.0
    # Runtimes with blocked channel layouts (ONNX Runtime's NCHWc) run a convolution whose input or output
    # channels are not a multiple of ``unblocked_multiple`` with plain kernels instead: their own efficiency and
    # fixed cost per layer type (a 58-channel depthwise 3×3 ran 7× slower than a 56-channel one in ORT 1.31).
    unblocked_multiple: int | None = None
    unblocked_efficiency: dict[str, float] = field(default_factory=dict)
    unblocked_overhead_us: dict[str, float] = field(default_factory=dict)
    # Overrides of the energy model's figures (``profile_energy.ENERGY_KEYS``); the rest come from its cited table.
    energy: dict[str, float] = field(default_factory=dict)
    # Average power while inferring, in mW: measured (energy ÷ latency of measured runs) or from a datasheet
    # (current × voltage at the clock). A microcontroller's energy per inference is this power × its run time;
    # the 45 nm per-operation figures alone miss it by two to three orders of magnitude (issue 24).
    active_power_mw: float | None = None
    # The runtime's memory planner (``analysis.planners.RUNTIME_PLANNERS``): its RAM and storage then bound the planned
    # arena plus persistent bytes, and the flash a TFLite file takes (``Budgets.with_hardware``).
    planner: str | None = None
    # Where a layer's inputs and output move at another rate than its weights: on a host, activations pass from
    # one layer to the next through the cache, while each layer's weights were last read a whole inference ago
    # and come from DRAM (``bandwidth_bytes_per_s``). None: everything moves at ``bandwidth_bytes_per_s``.
    activation_bandwidth_bytes_per_s: float | None = None

    def efficiency_of(self, layer_type: str, stride: int | None = 1, kernel: int | None = None) -> float:
        """A layer type's fraction of peak; ``dw/k5``, ``dw/s2`` and ``dw/k5/s2`` keys narrow it down."""
        return _most_specific(self.efficiency, layer_type, kernel, stride, 1.0)

    def overhead_of(self, layer_type: str, stride: int | None = 1, kernel: int | None = None) -> float:
        return _most_specific(self.overhead_us_by_type, layer_type, kernel, stride, self.overhead_us)

    def unblocked(self, in_channels: Any, out_channels: Any) -> Any:
        """Whether a layer runs without the blocked layout: True/False, or a boolean array for arrays of channels."""
        m = self.unblocked_multiple
        return False if not m else (in_channels % m != 0) | (out_channels % m != 0)

    def figures(self, layer_type: str, stride: int | None, kernel: int | None, unblocked: Any) -> tuple[Any, Any]:
        """(efficiency, fixed µs) of a layer; a layer run ``unblocked`` takes the ``unblocked`` figures where the
        profile has them (a boolean array gives arrays: the sweep's points differ in channels)."""
        eff, fixed = self.efficiency_of(layer_type, stride, kernel), self.overhead_of(layer_type, stride, kernel)
        if self.unblocked_multiple is None:
            return eff, fixed
        eff_u = _most_specific(self.unblocked_efficiency, layer_type, kernel, stride, eff)
        fixed_u = _most_specific(self.unblocked_overhead_us, layer_type, kernel, stride, fixed)
        return eff + (eff_u - eff) * unblocked, fixed + (fixed_u - fixed) * unblocked

    @property
    def fuses_elementwise(self) -> bool:
        return self.elementwise_bytes_per_s is None

    @property
    def dtype_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]


def _most_specific(table: dict[str, float], layer_type: str, kernel: int | None, stride: int | None,
                   default: float) -> float:
    """The first of ``type/k<kernel>/s<stride>``, ``type/k<kernel>``, ``type/s<stride>``, ``type`` in ``table``."""
    keys = [f"{layer_type}/k{kernel}/s{stride}", f"{layer_type}/k{kernel}"] if kernel else []
    for key in (*keys, f"{layer_type}/s{stride}", layer_type):
        if key in table:
            return table[key]
    return default


def layer_seconds(work: Any, elements: Any, layer_type: str, hw: Hardware, *, stride: int | None = 1,
                  kernel: int | None = None, outputs: Any = 0, unfused_ops: int = 0, act: str = "none",
                  unblocked: Any = False, scores: Any = 0, weights: Any = 0, maximum: Any = max) -> Any:
    """The roofline of one layer: max(work / (peak · efficiency), bytes / bandwidth) + overhead.

    ``work`` is the layer's Mult-Adds, or for pooling its window reads (``formulas.LayerKind.work``);
    ``elements`` is the layer's memory access (inputs + output + weights), ``weights`` its weights' share
    (``memory_seconds``). On a profile that does not fuse BatchNorm and activations, each of the layer's
    ``unfused_ops`` adds a pass over its ``outputs``; on one that fuses them, the layer's activation ``act`` adds
    its ``outputs`` at the profile's rate for it. A layer run ``unblocked`` (``Hardware.unblocked``) takes the
    profile's figures for that. An attention layer's ``scores`` (``Attention.score_elements``) add their softmax
    at the profile's ``softmax`` rate, where it has one.
    Works on numbers, or on numpy arrays with ``maximum=np.maximum`` (the sweep evaluates grids at once).
    """
    efficiency, fixed_us = hw.figures(layer_type, stride, kernel, unblocked)
    compute = work / (hw.peak_mult_adds_per_s * efficiency)
    memory = memory_seconds(elements, weights, hw)
    seconds = maximum(compute, memory) + fixed_us * 1e-6
    if unfused_ops and not hw.fuses_elementwise:
        per_op = (hw.elementwise_overhead_us or 0.0) * 1e-6 + 2 * outputs * hw.dtype_bytes / hw.elementwise_bytes_per_s
        seconds = seconds + unfused_ops * per_op
    if act in hw.activation_rates:
        seconds = seconds + outputs / hw.activation_rates[act]
    if "softmax" in hw.activation_rates:
        seconds = seconds + scores / hw.activation_rates["softmax"]
    return seconds * hw.context_factor


def memory_seconds(elements: Any, weights: Any, hw: Hardware) -> Any:
    """The roofline's memory term: weights at ``bandwidth_bytes_per_s``, the rest (inputs and output) at the
    activations' own bandwidth where the profile has one, else at the same."""
    if hw.activation_bandwidth_bytes_per_s is None:
        return elements * hw.dtype_bytes / hw.bandwidth_bytes_per_s
    return (weights * hw.dtype_bytes / hw.bandwidth_bytes_per_s
            + (elements - weights) * hw.dtype_bytes / hw.activation_bandwidth_bytes_per_s)


def profile_kernel(node: Any) -> int | None:
    """The kernel size a ``/k<kernel>`` profile key refers to; none for a global pool (its window is the map)."""
    return None if node.type == "avgpool" and node.layer.kernel is None else node.kernel


def unfused_ops(layer: Any) -> int:
    """BatchNorm and activation ops that follow a layer (what an unfused runtime runs separately)."""
    return int(bool(getattr(layer, "bn", False))) + int(getattr(layer, "act", "none") != "none")


def score_elements(node: Any) -> int:
    """The attention scores a layer's softmax normalises (0 for a layer without)."""
    count = getattr(REGISTRY[node.type], "score_elements", None)
    return int(count(node)) if count else 0


def layer_act(layer: Any) -> str:
    """A layer's activation (``none`` for a layer that has none)."""
    return str(getattr(layer, "act", "none"))


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
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        raise doc.error("dtype", f"must be one of {', '.join(DTYPE_BYTES)}, got {dtype!r}")
    runtime = value.get("runtime")
    if runtime is not None and runtime not in RUNTIMES:
        raise doc.error("runtime", f"must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    planner = value.get("planner")
    if planner is not None and planner not in RUNTIME_PLANNERS:
        raise doc.error("planner", f"must be one of {', '.join(RUNTIME_PLANNERS)}, got {planner!r}")
    overhead, by_type = _overheads(value.get("overhead_us", 0), doc)
    elementwise = _elementwise(value.get("elementwise"), doc)
    activations = _activations(value.get("activations", {}), doc)
    unblocked = _unblocked(value.get("unblocked"), doc)
    measured = value.get("measured") or {}
    if not isinstance(measured, dict):
        raise doc.error("measured", "must be a mapping (what calibration recorded)")
    return Hardware(name=_text(value["name"], "name", doc), dtype=dtype, runtime=runtime, planner=planner,
                    efficiency=_efficiency(value.get("efficiency", {}), doc),
                    sources=_strings(value.get("sources", {}), "sources", doc),
                    description=_text(value.get("description", ""), "description", doc), file=str(path),
                    measured=dict(measured), overhead_us=overhead, overhead_us_by_type=by_type, **elementwise,
                    activation_rates=activations, **unblocked,
                    energy=parse_energy(value.get("energy"), doc), **numbers)


def _text(value: Any, key: str, doc: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise doc.error(key, f"must be a string, got {type(value).__name__}")
    return str(value)


def _overheads(value: Any, doc: Any, key: str = "overhead_us") -> tuple[float, dict[str, float]]:
    """``overhead_us``: one number of microseconds, or a mapping per layer type (with ``default``)."""
    if not isinstance(value, dict):
        return _micros(value, key, doc), {}
    by_type = {}
    for kind, micros in value.items():
        if kind != "default":
            _check_type_key(kind, f"{key}.{kind}", doc)
        by_type[kind] = _micros(micros, f"{key}.{kind}", doc)
    return by_type.pop("default", 0.0), by_type


MAX_OVERHEAD_US = 1e12  # 11.6 days a layer: past any device, and far from float64's limits


def _decimal_text(value: Any) -> Any:
    """YAML reads ``1e12`` and ``1e-9`` (no dot) as strings: such a string becomes its number."""
    if isinstance(value, str):
        try:
            return float(value.replace("_", ""))
        except ValueError:
            return value
    return value


def _micros(value: Any, where: str, doc: Any) -> float:
    value = _decimal_text(value)
    if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0
            or value > MAX_OVERHEAD_US):
        raise doc.error(where, f"must be a number of microseconds in [0, {MAX_OVERHEAD_US:g}], got {value!r}")
    return float(value)


def _elementwise(value: Any, doc: Any) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - {"overhead_us", "bytes_per_s"} or "bytes_per_s" not in value:
        raise doc.error("elementwise", "must be a mapping with bytes_per_s (and overhead_us)")
    return {"elementwise_overhead_us": _micros(value.get("overhead_us", 0), "elementwise.overhead_us", doc),
            "elementwise_bytes_per_s": _number(value["bytes_per_s"], "elementwise.bytes_per_s", doc)}


def _activations(value: Any, doc: Any) -> dict[str, float]:
    """``activations``: output elements per second of each activation's pass, e.g. ``{hswish: 5.8G}``; ``softmax``:
    attention's score elements per second."""
    if not isinstance(value, dict):
        raise doc.error("activations", "must be a mapping from activation to output elements per second")
    for act in value:
        if act not in PRICED:
            raise doc.error(f"activations.{act}", f"unknown activation; use one of {', '.join(PRICED)}")
    return {str(act): _number(rate, f"activations.{act}", doc) for act, rate in value.items()}


# What ``activations`` may price: each activation a layer can have, and attention's softmax over its scores.
PRICED = (*(a for a in ACTIVATIONS if a != "none"), "softmax")
# Lower bounds that keep every estimate finite: a rate under 1 per second (or a context factor under
# 10⁻⁶) is a typo, and dividing by it could pass what a float holds.
LOWEST = {"peak_mult_adds_per_s": 1.0, "bandwidth_bytes_per_s": 1.0, "activation_bandwidth_bytes_per_s": 1.0,
          "elementwise.bytes_per_s": 1.0,
          "active_power_mw": 1e-6,
          **{f"activations.{a}": 1.0 for a in (*ACTIVATIONS, "softmax")},
          "context_factor": 1e-6}
HIGHEST = {"context_factor": 1e6, "active_power_mw": 1e9}


def _number(value: Any, key: str, doc: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise doc.error(key, f"must be a number like 1.5G or 320KiB, got {type(value).__name__}")
    try:
        number = parse_si(value if not isinstance(value, str) else value.replace("_", ""), unit="B")
    except OptionError as exc:  # re-raised with the file's location
        raise doc.error(key, exc.message) from None
    if number < LOWEST.get(key, 0.0) or number > HIGHEST.get(key, math.inf):
        raise doc.error(key, f"must be in [{LOWEST.get(key, 0.0):g}, {HIGHEST.get(key, math.inf):g}], "
                             f"got {number:g}")
    return number


def _unblocked(value: Any, doc: Any) -> dict[str, Any]:
    """``unblocked: {channel_multiple: 4, efficiency: {...}, overhead_us: {...}}``."""
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - {"channel_multiple", "efficiency", "overhead_us"}:
        raise doc.error("unblocked", "must be a mapping of channel_multiple (required), efficiency and overhead_us")
    if "channel_multiple" not in value:
        raise doc.error("unblocked", "missing 'channel_multiple' (the channel count the blocked layout needs)")
    multiple = value["channel_multiple"]
    if isinstance(multiple, bool) or not isinstance(multiple, int) or not 2 <= multiple <= 1024:
        raise doc.error("unblocked.channel_multiple", f"must be a whole number in [2, 1024], got {multiple!r}")
    fixed = value.get("overhead_us", {})
    if not isinstance(fixed, dict):
        raise doc.error("unblocked.overhead_us", "must be a mapping from layer type to microseconds")
    _, by_type = _overheads(fixed, doc, "unblocked.overhead_us")
    return {"unblocked_multiple": multiple, "unblocked_overhead_us": by_type,
            "unblocked_efficiency": _efficiency(value.get("efficiency", {}), doc, "unblocked.efficiency")}


def _efficiency(value: Any, doc: Any, key: str = "efficiency") -> dict[str, float]:
    if not isinstance(value, dict):
        raise doc.error(key, "must be a mapping from layer type to a fraction in (0, 1]")
    out = {}
    for kind, frac in value.items():
        _check_type_key(kind, f"{key}.{kind}", doc)
        frac = _decimal_text(frac)
        if isinstance(frac, bool) or not isinstance(frac, int | float) or not 1e-9 <= frac <= 1:
            raise doc.error(f"{key}.{kind}", f"must be a fraction in [1e-9, 1], got {frac!r}")
        out[kind] = float(frac)
    return out


TYPE_KEY = re.compile(r"(?P<type>[a-z_]+)(?P<narrow>(/k[1-9][0-9]*)?(/s[1-9][0-9]*)?)")
# The layer types whose nodes have a kernel and a stride: only their keys can be narrowed by them. A token layer
# (linear, attention, ln, …) has neither, so ``linear/s2`` would never be read.
WINDOWED = ("conv", "dw", "pw", "deconv", "avgpool", "maxpool", "fc", "patch_embed")


def _check_type_key(key: Any, where: str, doc: Any) -> None:
    """A layer type (``dw``), optionally for one kernel size and/or stride (``dw/k5``, ``dw/s2``, ``dw/k5/s2``)."""
    match = TYPE_KEY.fullmatch(str(key))
    if match is None or match["type"] not in REGISTRY:
        raise doc.error(where, f"unknown layer type; use one of {', '.join(REGISTRY)}, optionally with "
                               "/k<kernel> and/or /s<stride>")
    if match["narrow"] and match["type"] not in WINDOWED:
        raise doc.error(where, f"{match['type']} layers have no kernel or stride to narrow by: use "
                               f"'{match['type']}' (/k and /s apply to {', '.join(WINDOWED)})")


def _strings(value: Any, key: str, doc: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise doc.error(key, "must be a mapping of strings")
    return {str(k): v for k, v in value.items()}


def predict_layers(graph: Any, hw: Hardware) -> list[float]:
    """Predicted seconds of each layer of a graph on ``hw`` (closed form; no torch); always finite."""
    from ..analysis import analyze_graph

    # a per-RoI row runs `times` times (once per proposal): one run's seconds, that many times
    seconds = [row.times * layer_seconds(
        float(REGISTRY[row.node.type].work(row.node)), float(row.memory_access // row.times), row.node.type, hw,
        stride=row.node.stride, kernel=profile_kernel(row.node), outputs=float(row.node.output.numel),
        unfused_ops=unfused_ops(row.node.layer), act=layer_act(row.node.layer), scores=score_elements(row.node),
        weights=float(REGISTRY[row.node.type].weights(row.node)),
        unblocked=hw.unblocked(row.node.input.c, row.node.output.c)) for row in analyze_graph(graph).rows]
    if not all(math.isfinite(s) for s in seconds) or not math.isfinite(sum(seconds)):
        raise OptionError(f"the latency estimate on {hw.name!r} passes what a float holds: its rates are too small "
                          "or its overheads too large for this network", file=hw.file or None, where="--hardware")
    return seconds
