"""`mobcost schema`: the JSON Schema of the spec format, for editors."""

from __future__ import annotations

import json

from .common import OutputOpt, app, emit, friendly


@app.command()
@friendly
def schema(output: OutputOpt = None) -> None:
    """Print the JSON Schema of the spec format (for editor completion and validation)."""
    from ..spec.schema import spec_schema

    emit(json.dumps(spec_schema(), indent=2), output)

