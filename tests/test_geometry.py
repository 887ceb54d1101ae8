"""Non-square windows and rectangular inputs (issue 12): `kernel: [1, 7]`, `stride: [2, 1]`, `padding: [0, 3]` or
`[[top, bottom], [left, right]]`, and `input: {size: [H, W]}` — hand arithmetic beside each expected value, the
torch build's two counters, the vectorised sweep, located errors, and an Inception-v3 block against a torch module
written here from the paper (Szegedy et al. 2015, Figure 6)."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.explore import sweep
from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import parse_spec


def spec_of(body: str, channels: int = 8, size: int | str = 16) -> object:
    return parse_spec(f"input: {{channels: {channels}, size: {size}}}\nlayers:\n{body}")


def rows(body: str, channels: int = 8, size: int | str = 16, **point: object) -> list:
    return list(analyze(spec_of(body, channels, size), **point).rows)


def error(body: str, channels: int = 8, size: int | str = 16) -> str:
    with pytest.raises(MobcostError) as info:
        build(spec_of(body, channels, size))
    return str(info.value)


def crosscheck(spec: object, alpha: float = 1.0, **point: object) -> None:
    """fvcore and FlopCounterMode on the torch build equal every closed-form count, layer by layer and in total."""
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(spec, alpha, **point))
    for layer in report.layers:
        assert layer.match, layer
    assert report.all_match
    total = sum(layer.mult_adds for layer in report.layers)
    assert report.fvcore_totals()["mult_adds"] == report.flop_counter_totals()["mult_adds"] == total
    assert report.fvcore_totals()["params"] == sum(layer.params for layer in report.layers)


# --- Inception v3's factorised 7×7: a 1×7 then a 7×1 convolution on 17×17×768 ------------------------------

FACTORISED = ("  - {type: conv, out: 192, kernel: [1, 7], padding: [0, 3]}\n"
              "  - {type: conv, out: 192, kernel: [7, 1], padding: [3, 0]}\n")


def test_one_by_seven_and_seven_by_one() -> None:
    first, second = rows(FACTORISED, 768, 17)
    # 1×7, padding 0 above and below, 3 left and right: H′ = (17 + 0 − 1)/1 + 1 = 17, W′ = (17 + 6 − 7)/1 + 1 = 17
    assert (first.node.output.h, first.node.output.w) == (17, 17)
    # 1·7·768·192·17·17 = 298,303,488 Mult-Adds; 1·7·768·192 = 1,032,192 weights; BN 2·192 = 384;
    # memory 768·289 + 192·289 + 1,032,192 = 221,952 + 55,488 + 1,032,192 = 1,309,632
    assert (first.mult_adds, first.params, first.bn_params, first.memory_access) == (
        298_303_488, 1_032_192, 384, 1_309_632)
    # 7·1·192·192·17·17 = 74,575,872; 7·192·192 = 258,048 weights; memory 55,488 + 55,488 + 258,048 = 369,024
    assert (second.mult_adds, second.params, second.memory_access) == (74_575_872, 258_048, 369_024)
    # the pair costs 372,879,360 where one 7×7 768→192 would cost 7·7·768·192·289 = 2,088,124,416
    assert first.mult_adds + second.mult_adds == 372_879_360
    # the views: Table 1's filter shape height first; the single integers stay for square windows only
    assert (first.filter_shape, second.filter_shape) == ("1×7×768×192", "7×1×192×192")
    assert (first.category, second.category) == ("Conv 1×7", "Conv 7×1")
    assert (first.node.kernel, first.node.kernel_hw, first.node.stride, first.node.padding) == (None, (1, 7), 1, None)
    assert first.node.padding_hw == (0, 0, 3, 3)  # top, bottom, left, right


def test_default_padding_is_half_the_kernel_per_axis() -> None:
    (node,) = [r.node for r in rows("  - {type: conv, out: 8, kernel: [1, 7]}\n", 8, 17)]
    assert node.padding_hw == (0, 0, 3, 3) and (node.output.h, node.output.w) == (17, 17)


@pytest.mark.slow  # torch cross-check: fvcore on a torch network
def test_factorised_torch_build() -> None:
    crosscheck(spec_of(FACTORISED, 768, 17))
    crosscheck(spec_of(FACTORISED, 768, 17), 0.5)


def test_square_pairs_are_integers() -> None:
    # `[3, 3]` is `3`: the same decoded layer, the same node, the same views as before pairs existed
    a = spec_of("  - {type: conv, out: 8, kernel: [3, 3], stride: [2, 2], padding: [[1, 1], [1, 1]]}\n")
    b = spec_of("  - {type: conv, out: 8, kernel: 3, stride: 2, padding: 1}\n")
    assert a.layers == b.layers
    node = build(a).nodes[0]
    assert (node.kernel, node.stride, node.padding) == (3, 2, 1)
    assert (node.kernel_hw, node.stride_hw, node.padding_hw) == ((3, 3), (2, 2), (1, 1, 1, 1))
    assert REGISTRY["conv"].type_label(node) == "Conv / s2"


# --- strided non-square windows, asymmetric padding ------------------------------------------------------


def test_strided_non_square_conv() -> None:
    body = "  - {type: conv, out: 4, kernel: [3, 5], stride: [2, 1], padding: [1, 2]}\n"
    (row,) = rows(body)
    # H′ = ⌊(16 + 1 + 1 − 3)/2⌋ + 1 = 8, W′ = ⌊(16 + 2 + 2 − 5)/1⌋ + 1 = 16
    assert str(row.node.output) == "8×16×4"
    # 3·5·8·4·8·16 = 61,440 Mult-Adds; 3·5·8·4 = 480 weights; memory 8·256 + 4·128 + 480 = 3,040
    assert (row.mult_adds, row.params, row.memory_access) == (61_440, 480, 3_040)
    assert row.node.stride is None and row.node.stride_hw == (2, 1)
    assert REGISTRY["conv"].type_label(row.node) == "Conv / s2×1"
    crosscheck(spec_of(body))


def test_asymmetric_padding() -> None:
    body = ("  - {type: conv, out: 4, stride: 2, padding: [[0, 1], [0, 1]]}\n"
            "  - {type: dw, kernel: [3, 1], padding: [[2, 0], 0]}\n")
    first, second = rows(body)
    # ⌊(16 + 0 + 1 − 3)/2⌋ + 1 = 8 each way (TensorFlow's "same" on 16): 3·3·8·4·8·8 = 18,432
    assert str(first.node.output) == "8×8×4" and first.mult_adds == 18_432
    # 3×1 with 2 rows above, none below: H′ = 8 + 2 + 0 − 3 + 1 = 8, W′ = 8 − 1 + 1 = 8; 3·1·4·8·8 = 768
    assert str(second.node.output) == "8×8×4" and second.mult_adds == 768
    assert first.node.padding_hw == (0, 1, 0, 1) and first.node.padding is None
    # an explicit [[0, 1], [0, 1]] is what `same` does on an even map
    same = rows("  - {type: conv, out: 4, stride: 2, padding: same}\n")[0]
    assert (same.node.padding_hw, same.mult_adds) == (first.node.padding_hw, first.mult_adds)
    crosscheck(spec_of(body))


def test_asymmetric_padding_torch_module() -> None:
    torch = pytest.importorskip("torch")
    from mobcost.torchside.build import graph_module, sample_input

    graph = build(spec_of("  - {type: dw, kernel: [3, 1], padding: [[2, 0], 0], bn: false, act: none}\n"))
    module = graph_module(graph)
    assert module.layers.n0.pad.pads == [0, 0, 2, 0]  # left, right, top, bottom
    conv = module.layers.n0.conv
    assert (conv.kernel_size, conv.stride, conv.padding) == ((3, 1), (1, 1), (0, 0))
    x = sample_input(graph)
    with torch.no_grad():
        expected = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (0, 0, 2, 0)), conv.weight, groups=8)
        assert torch.equal(module(x), expected)


def test_non_square_pools_and_deconv() -> None:
    body = ("  - {type: maxpool, kernel: [3, 2], stride: [1, 2], padding: [1, 0]}\n"
            "  - {type: avgpool, kernel: [2, 4]}\n"
            "  - {type: deconv, out: 4, kernel: [2, 1], stride: [2, 1]}\n")
    pool, avg, deconv = rows(body)
    # maxpool: H′ = (16 + 2 − 3)/1 + 1 = 16, W′ = ⌊(16 − 2)/2⌋ + 1 = 8; its work: 8·16·8 outputs × 3·2 reads
    assert str(pool.node.output) == "16×8×8" and REGISTRY["maxpool"].work(pool.node) == 1_024 * 6
    assert pool.filter_shape == "Pool 3×2"
    # avgpool 2×4, stride = kernel: 16/2 × 8/4 = 8×2
    assert str(avg.node.output) == "8×2×8" and avg.filter_shape == "Pool 2×4"
    # deconv 2×1 / 2×1: H = (8 − 1)·2 + 2 = 16, W = (2 − 1)·1 + 1 = 2; 2·1·8·4 = 64 weights × 8·2 inputs = 1,024
    assert str(deconv.node.output) == "16×2×4" and (deconv.mult_adds, deconv.params) == (1_024, 64)
    assert deconv.filter_shape == "2×1×8×4 T"
    crosscheck(spec_of(body))


# --- rectangular inputs ----------------------------------------------------------------------------------

RECT = """input: {channels: 3, size: [320, 192]}
layers:
  - {type: conv, out: 16, stride: 2}
  - {type: dw, stride: 2}
  - {type: pw, out: 32}
  - {type: avgpool}
  - {type: fc, out: 10}
