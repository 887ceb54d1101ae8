"""An int8 ``.tflite`` of a graph, as a microcontroller deploys it (``mobcost export SPEC --int8``): the float
conversion of :mod:`.convert` (mobcost's torch build, BatchNorm folded, NHWC in and out; its statistics
settled first, :func:`settled_float`), quantized by
ai-edge-quantizer, the LiteRT family's quantizer, with its static full-integer recipe (int8 weights per output
channel, int8 activations, int32 biases), calibrated on a representative set of seeded random inputs: standard
normal NHWC images, as the torch build's own sample input is drawn."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from ...errors import MissingExtraError
from ...graph import Graph
from .convert import channel_last, convert, quiet

QUANTIZE_HINT = ("pip install -c constraints-cpu.txt 'mobcost[torch,litert]' (ai-edge-quantizer with LiteRT and "
                 "litert-torch; the constraints file pins the CPU build of torch)")
CALIBRATION_SAMPLES = 8
SEED = 0


def require_quantizer() -> None:
    """A one-line :class:`MissingExtraError` when ai-edge-quantizer is not installed."""
    try:
        metadata.version("ai-edge-quantizer")
    except metadata.PackageNotFoundError:
        raise MissingExtraError(f"--int8 needs ai-edge-quantizer: {QUANTIZE_HINT}") from None


def export_int8(graph: Graph, samples: int = CALIBRATION_SAMPLES, seed: int = SEED) -> bytes:
    """The full-integer ``.tflite`` of ``graph``: its float conversion, quantized on ``samples`` random inputs
    drawn from ``seed`` (the same graph and versions give the same bytes)."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    floating = settled_float(graph, seed)
    with quiet():
        from ai_edge_quantizer import quantizer, recipe

        signature = Interpreter(model_content=floating).get_signature_list()
        key = next(iter(signature))
        name = signature[key]["inputs"][0]
        shape = (1, graph.input.h, graph.input.w, graph.input.c)
        rng = np.random.default_rng(seed)
        data = [{name: rng.standard_normal(shape).astype(np.float32)} for _ in range(samples)]
        q = quantizer.Quantizer(bytearray(floating), recipe.static_wi8_ai8())
        result = q.quantize(q.calibrate({key: data}))
    return inline_buffers(bytes(result.quantized_model))


def settled_float(graph: Graph, seed: int, batches: int = 4) -> bytes:
    """The float ``.tflite`` of ``graph``'s torch build with its BatchNorm statistics as training leaves them
    (``batches`` seeded random batches of 8 in train mode): with fresh statistics (mean 0, variance 1) a deep
    stack's activations grow layer by layer until int8 scales overflow, and TFLM refuses the model (MobileNetV2
    at α = 0.25: ``no_integer_overflow_from_quantization`` in a late depthwise layer)."""

    from ...torchside.build import graph_module, sample_input

    module = graph_module(graph)
    x = sample_input(graph)
    settle(module, tuple(x.shape[1:]), seed, batches)
    wrapped, nhwc = channel_last(module, x)
    return convert(wrapped, (nhwc,))


def settle(module: Any, shape: tuple[int, ...], seed: int, batches: int = 4, size: int = 8) -> None:
    """Run ``batches`` seeded random batches of ``size`` through ``module`` in train mode (BatchNorm statistics as
    training leaves them), then put it in eval mode. Every layer's torch build must take a batch here."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    module.train()
    with torch.no_grad():
        for _ in range(batches):
            module(torch.randn((size, *shape), generator=generator))
    module.eval()


def inline_buffers(model: bytes) -> bytes:
    """``model`` with every buffer's data inside the flatbuffer. ai-edge-quantizer stores the constants after
    the flatbuffer (each buffer an offset and a size) once they pass 256 KiB; TensorFlow Lite Micro reads only
    inline data and would take such weights for computed tensors, planning them in its arena."""
    from ai_edge_litert.tools import flatbuffer_utils

    return bytes(flatbuffer_utils.convert_object_to_bytearray(
        flatbuffer_utils.read_model_from_bytearray(bytearray(model))))
