"""Measured beside predicted: TensorFlow Lite Micro's recorded arena for int8 .tflite files against what
`mobcost memory MODEL.tflite` predicts (its emulation of the GreedyMemoryPlanner on the file's tensors, its
persistent estimate, its weights count of the imported spec).

    python benchmarks/tflm_arena.py make OUT.tflite   # the chain of tests/data/tflm_chain_int8.tflite
    python benchmarks/tflm_arena.py build DIR [NAME]  # the reference set (below) into DIR; the ones under
                                                      # 300 KB also into tests/data, their figures into
                                                      # tests/data/tflm_measured.json
    python benchmarks/tflm_arena.py bundled DIR [NAME]  # `mobcost export --int8` of the bundled networks
    python benchmarks/tflm_arena.py record F.tflite   # measure files in tests/data, record their figures
    python benchmarks/tflm_arena.py MODEL.tflite ...  # the table for these files

The reference set is built by another toolchain than mobcost's export: plain torch modules written from the
papers' and benchmarks' definitions (tests/reference_models.py, tests/mlperf_tiny_models.py and MobileNetV1
below), converted by litert-torch and quantized by ai-edge-quantizer (static int8 weights and activations,
int32 biases, per-channel scales; 8 seeded standard-normal calibration inputs). `make`, `build` and `bundled`
need litert-torch and ai-edge-quantizer (run them in a venv with the litert extra); every command needs
``pip install tflite-micro``.

Measured: TFLM's Python interpreter (reference kernels, 64-bit host build) allocates the model with its
RecordingMicroAllocator and reports head, tail, total. The file's weights, biases and quantization parameters
are counted here with the flatbuffer schema module the tflite-micro package ships (another reader than
mobcost's), over the constant inputs of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and TRANSPOSE_CONV.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mobcost.measure.tflm import measure_tflm  # noqa: E402

MEASURED = ROOT / "tests" / "data" / "tflm_measured.json"
STORE_LIMIT = 350_000  # bytes: files under it go to tests/data (MobileNetV1 0.25/96 is 340 KB)
WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV")


def file_weights(data: bytes) -> dict[str, int]:
    """The weights, biases (input 2) and quantization parameters (a float32 scale and an int64 zero point each)
    of the weighted operators' constant inputs, as the file stores them; a constant read twice counted once."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    model = s.ModelT.InitFromPackedBuf(bytearray(data), 0)
    graph = model.subgraphs[0]
    codes = {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_")}
    out = {"weights": 0, "biases": 0, "quantization": 0}
    seen: set[int] = set()
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        if codes[max(code.builtinCode, code.deprecatedBuiltinCode)] not in WEIGHTED:
            continue
        for slot, t in enumerate(op.inputs):
            data_ = model.buffers[graph.tensors[t].buffer].data if t >= 0 else None
            if data_ is None or len(data_) == 0 or t in seen:
                continue
            seen.add(int(t))
            out["biases" if slot == 2 else "weights"] += len(data_)
            q = graph.tensors[t].quantization
            if q is not None:
                out["quantization"] += 4 * len(q.scale if q.scale is not None else []) + \
                    8 * len(q.zeroPoint if q.zeroPoint is not None else [])
    return out


def measure_file(path: Path) -> dict[str, int]:
    data = path.read_bytes()
    w = file_weights(data)
    return {**measure_tflm(data, str(path)), "file_weights": w["weights"], "file_biases": w["biases"],
            "file_quantization": w["quantization"], "file_bytes": len(data)}


def predict(path: Path) -> dict[str, int]:
    """What `mobcost memory PATH -f json` reports (planner tflm, int8)."""
    from mobcost.analysis.memory import plan_memory
    from mobcost.graph import build
    from mobcost.importers import load_tflite
    from mobcost.importers.tflite_file import read_tflite
    from mobcost.importers.tflite_memory import on_file

    m = on_file(plan_memory(build(load_tflite(path)), "tflm", "int8"), read_tflite(path))
    return {"arena_bytes": m.arena_bytes, "persistent_bytes": m.persistent_bytes or 0,
            "total_ram_bytes": m.total_ram_bytes or 0, "weights_bytes": m.weights_bytes,
            "activation_peak_bytes": m.activation_peak_bytes}


def row(name: str, p: dict[str, int], got: dict[str, int]) -> str:
    stored = got["file_weights"] + got["file_biases"] + got["file_quantization"]
    return (f"| {name} | {p['arena_bytes']:,} | {got['head']:,} | {p['persistent_bytes']:,} | {got['tail']:,} | "
            f"{p['total_ram_bytes']:,} | {got['total']:,} | {100 * (p['total_ram_bytes'] / got['total'] - 1):+.1f}% | "
            f"{p['weights_bytes']:,} | {stored:,} | {100 * (p['weights_bytes'] / stored - 1):+.1f}% |")


HEADER = ("| model | arena (pred.) | head (TFLM) | tail (pred.) | tail (TFLM) | total (pred.) | total (TFLM) | "
          "Δ total | weights (pred.) | weights (file) | Δ weights |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def table(paths: list[Path]) -> None:
    print(HEADER)
    for path in paths:
        print(row(path.stem, predict(path), measure_file(path)), flush=True)


# ------------------------------------------------------------------------------------------------------------------
# Building the reference set (litert-torch + ai-edge-quantizer)
# ------------------------------------------------------------------------------------------------------------------


def mobilenet_v1(alpha: float, size: int, classes: int) -> tuple[Any, tuple[int, ...]]:
    """MobileNetV1 (Howard et al. 2017, Table 1) as mlperf_tiny_models.vww writes it at α = 0.25: every width
    int(c·α), TensorFlow's 'same' padding, a bias and BatchNorm on every conv, average pool, a linear head."""
    from torch import nn

    from tests.mlperf_tiny_models import _half, conv

    def w(c: int) -> int:
        return int(c * alpha)

    hw, cin = (size, size), w(32)
    layers = [conv(3, cin, hw, 3, 2)]
    hw = _half(hw)
    for c, stride in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5, (1024, 2),
                      (1024, 1)]:
        layers.append(conv(cin, cin, hw, 3, stride, groups=cin))
        hw = _half(hw) if stride == 2 else hw
        layers.append(conv(cin, w(c), hw, 1))
        cin = w(c)
    layers += [nn.AvgPool2d(hw), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers), (1, 3, size, size)


def plain_cnn() -> tuple[Any, tuple[int, ...]]:
    """A plain CNN (no depthwise, no skip): conv 3×3 → 16, max pool, conv → 32, max pool, conv → 64, average
    pool, linear 10, at 32×32×3 (CIFAR-10's size)."""
    from torch import nn

    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(*block(3, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2), *block(32, 64),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)), (1, 3, 32, 32)


