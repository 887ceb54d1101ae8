"""The torch side: the torch build of a graph, the cross-check against fvcore and FlopCounterMode, timing
and calibration. The only subpackage that imports torch or fvcore; its modules are imported only by the
commands that need them, after :func:`require_torch`.
"""

from __future__ import annotations

from ..errors import MissingExtraError

INSTALL_HINT = ("needs torch and fvcore: pip install -c constraints-cpu.txt 'mobcost[torch]' "
                "(the constraints file pins the CPU build of torch)")


def require_torch() -> None:
    """Raise a one-line :class:`MissingExtraError` when the ``torch`` extra is not installed."""
    try:
        import fvcore  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(f"this command {INSTALL_HINT} ({exc.name} is missing)") from None