"""


def test_rectangular_input() -> None:
    spec = parse_spec(RECT)
    assert (spec.size, spec.width_px, spec.input_hw) == (320, 192, (320, 192))
    graph = build(spec)
    assert str(graph.input) == "320×192×3" and graph.resolution == 320
    conv, dw, pw, pool, fc = analyze(spec).rows
    # conv 3×3/2, padding 1: H′ = ⌊(320 + 2 − 3)/2⌋ + 1 = 160, W′ = ⌊(192 + 2 − 3)/2⌋ + 1 = 96
    # 3·3·3·16·160·96 = 6,635,520; memory 3·320·192 + 16·160·96 + 432 = 184,320 + 245,760 + 432 = 430,512
    assert str(conv.node.output) == "160×96×16" and (conv.mult_adds, conv.memory_access) == (6_635_520, 430_512)
    # dw 3×3/2: 80×48; 3·3·16·80·48 = 552,960. pw 16·32·80·48 = 1,966,080. fc 32·10 = 320
    assert (dw.mult_adds, pw.mult_adds, fc.mult_adds) == (552_960, 1_966_080, 320)
    assert pool.filter_shape == "Pool 80×48" and pool.node.kernel is None and pool.node.kernel_hw == (80, 48)
    # total 6,635,520 + 552,960 + 1,966,080 + 320 = 9,154,880; params 432 + 144 + 512 + 320 + 10 = 1,418
    totals = analyze(spec).totals
    assert (totals.mult_adds, totals.params) == (9_154_880, 1_418)


@pytest.mark.parametrize(("point", "hw"), [
    ({}, (320, 192)),
    ({"resolution": 160}, (160, 96)),  # the height; the width keeps 3:5: 160·192/320 = 96
    ({"resolution": 161}, (161, 97)),  # 161·0.6 = 96.6 → 97
    ({"rho": 0.5}, (160, 96)),  # ρ on both sides
    ({"rho": 0.714}, (228, 137)),  # 320·0.714 = 228.48 → 228; 192·0.714 = 137.088 → 137
])
def test_rectangular_resolution_rules(point: dict, hw: tuple[int, int]) -> None:
    graph = build(parse_spec(RECT), **point)
    assert (graph.input.h, graph.input.w) == hw and graph.resolution == hw[0]


def test_rectangular_rounding_halves_up() -> None:
    spec = parse_spec("input: {channels: 1, size: [2, 3]}\nlayers:\n  - {type: pw, out: 1}\n")
    assert (build(spec, resolution=1).input.w, build(spec, rho=0.5).input.w) == (2, 2)  # 1.5 → 2 either way
    assert build(spec, resolution=4).input.w == 6


def test_rectangular_torch_build() -> None:
    crosscheck(parse_spec(RECT))
    crosscheck(parse_spec(RECT), 0.5, resolution=161)


def sweep_points(text: str, alphas: list[float], sizes: list[int], keys: tuple[str, ...]) -> None:
    spec = parse_spec(text)
    r = sweep(spec, alphas, sizes)
    assert len(r) == len(alphas) * len(sizes) and not r.factors.dropped
    for i in range(len(r)):
        a, size = float(r.columns["alpha"][i]), int(r.columns["resolution"][i])
        t = analyze(spec, a, resolution=size).totals
        assert tuple(int(r.columns[k][i]) for k in keys) == tuple(getattr(t, k) for k in keys), (a, size)


GEOMETRY = """input: {channels: 3, size: 64}
layers:
  - {type: conv, out: 16, kernel: [3, 5], stride: [2, 1], padding: [[0, 1], 2]}
  - {type: conv, out: 16, kernel: [1, 7]}
  - {type: dw, kernel: [7, 1], stride: [1, 2]}
  - {type: maxpool, kernel: [3, 2], stride: [2, 1], padding: [1, 0]}
  - {type: deconv, out: 8, kernel: [2, 1], stride: [2, 1]}
  - {type: avgpool, kernel: [2, 3], stride: 1}
  - {type: avgpool}
  - {type: fc, out: 10, scale: false}