def reference_set() -> dict[str, Any]:
    """name → a factory of (module, NCHW input shape)."""
    from tests import mlperf_tiny_models as tiny
    from tests.reference_models import mobilenet_v2

    def v2(width: float, size: int, classes: int) -> Any:
        return lambda: (mobilenet_v2(width, classes), (1, 3, size, size))

    return {
        "mobilenet_v1_025_96_c2": lambda: mobilenet_v1(0.25, 96, 2),
        "mobilenet_v1_025_96_c10": lambda: mobilenet_v1(0.25, 96, 10),
        "mobilenet_v1_025_128_c100": lambda: mobilenet_v1(0.25, 128, 100),
        "mobilenet_v1_05_96_c2": lambda: mobilenet_v1(0.5, 96, 2),
        "mobilenet_v1_025_224_c1000": lambda: mobilenet_v1(0.25, 224, 1000),
        "mobilenet_v2_01_96_c2": v2(0.1, 96, 2),
        "mobilenet_v2_035_96_c10": v2(0.35, 96, 10),
        "mobilenet_v2_035_128_c1000": v2(0.35, 128, 1000),
        "ds_cnn_kws": tiny.kws,
        "resnet8_ic": tiny.ic,
        "plain_cnn": plain_cnn,
    }


def settle(module: Any, shape: tuple[int, ...]) -> None:
    """BatchNorm statistics as training leaves them (4 batches of seeded random images in train mode): with
    freshly initialised statistics a deep residual stack's activations grow block by block until int8 scales
    overflow (TFLM refuses MobileNetV2's last convolutions, ``no_integer_overflow_from_quantization``)."""
    import torch

    module.train()
    with torch.no_grad():
        for _ in range(4):
            module(torch.randn(8, *shape[1:]))
    module.eval()


def quantize(module: Any, shape: tuple[int, ...], path: Path, samples: int = 8) -> None:
    """``module`` (NCHW) as an NHWC int8 .tflite at ``path``: litert-torch, then ai-edge-quantizer's static
    int8 recipe calibrated on ``samples`` seeded standard-normal inputs."""
    import litert_torch
    import numpy as np
    import torch
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer, recipe

    class Nhwc(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module.eval()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x.permute(0, 3, 1, 2))

    n, c, h, w = shape
    with tempfile.TemporaryDirectory() as tmp:
        floating = os.path.join(tmp, "float.tflite")
        litert_torch.convert(Nhwc().eval(), (torch.randn(n, h, w, c),)).export(floating)
        signature = Interpreter(floating).get_signature_list()
        key = next(iter(signature))
        name = signature[key]["inputs"][0]
        rng = np.random.default_rng(0)
        data = [{name: rng.standard_normal((n, h, w, c)).astype(np.float32)} for _ in range(samples)]
        q = quantizer.Quantizer(floating, recipe.static_wi8_ai8())
        quantized = q.quantize(q.calibrate({key: data})).quantized_model
    # past 256 KiB of constants ai-edge-quantizer stores them after the flatbuffer (offset and size), which TFLM
    # does not read (it would plan the weights in its arena): written back inline, as TFLM loads models
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(quantized))
    path.write_bytes(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))


