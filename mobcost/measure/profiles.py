"""This host's calibrated profiles: what a calibration writes (every figure with its source line, the runtime
and its version), where it is kept, and the checks before and after writing it."""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import OptionError
from ..explore.energy import CPU_CACHES, host_onchip_bytes
from ..explore.hardware import Hardware
from ..files import write_atomic
from ..units import plural
from .runtime import Runtime

# The microbenchmarks' grid (micro.py), named in the profile's source lines.
GRID = ("single layers of 4 channel counts × 3 feature sizes, and on sequences of 16, 64 and 256 tokens linear layers, "
        "whole attention layers (4 widths × heads) and LayerNorm")


def profile_doc(hw: Hardware, threads: int, runner: Runtime, rounds: int) -> dict[str, Any]:
    """A calibrated profile as a YAML-ready mapping."""
    runtime = runner.name
    rates = {k: hw.peak_mult_adds_per_s * e for k, e in hw.efficiency.items()}
    peak, today, version = hw.peak_mult_adds_per_s, dt.date.today().isoformat(), runner.version()
    where = f"measured on {platform.node() or 'this host'} {today}, {plural(threads, 'thread')}, {runtime} {version}"
    doc: dict[str, Any] = {
        "name": f"this host ({platform.machine()}, {plural(threads, 'thread')}, "
                f"{'torch eager' if runtime == 'torch' else f'{runtime} {version}'})",
        "description": f"calibrated by `mobcost calibrate --runtime {runtime}` with microbenchmarks",
        "dtype": "fp32",
        "runtime": runtime,
        "peak_mult_adds_per_s": float(f"{peak:.4g}"),
        "bandwidth_bytes_per_s": float(f"{hw.bandwidth_bytes_per_s:.4g}"),
        **({"activation_bandwidth_bytes_per_s": float(f"{hw.activation_bandwidth_bytes_per_s:.4g}")}
           if hw.activation_bandwidth_bytes_per_s else {}),
        "overhead_us": {"default": round(hw.overhead_us, 2),
                        **{k: round(v, 2) for k, v in hw.overhead_us_by_type.items()}},
        # a fraction of the peak (at most 1: pooling's window reads can outrun the slowest convolutions)
        "efficiency": {k: float(f"{min(1.0, v / peak):.4g}") for k, v in rates.items()},
    }
    if not hw.fuses_elementwise:
        doc["elementwise"] = {"overhead_us": round(hw.elementwise_overhead_us or 0.0, 2),
                              "bytes_per_s": float(f"{hw.elementwise_bytes_per_s:.4g}")}
    if hw.activation_rates:
        doc["activations"] = {k: float(f"{v:.4g}") for k, v in hw.activation_rates.items()}
    if hw.unblocked_multiple:
        doc["unblocked"] = {"channel_multiple": hw.unblocked_multiple,
                            "efficiency": {k: float(f"{v:.4g}") for k, v in hw.unblocked_efficiency.items()},
                            "overhead_us": {k: round(v, 2) for k, v in hw.unblocked_overhead_us.items()}}
    doc["sources"] = _sources(runner, where, rounds, not hw.fuses_elementwise,
                              split=hw.activation_bandwidth_bytes_per_s is not None)
    if hw.unblocked_multiple:
        doc["sources"]["unblocked"] = (f"convolutions whose channels are not a multiple of {hw.unblocked_multiple} "
                                       "run without ORT's blocked NCHWc layout: the same fit on single layers of "
                                       f"18, 66 and 258 channels, {where}")
    if hw.activation_rates:
        doc["sources"]["activations"] = _activations_source(runtime, where)
    onchip = host_onchip_bytes()
    if onchip is not None:  # the energy model's on-chip memory: this host's largest CPU cache
        doc["energy"] = {"onchip_bytes": onchip}
        doc["sources"]["energy"] = (f"onchip_bytes: the largest CPU cache of this host ({CPU_CACHES}); the "
                                    "picojoule figures are the energy model's cited defaults")
    doc["measured"] = {"date": today, "threads": threads, "runtime": runtime, runtime: version,
                       "machine": platform.machine(), **hw.measured,
                       # Mult-Adds per second; for pooling, window reads per second
                       "work_per_s": {k: float(f"{v:.4g}") for k, v in rates.items()}}
    return doc


