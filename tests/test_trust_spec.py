"""Issue 11, the spec → graph → analysis side: each class of defect a newcomer and a fuzzer found, with its
reproducer and other cases of the same class. Expected figures are hand arithmetic, written beside them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobcost import build, load_spec, parse_spec
from mobcost.analysis import analyze
from mobcost.cli import app
from mobcost.errors import MobcostError, OptionError, SpecError
from mobcost.graph import resolve_resolution
from mobcost.layers import REGISTRY
from mobcost.spec import load_mapping
from mobcost.spec.transforms import densify, with_classes

from .selection import every_bundled_spec
from .test_analysis import mobilenet_by_hand

HEAD = "input: {channels: 3, size: 8}\nlayers:\n"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def one_line_error(path: Path, *args: str) -> str:
    """Both `validate` and `table` refuse the spec with the same one-line located error; returns it."""
    lines = set()
    for command in ("validate", "table"):
        code, _, err = run(command, str(path), *args)
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (command, err)
        assert err.startswith(f"mobcost: error: {path}"), err
        lines.add(err)
    assert len(lines) == 1, lines
    return lines.pop()


# --- 1. reserved and colliding layer names --------------------------------------------------------------


def test_layer_named_input_is_refused(write_spec) -> None:
    # the reproducer: a layer named `input` made `from: input` read it in the closed form, the image in torch
    path = write_spec(HEAD + "  - {type: conv, out: 8}\n  - {type: pw, out: 16, name: input}\n"
                      "  - {type: pw, out: 4, from: input}\n")
    line = one_line_error(path)
    assert f"{path}:4:31: layers[1].name: 'input' is reserved" in line


@pytest.mark.parametrize(("layers", "place", "needle"), [
    # the same name written twice
    ("[{type: conv, out: 8, name: a}, {type: pw, out: 8, name: a}]", "layers[1].name", "(layers[0] and layers[1])"),
    # a written name equal to a repeat copy's (a, a.2)
    ("[{repeat: 2, layers: [{type: pw, out: 8, name: a}]}, {type: pw, out: 8, name: a.2}]", "layers[1].name",
     "repeat copy 2 of layers[0].layers[0]"),
    ("[{type: pw, out: 8, name: a.2}, {repeat: 2, layers: [{type: pw, out: 8, name: a}]}]", "layers[0].name",
     "'a.2'"),
    # a written name equal to another layer's default name (<type><position>)
    ("[{type: conv, out: 8, name: pw2}, {type: pw, out: 8}]", "layers[0].name", "the default name of layers[1]"),
    ("[{type: pw, out: 8}, {type: conv, out: 8, name: pw1}]", "layers[1].name", "the default name of layers[0]"),
    # dwsep's parts are named <name>.dw and <name>.pw
    ("[{type: dwsep, out: 8, name: x}, {type: pw, out: 8, name: x.pw}]", "layers[1].name", "'x.pw'"),
    ("[{type: dwsep, out: 8, name: input}]", "layers[0].name", "reserved"),
    # one YAML anchor used twice writes the same name twice
    ("[&b {type: pw, out: 8, name: b}, *b]", "layers[1].name", "'b' is taken twice"),
])
def test_colliding_names_are_refused(write_spec, layers: str, place: str, needle: str) -> None:
    line = one_line_error(write_spec(f"input: {{channels: 3, size: 8}}\nlayers: {layers}\n"))
    assert f": {place}: " in line and needle in line


def test_repeat_copies_keep_their_names() -> None:
    spec = parse_spec(HEAD + "  - {repeat: 3, layers: [{type: dwsep, out: 8, name: x}]}\n"
                      "  - {type: add, from: [x.pw, x.pw.3]}\n")
    assert [layer.name for layer in spec.layers] == ["x.dw", "x.pw", "x.dw.2", "x.pw.2", "x.dw.3", "x.pw.3", "add7"]


# --- 3. Table 3 for every spec: densify with relative offsets; rows a spec cannot take ------------------


@pytest.mark.parametrize("name", every_bundled_spec())
def test_table_works_for_every_bundled_spec(name: str) -> None:
    for args in (*(["-f", f] for f in ("rich", "json", "csv", "markdown", "latex")),
                 *(["-s", s] for s in ("layers", "types", "shrink")), ["--by", "type"], ["--by", "type", "-f", "json"]):
        code, out, err = run("table", name, *args)
        assert code == 0 and out and not err, (name, args, err)
    doc = json.loads(run("table", name, "-f", "json")[1])
    assert all(row["mult_adds"] is not None for rows in doc["table3"].values() for row in rows)


RESIDUAL = """input: {channels: 4, size: 8}
layers:
  - {type: pw, out: 8}
  - {type: dw}
  - {type: pw, out: 8}
  - {type: concat, from: [-1, -3]}
  - {type: pw, out: 2}
