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
    import importlib.util

    missing = [name for name in ("torch", "fvcore") if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(f"this command {INSTALL_HINT} ({' and '.join(missing)} "
                                f"{'is' if len(missing) == 1 else 'are'} missing)")