def _bandwidth_sources(where: str, split: bool) -> dict[str, str]:
    """What the bandwidth figures are; ``split``: weights and activations move at bandwidths of their own."""
    copy = f"a 64 MiB tensor copy, read + write, the median of samples through the calibration, {where}"
    if not split:
        return {"bandwidth_bytes_per_s": copy}
    return {"bandwidth_bytes_per_s": f"weights' bandwidth: {copy}",
            "activation_bandwidth_bytes_per_s": "inputs' and outputs' bandwidth (they pass from layer to layer in "
                                                "cache): a copy of the largest microbenchmark input (4 MiB), read + "
                                                f"write, the median of samples through the calibration, {where}"}


def _activations_source(runtime: str, where: str) -> str:
    """How the activations' rates were measured: eager torch runs each as a pass of its own; a fusing runtime
    applies it after the convolution's kernel."""
    how = ("each activation's extra cost over the in-place ReLU pass: the slope of (its pass − the ReLU pass)"
           if runtime == "torch" else
           "each activation's pass after a fused convolution: the slope of (depthwise 3×3 with it − with ReLU)")
    return (f"output elements per second of {how} over 6 maps; not listed: no slower than ReLU; softmax: "
            "attention's score elements (heads × N²) per second, fitted with its rate and fixed cost to the whole "
            f"attention layers (absent: no measurable cost), {where}")


def _sources(runner: Runtime, where: str, rounds: int, elementwise: bool, split: bool) -> dict[str, str]:
    timed, default = runner.timed, runner.default_overhead
    sources = {
        "peak_mult_adds_per_s": f"fastest layer-type rate fitted to microbenchmarks, {where}",
        **_bandwidth_sources(where, split),
        "overhead_us": f"per layer type, the fixed cost of t = fixed + work / rate fitted to {GRID}, run in "
                       f"sequence, {timed} over {rounds} rounds, not the networks predicted; default: {default}, "
                       f"{where}",
        "efficiency": f"each layer type's fitted rate / peak (pooling: window reads per second / peak; ln: elements "
                      f"per second / peak; attention: its Mult-Adds, projections and products, per second / peak), "
                      f"{where}",
    }
    if elementwise:
        sources["elementwise"] = ("BatchNorm (eval) and in-place ReLU on the same maps, one fit of t = fixed + "
                                  f"elements / rate; bytes_per_s counts a read and a write of fp32, {where}")
    return sources


def config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "mobcost"


def host_profile_path(threads: int, runtime: str = "torch") -> Path:
    """Where this host's profile for ``threads`` and ``runtime`` lives (eager torch's keeps its old name)."""
    prefix = "host" if runtime == "torch" else f"host-{runtime}"
    return config_dir() / f"{prefix}-{threads}t.yaml"


def check_profile_path(path: Path, where: str | None = None) -> None:
    """Before calibrating: the profile's folder exists or can be made, and can be written; the path is not a
    folder. A one-line error now rather than after 25 s of timing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise OptionError("is a directory", file=str(path), where=where)
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise OptionError("cannot write a profile in this folder (set XDG_CONFIG_HOME, or use --output)",
                              file=str(path.parent), where=where)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise OptionError(f"cannot keep a profile here: {reason} (set XDG_CONFIG_HOME, or use --output)",
                          file=str(path.parent), where=where) from None


def _numbers(value: Any, key: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _numbers(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, float):
        yield key, value


def save_profile(profile: dict[str, Any], path: Path, where: str | None = None) -> None:
    """Write a calibrated profile; one whose timings gave a non-finite or negative figure is refused."""
    import yaml

    check_profile_path(path, where)
    for key, number in _numbers(profile):
        if not math.isfinite(number) or number < 0:
            raise OptionError(f"calibration measured {key} = {number}; nothing written: run `mobcost calibrate` "
                              "again (on a quieter machine)", file=str(path), where=where)
    header = "# Written by `mobcost calibrate`: microbenchmarks of this machine (not of any network).\n"
    write_atomic(path, header + yaml.safe_dump(profile, sort_keys=False, allow_unicode=True))
