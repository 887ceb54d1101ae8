"""`--runtime litert`: conversion of mobcost's torch build to .tflite, the conversion cache, the microbenchmarks'
batched conversion and rounds. Each conversion costs seconds: two in all (one network, one batch of branches)."""

from __future__ import annotations

import importlib.util
import math
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from mobcost.errors import MissingExtraError
from mobcost.graph import Graph, build
from mobcost.spec import parse_spec

INSTALLED = all(importlib.util.find_spec(m) is not None for m in ("ai_edge_litert", "litert_torch"))
needs_litert = pytest.mark.skipif(not INSTALLED, reason="needs ai-edge-litert and litert-torch")
pytestmark = pytest.mark.slow  # a runtime: LiteRT conversions and timed rounds

THREE = """input: {channels: 3, size: 32}
layers:
  - {type: conv, out: 8, stride: 2, bn: true, act: relu}
  - {type: dw, bn: true, act: relu}
  - {type: pw, out: 16, bn: true, act: relu}
"""


def three_layers() -> Graph:
    return build(parse_spec(THREE, file="<three>"))


def seeded_module(real: Any, graph: Graph) -> Any:
    """``build.graph_module`` with seeded weights and BatchNorm statistics that are not the identity's, so
    the folded BatchNorm's arithmetic shows in the output."""
    import torch

    torch.manual_seed(0)
    module = real(graph)
    with torch.no_grad():
        for bn in (m for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            for tensor, low in ((bn.running_mean, -0.5), (bn.running_var, 0.5), (bn.weight, 0.5), (bn.bias, -0.5)):
                tensor.copy_(low + torch.rand(tensor.shape))
    return module


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, Path]:
    """The 3-layer spec's .tflite (``seeded_module``), converted once into a private conversion cache."""
    pytest.importorskip("ai_edge_litert")
    from mobcost.runtimes.litert import convert as litert
    from mobcost.torchside import build

    cache = tmp_path_factory.mktemp("xdg")
    real = build.graph_module
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(cache))
        mp.setattr(build, "graph_module", lambda graph: seeded_module(real, graph))
        return litert.export_graph(three_layers()), cache


def op_names(model: bytes) -> list[str]:
    """Each op of the model's main graph: its builtin name, and its fused activation for convolutions."""
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    acts = {v: k for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith("_")}
    m = schema.Model.GetRootAs(model, 0)
    graph, out = m.Subgraphs(0), []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = m.OperatorCodes(op.OpcodeIndex())
        name = names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            options = schema.Conv2DOptions() if name == "CONV_2D" else schema.DepthwiseConv2DOptions()
            table = op.BuiltinOptions()
            options.Init(table.Bytes, table.Pos)
            name += f"+{acts[options.FusedActivationFunction()]}"
        out.append(name)
    return out


@needs_litert
def test_tflite_gives_the_torch_builds_output(exported: tuple[bytes, Path]) -> None:
    import numpy as np
    import torch

    from mobcost.runtimes.litert import convert as litert
    from mobcost.torchside.build import graph_module, sample_input

    graph = three_layers()
    it = litert.interpreter(exported[0], 1)
    it.set_tensor(it.get_input_details()[0]["index"], litert.nhwc_input(graph))
    it.invoke()
    with torch.no_grad():
        want = seeded_module(graph_module, graph)(sample_input(graph)).permute(0, 2, 3, 1).numpy()
    got = it.get_tensor(it.get_output_details()[0]["index"])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@needs_litert
def test_batchnorm_is_folded_and_relu_fused(exported: tuple[bytes, Path]) -> None:
    ops = op_names(exported[0])
    # PAD: torch pads a stride-2 3×3 convolution by 1 on every side, TF's SAME would not; no TRANSPOSE (NHWC
    # in and out), no BatchNorm arithmetic (MUL, ADD), no separate RELU.
    assert ops == ["PAD", "CONV_2D+RELU", "DEPTHWISE_CONV_2D+RELU", "CONV_2D+RELU"]