"""


def test_densify_resolves_relative_offsets(write_spec) -> None:
    # the reproducer: `table mobilenet_v2` failed ("cannot fuse … relative `from` offsets")
    spec = parse_spec(RESIDUAL)
    dense = densify(spec)
    assert [layer.type for layer in dense.layers] == ["pw", "conv", "concat", "pw"]
    assert dense.layers[2].inputs == ("pw3", "pw1")  # -1 and -3 still name the same layers once dw2 is gone
    # separable, 8×8 maps: pw1 4·8·64 = 2,048; dw2 9·8·64 = 4,608; pw3 8·8·64 = 4,096; concat 8+8 = 16 channels;
    # pw5 16·2·64 = 2,048 → 12,800 Mult-Adds; params 32 + 72 + 64 + 32 = 200.
    # dense: dw2 + pw3 → conv 3×3 8→8: 9·8·8·64 = 36,864 (576 params) → 40,960 Mult-Adds, 640 params.
    # (had -3 slipped to the 4-channel input, pw5 would read 12 channels: 1,536, not 2,048)
    t = analyze(dense).totals
    assert (t.mult_adds, t.params) == (40_960, 640)
    code, out, _ = run("table", str(write_spec(RESIDUAL)), "-f", "json")
    assert code == 0
    network = json.loads(out)["table3"]["network"]
    assert [(r["mult_adds"], r["params"]) for r in network] == [(40_960, 640)] + [(12_800, 200)] * 3


@pytest.mark.parametrize(("body", "types"), [
    # a pw with stride 2 after the dw: one conv with the dw's stride would change every later shape
    ("  - {type: dw}\n  - {type: pw, out: 8, stride: 2}\n", ["dw", "pw"]),
    # the dw is read by another layer too
    ("  - {type: dw, name: d}\n  - {type: pw, out: 3}\n  - {type: add, from: [d, -1]}\n", ["dw", "pw", "add"]),
    # the pw reads another layer than the dw before it
    ("  - {type: dw}\n  - {type: pw, out: 8, from: input}\n", ["dw", "pw"]),
    # the pw names the dw, by name or by offset: still its only reader
    ("  - {type: dw, name: d}\n  - {type: pw, out: 8, from: d}\n", ["conv"]),
    ("  - {type: dw}\n  - {type: pw, out: 8, from: -1}\n", ["conv"]),
])
def test_densify_fuses_only_a_dw_read_by_the_pw_alone(body: str, types: list[str]) -> None:
    spec = parse_spec(HEAD + body)
    dense = densify(spec)
    assert [layer.type for layer in dense.layers] == types
    assert analyze(dense).rows[-1].node.output == analyze(spec).rows[-1].node.output


NATIVE_TOO_SMALL = """input: {channels: 3, size: 4}
layers:
  - {type: conv, out: 8, stride: 2, padding: 0}
  - {type: dw, stride: 2, padding: 0}
  - {type: pw, out: 8}
