"""The registry of closed forms: one module per layer family, each type registered by name.

``base`` holds the registry, its decorator and the :class:`LayerKind` every type derives from; the
family modules below register their types on import, in the order the registry lists them. Adding a layer
type touches this folder only.
"""

from __future__ import annotations

# isort: off
from . import convolutions, fully_connected, joins, pooling  # noqa: F401  (registers the types)
from . import activations, normalization, squeeze_excite, channels, resampling  # noqa: F401  (issue 12's)
from . import tokens, attention, patches, windows  # noqa: F401  (issue 21's: sequences, attention, unfold, windows)
from . import padding  # noqa: F401  (issue 21's: explicit padding)
from . import conv_attention  # noqa: F401  (issue 21's: SHViT's attention on a map, q, k, v one conv + BN)
from . import additive_attention  # noqa: F401  (issue 21's: SwiftFormer's efficient additive attention)
from . import linear_attention  # noqa: F401  (issue 21's: EfficientViT's ReLU linear attention)
from . import xca  # noqa: F401  (issue 21's: cross-covariance attention, Fourier position encoding)
from . import separable_attention  # noqa: F401  (issue 21's: MobileViTv2's separable self-attention)
from . import cascaded_attention  # noqa: F401  (issue 21: EfficientViT-M cascaded group attention)
# isort: on
from .base import (
    ACTIVATIONS,
    EITHER,
    MAPS,
    REGISTRY,
    SCALE,
    TOKENS,
    TORCH_ACTIVATIONS,
    Key,
    LayerKind,
    TorchPart,
    conv_output_size,
    make_divisible,
    register,
)

__all__ = ["ACTIVATIONS", "EITHER", "MAPS", "REGISTRY", "SCALE", "TOKENS", "TORCH_ACTIVATIONS", "Key", "LayerKind",
           "TorchPart", "conv_output_size", "make_divisible", "register"]
