"""Models made elsewhere → specs. ONNX files are read with the ``onnx`` package alone, ``.tflite`` files with the
``tflite`` package (the flatbuffer classes of TFLite's schema): optional extras, imported only when a model is
imported, never by ``import mobcost``; no runtime is needed.

    >>> from mobcost.importers import onnx_to_spec
    >>> result = onnx_to_spec("resnet18.onnx")          # doctest: +SKIP
    >>> print(result.yaml)                              # doctest: +SKIP
"""

from __future__ import annotations

from .convert import load_onnx, load_tflite, onnx_to_spec, tflite_to_spec
from .model import ImportResult, ModelImportError, Unmapped

__all__ = ["ImportResult", "ModelImportError", "Unmapped", "load_onnx", "load_tflite", "onnx_to_spec", "tflite_to_spec"]
