"""Which bundled specs a fast run (`python -m pytest -m "not slow"`) checks; the full suite checks every one."""

from __future__ import annotations

# The specs a fast run (`-m "not slow"`) checks in the every-bundled-spec tests: one of each kind — the paper's
# network; inverted residuals, squeeze-excite and hard-swish; tokens and attention on unfolded patches; several
# outputs with detection heads.
FAST_SPECS = {"mobilenet_v1", "mobilenet_v3_small", "mobilevit_xs", "ssd300_mobilenet_v1"}


def every_bundled_spec() -> list:
    """Every bundled spec as a parameter; all but ``FAST_SPECS`` marked slow (the full suite runs every one)."""
    import pytest

    from mobcost.spec import bundled_names

    return [pytest.param(n) if n in FAST_SPECS else pytest.param(n, marks=pytest.mark.slow) for n in bundled_names()]
