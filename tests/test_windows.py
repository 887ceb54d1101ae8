"""Issue 21, windows (Swin, TinyViT): `window` and `unwindow`, attention within each window and Swin's relative-position
bias table — each closed form against hand arithmetic written beside the expected value, located errors for bad
input, the torch build's two counters, the vectorised sweep, and the torch partition against timm's."""

from __future__ import annotations

import pytest

from mobcost.analysis import analyze
from mobcost.errors import MobcostError
from mobcost.graph import build
from mobcost.layers import REGISTRY
from mobcost.spec import parse_spec

from .test_geometry import sweep_points

# A shifted-window Swin block on a 16×16 map of 8 channels (4×4 windows: 16 sequences of 16 tokens), then a
# TinyViT-style attention with attention biases on 8×8 windows (4 sequences of 64)
BLOCK = """input: {channels: 3, size: 32}
layers:
  - {type: conv, out: 8, stride: 2, name: x}
  - {type: window, window: 4, shift: 2, name: t0}
  - {type: ln}
  - {type: attention, heads: 2, relative_table: true}
  - {type: add, from: [t0, -1], name: t1}
  - {type: linear, expand: 2, act: gelu}
  - {type: linear, out: 8}
  - {type: add, from: [t1, -1]}
  - {type: unwindow, shift: 2}
  - {type: window, window: 8}
  - {type: attention, heads: 2, bias_table: true}
  - {type: unwindow}
  - {type: avgpool}
  - {type: fc, out: 10, scale: false}
"""


def rows(text: str, alpha: float = 1.0, resolution: int | None = None) -> dict[str, tuple[int, int, int, int]]:
    a = analyze(parse_spec(text), alpha, resolution=resolution)
    return {r.node.type + str(i): (r.mult_adds, r.params, r.bn_params, r.memory_access) for i, r in enumerate(a.rows)}


def error(text: str, alpha: float = 1.0) -> str:
    with pytest.raises(MobcostError) as info:
        build(parse_spec(text), alpha)
    return str(info.value)


def test_windows_hand_arithmetic() -> None:
    a = analyze(parse_spec(BLOCK))
    assert [str(r.node.output) for r in a.rows[1:4]] == ["16×16×8 tokens"] * 3
    assert str(a.rows[8].node.output) == "16×16×8" and str(a.rows[9].node.output) == "4×64×8 tokens"
    r = rows(BLOCK)
    # window / unwindow (the roll included): moves, 16·16·8 = 2,048 elements in and out
    assert r["window1"] == r["unwindow8"] == r["window9"] == r["unwindow11"] == (0, 0, 0, 4_096)
    # 2 heads of 4 on 4×4 windows: projections 4·256·8·8 = 65,536; Q·Kᵀ and A·V within each of the 16 windows
    # 16·16²·2·(4 + 4) = 65,536 (not 256²·16 = 1,048,576: a token attends only to its own window); params 4·64
    # weights + 24 q, k, v biases + 8 output biases + Swin's table (2·4 − 1)²·2 = 98
    assert r["attention3"][:3] == (131_072, 256 + 24 + 8 + 98, 0)
    # 8×8 windows: 4 windows of 64 tokens, products 4·64²·16 = 262,144; TinyViT's table 2 heads × 64 = 128
    assert r["attention10"][:3] == (65_536 + 262_144, 256 + 24 + 8 + 128, 0)
    # conv 9·3·8·256 = 55,296; linears 256·8·16 twice = 65,536; fc 80
    assert analyze(parse_spec(BLOCK)).totals.mult_adds == 55_296 + 131_072 + 65_536 + 327_680 + 80 == 579_664


# TinyViT's MLP on tokens read from the local conv's map, then back to that map for the next block's windows
TINY = """input: {channels: 3, size: 32}
layers:
  - {type: conv, out: 8, stride: 2, name: x}
  - {type: tokens}
  - {type: ln}
  - {type: linear, expand: 4, act: gelu}
  - {type: linear, out: 8}
  - {type: untokens, size_of: x}
  - {type: window, window: 8}
  - {type: attention, heads: 2, bias_table: true}
  - {type: unwindow}
  - {type: avgpool}
  - {type: fc, out: 10}
"""