"""


def test_table3_rows_a_spec_cannot_take_are_left_out_with_a_note(write_spec) -> None:
    # At its own 4×4 the spec shrinks to nothing (4 → 1 → nothing), at 16×16 it is valid: conv 16 → 7, dw 7 → 3.
    # Mult-Adds at 16: conv 3·3·3·8·7·7 = 10,584 + dw 9·8·3·3 = 648 + pw 8·8·3·3 = 576 = 11,808;
    # params 216 + 72 + 64 = 352. Table 3's first three rows are at the spec's own size: no figures there.
    path = write_spec(NATIVE_TOO_SMALL)
    code, out, err = run("table", str(path), "--resolution", "16", "-f", "json")
    assert code == 0, err
    t3 = json.loads(out)["table3"]
    assert [(r["mult_adds"], r["params"]) for r in t3["network"]] == [(None, None)] * 3 + [(11_808, 352)]
    assert "into nothing" in t3["note"] and "network 'Convolution'" in t3["note"]
    code, out, err = run("table", str(path), "--resolution", "16")
    assert code == 0 and "Rows left out of Table 3" in out and "0.0118 M" in out, err
    # validate agrees with table, either way
    assert run("validate", str(path), "--resolution", "16")[0] == 0
    assert "into nothing" in one_line_error(path)


# --- 4. resolutions above the spec's own (ρ > 1) ----------------------------------------------------------


def test_resolution_above_the_spec_size() -> None:
    # the reproducer: `table --resolution 256` failed with an error about --rho, never given
    code, out, err = run("table", "--resolution", "256", "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    expected = mobilenet_by_hand(1, 256)  # Table 1 written out by hand at 256×256
    assert (doc["totals"]["mult_adds"], doc["totals"]["params"]) == expected
    assert (doc["table3"]["network"][-1]["mult_adds"], doc["table3"]["network"][-1]["params"]) == expected
    # the example layer's 14×14 map scales like the input: round(14·256/224) = 16;
    # 3·3·512·16·16 + 512·512·16·16 = 1,179,648 + 67,108,864 = 68,288,512
    assert doc["table3"]["example_layer"][-1]["mult_adds"] == 68_288_512
    for section in ("layers", "types", "shrink"):
        assert run("table", "--rho", "1.5", "-s", section)[0] == 0
    assert resolve_resolution(224, rho=1.5) == (336, 1.5)
    assert analyze(load_spec("mobilenet_v1"), rho=1.5).graph.resolution == 336


def test_sizes_stay_within_the_limit() -> None:
    spec = load_spec("mobilenet_v1")
    for kwargs, where in [({"rho": 1e308}, "rho"), ({"rho": 10**400}, "rho"), ({"resolution": 10**9 + 1}, "resolution"),
                          ({"rho": float("inf")}, "rho"), ({"rho": 0.0}, "rho")]:
        with pytest.raises(OptionError) as info:
            build(spec, **kwargs)
        assert info.value.where == where
    # 224·4,464,285 = 999,999,840: the largest ρ·224 within 10⁹ is still a valid size
    assert resolve_resolution(224, rho=4464285)[0] == 999_999_840
    # a spec of size 1 at 10⁹ pixels: the example layer (14 × 10⁹) would pass the limit, so its ρ row is left out
    spec = parse_spec("input: {channels: 3, size: 1}\nlayers: [{type: pw, out: 8}]\n", file="one.yaml")
    from mobcost.cli.table import shrink_note, shrink_views

    example, network = shrink_views(analyze(spec, resolution=10**9), None, 10**9)
    assert not example[-1].defined and network[-1].mult_adds == 3 * 8 * 10**18  # M·N·D_F²
    assert "wider than 1,000,000,000 pixels" in shrink_note(example, network)


# --- 5. validate agrees with table; defaults; arity ---------------------------------------------------------


def test_defaults_kernel_applies_wherever_a_type_takes_it() -> None:
    spec = parse_spec("""input: {channels: 4, size: 16}
defaults: {kernel: 5}
layers:
  - {type: conv, out: 8}
  - {type: dw}
  - {type: dwsep, out: 8}
  - {type: maxpool}
  - {type: avgpool}
  - {type: fc, out: 2}
