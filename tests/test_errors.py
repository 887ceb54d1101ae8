"""Every class of bad input: a one-line error naming the file and the place, exit status 2, no traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mobcost.cli import app

GOOD = "input: {channels: 3, size: 32}\nlayers:\n"

# (case id, spec text, substrings the message must contain: the place and the problem)
BAD_SPECS = [
    ("yaml-syntax", GOOD + "  - {type: conv, out: 8\n", [":4:", "YAML syntax error"]),
    ("yaml-tab", "input: {channels: 3, size: 32}\nlayers:\n\t- {type: pw, out: 8}\n", [":3:", "YAML"]),
    ("python-tag", GOOD + "  - !!python/object/apply:os.system ['echo pwned']\n",
     [":3:", "layers[0]", "tag !!python/object/apply:os.system"]),
    ("custom-tag", GOOD + "  - {type: conv, out: !env WIDTH}\n", ["layers[0].out", "tag !env"]),
    ("set-tag", GOOD + "  - !!set {a, b}\n", ["layers[0]", "tag !!set"]),
    ("timestamp", "name: 2024-01-01\n" + GOOD + "  - {type: pw, out: 8}\n", ["name", "tag !!timestamp"]),
    ("merge-key", "base: &b {type: pw, out: 8}\n" + GOOD + "  - {<<: *b}\n", ["merge keys"]),
    ("alias-bomb",
     "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
     ["alias bomb"]),
    ("repeat-bomb", GOOD + "  - {repeat: 1000, layers: [{repeat: 1000, layers: [{repeat: 1000, layers: "
     "[{type: pw, out: 8}]}]}]}\n", ["layers[0]", "more than 10,000 layers"]),
    # Past mobcost's 32 levels but within every YAML library's own limit: mobcost's rule and its words.
    ("deep-nesting", "input: " + "[" * 40 + "]" * 40 + "\n", [":1:", "nested more than 32 levels"]),
    # Past the YAML library's own limit too (libyaml's 1,000 fires first, in its own words): only the promise,
    # a located one-line error, whichever limit speaks.
    ("deeper-nesting", "input: " + "[" * 5000 + "]" * 5000 + "\n", [":1:"]),
    ("unknown-type", GOOD + "  - {type: conv3d, out: 8}\n", [":3:", "layers[0].type", "unknown layer type 'conv3d'"]),
    ("unknown-key", GOOD + "  - {type: conv, out: 8, strides: 2}\n", ["layers[0].strides", "unknown key"]),
    ("unknown-top-key", GOOD.replace("layers:", "layer:") + "  - {type: pw, out: 8}\n", ["layer", "unknown key"]),
    ("missing-type", GOOD + "  - {out: 8}\n", ["layers[0]", "missing 'type'"]),
    ("missing-out", GOOD + "  - {type: conv, kernel: 3}\n", ["layers[0]", "missing 'out'"]),
    ("float-channels", GOOD + "  - {type: conv, out: 3.5}\n", [":3:", "layers[0].out", "integer", "3.5"]),
    ("string-channels", GOOD + "  - {type: conv, out: abc}\n", ["layers[0].out", "'abc'"]),
    ("bool-channels", GOOD + "  - {type: conv, out: true}\n", ["layers[0].out", "boolean"]),
    ("string-number", GOOD + "  - {type: conv, out: '16'}\n", ["layers[0].out", "string"]),
    ("zero-stride", GOOD + "  - {type: conv, out: 8}\n  - {type: dw, stride: 0}\n", [":4:", "layers[1].stride",
                                                                                    "positive"]),
    ("negative-kernel", GOOD + "  - {type: conv, out: 8, kernel: -3}\n", ["layers[0].kernel", "positive"]),
    ("negative-padding", GOOD + "  - {type: conv, out: 8, padding: -1}\n", ["layers[0].padding"]),
    ("zero-channels", GOOD + "  - {type: fc, out: 0}\n", ["layers[0].out", "positive"]),
    ("zero-size", "input: {channels: 3, size: 0}\nlayers: [{type: pw, out: 8}]\n", ["input.size", "positive"]),
    ("huge-size", "input: {channels: 3, size: 99999999999}\nlayers: [{type: pw, out: 8}]\n",
     ["input.size", "at most"]),
    ("nan-size", "input: {channels: 3, size: .nan}\nlayers: [{type: pw, out: 8}]\n", ["input.size", "number"]),
    ("bad-groups", GOOD + "  - {type: conv, out: 8, groups: 3}\n", [":3:", "layers[0]", "groups=3 must divide"]),
    ("shrinks", GOOD + "  - {type: conv, out: 8, kernel: 3, stride: 2, padding: 0}\n"
     "  - {repeat: 6, layers: [{type: conv, out: 8, kernel: 3, stride: 2, padding: 0}]}\n",
     ["layers[1].layers[0]", "into nothing"]),
    ("kernel-too-big", GOOD + "  - {type: conv, out: 8, kernel: 41, padding: 0}\n", ["layers[0]", "into nothing"]),
    ("empty-file", "", ["empty file"]),
    ("only-comment", "# nothing here\n", ["empty file"]),
    ("top-level-list", "- {type: conv, out: 8}\n", ["top level must be a mapping", "a list"]),
    ("top-level-scalar", "hello\n", ["top level must be a mapping"]),
    ("no-layers", "input: {channels: 3, size: 32}\nlayers: []\n", ["layers", "no layers"]),
    ("layers-not-list", "input: {channels: 3, size: 32}\nlayers: {type: pw}\n", ["layers", "must be a list"]),
    ("missing-input", "layers: [{type: pw, out: 8}]\n", ["missing 'input'"]),
    ("duplicate-key", GOOD + "  - {type: conv, out: 8, out: 16}\n", ["layers[0].out", "duplicate key"]),
    ("multi-document", GOOD + "  - {type: pw, out: 8}\n---\nname: x\n", ["YAML"]),
    ("bad-act", GOOD + "  - {type: conv, out: 8, act: mish}\n", ["layers[0].act", "relu"]),
    ("unknown-from", GOOD + "  - {type: pw, out: 8, from: nowhere}\n", ["layers[0].from", "unknown layer"]),
    ("repeat-zero", GOOD + "  - {repeat: 0, layers: [{type: pw, out: 8}]}\n", ["layers[0].repeat", "positive"]),
    ("reserved-name", GOOD + "  - {type: pw, out: 8, name: input}\n", [":3:", "layers[0].name", "reserved"]),
    ("duplicate-name", GOOD + "  - {type: pw, out: 8, name: a}\n  - {type: pw, out: 8, name: a}\n",
     [":4:", "layers[1].name", "taken twice"]),
    ("dwsep-two-from", GOOD + "  - {type: pw, out: 8, name: a}\n  - {type: dwsep, out: 8, from: [a, input]}\n",
     [":4:", "layers[1].from", "takes one input"]),
    ("recursive-alias", "input: {channels: 3, size: 32}\nlayers: &a [*a]\n", [":2:", "layers[0]", "recursive alias"]),
    ("huge-integer", GOOD + "  - {type: pw, out: " + "7" * 4400 + "}\n", [":3:", "layers[0].out", "4,400 characters"]),
    ("concat-past-limit", "input: {channels: 999999999, size: 4}\nlayers: [{type: concat, from: [input, input]}]\n",
     [":2:", "layers[0]", "1,999,999,998 channels"]),
    ("fc-then-conv", GOOD + "  - {type: fc, out: 10}\n  - {type: conv, out: 8, padding: 0}\n",
     ["layers[1]", "into nothing"]),
]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("text", "needles"), [c[1:] for c in BAD_SPECS], ids=[c[0] for c in BAD_SPECS])
def test_bad_spec(write_spec, text: str, needles: list[str]) -> None:
    path = write_spec(text)
    for command in (["table", str(path)], ["validate", str(path)]):
        code, out, err = run(*command)
        assert code == 2, (command, out, err)
        line = err.strip()
        assert "\n" not in line and "Traceback" not in err, err
        assert line.startswith(f"mobcost: error: {path}"), line
        for needle in needles:
            assert needle in line, (needle, line)


def test_binary_junk(tmp_path: Path) -> None:
    path = tmp_path / "junk.yaml"
    path.write_bytes(os.urandom(512) + b"\x00\xff\xfe")
    code, _, err = run("table", str(path))
    assert code == 2 and "binary data" in err and str(path) in err


def test_latin1_text(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    code, _, err = run("table", str(path))
    assert code == 2 and "not UTF-8" in err


def test_missing_path_and_directory(tmp_path: Path) -> None:
    code, _, err = run("table", str(tmp_path / "nope.yaml"))
    assert code == 2 and "nope.yaml: no such file" in err
    code, _, err = run("table", str(tmp_path))
    assert code == 2 and "is a directory" in err
    code, _, err = run("table", "not_a_bundled_name")
    assert code == 2 and "no bundled spec" in err and "mobilenet_v1" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--alpha", "0"], "alpha must be > 0"),
        # α > 1 widens (MobileNetV2 1.4); only past the 10⁹ limit of every count is it refused
        (["--alpha", "1e10"], "alpha must be > 0 and at most 1,000,000,000"),
        (["--alpha", "2000000"], "makes layer 'pw13' 1,024,000,000 channels wide, more than 1,000,000,000"),
        (["--alpha", "-0.5"], "alpha must be > 0"),
        (["--alpha", "nan"], "alpha must be a number"),
        (["--alpha", "inf"], "alpha must be a number"),
        (["--rho", "0"], "rho must be > 0"),
        (["--rho", "-1"], "rho must be > 0"),
        (["--rho", "nan"], "rho must be a number"),
        (["--rho", "inf"], "rho must be a number"),
        # ρ > 1 is legitimate; only sizes past the 10⁹ limit are refused (224 × 1e308 is far past it)
        (["--rho", "1e308"], "wider than 1,000,000,000 pixels"),
        (["--rho", "4464286"], "wider than 1,000,000,000 pixels"),  # round(224 × 4,464,286) = 1,000,000,064
        (["--resolution", "1000000001"], "resolution must be at most 1,000,000,000"),
        (["--rho", "0.5", "--resolution", "112"], "not both"),
        (["--resolution", "0"], "resolution must be a positive integer"),
        (["--classes", "1000000001"], "classes must be at most 1,000,000,000"),
    ],
)
def test_bad_options(args: list[str], needle: str) -> None:
    code, _, err = run("table", *args)
    assert code == 2 and needle in err and "Traceback" not in err, err


def test_unknown_format() -> None:
    code, _, err = run("table", "--format", "xml")
    assert code == 2 and "xml" in err


def test_failing_run_keeps_existing_output(tmp_path: Path, write_spec) -> None:
    out = tmp_path / "out.json"
    out.write_text("precious\n")
    bad = write_spec(GOOD + "  - {type: conv, out: 3.5}\n")
    assert run("table", str(bad), "--format", "json", "--output", str(out))[0] == 2
    assert run("table", "--alpha", "2e9", "--format", "csv", "--output", str(out))[0] == 2
    assert out.read_text() == "precious\n"
    assert list(tmp_path.iterdir()) == [out, bad] or sorted(tmp_path.iterdir()) == sorted([out, bad])


def test_output_into_missing_folder(tmp_path: Path) -> None:
    code, _, err = run("table", "--format", "json", "--output", str(tmp_path / "no" / "x.json"))
    assert code == 2 and "does not exist" in err
