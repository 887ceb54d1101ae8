"""Branching graphs: `from`, `add`, `concat`, relative offsets, and the errors at joins and references."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.graph import build
from mobcost.spec import parse_spec
from mobcost.spec.transforms import densify, with_classes

HEAD = "input: {channels: 8, size: 16}\nlayers:\n"


def test_residual_and_concat_costs() -> None:
    spec = parse_spec(HEAD + """
  - {type: pw, name: a, out: 8}
  - {type: dw, name: b}
  - {type: add, name: s, from: [a, b]}
  - {type: pw, name: c, out: 4, from: input}
  - {type: concat, name: j, from: [s, c]}
""")
    rows = {r.name: r for r in analyze(spec).rows}
    # add: no Mult-Adds; memory = two 8×16×16 inputs + one output = 3·2048 = 6144
    assert (rows["s"].mult_adds, rows["s"].memory_access) == (0, 6144)
    # concat: 8 + 4 channels; memory = 2048 + 1024 in + 3072 out = 6144
    assert rows["j"].node.output.c == 12 and rows["j"].memory_access == 6144
    # c reads the network input: 8·4·16·16 = 8192 Mult-Adds
    assert rows["c"].mult_adds == 8192


def test_relative_offsets_in_repeat() -> None:
    spec = parse_spec(HEAD + "  - {repeat: 3, layers: [{type: pw, out: 8}, {type: dw}, {type: add, from: [-1, -3]}]}\n")
    graph = build(spec)
    assert len(graph.nodes) == 9 and all(n.output.c == 8 for n in graph.nodes)


@pytest.mark.parametrize(("body", "needles"), [
    ("  - {type: pw, name: a, out: 8}\n  - {type: pw, name: b, out: 4}\n  - {type: add, from: [a, b]}\n",
     ["layers[2]", "add needs equal shapes"]),
    ("  - {type: pw, name: a, out: 8}\n  - {type: maxpool, name: b, kernel: 2}\n  - {type: concat, from: [a, b]}\n",
     ["layers[2]", "concat needs equal H×W"]),
    ("  - {type: pw, name: a, out: 8, from: b}\n  - {type: pw, name: b, out: 8}\n",
     ["layers[0].from", "comes later"]),
    ("  - {type: pw, name: a, out: 8, from: a}\n", ["layers[0].from", "own output"]),
    ("  - {type: pw, out: 8, from: ghost}\n", ["layers[0].from", "unknown layer 'ghost'"]),
    ("  - {type: add, from: [-1, -5]}\n", ["layers[0].from", "before the network input"]),
    ("  - {type: add, from: a}\n", ["layers[0].from", "two or more"]),
    ("  - {type: pw, out: 8, from: [input, input]}\n", ["layers[0].from", "takes one input"]),
    ("  - {type: pw, out: 8, from: 2}\n", ["layers[0].from", "negative offset"]),
])
def test_join_and_reference_errors(body: str, needles: list[str]) -> None:
    with pytest.raises(MobcostError) as info:
        build(parse_spec(HEAD + body, file="net.yaml"))
    message = str(info.value)
    assert message.startswith("net.yaml:")
    for needle in needles:
        assert needle in message


def test_densify_turns_mobilenet_into_conv_mobilenet() -> None:
    from mobcost.spec import load_spec

    from .conftest import SPECS

    dense = analyze(densify(load_spec(SPECS / "mobilenet_v1.yaml"))).totals
    bundled = analyze(load_spec(SPECS / "conv_mobilenet.yaml")).totals
    assert (dense.mult_adds, dense.params) == (bundled.mult_adds, bundled.params)


def test_with_classes() -> None:
    spec = parse_spec(HEAD + "  - {type: avgpool}\n  - {type: fc, out: 1000}\n")
    # 8·1001 weights + 1001 biases = 9009
    assert analyze(with_classes(spec, 1001)).totals.params == 9009


def test_defaults_apply_where_accepted() -> None:
    spec = parse_spec("input: {channels: 3, size: 8}\ndefaults: {bias: true, bn: false}\n"
                      "layers: [{type: conv, out: 4}, {type: maxpool, kernel: 2}, {type: fc, out: 2, bias: false}]")
    conv, _, fc = analyze(spec).rows
    # conv: 3·3·3·4 + 4 biases = 112 params, no BN; fc keeps its explicit bias: false → 4·4·4·2 = 128
    assert (conv.params, conv.bn_params, fc.params) == (112, 0, 128)
    for bad, where in [("{strides: 2}", "defaults.strides"), ("{out: 8}", "defaults.out"),
                       ("{bias: 3}", "defaults.bias"), ("[bias]", "defaults")]:
        with pytest.raises(MobcostError, match=where):
            parse_spec(f"input: {{channels: 3, size: 8}}\ndefaults: {bad}\nlayers: [{{type: pw, out: 4}}]")
