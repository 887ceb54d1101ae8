"""Each closed form against hand arithmetic written next to the expected value."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.layers import REGISTRY, conv_output_size, register
from mobcost.spec import parse_spec


def costs(body: str, channels: int = 512, size: int = 14) -> list[tuple[int, int, int, int]]:
    spec = parse_spec(f"input: {{channels: {channels}, size: {size}}}\nlayers:\n{body}")
    return [(r.mult_adds, r.params, r.bn_params, r.memory_access) for r in analyze(spec).rows]


def test_table3_standard_conv() -> None:
    # Table 3, row 1: 3×3×512×512 kernel on a 14×14×512 map, stride 1, same padding.
    # Mult-Adds 3·3·512·512·14·14 = 462,422,016 (paper: 462 M); params 3·3·512·512 = 2,359,296 (2.36 M)
    # memory: in 14·14·512 = 100,352 + out 100,352 + weights 2,359,296 = 2,560,000
    assert costs("  - {type: conv, out: 512}") == [(462_422_016, 2_359_296, 1024, 2_560_000)]


def test_table3_separable_conv() -> None:
    # Table 3, row 2, eq. (5): 3·3·512·14·14 + 512·512·14·14 = 903,168 + 51,380,224 = 52,283,392 (52.3 M)
    # params 3·3·512 + 512·512 = 4,608 + 262,144 = 266,752 (0.27 M)
    rows = costs("  - {type: dwsep, out: 512}")
    assert [r[0] for r in rows] == [903_168, 51_380_224]
    assert [r[1] for r in rows] == [4_608, 262_144]
    # memory: dw 100,352 + 100,352 + 4,608 = 205,312; pw 100,352 + 100,352 + 262,144 = 462,848
    assert [r[3] for r in rows] == [205_312, 462_848]


def test_grouped_conv() -> None:
    # AlexNet conv2: 5×5, 96 → 256 channels, groups 2, 27×27 output (padding 2):
    # 5·5·(96/2)·256·27·27 = 25·48·256·729 = 223,948,800; weights 5·5·48·256 = 307,200, + 256 biases
    assert costs("  - {type: conv, out: 256, kernel: 5, groups: 2, bias: true, bn: false}", 96, 27)[0][:3] == (
        223_948_800, 307_456, 0)


def test_strided_and_padded_conv_output() -> None:
    # AlexNet conv1: 11×11 stride 4 on 227 (no padding): (227 − 11)/4 + 1 = 55
    # Mult-Adds 11·11·3·96·55·55 = 105,415,200
    rows = costs("  - {type: conv, out: 96, kernel: 11, stride: 4, padding: 0}", 3, 227)
    assert rows[0][0] == 105_415_200


def test_fc_on_flattened_input() -> None:
    # VGG16 fc6: 7·7·512 = 25,088 inputs → 4096: Mult-Adds 102,760,448; params + 4,096 biases = 102,764,544
    # memory: 25,088 in + 4,096 out + 102,760,448 weights = 102,789,632
    assert costs("  - {type: fc, out: 4096}", 512, 7) == [(102_760_448, 102_764_544, 0, 102_789_632)]


def test_pool_costs_only_memory() -> None:
    # global average pool of 7×7×1024: 0 Mult-Adds, memory 50,176 in + 1,024 out = 51,200
    assert costs("  - {type: avgpool}", 1024, 7) == [(0, 0, 0, 51_200)]
    # max pool 3×3 stride 2, ceil mode, on 55: ceil((55 − 3)/2) + 1 = 27 → 96·27·27 = 69,984 out
    assert costs("  - {type: maxpool, kernel: 3, stride: 2, ceil_mode: true}", 96, 55) == [
        (0, 0, 0, 96 * 55 * 55 + 69_984)]


def test_work_is_mult_adds_but_window_reads_for_pooling() -> None:
    spec = parse_spec("input: {channels: 96, size: 55}\nlayers:\n  - {type: maxpool, kernel: 3, stride: 2}\n"
                      "  - {type: pw, out: 64}\n  - {type: avgpool}\n")
    rows = analyze(spec).rows
    work = [REGISTRY[r.node.type].work(r.node) for r in rows]
    # max pool 3×3/2 on 55 (floor): (55 − 3)//2 + 1 = 27 → 96·27·27 outputs · 9 reads = 629,856
    # 1×1 conv: its Mult-Adds, 96·64·27·27 = 4,478,976; global average pool: every input once, 64·27·27 = 46,656
    assert work == [629_856, 4_478_976, 46_656]
    assert rows[1].mult_adds == 4_478_976


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "ceil", "expected"),
    [
        (224, 3, 2, 1, False, 112),  # (224 + 2 − 3)//2 + 1 = 111 + 1
        (7, 7, 1, 0, False, 1),
        (112, 3, 2, 0, True, 56),  # ceil(109/2) + 1 = 55 + 1
        (13, 3, 2, 0, True, 6),  # ceil(10/2) + 1 = 6
        (6, 3, 2, 1, True, 4),  # ceil(5/2) + 1 = 4, last window starts at 6 − 1 + ... inside input+pad
        (2, 3, 1, 0, False, 0),  # the kernel does not fit: nothing
    ],
)
def test_conv_output_size(size: int, kernel: int, stride: int, padding: int, ceil: bool, expected: int) -> None:
    assert conv_output_size(size, kernel, stride, padding, ceil) == expected


def test_register_rejects_duplicates() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        register("conv")(type("Again", (REGISTRY["conv"].__class__,), {}))