""")
    rows = analyze(spec).rows
    # conv 5·5·4·8·16·16 = 204,800 (800 params); dw 25·8·256 = 51,200 (200), twice (dw and dwsep's dw);
    # dwsep's pw 8·8·256 = 16,384 (64); maxpool 5×5/5: (16 − 5)//5 + 1 = 3; avgpool stays global (a kernel
    # would make it a window: no kernel is its mode); fc 8·2 = 16 (+2 biases)
    assert [r.mult_adds for r in rows] == [204_800, 51_200, 51_200, 16_384, 0, 0, 16]
    assert [r.params for r in rows] == [800, 200, 200, 64, 0, 0, 18]
    assert [str(r.node.output) for r in rows[4:6]] == ["3×3×8", "1×1×8"]


@pytest.mark.parametrize(("defaults", "needle"), [("{kernel: 0}", "positive"), ("{padding: -1}", "zero or more"),
                                                   ("{kernel: 2.5}", "integer"), ("{out: 8}", "unknown key")])
def test_bad_defaults_are_located(write_spec, defaults: str, needle: str) -> None:
    line = one_line_error(write_spec(f"input: {{channels: 3, size: 8}}\ndefaults: {defaults}\n"
                                     "layers: [{type: pw, out: 4}]\n"))
    assert ":2:" in line and "defaults." in line and needle in line


@pytest.mark.parametrize("kind", ["dwsep", *(k for k, kind in REGISTRY.items() if kind.arity == 1)])
def test_one_input_types_with_two_from_are_located(write_spec, kind: str) -> None:
    # the reproducer: dwsep with two `from` inputs unpacked two shapes into one (a traceback)
    out = ", out: 4" if kind in ("conv", "pw", "dwsep", "fc") else ", kernel: 2" if kind == "maxpool" else ""
    path = write_spec(HEAD + f"  - {{type: pw, out: 3, name: a}}\n  - {{type: {kind}{out}, from: [a, input]}}\n")
    line = one_line_error(path)
    assert f"{path}:4:" in line and "layers[1].from" in line and "takes one input, got 2" in line


@pytest.mark.parametrize("kind", ["add", "concat"])
def test_joins_with_fewer_than_two_inputs_are_located(write_spec, kind: str) -> None:
    for refs in ("", ", from: [-1]", ", from: input"):
        line = one_line_error(write_spec(HEAD + f"  - {{type: pw, out: 3}}\n  - {{type: {kind}{refs}}}\n"))
        assert "layers[1]" in line and "two or more" in line


# --- 6. reading: special files, aliases, huge integers, paths, sizes past the limit ----------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    # in a child process: a regression would block forever on open(), which only a timeout can end
    done = subprocess.run([sys.executable, "-m", "mobcost", "validate", str(fifo)], capture_output=True, text=True,
                          timeout=20)
    assert done.returncode == 2 and "FIFO" in done.stderr and "Traceback" not in done.stderr
    # hardware profiles are read by the same reader
    code = (f"from mobcost.spec import load_mapping\ntry:\n    load_mapping({str(fifo)!r})\n"
            "except Exception as e:\n    print(type(e).__name__, e)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert done.stdout.startswith("SpecError") and "FIFO" in done.stdout


def test_devices_and_folders_are_refused() -> None:
    with pytest.raises(SpecError, match="character device, not a regular file"):
        load_spec(os.devnull)
    with pytest.raises(SpecError, match="is a directory"):
        load_mapping(Path(__file__).parent)


def test_unreadable_paths_are_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    long_name = "a" * 300  # longer than any file system's 255-byte name limit
    for spec in (long_name, str(tmp_path / long_name / "x.yaml"), "a/" * 3000):
        code, _, err = run("validate", spec)
        assert code == 2 and "too long" in err and err.count("\n") == 1, err
    with pytest.raises(SpecError, match="NUL byte"):
        load_spec("net\0.yaml")
    # a folder that cannot be searched (tests may run as root, who can search anything: simulate it)
    locked = str(tmp_path / "locked" / "net.yaml")
    real_stat = os.stat

    def stat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    code, _, err = run("validate", locked)
    assert code == 2 and err == f"mobcost: error: {locked}: cannot read: Permission denied\n"


def alias_chain(levels: int, width: int) -> str:
    """Anchors, each nesting the one before ``width`` lists deeper: nesting grows only through aliases."""
    lines = ["a0: &a0 [1]"]
    lines += [f"a{j}: &a{j} {'[' * width}*a{j - 1}{']' * width}" for j in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("text", "needle"), [
    ("input: {channels: 3, size: 8}\nlayers: &a [*a]\n", "layers[0]: a YAML alias refers to a value that contains it"),
    ("input: &i {channels: 3, size: 8, more: *i}\nlayers: [{type: pw, out: 4}]\n", "input.more: a YAML alias"),
    (alias_chain(40, 30), "nested more than 32 levels deep once aliases are followed"),  # 1,200 levels deep
    (HEAD + "  - {type: conv, out: " + "9" * 5000 + "}\n", "layers[0].out: an integer of 5,000 characters"),
    (HEAD + "  - {type: conv, out: 0x" + "f" * 5000 + "}\n", "layers[0].out: an integer of 5,002 characters"),
    (HEAD + "  - {type: conv, out: 1" + ":30" * 3000 + "}\n", "layers[0].out: an integer of 9,001 characters"),
    ("name: " + "1" * 100 + "\n" + HEAD + "  - {type: pw, out: 4}\n", "name: an integer of 100 characters"),
])
def test_yaml_values_that_used_to_traceback(write_spec, text: str, needle: str) -> None:
    line = one_line_error(write_spec(text))
    assert needle in line


@pytest.mark.parametrize(("text", "needle"), [
    # the reproducer: concat doubles channels past the 10⁹ limit (2·6·10⁸ = 1.2·10⁹)
    ("input: {channels: 600000000, size: 1}\nlayers: [{type: concat, from: [input, input]}]\n",
     ":2: layers[0]: the output has 1,200,000,000 channels"),
    # doubling from 1 channel passes 10⁹ at the 30th copy (2³⁰ = 1,073,741,824): refused there, at once
    ("input: {channels: 1, size: 1}\nlayers: [{repeat: 10000, layers: [{type: concat, from: [-1, -1]}]}]\n",
     "layers[0].layers[0]: the output has 1,073,741,824 channels"),
    # padding grows a map: 1 + 2·10⁹ − 1 + 1 = 2,000,000,001 pixels
    ("input: {channels: 1, size: 1}\nlayers: [{type: conv, out: 1, kernel: 1, padding: 1000000000}]\n",
     "the output has 2,000,000,001 pixels of height"),
])
def test_computed_sizes_past_the_limit_are_located(write_spec, text: str, needle: str) -> None:
    assert needle in one_line_error(write_spec(text))


# --- 7. the library: bundled names, and errors that name parameters, not flags ----------------------------


def test_load_spec_takes_bundled_names() -> None:
    assert load_spec("mobilenet_v1").name == load_spec("MobileNet-V1").name == "MobileNetV1"
    assert analyze(load_spec("mobilenet_v1")).totals.mult_adds == 568_740_352  # the paper's 569 M (Table 1)
    with pytest.raises(SpecError, match="no bundled spec of that name"):
        load_spec("mobilenet_v9")


@pytest.mark.parametrize(("call", "where"), [
    (lambda s: build(s, alpha=1e10), "alpha"),
    (lambda s: build(s, alpha=1e8), "alpha"),  # 1024·10⁸ channels: past the limit of every count
    (lambda s: build(s, alpha=float("nan")), "alpha"),
    (lambda s: build(s, rho=-1.0), "rho"),
    (lambda s: build(s, rho=0.5, resolution=112), "rho/resolution"),
    (lambda s: build(s, resolution=0), "resolution"),
    (lambda s: with_classes(s, 0), "classes"),
    (lambda s: with_classes(s, 10**10), "classes"),
])
def test_library_errors_name_parameters_not_flags(call, where: str) -> None:
    with pytest.raises(MobcostError) as info:
        call(load_spec("mobilenet_v1"))
    assert info.value.where == where and "--" not in str(info.value)
