"""Issue 12's vocabulary: activations, act, bn, mul, se, split, shuffle, flatten, dropout, and the width rules
(`width: {divisor}`, `expand`, `group_width`) — each against hand arithmetic written beside the expected value,
a located error for bad input, the torch build's two counters, and the vectorised sweep."""

from __future__ import annotations

from fractions import Fraction

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.explore import sweep
from mobcost.explore.hardware import load_hardware, predict_layers
from mobcost.graph import build
from mobcost.layers import ACTIVATIONS, REGISTRY, make_divisible
from mobcost.spec import parse_spec

from .test_geometry import sweep_points


def spec_of(body: str, channels: int = 8, size: int = 16, head: str = "") -> object:
    return parse_spec(f"input: {{channels: {channels}, size: {size}}}\n{head}layers:\n{body}")


def rows(body: str, channels: int = 8, size: int = 16, head: str = "", alpha: float = 1.0) -> list:
    return list(analyze(spec_of(body, channels, size, head), alpha).rows)


def costs(body: str, channels: int = 8, size: int = 16) -> list[tuple[int, int, int, int]]:
    return [(r.mult_adds, r.params, r.bn_params, r.memory_access) for r in rows(body, channels, size)]


def widths(body: str, channels: int = 3, head: str = "", alpha: float = 1.0) -> list[int]:
    return [r.node.output.c for r in rows(body, channels, 16, head, alpha)]


def error(body: str, channels: int = 8, size: int = 16, head: str = "", alpha: float = 1.0) -> str:
    with pytest.raises(MobcostError) as info:
        build(spec_of(body, channels, size, head), alpha)
    return str(info.value)


# --- activations ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_every_activation_costs_nothing(act: str) -> None:
    # pw 8 → 16 on 16×16: 8·16·256 = 32,768 Mult-Adds, 128 weights, 32 BN params, memory 2,048 + 4,096 + 128
    # = 6,272 — whatever follows it
    assert costs(f"  - {{type: pw, out: 16, act: {act}}}") == [(32_768, 128, 32, 6_272)]


def test_activation_names() -> None:
    assert set(ACTIVATIONS) == {"relu", "relu6", "hswish", "hsigmoid", "sigmoid", "silu", "swish", "gelu", "tanh",
                                "leaky_relu", "none"}
    message = error("  - {type: pw, out: 8}\n  - {type: pw, out: 8}\n  - {type: pw, out: 8}\n"
                    "  - {type: conv, out: 8, act: mish}\n")
    assert "layers[3].act: must be one of relu, relu6, hswish" in message and "'mish'" in message


def test_standalone_act() -> None:
    # hard-swish on 8×16×16 = 2,048 elements: no Mult-Adds, no params; memory 2,048 in + 2,048 out = 4,096
    assert costs("  - {type: act, act: hswish}") == [(0, 0, 0, 4_096)]
    assert "layers[0]: missing 'act'" in error("  - {type: act}")
    assert "layers[0].act: must be one of" in error("  - {type: act, act: none}")  # a no-op layer is a mistake


def test_standalone_bn() -> None:
    # BN on 24×8×8 (1,536 elements): γ, β = 2·24 = 48 BN params, no Mult-Adds (folded); memory 1,536 · 2 = 3,072
    assert costs("  - {type: bn, act: relu6}", 24, 8) == [(0, 0, 48, 3_072)]
    assert costs("  - {type: bn}", 24, 8) == [(0, 0, 48, 3_072)]
    assert "layers[0].bn: unknown key" in error("  - {type: bn, bn: false}")


# --- mul and squeeze-and-excitation ---------------------------------------------------------------------

SE_BY_HAND = """  - {type: avgpool, name: pool, from: input}
  - {type: pw, out: 24, bias: true, bn: false, act: relu}
  - {type: pw, out: 96, bias: true, bn: false, act: hsigmoid}
  - {type: mul, from: [input, -1]}
"""


def test_mul_gate_and_equal_shapes() -> None:
    # x 96×14×14 (18,816) · gate 96×1×1: no Mult-Adds (the paper counts conv and FC multiply-adds only);
    # memory x 18,816 + gate 96 + out 18,816 = 37,728
    assert costs(SE_BY_HAND, 96, 14)[-1] == (0, 0, 0, 37_728)
    # equal shapes: 8×16×16 · 8×16×16: memory 3 · 2,048 = 6,144
    assert costs("  - {type: pw, out: 8, name: a}\n  - {type: mul, from: [a, input]}")[-1] == (0, 0, 0, 6_144)


