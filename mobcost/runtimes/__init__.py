"""The runtimes mobcost builds, runs, times and calibrates models in: one module (or small package) each,
every one implementing :class:`mobcost.measure.runtime.Runtime`. Adding a runtime is one module here, named
in :data:`RUNTIMES`, plus its tests; the shared machinery (:mod:`mobcost.measure`) needs no change.

A runtime's module is imported only when it is asked for: each pulls in heavy packages (torch, onnxruntime,
LiteRT)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..errors import MissingExtraError, OptionError
from ..torchside import INSTALL_HINT

if TYPE_CHECKING:
    from ..measure.runtime import Runtime

# --runtime name → its module in this package (which defines RUNTIME)
RUNTIMES = {"torch": "torch_eager", "onnxruntime": "ort", "litert": "litert"}


def runtime(name: str) -> Runtime:
    """The runtime called ``name`` (the ``--runtime`` values)."""
    if name not in RUNTIMES:
        raise OptionError(f"unknown runtime {name!r} (one of {', '.join(RUNTIMES)})", where="--runtime")
    try:
        module = importlib.import_module(f".{RUNTIMES[name]}", __name__)
    except ImportError as exc:  # eager torch's module imports torch itself
        raise MissingExtraError(f"--runtime {name} {INSTALL_HINT} ({exc.name} is missing)") from None
    return module.RUNTIME  # type: ignore[no-any-return]