@needs_litert
def test_the_conversion_cache_is_reused(exported: tuple[bytes, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from mobcost.runtimes.litert import convert as litert

    model, cache = exported
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    assert len(list((cache / "mobcost" / "tflite").glob("*.tflite"))) == 1

    def no_conversion(*_: Any) -> bytes:
        raise AssertionError("converted again")

    monkeypatch.setattr(litert, "convert", no_conversion)
    assert litert.export_graph(three_layers()) == model
    subject = litert.LitertSubject(three_layers(), 1)
    assert subject.run().shape == (1, 16, 16, 16)
    subject.profile_round()
    assert subject.layer_samples() is None


@needs_litert
def test_microbenchmark_rounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mobcost.measure.micro import micro_graph
    from mobcost.runtimes.litert import calibrate as lc
    from mobcost.torchside.build import graph_module, sample_input

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    graphs = [(("pw", (16, 16, 4)), micro_graph("pw", 16, 16, 4, fused=True)),
              (("dw/s2", (16, 16, 14)), micro_graph("dw/s2", 16, 16, 14, fused=True))]
    jobs = [(job, graph_module(g), sample_input(g), f"d{i}") for i, (job, g) in enumerate(graphs)] + lc.invoke_jobs()
    models = lc.micro_models(jobs)  # one conversion of 4 branches, cut in 4
    assert [op_names(m) for m in models[:2]] == [["CONV_2D+RELU"], ["PAD", "DEPTHWISE_CONV_2D+RELU"]]
    assert op_names(models[2]) == ["ADD"] and op_names(models[3]) == ["ADD"] * lc.CHAIN
    samples = lc.run_litert_rounds(lc.make_benches(jobs, 1), 3, random.Random(0), lambda _: None)
    assert set(samples) == {job for job, *_ in jobs} - {lc.BASE}
    assert all(len(s) == 3 and all(math.isfinite(x) and x > 0 for x in s) for s in samples.values())


def test_missing_litert_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from mobcost.runtimes.litert import convert as litert

    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(MissingExtraError) as info:
        litert.require_litert()
    message = str(info.value)
    assert "\n" not in message and "pip install" in message and "mobcost[torch,litert]" in message


# A ResNet block's stride-2 TF 'same' 3×3 convolution (padded 0 before, 1 after: an explicit ZeroPad in the torch
# build) whose input the 1×1 shortcut reads too, as in MLPerf Tiny's ResNet-8.
SHORTCUT = """input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 8, bn: true, act: relu, name: stem}
  - {type: conv, out: 16, stride: 2, padding: same, bn: true, act: relu, name: conv}
  - {type: pw, out: 16, stride: 2, from: stem, act: none, name: shortcut}
  - {type: add, from: [conv, shortcut], name: add}
"""

HEADS = """input: {channels: 3, size: 16}
layers:
  - {type: conv, out: 8, act: relu, name: map}
  - {type: dw, stride: 2, padding: same, act: relu, name: down}
  - {type: dw, padding: same, act: relu, from: map, name: box}
  - {type: dw, padding: same, act: relu, from: map, name: class}
outputs: [down, box, class]
"""


def test_each_zero_padding_is_written_for_the_converter() -> None:
    pytest.importorskip("torch")
    from torch import nn

    from mobcost.runtimes.litert.convert import pads_apart
    from mobcost.spec.bundled import load_bundled
    from mobcost.torchside.build import ZeroPad, graph_module

    def written(name: str, alpha: float = 1.0, resolution: int | None = None) -> dict[str, str]:
        graph = build(load_bundled(name), alpha, resolution=resolution)
        module = graph_module(graph)
        pads = [i for i, layer in enumerate(module.layers.values()) if isinstance(getattr(layer, "pad", None), ZeroPad)]
        pads_apart(module)
        layers = list(module.layers.values())
        return {graph.nodes[i].name: "conv" if isinstance(layers[i].pad, nn.Identity) else
                "x·1" if layers[i].pad.own_input else "as is" for i in pads}

    # ResNet-8: each stride-2 'same' 3×3 pads 0 before and 1 after (32 → 16: (16 − 1)·2 + 3 − 32 = 1), on a block's
    # output the shortcut reads too
    assert written("mlperf_tiny_ic") == {"stack2.conv1": "x·1", "stack3.conv1": "x·1"}
    # DS-CNN: its one 'same' convolution reads the network input
    assert written("mlperf_tiny_kws") == {"conv1": "as is"}
    # SSD300-MobileNetV1 at 96 px: stride-2 'same' 3×3s pad (0, 1) on even maps (96, 48, 24, 12, 6 and extra3's 2),
    # (1, 1) on extra2's 3×3 ((2 − 1)·2 + 3 − 3 = 2) and on extra4's and extra5's 1×1 ((1 − 1)·2 + 3 − 1 = 2)
    assert written("ssd300_mobilenet_v1", 0.25, 96) == {
        "Conv2d_0": "as is", "Conv2d_2_depthwise": "x·1", "Conv2d_4_depthwise": "x·1", "Conv2d_6_depthwise": "x·1",
        "Conv2d_12_depthwise": "x·1", "extra2": "conv", "extra3": "x·1", "extra4": "conv", "extra5": "conv"}


@needs_litert
def test_a_shared_pad_input_converts_as_keras_same(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The padding goes into the convolution (CONV_2D SAME, no PAD, no TRANSPOSE) and the model computes the
    torch build's function; without ``pads_apart`` litert-torch leaves TRANSPOSE, PAD (NCHW), TRANSPOSE, and a
    TRANSPOSE back for the shortcut, and a shared TRANSPOSE-PAD-TRANSPOSE for the heads (if a litert-torch release
    stops doing that, this says so)."""
    import numpy as np
    import torch

    from mobcost.runtimes.litert import convert as litert
    from mobcost.torchside import build as torch_build

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    real = torch_build.graph_module
    monkeypatch.setattr(torch_build, "graph_module", lambda g: seeded_module(real, g))
    graph = build(parse_spec(SHORTCUT, file="<shortcut>"))
    model = litert.export_graph(graph)
    assert op_names(model) == ["CONV_2D+RELU", "CONV_2D+RELU", "CONV_2D+NONE", "ADD"]
    it = litert.interpreter(model, 1)
    it.set_tensor(it.get_input_details()[0]["index"], litert.nhwc_input(graph))
    it.invoke()
    with torch.no_grad():
        want = seeded_module(real, graph)(torch_build.sample_input(graph)).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(it.get_tensor(it.get_output_details()[0]["index"]), want, rtol=1e-4, atol=1e-4)

    # a map padded (0, 1) by a stride-2 'same' 3×3 and 1 on every side by two heads ('same' 3×3 at stride 1), as
    # SSDLite's layer 15 expansion and its box and class heads
    heads = build(parse_spec(HEADS, file="<heads>"))
    assert op_names(litert.export_graph(heads)) == ["CONV_2D+RELU", *["DEPTHWISE_CONV_2D+RELU"] * 3]

    monkeypatch.setattr(litert, "pads_apart", lambda module: None)
    module, x = litert.channel_last(real(graph), torch_build.sample_input(graph))
    assert op_names(litert.convert(module, (x,))) == ["CONV_2D+RELU", "TRANSPOSE", "PAD", "TRANSPOSE",
                                                      "CONV_2D+RELU", "TRANSPOSE", "CONV_2D+NONE", "ADD"]
    module, x = litert.channel_last(real(heads), torch_build.sample_input(heads))
    assert {"TRANSPOSE", "PAD"} <= set(op_names(litert.convert(module, (x,))))