def test_mul_bad_inputs() -> None:
    assert "layers[1].from: mul needs 'from' with exactly two layers" in error(
        "  - {type: pw, out: 8}\n  - {type: mul, from: [-1, input, -1]}")
    assert "layers[1].from" in error("  - {type: pw, out: 8}\n  - {type: mul}")
    # a 4×4 gate on a 16×16 map, and a gate of other channels: located at the layer
    message = error("  - {type: avgpool, kernel: 4}\n  - {type: mul, from: [input, -1]}")
    assert "layers[1]" in message and "mul needs a gate" in message
    other = "  - {type: pw, out: 4}\n  - {type: avgpool}\n  - {type: mul, from: [input, -1]}"  # 4 channels on 8
    assert "mul needs a gate" in error(other)


def test_se_hand_arithmetic() -> None:
    # SE on 96 ch, reduction 4, divisor 8: s = make_divisible(24, 8) = 24; 2·96·24 = 4,608 Mult-Adds;
    # params 4,608 weights + 24 + 96 biases = 4,728; memory 14·14·96 = 18,816 in + 18,816 out + 4,608 = 42,240
    assert costs("  - {type: se, reduction: 4, divisor: 8, gate: hsigmoid}", 96, 14) == [(4_608, 4_728, 0, 42_240)]
    # written out (pool, two biased 1×1 convs, mul) it costs the same Mult-Adds and params
    by_hand = costs(SE_BY_HAND, 96, 14)
    assert sum(r[0] for r in by_hand) == 4_608 and sum(r[1] for r in by_hand) == 4_728


@pytest.mark.parametrize(("channels", "reduction", "divisor", "squeeze"), [
    (72, 4, 8, 24),  # MobileNetV3: 72 // 4 = 18 → int(18 + 4)//8·8 = 16 < 0.9·18 = 16.2 → 16 + 8 = 24
    (120, 4, 8, 32),  # 120 // 4 = 30 → int(34)//8·8 = 32 ≥ 27 → 32
    (144, 24, 1, 6),  # EfficientNet expand-6 block on a 24-wide input: 144 // 24 = 6 (= 24 // 4)
    (32, 4, 1, 8),  # EfficientNet's expand-1 block: 32 // 4 = 8
    (8, 16, 1, 1),  # 8 // 16 = 0 → max(1, 0) = 1
    (16, 8, 8, 8),  # 16 // 8 = 2 → make_divisible(2, 8) = max(8, …) = 8
])
def test_se_squeeze_width(channels: int, reduction: int, divisor: int, squeeze: int) -> None:
    (row,) = rows(f"  - {{type: se, reduction: {reduction}, divisor: {divisor}}}", channels, 4)
    # Mult-Adds 2·C·s; params 2·C·s + s + C
    assert (row.mult_adds, row.params) == (2 * channels * squeeze, 2 * channels * squeeze + squeeze + channels)
    assert row.filter_shape == f"SE {channels}→{squeeze}→{channels}"


def test_se_efficientnet_example() -> None:
    # expand-6 block: 24 → 144, SE reduction 24: s = 6; Mult-Adds 2·144·6 = 1,728; params 1,728 + 6 + 144 = 1,878
    assert costs("  - {type: se, reduction: 24, act: silu}", 144, 56)[0][:2] == (1_728, 1_878)


def test_se_bad_input() -> None:
    assert "layers[0].reduction: must be positive" in error("  - {type: se, reduction: 0}")
    assert "layers[0].gate: must be one of" in error("  - {type: se, gate: none}")
    assert "layers[0].squeeze: unknown key" in error("  - {type: se, squeeze: 8}")


# --- channel split, shuffle, flatten, dropout -----------------------------------------------------------


def test_split_and_shuffle() -> None:
    # ShuffleNetV2 stage 2: 116×28×28 (90,944); split into 2 → 58×28×28 (45,472): memory 90,944 + 45,472 = 136,416
    body = "  - {type: split, parts: 2, index: 1}\n  - {type: shuffle, groups: 2}\n"
    assert costs(body, 116, 28) == [(0, 0, 0, 136_416), (0, 0, 0, 2 * 45_472)]
    assert [r.node.output.c for r in rows(body, 116, 28)] == [58, 58]