"""


def test_sweep_of_non_square_windows_equals_closed_form() -> None:
    sweep_points(GEOMETRY, [1.0, 0.75, 0.5], [64, 57, 40], ("mult_adds", "params", "memory_access"))


def test_sweep_of_a_rectangular_input_counts() -> None:
    sweep_points(RECT, [1.0, 0.5], [320, 161, 96], ("mult_adds", "params"))


def test_sweep_of_a_rectangular_input_memory() -> None:
    sweep_points(RECT, [1.0, 0.5], [320, 161, 96], ("memory_access",))


def test_area_factors_divide_the_counts() -> None:
    for text, size in ((GEOMETRY, 57), (RECT, 161)):
        for node in build(parse_spec(text), 0.5, resolution=size).nodes:
            kind = REGISTRY[node.type]
            for count, area in ((kind.mult_adds, kind.mult_adds_area), (kind.work, kind.work_area),
                                (kind.weights, kind.weights_area)):
                assert count(node) % area(node) == 0, (node.name, count.__name__)


# --- an Inception-v3 block (Figure 6: 17×17, n = 7) against a torch module written from the paper --------

INCEPTION_C = """input: {channels: 768, size: 17}
layers:
  - {type: conv, out: 192, kernel: 1, name: b1}
  - {type: conv, out: 128, kernel: 1, from: input}
  - {type: conv, out: 128, kernel: [1, 7]}
  - {type: conv, out: 192, kernel: [7, 1], name: b7}
  - {type: conv, out: 128, kernel: 1, from: input}
  - {type: conv, out: 128, kernel: [7, 1]}
  - {type: conv, out: 128, kernel: [1, 7]}
  - {type: conv, out: 128, kernel: [7, 1]}
  - {type: conv, out: 192, kernel: [1, 7], name: b7dbl}
  - {type: avgpool, kernel: 3, stride: 1, padding: 1, from: input}
  - {type: conv, out: 192, kernel: 1, name: bpool}
  - {type: concat, from: [b1, b7, b7dbl, bpool]}
