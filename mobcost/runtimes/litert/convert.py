"""LiteRT (TensorFlow Lite) as deployed: mobcost's own torch build of a graph, converted to ``.tflite`` by
``litert_torch`` (BatchNorm folded, ReLU fused into CONV_2D / DEPTHWISE_CONV_2D) and run by the LiteRT
interpreter with fixed threads and its default XNNPACK delegate, which takes the whole graph as one node.

The model takes and gives NHWC maps, TFLite's own layout (a camera frame as an app feeds it): the torch build
is wrapped in layout permutes the converter cancels against its own, so no TRANSPOSE is left at the input.
LiteRT 2.3 has no per-op profiler from Python, so a subject gives whole-model times only.

Conversions cost seconds each, so every ``.tflite`` is kept under ``$XDG_CACHE_HOME/mobcost/tflite/``, named
by a digest of what it depends on (the spec's layers, α, resolution, torch and litert-torch versions).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from ...errors import MissingExtraError, MobcostError
from ...graph import Graph

INSTALL_HINT = ("needs LiteRT and its torch converter: pip install -c constraints-cpu.txt 'mobcost[torch,litert]' "
                "(the constraints file pins the CPU build of torch)")
# Part of every conversion's digest: a change to how models are converted (the layout wrapper) makes new files.
CONVERT_PROTOCOL = 2  # 2: zero paddings set apart (pads_apart)


def require_litert() -> None:
    """Raise a one-line :class:`MissingExtraError` when LiteRT or litert-torch is not installed."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401

        metadata.version("litert-torch")  # importing it costs ~4 s: only asked for when converting
    except (ImportError, metadata.PackageNotFoundError):
        raise MissingExtraError(f"--runtime litert {INSTALL_HINT}") from None


def version() -> str:
    """ai-edge-litert's version, read from its metadata (importing LiteRT is not needed for it)."""
    return metadata.version("ai-edge-litert")


def converter_version() -> str:
    return metadata.version("litert-torch")


class _Sink:
    """A text stream that drops everything, never closed: a logging handler made while quiet may keep it."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def close(self) -> None:  # absl's handler closes its stream at exit
        pass

    def isatty(self) -> bool:
        return False


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the converter and the interpreter: litert-torch's progress lines, absl and TFLite logs written
    by C++ straight to file descriptors 1 and 2, Python warnings and log records (torch, torchao, JAX), and
    whatever is printed to ``sys.stdout``/``sys.stderr`` (replaced, as under pytest, they bypass the fds)."""
    import logging

    os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved, null = [os.dup(1), os.dup(2)], os.open(os.devnull, os.O_WRONLY)
    was_disabled = logging.root.manager.disable
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        logging.disable(logging.CRITICAL)
        sink: Any = _Sink()
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(was_disabled)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def cache_dir() -> Path:
    """Beside the measurement cache (``cache.cache_file``): ``$XDG_CACHE_HOME/mobcost/tflite``."""
    from ...measure.cache import cache_file

    return cache_file().parent / "tflite"


def model_digest(graph: Graph) -> str:
    """What a conversion depends on: the spec's layers and input, α, resolution, torch and litert-torch."""
    import torch

    spec = graph.spec
    key = (CONVERT_PROTOCOL, spec.channels, spec.input_hw, spec.layers, graph.alpha, graph.resolution,
           torch.__version__, converter_version())
    return hashlib.sha256(repr(key).encode()).hexdigest()[:24]


def cached(digest: str) -> bytes | None:
    try:
        return (cache_dir() / f"{digest}.tflite").read_bytes()
    except OSError:
        return None


def keep(digest: str, model: bytes) -> None:
    """Store a conversion, atomically (a reader never sees half a file); failing to only costs a warning."""
    from ...files import write_atomic

    path = cache_dir() / f"{digest}.tflite"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, model, where="tflite cache")
    except (OSError, MobcostError) as exc:
        print(f"mobcost: warning: {path}: conversion not cached ({getattr(exc, 'message', exc)})", file=sys.stderr)


def channel_last(module: Any, x: Any) -> tuple[Any, Any]:
    """The module wrapped to take an NHWC input and give NHWC maps, and its NHWC sample input. Outputs of
    other ranks, and 1×1 maps (NCHW and NHWC alike in memory), are left as they are: no TRANSPOSE for them."""
    import torch
    from torch import nn

    with torch.no_grad():
        out = module(x)
    permute = [t.ndim == 4 and t.shape[2] * t.shape[3] > 1 for t in (out if isinstance(out, tuple) else (out,))]

    class ChannelLast(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, nhwc: torch.Tensor) -> Any:
            y = self.inner(nhwc.permute(0, 3, 1, 2))
            ys = [t.permute(0, 2, 3, 1) if p else t for t, p in zip(y if isinstance(y, tuple) else (y,), permute,
                                                                         strict=True)]
            return tuple(ys) if isinstance(y, tuple) else ys[0]

    return ChannelLast().eval(), x.permute(0, 2, 3, 1).contiguous()


