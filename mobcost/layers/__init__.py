"""The registry of closed forms: one module per layer family, each type registered by name.

``base`` holds the registry, its decorator and the :class:`LayerKind` every type derives from; the
family modules below register their types on import. Adding a layer type touches this folder only.
"""

from __future__ import annotations

from . import convolutions, fully_connected, joins, pooling  # noqa: F401  (registers the types)
from .base import ACTIVATIONS, REGISTRY, Key, LayerKind, TorchPart, conv_output_size, register

__all__ = ["ACTIVATIONS", "REGISTRY", "Key", "LayerKind", "TorchPart", "conv_output_size", "register"]