def test_split_and_shuffle_bad_input() -> None:
    assert "layers[0].index: must be less than parts (2), got 2" in error("  - {type: split, parts: 2, index: 2}")
    assert "layers[0]: missing 'index'" in error("  - {type: split, parts: 2}")
    message = error("  - {type: split, parts: 3, index: 0}")  # 8 channels
    assert "layers[0]" in message and "divisible by 3, got 8" in message
    message = error("  - {type: pw, out: 6}\n  - {type: shuffle, groups: 4}")
    assert "layers[1]" in message and "divisible by 4, got 6" in message
    assert "layers[0]: missing 'groups'" in error("  - {type: shuffle}")


def test_flatten_and_dropout() -> None:
    # 512×7×7 = 25,088 → 25,088×1×1: memory 2·25,088 = 50,176; dropout likewise; the FC on it costs what an FC on
    # the map costs: 25,088·1000 = 25,088,000 Mult-Adds, + 1,000 biases
    body = "  - {type: flatten}\n  - {type: dropout}\n  - {type: fc, out: 1000}\n"
    got = costs(body, 512, 7)
    assert got[:2] == [(0, 0, 0, 50_176), (0, 0, 0, 50_176)]
    assert got[2][:2] == costs("  - {type: fc, out: 1000}", 512, 7)[0][:2] == (25_088_000, 25_089_000)
    flat = rows(body, 512, 7)[0].node.output
    assert (flat.c, flat.h, flat.w, flat.depth, flat.area) == (25_088, 1, 1, 512, 49)


def test_flattened_map_is_refused_where_it_cannot_be_swept() -> None:
    message = error("  - {type: flatten}\n  - {type: pw, out: 4}")
    assert "layers[1]" in message and "flattened map" in message
    # after a global pool the flattened map is 1×1: anything may follow
    assert widths("  - {type: avgpool}\n  - {type: flatten}\n  - {type: pw, out: 4}", 8) == [8, 8, 4]


# --- width rules ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "divisor", "expected"), [
    (Fraction(30), 8, 32),  # α=0.75 on 40: int(30 + 4)//8·8 = 32 ≥ 0.9·30 = 27 → 32
    (Fraction(12), 8, 16),  # α=0.5 on 24: int(16)//8·8 = 16 → 16
    (Fraction(28, 5), 8, 8),  # α=0.35 on 16 = 5.6: int(9.6)//8·8 = 8 → max(8, 8) = 8
    (Fraction(18), 8, 24),  # int(22)//8·8 = 16 < 0.9·18 = 16.2 → 24
    (Fraction(116), 8, 120),  # α=0.58 on 200, exactly: int(120)//8·8 = 120 (floats give 115.99… → 112)
    (Fraction(7, 2), 1, 4),  # divisor 1 rounds halves up: int(3.5 + 0.5) = 4
])
def test_make_divisible(value: Fraction, divisor: int, expected: int) -> None:
    assert make_divisible(value, divisor) == expected


def test_width_divisor_under_alpha() -> None:
    body = "  - {type: conv, out: 40}\n  - {type: pw, out: 24}\n  - {type: pw, out: 16}\n" \
           "  - {type: fc, out: 1000, scale: false}\n"
    head = "width: {divisor: 8}\n"
    # α=0.75: 30 → 32; 18 → 16 < 16.2 → 24; 12 → 16; the classifier keeps 1000
    assert widths(body, head=head, alpha=0.75) == [32, 24, 16, 1000]
    # α=1: 40, 24, 16 are multiples of 8 already
    assert widths(body, head=head) == [40, 24, 16, 1000]
    # without `width`: max(1, ⌊α·out⌋) = 30, 18, 12, as before
    assert widths(body, alpha=0.75) == [30, 18, 12, 1000]


