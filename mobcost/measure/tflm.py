"""TensorFlow Lite Micro's own figures for a ``.tflite``: its Python interpreter (the ``tflite-micro`` package:
reference kernels, the 64-bit host build) allocates the model in an arena with its ``RecordingMicroAllocator``,
which reports the arena's head (the planned tensors and scratch buffers), its tail (what persists: tensor and
node structs, kernels' op data) and their total. Imported only for ``mobcost memory --measure``."""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

from ..errors import MissingExtraError, MobcostError

INSTALL_HINT = "pip install 'mobcost[tflm]' (TensorFlow Lite Micro's Python interpreter, the tflite-micro package)"
# room for any model mobcost reads: the interpreter takes its arena size up front and fails when it is short
ARENA_FLOOR = 64 << 20
_FIGURE = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")
# what TFLM prints when it cannot run an operator (micro_op_resolver / micro_allocator)
_MISSING_OP = re.compile(r"(Didn't find op for builtin opcode '[^']*'[^\n]*|Failed to get registration[^\n]*|"
                         r"Unsupported [^\n]*|Type [^\n]* not (?:currently )?supported[^\n]*)")

_PREPARE = re.compile(r"Node (\S+) \(number (\d+)\) failed to prepare")


class MeasureError(MobcostError):
    """TFLM could not load or allocate the model."""


def _runtime() -> Any:
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        raise MissingExtraError(f"--measure needs TensorFlow Lite Micro: {INSTALL_HINT}") from None
    return runtime


def _captured(call: Any) -> tuple[Any, str]:
    """``call()``'s result (or exception) and what the C++ side wrote to file descriptor 2 meanwhile."""
    saved = os.dup(2)
    outcome: Any = None
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            outcome = call()
        except Exception as exc:  # the interpreter raises bare RuntimeErrors; reported below
            outcome = exc
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        log.seek(0)
        return outcome, log.read().decode(errors="replace")


def _reason(log: str, outcome: Any) -> str:
    """One line saying why TFLM refused the model: the operator it lacks, the kernel that failed to prepare
    (with the check that failed), or the interpreter's own message."""
    missing = _MISSING_OP.search(log)
    if missing:
        return missing.group(1).strip()
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        failed = _PREPARE.search(line)
        if failed:
            check = f": {lines[i - 1].rsplit('/', 1)[-1]}" if i else ""
            return f"{failed.group(1)} (operator {failed.group(2)}) failed to prepare{check}"
    return (str(outcome).splitlines() or ["no allocation report"])[0]


def measure_tflm(model: bytes, source: str, arena_bytes: int = 0) -> dict[str, int]:
    """TFLM's recorded ``head``, ``tail`` and ``total`` for ``model``, in bytes. ``arena_bytes`` (a planned
    arena) sizes the interpreter's arena with room to spare; ``source`` names the file in messages."""
    runtime = _runtime()
    size = ARENA_FLOOR + 4 * arena_bytes

    def allocate() -> None:
        runtime.Interpreter.from_bytes(model, arena_size=size).print_allocations()

    outcome, log = _captured(allocate)
    figures = {k: int(v) for k, v in _FIGURE.findall(log)}
    if isinstance(outcome, Exception) or len(figures) < 3:
        reason = _reason(log, outcome)
        raise MeasureError(f"TFLM cannot run this model: {reason}", file=source, where="--measure")
    return figures
