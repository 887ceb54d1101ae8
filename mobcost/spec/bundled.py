"""Bundled specs: found inside the installed wheel, or in the source tree's top-level ``specs/``."""

from __future__ import annotations

from pathlib import Path

from ..errors import SpecError
from .decode import load_spec
from .model import Spec

DEFAULT_SPEC = "mobilenet_v1"


def specs_dir() -> Path:
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "specs", package.parent / "specs"):  # wheel layout, then source checkout
        if candidate.is_dir():
            return candidate
    raise SpecError("bundled specs not found; the installation is incomplete", file=str(package / "specs"))


def load_bundled(name: str) -> Spec:
    """A bundled spec by its file name (``mobilenet_v1``)."""
    return load_spec(specs_dir() / f"{name}.yaml")


def bundled_names() -> list[str]:
    return sorted(p.stem for p in specs_dir().glob("*.yaml"))


def resolve_spec_path(spec: str | None) -> Path:
    """A path as given if it names a file, else the bundled spec of that name."""
    if spec is None:
        return specs_dir() / f"{DEFAULT_SPEC}.yaml"
    path = Path(spec)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in spec:
        return path
    bundled = specs_dir() / f"{spec.replace('-', '_').lower()}.yaml"
    if bundled.exists():
        return bundled
    known = ", ".join(bundled_names())
    raise SpecError(f"no such file, and no bundled spec of that name (bundled: {known})", file=spec)