def test_width_above_one_and_scale_up() -> None:
    body = "  - {type: conv, out: 32}\n  - {type: pw, out: 1280, scale: up}\n  - {type: fc, out: 1000, scale: false}\n"
    head = "width: {divisor: 8}\n"
    # α=0.5: 16; `up` keeps 1280 below α = 1 (MobileNetV2's last conv); the classifier keeps 1000
    assert widths(body, head=head, alpha=0.5) == [16, 1280, 1000]
    assert widths(body, head=head) == [32, 1280, 1000]
    # α=1.4: 44.8 → 48 (nearest multiple of 8, halves up: ⌊44.8 + 4⌋ = 48); 1792 is a multiple of 8
    assert widths(body, head=head, alpha=1.4) == [48, 1792, 1000]
    # α=1.3: 41.6 → 40 (not below 0.9·41.6 = 37.4); 1664 = 208·8
    assert widths(body, head=head, alpha=1.3) == [40, 1664, 1000]
    # without a divisor: ⌊1.5·32⌋ = 48, ⌊1.5·1280⌋ = 1920
    assert widths(body, alpha=1.5) == [48, 1920, 1000]
    # `up` from `defaults:` too, and on dwsep's pw
    assert widths("  - {type: dwsep, out: 10}", head="defaults: {scale: up}\n", alpha=0.5) == [3, 10]
    assert widths("  - {type: dwsep, out: 10}", head="defaults: {scale: up}\n", alpha=2) == [3, 20]
    assert "layers[0].scale: must be true, false or up" in error("  - {type: pw, out: 8, scale: down}")


def test_expand_follows_the_input() -> None:
    body = "  - {type: pw, out: 24}\n  - {type: pw, expand: 6}\n  - {type: conv, kernel: 1, expand: 1}\n"
    # α=1: 24 → 6·24 = 144 → 144
    assert widths(body) == [24, 144, 144]
    # α=0.5 without a divisor: ⌊12⌋ = 12 → 72; with divisor 8: make_divisible(12) = 16 → 96
    assert widths(body, alpha=0.5) == [12, 72, 72]
    assert widths(body, head="width: {divisor: 8}\n", alpha=0.5) == [16, 96, 96]
    # on the 3-channel input with divisor 8: 6·3 = 18 → make_divisible(18, 8) = 24
    assert widths("  - {type: pw, expand: 6}", head="width: {divisor: 8}\n") == [24]


def test_group_width_keeps_channels_per_group() -> None:
    # conv 3×3, 64 → 64 on 8×8: group_width 4 → 16 groups: 9·4·64·64 = 147,456 Mult-Adds, at α=1
    body = "  - {type: pw, out: 64}\n  - {type: conv, out: 64, %s}\n"
    assert rows(body % "group_width: 4", size=8)[1].mult_adds == 147_456
    # α=0.5: 32 → 32. group_width 4 keeps 4 per group (8 groups): 9·4·32·64 = 73,728;
    # groups 16 keeps the count (2 per group): 9·2·32·64 = 36,864
    assert rows(body % "group_width: 4", size=8, alpha=0.5)[1].mult_adds == 73_728
    assert rows(body % "groups: 16", size=8, alpha=0.5)[1].mult_adds == 36_864
    assert rows(body % "group_width: 4", size=8, alpha=0.5)[1].node.groups == 8


def test_width_rules_bad_input() -> None:
    assert "layers[0].expand: give 'out' or 'expand', not both" in error("  - {type: pw, out: 8, expand: 2}")
    assert "layers[0]: missing 'out' (or 'expand')" in error("  - {type: conv, kernel: 3}")
    assert "give 'groups' or 'group_width', not both" in error("  - {type: conv, out: 8, groups: 2, group_width: 4}")
    message = error("  - {type: conv, out: 8, group_width: 3}")  # 8 input channels
    assert "layers[0]" in message and "group_width=3 must divide the input channels (8)" in message
    assert "width.divisor: must be positive" in error("  - {type: pw, out: 8}", head="width: {divisor: 0}\n")
    assert "width.round: unknown key" in error("  - {type: pw, out: 8}", head="width: {divisor: 8, round: 1}\n")
    assert "layers[0].expand: unknown key" in error("  - {type: dw, expand: 2}")
    assert "defaults.expand: unknown key" in error("  - {type: pw, out: 8}", head="defaults: {expand: 6}\n")


# --- every type: torch build, counters, sweep -----------------------------------------------------------