def test_untokens_returns_the_map_it_names() -> None:
    g = build(parse_spec(TINY), resolution=64)
    # 64 px: the 32×32 map of x at this resolution, 1,024 tokens back to 32×32×8; a move (elements in + out)
    node = g.nodes[5]
    assert str(node.output) == "32×32×8" and REGISTRY["untokens"].memory_access(node) == 2 * 8 * 1_024
    assert REGISTRY["untokens"].mult_adds(node) == 0
    sweep_points(TINY, [1.0, 0.5], [32, 64], ("mult_adds", "params", "memory_access"))


def test_space_to_depth_is_swins_patch_merging() -> None:
    # 2×2 blocks of a 16×16×8 map: 32 channels on 8×8, a move (2,048 elements in, 2,048 out); then Swin's LayerNorm
    # (γ, β 64) and Linear 4C → 2C without bias: 64·32·16 = 32,768 Mult-Adds, 512 weights
    text = ("input: {channels: 3, size: 32}\nlayers:\n  - {type: conv, out: 8, stride: 2}\n"
            "  - {type: space_to_depth, patch: 2}\n  - {type: ln}\n  - {type: pw, out: 16, bn: false}\n")
    r = rows(text)
    assert r["space_to_depth1"] == (0, 0, 0, 4_096) and r["ln2"][:3] == (0, 0, 64)
    assert r["pw3"][:2] == (32_768, 512)
    assert str(build(parse_spec(text)).nodes[1].output) == "8×8×32"
    sweep_points(text, [1.0, 0.5], [32, 64], ("mult_adds", "params", "memory_access"))


def test_window_products_scale_with_area_not_its_square() -> None:
    # 64 px: a 32×32 map, 64 windows of 16 tokens: products 64·16²·16 = 262,144 = 4 × the 16×16 map's 65,536
    node = build(parse_spec(BLOCK), resolution=64).nodes[3]
    assert (node.input.sequences, node.input.length) == (64, 16)
    assert REGISTRY["attention"].mult_adds_terms(node) == ((262_144, 1_024), (262_144, 64 * 16 * 16))
    # the relative table stays (2w − 1)²·h at any resolution
    assert REGISTRY["attention"].table_params(node) == 98


def test_width_keeps_the_windows() -> None:
    node = build(parse_spec(BLOCK), 0.5).nodes[3]
    # α = 0.5: 4 channels, 2 heads of 2; still 16 windows of 16
    assert (node.input.c, node.input.sequences, node.input.length) == (4, 16, 16)
    assert REGISTRY["attention"].mult_adds(node) == 4 * 256 * 4 * 4 + 16 * 16 * 16 * 2 * (2 + 2)


def test_sweep_equals_closed_form() -> None:
    counts = ("mult_adds", "params", "memory_access")
    sweep_points(BLOCK, [1.0, 1.5, 0.5], [32, 64, 96], counts)


def test_terms_divide_and_sum() -> None:
    for alpha, size in ((1.0, 32), (0.5, 64), (1.5, 96)):
        for node in build(parse_spec(BLOCK), alpha, resolution=size).nodes:
            kind = REGISTRY[node.type]
            terms = kind.mult_adds_terms(node)
            assert sum(c for c, _ in terms) == kind.mult_adds(node)
            assert all(c % area == 0 for c, area in (*terms, *kind.work_terms(node))), node.name


