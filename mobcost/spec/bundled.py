"""Bundled specs: found inside the installed wheel, or in the source tree's top-level ``specs/``; and
:func:`load_spec`, which takes a spec as the CLI does: a file path, or a bundled spec's name."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import SpecError
from .decode import load_spec_file
from .model import Spec

DEFAULT_SPEC = "mobilenet_v1"


def specs_dir() -> Path:
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "specs", package.parent / "specs"):  # wheel layout, then source checkout
        if candidate.is_dir():
            return candidate
    raise SpecError("bundled specs not found; the installation is incomplete", file=str(package / "specs"))


def load_spec(spec: str | Path) -> Spec:
    """Read, parse and decode a spec: a file path, or a bundled spec's name (``"mobilenet_v1"``, see
    :func:`bundled_names`). Every problem is a :class:`~mobcost.errors.SpecError` naming the place."""
    return load_spec_file(resolve_spec_path(os.fspath(spec)))


def load_bundled(name: str) -> Spec:
    """A bundled spec by its file name (``mobilenet_v1``)."""
    return load_spec_file(specs_dir() / f"{name}.yaml")


def bundled_names() -> list[str]:
    return sorted(p.stem for p in specs_dir().glob("*.yaml"))


def resolve_spec_path(spec: str | None) -> Path:
    """A path as given if it names a file (or looks like a path), else the bundled spec of that name."""
    if spec is None:
        return specs_dir() / f"{DEFAULT_SPEC}.yaml"
    path = Path(spec)
    if _present(path) is not False or path.suffix in (".yaml", ".yml") or "/" in spec or os.sep in spec:
        return path
    bundled = specs_dir() / f"{spec.replace('-', '_').lower()}.yaml"
    if _present(bundled) is True:
        return bundled
    known = ", ".join(bundled_names())
    raise SpecError(f"no such file, and no bundled spec of that name (bundled: {known})", file=spec)


def _present(path: Path) -> bool | None:
    """True if something is at ``path``; False if nothing is; None if the system cannot say (a name too long,
    a folder that cannot be searched): then the path is taken as given, and reading it says why it fails."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except (OSError, ValueError):
        return None
    return True