EVERYTHING = """input: {channels: 3, size: 32}
width: {divisor: 8}
layers:
  - {type: conv, out: 16, stride: 2, act: hswish, name: stem}
  - {type: pw, expand: 6, act: silu}
  - {type: dw, kernel: 5, act: gelu}
  - {type: se, reduction: 4, divisor: 8, gate: hsigmoid}
  - {type: pw, out: 16, act: none}
  - {type: add, from: [-1, stem], act: leaky_relu}
  - {type: bn, act: swish}
  - {type: act, act: tanh}
  - {type: conv, out: 32, group_width: 8, act: sigmoid, name: g}
  - {type: split, parts: 2, index: 0, name: left}
  - {type: split, parts: 2, index: 1, from: g}
  - {type: pw, out: 16, act: relu6}
  - {type: concat, from: [left, -1]}
  - {type: shuffle, groups: 2, name: sh}
  - {type: act, act: sigmoid}
  - {type: mul, from: [sh, -1], name: swished}
  - {type: avgpool}
  - {type: act, act: hsigmoid}
  - {type: mul, from: [swished, -1]}
  - {type: dropout}
  - {type: avgpool}
  - {type: flatten}
  - {type: fc, out: 10, scale: false}
"""


def test_every_new_type_is_exercised() -> None:
    assert {layer.type for layer in parse_spec(EVERYTHING).layers} >= {
        "act", "bn", "mul", "se", "split", "shuffle", "flatten", "dropout"}


@pytest.mark.slow  # torch cross-check: fvcore on a torch network
@pytest.mark.parametrize("alpha", [1.0, 0.75, 0.5])
def test_torch_counters_equal_closed_form(alpha: float) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(parse_spec(EVERYTHING), alpha))
    for layer in report.layers:
        assert layer.match, layer
    assert report.all_match
    se = next(layer for layer in report.layers if layer.type == "se")
    assert se.mult_adds > 0 and se.fvcore_params == se.params  # the SE module's two biased 1×1 convs


@pytest.mark.parametrize("act", [a for a in ACTIVATIONS if a != "none"])
def test_torch_builds_each_activation(act: str) -> None:
    torch = pytest.importorskip("torch")
    from mobcost.torchside.build import graph_module, sample_input
    from mobcost.torchside.crosscheck import check_graph

    names = {"relu": "ReLU", "relu6": "ReLU6", "hswish": "Hardswish", "hsigmoid": "Hardsigmoid",
             "sigmoid": "Sigmoid", "silu": "SiLU", "swish": "SiLU", "gelu": "GELU", "tanh": "Tanh",
             "leaky_relu": "LeakyReLU"}
    graph = build(spec_of(f"  - {{type: pw, out: 8, act: {act}}}\n  - {{type: act, act: {act}}}\n"
                          f"  - {{type: se, act: {act}, gate: {act}}}\n"))
    module = graph_module(graph)
    found = [type(m).__name__ for m in module.modules() if type(m).__name__ == names[act]]
    assert len(found) == 4  # after the pw, the standalone layer, and the SE's act and gate
    if act == "leaky_relu":
        assert all(m.negative_slope == 0.01 for m in module.modules() if isinstance(m, torch.nn.LeakyReLU))
    standalone = module.layers.n1[0]
    assert getattr(standalone, "inplace", False) is False  # it may read a tensor another layer still needs
    with torch.no_grad():
        module(sample_input(graph))
    assert check_graph(graph).all_match


def test_standalone_act_leaves_its_input_alone() -> None:
    torch = pytest.importorskip("torch")
    from mobcost.torchside.build import graph_module, sample_input

    # a = pw; act reads a; add(a, act): an in-place activation would have changed a before the add reads it
    graph = build(spec_of("  - {type: pw, out: 8, bn: false, act: none, name: a}\n  - {type: act, act: relu}\n"
                          "  - {type: add, from: [a, -1]}\n"))
    module, x = graph_module(graph), sample_input(graph)
    with torch.no_grad():
        a = module.layers.n0(x)
        assert torch.allclose(module(x), a + torch.relu(a))


COUNTS = ("mult_adds", "params", "memory_access")  # what the sweep must give exactly as `table` does


def test_sweep_equals_closed_form() -> None:
    sweep_points(EVERYTHING, [1.0, 0.75, 0.5, 0.35], [32, 40, 48, 64], COUNTS)
    # and without a divisor (floor widths)
    sweep_points(EVERYTHING.replace("width: {divisor: 8}\n", ""), [1.0, 0.5], [32, 48], COUNTS)