"""


def inception_c_module(torch: object) -> object:
    nn = torch.nn

    def basic(cin: int, cout: int, kernel: object, padding: object = 0) -> object:
        return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=padding, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU(inplace=True))

    class InceptionC(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.b1 = basic(768, 192, 1)
            self.b7 = nn.Sequential(basic(768, 128, 1), basic(128, 128, (1, 7), (0, 3)),
                                    basic(128, 192, (7, 1), (3, 0)))
            self.b7dbl = nn.Sequential(basic(768, 128, 1), basic(128, 128, (7, 1), (3, 0)),
                                       basic(128, 128, (1, 7), (0, 3)), basic(128, 128, (7, 1), (3, 0)),
                                       basic(128, 192, (1, 7), (0, 3)))
            self.pool = nn.Sequential(nn.AvgPool2d(3, 1, 1), basic(768, 192, 1))

        def forward(self, x: object) -> object:
            return torch.cat([self.b1(x), self.b7(x), self.b7dbl(x), self.pool(x)], 1)

    return InceptionC().eval()


@pytest.mark.slow  # torch cross-check: fvcore on a torch network
def test_inception_v3_block() -> None:
    torch = pytest.importorskip("torch")
    fvcore = pytest.importorskip("fvcore.nn")
    spec = parse_spec(INCEPTION_C)
    analysis = analyze(spec)
    # per branch, ×17·17 = 289: 1×1 768→192 (147,456) = 42,614,784; 1×1 768→128 = 28,409,856, 1×7 128→128
    # (114,688) = 33,144,832, 7×1 128→192 (172,032) = 49,717,248; the double branch 28,409,856 + 3 × 33,144,832
    # + 49,717,248; the pool branch's 1×1 42,614,784: 1,294,336 weights × 289 = 374,063,104
    assert analysis.totals.mult_adds == 374_063_104 and analysis.totals.params == 1_294_336
    assert str(analysis.rows[-1].node.output) == "17×17×768"
    module = inception_c_module(torch)
    x = torch.randn(1, 768, 17, 17)
    with torch.no_grad():
        assert tuple(module(x).shape) == (1, 768, 17, 17)
    flops = fvcore.FlopCountAnalysis(module, x)
    flops.unsupported_ops_warnings(False)
    assert flops.by_operator()["conv"] == analysis.totals.mult_adds
    weights = sum(p.numel() for n, p in module.named_parameters() if p.dim() == 4)
    norms = sum(p.numel() for n, p in module.named_parameters() if p.dim() == 1)
    assert (weights, norms) == (analysis.totals.params, analysis.totals.bn_params)
    crosscheck(spec)


# --- bad input and the schema ------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "expected"), [
    ("{type: conv, out: 8, kernel: [1, 7, 3]}", "layers[0].kernel: must be an integer or [height, width], got a "
     "list of 3"),
    ("{type: conv, out: 8, kernel: x}", "layers[0].kernel: must be an integer or [height, width], got a string 'x'"),
    ("{type: conv, out: 8, kernel: [1, 0]}", "layers[0].kernel[1]: must be positive, got 0"),
    ("{type: conv, out: 8, stride: [2, true]}", "layers[0].stride[1]: must be an integer"),
    ("{type: conv, out: 8, padding: [0, [1]]}", "layers[0].padding[1]: must be an integer or [before, after], got a "
     "list of 1"),
    ("{type: conv, out: 8, padding: [-1, 0]}", "layers[0].padding[0]: must be zero or more, got -1"),
    ("{type: conv, out: 8, padding: [1, 2, 3]}", 'layers[0].padding: must be an integer, [height, width] (each an '
     'integer or [before, after]) or "same", got a list of 3'),
    ("{type: maxpool, kernel: 3, padding: [[0, 2], 0]}", "padding 2 must be at most half the kernel 3 of the bottom"),
    ("{type: maxpool, kernel: 3, padding: [0, [1, 1, 1]]}", "layers[0].padding[1]: must be an integer or [before, "
     "after], got a list of 3"),
    ("{type: maxpool, kernel: [3, 2], padding: [1, 2]}", "padding 2 must be at most half the kernel 2 of the width"),
    ("{type: deconv, out: 8, kernel: 2, stride: [2, 1], output_padding: 1}",
     "layers[0].output_padding: must be less than stride (1), got 1"),
    ("{type: conv, out: 8, kernel: [1, 20], padding: 0}", "conv with kernel 1×20, stride 1, padding 0 turns a 16×16 "
     "input into nothing"),
    ("{type: pw, out: 8, kernel: [1, 1]}", "layers[0].kernel: unknown key"),
])
def test_bad_windows(body: str, expected: str) -> None:
    message = error(f"  - {body}\n")
    assert expected in message
    assert message.startswith("<spec>:3:")  # located at the layer's line


@pytest.mark.parametrize(("size", "expected"), [
    ("[320]", "input.size: must be an integer or [height, width], got a list of 1"),
    ("[320, 0]", "input.size[1]: must be positive, got 0"),
    ("[320, 1.5]", "input.size[1]: must be an integer"),
    ("'320x192'", "input.size: must be an integer or [height, width], got a string"),
])
def test_bad_input_size(size: str, expected: str) -> None:
    assert expected in error("  - {type: pw, out: 8}\n", 3, size)


def test_schema_takes_pairs() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    from mobcost.spec.schema import spec_schema

    schema = spec_schema()
    for text in (RECT, GEOMETRY, INCEPTION_C, "input: {channels: 3, size: 8}\nlayers:\n  - {type: conv, out: 4, "
                 "padding: [[0, 1], [2, 0]]}\n"):
        jsonschema.validate(yaml.safe_load(text), schema)
    head = "input: {channels: 3, size: 8}\nlayers:\n  - "
    for bad in ("{type: conv, out: 8, kernel: [1, 7, 3]}", "{type: conv, out: 8, kernel: [1, 0]}",
                "{type: conv, out: 8, padding: [0, [1]]}", "{type: maxpool, kernel: 3, padding: [[0, 1, 2], 0]}",
                "{type: conv, out: 8, stride: [2]}"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(yaml.safe_load(head + bad), schema)
        with pytest.raises(MobcostError):
            build(parse_spec(head + bad))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load("input: {channels: 3, size: [8]}\nlayers: [{type: pw, out: 4}]\n"), schema)