@pytest.mark.parametrize(("body", "needle"), [
    ("  - {type: window, window: 3}\n", "window of 3×3 windows needs a map they divide, got 8×8"),
    ("  - {type: window, window: 4, shift: 4}\n", "window's shift 4 must be less than its window 4"),
    ("  - {type: tokens}\n  - {type: unwindow}\n", "unwindow takes the windows of a `window`, got the sequence"),
    ("  - {type: unfold, patch: 2}\n  - {type: unwindow}\n", "unwindow takes the windows of a `window`"),
    ("  - {type: unwindow}\n", "unwindow takes a token sequence, got the map 8×8×3"),
    ("  - {type: window, window: 4}\n  - {type: unwindow, shift: 5}\n", "unwindow's shift 5 must be less"),
    ("  - {type: window, window: 4}\n  - {type: window, window: 2}\n", "window takes a feature map, got the sequence"),
    ("  - {type: window, window: 4}\n  - {type: cls_token}\n", "cls_token takes one sequence, got the 4 sequences"),
    ("  - {type: window, window: 4}\n  - {type: pos_embed}\n", "`unwindow` them into a map first"),
    ("  - {type: tokens}\n  - {type: attention, heads: 1, relative_table: true}\n",
     "relative_table (Swin's (2w − 1)²·heads table) takes the windows of a `window`, got 64×3 tokens"),
    ("  - {type: window, window: 4}\n  - {type: attention, heads: 1, relative_table: true, bias_table: true}\n",
     "and replaces bias_table"),
    ("  - {type: conv, out: 4, stride: 2}\n  - {type: tokens}\n  - {type: untokens, size_of: input}\n",
     "untokens to the 8×8 map of input needs 64 tokens, got 16"),
    ("  - {type: window, window: 4}\n  - {type: untokens, size_of: input}\n", "`unwindow` ends a `window`"),
    ("  - {type: untokens, size_of: input}\n", "untokens takes a token sequence, got the map"),
    ("  - {type: space_to_depth, patch: 3}\n", "space_to_depth of 3×3 blocks needs a map they divide, got 8×8"),
])
def test_bad_inputs_are_located(body: str, needle: str) -> None:
    line = error(f"input: {{channels: 3, size: 8}}\nlayers:\n{body}")
    assert needle in line and "layers[" in line, line


@pytest.mark.parametrize(("body", "needle"), [
    ("{type: window}", "missing 'window'"),
    ("{type: window, window: 0}", "must be positive"),
    ("{type: window, window: 2, shift: -1}", "shift"),
    ("{type: unwindow, window: 2}", "unknown key"),
    ("{type: untokens}", "missing 'size_of'"),
])
def test_bad_keys_are_located(body: str, needle: str) -> None:
    with pytest.raises(MobcostError) as info:
        parse_spec(f"input: {{channels: 3, size: 8}}\nlayers:\n  - {{type: conv, out: 4}}\n  - {body}\n")
    assert needle in str(info.value) and ":4:" in str(info.value), str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize(("alpha", "size"), [(1.0, 32), (0.5, 64)])
def test_torch_counters_equal_closed_form(alpha: float, size: int) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from mobcost.torchside.crosscheck import check_graph

    report = check_graph(build(parse_spec(BLOCK), alpha, resolution=size))
    assert report.all_match, [layer for layer in report.layers if not layer.match]
    attention = [layer for layer in report.layers if layer.type == "attention"]
    assert all(a.fvcore_mult_adds == a.flop_counter_mult_adds == a.mult_adds > 0 for a in attention)


@pytest.mark.slow
def test_the_torch_windows_are_timms() -> None:
    """timm's window_partition on the channels-last map, with Swin's roll (torch.roll by −shift along H and W)."""
    torch = pytest.importorskip("torch")
    from mobcost.torchside.sequences import Unwindow, Window

    x = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    windows = Window(2, 4, 6, (2, 2))(x)
    # window 0 is the top-left 2×2 pixels read row by row; window 2 the third along the top row; channel last
    assert windows.shape == (6, 4, 2)
    assert windows[0, :, 0].tolist() == x[0, 0, :2, :2].flatten().tolist()
    assert windows[2, :, 1].tolist() == x[0, 1, :2, 4:6].flatten().tolist()
    assert torch.equal(Unwindow(2, 4, 6, (2, 2))(windows), x)
    shifted = Window(2, 4, 6, (2, 2), 1)(x)
    # rolled by −1: window 0 starts at pixel (1, 1)
    assert shifted[0, :, 0].tolist() == x[0, 0, 1:3, 1:3].flatten().tolist()
    assert torch.equal(Unwindow(2, 4, 6, (2, 2), 1)(shifted), x)


@pytest.mark.slow
def test_the_torch_space_to_depth_is_swins_patch_merging() -> None:
    """timm's PatchMerging order: reshape(B, H/2, 2, W/2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3)."""
    torch = pytest.importorskip("torch")
    from mobcost.torchside.sequences import SpaceToDepth

    x = torch.arange(3 * 4 * 6, dtype=torch.float32).reshape(1, 3, 4, 6)
    nhwc = x.permute(0, 2, 3, 1)
    timm = nhwc.reshape(1, 2, 2, 3, 2, 3).permute(0, 1, 3, 4, 2, 5).flatten(3)
    assert torch.equal(SpaceToDepth(3, 4, 6, 2)(x), timm.permute(0, 3, 1, 2))