def test_sweep_latency_equals_closed_form() -> None:
    spec = parse_spec(EVERYTHING)
    hw = load_hardware("rpi4")
    r = sweep(spec, [1.0, 0.5], [32, 48], hardware=hw)
    for i in range(len(r)):
        graph = build(spec, float(r.columns["alpha"][i]), resolution=int(r.columns["resolution"][i]))
        assert r.columns["latency_ms"][i] == pytest.approx(1e3 * sum(predict_layers(graph, hw)), rel=1e-9)


def test_sweep_of_a_flattened_map() -> None:
    text = ("input: {channels: 3, size: 32}\nlayers:\n  - {type: conv, out: 16, stride: 2}\n  - {type: flatten}\n"
            "  - {type: dropout}\n  - {type: bn}\n  - {type: fc, out: 10, scale: false}\n")
    sweep_points(text, [1.0, 0.75, 0.5], [32, 48, 64], COUNTS)


def test_area_factors_divide_the_counts() -> None:
    # the sweep's factorisation: each count is (count // area) · area exactly, at every point
    spec = parse_spec(EVERYTHING)
    for alpha, size in ((1.0, 32), (0.5, 48), (0.35, 40)):
        for node in build(spec, alpha, resolution=size).nodes:
            kind = REGISTRY[node.type]
            for count, area in ((kind.mult_adds, kind.mult_adds_area), (kind.work, kind.work_area),
                                (kind.weights, kind.weights_area)):
                assert count(node) % area(node) == 0, (node.name, count.__name__)


# --- the schema ---------------------------------------------------------------------------------------


def test_schema_has_every_type_and_key() -> None:
    from mobcost.spec.schema import spec_schema

    schema = spec_schema()
    for name, kind in REGISTRY.items():
        entry = schema["$defs"][name]
        assert set(kind.keys) <= set(entry["properties"]), name
        assert entry["description"] == kind.doc
    assert schema["$defs"]["act"]["properties"]["act"]["enum"] == [a for a in ACTIVATIONS if a != "none"]
    assert schema["$defs"]["conv"]["allOf"] == [{"oneOf": [{"required": ["out"]}, {"required": ["expand"]}]},
                                                {"not": {"required": ["groups", "group_width"]}}]
    assert schema["properties"]["width"]["required"] == ["divisor"]
    assert schema["$defs"]["mul"]["properties"]["from"]["maxItems"] == 2