def pads_apart(module: Any) -> None:
    """Write ``module``'s explicit zero paddings (``build.ZeroPad``: a TensorFlow "same" window, or sides that
    differ) so that litert-torch converts them as Keras's ``padding='same'`` is converted, inside the window
    (CONV_2D's SAME, or a PAD in NHWC before a VALID one), never as TRANSPOSE, PAD in NCHW, TRANSPOSE. The
    function is the same: a symmetric padding before a convolution becomes the convolution's own; any other pad
    not on the network input reads ``x · 1``.

    Why: litert-torch's layout pass keeps a pad (``constant_pad_nd``) in NCHW between two TRANSPOSEs, which the
    converter folds away only when nothing else reads them. An NHWC convolution, pool or resize is lowered as
    TRANSPOSE to NCHW, the op, TRANSPOSE back, so when the pad's input is read by such a layer too (ResNet-8's
    shortcut beside its stride-2 'same' 3×3) or written by one (Faster R-CNN's crop), or several pads read one map
    (SSDLite's stride-2 depthwise and box and class heads on one expansion), the converter merges equal
    TRANSPOSEs and the pair stays: a full-size NCHW copy, the padded map twice, a copy back for the other reader
    (ResNet-8 int8: TFLM's arena 59,424 B instead of 49,152). A convolution's own padding is no
    ``constant_pad_nd``; a multiply by one, kept in NHWC by the layout pass and removed by the converter
    afterwards, gives the pad's TRANSPOSE an input of its own. On the network input the multiply would keep the
    TRANSPOSEs (SSD300's stem) and the pad folds without it: left alone. Not covered: two alike uneven pads of
    one map (no bundled network has them), which the converter would merge again."""
    from torch import nn

    from ...torchside.build import GraphNet, ZeroPad

    for net in (m for m in module.modules() if isinstance(m, GraphNet)):
        for layer, sources in zip(net.layers.values(), net.sources, strict=True):
            pad, conv = getattr(layer, "pad", None), getattr(layer, "conv", None)
            if not isinstance(pad, ZeroPad):
                continue
            left, right, top, bottom = pad.pads
            if isinstance(conv, nn.Conv2d) and (left, top) == (right, bottom) and conv.padding == (0, 0) \
                    and not pad.value:
                conv.padding = (top, left)
                layer.pad = nn.Identity()
            elif sources[0] >= 0:
                pad.own_input = True


def convert(module: Any, args: tuple[Any, ...]) -> bytes:
    """``litert_torch.convert`` of an eval-mode module (its zero paddings set apart first, :func:`pads_apart`),
    quietly; the ``.tflite`` bytes."""
    pads_apart(module)
    with quiet():
        import litert_torch

        return bytes(litert_torch.convert(module.eval(), args).model_content())


def export_graph(graph: Graph) -> bytes:
    """The ``.tflite`` of ``graph``'s torch build (batch 1, NHWC in and out), from the cache when there."""
    from ...torchside.build import graph_module, sample_input

    digest = model_digest(graph)
    model = cached(digest)
    if model is None:
        module, x = channel_last(graph_module(graph), sample_input(graph))
        model = convert(module, (x,))
        keep(digest, model)
    return model


def interpreter(model: bytes, threads: int) -> Any:
    """A LiteRT interpreter as deployed: ``threads`` threads, the default XNNPACK delegate, tensors allocated."""
    from ai_edge_litert.interpreter import Interpreter

    with quiet():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        it = Interpreter(model_content=model, num_threads=threads)
        it.allocate_tensors()
    return it


def nhwc_input(graph: Graph) -> Any:
    """The graph's fixed random image (``build.sample_input``), as NHWC numpy."""
    from ...torchside.build import sample_input

    return sample_input(graph).permute(0, 2, 3, 1).contiguous().numpy()


class LitertSubject:
    """One network under LiteRT for ``measure.timing.measure_all``: wall times of ``run`` (no per-layer times)."""

    def __init__(self, graph: Graph, threads: int) -> None:
        self.interpreter = interpreter(export_graph(graph), threads)
        self.x = nhwc_input(graph)
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        with quiet():  # the first invoke logs XNNPACK's flags
            self.run()

    def run(self) -> Any:
        """One inference as a user times it: write the input, invoke, read the output."""
        self.interpreter.set_tensor(self.input, self.x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output)

    def profile_round(self) -> None:
        """Nothing: LiteRT 2.3 has no per-op profiler from Python."""

    def layer_samples(self) -> None:
        return None