def build_set(out: Path, names: list[str]) -> None:
    """Build the reference set (or ``names`` of it), store the small ones in tests/data and record their
    measured figures; print the table (a row saying why, where mobcost or TFLM cannot read a model)."""
    import torch

    out.mkdir(parents=True, exist_ok=True)
    print(HEADER)
    for name, factory in reference_set().items():
        if names and name not in names:
            continue
        torch.manual_seed(0)
        module, shape = factory()
        settle(module, shape)
        path = out / f"tflm_{name}_int8.tflite"
        quantize(module, shape, path)
        try:
            got = measure_file(path)
            if path.stat().st_size < STORE_LIMIT:
                (ROOT / "tests" / "data" / path.name).write_bytes(path.read_bytes())
                keep(path.stem, got)
            print(row(name, predict(path), got), flush=True)
        except Exception as exc:  # a row per model, whatever stops it
            print(f"| {name} | {str(exc).splitlines()[0][:200]} |", flush=True)


def keep(stem: str, figures: dict[str, int]) -> None:
    """Record one model's measured figures in tests/data/tflm_measured.json."""
    recorded = json.loads(MEASURED.read_text()) if MEASURED.exists() else {}
    recorded[stem] = figures
    MEASURED.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


# mobcost's own `export --int8` of the bundled networks, at α = 0.25 and 96×96 (the MLPerf Tiny ones at their
# own size and width): (name, α, resolution or None for the spec's own)
BUNDLED_POINT = {"mlperf_tiny_ad": (1.0, None), "mlperf_tiny_ic": (1.0, None), "mlperf_tiny_kws": (1.0, None),
                 "mlperf_tiny_vww": (1.0, None), "table3_conv": (1.0, None), "table3_separable": (1.0, None)}


def bundled(out: Path, names: list[str]) -> None:
    """Export, measure and predict every bundled network (or ``names``): the arena planned on the file
    (`mobcost memory FILE.tflite`) and on the spec (`mobcost memory NAME -a A -R R`) beside TFLM's head."""
    from mobcost.analysis.memory import plan_memory
    from mobcost.graph import build
    from mobcost.runtimes.litert.quantize import export_int8
    from mobcost.spec.bundled import bundled_names, load_bundled

    out.mkdir(parents=True, exist_ok=True)
    print(HEADER.replace("| model |", "| model | arena (spec) |").replace("|---|", "|---|---:|", 1))
    for name in names or bundled_names():
        alpha, resolution = BUNDLED_POINT.get(name, (0.25, 96))
        graph = build(load_bundled(name), alpha, resolution=resolution)
        path = out / f"tflm_bundled_{name}_int8.tflite"
        try:
            path.write_bytes(export_int8(graph))
            got = measure_file(path)
            p = predict(path)
        except Exception as exc:  # a row per network, whatever stops it
            print(f"| {name} | {str(exc).splitlines()[0][:160]} |", flush=True)
            continue
        spec_arena = plan_memory(graph, "tflm", "int8").arena_bytes
        if path.stat().st_size < STORE_LIMIT:
            (ROOT / "tests" / "data" / path.name).write_bytes(path.read_bytes())
            keep(path.stem, got)
        print(row(name, p, got).replace(f"| {name} |", f"| {name} | {spec_arena:,} |", 1), flush=True)


def record(paths: list[Path]) -> None:
    """Measure files already in tests/data and record their figures in tests/data/tflm_measured.json."""
    for path in paths:
        keep(path.stem, measure_file(path))


def make(path: str) -> None:
    """MobileNetV1 0.25/96's first layers (conv 3→8 /2, dw 8, pw 8→16) and a 1×1 to 4 channels, int8."""
    import torch

    class Chain(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            conv = torch.nn.Conv2d
            self.layers = torch.nn.ModuleList([conv(3, 8, 3, 2, 1), conv(8, 8, 3, 1, 1, groups=8), conv(8, 16, 1),
                                               conv(16, 4, 1)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for layer in self.layers:
                x = torch.relu(layer(x))
            return x

    torch.manual_seed(0)
    quantize(Chain(), (1, 3, 96, 96), Path(path), samples=4)


def main(argv: list[str]) -> None:
    if argv[:1] == ["make"]:
        make(argv[1])
    elif argv[:1] == ["build"]:
        build_set(Path(argv[1]), argv[2:])
    elif argv[:1] == ["record"]:
        record([Path(a) for a in argv[1:]])
    elif argv[:1] == ["bundled"]:
        bundled(Path(argv[1]), argv[2:])
    else:
        table([Path(a) for a in argv])


if __name__ == "__main__":
    main(sys.argv[1:])