def test_schema_accepts_and_refuses_what_the_decoder_does() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    from mobcost.spec.schema import spec_schema

    schema = spec_schema()
    jsonschema.validate(yaml.safe_load(EVERYTHING), schema)
    head = "input: {channels: 3, size: 8}\nlayers:\n  - "
    for bad in ("{type: pw, out: 8, expand: 2}", "{type: conv}", "{type: conv, out: 8, groups: 2, group_width: 4}",
                "{type: act, act: none}", "{type: mul, from: [a, b, c]}", "{type: split, parts: 2}",
                "{type: se, gate: none}", "{type: flatten, out: 3}"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(yaml.safe_load(head + bad), schema)
        with pytest.raises(MobcostError):
            build(parse_spec(head + bad))


def test_peak_activation_of_gates() -> None:
    # input 8×16×16 (2,048) → a: pw 8 (2,048) → avgpool (8) → hsigmoid (8) → mul [a, gate] (2,048). Alive while
    # each runs: a: 2,048 + 2,048; pool: a + 8 (a is read again by the mul); act: a + 8 + 8; mul: a + 8 + 2,048 =
    # 4,104, the peak
    gated = spec_of("  - {type: pw, out: 8, name: a}\n  - {type: avgpool}\n  - {type: act, act: hsigmoid}\n"
                    "  - {type: mul, from: [a, -1]}\n")
    assert int(sweep(gated, [1.0], [16]).columns["peak_activation"][0]) == 4_104
    # the SE shorthand is one layer: its 1×1 inner tensors are not counted; a + its output = 4,096
    se = spec_of("  - {type: pw, out: 8}\n  - {type: se}\n")
    assert int(sweep(se, [1.0], [16]).columns["peak_activation"][0]) == 4_096


# --- second step: transposed convolution, upsampling, adaptive pooling, LayerNorm, layer scale ---------


def test_deconv_hand_arithmetic() -> None:
    body = ("  - {type: deconv, out: 8, kernel: 2, stride: 2}\n"
            "  - {type: deconv, out: 8, kernel: 4, stride: 2, padding: 1, groups: 2, bias: true}\n"
            "  - {type: deconv, out: 8, kernel: 3, stride: 2, padding: 1, output_padding: 1, bn: false}\n")
    got = rows(body, 16, 16)
    # (H − 1)·s − 2p + k + output_padding: 15·2 + 2 = 32; 31·2 − 2 + 4 = 64; 63·2 − 2 + 3 + 1 = 128
    assert [r.node.output.h for r in got] == [32, 64, 128]
    # Mult-Adds on the input map: 2·2·16·8·16·16 = 131,072; 4·4·(8/2)·8·32·32 = 524,288; 3·3·8·8·64·64 = 2,359,296
    assert [r.mult_adds for r in got] == [131_072, 524_288, 2_359_296]
    # params 2·2·16·8 = 512; 4·4·4·8 = 512 + 8 biases = 520; 3·3·8·8 = 576; BN 16, 16, 0
    assert [(r.params, r.bn_params) for r in got] == [(512, 16), (520, 16), (576, 0)]
    # memory: 16·16·16 = 4,096 in + 8·32·32 = 8,192 out + 512 weights = 12,800
    assert got[0].memory_access == 12_800


def test_deconv_bad_input() -> None:
    assert "layers[0].output_padding: must be less than stride (2), got 2" in error(
        "  - {type: deconv, out: 8, kernel: 2, stride: 2, output_padding: 2}")
    assert "layers[0]: missing 'kernel'" in error("  - {type: deconv, out: 8}")
    message = error("  - {type: deconv, out: 8, kernel: 2, groups: 3}")
    assert "layers[0]" in message and "groups=3 must divide" in message
    assert "turns a 1×1 input into nothing" in error("  - {type: avgpool}\n  - {type: deconv, out: 8, kernel: 1, "
                                                     "padding: 1}")


def test_upsample_ln_layerscale() -> None:
    # nearest ×2: 16×16×16 (4,096) → 32×32×16 (16,384): memory 20,480; bilinear ×3: 16,384 → 96·96·16 = 147,456
    # → memory 163,840
    body = ("  - {type: upsample}\n  - {type: upsample, factor: 3, mode: bilinear}\n  - {type: ln}\n"
            "  - {type: layerscale}\n")
    got = costs(body, 16, 16)
    assert got[:2] == [(0, 0, 0, 20_480), (0, 0, 0, 163_840)]
    # LayerNorm: γ, β on 16 channels = 32 (with BN's), memory 2·147,456 = 294,912
    assert got[2] == (0, 0, 32, 294_912)
    # layer scale: 16 weights γ (the multiply not counted), memory 294,912 + 16 = 294,928
    assert got[3] == (0, 16, 0, 294_928)
    assert "layers[0].mode: must be one of nearest, bilinear, got 'bicubic'" in error(
        "  - {type: upsample, mode: bicubic}")
    assert "layers[0].factor: must be positive" in error("  - {type: upsample, factor: 0}")


def test_adaptive_avgpool() -> None:
    # AlexNet's 13×13×256 → 6×6: windows [⌊6i/… ⌋): 6 windows of 3 rows each = 18 rows read, likewise columns:
    # work 256·18·18 = 82,944 reads; memory 256·169 + 256·36 = 43,264 + 9,216 = 52,480
    (row,) = rows("  - {type: avgpool, output: 6}", 256, 13)
    assert (row.node.output.h, row.mult_adds, row.memory_access) == (6, 0, 52_480)
    assert REGISTRY["avgpool"].work(row.node) == 82_944
    # output 1 is the global pool: every input once
    (row,) = rows("  - {type: avgpool, output: 1}", 8, 16)
    assert REGISTRY["avgpool"].work(row.node) == 8 * 16 * 16
    assert "give 'kernel' or 'output', not both" in error("  - {type: avgpool, kernel: 2, output: 4}")


SECOND = """input: {channels: 3, size: 32}
layers:
  - {type: conv, out: 16, stride: 2, name: c}
  - {type: deconv, out: 8, kernel: 2, stride: 2}
  - {type: deconv, out: 8, kernel: 4, stride: 2, padding: 1, groups: 2, bias: true}
  - {type: deconv, kernel: 3, stride: 2, padding: 1, output_padding: 1, expand: 2, bn: false, act: hswish}
  - {type: upsample, from: c}
  - {type: upsample, mode: bilinear, factor: 3}
  - {type: ln}
  - {type: layerscale}
  - {type: avgpool, output: 7}
  - {type: avgpool, output: 5, from: c}
  - {type: flatten}
  - {type: fc, out: 10, scale: false}
  - {type: conv, out: 8, stride: 2, padding: same, dilation: 2, from: c}
  - {type: dw, kernel: 5, stride: 2, padding: same}
  - {type: dw, dilation: 3}
"""


@pytest.mark.slow  # torch cross-check: fvcore on a torch network
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_second_step_torch_counters_equal_closed_form(alpha: float) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(parse_spec(SECOND), alpha))
    for layer in report.layers:
        assert layer.match, layer
    ln = next(layer for layer in report.layers if layer.type == "ln")
    assert ln.fvcore_bn_params == ln.bn_params == 2 * 16 * alpha  # γ, β of the LayerNorm2d on 16α channels


def test_second_step_sweep_equals_closed_form() -> None:
    sweep_points(SECOND, [1.0, 0.75, 0.5], [32, 45, 64], COUNTS)
    spec = parse_spec(SECOND)
    hw = load_hardware("rpi4")
    r = sweep(spec, [1.0, 0.5], [32, 45], hardware=hw)
    for i in range(len(r)):
        graph = build(spec, float(r.columns["alpha"][i]), resolution=int(r.columns["resolution"][i]))
        assert r.columns["latency_ms"][i] == pytest.approx(1e3 * sum(predict_layers(graph, hw)), rel=1e-9)


def test_same_padding_and_dilation() -> None:
    body = ("  - {type: conv, out: 16, stride: 2, padding: same}\n  - {type: dw, kernel: 5, stride: 2, padding: same}\n"
            "  - {type: conv, out: 8, dilation: 2}\n")
    got = rows(body, 3, 225)
    # same: ⌈225/2⌉ = 113, padding (113 − 1)·2 + 3 − 225 = 2 → 1 + 1; Mult-Adds 3·3·3·16·113·113 = 5,516,208
    # dw 5×5/2 same: ⌈113/2⌉ = 57; dilated 3×3, d2, spans 5 pixels: padding 5 // 2 = 2 keeps 57:
    # 3·3·16·8·57·57 = 3,742,848 Mult-Adds (still 3·3 taps per output)
    assert [r.node.output.h for r in got] == [113, 57, 57]
    assert (got[0].mult_adds, got[2].mult_adds, got[2].params) == (5_516_208, 3_742_848, 3 * 3 * 16 * 8)
    assert got[2].filter_shape == "3×3×16×8 d2"
    # on 224: ⌈224/2⌉ = 112, padding 111·2 + 3 − 224 = 1, TensorFlow's way: 0 before, 1 after
    from mobcost.layers.convolutions import same_padding

    assert same_padding(224, 112, 2, 3) == (0, 1) and same_padding(225, 113, 2, 3) == (1, 1)
    assert rows(body, 3, 224)[0].mult_adds == 3 * 3 * 3 * 16 * 112 * 112  # 5,419,008


def test_same_padding_torch_build() -> None:
    torch = pytest.importorskip("torch")
    from mobcost.torchside.build import graph_module, sample_input
    from mobcost.torchside.crosscheck import check_graph

    graph = build(spec_of("  - {type: conv, out: 4, stride: 2, padding: same}\n  - {type: dw, dilation: 2}\n", 3, 224))
    module = graph_module(graph)
    assert module.layers.n0.pad.pads == [0, 1, 0, 1]  # left, right, top, bottom
    with torch.no_grad():
        assert tuple(module(sample_input(graph)).shape) == (1, 4, 112, 112)
    report = check_graph(graph)
    assert report.all_match and not report.unsupported_ops


def test_same_padding_and_dilation_bad_input() -> None:
    assert 'layers[0].padding: must be an integer, [height, width] or "same", got a string \'valid\'' in error(
        "  - {type: conv, out: 8, padding: valid}")
    assert "layers[0].dilation: must be positive" in error("  - {type: dw, dilation: 0}")
    assert "layers[0].dilation: unknown key" in error("  - {type: pw, out: 8, dilation: 2}")
    assert "turns a 16×16 input into nothing" in error("  - {type: dw, kernel: 5, dilation: 4, padding: 0}")
